package frame

import (
	"errors"
	"fmt"

	"github.com/myelon-go/myelon/ring"
)

// Errors of Create and Attach.
var (
	// ErrInvalidConfig: a configuration value is out of range. The message
	// names the field as name=value.
	ErrInvalidConfig = errors.New("frame: invalid config")
	// ErrGeometry: the ring's frame geometry is invalid or differs from what
	// the attacher asked for. Match *GeometryError for the field.
	ErrGeometry = errors.New("frame: geometry mismatch")
	// ErrNotFramed: the ring exists but was not created by this package (its
	// metadata does not start with the frame magic). A *GeometryError with
	// Field "magic" matches both ErrNotFramed and ErrGeometry.
	ErrNotFramed = errors.New("frame: not a frame ring")

	// The ring's errors of Create and Attach, named here so that framed
	// code matches them without importing package ring.

	// ErrNotFound: Attach's context ended before the ring was created.
	ErrNotFound = ring.ErrNotFound
	// ErrNotReady: Attach's context ended before the ring was initialised.
	ErrNotReady = ring.ErrNotReady
	// ErrExist: Create found a ring of that name whose owner is alive.
	ErrExist = ring.ErrExist
	// ErrStale: Create found a dead owner's ring and Config.KeepStale.
	ErrStale = ring.ErrStale
	// ErrPermission: access to the segment was refused.
	ErrPermission = ring.ErrPermission
	// ErrNoSpace: Create found no room for the segment on its file system.
	ErrNoSpace = ring.ErrNoSpace
)

// Errors of publishing.
var (
	// ErrMessageTooLarge: the message is larger than the ring's maximum
	// message size (or, for TrySend and multi-producer rings, than the ring
	// itself). Match *SizeError for the sizes.
	ErrMessageTooLarge = errors.New("frame: message too large")
	// ErrFull: TrySend found no room. It is ring.ErrFull.
	ErrFull = ring.ErrFull
	// ErrClosed: the handle was closed. It is ring.ErrClosed.
	ErrClosed = ring.ErrClosed
)

// Errors of receiving.
var (
	// ErrEmpty: a Try call found no complete message. It is ring.ErrEmpty.
	ErrEmpty = ring.ErrEmpty
	// ErrEndOfStream: the producer closed the ring and every message has
	// been read. It is ring.ErrEndOfStream.
	ErrEndOfStream = ring.ErrEndOfStream
	// ErrProducerGone: the producer died and every message it published has
	// been read. It is ring.ErrProducerGone.
	ErrProducerGone = ring.ErrProducerGone
	// ErrLapped: the consumer was overtaken and lost frames (match
	// *ring.LappedError for how many): an observer that fell a ring behind,
	// or a consumer that started at an overwritten sequence or was evicted.
	// Any message in progress is dropped and the consumer resynchronises at
	// the next message start. It is ring.ErrLapped.
	ErrLapped = ring.ErrLapped
	// ErrEvicted: the producer's required-consumer policy evicted this consumer
	// (ring.Evict). Reported once; the consumer then reads validated copies,
	// as an observer, and resynchronises at the next message start. It is
	// ring.ErrEvicted.
	ErrEvicted = ring.ErrEvicted
	// ErrShortBuffer: the caller's buffer is smaller than the message, which
	// stays unread. Match *ShortBufferError for the size needed.
	ErrShortBuffer = errors.New("frame: buffer too short for message")
	// ErrProtocol: the frames on the ring do not form a valid message. The
	// consumer has counted it and resynchronises at the next message start.
	// Match *ProtocolError for the reason, field and sequence.
	ErrProtocol = errors.New("frame: protocol error")
	// ErrChecksum: a message's payload does not match the CRC-32C its
	// producer wrote (Config.Checksum): it changed in the segment between
	// send and receive. The message has been skipped; the next read
	// returns the next one. It is matched by a *ProtocolError with Reason
	// ReasonChecksum, which also matches ErrProtocol.
	ErrChecksum = errors.New("frame: message checksum mismatch")
)

// GeometryError names the frame-geometry field that failed validation at
// Create or Attach. It matches ErrGeometry (and ErrNotFramed for "magic").
type GeometryError struct {
	Field     string
	Want, Got any
	Reason    string
}

func (e *GeometryError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("frame: geometry mismatch: %s: %s (got %v)", e.Field, e.Reason, e.Got)
	}
	return fmt.Sprintf("frame: geometry mismatch: %s: want %v, got %v", e.Field, e.Want, e.Got)
}

// Is reports ErrGeometry, and ErrNotFramed for a bad magic.
func (e *GeometryError) Is(target error) bool {
	return target == ErrGeometry || target == ErrNotFramed && e.Field == "magic"
}

// SizeError reports a message over a size limit. It matches
// ErrMessageTooLarge.
type SizeError struct {
	Size, Max int
	Limit     string // which limit: "max message size" or "ring"
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("frame: message too large: %d bytes, %s allows %d", e.Size, e.Limit, e.Max)
}

// Is reports ErrMessageTooLarge.
func (e *SizeError) Is(target error) bool { return target == ErrMessageTooLarge }

// ShortBufferError reports a buffer too small for the next message, which
// stays unread: call again with at least Need bytes. It matches
// ErrShortBuffer.
type ShortBufferError struct {
	Need, Have int
}

func (e *ShortBufferError) Error() string {
	return fmt.Sprintf("frame: buffer too short for message: need %d bytes, have %d", e.Need, e.Have)
}

// Is reports ErrShortBuffer.
func (e *ShortBufferError) Is(target error) bool { return target == ErrShortBuffer }

// Reason classifies a protocol error.
type Reason uint8

// Protocol error reasons.
const (
	// ReasonHeader: a header field is invalid on its own (Field names it):
	// reserved bits set, a length beyond the frame capacity or the maximum
	// message size, a fragment index beyond the message's fragment count,
	// first/last flags or frame length inconsistent with the index, id 0.
	ReasonHeader Reason = iota + 1
	// ReasonNoFirst: a continuation frame with no message in progress.
	ReasonNoFirst
	// ReasonIndex: a continuation frame with the wrong fragment index.
	ReasonIndex
	// ReasonMismatch: a continuation frame whose id, kind, flags, message
	// length or send time differs from its first frame's (Field names it).
	ReasonMismatch
	// ReasonTruncated: a new message started before the one in progress was
	// complete; the partial message is dropped and the new one is read next.
	ReasonTruncated
	// ReasonTooLarge: the message is larger than the consumer's own
	// ConsumerConfig.MaxMessageSize; it is skipped.
	ReasonTooLarge
	// ReasonChecksum: on a checksummed ring (Config.Checksum), the
	// message's payload does not match its CRC-32C (Want: the sum the
	// producer wrote, Got: the sum of the payload read); it is skipped.
	// Such an error also matches ErrChecksum.
	ReasonChecksum
)

var reasonNames = [...]string{
	ReasonHeader:    "invalid header",
	ReasonNoFirst:   "continuation without first frame",
	ReasonIndex:     "wrong fragment index",
	ReasonMismatch:  "fragment differs from first frame",
	ReasonTruncated: "message truncated",
	ReasonTooLarge:  "message larger than consumer limit",
	ReasonChecksum:  "payload checksum mismatch",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// ProtocolError describes frames that do not form a valid message. It
// matches ErrProtocol. Seq is the ring sequence of the offending frame, ID
// the message id it carries (or, for ReasonTruncated, the id of the dropped
// message).
type ProtocolError struct {
	Reason    Reason
	Field     string // header field concerned, if any
	Seq       int64
	ID        uint64
	Rule      string // how Got relates to Want: "exactly", "at most" or "at least"
	Want, Got uint64 // expected and found values of Field
}

func (e *ProtocolError) Error() string {
	s := fmt.Sprintf("frame: protocol error at seq %d (message id %d): %s", e.Seq, e.ID, e.Reason)
	if e.Field != "" {
		s += fmt.Sprintf(": %s: want %s %d, got %d", e.Field, e.Rule, e.Want, e.Got)
	}
	return s
}

// Is reports ErrProtocol, and ErrChecksum for ReasonChecksum.
func (e *ProtocolError) Is(target error) bool {
	return target == ErrProtocol || target == ErrChecksum && e.Reason == ReasonChecksum
}
