package typed

import (
	"hash/fnv"
	"strconv"
)

// Codec turns Go values of type T into message payloads and back (Layer
// 2). Implementations live in their own packages (codec/raw,
// codec/bincode, codec/flatbuffers/..., codec/msgpack), so a program pays
// only for the codecs it imports.
//
// The methods are shaped for a hot path that allocates nothing:
//
//   - Append appends v's encoding to dst and returns the extended slice,
//     like strconv.AppendInt. The producer passes the same buffer, reset
//     to length zero, for every message, so a codec that only appends
//     allocates nothing once the buffer has grown to the largest message.
//   - Decode overwrites *v from src. src is borrowed: it may be the ring
//     slot itself, valid only during the call, so Decode must copy what it
//     keeps (a codec that decodes a slice field into the capacity v
//     already has allocates nothing for it). src is untrusted input: every
//     length and offset in it must be bounds-checked; an error, never a
//     panic, reports garbage. On error *v may be partly written.
//
// A Codec is used by one goroutine at a time per handle; it may keep
// scratch state (a builder, a buffer).
type Codec[T any] interface {
	// Schema identifies the encoding; producer and consumer must agree.
	Schema() Schema
	// Append appends the encoding of *v to dst.
	Append(dst []byte, v *T) ([]byte, error)
	// Decode reads the message src into *v.
	Decode(src []byte, v *T) error
}

// ZeroCopyCodec reads a payload in place (Layer 3): View validates src
// and returns a read-only view V over it (for example *T pointing into the
// payload, or a flatbuffers table) without copying. The view aliases src,
// which is a ring slot or the consumer's reassembly buffer: it is valid
// only until the callback it was handed to returns (see ViewConsumer).
//
// View must check everything the view's accessors will rely on (lengths,
// offsets, alignment), so that reading a view never goes out of bounds;
// garbage is an error, never a panic.
type ZeroCopyCodec[V any] interface {
	// Schema identifies the encoding; it must equal the producer's codec's.
	Schema() Schema
	// View validates src and returns a view over it.
	View(src []byte) (V, error)
}

// Aligner is implemented by zero-copy codecs whose views need their
// payload on an address boundary (a power of two). Frame payloads start
// on 8-byte boundaries, 16-byte ones on rings created with
// frame.Config.Aligned; AttachView refuses a codec that needs more than
// the ring gives with an *AlignmentError.
type Aligner interface {
	Alignment() int
}

// Schema names an encoding: the codec, the message type or schema within
// it, and a version the application bumps on incompatible changes.
// Producer and consumer must agree on all three.
//
// Create records the schema in the ring, and attachers compare it with
// theirs before any message. Every message also carries it as a one-byte
// tag (Tag) in its frame user-flags byte, checked on receive.
type Schema struct {
	Codec   string `json:"codec"`   // codec name: "raw", "bincode", "flatbuffers", ...
	Name    string `json:"name"`    // message type or schema name
	Version uint32 `json:"version"` // incompatible-change counter
}

func (s Schema) String() string {
	return s.Codec + ":" + s.Name + "@" + strconv.FormatUint(uint64(s.Version), 10)
}

// Tag is the schema's one-byte wire tag: an FNV-1a hash of codec, name and
// version folded to 8 bits, never 0 (0 marks an untagged message, sent by
// a plain frame producer). Two different schemas share a tag with
// probability 1/255: the tag catches a wrong codec, type or version, it
// does not prove a match.
func (s Schema) Tag() uint8 {
	h := fnv.New64a()
	h.Write([]byte(s.Codec))
	h.Write([]byte{0})
	h.Write([]byte(s.Name))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatUint(uint64(s.Version), 10)))
	x := h.Sum64()
	x ^= x >> 32
	x ^= x >> 16
	x ^= x >> 8
	t := uint8(x)
	if t == 0 {
		t = 0x80
	}
	return t
}
