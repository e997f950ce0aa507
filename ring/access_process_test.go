package ring

// Access across OS users, with real users: the test (as root) creates rings
// for a group and starts children (the access role, proc_test.go) as other
// uids, which attach, join or create and report what happened.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
)

// accessResult is what an access child reports.
type accessResult struct {
	UID, GID      int
	Groups        []int
	Err           string
	Permission    bool // errors.Is(err, ErrPermission)
	FsPermission  bool // errors.Is(err, fs.ErrPermission)
	NotReady      bool // errors.Is(err, ErrNotReady)
	InvalidConfig bool // errors.Is(err, ErrInvalidConfig)
	Read          consumeResult
	Published     int64
	Stat          string // create: the new segment's "uid U gid G mode M"
	Left          bool   // create: the segment exists after Create failed
}

// access is the child side: one Attach (then read N events), JoinProducer
// (then publish N events) or Create, as whatever user it was started as.
func access(t *testing.T, ch *childtest.Child, a procArgs) {
	r := accessResult{UID: os.Geteuid(), GID: os.Getegid(), Read: consumeResult{First: -1, Last: -1, next: -1}}
	r.Groups, _ = os.Getgroups()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	actx := ctx // bounds Attach and Join: they wait for the ring until it ends
	if a.Ready > 0 {
		var acancel context.CancelFunc
		actx, acancel = context.WithTimeout(ctx, a.Ready)
		defer acancel()
	}
	report := func(err error) {
		r.Err = err.Error()
		r.Permission = errors.Is(err, ErrPermission)
		r.FsPermission = errors.Is(err, fs.ErrPermission)
		r.NotReady = errors.Is(err, ErrNotReady)
		r.InvalidConfig = errors.Is(err, ErrInvalidConfig)
	}
	switch a.Op {
	case "", "attach":
		c, err := Attach[procEvent](actx, a.Name, ConsumerConfig{Backend: a.Backend, ID: a.ID, Owner: a.Owner, Perm: a.Perm, Start: StartAt(0)})
		if err != nil {
			report(err)
			break
		}
		for r.Read.Count < a.N {
			e, err := c.Recv(ctx)
			if err != nil {
				report(err)
				break
			}
			r.Read.see(e.Seq, &e)
		}
		if err := c.Close(); err != nil && r.Err == "" {
			report(err)
		}
	case "join":
		p, err := Join[procEvent](actx, a.Name, JoinConfig{Backend: a.Backend, Owner: a.Owner, Perm: a.Perm})
		if err != nil {
			report(err)
			break
		}
		for i := int64(0); i < a.N; i++ {
			seq, err := p.Publish(ctx, func(e *procEvent) { e.set(i) })
			if err != nil || seq != i {
				report(fmt.Errorf("publish %d: seq %d, %v", i, seq, err))
				break
			}
			r.Published++
		}
		p.Close()
	case "create":
		p, err := Create[procEvent](a.Name, Config{Backend: a.Backend, Capacity: a.Capacity, AccessGroup: a.AccessGroup, Perm: a.Perm})
		if err != nil {
			report(err)
		} else {
			var st syscall.Stat_t
			if err := syscall.Lstat(segPath(a.Backend, a.Name), &st); err != nil {
				r.Stat = err.Error()
			} else {
				r.Stat = fmt.Sprintf("uid %d gid %d mode %#o", st.Uid, st.Gid, st.Mode&0o777)
			}
			p.Close()
		}
		if err != nil {
			_, serr := os.Lstat(segPath(a.Backend, a.Name))
			r.Left = serr == nil
		}
	default:
		t.Fatalf("unknown access op %q", a.Op)
	}
	ch.Result(r)
}

// TestMultiProcess_AccessAcrossUsers: root creates rings for group 4242
// (numeric: no /etc/group entry needed) and publishes; children run as
// other uids:
//
//   - uid 4243 in group 4242, trusting owner "0", attaches and reads every
//     event, joins a multi-producer ring and publishes events root reads,
//     and creates its own group ring (uid 4243, gid 4242, mode 0660);
//   - uid 4244, outside the group, is refused by the kernel: ErrPermission
//     (and fs.ErrPermission), naming the path;
//   - uid 4243 not naming the owner, or naming another one, is refused:
//     ErrPermission naming both uids;
//   - uid 4243 is refused a plain (0600) ring: ErrPermission;
//   - uid 4243 creating a ring for group 4244, which it is not in, is
//     refused (ErrPermission) and leaves no segment;
//   - a segment still being created (empty, owner-only mode) is waited
//     for (ErrNotReady when the attach deadline passes), not refused.
func TestMultiProcess_AccessAcrossUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start children as other users")
	}
	const group, member, outsider = 4242, 4243, 4244
	inGroup := &syscall.Credential{Uid: member, Gid: member, Groups: []uint32{group}}
	outside := &syscall.Credential{Uid: outsider, Gid: outsider, Groups: []uint32{}}
	// Children run a copy of the test binary that other users can run.
	bin, dir := childtest.CopyBinary(t)
	as := func(cred *syscall.Credential) childtest.Options {
		return childtest.Options{Bin: bin, Dir: dir, SysProcAttr: &syscall.SysProcAttr{Credential: cred}, Timeout: procTimeout, Life: procTimeout}
	}
	{
		// Can we switch credentials here (a container may forbid it), and
		// can the other user run the copy?
		hello, err := childtest.Hello.TryStart(t, struct{}{}, as(inGroup))
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot start a process as uid %d: %v", member, err)
		}
		if err != nil {
			t.Fatalf("the test binary copy %s does not start as uid %d: %v", bin, member, err)
		}
		if got, want := hello.Expect("hello"), fmt.Sprintf("%d %d", member, member); got != want {
			t.Fatalf("the test binary copy %s runs as uid, gid %s, want %s", bin, got, want)
		}
		hello.Wait()
	}
	run := func(t *testing.T, cred *syscall.Credential, a procArgs) accessResult {
		t.Helper()
		a.Role = "access"
		c := spawnWith(t, a, as(cred))
		var r accessResult
		c.Result(&r)
		c.Wait()
		if r.UID != int(cred.Uid) || r.GID != int(cred.Gid) {
			t.Fatalf("child ran as uid %d gid %d, want %d %d", r.UID, r.GID, cred.Uid, cred.Gid)
		}
		return r
	}
	refused := func(t *testing.T, who string, r accessResult, kernel bool, mustName ...string) {
		t.Helper()
		t.Logf("%s: %s", who, r.Err)
		if !r.Permission {
			t.Errorf("%s: %q does not match ErrPermission", who, r.Err)
		}
		if kernel != r.FsPermission {
			t.Errorf("%s: %q matches fs.ErrPermission: %v, want %v", who, r.Err, r.FsPermission, kernel)
		}
		for _, s := range mustName {
			if !strings.Contains(r.Err, s) {
				t.Errorf("%s: %q does not name %q", who, r.Err, s)
			}
		}
	}
	const n = 100
	name := segName(t, Shm, "acc")
	p, err := Create[procEvent](name, Config{Capacity: 128, AccessGroup: fmt.Sprint(group)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var st syscall.Stat_t
	if err := syscall.Lstat("/dev/shm/"+name, &st); err != nil || st.Uid != 0 || st.Gid != group || st.Mode&0o777 != 0o660 {
		t.Fatalf("group ring: uid %d gid %d mode %#o (%v); want uid 0 gid %d mode 0660", st.Uid, st.Gid, st.Mode&0o777, err, group)
	}
	for i := int64(0); i < n; i++ {
		if _, err := p.Publish(context.Background(), func(e *procEvent) { e.set(i) }); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("member_reads", func(t *testing.T) {
		r := run(t, inGroup, procArgs{Name: name, ID: "member", Owner: "0", N: n})
		if r.Err != "" {
			t.Fatalf("member trusting root: %s", r.Err)
		}
		checkStream(t, "member", r.Read, 0, n-1)
	})
	t.Run("outsider_refused", func(t *testing.T) {
		r := run(t, outside, procArgs{Name: name, Owner: "0", N: n})
		refused(t, "outsider", r, true, "/dev/shm/"+name)
	})
	t.Run("owner_not_named", func(t *testing.T) {
		r := run(t, inGroup, procArgs{Name: name, N: n})
		refused(t, "member not naming the owner", r, false, "uid 0", fmt.Sprintf("uid %d", member))
		r = run(t, inGroup, procArgs{Name: name, Owner: fmt.Sprint(outsider), N: n})
		refused(t, "member naming another owner", r, false, "uid 0", fmt.Sprintf("uid %d", outsider))
	})
	t.Run("private_ring", func(t *testing.T) {
		priv := segName(t, Shm, "priv")
		pp, err := Create[procEvent](priv, Config{Capacity: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer pp.Close()
		r := run(t, inGroup, procArgs{Name: priv, Owner: "0", N: 1})
		refused(t, "member on a 0600 ring", r, true, "/dev/shm/"+priv)
	})
	t.Run("join", func(t *testing.T) {
		const k = 20
		mp := segName(t, Shm, "accmp")
		pm, err := Create[procEvent](mp, Config{Capacity: 64, MaxProducers: 2, AccessGroup: fmt.Sprint(group)})
		if err != nil {
			t.Fatal(err)
		}
		defer pm.Close()
		c, err := Attach[procEvent](context.Background(), mp, ConsumerConfig{ID: "root"})
		if err != nil {
			t.Fatalf("root attaching to its own 0660 ring without Perm: %v", err)
		}
		defer c.Close()
		r := run(t, inGroup, procArgs{Op: "join", Name: mp, Owner: "root", N: k})
		if r.Err != "" || r.Published != k {
			t.Fatalf("member joining as a producer: published %d, %s", r.Published, r.Err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
		defer cancel()
		for i := int64(0); i < k; i++ {
			e, err := c.Recv(ctx)
			if err != nil || e.Seq != i || !e.valid(i) {
				t.Fatalf("event %d from the member: %+v, %v", i, e, err)
			}
		}
		r = run(t, inGroup, procArgs{Op: "join", Name: mp, N: 1})
		refused(t, "member joining without naming the owner", r, false, "uid 0")
	})
	t.Run("create", func(t *testing.T) {
		own := segName(t, Shm, "mine")
		r := run(t, inGroup, procArgs{Op: "create", Name: own, Capacity: 8, AccessGroup: fmt.Sprint(group)})
		if want := fmt.Sprintf("uid %d gid %d mode 0660", member, group); r.Err != "" || r.Stat != want {
			t.Errorf("member creating for its group: %q, %s; want %q", r.Stat, r.Err, want)
		}
		bad := segName(t, Shm, "notmine")
		r = run(t, inGroup, procArgs{Op: "create", Name: bad, Capacity: 8, AccessGroup: fmt.Sprint(outsider)})
		refused(t, "member creating for a group it is not in", r, true, "/dev/shm/"+bad, fmt.Sprintf("gid %d", outsider))
		if _, err := os.Lstat("/dev/shm/" + bad); r.Left || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the refused Create left its segment: child saw it: %v, now: %v", r.Left, err)
		}
	})
	t.Run("being_created", func(t *testing.T) {
		// What a group ring looks like between Create's open and its
		// fchown+fchmod: empty, root's, owner bits only.
		early := segName(t, Shm, "early")
		f, err := os.OpenFile("/dev/shm/"+early, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		begin := time.Now()
		r := run(t, inGroup, procArgs{Name: early, Owner: "0", Ready: 300 * time.Millisecond})
		if !r.NotReady || r.Permission {
			t.Errorf("member on a segment being created: %q (ErrNotReady %v, ErrPermission %v); want ErrNotReady, not ErrPermission", r.Err, r.NotReady, r.Permission)
		}
		if d := time.Since(begin); d < 300*time.Millisecond {
			t.Errorf("gave up after %v, before its deadline", d)
		}
		// Without trusting root it is not worth waiting for.
		r = run(t, inGroup, procArgs{Name: early, Ready: 10 * time.Second})
		refused(t, "member on someone else's segment being created", r, true, "/dev/shm/"+early)
	})
}
