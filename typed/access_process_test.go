package typed_test

// What every layer's Create and Attach say when the OS says no: another
// user (a child process as uid 65534) refused a 0600 ring gets an error
// matching ring.ErrPermission (and fs.ErrPermission) from every entry
// point of every layer; a file system without room for a ring gets
// ErrNoSpace from every layer's Create.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// refusedArgs name the rings the child tries: one per layer, created by
// the parent (root) with the default mode 0600.
type refusedArgs struct {
	Backend                 ring.Backend
	Raw, Multi, Framed, Typ string
}

// refusal is what one entry point said.
type refusal struct {
	Op           string
	Err          string
	Permission   bool // errors.Is(err, ring.ErrPermission)
	FsPermission bool // errors.Is(err, fs.ErrPermission)
}

var refusedRole = childtest.Register("typed.refused", func(t *testing.T, ch *childtest.Child, a refusedArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []refusal
	try := func(op string, err error) {
		r := refusal{Op: op, Permission: errors.Is(err, ring.ErrPermission), FsPermission: errors.Is(err, fs.ErrPermission)}
		if err != nil {
			r.Err = err.Error()
		}
		out = append(out, r)
	}
	b := a.Backend
	closeErr := func(c interface{ Close() error }, err error) error {
		if err == nil {
			c.Close()
		}
		return err
	}
	{
		c, err := ring.Attach[int64](ctx, a.Raw, ring.ConsumerConfig{Backend: b})
		try("ring.Attach", closeErr(c, err))
	}
	{
		c, err := ring.Attach[int64](ctx, a.Raw, ring.ConsumerConfig{Backend: b, Owner: "0"})
		try("ring.Attach trusting root", closeErr(c, err))
	}
	{
		c, err := ring.AttachBytes(ctx, a.Multi, ring.ConsumerConfig{Backend: b, Owner: "0"})
		try("ring.AttachBytes", closeErr(c, err))
	}
	{
		p, err := ring.JoinBytes(ctx, a.Multi, ring.JoinConfig{Backend: b, Owner: "0"})
		try("ring.JoinBytes", closeErr(p, err))
	}
	{
		_, _, err := ring.Inspect(b, a.Raw)
		try("ring.Inspect", err)
	}
	try("ring.Reclaim", ring.Reclaim(b, a.Raw))
	{
		p, err := ring.Create[int64](a.Raw, ring.Config{Backend: b})
		try("ring.Create over it", closeErr(p, err))
	}
	{
		c, err := frame.Attach(ctx, a.Framed, frame.ConsumerConfig{Backend: b, Owner: "0"})
		try("frame.Attach", closeErr(c, err))
	}
	{
		c, err := typed.Attach(ctx, a.Typ, payloadCodec(), typed.ConsumerConfig{Backend: b, Owner: "0"})
		try("typed.Attach", closeErr(c, err))
	}
	ch.Result(out)
})

// TestMultiProcess_PermissionEveryEntryPoint: root creates a raw, a
// multi-producer byte, a framed and a typed ring, mode 0600, on the Shm
// and the File backend (in a directory every user may enter); a child
// running as uid and gid 65534 (nobody) tries every way in: attach with
// and without trusting root, attach bytes, join, inspect, reclaim, create
// over it, frame.Attach, typed.Attach. Every attempt fails with an error
// that matches ring.ErrPermission and fs.ErrPermission, whatever call the
// kernel refused.
func TestMultiProcess_PermissionEveryEntryPoint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as another user (uid 65534)")
	}
	const nobody = 65534
	bin, dir := childtest.CopyBinary(t)
	as := childtest.Options{Bin: bin, Dir: dir, Timeout: 30 * time.Second, Life: 60 * time.Second,
		SysProcAttr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}}
	hello, err := childtest.Hello.TryStart(t, struct{}{}, as)
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot start a process as uid %d here: %v", nobody, err)
	}
	if err != nil {
		t.Fatalf("the test binary copy %s does not start as uid %d: %v", bin, nobody, err)
	}
	if got, want := hello.Expect("hello"), fmt.Sprintf("%d %d", nobody, nobody); got != want {
		t.Fatalf("the copy runs as uid, gid %s, want %s", got, want)
	}
	hello.Wait()

	for _, b := range []ring.Backend{ring.Shm, ring.File} {
		t.Run(b.String(), func(t *testing.T) {
			name := func(prefix string) string {
				n := ring.PortableName(prefix)
				if b == ring.File {
					return filepath.Join(dir, n) // dir: mode 0755, root's
				}
				return n
			}
			a := refusedArgs{Backend: b, Raw: name("raw"), Multi: name("mp"), Framed: name("fr"), Typ: name("ty")}
			raw, err := ring.Create[int64](a.Raw, ring.Config{Backend: b, Capacity: 8})
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			mp, err := ring.CreateBytes(a.Multi, ring.Config{Backend: b, Capacity: 8, MaxProducers: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer mp.Close()
			fr, err := frame.Create(a.Framed, frame.Config{Backend: b, Capacity: 8})
			if err != nil {
				t.Fatal(err)
			}
			defer fr.Close()
			ty, err := typed.Create(a.Typ, payloadCodec(), typed.Config{Backend: b, Capacity: 8})
			if err != nil {
				t.Fatal(err)
			}
			defer ty.Close()

			c := refusedRole.Start(t, a, as)
			var got []refusal
			c.Result(&got)
			c.Wait()
			if len(got) != 9 {
				t.Fatalf("the child tried %d entry points, want 9: %+v", len(got), got)
			}
			for _, r := range got {
				t.Logf("%s: %s", r.Op, r.Err)
				if !r.Permission || !r.FsPermission {
					t.Errorf("%s as uid %d on a 0600 ring: %q; ErrPermission %v, fs.ErrPermission %v; want both", r.Op, nobody, r.Err, r.Permission, r.FsPermission)
				}
			}
		})
	}
}

// TestCreate_NoSpaceEveryLayer: on a 4 MiB tmpfs, a ring too large for it
// is ErrNoSpace (and ENOSPC) from every layer's Create, which leaves
// nothing behind.
func TestCreate_NoSpaceEveryLayer(t *testing.T) {
	dir := testfix.Tmpfs(t, 4<<20)
	creates := []struct {
		layer  string
		create func(name string) error
	}{
		{"ring.Create", func(name string) error {
			p, err := ring.Create[int64](name, ring.Config{Backend: ring.File, Capacity: 1 << 20})
			if err == nil {
				p.Close()
			}
			return err
		}},
		{"ring.CreateBytes", func(name string) error {
			p, err := ring.CreateBytes(name, ring.Config{Backend: ring.File, Capacity: 4096, SlotSize: 4096})
			if err == nil {
				p.Close()
			}
			return err
		}},
		{"frame.Create", func(name string) error {
			p, err := frame.Create(name, frame.Config{Backend: ring.File, Capacity: 4096, PayloadCapacity: 4096})
			if err == nil {
				p.Close()
			}
			return err
		}},
		{"typed.Create", func(name string) error {
			p, err := typed.Create(name, payloadCodec(), typed.Config{Backend: ring.File, Capacity: 4096, PayloadCapacity: 4096})
			if err == nil {
				p.Close()
			}
			return err
		}},
	}
	for _, c := range creates {
		err := c.create(filepath.Join(dir, "big"))
		t.Logf("%s: %v", c.layer, err)
		if !errors.Is(err, ring.ErrNoSpace) || !errors.Is(err, frame.ErrNoSpace) || !errors.Is(err, typed.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("%s of a ring larger than its file system: %v; want ErrNoSpace and ENOSPC", c.layer, err)
		}
		if left := testfix.DirNames(t, dir); len(left) != 0 {
			t.Errorf("%s left %q behind", c.layer, left)
		}
	}
}
