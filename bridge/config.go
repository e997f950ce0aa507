package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// Mode is how messages cross NATS.
type Mode string

const (
	// Core publishes with core NATS: at most once, lowest latency. A
	// message published while no inbound bridge is subscribed, or dropped
	// by a slow subscriber, is lost.
	Core Mode = "core"
	// JetStream publishes into a stream: at least once on the wire,
	// de-duplicated by message id through the stream's duplicate window,
	// and acknowledged by the inbound bridge only after its local publish.
	JetStream Mode = "jetstream"
)

// Defaults applied to zero config fields.
const (
	DefaultWindow          = 256
	DefaultBatch           = 256
	DefaultAckWait         = 5 * time.Second
	DefaultGapWait         = 30 * time.Second
	DefaultRetryWait       = 250 * time.Millisecond
	DefaultPublishTimeout  = 5 * time.Second
	DefaultPendingMessages = 65536
	DefaultPendingBytes    = 64 << 20
)

// ErrInvalidConfig: a configuration value is missing or out of range. The
// message names the field.
var ErrInvalidConfig = errors.New("bridge: invalid config")

func invalid(field string, v any, why string) error {
	return fmt.Errorf("%w: %s=%v: %s", ErrInvalidConfig, field, v, why)
}

// NATS says where the server is and which subject carries the messages.
type NATS struct {
	// URL is the server URL (several separated by commas). Zero:
	// nats://127.0.0.1:4222.
	URL string `json:"url,omitempty"`
	// Name is the connection name the server shows. Zero: the bridge's
	// consumer id or ring name.
	Name string `json:"name,omitempty"`
	// Subject carries the messages of one ring. Required.
	Subject string `json:"subject"`
	// Mode is Core or JetStream. Zero: Core.
	Mode Mode `json:"mode,omitempty"`
	// Stream is the JetStream stream that captures Subject (JetStream mode;
	// required there). See EnsureStream.
	Stream string `json:"stream,omitempty"`
	// CreateStream creates or updates Stream (file storage, the duplicate
	// window DuplicateWindow) before the bridge starts.
	CreateStream bool `json:"create_stream,omitempty"`
	// DuplicateWindow is the stream's de-duplication window when the bridge
	// creates it. Zero: 2 minutes.
	DuplicateWindow Duration `json:"duplicate_window,omitempty"`
	// RetryWait is the pause before a retry after a failed publish or fetch
	// and the client's reconnect wait. Zero: DefaultRetryWait.
	RetryWait Duration `json:"retry_wait,omitempty"`
}

// OutboundConfig configures a bridge from a local frame ring (framed or
// typed) to a NATS subject.
type OutboundConfig struct {
	NATS
	// Ring is the local frame ring to consume. Required.
	Ring string `json:"ring"`
	// ConsumerID is the bridge's consumer id in the ring, so a restarted
	// bridge resumes where the last one stopped; the ring's producer may
	// require it (frame.Producer.Require). Required.
	ConsumerID string `json:"consumer_id"`
	// Backend is where the ring lives: "shm" (zero) or "file". See
	// ring.ParseBackend.
	Backend string `json:"backend,omitempty"`
	// Window bounds the messages published but not yet acknowledged by
	// JetStream, which the bridge keeps (copied) for a republish. Zero:
	// DefaultWindow.
	Window int `json:"window,omitempty"`
	// PublishTimeout bounds the wait for one JetStream acknowledgement
	// before the window is republished. Zero: DefaultPublishTimeout.
	PublishTimeout Duration `json:"publish_timeout,omitempty"`
	// Logger receives the bridge's and the ring's lifecycle events. Nil:
	// silent.
	Logger *slog.Logger `json:"-"`
}

// InboundConfig configures a bridge from a NATS subject into a local frame
// ring.
type InboundConfig struct {
	NATS
	// Ring is the local frame ring to publish into. Required.
	Ring string `json:"ring"`
	// Join joins Ring, created by another process with MaxProducers > 1,
	// instead of creating it. A joined ring survives the bridge.
	Join bool `json:"join,omitempty"`
	// Backend is where the ring lives: "shm" (zero) or "file".
	Backend string `json:"backend,omitempty"`
	// Capacity and PayloadCapacity size a ring the bridge creates (see
	// frame.Config). Zero: frame's defaults.
	Capacity        int `json:"capacity,omitempty"`
	PayloadCapacity int `json:"payload_capacity,omitempty"`
	// Schema, for a typed ring the bridge creates, is the typed schema
	// metadata to store in it (see typed.ParseSchema), as the outbound
	// bridge sends it in HeaderSchema. Zero: an untagged frame ring.
	Schema string `json:"schema,omitempty"`
	// Durable is the JetStream consumer's durable name (JetStream mode).
	// Zero: "myelon-bridge-" + Ring.
	Durable string `json:"durable,omitempty"`
	// Batch bounds one JetStream fetch, and so the messages held in
	// memory: a full ring stops the bridge between fetches. Zero:
	// DefaultBatch.
	Batch int `json:"batch,omitempty"`
	// AckWait is the JetStream consumer's ack wait. Zero: DefaultAckWait.
	AckWait Duration `json:"ack_wait,omitempty"`
	// GapWait is how long the bridge waits for a message missing from the
	// chain of an origin (see the package doc) before it gives up on it and
	// counts a gap. Zero: DefaultGapWait.
	GapWait Duration `json:"gap_wait,omitempty"`
	// StateDir holds the receipt file of a JetStream inbound bridge: what
	// it wrote into the ring, so that its successor after a kill does not
	// write it again (see the package doc). One file per ring and durable,
	// locked by the running bridge. Zero: os.TempDir().
	StateDir string `json:"state_dir,omitempty"`
	// PendingMessages and PendingBytes bound a core subscription's buffer;
	// beyond them NATS drops messages (counted). Zero: the defaults.
	PendingMessages int `json:"pending_messages,omitempty"`
	PendingBytes    int `json:"pending_bytes,omitempty"`
	// Logger receives the bridge's and the ring's lifecycle events. Nil:
	// silent.
	Logger *slog.Logger `json:"-"`
}

// Config is one bridge, outbound or inbound, as Run takes it and as a JSON
// file holds it (LoadConfig): exactly one of Outbound and Inbound is set.
type Config struct {
	Outbound *OutboundConfig `json:"outbound,omitempty"`
	Inbound  *InboundConfig  `json:"inbound,omitempty"`
}

// LoadConfig reads a Config from a JSON file; unknown fields are refused.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	return c, decodeStrict(b, &c)
}

// Duration is a time.Duration that reads and writes JSON as a string such
// as "250ms" (or a number of nanoseconds).
type Duration time.Duration

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a string such as "2m" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("%w: duration %s", ErrInvalidConfig, b)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: duration %q: %v", ErrInvalidConfig, s, err)
	}
	*d = Duration(v)
	return nil
}

func orDur(d Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (n *NATS) check() error {
	if n.Subject == "" {
		return invalid("subject", `""`, "required")
	}
	switch n.Mode {
	case "":
		n.Mode = Core
	case Core:
	case JetStream:
		if n.Stream == "" {
			return invalid("stream", `""`, "required in jetstream mode")
		}
	default:
		return invalid("mode", n.Mode, `want "core" or "jetstream"`)
	}
	if n.URL == "" {
		n.URL = "nats://127.0.0.1:4222"
	}
	return nil
}

func (c *OutboundConfig) check() (ring.Backend, error) {
	if err := c.NATS.check(); err != nil {
		return 0, err
	}
	if c.Ring == "" {
		return 0, invalid("ring", `""`, "required")
	}
	if c.ConsumerID == "" {
		return 0, invalid("consumer_id", `""`, "required")
	}
	if c.Window < 0 {
		return 0, invalid("window", c.Window, "negative")
	}
	return parseBackend(c.Backend)
}

func (c *InboundConfig) check() (ring.Backend, error) {
	if err := c.NATS.check(); err != nil {
		return 0, err
	}
	if c.Ring == "" {
		return 0, invalid("ring", `""`, "required")
	}
	if c.Batch < 0 {
		return 0, invalid("batch", c.Batch, "negative")
	}
	if c.Durable == "" {
		c.Durable = "myelon-bridge-" + c.Ring
	}
	return parseBackend(c.Backend)
}

func parseBackend(s string) (ring.Backend, error) {
	b, err := ring.ParseBackend(s)
	if err != nil {
		return 0, invalid("backend", s, err.Error())
	}
	return b, nil
}

func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}
