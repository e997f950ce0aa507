//go:build linux

package shm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"testing"

	"github.com/myelon-go/myelon/internal/testfix"
	"golang.org/x/sys/unix"
)

// reserveModes runs f once with fallocate and once with the zero-fill
// fallback (fallocate made to fail with EOPNOTSUPP, as on a file system
// without it).
func reserveModes(t *testing.T, f func(t *testing.T)) {
	t.Run("fallocate", f)
	t.Run("zerofill", func(t *testing.T) {
		calls := 0
		fallocate = func(int, uint32, int64, int64) error { calls++; return unix.EOPNOTSUPP }
		defer func() { fallocate = unix.Fallocate }()
		f(t)
		if calls == 0 {
			t.Error("Create never called fallocate")
		}
	})
}

// fill writes a file of size bytes in dir (all of them allocated) or, with
// size -1, one as large as the file system still allows.
func fill(t *testing.T, dir string, size int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = 0xA5
	}
	for n := int64(0); size < 0 || n < size; {
		chunk := buf
		if size >= 0 && size-n < int64(len(chunk)) {
			chunk = chunk[:size-n]
		}
		k, err := f.Write(chunk)
		n += int64(k)
		if size < 0 && errors.Is(err, syscall.ENOSPC) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// allocated is the storage the file system gave path, in bytes.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// touchAll writes every byte of b, turning a fault (the SIGBUS of a page
// the file system could not allocate) into a test failure instead of a
// crash of the test binary.
func touchAll(t *testing.T, b []byte) {
	t.Helper()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("writing the mapping faulted: %v", r)
		}
	}()
	for i := range b {
		b[i] = byte(i)
	}
}

// TestCreate_NoSpace: a file-backed segment larger than the free space of
// its file system is ErrNoSpace (and ENOSPC) from Create, and leaves
// nothing in the directory: whether it is larger than the whole file
// system or only than what is left.
func TestCreate_NoSpace(t *testing.T) {
	reserveModes(t, func(t *testing.T) {
		dir := testfix.Tmpfs(t, 8<<20)
		check := func(size int, want ...string) {
			t.Helper()
			m, err := Create(File, filepath.Join(dir, "seg"), size, Options{})
			if err == nil {
				m.Close()
				t.Fatalf("Create of %d bytes on a tmpfs with %v: no error", size, want)
			}
			if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("Create of %d bytes: %v; want ErrNoSpace and ENOSPC", size, err)
			}
			t.Logf("%d bytes: %v", size, err)
			if got := testfix.DirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("left in the directory: %q, want %q", got, want)
			}
		}
		check(32 << 20)
		fill(t, dir, 6<<20)
		check(4<<20, "filler")
	})
}

// TestCreate_ReservesSpace: the storage of a segment that fits is taken at
// Create, so filling the file system afterwards cannot take it away: every
// byte of the mapping can still be written.
func TestCreate_ReservesSpace(t *testing.T) {
	reserveModes(t, func(t *testing.T) {
		dir := testfix.Tmpfs(t, 8<<20)
		const size = 4 << 20
		path := filepath.Join(dir, "seg")
		for _, populate := range []bool{false, true} {
			t.Run(fmt.Sprintf("populate=%v", populate), func(t *testing.T) {
				m, err := Create(File, path, size, Options{Populate: populate})
				if err != nil {
					t.Fatal(err)
				}
				defer os.Remove(path)
				defer m.Close()
				if got := allocated(t, path); got < size {
					t.Errorf("after Create the file has %d bytes allocated, want %d", got, size)
				}
				fill(t, dir, -1)
				defer os.Remove(filepath.Join(dir, "filler"))
				touchAll(t, m.Bytes())
			})
		}
	})
}

// TestCreate_NoFallocate: on a file system that has no fallocate (ramfs),
// Create takes the fallback for real and the segment is allocated.
func TestCreate_NoFallocate(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		t.Skipf("cannot mount a ramfs on %s (needs root or CAP_SYS_ADMIN): %v", dir, err)
	}
	defer syscall.Unmount(dir, 0)
	probe, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	ferr := unix.Fallocate(int(probe.Fd()), 0, 0, 4096)
	probe.Close()
	os.Remove(probe.Name())
	if !errors.Is(ferr, unix.EOPNOTSUPP) {
		t.Skipf("this kernel's ramfs has fallocate (%v): the fallback is covered by TestCreate_NoSpace/zerofill only", ferr)
	}
	const size = 1 << 20
	path := filepath.Join(dir, "seg")
	m, err := Create(File, path, size, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer os.Remove(path)
	if got := allocated(t, path); got < size {
		t.Errorf("after Create the file has %d bytes allocated, want %d", got, size)
	}
	b := m.Bytes()
	for i, v := range b {
		if v != 0 {
			t.Fatalf("byte %d of a new segment is %#x, want 0", i, v)
		}
	}
}
