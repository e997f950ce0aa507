//go:build linux

package ring

// A full file system, with real processes: a file-backed ring larger than
// the free space of its file system is ErrNoSpace from Create, leaves
// nothing behind, and a ring that fits has all its storage from Create on:
// a producer fills every slot after the file system has been filled up to
// the last byte, and no process gets a SIGBUS.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
)

const (
	noSpaceFS       = 8 << 20 // the tiny tmpfs
	noSpaceSlot     = 4096
	noSpaceCapacity = 512 // 2 MiB of slots: fits
)

type noSpaceArgs struct {
	Backend Backend
	Dir     string // File: the tmpfs directory. Shm: "" (the child mounts one on /dev/shm).
}

// noSpaceStep is what the child saw at one Create that must fail.
type noSpaceStep struct {
	What    string
	Err     string
	NoSpace bool     // errors.Is(err, ErrNoSpace)
	ENOSPC  bool     // errors.Is(err, syscall.ENOSPC)
	Left    []string // the directory after the failure
}

type noSpaceResult struct {
	Skip      string // the child could not set up its file system
	Steps     []noSpaceStep
	Published int64
	Read      int64
	Bad       string
	Err       string
}

// noSpaceFill fills a slot so that a reader can tell which sequence wrote it.
func noSpaceFill(b []byte, seq int64) {
	for i := range b {
		b[i] = byte(seq*31 + int64(i)*7)
	}
}

var noSpaceRole = childtest.Register("ring.nospace", func(t *testing.T, ch *childtest.Child, a noSpaceArgs) {
	var r noSpaceResult
	dir := a.Dir
	if a.Backend == Shm {
		// The child runs in a mount namespace of its own (the parent asked
		// for one): this tmpfs hides the host's /dev/shm from it alone.
		if err := syscall.Mount("tmpfs", "/dev/shm", "tmpfs", 0, fmt.Sprintf("size=%d,mode=1777", noSpaceFS)); err != nil {
			r.Skip = fmt.Sprintf("cannot mount a tmpfs on /dev/shm in a private mount namespace: %v", err)
			ch.Result(r)
			return
		}
		dir = "/dev/shm"
	}
	name := func(n string) string {
		if a.Backend == File {
			return filepath.Join(dir, n)
		}
		return n
	}
	list := func() []string {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	step := func(what string, err error) {
		s := noSpaceStep{What: what, NoSpace: errors.Is(err, ErrNoSpace), ENOSPC: errors.Is(err, syscall.ENOSPC), Left: list()}
		if err != nil {
			s.Err = err.Error()
		}
		r.Steps = append(r.Steps, s)
	}
	filler := filepath.Join(dir, "filler")
	fill := func(size int64) error { // size -1: until the file system is full
		f, err := os.Create(filler)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 64<<10)
		for i := range buf {
			buf[i] = 0x5A
		}
		for n := int64(0); size < 0 || n < size; {
			k, err := f.Write(buf[:min(int64(len(buf)), orMax(size)-n)])
			n += int64(k)
			if size < 0 && errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	}

	// Larger than the whole file system: a byte ring, a typed ring.
	p, err := CreateBytes(name("big"), Config{Backend: a.Backend, SlotSize: noSpaceSlot, Capacity: 8192})
	if err == nil {
		p.Close()
	}
	step("32 MiB byte ring on an empty 8 MiB file system", err)
	pt, err := Create[procEvent](name("bigtyped"), Config{Backend: a.Backend, Capacity: 1 << 20})
	if err == nil {
		pt.Close()
	}
	step("64 MiB typed ring on an empty 8 MiB file system", err)
	// Larger than what is left.
	if err := fill(6 << 20); err != nil {
		t.Fatal(err)
	}
	p, err = CreateBytes(name("rest"), Config{Backend: a.Backend, SlotSize: noSpaceSlot, Capacity: 1024})
	if err == nil {
		p.Close()
	}
	step("4 MiB byte ring with 2 MiB left", err)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}

	// A ring that fits, then a file system filled to the last byte, then
	// every slot written.
	p, err = CreateBytes(name("fits"), Config{Backend: a.Backend, SlotSize: noSpaceSlot, Capacity: noSpaceCapacity})
	if err != nil {
		r.Err = "create the ring that fits: " + err.Error()
		ch.Result(r)
		return
	}
	defer p.Close()
	if err := fill(-1); err != nil {
		t.Fatal(err)
	}
	ctx := testfix.Context(t, procTimeout)
	for seq := int64(0); seq < noSpaceCapacity; seq++ {
		got, err := p.Claim(ctx, 1)
		if err != nil || got != seq {
			r.Err = fmt.Sprintf("claim %d: got %d, %v", seq, got, err)
			break
		}
		noSpaceFill(p.Slot(seq), seq)
		p.Commit()
		r.Published++
	}
	// Read them back, in this process and (File) in the parent.
	c, err := AttachBytes(ctx, name("fits"), ConsumerConfig{Backend: a.Backend, Start: StartAt(0)})
	if err != nil {
		r.Err = "attach: " + err.Error()
		ch.Result(r)
		return
	}
	want := make([]byte, noSpaceSlot)
	for r.Read < r.Published {
		lo, hi, err := c.Wait(ctx)
		if err != nil {
			r.Err = "read: " + err.Error()
			break
		}
		for seq := lo; seq <= hi; seq++ {
			noSpaceFill(want, seq)
			if !slices.Equal(c.Slot(seq), want) && r.Bad == "" {
				r.Bad = fmt.Sprintf("slot of seq %d differs", seq)
			}
			r.Read++
		}
		c.ReleaseThrough(hi)
	}
	c.Close()
	ch.Result(r)
	ch.Await("close")
})

// orMax is size, or the largest int64 for a negative size.
func orMax(size int64) int64 {
	if size < 0 {
		return 1<<63 - 1
	}
	return size
}

// TestMultiProcess_NoSpace: on an 8 MiB tmpfs, for the File backend (a
// tmpfs the test mounts) and the Shm backend (a child in its own mount
// namespace with a tmpfs over /dev/shm), rings larger than the file
// system, or than what is left of it, fail at Create with ErrNoSpace
// (and ENOSPC) and leave nothing behind; a ring that fits is filled slot
// by slot after the file system has been filled up, and read back
// intact, by the child and (File) by this process; the child exits
// normally: no SIGBUS.
func TestMultiProcess_NoSpace(t *testing.T) {
	for _, b := range []Backend{File, Shm} {
		t.Run(b.String(), func(t *testing.T) {
			a := noSpaceArgs{Backend: b}
			o := childtest.Options{Timeout: procTimeout, Life: procDeadline}
			if b == File {
				a.Dir = testfix.Tmpfs(t, noSpaceFS)
			} else {
				if os.Geteuid() != 0 {
					t.Skip("needs root to mount a tmpfs over /dev/shm in a private mount namespace")
				}
				o.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
			}
			child, err := noSpaceRole.TryStart(t, a, o)
			if err != nil {
				t.Skipf("cannot start a child in a mount namespace of its own: %v", err)
			}
			var r noSpaceResult
			child.Result(&r)
			if r.Skip != "" {
				child.Send("close")
				child.Wait()
				t.Skip(r.Skip)
			}
			wantLeft := [][]string{nil, nil, {"filler"}}
			if len(r.Steps) != len(wantLeft) {
				t.Fatalf("child reported %d steps, want %d: %+v", len(r.Steps), len(wantLeft), r.Steps)
			}
			for i, s := range r.Steps {
				t.Logf("%s: %s", s.What, s.Err)
				if !s.NoSpace || !s.ENOSPC {
					t.Errorf("%s: %q: ErrNoSpace %v, ENOSPC %v; want both", s.What, s.Err, s.NoSpace, s.ENOSPC)
				}
				if !slices.Equal(s.Left, wantLeft[i]) {
					t.Errorf("%s: the directory holds %q, want %q", s.What, s.Left, wantLeft[i])
				}
			}
			if r.Err != "" || r.Bad != "" || r.Published != noSpaceCapacity || r.Read != noSpaceCapacity {
				t.Fatalf("the ring that fits: published %d, read back %d of %d; %s %s", r.Published, r.Read, noSpaceCapacity, r.Bad, r.Err)
			}
			if b == File {
				readBack(t, filepath.Join(a.Dir, "fits"))
			}
			child.Send("close")
			if err := child.Exit(); err != nil {
				if child.KilledBy(syscall.SIGBUS) {
					t.Fatalf("the producer died of SIGBUS on a full file system")
				}
				t.Fatalf("child: %v; output:\n%s", err, child.Output())
			}
			if b == File {
				if got := testfix.DirNames(t, a.Dir); !slices.Equal(got, []string{"filler"}) {
					t.Errorf("after the producer closed, the directory holds %q, want only the filler", got)
				}
			}
		})
	}
}

// readBack reads every slot of the full ring at path from this process.
func readBack(t *testing.T, path string) {
	t.Helper()
	ctx := testfix.Context(t, procTimeout)
	c, err := AttachBytes(ctx, path, ConsumerConfig{Backend: File, Start: StartAt(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, noSpaceSlot)
	for seq := int64(0); seq < noSpaceCapacity; {
		lo, hi, err := c.Wait(ctx)
		if err != nil {
			t.Fatalf("read back at %d: %v", seq, err)
		}
		for ; seq <= hi; seq++ {
			noSpaceFill(want, seq)
			if seq < lo || !slices.Equal(c.Slot(seq), want) {
				t.Fatalf("slot of seq %d differs (batch %d..%d)", seq, lo, hi)
			}
		}
		c.ReleaseThrough(hi)
	}
}
