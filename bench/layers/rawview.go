package layers

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/typed"
)

// RawViewName is the name the RawView peer registers under.
const RawViewName = "myelon-rawview"

func init() {
	if err := peers.Register(RawView{}); err != nil {
		panic(err) // our own name clashing is a programming error
	}
}

// RawViewSizes are the message sizes the RawView peer runs at: the raw
// codec carries fixed-size types, one per size.
var RawViewSizes = []int{64, 4096}

// rawMsg is a ping-pong message of the RawView peer: the message's bytes
// as a fixed-size array, whose raw encoding is its memory.
type rawMsg interface{ [64]byte | [4096]byte }

// RawView is the Layer 3 ping-pong with the raw codec (codec/raw) on
// aligned typed rings: the message is a fixed-size array; the initiator
// sends it (one copy into the frame), the echo process reads it in place
// through the raw view (a pointer into the slot: no validation beyond
// length and alignment, no decode), checks it and sends it back from the
// slot; the initiator reads the reply through the view and copies it out.
// Only the sizes of RawViewSizes are supported.
type RawView struct{}

// Name implements peers.Peer.
func (RawView) Name() string { return RawViewName }

// Prepare creates the ping ring.
func (RawView) Prepare(dir string, cfg peers.Config) (peers.Opener, peers.Link, error) {
	switch cfg.Size {
	case 64:
		return prepareRawView[[64]byte](dir, cfg)
	case 4096:
		return prepareRawView[[4096]byte](dir, cfg)
	}
	return nil, peers.Link{}, &peers.ConfigError{Field: "Size", Value: cfg.Size, Reason: fmt.Sprintf("the raw-view lane runs at %v bytes", RawViewSizes)}
}

// Serve attaches to ping and creates pong.
func (RawView) Serve(ctx context.Context, link peers.Link, cfg peers.Config, ready func() error) (peers.Echoer, error) {
	switch cfg.Size {
	case 64:
		return serveRawView[[64]byte](ctx, link, cfg, ready)
	case 4096:
		return serveRawView[[4096]byte](ctx, link, cfg, ready)
	}
	return nil, &peers.ConfigError{Field: "Size", Value: cfg.Size, Reason: fmt.Sprintf("the raw-view lane runs at %v bytes", RawViewSizes)}
}

// rawViewRings are the RawView peer's rings for messages of type A.
func rawViewRings[A rawMsg]() layerRings[*typed.Producer[A], *typed.ViewConsumer[*A]] {
	return layerRings[*typed.Producer[A], *typed.ViewConsumer[*A]]{
		create: func(s *frameSetup, name string) (*typed.Producer[A], error) {
			return typed.Create(name, raw.MustNew[A](), s.typedConfig())
		},
		attach: func(ctx context.Context, s *frameSetup, name, id string) (*typed.ViewConsumer[*A], error) {
			return typed.AttachView(ctx, name, raw.MustNew[A](), s.typedConsumerConfig(id))
		},
	}
}

func prepareRawView[A rawMsg](dir string, cfg peers.Config) (peers.Opener, peers.Link, error) {
	s, ping, err := rawViewRings[A]().prepare(dir, cfg.Size, true)
	if err != nil {
		return nil, peers.Link{}, err
	}
	return &rawViewOpener[A]{s: s, ping: ping}, s.addr(), nil
}

type rawViewOpener[A rawMsg] struct {
	s    frameSetup
	ping *typed.Producer[A]
}

func (o *rawViewOpener[A]) Open(ctx context.Context) (peers.Initiator, error) {
	pong, err := rawViewRings[A]().open(ctx, &o.s, o.ping)
	if err != nil {
		return nil, err
	}
	return &rawViewInitiator[A]{stopper: newStopper(ctx), ping: o.ping, pong: pong}, nil
}

func (o *rawViewOpener[A]) Close() error { return o.ping.Close() }

// asMsg views msg, of exactly A's size, as an A.
func asMsg[A rawMsg](msg []byte) *A {
	var a A
	if len(msg) != len(a) {
		return nil
	}
	return (*A)(unsafe.Pointer(unsafe.SliceData(msg)))
}

// bytesOf is a's bytes (a view, not a copy).
func bytesOf[A rawMsg](a *A) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(a)), len(*a))
}

type rawViewInitiator[A rawMsg] struct {
	stopper
	ping *typed.Producer[A]
	pong *typed.ViewConsumer[*A]
}

func (i *rawViewInitiator[A]) RoundTrip(msg, reply []byte) error {
	m := asMsg[A](msg)
	if m == nil {
		return lengthError(msg, len(msg))
	}
	if _, err := i.ping.Send(i.ctx, m); err != nil {
		return err
	}
	return i.pong.Read(i.ctx, func(_ frame.Meta, v *A) error {
		copy(reply, bytesOf(v))
		return nil
	})
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (i *rawViewInitiator[A]) Release() error { return i.pong.Close() }

func serveRawView[A rawMsg](ctx context.Context, link peers.Link, cfg peers.Config, ready func() error) (peers.Echoer, error) {
	ping, pong, err := rawViewRings[A]().serve(ctx, link, ready)
	if err != nil {
		return nil, err
	}
	return &rawViewEchoer[A]{stopper: newStopper(ctx), size: cfg.Size, ping: ping, pong: pong}, nil
}

type rawViewEchoer[A rawMsg] struct {
	stopper
	size int
	ping *typed.ViewConsumer[*A]
	pong *typed.Producer[A]
}

func (e *rawViewEchoer[A]) Echo(seq uint64) error {
	return e.ping.Read(e.ctx, func(_ frame.Meta, v *A) error {
		if err := peers.CheckSeq(bytesOf(v), seq, e.size); err != nil {
			return err
		}
		// Send the message back from the slot, as it lies there.
		_, err := e.pong.Send(e.ctx, v)
		return err
	})
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (e *rawViewEchoer[A]) Release() error {
	e.ping.Close()
	return e.pong.Close()
}
