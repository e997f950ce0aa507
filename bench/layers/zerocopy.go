package layers

import (
	"context"
	"encoding/binary"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/codec/flatbuffers/benchfb"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/typed"
)

// zeroCopyOverhead bounds the bytes a flatbuffers Echo adds to its data
// (root offset, vtable, table, vector length, padding).
const zeroCopyOverhead = 48

// ZeroCopy is the Layer 3 ping-pong with flatbuffers (codec/flatbuffers,
// schema benchfb.Echo {seq, data}), on aligned frame rings. The initiator
// builds each Echo in a reused Builder and sends its bytes; the echo
// process verifies the buffer and reads seq and data in place (a view into
// the ring slot, or into the reassembly buffer above 64 KiB), checks them,
// and forwards the verified bytes unchanged to pong; the initiator
// verifies the reply in place and copies its data out. Verification runs
// on every message on both sides: the numbers include it (the seed's rkyv
// lane skipped it).
type ZeroCopy struct{}

// Name implements peers.Peer.
func (ZeroCopy) Name() string { return ZeroCopyName }

// zeroCopyRings are the ZeroCopy peer's rings: aligned typed rings of
// flatbuffers Echo, sent with the codec and read through views.
var zeroCopyRings = layerRings[*typed.Producer[benchfb.EchoT], *typed.ViewConsumer[*benchfb.Echo]]{
	create: func(s *frameSetup, name string) (*typed.Producer[benchfb.EchoT], error) {
		return typed.Create(name, benchfb.NewEchoCodec(), s.typedConfig())
	},
	attach: func(ctx context.Context, s *frameSetup, name, id string) (*typed.ViewConsumer[*benchfb.Echo], error) {
		return typed.AttachView(ctx, name, benchfb.NewEchoView(), s.typedConsumerConfig(id))
	},
}

// Prepare creates the ping ring.
func (ZeroCopy) Prepare(dir string, cfg peers.Config) (peers.Opener, peers.Link, error) {
	s, ping, err := zeroCopyRings.prepare(dir, cfg.Size+zeroCopyOverhead, true)
	if err != nil {
		return nil, peers.Link{}, err
	}
	return &zeroCopyOpener{s: s, ping: ping}, s.addr(), nil
}

type zeroCopyOpener struct {
	s    frameSetup
	ping *typed.Producer[benchfb.EchoT]
}

func (o *zeroCopyOpener) Open(ctx context.Context) (peers.Initiator, error) {
	pong, err := zeroCopyRings.open(ctx, &o.s, o.ping)
	if err != nil {
		return nil, err
	}
	return &zeroCopyInitiator{stopper: newStopper(ctx), ping: o.ping, pong: pong, b: flatbuffers.NewBuilder(o.s.link.PayloadCapacity)}, nil
}

func (o *zeroCopyOpener) Close() error { return o.ping.Close() }

type zeroCopyInitiator struct {
	stopper
	ping *typed.Producer[benchfb.EchoT]
	pong *typed.ViewConsumer[*benchfb.Echo]
	b    *flatbuffers.Builder // reused
}

func (i *zeroCopyInitiator) RoundTrip(msg, reply []byte) error {
	buf := benchfb.AppendEcho(i.b, binary.LittleEndian.Uint64(msg), msg)
	if _, err := i.ping.SendEncoded(i.ctx, 0, buf); err != nil {
		return err
	}
	return i.pong.Read(i.ctx, func(m frame.Meta, v *benchfb.Echo) error {
		d := v.DataBytes()
		if len(d) != len(reply) || v.Seq() != binary.LittleEndian.Uint64(msg) {
			return lengthError(msg, len(d))
		}
		copy(reply, d)
		return nil
	})
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (i *zeroCopyInitiator) Release() error { return i.pong.Close() }

// Serve attaches to ping and creates pong.
func (ZeroCopy) Serve(ctx context.Context, link peers.Link, cfg peers.Config, ready func() error) (peers.Echoer, error) {
	ping, pong, err := zeroCopyRings.serve(ctx, link, ready)
	if err != nil {
		return nil, err
	}
	return &zeroCopyEchoer{stopper: newStopper(ctx), size: cfg.Size, ping: ping, pong: pong}, nil
}

type zeroCopyEchoer struct {
	stopper
	size int
	ping *typed.ViewConsumer[*benchfb.Echo]
	pong *typed.Producer[benchfb.EchoT]
}

func (e *zeroCopyEchoer) Echo(seq uint64) error {
	return e.ping.Read(e.ctx, func(m frame.Meta, v *benchfb.Echo) error {
		if got := v.Seq(); got != seq {
			return &peers.PayloadError{Seq: seq, Offset: 0, Len: v.DataLength(), Want: seq, Got: got}
		}
		if err := peers.CheckSeq(v.DataBytes(), seq, e.size); err != nil {
			return err
		}
		// Forward the verified buffer as it lies in the slot.
		_, err := e.pong.SendEncoded(e.ctx, 0, v.Table().Bytes)
		return err
	})
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (e *zeroCopyEchoer) Release() error {
	e.ping.Close()
	return e.pong.Close()
}
