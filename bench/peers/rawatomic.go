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

// The raw atomic reference shares one file between the two processes:
//
//	offset 0                     word A: last sequence+1 the initiator sent
//	offset 128                   word B: last sequence+1 the echo returned
//	offset 256                   request area, Size bytes (rounded to 128)
//	offset 256 + round128(Size)  reply area, Size bytes
//
// Each word has its own 128-byte line (two cache lines, for adjacent-line
// prefetch). Pairing: the initiator's store of A publishes the request area
// to the echo's load of A; the echo's store of B publishes the reply area to
// the initiator's load of B. Both sides touch the words only through
// sync/atomic, whose operations are sequentially consistent.
const (
	rawLine    = 128
	rawOffA    = 0
	rawOffB    = rawLine
	rawOffData = 2 * rawLine
)

// rawShmDir is where the shared file is made; it is unlinked at once, so
// nothing is left behind even after kill -9.
const rawShmDir = "/dev/shm"

func rawLayout(size int) (reqOff, repOff, total int) {
	area := (size + rawLine - 1) &^ (rawLine - 1)
	page := os.Getpagesize()
	total = (rawOffData + 2*area + page - 1) &^ (page - 1)
	return rawOffData, rawOffData + area, total
}

// rawView is the process-local view of the shared file.
type rawView struct {
	a, b     *atomic.Uint64
	req, rep []byte
}

// viewRaw checks the mapping's length before making views into it.
func viewRaw(mem []byte, size int) (rawView, error) {
	reqOff, repOff, total := rawLayout(size)
	if len(mem) < total {
		return rawView{}, &ProtocolError{What: "shared file length", Want: uint64(total), Got: uint64(len(mem))}
	}
	return rawView{
		// The mapping is page-aligned, so both words are 8-byte aligned.
		a:   (*atomic.Uint64)(unsafe.Pointer(&mem[rawOffA])),
		b:   (*atomic.Uint64)(unsafe.Pointer(&mem[rawOffB])),
		req: mem[reqOff : reqOff+size : reqOff+size],
		rep: mem[repOff : repOff+size : repOff+size],
	}, nil
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
	_, _, total := rawLayout(cfg.Size)
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		f.Close()
		return nil, Link{}, &os.PathError{Op: "ftruncate", Path: name, Err: err}
	}
	mem, err := unix.Mmap(fd, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, Link{}, &os.PathError{Op: "mmap", Path: name, Err: err}
	}
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
	copy(r.v.req, msg)
	r.n++
	r.v.a.Store(r.n) // A: hands the request area to the echo
	if err := spinUntil(r.ctx, &r.closed, r.v.b, "word B", r.n, r.n-1); err != nil {
		return err
	}
	copy(reply, r.v.rep) // B seen: the reply area is the echo's answer to r.n
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
	_, _, total := rawLayout(cfg.Size)
	if st.Size < int64(total) {
		return nil, &ProtocolError{What: "shared file size", Want: uint64(total), Got: uint64(st.Size)}
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", link.Addr, err)
	}
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
	// A seen: the request area holds message seq.
	if err := CheckSeq(e.v.req, seq, len(e.v.req)); err != nil {
		return err
	}
	copy(e.v.rep, e.v.req)
	e.v.b.Store(seq + 1) // B: hands the reply area back to the initiator
	return nil
}

func (e *rawEcho) Close() error {
	e.closed.Store(true)
	return nil
}
