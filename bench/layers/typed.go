package layers

import (
	"context"
	"encoding/binary"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/typed"
)

// echoMsg is the Layer 2 ping-pong message: Rust's
// struct Echo { seq: u64, data: Vec<u8> } in bincode, 16 bytes more than
// the message it carries.
type echoMsg struct {
	Seq  uint64
	Data []byte
}

// AppendBincode implements bincode.Marshaler.
func (m *echoMsg) AppendBincode(b []byte) []byte {
	b = bincode.AppendU64(b, m.Seq)
	return bincode.AppendBytes(b, m.Data)
}

// UnmarshalBincode implements bincode.Unmarshaler; Data reuses its
// storage.
func (m *echoMsg) UnmarshalBincode(r *bincode.Reader) error {
	m.Seq = r.U64()
	m.Data = r.BytesInto(m.Data)
	return r.Err()
}

const echoOverhead = 16 // u64 seq + u64 length prefix

func echoCodec() *bincode.Codec[echoMsg, *echoMsg] { return bincode.New[echoMsg]("bench.Echo", 1) }

// Typed is the Layer 2 ping-pong: every message is a struct {seq, data}
// encoded with codec/bincode. The initiator encodes it (one copy into the
// encode buffer, one into the ring); the echo process decodes it (a copy
// out of the ring), checks it, and encodes and sends it back; the
// initiator decodes the reply and copies its data out. So each direction
// pays an encode and a decode, as an application of Layer 2 would.
type Typed struct{}

// Name implements peers.Peer.
func (Typed) Name() string { return TypedName }

// typedRings are the Typed peer's rings: typed rings of echoMsg in
// bincode, which record the codec's schema for Attach to check.
var typedRings = layerRings[*typed.Producer[echoMsg], *typed.Consumer[echoMsg]]{
	create: func(s *frameSetup, name string) (*typed.Producer[echoMsg], error) {
		return typed.Create(name, echoCodec(), s.typedConfig())
	},
	attach: func(ctx context.Context, s *frameSetup, name, id string) (*typed.Consumer[echoMsg], error) {
		return typed.Attach(ctx, name, echoCodec(), s.typedConsumerConfig(id))
	},
}

// Prepare creates the ping ring.
func (Typed) Prepare(dir string, cfg peers.Config) (peers.Opener, peers.Link, error) {
	s, ping, err := typedRings.prepare(dir, cfg.Size+echoOverhead, false)
	if err != nil {
		return nil, peers.Link{}, err
	}
	return &typedOpener{s: s, ping: ping}, s.addr(), nil
}

type typedOpener struct {
	s    frameSetup
	ping *typed.Producer[echoMsg]
}

func (o *typedOpener) Open(ctx context.Context) (peers.Initiator, error) {
	pong, err := typedRings.open(ctx, &o.s, o.ping)
	if err != nil {
		return nil, err
	}
	return &typedInitiator{stopper: newStopper(ctx), ping: o.ping, pong: pong, out: new(echoMsg), in: new(echoMsg)}, nil
}

func (o *typedOpener) Close() error { return o.ping.Close() }

type typedInitiator struct {
	stopper
	ping    *typed.Producer[echoMsg]
	pong    *typed.Consumer[echoMsg]
	out, in *echoMsg // reused
}

func (i *typedInitiator) RoundTrip(msg, reply []byte) error {
	i.out.Seq, i.out.Data = binary.LittleEndian.Uint64(msg), msg
	if _, err := i.ping.Send(i.ctx, i.out); err != nil {
		return err
	}
	if _, err := i.pong.Recv(i.ctx, i.in); err != nil {
		return err
	}
	if len(i.in.Data) != len(reply) || i.in.Seq != i.out.Seq {
		return lengthError(msg, len(i.in.Data))
	}
	copy(reply, i.in.Data)
	return nil
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (i *typedInitiator) Release() error { return i.pong.Close() }

// Serve attaches to ping and creates pong.
func (Typed) Serve(ctx context.Context, link peers.Link, cfg peers.Config, ready func() error) (peers.Echoer, error) {
	ping, pong, err := typedRings.serve(ctx, link, ready)
	if err != nil {
		return nil, err
	}
	return &typedEchoer{stopper: newStopper(ctx), size: cfg.Size, ping: ping, pong: pong, m: new(echoMsg)}, nil
}

type typedEchoer struct {
	stopper
	size int
	ping *typed.Consumer[echoMsg]
	pong *typed.Producer[echoMsg]
	m    *echoMsg // reused
}

func (e *typedEchoer) Echo(seq uint64) error {
	if _, err := e.ping.Recv(e.ctx, e.m); err != nil {
		return err
	}
	if e.m.Seq != seq {
		return &peers.PayloadError{Seq: seq, Offset: 0, Len: len(e.m.Data), Want: seq, Got: e.m.Seq}
	}
	if err := peers.CheckSeq(e.m.Data, seq, e.size); err != nil {
		return err
	}
	_, err := e.pong.Send(e.ctx, e.m)
	return err
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (e *typedEchoer) Release() error {
	e.ping.Close()
	return e.pong.Close()
}
