package layers

// The framed peers: Layers 1, 2 and 3 on the ping-pong contract. All three
// share the setup below (layerRings): two frame rings (ping created by the
// initiator, pong by the echo process; typed rings, which record their
// codec's schema, for Layers 2 and 3), depth 64, one message in flight,
// frames sized to the encoded message (whole cache lines) up to 64 KiB
// slots (larger messages are fragmented, as in the seed's 128 KB case),
// wait strategy and backend from Configure.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// Names the framed peers register under.
const (
	FramedName   = "myelon-framed"
	TypedName    = "myelon-typed"
	ZeroCopyName = "myelon-zerocopy"
)

func init() {
	for _, p := range []peers.Peer{Framed{}, Typed{}, ZeroCopy{}} {
		if err := peers.Register(p); err != nil {
			panic(err) // our own name clashing is a programming error
		}
	}
}

// Frame geometry of the framed peers.
const (
	// frameDepth is the ring depth in frames (see peers.Depth).
	frameDepth = 64
	// maxFrameSlot is the largest slot: a frame of 64 KiB - 32 payload
	// bytes, like the seed's 64 KiB frames.
	maxFrameSlot = 64 << 10
)

// frameCapacityFor is the payload capacity of a frame for messages of n
// encoded bytes: the slot (header and payload) rounded up to whole 64-byte
// cache lines, so every slot starts on a line and a message touches no
// more lines than it must; at most a 64 KiB slot.
func frameCapacityFor(n int) int {
	slot := min((frame.HeaderSize+n+63)&^63, maxFrameSlot)
	return slot - frame.HeaderSize
}

// attachTimeout bounds the wait to attach to a ring the other side
// created before this side attaches (the old default ready timeout), so a
// missing ring fails a run in seconds rather than at its deadline.
const attachTimeout = 5 * time.Second

// frameLink is what the echo process needs to reach the rings.
type frameLink struct {
	Ping, Pong      string
	Wait, Backend   string
	PayloadCapacity int
	MaxMessageSize  int
	Aligned         bool
}

// frameSetup holds the parsed options of a link.
type frameSetup struct {
	link    frameLink
	ws      ring.WaitStrategy
	backend ring.Backend
}

// newFrameLink makes the link for messages of encoded size n.
func newFrameLink(dir string, n int, aligned bool) (frameSetup, error) {
	l := frameLink{Ping: ring.PortableName("fping"), Pong: ring.PortableName("fpong"), Wait: options.wait, Backend: options.backend,
		PayloadCapacity: frameCapacityFor(n), MaxMessageSize: max(n, frame.DefaultMaxMessageSize), Aligned: aligned}
	if l.Backend == "file" {
		l.Ping, l.Pong = dir+"/ping", dir+"/pong"
	}
	return parseFrameLink(l)
}

func parseFrameLink(l frameLink) (frameSetup, error) {
	ws, err := ring.ParseWaitStrategy(l.Wait)
	if err != nil {
		return frameSetup{}, err
	}
	b, err := shmBackend(l.Backend)
	if err != nil {
		return frameSetup{}, err
	}
	return frameSetup{link: l, ws: ws, backend: b}, nil
}

func decodeFrameLink(link peers.Link) (frameSetup, error) {
	var l frameLink
	if err := json.Unmarshal([]byte(link.Addr), &l); err != nil {
		return frameSetup{}, fmt.Errorf("layers: frame link %q: %w", link.Addr, err)
	}
	return parseFrameLink(l)
}

func (s *frameSetup) addr() peers.Link {
	b, _ := json.Marshal(s.link)
	return peers.Link{Addr: string(b)}
}

// frameConfig is the frame.Config of either ring of the Framed peer.
func (s *frameSetup) frameConfig() frame.Config {
	return frame.Config{Backend: s.backend, Capacity: frameDepth, Wait: s.ws, Populate: true,
		PayloadCapacity: s.link.PayloadCapacity, MaxMessageSize: s.link.MaxMessageSize, Aligned: s.link.Aligned}
}

// frameConsumerConfig attaches the Framed peer to either ring under id.
func (s *frameSetup) frameConsumerConfig(id string) frame.ConsumerConfig {
	return frame.ConsumerConfig{Backend: s.backend, ID: id, Wait: s.ws, PayloadCapacity: s.link.PayloadCapacity, Aligned: s.link.Aligned}
}

// typedConfig is frameConfig for the typed and zero-copy peers, whose
// rings record their codec's schema.
func (s *frameSetup) typedConfig() typed.Config {
	return typed.Config{Backend: s.backend, Capacity: frameDepth, Wait: s.ws, Populate: true,
		PayloadCapacity: s.link.PayloadCapacity, MaxMessageSize: s.link.MaxMessageSize, Aligned: s.link.Aligned}
}

// typedConsumerConfig is frameConsumerConfig for the typed and zero-copy
// peers.
func (s *frameSetup) typedConsumerConfig(id string) typed.ConsumerConfig {
	return typed.ConsumerConfig{Backend: s.backend, ID: id, Wait: s.ws, PayloadCapacity: s.link.PayloadCapacity, Aligned: s.link.Aligned}
}

// sender is the producer end of any layer.
type sender interface {
	WaitForConsumers(ctx context.Context, n int, prefix string) error
	Close() error
}

// layerRings is how one framed peer makes the ends of its link: create
// the ring it sends on (a producer P), attach to the one it receives from
// (a consumer C). Its methods are the setup all three framed peers share.
type layerRings[P sender, C io.Closer] struct {
	create func(s *frameSetup, name string) (P, error)
	attach func(ctx context.Context, s *frameSetup, name, id string) (C, error)
}

// prepare makes the link for messages of encoded size n and creates the
// ping ring.
func (r layerRings[P, C]) prepare(dir string, n int, aligned bool) (frameSetup, P, error) {
	s, err := newFrameLink(dir, n, aligned)
	if err != nil {
		var none P
		return s, none, err
	}
	ping, err := r.create(&s, s.link.Ping)
	return s, ping, err
}

// open attaches the initiator to the echo's pong ring and waits for the
// echo to attach to ping.
func (r layerRings[P, C]) open(ctx context.Context, s *frameSetup, ping P) (C, error) {
	var none C
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	pong, err := r.attach(actx, s, s.link.Pong, "initiator")
	if err != nil {
		return none, err
	}
	if err := ping.WaitForConsumers(ctx, 1, ""); err != nil {
		pong.Close()
		return none, err
	}
	return pong, nil
}

// serve attaches the echo process to ping, creates pong and calls ready.
func (r layerRings[P, C]) serve(ctx context.Context, link peers.Link, ready func() error) (C, P, error) {
	var (
		noC C
		noP P
	)
	s, err := decodeFrameLink(link)
	if err != nil {
		return noC, noP, err
	}
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	ping, err := r.attach(actx, &s, s.link.Ping, "echo")
	if err != nil {
		return noC, noP, err
	}
	pong, err := r.create(&s, s.link.Pong)
	if err != nil {
		ping.Close()
		return noC, noP, err
	}
	if err := ready(); err != nil {
		ping.Close()
		pong.Close()
		return noC, noP, err
	}
	return ping, pong, nil
}

// Framed is the Layer 1 ping-pong: the initiator sends each message as
// one frame message (fragmented above 64 KiB); the echo process reads it
// borrowed (in the slot, or in the reassembly buffer), checks it and sends
// the same bytes back from there; the initiator receives the reply into
// its buffer (Recv: one copy).
type Framed struct{}

// Name implements peers.Peer.
func (Framed) Name() string { return FramedName }

// framedRings are the Framed peer's rings: plain frame rings.
var framedRings = layerRings[*frame.Producer, *frame.Consumer]{
	create: func(s *frameSetup, name string) (*frame.Producer, error) { return frame.Create(name, s.frameConfig()) },
	attach: func(ctx context.Context, s *frameSetup, name, id string) (*frame.Consumer, error) {
		return frame.Attach(ctx, name, s.frameConsumerConfig(id))
	},
}

// Prepare creates the ping ring.
func (Framed) Prepare(dir string, cfg peers.Config) (peers.Opener, peers.Link, error) {
	s, ping, err := framedRings.prepare(dir, cfg.Size, false)
	if err != nil {
		return nil, peers.Link{}, err
	}
	return &framedOpener{s: s, ping: ping}, s.addr(), nil
}

type framedOpener struct {
	s    frameSetup
	ping *frame.Producer
}

func (o *framedOpener) Open(ctx context.Context) (peers.Initiator, error) {
	pong, err := framedRings.open(ctx, &o.s, o.ping)
	if err != nil {
		return nil, err
	}
	return &framedInitiator{stopper: newStopper(ctx), ping: o.ping, pong: pong}, nil
}

func (o *framedOpener) Close() error { return o.ping.Close() }

type framedInitiator struct {
	stopper
	ping *frame.Producer
	pong *frame.Consumer
}

func (i *framedInitiator) RoundTrip(msg, reply []byte) error {
	if _, err := i.ping.Send(i.ctx, 0, msg); err != nil {
		return err
	}
	n, _, err := i.pong.Recv(i.ctx, reply)
	if err == nil && n != len(reply) {
		err = lengthError(msg, n)
	}
	return err
}

// lengthError reports a reply of n bytes to msg.
func lengthError(msg []byte, n int) error {
	return &peers.PayloadError{Seq: binary.LittleEndian.Uint64(msg), Offset: -1, Len: n, Want: uint64(len(msg)), Got: uint64(n)}
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (i *framedInitiator) Release() error { return i.pong.Close() }

// Serve attaches to ping and creates pong.
func (Framed) Serve(ctx context.Context, link peers.Link, cfg peers.Config, ready func() error) (peers.Echoer, error) {
	ping, pong, err := framedRings.serve(ctx, link, ready)
	if err != nil {
		return nil, err
	}
	return &framedEchoer{stopper: newStopper(ctx), size: cfg.Size, ping: ping, pong: pong}, nil
}

type framedEchoer struct {
	stopper
	size int
	ping *frame.Consumer
	pong *frame.Producer
}

func (e *framedEchoer) Echo(seq uint64) error {
	return e.ping.Read(e.ctx, func(m frame.Meta, p []byte) error {
		if err := peers.CheckSeq(p, seq, e.size); err != nil {
			return err
		}
		// The reply goes out before Read releases the ping slot: the
		// release is off the critical path.
		_, err := e.pong.Send(e.ctx, 0, p)
		return err
	})
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (e *framedEchoer) Release() error {
	e.ping.Close()
	return e.pong.Close()
}
