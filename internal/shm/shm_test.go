package shm

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestValidateName(t *testing.T) {
	cases := []struct {
		b    Backend
		name string
		ok   bool
	}{
		{Shm, "ring", true},
		{Shm, "a", true},
		{Shm, "A-z_0.9", true},
		{Shm, strings.Repeat("x", MaxNameLen), true},
		{Shm, strings.Repeat("x", MaxNameLen+1), false},
		{Shm, "", false},
		{Shm, ".hidden", false},
		{Shm, "a/b", false},
		{Shm, "/ring", false},
		{Shm, "a b", false},
		{Shm, "a\x00", false},
		{Shm, "ring\n", false},
		{Shm, "é", false},
		{Heap, "ring.1", true},
		{Heap, "", false},
		{Heap, "a:b", false},
		{File, "/tmp/a b/c.ring", true},
		{File, "relative", true},
		{File, strings.Repeat("x", 200), true},
		{File, "", false},
		{File, "/tmp/a\x00", false},
	}
	for _, tc := range cases {
		err := ValidateName(tc.b, tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%v, %q) = %v, want ok=%v", tc.b, tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%v, %q) = %v, not ErrInvalidName", tc.b, tc.name, err)
		}
	}
}

func TestPortableName(t *testing.T) {
	for prefix, want := range map[string]string{
		"ring":                      "ring-",
		"":                          "m-",
		"///":                       "m-",
		"my/ring.name!":             "myringname-",
		"averyverylongprefixindeed": "averyverylon-",
	} {
		n := PortableName(prefix)
		if !strings.HasPrefix(n, want) {
			t.Errorf("PortableName(%q) = %q, want prefix %q", prefix, n, want)
		}
	}
	seen := make(map[string]bool, 100000)
	for i := 0; i < 100000; i++ {
		n := PortableName("averyverylongprefix")
		if len(n) > 24 {
			t.Fatalf("PortableName = %q, %d bytes, want <= 24", n, len(n))
		}
		if err := ValidateName(Shm, n); err != nil {
			t.Fatalf("PortableName = %q: %v", n, err)
		}
		if strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			t.Fatalf("PortableName = %q has a byte outside [A-Za-z0-9-]", n)
		}
		if seen[n] {
			t.Fatalf("PortableName repeated %q after %d names", n, i)
		}
		seen[n] = true
	}
}

func TestBackend_StringParse(t *testing.T) {
	for b, name := range map[Backend]string{Shm: "shm", File: "file", Heap: "heap"} {
		if b.String() != name {
			t.Errorf("%d.String() = %q, want %q", uint8(b), b.String(), name)
		}
		got, err := ParseBackend(name)
		if err != nil || got != b {
			t.Errorf("ParseBackend(%q) = %v, %v", name, got, err)
		}
		text, err := b.MarshalText()
		if err != nil || string(text) != name {
			t.Errorf("%v.MarshalText() = %q, %v", b, text, err)
		}
		var u Backend = 99
		if err := u.UnmarshalText([]byte(name)); err != nil || u != b {
			t.Errorf("UnmarshalText(%q) = %v, %v", name, u, err)
		}
	}
	if b, err := ParseBackend(""); err != nil || b != Shm {
		t.Errorf("ParseBackend(\"\") = %v, %v; want shm", b, err)
	}
	for _, bad := range []string{"mmap", "tmpfs", "SHM", "File", " shm", "shm\x00"} {
		if _, err := ParseBackend(bad); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("ParseBackend(%q) = %v, want ErrInvalidOptions", bad, err)
		}
		u := File
		if err := u.UnmarshalText([]byte(bad)); err == nil || u != File {
			t.Errorf("UnmarshalText(%q) = %v and set %v, want an error and no change", bad, err, u)
		}
	}
	if _, err := Backend(7).MarshalText(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Backend(7).MarshalText() = %v, want ErrInvalidOptions", err)
	}
}

// segName returns a fresh name for backend b.
func segName(t *testing.T, b Backend) string {
	t.Helper()
	n := PortableName("shmtest")
	switch b {
	case File:
		return t.TempDir() + "/" + n
	case Shm:
		t.Cleanup(func() { Remove(Shm, n) })
	}
	return n
}

var allBackends = []Backend{Shm, File, Heap}

func TestCreate_ExclusiveAndRemove(t *testing.T) {
	for _, b := range allBackends {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b)
			m, err := Create(b, name, 5000, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if len(m.Bytes()) < 5000 || m.Name() != name || m.Backend() != b {
				t.Fatalf("mapping of %d bytes, name %q, backend %v", len(m.Bytes()), m.Name(), m.Backend())
			}
			for i, c := range m.Bytes() {
				if c != 0 {
					t.Fatalf("byte %d of a new segment is %d", i, c)
				}
			}
			_, err = Create(b, name, 5000, Options{})
			if !errors.Is(err, ErrExist) {
				t.Fatalf("second Create = %v, want ErrExist", err)
			}
			if b != Heap && !errors.Is(err, fs.ErrExist) {
				t.Errorf("second Create = %v, want it to wrap fs.ErrExist", err)
			}
			if _, err := Create(b, name, 0, Options{}); err == nil {
				t.Error("Create of size 0 succeeded")
			}
			if err := m.Unlink(); err != nil {
				t.Fatal(err)
			}
			if err := Remove(b, name); !errors.Is(err, ErrNotExist) {
				t.Errorf("Remove after Unlink = %v, want ErrNotExist", err)
			}
			if _, err := Open(b, name, Options{}); !errors.Is(err, ErrNotExist) {
				t.Errorf("Open after Unlink = %v, want ErrNotExist", err)
			}
			// The mapping outlives the name.
			m.Bytes()[4999] = 7
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Errorf("second Close = %v", err)
			}
		})
	}
}

func TestCreate_SharedBetweenMappings(t *testing.T) {
	for _, b := range allBackends {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b)
			m1, err := Create(b, name, 4096, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m1.Close()
			m2, err := Open(b, name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m2.Close()
			m1.Bytes()[100] = 42
			if m2.Bytes()[100] != 42 {
				t.Fatal("a write through one mapping is not seen through the other")
			}
			fi, err := Stat(b, name)
			if err != nil || fi.Size < 4096 || fi.Mode != 0o600 || fi.UID != uint32(os.Geteuid()) {
				t.Errorf("Stat = %+v, %v", fi, err)
			}
		})
	}
}

// TestOpen_ReadOnly: a read-only mapping sees the segment's bytes and
// needs only read permission: a 0400 segment opens read-only.
func TestOpen_ReadOnly(t *testing.T) {
	for _, b := range []Backend{Shm, File} {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b)
			m, err := Create(b, name, 4096, Options{Perm: 0o400})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			m.Bytes()[7] = 9
			if _, err := Open(b, name, Options{AnyPerm: true}); err == nil && os.Geteuid() != 0 {
				t.Error("a read-write open of a 0400 segment succeeded")
			}
			r, err := Open(b, name, Options{AnyPerm: true, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Bytes()[7] != 9 {
				t.Error("the read-only mapping does not see the segment's bytes")
			}
		})
	}
}

func TestCreate_ModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, perm := range []os.FileMode{0, 0o640, 0o666} {
		name := segName(t, Shm)
		m, err := Create(Shm, name, 64, Options{Perm: perm})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		want := perm
		if want == 0 {
			want = 0o600
		}
		if fi, err := Stat(Shm, name); err != nil || fi.Mode != want {
			t.Errorf("Create with Perm %#o under umask 077: mode %#o, %v; want %#o", perm, fi.Mode, err, want)
		}
	}
}

func TestOpen_RefusesSymlink(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		m, err := Create(File, dir+"/target", 64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		if err := os.Symlink(dir+"/target", dir+"/link"); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(File, dir+"/link", Options{}); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open of a symlink = %v, want ErrNotRegular", err)
		}
		// Create does not follow it either: the name is taken.
		if _, err := Create(File, dir+"/link", 64, Options{}); !errors.Is(err, ErrExist) {
			t.Errorf("Create over a symlink = %v, want ErrExist", err)
		}
		if err := os.Symlink(dir+"/nowhere", dir+"/dangling"); err != nil {
			t.Fatal(err)
		}
		if _, err := Create(File, dir+"/dangling", 64, Options{}); !errors.Is(err, ErrExist) {
			t.Errorf("Create over a dangling symlink = %v, want ErrExist", err)
		}
		if _, err := os.Stat(dir + "/nowhere"); !os.IsNotExist(err) {
			t.Errorf("Create followed the dangling symlink: %v", err)
		}
	})
	t.Run("shm", func(t *testing.T) {
		target := segName(t, Shm)
		m, err := Create(Shm, target, 64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		link := PortableName("shmlink")
		if err := os.Symlink(Path(Shm, target), Path(Shm, link)); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(Path(Shm, link))
		if _, err := Open(Shm, link, Options{}); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open of a symlink in /dev/shm = %v, want ErrNotRegular", err)
		}
	})
}

func TestOpen_RefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(File, dir, Options{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a directory = %v, want ErrNotRegular", err)
	}
	fifo := dir + "/fifo"
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(File, fifo, Options{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open of a FIFO = %v, want ErrNotRegular", err)
	}
}

func TestOpen_WrongMode(t *testing.T) {
	name := segName(t, Shm)
	m, err := Create(Shm, name, 64, Options{Perm: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := Open(Shm, name, Options{}); !errors.Is(err, ErrMode) {
		t.Errorf("Open without Perm of a 0644 segment = %v, want ErrMode (it grants access to others)", err)
	}
	if _, err := Open(Shm, name, Options{Perm: 0o600}); !errors.Is(err, ErrMode) {
		t.Errorf("Open expecting 0600 of a 0644 segment = %v, want ErrMode", err)
	}
	m2, err := Open(Shm, name, Options{Perm: 0o644})
	if err != nil {
		t.Fatalf("Open with the matching mode: %v", err)
	}
	m2.Close()
	m3, err := Open(Shm, name, Options{AnyPerm: true})
	if err != nil {
		t.Fatalf("Open with AnyPerm: %v", err)
	}
	m3.Close()
}

func TestOpen_OtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	path := t.TempDir() + "/owned"
	m, err := Create(File, path, 64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := os.Chown(path, 4242, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(File, path, Options{}); !errors.Is(err, ErrOwner) {
		t.Errorf("Open of another user's segment = %v, want ErrOwner", err)
	}
}

func TestOpen_Empty(t *testing.T) {
	path := t.TempDir() + "/empty"
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(File, path, Options{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Open of an empty file = %v, want ErrEmpty", err)
	}
}

func TestList(t *testing.T) {
	name := segName(t, Shm)
	m, err := Create(Shm, name, 64, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	names, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, name) {
		t.Errorf("List does not hold %q", name)
	}
}

// TestLocks: liveness locks behave alike on every backend: a lock taken
// through one Mapping is held for every other Mapping of the segment,
// until it is unlocked or its Mapping closes.
func TestLocks(t *testing.T) {
	for _, b := range allBackends {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b)
			m1, err := Create(b, name, 4096, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m1.Close()
			m2, err := Open(b, name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m2.Close()
			must := func(what string, got bool, err error, want bool) {
				t.Helper()
				if err != nil || got != want {
					t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
				}
			}
			const slot, other = 3, 1 << 16
			held, err := m2.HeldByOther(slot)
			must("HeldByOther before any lock", held, err, false)
			ok, err := m1.TryLock(slot)
			must("m1.TryLock", ok, err, true)
			ok, err = m1.TryLock(slot)
			must("m1.TryLock again (own lock)", ok, err, true)
			held, err = m2.HeldByOther(slot)
			must("m2.HeldByOther", held, err, true)
			held, err = m1.HeldByOther(slot)
			must("m1.HeldByOther (own lock)", held, err, false)
			ok, err = m2.TryLock(slot)
			must("m2.TryLock of a held slot", ok, err, false)
			// Slots are independent.
			ok, err = m2.TryLock(other)
			must("m2.TryLock of another slot", ok, err, true)
			held, err = m1.HeldByOther(other)
			must("m1.HeldByOther(other)", held, err, true)
			// Unlock frees it.
			if err := m1.Unlock(slot); err != nil {
				t.Fatal(err)
			}
			held, err = m2.HeldByOther(slot)
			must("m2.HeldByOther after Unlock", held, err, false)
			// Unlock of a slot held by another mapping does not free it.
			if err := m1.Unlock(other); err != nil {
				t.Fatal(err)
			}
			held, err = m1.HeldByOther(other)
			must("m1.HeldByOther(other) after m1.Unlock(other)", held, err, true)
			// Close releases every lock of the mapping.
			ok, err = m1.TryLock(slot)
			must("m1.TryLock after Unlock", ok, err, true)
			if err := m1.Close(); err != nil {
				t.Fatal(err)
			}
			held, err = m2.HeldByOther(slot)
			must("m2.HeldByOther after m1.Close", held, err, false)
			ok, err = m2.TryLock(slot)
			must("m2.TryLock after m1.Close", ok, err, true)
			// A third mapping sees m2's locks.
			m3, err := Open(b, name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m3.Close()
			held, err = m3.HeldByOther(slot)
			must("m3.HeldByOther", held, err, true)
			// A closed mapping refuses lock calls.
			if _, err := m1.TryLock(slot); !errors.Is(err, ErrClosed) {
				t.Errorf("TryLock on a closed mapping = %v, want ErrClosed", err)
			}
			if _, err := m1.HeldByOther(slot); !errors.Is(err, ErrClosed) {
				t.Errorf("HeldByOther on a closed mapping = %v, want ErrClosed", err)
			}
			if err := m1.Unlock(slot); !errors.Is(err, ErrClosed) {
				t.Errorf("Unlock on a closed mapping = %v, want ErrClosed", err)
			}
		})
	}
}

// within fails the test if f does not return by d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func TestFutex_WaitReturns(t *testing.T) {
	var w atomic.Uint32
	start := time.Now()
	within(t, 10*time.Second, "FutexWait with a 20ms timeout", func() { FutexWait(&w, 0, 20*time.Millisecond) })
	t.Logf("FutexWait(20ms) returned after %v", time.Since(start))
	// The value differs: no sleep at all, even without a timeout.
	w.Store(1)
	within(t, 10*time.Second, "FutexWait on a changed value", func() { FutexWait(&w, 0, 0) })
}

// TestFutex_WakeAcrossMappings parks on a word through one mapping and
// wakes it through another mapping of the same segment (another address):
// the futex must be shared, keyed by the memory, not the address space.
// The word never changes, so only a wake ends the wait.
func TestFutex_WakeAcrossMappings(t *testing.T) {
	for _, b := range allBackends {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b)
			m1, err := Create(b, name, 4096, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m1.Close()
			m2, err := Open(b, name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m2.Close()
			w1 := (*atomic.Uint32)(unsafe.Pointer(&m1.Bytes()[256]))
			w2 := (*atomic.Uint32)(unsafe.Pointer(&m2.Bytes()[256]))
			if b != Heap && w1 == w2 {
				t.Fatal("two mappings at the same address: the test proves nothing")
			}
			done := make(chan time.Duration, 1)
			go func() {
				start := time.Now()
				FutexWait(w1, 0, time.Minute)
				done <- time.Since(start)
			}()
			deadline := time.After(10 * time.Second)
			for {
				select {
				case d := <-done:
					t.Logf("woken after %v", d)
					return
				case <-deadline:
					t.Fatal("FutexWake through another mapping did not wake the waiter")
				case <-time.After(time.Millisecond):
					FutexWake(w2, 1)
				}
			}
		})
	}
}
