package frame

// Frame geometry: the configuration structs and the ring metadata that
// carries the geometry from the creator to every attacher.
//
// Ring metadata, version 1: the first 64 bytes stored through
// ring.Config.Meta in the segment header (covered by the ring's header
// checksum); the remaining UserMetaSize bytes belong to the layer above
// (Config.Meta). Little-endian.
//
//	off  size  field
//	  0     8  magic "MYELONFR"
//	  8     4  version (1)
//	 12     4  frame header size (32)
//	 16     4  payload offset in the slot (32)
//	 20     4  payload capacity C: bytes per frame, >= 1
//	 24     4  flags: bit 0 aligned, bit 1 checksum; other bits zero
//	 28     4  reserved (0)
//	 32     8  maximum message size, <= 2^32-1
//	 40    24  reserved (0)
//
// Attach validates it as a ladder (magic, version, sizes, flags, capacity
// against the ring's slot size, maximum message size, reserved bytes), each
// failure a *GeometryError naming its field; the result is kept in a
// process-local geometry that bounds every frame read afterwards.
//
// The checksum flag (Config.Checksum) says every message carries a
// CRC-32C of its payload in a 4-byte trailer after the payload capacity
// of its last frame's slot (see checksum.go); the creator sizes the slots
// for it. A reader that does not know the flag refuses the ring (unknown
// flag bits), so no consumer ever reads a checksummed ring unchecked.

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// Defaults applied to zero config fields.
const (
	// DefaultPayloadCapacity makes 4 KiB slots.
	DefaultPayloadCapacity = 4096 - HeaderSize
	// DefaultMaxMessageSize is 16 MiB (on a multi-producer ring, at most
	// what the ring holds).
	DefaultMaxMessageSize = 16 << 20
	// MaxMessageLimit is the largest maximum message size (the header's
	// message length is 32 bits).
	MaxMessageLimit = 1<<32 - 1
	// MaxPayloadCapacity keeps a slot within the ring's 1 GiB limit.
	MaxPayloadCapacity = 1<<30 - HeaderSize
	// UserMetaSize is the size of Config.Meta, the metadata frame keeps for
	// the layer above.
	UserMetaSize = ring.UserMetaSize - metaSize
)

const (
	metaMagic       = "MYELONFR"
	metaVersion     = 1
	metaOffMagic    = 0
	metaOffVersion  = 8
	metaOffHdrSize  = 12
	metaOffPayload  = 16
	metaOffCapacity = 20
	metaOffFlags    = 24
	metaOffRes1     = 28
	metaOffMaxMsg   = 32
	metaOffRes2     = 40
	metaSize        = 64 // the rest of the ring's metadata is the layer above's

	metaFlagAligned  = 1 << 0
	metaFlagChecksum = 1 << 1
)

// Config describes a frame ring to create. The zero value is a usable
// single-producer ring on the Shm backend with the defaults above. The
// fields down to Populate configure the ring below, as the fields of the
// same names in ring.Config do.
type Config struct {
	Backend          ring.Backend      // where the segment lives. Zero: Shm.
	Capacity         int               // frames (slots) in the ring, a power of two. Zero: 1024.
	MaxConsumers     int               // size of the consumer table. Zero: 16.
	MaxProducers     int               // > 1: a multi-producer ring (see Join).
	Perm             os.FileMode       // segment mode. Zero: 0600 (0660 with AccessGroup).
	AccessGroup      string            // OS group given access (name or gid).
	Wait             ring.WaitStrategy // how the producer waits for space. Zero: Block.
	LivenessInterval time.Duration     // how soon a blocked producer notices a dead consumer. Zero: 100 ms.
	Logger           *slog.Logger      // lifecycle events: see ring.Config. Nil: silent.
	TruncationGuard  bool              // guard fast paths too against a truncated segment (ring.Config.TruncationGuard).
	KeepOnClose      bool              // leave the segment in place at Close.
	KeepStale        bool              // refuse (ErrStale) instead of replacing a dead owner's segment.
	Populate         bool              // pre-fault the mapping.

	// PayloadCapacity is the payload bytes one frame (one slot) carries.
	// The slot size is HeaderSize + PayloadCapacity rounded up to 8 (16
	// when Aligned). Zero: DefaultPayloadCapacity.
	PayloadCapacity int
	// Aligned rounds the slot size up to a multiple of 16 so every payload
	// starts on a 16-byte boundary (for Layer 3, which reads serialized
	// data in place). Without it payloads are 8-byte aligned.
	Aligned bool
	// MaxMessageSize bounds a message; Send rejects larger ones and
	// consumers treat larger message lengths as garbage. On a
	// multi-producer ring it may not exceed Capacity frames (see
	// Producer). Zero: DefaultMaxMessageSize, capped so on a multi-producer
	// ring.
	MaxMessageSize int
	// Timestamps stamps every message with its send time (one clock read
	// per message), so consumers can report one-way latency.
	Timestamps bool
	// Checksum makes every message carry a CRC-32C (Castagnoli) of its
	// payload, computed by every producer of the ring and checked by every
	// consumer after reassembly: a message whose payload changed between
	// send and receive (a buggy or hostile peer writing into the segment)
	// is skipped with a *ProtocolError of ReasonChecksum, which matches
	// ErrChecksum and ErrProtocol, and the messages after it are read
	// normally. It is recorded in the ring's frame geometry (attachers
	// follow it; ConsumerConfig.Checksum and JoinConfig.Checksum can
	// require it) and takes 4 more bytes per slot, for the trailer that
	// holds the sum. Without it no sum is computed, stored or checked.
	Checksum bool
	// Meta is up to UserMetaSize bytes of metadata for the layer above,
	// stored in the segment at creation (Layer 2 keeps its schema here) and
	// returned by UserMeta on every handle.
	Meta []byte
}

// ring returns the configuration of the ring below.
func (c *Config) ring(g *geometry, meta []byte) ring.Config {
	return ring.Config{
		Backend: c.Backend, Capacity: c.Capacity, SlotSize: g.slotSize, MaxConsumers: c.MaxConsumers,
		MaxProducers: c.MaxProducers, Perm: c.Perm, AccessGroup: c.AccessGroup, Wait: c.Wait, LivenessInterval: c.LivenessInterval,
		TruncationGuard: c.TruncationGuard, KeepOnClose: c.KeepOnClose, KeepStale: c.KeepStale, Populate: c.Populate, Meta: meta, Logger: c.Logger,
	}
}

// ConsumerConfig describes how to attach. The zero value attaches an
// anonymous consumer on the Shm backend that accepts any frame geometry.
// The fields down to UnblockTimeout configure the ring consumer below, as
// the fields of the same names in ring.ConsumerConfig do.
type ConsumerConfig struct {
	Backend          ring.Backend      // where the segment lives. Zero: Shm.
	ID               string            // resume under this id; zero: anonymous.
	Start            ring.Start        // where a new consumer begins. Zero: the latest message.
	Wait             ring.WaitStrategy // how to wait for messages. Zero: Block.
	Capacity         int               // if non-zero, must equal the ring's.
	Perm             os.FileMode       // expected segment mode. Zero: any mode granting nothing to others.
	Owner            string            // user trusted to own the segment (name or uid). Zero: ourselves.
	LivenessInterval time.Duration     // how soon an idle consumer notices a dead producer. Zero: 100 ms.
	TruncationGuard  bool              // see Config.
	// Observer never gates the producer: the consumer reads validated
	// copies of each frame, and if the producer laps it, it reports
	// ErrLapped and resynchronises at the next message start.
	Observer bool
	// Group makes the consumer a member of a consumer group (each message
	// goes to one member); suits messages that fit one frame.
	Group          string
	UnblockTimeout time.Duration // multi-producer rings: see ring.ConsumerConfig.
	Logger         *slog.Logger  // lifecycle events: see ring.ConsumerConfig. Nil: silent.

	// PayloadCapacity, if non-zero, must equal the ring's.
	PayloadCapacity int
	// Aligned requires an aligned ring.
	Aligned bool
	// Checksum requires a ring created with Config.Checksum (a
	// *GeometryError naming "checksum" otherwise). Without it the consumer
	// follows the ring: it checks the sums of a checksummed ring and
	// reads a plain one.
	Checksum bool
	// MaxMessageSize, if non-zero, is a local limit below the ring's: larger
	// messages are skipped with a *ProtocolError (ReasonTooLarge). It bounds
	// the reassembly buffer.
	MaxMessageSize int
	// ReceiveTimestamps stamps every message's receive time. Without it
	// only messages that carry a send time get one.
	ReceiveTimestamps bool
}

// ring returns the configuration of the ring consumer below.
func (c *ConsumerConfig) ring() ring.ConsumerConfig {
	return ring.ConsumerConfig{
		Backend: c.Backend, ID: c.ID, Start: c.Start, Wait: c.Wait, Capacity: c.Capacity, Perm: c.Perm, Owner: c.Owner,
		LivenessInterval: c.LivenessInterval, Observer: c.Observer, Group: c.Group, UnblockTimeout: c.UnblockTimeout,
		Logger: c.Logger, TruncationGuard: c.TruncationGuard,
	}
}

// JoinConfig describes how to join a multi-producer frame ring as one
// more producer (Join). The zero value joins on the Shm backend, accepts
// any frame geometry and does not stamp send times.
type JoinConfig struct {
	Backend          ring.Backend      // where the segment lives. Zero: Shm.
	Perm             os.FileMode       // expected segment mode. Zero: any mode granting nothing to others.
	Owner            string            // user trusted to own the segment (name or uid). Zero: ourselves.
	Wait             ring.WaitStrategy // how to wait for space. Zero: Block.
	LivenessInterval time.Duration     // see Config. Zero: 100 ms.
	Logger           *slog.Logger      // lifecycle events: see ring.Config. Nil: silent.
	TruncationGuard  bool              // see Config.

	// PayloadCapacity, if non-zero, must equal the ring's.
	PayloadCapacity int
	// Aligned requires an aligned ring.
	Aligned bool
	// Checksum requires a ring created with Config.Checksum. Without it
	// the producer follows the ring: it sums its messages if the ring is
	// checksummed.
	Checksum bool
	// MaxMessageSize, if non-zero, is a local limit below the ring's: Send
	// refuses larger messages with a *SizeError.
	MaxMessageSize int
	// Timestamps stamps every message with its send time (see
	// Config.Timestamps).
	Timestamps bool
}

// ring returns the configuration of the ring producer below.
func (c *JoinConfig) ring() ring.JoinConfig {
	return ring.JoinConfig{Backend: c.Backend, Perm: c.Perm, Owner: c.Owner, Wait: c.Wait, LivenessInterval: c.LivenessInterval, Logger: c.Logger, TruncationGuard: c.TruncationGuard}
}

// Geometry describes a frame ring.
type Geometry struct {
	PayloadCapacity int  `json:"payload_capacity"`
	MaxMessageSize  int  `json:"max_message_size"`
	Aligned         bool `json:"aligned"`
	SlotSize        int  `json:"slot_size"`
	Capacity        int  `json:"capacity"` // slots in the ring
	MultiProducer   bool `json:"multi_producer"`
	Checksum        bool `json:"checksum"` // messages carry a CRC-32C of their payload (Config.Checksum)
}

// CheckHeader validates a frame header against g (see header.go). It
// returns a *ProtocolError with Reason ReasonHeader naming the field.
func (g Geometry) CheckHeader(h Header) error {
	lg := geometry{cap: uint64(g.PayloadCapacity), maxMsg: uint64(g.MaxMessageSize), ringMax: uint64(g.MaxMessageSize)}
	if lg.cap == 0 {
		return fmt.Errorf("%w: PayloadCapacity=0", ErrInvalidConfig)
	}
	if v, ok := lg.check(&h); !ok {
		return &ProtocolError{Reason: ReasonHeader, Field: v.field, Rule: v.rule, Want: v.want, Got: v.got, ID: h.ID, Seq: -1}
	}
	return nil
}

// geometry is the process-local copy of a ring's frame geometry; every
// frame read is bounded by it, never by shared memory.
type geometry struct {
	cap      uint64 // payload capacity C
	maxMsg   uint64 // largest message accepted: ringMax, or a consumer's lower limit
	ringMax  uint64 // the ring's maximum message size (bounds msg_len in every header)
	slotSize int
	ringCap  int64
	aligned  bool
	multi    bool
	checksum bool // messages carry a CRC-32C trailer at offset sumOff of their last frame's slot
}

func (g *geometry) public() Geometry {
	return Geometry{
		PayloadCapacity: int(g.cap), MaxMessageSize: int(g.ringMax), Aligned: g.aligned,
		SlotSize: g.slotSize, Capacity: int(g.ringCap), MultiProducer: g.multi, Checksum: g.checksum,
	}
}

func invalid(field string, v any, want string) error {
	return fmt.Errorf("%w: %s=%v: %s", ErrInvalidConfig, field, v, want)
}

// geometry validates c and computes the geometry and metadata of the ring
// to create.
func (c *Config) geometry() (geometry, [ring.UserMetaSize]byte, error) {
	var meta [ring.UserMetaSize]byte
	if len(c.Meta) > UserMetaSize {
		return geometry{}, meta, invalid("Meta", len(c.Meta), fmt.Sprintf("want at most %d bytes", UserMetaSize))
	}
	capacity := c.PayloadCapacity
	if capacity == 0 {
		capacity = DefaultPayloadCapacity
	}
	if capacity < 1 || capacity > MaxPayloadCapacity {
		return geometry{}, meta, invalid("PayloadCapacity", c.PayloadCapacity, fmt.Sprintf("want [1, %d]", MaxPayloadCapacity))
	}
	ringCap := c.Capacity
	if ringCap == 0 {
		ringCap = ring.DefaultCapacity
	}
	multi := c.MaxProducers > 1
	maxMsg := uint64(c.MaxMessageSize)
	ringHolds := uint64(ringCap) * uint64(capacity)
	switch {
	case c.MaxMessageSize < 0 || c.MaxMessageSize > MaxMessageLimit:
		return geometry{}, meta, invalid("MaxMessageSize", c.MaxMessageSize, fmt.Sprintf("want [0, %d]", uint64(MaxMessageLimit)))
	case c.MaxMessageSize == 0:
		maxMsg = DefaultMaxMessageSize
		if multi {
			maxMsg = min(maxMsg, ringHolds)
		}
	case multi && maxMsg > ringHolds:
		return geometry{}, meta, invalid("MaxMessageSize", c.MaxMessageSize,
			fmt.Sprintf("a multi-producer ring holds at most Capacity*PayloadCapacity=%d bytes per message", ringHolds))
	}
	align := 8
	if c.Aligned {
		align = 16
	}
	trailer := 0
	if c.Checksum {
		trailer = sumSize
	}
	slot := (HeaderSize + capacity + trailer + align - 1) &^ (align - 1)
	g := geometry{cap: uint64(capacity), maxMsg: maxMsg, ringMax: maxMsg, slotSize: slot, ringCap: int64(ringCap), aligned: c.Aligned, multi: multi, checksum: c.Checksum}
	le := binary.LittleEndian
	copy(meta[metaOffMagic:], metaMagic)
	le.PutUint32(meta[metaOffVersion:], metaVersion)
	le.PutUint32(meta[metaOffHdrSize:], HeaderSize)
	le.PutUint32(meta[metaOffPayload:], HeaderSize)
	le.PutUint32(meta[metaOffCapacity:], uint32(capacity))
	var flags uint32
	if c.Aligned {
		flags |= metaFlagAligned
	}
	if c.Checksum {
		flags |= metaFlagChecksum
	}
	le.PutUint32(meta[metaOffFlags:], flags)
	le.PutUint64(meta[metaOffMaxMsg:], maxMsg)
	copy(meta[metaSize:], c.Meta)
	return g, meta, nil
}

// parseMeta validates the metadata of a ring with the given slot size and
// capacity, rung by rung, and returns its geometry.
func parseMeta(meta [ring.UserMetaSize]byte, slotSize, ringCap, maxProducers int) (geometry, error) {
	le := binary.LittleEndian
	fail := func(field string, want, got any) (geometry, error) {
		return geometry{}, &GeometryError{Field: field, Want: want, Got: got}
	}
	bad := func(field, reason string, got any) (geometry, error) {
		return geometry{}, &GeometryError{Field: field, Reason: reason, Got: got}
	}
	if m := string(meta[metaOffMagic : metaOffMagic+8]); m != metaMagic {
		return fail("magic", metaMagic, fmt.Sprintf("%q", m))
	}
	if v := le.Uint32(meta[metaOffVersion:]); v != metaVersion {
		return fail("version", metaVersion, v)
	}
	if v := le.Uint32(meta[metaOffHdrSize:]); v != HeaderSize {
		return fail("header_size", HeaderSize, v)
	}
	if v := le.Uint32(meta[metaOffPayload:]); v != HeaderSize {
		return fail("payload_offset", HeaderSize, v)
	}
	flags := le.Uint32(meta[metaOffFlags:])
	if flags&^(metaFlagAligned|metaFlagChecksum) != 0 {
		return bad("flags", "unknown flag bits set", fmt.Sprintf("%#x", flags))
	}
	aligned := flags&metaFlagAligned != 0
	checksum := flags&metaFlagChecksum != 0
	capacity := uint64(le.Uint32(meta[metaOffCapacity:]))
	if capacity == 0 || capacity > MaxPayloadCapacity {
		return bad("payload_capacity", fmt.Sprintf("not in [1, %d]", MaxPayloadCapacity), capacity)
	}
	if HeaderSize+capacity > uint64(slotSize) {
		return bad("payload_capacity", fmt.Sprintf("header plus payload larger than the ring's %d-byte slot", slotSize), capacity)
	}
	if checksum && HeaderSize+capacity+sumSize > uint64(slotSize) {
		return bad("flags", fmt.Sprintf("checksum, but the ring's %d-byte slot has no room for the trailer after the payload capacity", slotSize), "checksum")
	}
	if aligned && slotSize%16 != 0 {
		return bad("flags", fmt.Sprintf("aligned, but the slot size %d is not a multiple of 16", slotSize), "aligned")
	}
	maxMsg := le.Uint64(meta[metaOffMaxMsg:])
	if maxMsg > MaxMessageLimit {
		return bad("max_message_size", fmt.Sprintf("larger than %d", uint64(MaxMessageLimit)), maxMsg)
	}
	multi := maxProducers > 1
	if multi && maxMsg > uint64(ringCap)*capacity {
		return bad("max_message_size", "larger than a multi-producer ring holds", maxMsg)
	}
	if le.Uint32(meta[metaOffRes1:]) != 0 {
		return bad("reserved", "not zero", le.Uint32(meta[metaOffRes1:]))
	}
	for i := metaOffRes2; i < metaSize; i++ {
		if meta[i] != 0 {
			return bad("reserved", fmt.Sprintf("byte %d not zero", i), meta[i])
		}
	}
	return geometry{cap: capacity, maxMsg: maxMsg, ringMax: maxMsg, slotSize: slotSize, ringCap: int64(ringCap), aligned: aligned, multi: multi, checksum: checksum}, nil
}

// expect checks the attacher's expectations against the ring's geometry.
func (c *ConsumerConfig) expect(g *geometry) error {
	return expect(g, c.PayloadCapacity, c.Aligned, c.Checksum, c.MaxMessageSize)
}

// expect checks a joining producer's expectations against the ring's
// geometry.
func (c *JoinConfig) expect(g *geometry) error {
	return expect(g, c.PayloadCapacity, c.Aligned, c.Checksum, c.MaxMessageSize)
}

// expect checks expectations (zero: any) against the ring's geometry and
// applies a local maximum message size.
func expect(g *geometry, payloadCapacity int, aligned, checksum bool, maxMsg int) error {
	if payloadCapacity != 0 && uint64(payloadCapacity) != g.cap {
		return &GeometryError{Field: "payload_capacity", Want: payloadCapacity, Got: g.cap}
	}
	if aligned && !g.aligned {
		return &GeometryError{Field: "aligned", Want: true, Got: false}
	}
	if checksum && !g.checksum {
		return &GeometryError{Field: "checksum", Want: true, Got: false}
	}
	if maxMsg < 0 {
		return invalid("MaxMessageSize", maxMsg, "want >= 0")
	}
	if maxMsg != 0 {
		g.maxMsg = min(g.maxMsg, uint64(maxMsg))
	}
	return nil
}

// upperMeta returns the part of the ring's metadata that belongs to the
// layer above.
func upperMeta(m [ring.UserMetaSize]byte) []byte { return m[metaSize:] }

// ParseInfo reads the frame geometry of a ring described by info (from
// ring.Inspect or a handle's Info), and the metadata stored for the layer
// above frame. A ring that is not a frame ring is a *GeometryError.
func ParseInfo(info ring.RingInfo) (Geometry, []byte, error) {
	g, err := parseMeta(info.UserMeta, info.SlotSize, info.Capacity, info.MaxProducers)
	if err != nil {
		return Geometry{}, nil, err
	}
	return g.public(), upperMeta(info.UserMeta), nil
}
