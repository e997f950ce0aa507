package layers

import "context"

// stopper gives an Initiator or Echoer the Close the peers contract asks
// for: callable while a RoundTrip or Echo runs, which it interrupts. It
// only cancels the context the ring waits run under; the rings stay mapped
// until Release, which peers.Run calls once nothing can be using them.
// (Closing the rings in Close would unmap memory a RoundTrip may still be
// reading.)
type stopper struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newStopper(parent context.Context) stopper {
	ctx, cancel := context.WithCancel(parent)
	return stopper{ctx: ctx, cancel: cancel}
}

// Close interrupts a running RoundTrip or Echo.
func (s stopper) Close() error {
	s.cancel()
	return nil
}
