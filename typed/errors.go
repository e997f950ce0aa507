package typed

import (
	"errors"
	"fmt"

	"github.com/myelon-go/myelon/frame"
)

// Errors of construction.
var (
	// ErrInvalidConfig: a nil codec or handle, or a configuration value out
	// of range. The message names it.
	ErrInvalidConfig = errors.New("typed: invalid config")
	// ErrAlignment: the zero-copy codec needs payloads on a boundary the
	// ring does not give. Match *AlignmentError.
	ErrAlignment = errors.New("typed: payload alignment")
)

// Errors of sending.
var (
	// ErrEncode: the codec failed to encode a value; nothing was sent.
	// Match *EncodeError.
	ErrEncode = errors.New("typed: encode failed")
)

// Errors of the layers below, which pass through unchanged; they are the
// same values as frame's and ring's, named here so that typed code matches
// them without importing those packages.
var (
	// ErrFull: a Try send found no room.
	ErrFull = frame.ErrFull
	// ErrEmpty: a Try receive found no message.
	ErrEmpty = frame.ErrEmpty
	// ErrEndOfStream: the producer closed the ring and every message has
	// been read.
	ErrEndOfStream = frame.ErrEndOfStream
	// ErrProducerGone: the producer died and every message it sent has
	// been read.
	ErrProducerGone = frame.ErrProducerGone
	// ErrClosed: the handle was closed.
	ErrClosed = frame.ErrClosed
	// ErrLapped: an observer was overtaken (see frame).
	ErrLapped = frame.ErrLapped
	// ErrEvicted: the producer's policy evicted this consumer (see frame).
	ErrEvicted = frame.ErrEvicted
	// ErrNotFound: Attach's context ended before the ring was created.
	ErrNotFound = frame.ErrNotFound
	// ErrNotReady: Attach's context ended before the ring was initialised.
	ErrNotReady = frame.ErrNotReady
	// ErrExist: Create found a ring of that name whose owner is alive.
	ErrExist = frame.ErrExist
	// ErrStale: Create found a dead owner's ring and Config.KeepStale.
	ErrStale = frame.ErrStale
	// ErrPermission: access to the segment was refused.
	ErrPermission = frame.ErrPermission
	// ErrNoSpace: Create found no room for the segment on its file system.
	ErrNoSpace = frame.ErrNoSpace
)

// Meta describes a received message: its kind, id, schema tag (Flags),
// sequence and times (see frame.Meta).
type Meta = frame.Meta

// Errors of receiving. Frame's other errors (frame.ErrProtocol, ...) pass
// through unchanged too.
var (
	// ErrDecode: a message could not be decoded (or viewed). The message
	// has been consumed. Match *DecodeError for its id and length.
	ErrDecode = errors.New("typed: decode failed")
	// ErrSchema: a message carries another schema's tag: the producer uses
	// another codec, type or version. The message has been consumed. Match
	// *SchemaError.
	ErrSchema = errors.New("typed: schema mismatch")
)

// DecodeError reports a message that the codec could not decode or view.
// The message is consumed (the consumer goes on with the next one) and
// counted in ConsumerStats.DecodeErrors. It matches ErrDecode and unwraps
// to the codec's error (for a codec that panicked, a *PanicError).
type DecodeError struct {
	ID     uint64 // frame message id
	Seq    int64  // ring sequence of the message's first frame
	Kind   uint8  // frame kind
	Len    int    // payload length in bytes
	Schema Schema // the consumer's schema
	Err    error  // the codec's error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("typed: decode %s failed: message id %d (seq %d, kind %d, %d bytes): %v",
		e.Schema, e.ID, e.Seq, e.Kind, e.Len, e.Err)
}

// Is reports ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// Unwrap returns the codec's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// SchemaError reports a schema that differs from the attacher's: the
// ring's, at Attach or Join (Ring set), or a message's tag, on receive
// (the message is consumed and counted in ConsumerStats.SchemaErrors). It
// matches ErrSchema.
type SchemaError struct {
	Ring            bool   // the ring's schema, found at attach
	ID              uint64 // frame message id (messages only)
	Seq             int64  // ring sequence of the message's first frame (messages only)
	Want            Schema // the attacher's schema
	Got             Schema // the ring's schema (zero for a ring without one)
	WantTag, GotTag uint8
}

func (e *SchemaError) Error() string {
	if e.Ring {
		if e.Got == (Schema{}) {
			return fmt.Sprintf("typed: schema mismatch: the ring carries no schema (made by frame.Create; see ConsumerConfig.AcceptUntagged), want %s", e.Want)
		}
		return fmt.Sprintf("typed: schema mismatch: the ring carries %s, want %s: the producer uses another codec, type or version", e.Got, e.Want)
	}
	got := fmt.Sprintf("schema tag %#02x", e.GotTag)
	if e.GotTag == 0 {
		got = "no schema tag (a plain frame producer sent it; see ConsumerConfig.AcceptUntagged)"
	}
	return fmt.Sprintf("typed: schema mismatch: message id %d (seq %d) carries %s, want %#02x (%s): the producer uses another codec, type or version",
		e.ID, e.Seq, got, e.WantTag, e.Want)
}

// Is reports ErrSchema.
func (e *SchemaError) Is(target error) bool { return target == ErrSchema }

// EncodeError reports a value the codec could not encode; nothing was
// sent. It matches ErrEncode and unwraps to the codec's error.
type EncodeError struct {
	Schema Schema
	Err    error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("typed: encode %s failed: %v", e.Schema, e.Err)
}

// Is reports ErrEncode.
func (e *EncodeError) Is(target error) bool { return target == ErrEncode }

// Unwrap returns the codec's error.
func (e *EncodeError) Unwrap() error { return e.Err }

// PanicError is the error of a codec that panicked on a message (a bug in
// the codec: Decode and View must return errors). The consumer recovers
// it so one bad message cannot take the process down.
type PanicError struct {
	Value any
}

func (e *PanicError) Error() string { return fmt.Sprintf("codec panicked: %v", e.Value) }

// AlignmentError reports a zero-copy codec that needs payloads on a
// boundary the ring does not give. It matches ErrAlignment.
type AlignmentError struct {
	Schema Schema
	Need   int // the codec's alignment
	Have   int // the ring's payload alignment: 8, or 16 for aligned rings
}

func (e *AlignmentError) Error() string {
	hint := ""
	if e.Need <= 16 {
		hint = " (create the ring with frame.Config.Aligned)"
	}
	return fmt.Sprintf("typed: %s needs payloads on %d-byte boundaries, the ring gives %d%s", e.Schema, e.Need, e.Have, hint)
}

// Is reports ErrAlignment.
func (e *AlignmentError) Is(target error) bool { return target == ErrAlignment }

func invalid(what string) error { return fmt.Errorf("%w: %s", ErrInvalidConfig, what) }
