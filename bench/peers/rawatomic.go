package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw atomic reference shares one file between the two processes. It
// has the memory footprint and access pattern of the myelon-ring lane
// (two rings of Depth(SlotSize(Size)) slots each, slots page-aligned and
// laid end to end) without the ring's protocol:
//
//	offset 0            word A: last sequence+1 the initiator sent
//	offset 128          word B: last sequence+1 the echo returned
//	offset page         request slots: Depth slots of SlotSize bytes
//	next page boundary  reply slots: Depth slots of SlotSize bytes
//
// Message n (counting from 0) goes into request slot n % Depth, written
// only by the initiator, and comes back in reply slot n % Depth, written
// only by the echo process, as in the ring lane's ping and pong rings.
// Each word has its own 128-byte line (two cache lines, for adjacent-line
// prefetch). Pairing: the initiator's store of A publishes the request slot
// to the echo's load of A; the echo's store of B publishes the reply slot to
// the initiator's load of B. Both sides touch the words only through
// sync/atomic, whose operations are sequentially consistent.
//
// So each round trip moves the same bytes through the same cache lines as
// the ring lane, with one sequence word per direction in place of the
// ring's cursor, consumer position and wait protocol: the reference is a
// lower bound of the lane at every size, not only where the message fits
// in a line or two.
const (
	rawLine = 128
	rawOffA = 0
	rawOffB = rawLine
)

// rawShmDir is where the shared file is made; it is unlinked at once, so
// nothing is left behind even after kill -9.
const rawShmDir = "/dev/shm"

// SlotSize is the slot the ping-pong lanes give a message of size bytes:
// the size rounded up to 8, as the ring rounds its slots.
func SlotSize(size int) int { return (size + 7) &^ 7 }

// Depth is the number of slots of the ping-pong lanes (and of the
// reference) for slots of slot bytes: 64, fewer for slots over 1 MiB, so
// that one ring stays within 64 MiB. One message is in flight, so depth
// changes no semantics; it only spreads the same traffic over more cache
// lines (4096 slots of 64 B measured about 25% slower than 64).
func Depth(slot int) int {
	d := 64
	for d > 2 && d*slot > 64<<20 {
		d /= 2
	}
	return d
}

// rawGeometry is the reference's layout for messages of size bytes.
type rawGeometry struct {
	slot, depth    int
	reqOff, repOff int
	total          int
}

func rawLayout(size int) rawGeometry {
	page := os.Getpagesize()
	up := func(n int) int { return (n + page - 1) &^ (page - 1) }
	g := rawGeometry{slot: SlotSize(size), depth: Depth(SlotSize(size))}
	area := up(g.slot * g.depth)
	g.reqOff = up(2 * rawLine)
	g.repOff = g.reqOff + area
	g.total = g.repOff + area
	return g
}

// rawView is the process-local view of the shared file.
type rawView struct {
	a, b     *atomic.Uint64
	req, rep []byte // all the slots of each direction
	slot     int
	depth    uint64
	size     int
}

// viewRaw checks the mapping's length before making views into it.
func viewRaw(mem []byte, size int) (rawView, error) {
	g := rawLayout(size)
	if len(mem) < g.total {
		return rawView{}, &ProtocolError{What: "shared file length", Want: uint64(g.total), Got: uint64(len(mem))}
	}
	return rawView{
		// The mapping is page-aligned, so both words are 8-byte aligned.
		a:     (*atomic.Uint64)(unsafe.Pointer(&mem[rawOffA])),
		b:     (*atomic.Uint64)(unsafe.Pointer(&mem[rawOffB])),
		req:   mem[g.reqOff : g.reqOff+g.slot*g.depth],
		rep:   mem[g.repOff : g.repOff+g.slot*g.depth],
		slot:  g.slot,
		depth: uint64(g.depth),
		size:  size,
	}, nil
}

// slotOf is message n's slot in area (req or rep), size bytes long.
func (v *rawView) slotOf(area []byte, n uint64) []byte {
	off := int(n%v.depth) * v.slot
	return area[off : off+v.size : off+v.size]
}

// prefault writes one byte per page of mem, as the ring's Populate does,
// so that no page fault lands in a measured round trip.
func prefault(mem []byte) {
	page := os.Getpagesize()
	for off := 0; off < len(mem); off += page {
		mem[off] = 0
	}
}

type rawAtomic struct{}

func (rawAtomic) Name() string { return RawAtomic }

// Prepare creates, sizes, maps and unlinks the shared file; the echo
// process inherits the descriptor.
func (rawAtomic) Prepare(_ string, cfg Config) (Opener, Link, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, Link{}, err
	}
	name := fmt.Sprintf("%s/myelon-bench-raw-%d-%s", rawShmDir, os.Getpid(), hex.EncodeToString(rnd[:]))
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, Link{}, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	_ = unix.Unlink(name) // the name was ours (O_EXCL); the descriptor keeps the file
	total := rawLayout(cfg.Size).total
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		f.Close()
		return nil, Link{}, &os.PathError{Op: "ftruncate", Path: name, Err: err}
	}
	mem, err := unix.Mmap(fd, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, Link{}, &os.PathError{Op: "mmap", Path: name, Err: err}
	}
	prefault(mem)
	v, err := viewRaw(mem, cfg.Size)
	if err != nil {
		_ = unix.Munmap(mem)
		f.Close()
		return nil, Link{}, err
	}
	return &rawOpener{mem: mem, v: v}, Link{Addr: name, Files: []*os.File{f}}, nil
}

type rawOpener struct {
	mem []byte
	v   rawView
}

func (o *rawOpener) Open(ctx context.Context) (Initiator, error) {
	return &rawInitiator{ctx: ctx, v: o.v}, nil
}

// Close unmaps the file; Run calls it only after the Initiator is done.
func (o *rawOpener) Close() error { return unix.Munmap(o.mem) }

type rawInitiator struct {
	ctx    context.Context
	v      rawView
	n      uint64 // sequence+1 of the last message sent
	closed atomic.Bool
}

func (r *rawInitiator) RoundTrip(msg, reply []byte) error {
	copy(r.v.slotOf(r.v.req, r.n), msg)
	r.n++
	r.v.a.Store(r.n) // A: hands the request area to the echo
	if err := spinUntil(r.ctx, &r.closed, r.v.b, "word B", r.n, r.n-1); err != nil {
		return err
	}
	copy(reply, r.v.slotOf(r.v.rep, r.n-1)) // B seen: the reply slot holds the echo's answer
	return nil
}

// Close interrupts a waiting RoundTrip; the mapping stays until the
// Opener is closed, so a concurrent RoundTrip never touches unmapped memory.
func (r *rawInitiator) Close() error {
	r.closed.Store(true)
	return nil
}

// Serve maps the inherited descriptor. The mapping lives until the echo
// process exits.
func (rawAtomic) Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	if len(link.Files) != 1 {
		return nil, &ProtocolError{What: "inherited files", Want: 1, Got: uint64(len(link.Files))}
	}
	f := link.Files[0]
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	total := rawLayout(cfg.Size).total
	if st.Size < int64(total) {
		return nil, &ProtocolError{What: "shared file size", Want: uint64(total), Got: uint64(st.Size)}
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", link.Addr, err)
	}
	prefault(mem) // before ready: the initiator has written nothing yet
	v, err := viewRaw(mem, cfg.Size)
	if err != nil {
		return nil, err
	}
	if err := ready(); err != nil {
		return nil, err
	}
	return &rawEcho{ctx: ctx, v: v}, nil
}

type rawEcho struct {
	ctx    context.Context
	v      rawView
	closed atomic.Bool
}

func (e *rawEcho) Echo(seq uint64) error {
	if err := spinUntil(e.ctx, &e.closed, e.v.a, "word A", seq+1, seq); err != nil {
		return err
	}
	// A seen: the request slot holds message seq.
	req := e.v.slotOf(e.v.req, seq)
	if err := CheckSeq(req, seq, e.v.size); err != nil {
		return err
	}
	copy(e.v.slotOf(e.v.rep, seq), req)
	e.v.b.Store(seq + 1) // B: hands the reply slot back to the initiator
	return nil
}

func (e *rawEcho) Close() error {
	e.closed.Store(true)
	return nil
}
