package typed

import (
	"log/slog"
	"os"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Config describes a typed ring to create: the frame ring below, as
// frame.Config does (set Aligned for zero-copy views that need 16-byte
// alignment), except Meta, which holds the ring's schema and must be nil.
// The zero value is a usable single-producer ring on the Shm backend with
// frame's defaults.
type Config = frame.Config

// ConsumerConfig describes how to attach a typed consumer. The zero value
// attaches like frame's zero ConsumerConfig, requires the ring's schema
// to be the codec's, and stops batch reads at a decode error. The fields
// down to ReceiveTimestamps configure the frame consumer below, as the
// fields of the same names in frame.ConsumerConfig do.
type ConsumerConfig struct {
	Backend           ring.Backend      // where the segment lives. Zero: Shm.
	ID                string            // resume under this id; zero: anonymous.
	Start             ring.Start        // where a new consumer begins. Zero: the latest message.
	Wait              ring.WaitStrategy // how to wait for messages. Zero: Block.
	Capacity          int               // if non-zero, must equal the ring's.
	Perm              os.FileMode       // expected segment mode. Zero: any mode granting nothing to others.
	Owner             string            // user trusted to own the segment (name or uid). Zero: ourselves.
	LivenessInterval  time.Duration     // how soon an idle consumer notices a dead producer. Zero: 100 ms.
	Observer          bool              // never gate the producer; read validated copies.
	Group             string            // member of this consumer group (each message to one member).
	UnblockTimeout    time.Duration     // multi-producer rings: see ring.ConsumerConfig.
	Logger            *slog.Logger      // lifecycle events: see ring.ConsumerConfig. Nil: silent.
	PayloadCapacity   int               // if non-zero, must equal the ring's.
	Aligned           bool              // require an aligned ring.
	Checksum          bool              // require a checksummed ring (frame.Config.Checksum).
	MaxMessageSize    int               // local limit below the ring's.
	ReceiveTimestamps bool              // stamp every message's receive time.
	TruncationGuard   bool              // guard fast paths too against a truncated segment (ring.Config.TruncationGuard).

	// AcceptUntagged accepts a ring that carries no schema (made by
	// frame.Create) and messages without a schema tag (user flags 0), as
	// sent by a plain frame producer, and decodes them with the codec.
	// A ring or message carrying another schema is still refused.
	AcceptUntagged bool
	// SkipDecodeErrors makes the batch paths (Process, TryProcess, All) skip
	// a message the codec cannot decode (counted in Stats.DecodeErrors; the
	// last one is kept in LastDecodeError) and go on. Without it they stop
	// at it and return its *DecodeError. Schema mismatches always stop them:
	// they mean a misconfigured pair of processes, not one bad message.
	SkipDecodeErrors bool
}

func (c *ConsumerConfig) frame() frame.ConsumerConfig {
	return frame.ConsumerConfig{
		Backend: c.Backend, ID: c.ID, Start: c.Start, Wait: c.Wait, Capacity: c.Capacity, Perm: c.Perm, Owner: c.Owner,
		LivenessInterval: c.LivenessInterval, Observer: c.Observer, Group: c.Group, UnblockTimeout: c.UnblockTimeout,
		Logger: c.Logger, PayloadCapacity: c.PayloadCapacity, Aligned: c.Aligned, Checksum: c.Checksum, MaxMessageSize: c.MaxMessageSize,
		ReceiveTimestamps: c.ReceiveTimestamps, TruncationGuard: c.TruncationGuard,
	}
}

// JoinConfig describes how to join a multi-producer typed ring as one more
// producer; see frame.JoinConfig.
type JoinConfig = frame.JoinConfig
