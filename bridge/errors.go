package bridge

import (
	"errors"
	"fmt"
)

var (
	// ErrHeader: a NATS message carries a Myelon header that does not
	// parse. Match *HeaderError for the header. The inbound bridge
	// terminates such a message (JetStream) and counts it.
	ErrHeader = errors.New("bridge: bad header")
	// ErrSchema: a message's HeaderSchema differs from the local ring's
	// typed schema. The inbound bridge terminates it and counts it.
	ErrSchema = errors.New("bridge: schema mismatch")
	// ErrDiverged: the outbound bridge's two ring consumers (the one that
	// reads ahead and the one that marks what JetStream acknowledged) saw
	// different messages; the ring was modified under them.
	ErrDiverged = errors.New("bridge: ring consumers diverged")
	// ErrDisconnected: the NATS connection closed for good (the client
	// gave up reconnecting, or the bridge closed).
	ErrDisconnected = errors.New("bridge: NATS connection closed")
	// ErrReceiptsInUse: another inbound bridge holds the receipt file of
	// the same ring and durable consumer (InboundConfig.StateDir).
	ErrReceiptsInUse = errors.New("bridge: receipt file in use by another bridge")
	// ErrReceiptsCorrupt: the receipt file is not one this bridge wrote.
	// Remove it to start over: the messages written but not acknowledged
	// before may then be written again.
	ErrReceiptsCorrupt = errors.New("bridge: receipt file corrupt")
)

// HeaderError names a Myelon header that does not parse. It matches
// ErrHeader.
type HeaderError struct {
	Header, Value string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("bridge: bad header %s: %q", e.Header, e.Value)
}

// Is reports ErrHeader.
func (e *HeaderError) Is(target error) bool { return target == ErrHeader }
