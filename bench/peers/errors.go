package peers

import (
	"errors"
	"fmt"
)

// Errors of Run and Register.
var (
	// ErrUnknownPeer: no peer has the name given to Run.
	ErrUnknownPeer = errors.New("peers: unknown peer")
	// ErrBadConfig matches every *ConfigError.
	ErrBadConfig = errors.New("peers: bad config")
	// ErrDuplicatePeer: Register was given a name already taken.
	ErrDuplicatePeer = errors.New("peers: peer name already registered")
	// ErrNested: Run was called inside an echo process, which means the
	// program did not call MaybeRunChild first in main.
	ErrNested = errors.New("peers: Run called in an echo process; call MaybeRunChild first in main")
	// ErrTimeout: the run did not finish within Config.Timeout.
	ErrTimeout = errors.New("peers: run timed out")
)

// Errors of a round trip.
var (
	// ErrPayload matches every *PayloadError.
	ErrPayload = errors.New("peers: payload mismatch")
	// ErrProtocol matches every *ProtocolError.
	ErrProtocol = errors.New("peers: protocol violation")
	// ErrEchoFailed matches every *EchoError.
	ErrEchoFailed = errors.New("peers: echo process failed")
	// ErrClosed: the connection was closed while a round trip was waiting.
	ErrClosed = errors.New("peers: connection closed")
)

// ConfigError names the Config field that is out of range.
type ConfigError struct {
	Field  string
	Value  any
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("peers: config %s=%v: %s", e.Field, e.Value, e.Reason)
}

// Is makes errors.Is(err, ErrBadConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrBadConfig }

// PayloadError reports a message whose bytes are not those sent: a stale,
// torn or misdirected message.
type PayloadError struct {
	Seq    uint64 // the sequence number expected
	Offset int    // byte offset of the first wrong stamp
	Len    int    // length of the message received
	Want   uint64 // the stamp expected there (for a length error, the length)
	Got    uint64 // the stamp found
}

func (e *PayloadError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("peers: message %d: length %d, want %d", e.Seq, e.Got, e.Want)
	}
	return fmt.Sprintf("peers: message %d (%d bytes): offset %d holds %#x, want %#x", e.Seq, e.Len, e.Offset, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrPayload) true.
func (e *PayloadError) Is(target error) bool { return target == ErrPayload }

// ProtocolError reports a value the other process wrote that the protocol
// does not allow, such as a sequence word that jumped.
type ProtocolError struct {
	What string // which word or field
	Want uint64
	Got  uint64
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("peers: %s holds %d, want %d", e.What, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrProtocol) true.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// EchoError reports an echo process that failed to start, exited early or
// exited with an error. Stderr holds the end of its standard error.
type EchoError struct {
	Peer   string
	Err    error
	Stderr string
}

func (e *EchoError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("peers: %s echo process: %v", e.Peer, e.Err)
	}
	return fmt.Sprintf("peers: %s echo process: %v; stderr: %s", e.Peer, e.Err, e.Stderr)
}

// Is makes errors.Is(err, ErrEchoFailed) true.
func (e *EchoError) Is(target error) bool { return target == ErrEchoFailed }

// Unwrap returns the underlying error.
func (e *EchoError) Unwrap() error { return e.Err }
