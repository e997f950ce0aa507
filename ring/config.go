package ring

import (
	"fmt"
	"log/slog"
	"math/bits"
	"os"
	"time"

	"github.com/myelon-go/myelon/internal/shm"
)

// Backend selects where a segment lives: Shm (the default), File or Heap.
type Backend = shm.Backend

// Backends.
const (
	// Shm: a POSIX shared-memory object, /dev/shm/<name> on Linux. Names are
	// 1..30 bytes of [A-Za-z0-9._-] (see PortableName).
	Shm = shm.Shm
	// File: a regular file at a path, mapped shared.
	File = shm.File
	// Heap: process-local memory, for tests (the race detector sees it).
	Heap = shm.Heap
)

// ParseBackend parses a backend name: exactly "shm" (or "", the default),
// "file" or "heap", the names Backend's String and MarshalText produce.
// Anything else is ErrInvalidConfig.
func ParseBackend(s string) (Backend, error) {
	b, err := shm.ParseBackend(s)
	if err != nil {
		return 0, fmt.Errorf("%w: backend %q: want shm, file or heap", ErrInvalidConfig, s)
	}
	return b, nil
}

// PortableName returns a fresh segment name built from prefix that fits the
// most restrictive platform limit (macOS: 31 bytes), with room to spare.
func PortableName(prefix string) string { return shm.PortableName(prefix) }

// Defaults applied to zero config fields.
const (
	DefaultCapacity         = 1024
	DefaultSlotSize         = 256
	DefaultMaxConsumers     = 16
	DefaultLivenessInterval = 100 * time.Millisecond
)

// Config describes a ring to create. The zero value is a usable
// single-producer ring on the Shm backend with the defaults above.
type Config struct {
	// Backend holds the segment. Zero: Shm.
	Backend Backend
	// TruncationGuard runs every call of the handle under the truncation
	// guard (see ErrTruncated): a peer that truncates the segment is then
	// always ErrTruncated, never a fatal SIGBUS, for about 140
	// instructions (about 10 ns) more per call: a Publish costs twice as
	// much. Without it, waits are guarded (there the guard is free): a
	// handle parked or spinning for room or data when the segment is
	// truncated, and every later call of it, gets ErrTruncated, as do
	// Attach, Join, Create, Close, Stats and the coordination calls; but a
	// call that finds room or an event at once (the per-event path)
	// touches the segment unguarded, and faults fatally if it was
	// truncated. (The test of this option costs the per-event path about
	// 2 instructions.)
	TruncationGuard bool
	// Capacity is the number of slots, a power of two. Zero: 1024.
	Capacity int
	// SlotSize is the slot size of byte rings, rounded up to 8. Zero: 256.
	// Typed rings ignore it (the slot is the element, rounded up to 8)
	// unless it is larger, which pads slots (e.g. 64 or 128 to keep small
	// events off each other's cache lines).
	SlotSize int
	// MaxConsumers is the size of the consumer table. Zero: 16.
	MaxConsumers int
	// MaxProducers > 1 makes a multi-producer ring with room for that many
	// producers (the creator plus those that Join). Zero or 1: a
	// single-producer ring, whose publish is a plain store.
	MaxProducers int
	// Perm is the segment's mode, set with fchmod (the umask does not
	// apply). Zero: 0600, or 0660 (DefaultGroupPerm) with an AccessGroup.
	// Attachers with a zero Perm accept any mode that grants nothing to
	// others (mode&0o007 == 0); an attacher that sets Perm needs exactly it.
	Perm os.FileMode
	// AccessGroup opens the ring to an OS group, by name or numeric gid
	// (all digits: no /etc/group entry needed). The segment is created with
	// its owner bits only, handed to the group (fchown) and then given Perm
	// (fchmod), before anyone can attach. Members of the group attach with
	// ConsumerConfig.Owner (or JoinConfig.Owner) naming this process's
	// user. An unknown group is ErrInvalidConfig; a group the kernel will
	// not let us give the file to (one we are not a member of, unless
	// privileged) is ErrPermission; either way no segment is left behind.
	// The Heap backend ignores it (the name is still resolved). Zero: the
	// group the kernel gives the file, with Perm 0600.
	AccessGroup string
	// Wait is how the producer waits for space. Zero: Block.
	Wait WaitStrategy
	// LivenessInterval bounds how long a blocked producer takes to notice a
	// dead consumer (it probes consumers' liveness locks this often while
	// blocked, never while publishing freely). Zero: 100 ms.
	LivenessInterval time.Duration
	// Logger, if set, receives the ring's lifecycle events as this
	// producer sees them: created, stale segment replaced, dead consumers
	// detached, stalls and evictions, closed (see events.go). Nil: silent.
	Logger *slog.Logger
	// KeepOnClose leaves the segment in place when the producer closes
	// (normally the owner unlinks it).
	KeepOnClose bool
	// KeepStale makes Create fail with a *StaleError when a segment of this
	// name exists whose owner died (crash, SIGKILL, an unhandled Ctrl-C),
	// instead of replacing it, which is the default so that a restarted
	// producer comes back without manual steps. A segment whose owner is
	// alive is never replaced, nor one holding events a required consumer
	// has not read (a *StaleError lists them in Undrained: retry when they
	// have). Consumers still attached to a replaced segment drain it and
	// get ErrProducerGone; they attach again to reach the new one.
	KeepStale bool
	// Populate pre-faults the mapping.
	Populate bool
	// Meta is up to UserMetaSize bytes of upper-layer metadata stored in the
	// header (and covered by its checksum). Layer 1 keeps its geometry here.
	Meta []byte
}

func (c *Config) livenessInterval() time.Duration {
	if c.LivenessInterval <= 0 {
		return DefaultLivenessInterval
	}
	return c.LivenessInterval
}

// geometry validates c and computes the geometry of a ring whose slots hold
// elem (elem.size == 0 for byte rings).
func (c *Config) geometry(kind uint32, elem elemInfo) (geometry, error) {
	bad := func(field string, v any, want string) (geometry, error) {
		return geometry{}, fmt.Errorf("%w: %s=%v: %s", ErrInvalidConfig, field, v, want)
	}
	capacity := c.Capacity
	if capacity == 0 {
		capacity = DefaultCapacity
	}
	if capacity < 1 || capacity > maxCapacity || bits.OnesCount(uint(capacity)) != 1 {
		return bad("Capacity", c.Capacity, "want a power of two in [1, 2^30]")
	}
	slot := c.SlotSize
	if kind == kindBytes && slot == 0 {
		slot = DefaultSlotSize
	}
	if slot < 0 || slot > maxSlotSize {
		return bad("SlotSize", c.SlotSize, "want [0, 1 GiB]")
	}
	if int(elem.size) > slot {
		slot = int(elem.size)
	}
	slot = int(alignUp(uint64(slot), 8))
	consumers := c.MaxConsumers
	if consumers == 0 {
		consumers = DefaultMaxConsumers
	}
	if consumers < 1 || consumers > maxConsumers {
		return bad("MaxConsumers", c.MaxConsumers, fmt.Sprintf("want [1, %d]", maxConsumers))
	}
	mode, producers := uint32(modeSingle), 0
	if c.MaxProducers > 1 {
		mode, producers = modeMulti, c.MaxProducers
		if producers > maxProducers {
			return bad("MaxProducers", c.MaxProducers, fmt.Sprintf("want at most %d", maxProducers))
		}
		if capacity < 2 {
			return bad("Capacity", c.Capacity, "a multi-producer ring needs at least 2 slots")
		}
	} else if c.MaxProducers < 0 {
		return bad("MaxProducers", c.MaxProducers, "want >= 0")
	}
	if len(c.Meta) > UserMetaSize {
		return bad("Meta", len(c.Meta), fmt.Sprintf("want at most %d bytes", UserMetaSize))
	}
	if c.Backend > Heap {
		return bad("Backend", c.Backend, "unknown backend")
	}
	return geometry{
		kind:         kind,
		mode:         mode,
		slotSize:     uint32(slot),
		capacity:     uint32(capacity),
		maxConsumers: uint32(consumers),
		maxProducers: uint32(producers),
		elemSize:     elem.size,
		elemAlign:    elem.align,
		fingerprint:  elem.fingerprint,
	}, nil
}

// Start says where a consumer that joins begins reading.
type Start struct {
	explicit bool
	seq      int64
}

// StartLatest (the zero Start) begins after the last event published when
// the consumer joins: it sees every event published after Attach returns.
// (On a multi-producer ring it begins after the last event claimed: an
// event claimed before the join and published after it is not seen.)
var StartLatest = Start{}

// StartAt begins at sequence seq. If the events from seq on were already
// overwritten, the first read reports *LappedError and continues from the
// oldest event still in the ring. A seq beyond the last published event
// waits for it; the events before it are not read.
func StartAt(seq int64) Start { return Start{explicit: true, seq: seq} }

// ConsumerConfig describes how to attach a consumer. The zero value attaches
// an anonymous gating consumer on the Shm backend, starting at the latest
// event, waiting with Block.
type ConsumerConfig struct {
	// Backend holds the segment. Zero: Shm.
	Backend Backend
	// TruncationGuard: see Config (for a consumer, the fast path is
	// reading an event already published).
	TruncationGuard bool
	// ID names the consumer (1..MaxIDLen bytes). A consumer that attaches
	// under the id of one that closed or died resumes from its cursor. Zero:
	// a unique anonymous id.
	ID string
	// Start is where a new consumer begins; ignored when resuming an id.
	Start Start
	// Wait is how the consumer waits for events. Zero: Block.
	Wait WaitStrategy
	// Capacity and SlotSize, if non-zero, must match the segment's.
	Capacity, SlotSize int
	// Perm, if non-zero, must equal the segment's permission bits. Zero:
	// any mode that grants nothing to others (mode&0o007 == 0, e.g. 0600
	// or 0660).
	Perm os.FileMode
	// Owner is the user trusted to own the segment, by name or numeric
	// uid (all digits: no /etc/passwd entry needed). A segment owned by any
	// other uid is refused with ErrPermission, naming both uids. Zero: this
	// process's effective uid. Set it to attach to a ring another user
	// created with Config.AccessGroup (the Heap backend ignores it; the
	// name is still resolved). An unknown user is ErrInvalidConfig.
	Owner string
	// LivenessInterval bounds how long an idle consumer takes to notice that
	// the producer died. Zero: 100 ms.
	LivenessInterval time.Duration
	// Observer joins without gating the producer: the producer never waits
	// for an observer, and may overwrite events it has not read yet. An
	// observer reads only by copy and checks each copy after taking it: an
	// observer that falls a ring behind gets a *LappedError (ErrLapped) with
	// the number of events it missed and continues from the oldest event
	// still valid; it never receives a torn event. Its Read and Process
	// hand out validated copies; a byte consumer's Wait is refused
	// (ErrObserverInPlace). See observer.go.
	Observer bool
	// Group makes the consumer a member of the named consumer group
	// (1..MaxIDLen bytes; created by its first member): each event goes to
	// one member of the group instead of to every consumer (competing
	// consumers, a work queue). Members take one event at a time, in no
	// order across members; a member that dies holding an event has it
	// redelivered to another member or to its own id on rejoin, or counted
	// as lost (GroupStats) if the ring no longer holds it. Start applies
	// when the group is created. On a byte ring a member takes one slot at a
	// time, so a group suits messages that fit a slot (framed messages of
	// several fragments need a broadcast consumer). See group.go. Zero: a
	// broadcast consumer.
	Group string
	// Logger, if set, receives the consumer's lifecycle events: attached,
	// detached, lapped, producer gone (see events.go). Nil: silent.
	Logger *slog.Logger
	// UnblockTimeout (multi-producer rings) is how long a consumer waits at
	// a claimed but unpublished sequence before checking whether its
	// producer died; if so the sequence is skipped and counted. Zero: the
	// liveness interval.
	UnblockTimeout time.Duration
}

func (c *ConsumerConfig) attachOptions() attachOptions {
	o := attachOptions{backend: c.Backend, perm: c.Perm, owner: c.Owner, liveness: c.LivenessInterval, log: c.Logger}
	if o.liveness <= 0 {
		o.liveness = DefaultLivenessInterval
	}
	o.unblock = c.UnblockTimeout
	if o.unblock <= 0 {
		o.unblock = o.liveness
	}
	return o
}
