package ring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestParseBackend: the names are exactly shm (or ""), file and heap, the
// same ones Backend prints and encodes; anything else is ErrInvalidConfig.
func TestParseBackend(t *testing.T) {
	for _, b := range []Backend{Shm, File, Heap} {
		got, err := ParseBackend(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBackend(%q) = %v, %v", b.String(), got, err)
		}
	}
	if File.String() != "file" {
		t.Errorf("File.String() = %q, want file", File.String())
	}
	if b, err := ParseBackend(""); err != nil || b != Shm {
		t.Errorf("ParseBackend(\"\") = %v, %v; want shm", b, err)
	}
	for _, bad := range []string{"mmap", "Shm", "files", "tmpfs"} {
		if _, err := ParseBackend(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseBackend(%q) = %v, want ErrInvalidConfig", bad, err)
		}
	}
	// JSON uses the names too, both ways.
	var v struct{ B Backend }
	if err := json.Unmarshal([]byte(`{"B":"file"}`), &v); err != nil || v.B != File {
		t.Errorf("unmarshal \"file\": %v, %v", v.B, err)
	}
	if out, err := json.Marshal(struct{ B Backend }{Heap}); err != nil || string(out) != `{"B":"heap"}` {
		t.Errorf("marshal Heap: %s, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"B":"mmap"}`), &v); err == nil {
		t.Error(`unmarshal "mmap" succeeded`)
	}
}

// TestAccess_UnknownNames: an AccessGroup or Owner that names nobody (or an
// out-of-range id) is ErrInvalidConfig, on every backend, and Create
// leaves no segment behind.
func TestAccess_UnknownNames(t *testing.T) {
	for _, b := range []Backend{Shm, File, Heap} {
		for _, grp := range []string{"myelon-no-such-group", "-1", "4294967295", "99999999999", "42a"} {
			name := segName(t, b, "nogrp")
			_, err := Create[procEvent](name, Config{Backend: b, Capacity: 8, AccessGroup: grp})
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "AccessGroup") {
				t.Errorf("%v: Create with AccessGroup %q = %v, want ErrInvalidConfig naming AccessGroup", b, grp, err)
			}
			if _, err := os.Lstat(segPath(b, name)); b != Heap && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v: Create with AccessGroup %q left %s behind (%v)", b, grp, segPath(b, name), err)
			}
		}
		name := segName(t, b, "noown")
		p, err := Create[procEvent](name, Config{Backend: b, Capacity: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for _, owner := range []string{"myelon-no-such-user", "-1", "4294967295"} {
			_, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Backend: b, Owner: owner})
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "Owner") {
				t.Errorf("%v: Attach with Owner %q = %v, want ErrInvalidConfig naming Owner", b, owner, err)
			}
		}
	}
}

func segPath(b Backend, name string) string {
	if b == Shm {
		return "/dev/shm/" + name
	}
	return name
}

// TestAccess_GroupCreate: Create with a numeric AccessGroup hands the
// segment to that group with mode 0660 (or Perm) whatever the umask, and
// its creator's user attaches without naming itself.
func TestAccess_GroupCreate(t *testing.T) {
	gid := os.Getegid()
	if os.Geteuid() == 0 {
		gid = 4242 // root may hand it to any group, even one without a name
	}
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, b := range []Backend{Shm, File} {
		for _, perm := range []os.FileMode{0, 0o640} {
			name := segName(t, b, "grp")
			p, err := Create[procEvent](name, Config{Backend: b, Capacity: 8, AccessGroup: strconv.Itoa(gid), Perm: perm})
			if err != nil {
				t.Fatalf("%v: Create with AccessGroup %d: %v", b, gid, err)
			}
			defer p.Close()
			want := perm
			if want == 0 {
				want = DefaultGroupPerm
			}
			fi, err := os.Lstat(segPath(b, name))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != want || int(st.Gid) != gid || int(st.Uid) != os.Geteuid() {
				t.Errorf("%v Perm %#o: segment has mode %#o uid %d gid %d; want %#o, uid %d, gid %d", b, perm, fi.Mode().Perm(), st.Uid, st.Gid, want, os.Geteuid(), gid)
			}
			// Zero Perm accepts a mode granting nothing to others.
			c, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Backend: b})
			if err != nil {
				t.Fatalf("%v: Attach without Perm to a %#o ring: %v", b, want, err)
			}
			c.Close()
			c, err = Attach[procEvent](context.Background(), name, ConsumerConfig{Backend: b, Perm: want, Owner: strconv.Itoa(os.Geteuid())})
			if err != nil {
				t.Fatalf("%v: Attach with Perm %#o naming ourselves as Owner: %v", b, want, err)
			}
			c.Close()
			if _, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Backend: b, Perm: 0o600}); !errors.Is(err, ErrPermission) {
				t.Errorf("%v: Attach with Perm 0600 to a %#o ring = %v, want ErrPermission", b, want, err)
			}
		}
	}
}

// TestAccess_OwnerTrust: an attacher that names another owner refuses its
// own user's ring (consumer and joining producer alike), and the error
// names both uids.
func TestAccess_OwnerTrust(t *testing.T) {
	me := os.Geteuid()
	other := strconv.Itoa(me + 1)
	name := segName(t, Shm, "own")
	p, err := Create[procEvent](name, Config{Capacity: 8, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = Attach[procEvent](context.Background(), name, ConsumerConfig{Owner: other})
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), fmt.Sprintf("uid %d", me)) || !strings.Contains(err.Error(), "uid "+other) {
		t.Errorf("Attach trusting uid %s = %v, want ErrPermission naming uids %d and %s", other, err, me, other)
	}
	if _, err := Join[procEvent](context.Background(), name, JoinConfig{Owner: other}); !errors.Is(err, ErrPermission) {
		t.Errorf("JoinProducer trusting uid %s = %v, want ErrPermission", other, err)
	}
	jp, err := Join[procEvent](context.Background(), name, JoinConfig{Owner: strconv.Itoa(me)})
	if err != nil {
		t.Fatalf("JoinProducer naming ourselves: %v", err)
	}
	jp.Close()
}

// TestAccess_ByName: Owner and AccessGroup also take names, resolved with
// os/user.
func TestAccess_ByName(t *testing.T) {
	u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil {
		t.Skipf("our uid has no user name: %v", err)
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		t.Skipf("our gid has no group name: %v", err)
	}
	name := segName(t, Shm, "byname")
	p, err := Create[procEvent](name, Config{Capacity: 8, AccessGroup: g.Name})
	if err != nil {
		t.Fatalf("Create with AccessGroup %q: %v", g.Name, err)
	}
	defer p.Close()
	fi, err := os.Lstat(segPath(Shm, name))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); strconv.Itoa(int(st.Gid)) != g.Gid || fi.Mode().Perm() != DefaultGroupPerm {
		t.Errorf("AccessGroup %q: gid %d mode %#o, want gid %s mode 0660", g.Name, st.Gid, fi.Mode().Perm(), g.Gid)
	}
	c, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Owner: u.Username})
	if err != nil {
		t.Fatalf("Attach with Owner %q: %v", u.Username, err)
	}
	c.Close()
}
