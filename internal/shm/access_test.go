//go:build linux

package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// lstatOf returns the owner, group and permission bits of a segment's file.
func lstatOf(t *testing.T, b Backend, name string) (uid, gid uint32, perm os.FileMode) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(Path(b, name), &st); err != nil {
		t.Fatalf("lstat %s: %v", Path(b, name), err)
	}
	return st.Uid, st.Gid, os.FileMode(st.Mode).Perm()
}

// foreignGroup returns a gid Create can hand a segment to that differs from
// our effective gid, so the chown is visible: any gid as root, else one of
// our supplementary groups.
func foreignGroup(t *testing.T) uint32 {
	t.Helper()
	if os.Geteuid() == 0 {
		return 4242
	}
	groups, err := unix.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g != os.Getegid() {
			return uint32(g)
		}
	}
	t.Skip("not root and in no supplementary group: no group to hand a segment to")
	return 0
}

// TestCreate_Group hands new segments to a group: the file ends up with
// that gid and exactly Perm (group bits included) even under umask 077,
// on both file-backed backends; Heap ignores the group.
func TestCreate_Group(t *testing.T) {
	gid := foreignGroup(t)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, b := range []Backend{Shm, File} {
		t.Run(b.String(), func(t *testing.T) {
			for _, perm := range []os.FileMode{0o660, 0o640, 0} {
				name := segName(t, b)
				m, err := Create(b, name, 4096, Options{Perm: perm, Group: SomeID(gid)})
				if err != nil {
					t.Fatalf("Create with Group %d, Perm %#o: %v", gid, perm, err)
				}
				defer m.Close()
				want := perm
				if want == 0 {
					want = 0o600 // shm's default; ring makes it 0660 for an AccessGroup
				}
				uid, g, got := lstatOf(t, b, name)
				if uid != uint32(os.Geteuid()) || g != gid || got != want {
					t.Errorf("Perm %#o: segment has uid %d, gid %d, mode %#o; want uid %d, gid %d, mode %#o",
						perm, uid, g, got, os.Geteuid(), gid, want)
				}
				// The creator can still open it: it owns it, and 0660 and
				// 0640 grant nothing to others.
				m2, err := Open(b, name, Options{})
				if err != nil {
					t.Fatalf("Open of our own segment with mode %#o: %v", got, err)
				}
				m2.Close()
			}
			// Without a Group the kernel's choice stands: our egid.
			name := segName(t, b)
			m, err := Create(b, name, 64, Options{Perm: 0o660})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
			if _, g, got := lstatOf(t, b, name); g != uint32(os.Getegid()) || got != 0o660 {
				t.Errorf("without Group: gid %d, mode %#o; want gid %d, mode 0660", g, got, os.Getegid())
			}
		})
	}
	t.Run("heap", func(t *testing.T) {
		name := PortableName("heapgrp")
		m, err := Create(Heap, name, 64, Options{Group: SomeID(gid)})
		if err != nil {
			t.Fatalf("Heap Create with a Group: %v", err)
		}
		m.Close()
		Remove(Heap, name)
	})
}

// TestCreate_GroupRefused: a non-root creator cannot hand a segment to a
// group it is not in: ErrPermission (and fs.ErrPermission), naming the
// path, and no file is left behind.
func TestCreate_GroupRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may chown to any group (the ring's multi-process test covers the refusal with a non-root child)")
	}
	groups, err := unix.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	gid := 4242
	for slices.Contains(groups, gid) || gid == os.Getegid() {
		gid++
	}
	for _, b := range []Backend{Shm, File} {
		name := segName(t, b)
		_, err := Create(b, name, 64, Options{Perm: 0o660, Group: SomeID(uint32(gid))})
		if !errors.Is(err, ErrPermission) || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), Path(b, name)) {
			t.Errorf("%v: Create with a group we are not in = %v, want ErrPermission naming the path", b, err)
		}
		if _, err := os.Lstat(Path(b, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: after the refused Create the file is still there: %v", b, err)
		}
	}
}

// TestCreate_ReservedGroup: gid NoID means "unchanged" to chown, so it is
// refused before anything is created.
func TestCreate_ReservedGroup(t *testing.T) {
	for _, b := range allBackends {
		name := segName(t, b)
		_, err := Create(b, name, 64, Options{Group: SomeID(NoID)})
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%v: Create with Group NoID = %v, want ErrInvalidOptions", b, err)
		}
		if b != Heap {
			if _, err := os.Lstat(Path(b, name)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v: file left behind: %v", b, err)
			}
		}
	}
}

// TestOpen_DefaultModeRule: without Perm, Open accepts exactly the modes
// that grant nothing to others; with Perm it wants exactly Perm.
func TestOpen_DefaultModeRule(t *testing.T) {
	for _, b := range []Backend{Shm, File} {
		for _, mode := range []os.FileMode{0o600, 0o640, 0o660, 0o620, 0o700, 0o604, 0o602, 0o601, 0o644, 0o664, 0o666, 0o777} {
			name := segName(t, b)
			m, err := Create(b, name, 64, Options{Perm: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			m2, err := Open(b, name, Options{})
			if ok := mode&0o007 == 0; ok != (err == nil) || !ok && !errors.Is(err, ErrMode) {
				t.Errorf("%v: Open without Perm of a %#o segment = %v, want ok=%v (else ErrMode)", b, mode, err, ok)
			}
			if err == nil {
				m2.Close()
			}
			if m2, err := Open(b, name, Options{Perm: mode}); err != nil {
				t.Errorf("%v: Open with Perm %#o of a %#o segment: %v", b, mode, mode, err)
			} else {
				m2.Close()
			}
			other := os.FileMode(0o600)
			if mode == other {
				other = 0o640
			}
			if _, err := Open(b, name, Options{Perm: other}); !errors.Is(err, ErrMode) {
				t.Errorf("%v: Open with Perm %#o of a %#o segment = %v, want ErrMode", b, other, mode, err)
			}
		}
	}
}

// TestOpen_TrustedOwner: Options.Owner replaces our euid as the only uid
// trusted to own the segment, in both directions, and the refusal names
// both uids.
func TestOpen_TrustedOwner(t *testing.T) {
	me := uint32(os.Geteuid())
	for _, b := range []Backend{Shm, File} {
		name := segName(t, b)
		m, err := Create(b, name, 64, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m2, err := Open(b, name, Options{Owner: SomeID(me)}); err != nil {
			t.Errorf("%v: Open naming ourselves as Owner: %v", b, err)
		} else {
			m2.Close()
		}
		// Trusting someone else excludes us.
		_, err = Open(b, name, Options{Owner: SomeID(me + 1)})
		if !errors.Is(err, ErrOwner) || !strings.Contains(err.Error(), fmt.Sprintf("uid %d", me)) || !strings.Contains(err.Error(), fmt.Sprintf("uid %d", me+1)) {
			t.Errorf("%v: Open of our segment trusting uid %d = %v, want ErrOwner naming both uids", b, me+1, err)
		}
	}
	t.Run("foreign", func(t *testing.T) {
		if me != 0 {
			t.Skip("needs root to give a file to another user")
		}
		for _, b := range []Backend{Shm, File} {
			name := segName(t, b)
			m, err := Create(b, name, 64, Options{Perm: 0o660})
			if err != nil {
				t.Fatal(err)
			}
			m.Close()
			if err := os.Chown(Path(b, name), 4242, -1); err != nil {
				t.Fatal(err)
			}
			_, err = Open(b, name, Options{})
			if !errors.Is(err, ErrOwner) || !strings.Contains(err.Error(), "uid 4242") || !strings.Contains(err.Error(), "uid 0") {
				t.Errorf("%v: Open of uid 4242's segment = %v, want ErrOwner naming uids 4242 and 0", b, err)
			}
			if _, err := Open(b, name, Options{Owner: SomeID(4243)}); !errors.Is(err, ErrOwner) {
				t.Errorf("%v: Open trusting uid 4243 of uid 4242's segment = %v, want ErrOwner", b, err)
			}
			m2, err := Open(b, name, Options{Owner: SomeID(4242)})
			if err != nil {
				t.Fatalf("%v: Open trusting uid 4242 of its segment: %v", b, err)
			}
			m2.Close()
			// AnyPerm skips the mode check, never the owner check.
			if _, err := Open(b, name, Options{AnyPerm: true}); !errors.Is(err, ErrOwner) {
				t.Errorf("%v: Open with AnyPerm of uid 4242's segment = %v, want ErrOwner", b, err)
			}
		}
	})
}

// TestOpen_EmptyBeforeMode: the mode is checked only once the file has a
// size (Create sets it before sizing), the owner always.
func TestOpen_EmptyBeforeMode(t *testing.T) {
	path := t.TempDir() + "/seg"
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(File, path, Options{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Open of an empty 0644 file = %v, want ErrEmpty (retried until sized)", err)
	}
	if err := os.WriteFile(path, make([]byte, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(File, path, Options{}); !errors.Is(err, ErrMode) {
		t.Errorf("Open of a sized 0644 file = %v, want ErrMode", err)
	}
	if _, err := Open(File, path, Options{Owner: SomeID(uint32(os.Geteuid()) + 1)}); !errors.Is(err, ErrOwner) {
		t.Errorf("Open trusting another uid = %v, want ErrOwner before the mode", err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(File, path, Options{Owner: SomeID(uint32(os.Geteuid()) + 1)}); !errors.Is(err, ErrOwner) {
		t.Errorf("Open of an empty file trusting another uid = %v, want ErrOwner (not ErrEmpty)", err)
	}
}

// TestPermissionErrors: what the kernel refuses matches ErrPermission and
// fs.ErrPermission and names the path and the file's owner; other OS
// errors do not match ErrPermission.
func TestPermissionErrors(t *testing.T) {
	path := t.TempDir() + "/seg"
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, errno := range []unix.Errno{unix.EACCES, unix.EPERM} {
		for _, err := range []error{openErr("open", path, errno), sysErr("fchown", path, " to gid 7", errno)} {
			if !errors.Is(err, ErrPermission) || !errors.Is(err, fs.ErrPermission) || !errors.Is(err, errno) {
				t.Errorf("%v: %v does not match ErrPermission, fs.ErrPermission and the errno", errno, err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("uid %d", os.Geteuid())) || !strings.Contains(msg, "mode 0600") {
				t.Errorf("%v: %q does not name the path, the file's uid and mode", errno, msg)
			}
		}
	}
	for _, errno := range []unix.Errno{unix.ENOSPC, unix.EIO} {
		if err := sysErr("fchmod", path, " to 0660", errno); errors.Is(err, ErrPermission) || !errors.Is(err, errno) {
			t.Errorf("%v: sysErr = %v: want the errno, not ErrPermission", errno, err)
		}
	}
}

// TestMapPermissionError: a refusal of mmap itself (here a shared,
// writable mapping of a descriptor opened read-only: EACCES from the
// kernel) matches ErrPermission and fs.ErrPermission, like a refused open.
func TestMapPermissionError(t *testing.T) {
	path := t.TempDir() + "/seg"
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	m, err := mapFD(File, path, fd, 4096, Options{})
	if err == nil {
		m.Close()
		t.Fatal("a writable shared mapping of a read-only descriptor: no error")
	}
	if !errors.Is(err, ErrPermission) || !errors.Is(err, fs.ErrPermission) || !errors.Is(err, unix.EACCES) {
		t.Errorf("mmap refused: %v; want ErrPermission, fs.ErrPermission and EACCES", err)
	}
}

// TestNoSpaceErrors: ENOSPC and EDQUOT match ErrNoSpace and the errno,
// and say how much room the file system has; nothing else does.
func TestNoSpaceErrors(t *testing.T) {
	path := t.TempDir() + "/seg"
	for _, errno := range []unix.Errno{unix.ENOSPC, unix.EDQUOT} {
		err := sysErr("fallocate", path, " (64 bytes)", errno)
		if !errors.Is(err, ErrNoSpace) || !errors.Is(err, errno) || errors.Is(err, ErrPermission) {
			t.Errorf("%v: %v; want ErrNoSpace and the errno only", errno, err)
		}
		if !strings.Contains(err.Error(), "bytes available") {
			t.Errorf("%v: %q does not say how much room is left", errno, err)
		}
	}
	for _, errno := range []unix.Errno{unix.EIO, unix.EACCES} {
		if err := sysErr("fallocate", path, "", errno); errors.Is(err, ErrNoSpace) {
			t.Errorf("%v: %v matches ErrNoSpace", errno, err)
		}
	}
}
