package layers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/ring"
)

// Ring is the Layer 0 ping-pong: the initiator publishes each message into
// one slot of the ping ring; the echo process reads it in place, checks it,
// copies it into the pong ring and releases the ping slot; the initiator
// copies the reply out. Both sides use the wait strategy and backend set
// by Configure (busy-spin on shm by default).
type Ring struct{}

var options = struct {
	wait, backend string
	required      bool
}{wait: "spin", backend: "shm"}

// SetRequired turns the required-consumer policy of the Ring peer on or
// off for later runs: each side's producer then requires the other side's
// consumer (ring.RequiredConfig with its default timeouts), so every
// publish goes through the policy's managed claim, as an application that
// needs its consumer alive would run it.
func SetRequired(on bool) { options.required = on }

// Configure sets the wait strategy ("spin", "yield", "sleep", "block") and
// backend ("shm", "file") of later runs of the myelon peers. Call it in the
// measuring process; the echo process takes them from the link.
func Configure(wait, backend string) error {
	if _, err := ring.ParseWaitStrategy(wait); err != nil {
		return err
	}
	if _, err := shmBackend(backend); err != nil {
		return err
	}
	options.wait, options.backend = wait, backend
	return nil
}

// shmBackend maps a backend name ("shm" or "", "file") to the ring
// backend. Heap is refused: it cannot cross processes.
func shmBackend(name string) (ring.Backend, error) {
	b, err := ring.ParseBackend(name)
	if err != nil || b == ring.Heap {
		return 0, fmt.Errorf("layers: backend %q: want shm or file", name)
	}
	return b, nil
}

// RingName is the name the Ring peer registers under.
const RingName = "myelon-ring"

func init() {
	if err := peers.Register(Ring{}); err != nil {
		panic(err) // our own name clashing is a programming error
	}
}

// Name implements peers.Peer.
func (Ring) Name() string { return RingName }

type ringLink struct {
	Ping, Pong string
	Wait       string
	Backend    string
	SlotSize   int
	Capacity   int
	Required   bool
}

// require puts p under the required-consumer policy for consumer id, when
// the link asks for it.
func (l *ringLink) require(p *ring.BytesProducer, id string) error {
	if !l.Required {
		return nil
	}
	return p.Require(ring.RequiredConfig{IDs: []string{id}})
}

// Prepare creates the ping ring; the echo process creates pong. With the
// file backend both live as files in dir.
func (Ring) Prepare(dir string, cfg peers.Config) (peers.Opener, peers.Link, error) {
	l := ringLink{Ping: ring.PortableName("bping"), Pong: ring.PortableName("bpong"), Wait: options.wait, Backend: options.backend, SlotSize: peers.SlotSize(cfg.Size), Required: options.required}
	if l.Backend == "file" {
		l.Ping, l.Pong = dir+"/ping", dir+"/pong"
	}
	l.Capacity = peers.Depth(l.SlotSize) // the reference rotates over as many slots
	ws, err := ring.ParseWaitStrategy(l.Wait)
	if err != nil {
		return nil, peers.Link{}, err
	}
	b, err := shmBackend(l.Backend)
	if err != nil {
		return nil, peers.Link{}, err
	}
	ping, err := ring.CreateBytes(l.Ping, ring.Config{Backend: b, Capacity: l.Capacity, SlotSize: l.SlotSize, Wait: ws, Populate: true})
	if err != nil {
		return nil, peers.Link{}, err
	}
	if err := l.require(ping, "echo"); err != nil {
		ping.Close()
		return nil, peers.Link{}, err
	}
	addr, _ := json.Marshal(l)
	return &ringOpener{link: l, ws: ws, backend: b, ping: ping}, peers.Link{Addr: string(addr)}, nil
}

type ringOpener struct {
	link    ringLink
	ws      ring.WaitStrategy
	backend ring.Backend
	ping    *ring.BytesProducer
}

func (o *ringOpener) Open(ctx context.Context) (peers.Initiator, error) {
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	pong, err := ring.AttachBytes(actx, o.link.Pong, ring.ConsumerConfig{Backend: o.backend, ID: "initiator", Wait: o.ws, SlotSize: o.link.SlotSize})
	if err != nil {
		return nil, err
	}
	if err := o.ping.WaitForConsumers(ctx, 1, ""); err != nil {
		pong.Close()
		return nil, err
	}
	return &ringInitiator{stopper: newStopper(ctx), ping: o.ping, pong: pong}, nil
}

func (o *ringOpener) Close() error { return o.ping.Close() }

type ringInitiator struct {
	stopper
	ping *ring.BytesProducer
	pong *ring.BytesConsumer
}

func (i *ringInitiator) RoundTrip(msg, reply []byte) error {
	seq, err := i.ping.Claim(i.ctx, 1)
	if err != nil {
		return err
	}
	copy(i.ping.Slot(seq), msg)
	i.ping.Commit()
	lo, _, err := i.pong.Wait(i.ctx)
	if err != nil {
		return err
	}
	copy(reply, i.pong.Slot(lo))
	i.pong.ReleaseThrough(lo)
	return nil
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (i *ringInitiator) Release() error { return i.pong.Close() }

// Serve attaches to ping and creates pong.
func (Ring) Serve(ctx context.Context, link peers.Link, cfg peers.Config, ready func() error) (peers.Echoer, error) {
	var l ringLink
	if err := json.Unmarshal([]byte(link.Addr), &l); err != nil {
		return nil, fmt.Errorf("layers: ring link %q: %w", link.Addr, err)
	}
	ws, err := ring.ParseWaitStrategy(l.Wait)
	if err != nil {
		return nil, err
	}
	b, err := shmBackend(l.Backend)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	ping, err := ring.AttachBytes(actx, l.Ping, ring.ConsumerConfig{Backend: b, ID: "echo", Wait: ws, SlotSize: l.SlotSize})
	if err != nil {
		return nil, err
	}
	pong, err := ring.CreateBytes(l.Pong, ring.Config{Backend: b, Capacity: l.Capacity, SlotSize: l.SlotSize, Wait: ws, Populate: true})
	if err != nil {
		ping.Close()
		return nil, err
	}
	if err := l.require(pong, "initiator"); err != nil {
		ping.Close()
		pong.Close()
		return nil, err
	}
	if err := ready(); err != nil {
		ping.Close()
		pong.Close()
		return nil, err
	}
	return &ringEchoer{stopper: newStopper(ctx), size: cfg.Size, ping: ping, pong: pong}, nil
}

type ringEchoer struct {
	stopper
	size int
	ping *ring.BytesConsumer
	pong *ring.BytesProducer
}

func (e *ringEchoer) Echo(seq uint64) error {
	lo, _, err := e.ping.Wait(e.ctx)
	if err != nil {
		return err
	}
	msg := e.ping.Slot(lo)[:e.size]
	if err := peers.CheckSeq(msg, seq, e.size); err != nil {
		return err
	}
	out, err := e.pong.Claim(e.ctx, 1)
	if err != nil {
		return err
	}
	copy(e.pong.Slot(out), msg)
	e.pong.Commit()
	e.ping.ReleaseThrough(lo) // after the reply: off its critical path
	return nil
}

// Release closes the rings, once no RoundTrip or Echo runs (peers.Releaser).
func (e *ringEchoer) Release() error {
	e.ping.Close()
	return e.pong.Close()
}
