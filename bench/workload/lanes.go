package workload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe" // and for go:linkname

	"golang.org/x/sys/unix"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/sched"
	"github.com/myelon-go/myelon/ring"
)

// Lanes: what carries the events of a run.
const (
	// LaneRing is Layer 0: a byte ring, events written in place in their
	// slots, one cursor store per publish.
	LaneRing = "ring"
	// LaneFramed is Layer 1: a frame ring; the producer stamps each event
	// in its own buffer and sends it (a copy into the frame), consumers
	// read it borrowed in the slot.
	LaneFramed = "framed"
	// LaneReference is the throughput reference: a minimal ring between
	// the same processes, with the ring lane's slots and footprint, one
	// atomic store per publish and one per consumer batch, nothing else.
	// It lives in /dev/shm whatever Config.Backend says (a file on a disk
	// would only make the ring lane look better against it).
	LaneReference = "reference"
)

// errEnd ends a consumer's loop: every event has been read.
var errEnd = errors.New("workload: end of stream")

// publisher is the producer's end of a lane.
type publisher interface {
	// publish writes k events, calling fill for each with its sequence
	// number and its bytes, and makes them visible together where the
	// lane can (one cursor store).
	publish(ctx context.Context, k int, fill func(seq int64, event []byte)) error
	// waitConsumers waits until n consumers have joined.
	waitConsumers(ctx context.Context, n int) error
	// link is what a consumer process needs to join: a name or nothing,
	// and files it inherits.
	link() (string, []*os.File)
	close() error
}

// subscriber is a consumer's end of a lane.
type subscriber interface {
	// next hands the next batch of events to read, in order, and releases
	// them; it returns errEnd once every event has been read.
	next(ctx context.Context, read func(seq int64, event []byte) error) error
	close() error
}

// newPublisher creates the lane of cfg for cfg.Consumers consumers.
func newPublisher(cfg Config) (publisher, error) {
	backend, dir, ws, err := cfg.ringOptions()
	if err != nil {
		return nil, err
	}
	name := ringName("bcast", dir)
	if cfg.Workload == Typed {
		return newTypedPublisher(cfg, name, backend, ws)
	}
	switch cfg.Lane {
	case LaneRing:
		p, err := ring.CreateBytes(name, ring.Config{Backend: backend, Capacity: cfg.Capacity, SlotSize: cfg.Size, MaxConsumers: cfg.Consumers + 1, Wait: ws, Populate: true})
		if err != nil {
			return nil, err
		}
		return &ringPublisher{p: p, name: name, size: cfg.Size}, nil
	case LaneFramed:
		p, err := frame.Create(name, frame.Config{Backend: backend, Capacity: cfg.Capacity, MaxConsumers: cfg.Consumers + 1, Wait: ws, Populate: true,
			PayloadCapacity: cfg.Size})
		if err != nil {
			return nil, err
		}
		return &framedPublisher{p: p, name: name, buf: make([]byte, cfg.Size)}, nil
	case LaneReference:
		return newRefPublisher(cfg)
	}
	return nil, fmt.Errorf("workload: unknown lane %q (want ring, framed or reference)", cfg.Lane)
}

// newSubscriber joins the lane of cfg as consumer id, through what the
// producer's link gave: addr, and files (inherited from descriptor 3 on).
func newSubscriber(ctx context.Context, cfg Config, addr, id string, files int) (subscriber, error) {
	backend, _, ws, err := cfg.ringOptions()
	if err != nil {
		return nil, err
	}
	if cfg.Workload == Typed {
		return newTypedSubscriber(ctx, cfg, addr, id, backend, ws)
	}
	switch cfg.Lane {
	case LaneRing:
		c, err := ring.AttachBytes(ctx, addr, ring.ConsumerConfig{Backend: backend, ID: id, Wait: ws, Start: ring.StartAt(0)})
		if err != nil {
			return nil, err
		}
		return &ringSubscriber{c: c, size: cfg.Size}, nil
	case LaneFramed:
		c, err := frame.Attach(ctx, addr, frame.ConsumerConfig{Backend: backend, ID: id, Wait: ws, Start: ring.StartAt(0), PayloadCapacity: cfg.Size})
		if err != nil {
			return nil, err
		}
		return &framedSubscriber{c: c, size: cfg.Size}, nil
	case LaneReference:
		if files != 1 {
			return nil, fmt.Errorf("workload: reference consumer inherited %d files, want 1", files)
		}
		return newRefSubscriber(cfg, id, os.NewFile(3, addr))
	}
	return nil, fmt.Errorf("workload: unknown lane %q", cfg.Lane)
}

// ringPublisher writes events in place in the byte ring's slots.
type ringPublisher struct {
	p    *ring.BytesProducer
	name string
	size int
}

func (r *ringPublisher) publish(ctx context.Context, k int, fill func(int64, []byte)) error {
	lo, err := r.p.Claim(ctx, k)
	if err != nil {
		return err
	}
	for seq := lo; seq < lo+int64(k); seq++ {
		fill(seq, r.p.Slot(seq)[:r.size])
	}
	r.p.Commit() // one cursor store for the batch
	return nil
}

func (r *ringPublisher) waitConsumers(ctx context.Context, n int) error {
	return r.p.WaitForConsumers(ctx, n, "")
}
func (r *ringPublisher) link() (string, []*os.File) { return r.name, nil }
func (r *ringPublisher) close() error               { return r.p.Close() }

type ringSubscriber struct {
	c    *ring.BytesConsumer
	size int
}

func (r *ringSubscriber) next(ctx context.Context, read func(int64, []byte) error) error {
	lo, hi, err := r.c.Wait(ctx)
	if err != nil { // errors.Is only on an error: it is a call per batch
		if errors.Is(err, ring.ErrEndOfStream) {
			return errEnd
		}
		return err
	}
	for seq := lo; seq <= hi; seq++ {
		if err := read(seq, r.c.Slot(seq)[:r.size]); err != nil {
			return err
		}
	}
	r.c.ReleaseThrough(hi)
	return nil
}

func (r *ringSubscriber) close() error { return r.c.Close() }

// framedPublisher stamps each event in its buffer and sends it as one
// frame message (Layer 1 has no in-place claim: Send copies).
type framedPublisher struct {
	p    *frame.Producer
	name string
	buf  []byte
	seq  int64
}

func (f *framedPublisher) publish(ctx context.Context, k int, fill func(int64, []byte)) error {
	for range k {
		fill(f.seq, f.buf)
		if _, err := f.p.Send(ctx, 0, f.buf); err != nil {
			return err
		}
		f.seq++
	}
	return nil
}

func (f *framedPublisher) waitConsumers(ctx context.Context, n int) error {
	return f.p.WaitForConsumers(ctx, n, "")
}
func (f *framedPublisher) link() (string, []*os.File) { return f.name, nil }
func (f *framedPublisher) close() error               { return f.p.Close() }

type framedSubscriber struct {
	c    *frame.Consumer
	size int
	seq  int64
}

func (f *framedSubscriber) next(ctx context.Context, read func(int64, []byte) error) error {
	_, err := f.c.Process(ctx, 0, func(_ frame.Meta, p []byte) error {
		if len(p) != f.size {
			return &peers.PayloadError{Seq: uint64(f.seq), Offset: -1, Len: len(p), Want: uint64(f.size), Got: uint64(len(p))}
		}
		err := read(f.seq, p)
		f.seq++
		return err
	})
	return endOf(err)
}

func (f *framedSubscriber) close() error { return f.c.Close() }

// The reference lane shares one file, made in /dev/shm and unlinked at
// once (the consumers inherit its descriptor):
//
//	offset 0                  published: events published (one store per publish)
//	offset 128 * (1 + i)      consumer i: events read (one store per batch read),
//	                          and at +8 its joined flag
//	first page after them     the slots: Capacity slots of Size bytes (8-aligned),
//	                          as the ring lane lays them out
//
// Each word has its own 128-byte line. The producer gates on the slowest
// consumer, re-reading the consumer words only when the gate it last saw
// does not let the claim through.
const (
	refLine      = 128
	refShmDir    = "/dev/shm"
	refConsumer0 = refLine
)

type refLayout struct {
	slot, capacity, slots, total int
}

func refGeometry(cfg Config) refLayout {
	page := os.Getpagesize()
	up := func(n int) int { return (n + page - 1) &^ (page - 1) }
	l := refLayout{slot: (cfg.Size + 7) &^ 7, capacity: cfg.Capacity}
	l.slots = up(refConsumer0 + cfg.Consumers*refLine)
	l.total = l.slots + up(l.slot*l.capacity)
	return l
}

// refView is a process's view of the reference file.
type refView struct {
	mem       []byte
	l         refLayout
	published *atomic.Int64
	consumed  []*atomic.Int64
	joined    []*atomic.Int64
	slots     refSlots
}

// refSlots finds an event's slot: a mask, a multiply and an add, as the
// ring's Slot, with no bounds check on the way (the ring has none either).
type refSlots struct {
	base unsafe.Pointer
	mask int64
	slot uintptr
	size int
}

// at is seq's slot, Size bytes long.
func (s *refSlots) at(seq int64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(s.base, uintptr(seq&s.mask)*s.slot)), s.size)
}

func mapRef(f *os.File, cfg Config) (*refView, error) {
	l := refGeometry(cfg)
	mem, err := unix.Mmap(int(f.Fd()), 0, l.total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("workload: reference: mmap: %w", err)
	}
	word := func(off int) *atomic.Int64 { return (*atomic.Int64)(unsafe.Pointer(&mem[off])) }
	v := &refView{mem: mem, l: l, published: word(0),
		slots: refSlots{base: unsafe.Pointer(&mem[l.slots]), mask: int64(l.capacity - 1), slot: uintptr(l.slot), size: cfg.Size}}
	for i := range cfg.Consumers {
		v.consumed = append(v.consumed, word(refConsumer0+i*refLine))
		v.joined = append(v.joined, word(refConsumer0+i*refLine+8))
	}
	return v, nil
}

func (v *refView) unmap() error { return unix.Munmap(v.mem) }

//go:linkname procyield runtime.procyield
func procyield(cycles uint32)

// refWait is the reference's wait between polls: one PAUSE when
// busy-spinning, exactly as the ring's BusySpin (polling without it takes
// execution resources from a sibling hardware thread); otherwise a yield
// of the core every 64 polls, at least as prompt as the ring's Yield and
// Block.
// yield gives way to other goroutines, then other threads and processes,
// as the ring's Yield strategy does.
func yield() {
	runtime.Gosched()
	sched.Yield()
}

type refWait struct {
	spin bool
	n    int
	// parent, when set, is the producer's pid: a consumer whose parent has
	// gone (it was killed) stops instead of spinning on forever, as a ring
	// consumer does when its producer dies.
	parent int
}

// errOrphaned: the producer process is gone.
var errOrphaned = errors.New("workload: the producer process is gone")

func (w *refWait) pause(ctx context.Context) error {
	w.n++
	if w.n%4096 == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if w.parent != 0 && os.Getppid() != w.parent {
			return errOrphaned
		}
	}
	if !w.spin && w.n%64 == 0 {
		yield()
	}
	procyield(1)
	return nil
}

type refPublisher struct {
	v    *refView
	f    *os.File
	pub  int64 // events published
	gate int64 // the slowest consumer's count, as last read
	wait refWait
}

func newRefPublisher(cfg Config) (*refPublisher, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s/myelon-bench-ref-%d-%s", refShmDir, os.Getpid(), hex.EncodeToString(rnd[:]))
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	_ = unix.Unlink(name) // the name was ours (O_EXCL); the descriptor keeps the file
	if err := unix.Ftruncate(fd, int64(refGeometry(cfg).total)); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "ftruncate", Path: name, Err: err}
	}
	v, err := mapRef(f, cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	for off := 0; off < len(v.mem); off += os.Getpagesize() {
		v.mem[off] = 0 // pre-fault, as the ring's Populate
	}
	return &refPublisher{v: v, f: f, wait: refWait{spin: cfg.Wait == "spin"}}, nil
}

func (r *refPublisher) publish(ctx context.Context, k int, fill func(int64, []byte)) error {
	limit := r.pub + int64(k) - int64(r.v.l.capacity) // every consumer must have read this many
	for r.gate < limit {
		r.gate = r.v.consumed[0].Load()
		for _, c := range r.v.consumed[1:] {
			r.gate = min(r.gate, c.Load())
		}
		if r.gate >= limit {
			break
		}
		if err := r.wait.pause(ctx); err != nil {
			return err
		}
	}
	slots, hi := &r.v.slots, r.pub+int64(k)
	for seq := r.pub; seq < hi; seq++ {
		fill(seq, slots.at(seq))
	}
	r.pub = hi
	r.v.published.Store(hi) // one store for the batch
	return nil
}

func (r *refPublisher) waitConsumers(ctx context.Context, n int) error {
	for {
		joined := 0
		for _, j := range r.v.joined {
			joined += int(j.Load())
		}
		if joined >= n {
			return nil
		}
		if err := r.wait.pause(ctx); err != nil {
			return err
		}
		yield()
	}
}

func (r *refPublisher) link() (string, []*os.File) { return r.f.Name(), []*os.File{r.f} }

func (r *refPublisher) close() error {
	err := r.v.unmap()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type refSubscriber struct {
	v     *refView
	me    int
	pos   int64 // the next event to read
	total int64
	wait  refWait
}

func newRefSubscriber(cfg Config, id string, f *os.File) (*refSubscriber, error) {
	defer f.Close()
	var me int
	if _, err := fmt.Sscanf(id, "c%d", &me); err != nil || me < 0 || me >= cfg.Consumers {
		return nil, fmt.Errorf("workload: reference consumer id %q", id)
	}
	v, err := mapRef(f, cfg)
	if err != nil {
		return nil, err
	}
	v.joined[me].Store(1)
	return &refSubscriber{v: v, me: me, total: int64(cfg.Warmup + cfg.Count), wait: refWait{spin: cfg.Wait == "spin", parent: os.Getppid()}}, nil
}

func (r *refSubscriber) next(ctx context.Context, read func(int64, []byte) error) error {
	if r.pos == r.total {
		return errEnd
	}
	var avail int64
	for {
		if avail = r.v.published.Load(); avail > r.pos {
			break
		}
		if err := r.wait.pause(ctx); err != nil {
			return err
		}
	}
	slots := &r.v.slots
	for seq := r.pos; seq < avail; seq++ {
		if err := read(seq, slots.at(seq)); err != nil {
			r.pos = seq
			return err
		}
	}
	r.pos = avail
	r.v.consumed[r.me].Store(avail) // one store for the batch
	return nil
}

func (r *refSubscriber) close() error { return r.v.unmap() }
