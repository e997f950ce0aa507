package ring

// Helpers of the multi-process tests (multiprocess_test.go and others): the
// children are roles of internal/childtest (produce, consume, follow,
// access), started by spawn with their role and parameters in procArgs.
// A child speaks childtest's line protocol on stdout ("created", "attached
// <pos>", "result {...}"); the parent sends commands ("go", "stop",
// "close", "exit") one per line on its stdin. A child whose stdin reaches
// EOF exits at once, so a child never outlives a parent that died, and
// every child also has a deadline.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
)

const (
	// procTimeout bounds every wait of the parent for a child's line or
	// exit; procDeadline bounds a child's whole life.
	procTimeout  = 30 * time.Second
	procDeadline = 90 * time.Second
)

// procEvent is the self-checking event of the multi-process tests: every
// field is derived from the sequence, so a torn, stale or misplaced slot
// shows without a reference copy.
type procEvent struct {
	Seq  int64
	Hash uint64
	Neg  int64
	Tail [5]uint64
}

func procHash(seq int64) uint64 { return uint64(seq)*0x9e3779b97f4a7c15 ^ 0xdeadbeefcafef00d }

func (e *procEvent) set(seq int64) {
	h := procHash(seq)
	e.Seq, e.Hash, e.Neg = seq, h, ^seq
	for i := range e.Tail {
		e.Tail[i] = h + uint64(i)*0x100000001b3
	}
}

func (e *procEvent) valid(seq int64) bool {
	h := procHash(seq)
	if e.Seq != seq || e.Hash != h || e.Neg != ^seq {
		return false
	}
	for i := range e.Tail {
		if e.Tail[i] != h+uint64(i)*0x100000001b3 {
			return false
		}
	}
	return true
}

// procEventRenamed has procEvent's layout but other field names: attaching
// with it must fail on the element type fingerprint.
type procEventRenamed struct {
	Seq  int64
	Sum  uint64
	Neg  int64
	Tail [5]uint64
}

// procEventSmall has another size.
type procEventSmall struct{ Seq int64 }

// procArgs are a child's role and parameters.
type procArgs struct {
	Role     string // "produce", "consume"
	Name     string
	Backend  Backend
	Capacity int
	Liveness time.Duration
	Perm     os.FileMode
	Wait     string // wait strategy (ParseWaitStrategy)
	// After says what to do when done: producer "close" (default), "hang"
	// (wait for the "close" command, then close) or "exit" (exit without
	// closing); consumer "close" (default), "exit" or "hang" (until
	// killed).
	After string

	// Producer.
	N         int64         // events to publish; -1: until the "stop" command
	Batch     int           // > 0: publish in batches of this size
	Consumers int           // wait for this many consumers before publishing
	Pace      time.Duration // sleep this long after every 16 events
	Announce  int64         // say "running" once this many events are out

	// Consumer.
	ID      string
	Read    string        // "next" (default), "process", "lease", "all", "idle"
	Stop    int64         // > 0: stop after this many events
	Inspect bool          // read Stats().Published with Inspect before attaching
	WaitGo  bool          // after attaching, wait for the "go" command
	Timeout time.Duration // bounds the reading (idle: the idle wait)

	// Access role (access_process_test.go); also uses Name, Backend,
	// Capacity, Perm, ID and N.
	Op          string        // "attach" (default), "join" or "create"
	Owner       string        // ConsumerConfig.Owner, JoinConfig.Owner
	AccessGroup string        // create: Config.AccessGroup
	Ready       time.Duration // attach, join: how long to wait for the ring
}

// produceResult is what a producer child reports.
type produceResult struct {
	PID       int
	Published int64
	Stats     Stats
	Err       string
}

// consumeResult is what a consumer child reports.
type consumeResult struct {
	PID         int
	Before      int64 // Stats().Published seen by Inspect before Attach (-1: not asked)
	Start       int64 // Position() right after Attach
	First, Last int64 // first and last sequence read (-1: none)
	Count       int64 // events read
	Bad         int64 // events out of order or with wrong contents
	BadMsg      string
	Lapped      []LappedError
	End         string // errName of the error that ended reading ("" if stopped at Stop)
	EndMsg      string
	EndAfter    time.Duration // from the last event to the end error
	CPU         time.Duration // idle role: CPU time (user+system) of the idle wait
	next        int64
}

// see checks the event read at seq.
func (r *consumeResult) see(seq int64, e *procEvent) {
	bad := func(format string, args ...any) {
		if r.Bad == 0 {
			r.BadMsg = fmt.Sprintf(format, args...)
		}
		r.Bad++
	}
	switch {
	case r.next >= 0 && seq != r.next:
		bad("read seq %d, want %d (after %d events)", seq, r.next, r.Count)
	case !e.valid(seq):
		bad("seq %d: bad contents %+v", seq, *e)
	}
	if r.Count == 0 {
		r.First = seq
	}
	r.Count++
	r.Last = seq
	r.next = seq + 1
}

// errName classifies a child's error for the parent (errors do not cross
// processes).
func errName(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrEndOfStream):
		return "end_of_stream"
	case errors.Is(err, ErrProducerGone):
		return "producer_gone"
	case errors.Is(err, ErrLapped):
		return "lapped"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return "other"
}

// TestChildProcess is where a child process of these tests plays its role
// (internal/childtest); run directly it skips.
func TestChildProcess(t *testing.T) { childtest.Run(t) }

// procRoles are the child roles spawn starts, by procArgs.Role.
var procRoles = map[string]childtest.Role[procArgs]{
	"produce": childtest.Register("ring.produce", produce),
	"consume": childtest.Register("ring.consume", consume),
	"follow":  childtest.Register("ring.follow", follow),
	"access":  childtest.Register("ring.access", access),
}

// spawn starts a child in role a.Role. It is killed (if still running)
// when the test ends, and its stray output is logged if the test failed.
func spawn(t *testing.T, a procArgs) *childtest.Proc {
	t.Helper()
	return spawnWith(t, a, childtest.Options{})
}

// spawnWith is spawn with options (another binary, other credentials);
// the timeouts default to procTimeout and procDeadline.
func spawnWith(t *testing.T, a procArgs, o childtest.Options) *childtest.Proc {
	t.Helper()
	r, ok := procRoles[a.Role]
	if !ok {
		t.Fatalf("no child role %q", a.Role)
	}
	if o.Label == "" {
		o.Label = a.Role + " " + a.ID
	}
	if o.Timeout == 0 {
		o.Timeout = procTimeout
	}
	if o.Life == 0 {
		o.Life = procDeadline
	}
	return r.Start(t, a, o)
}

func produce(t *testing.T, ch *childtest.Child, a procArgs) {
	w, err := ParseWaitStrategy(a.Wait)
	if err != nil {
		t.Fatalf("%v", err)
	}
	p, err := Create[procEvent](a.Name, Config{Backend: a.Backend, Capacity: a.Capacity, LivenessInterval: a.Liveness, Perm: a.Perm, Wait: w})
	if err != nil {
		ch.Result(produceResult{PID: os.Getpid(), Err: err.Error()})
		os.Exit(1)
	}
	ch.Say("created %d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	if a.Consumers > 0 {
		if err := p.WaitForConsumers(ctx, a.Consumers, ""); err != nil {
			t.Fatalf("WaitForConsumers: %v", err)
		}
	}
	ch.Say("consumers")
	var n, cur int64 // n: events published; cur: the one being filled
	announced := false
	fillOne := func(e *procEvent) { e.set(cur) }
	fillBatch := func(i int, e *procEvent) { e.set(cur + int64(i)) }
	for a.N < 0 || n < a.N {
		if a.N < 0 && ch.Poll() == "stop" {
			break
		}
		cur = n
		if k := int64(a.Batch); k > 0 {
			if a.N >= 0 {
				k = min(k, a.N-n)
			}
			hi, err := p.PublishBatch(ctx, int(k), fillBatch)
			if err != nil || hi != n+k-1 {
				t.Fatalf("PublishBatch at %d: seq %d, %v", n, hi, err)
			}
			n += k
		} else {
			seq, err := p.Publish(ctx, fillOne)
			if err != nil || seq != n {
				t.Fatalf("Publish at %d: seq %d, %v", n, seq, err)
			}
			n++
		}
		if a.Announce > 0 && n >= a.Announce && !announced {
			announced = true
			ch.Say("running")
		}
		if a.Pace > 0 && n%16 == 0 {
			time.Sleep(a.Pace)
		}
	}
	ch.Say("published %d", n)
	res := produceResult{PID: os.Getpid(), Published: n, Stats: p.Stats()}
	switch a.After {
	case "exit":
		ch.Result(res)
		os.Exit(0)
	case "hang":
		ch.Await("close")
	}
	if err := p.Close(); err != nil {
		res.Err = err.Error()
	}
	ch.Result(res)
}

func consume(t *testing.T, ch *childtest.Child, a procArgs) {
	w, err := ParseWaitStrategy(a.Wait)
	if err != nil {
		t.Fatalf("%v", err)
	}
	r := consumeResult{PID: os.Getpid(), Before: -1, First: -1, Last: -1, next: -1}
	if a.Inspect {
		_, st, err := Inspect(a.Backend, a.Name)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		r.Before = st.Published
	}
	c, err := Attach[procEvent](context.Background(), a.Name, ConsumerConfig{Backend: a.Backend, ID: a.ID, Wait: w, LivenessInterval: a.Liveness})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	r.Start = c.Position()
	ch.Say("attached %d", r.Start)
	if a.WaitGo {
		ch.Await("go")
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = procTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	if a.Read == "idle" {
		// Wait for an event that never comes, and measure what it costs.
		before := cpuTime()
		_, err := c.Recv(ctx)
		r.CPU = cpuTime() - before
		r.End, r.EndMsg = errName(err), fmt.Sprint(err)
		ch.Say("waited")
		ch.Result(r)
		ch.Await("exit")
		c.Close()
		return
	}

	var end error
	var lastAt time.Time
	for a.Stop <= 0 || r.Count < a.Stop {
		var err error
		switch a.Read {
		case "", "next":
			var e procEvent
			if e, err = c.Recv(ctx); err == nil {
				r.see(e.Seq, &e)
				if c.Position() != e.Seq {
					r.Bad++
					r.BadMsg = fmt.Sprintf("Position %d after reading seq %d", c.Position(), e.Seq)
				}
			}
		case "lease":
			err = c.Read(ctx, func(e *procEvent, seq int64) error {
				r.see(seq, e)
				return nil
			})
		case "process":
			limit := 0
			if a.Stop > 0 {
				limit = int(a.Stop - r.Count)
			}
			ends := 0
			var k int
			k, err = c.Process(ctx, limit, func(e *procEvent, seq int64, endOfBatch bool) error {
				if ends != 0 {
					r.Bad++
					r.BadMsg = fmt.Sprintf("seq %d after an endOfBatch", seq)
				}
				if endOfBatch {
					ends++
				}
				r.see(seq, e)
				return nil
			})
			if err == nil && (k < 1 || ends != 1) {
				r.Bad++
				r.BadMsg = fmt.Sprintf("Process returned %d events with %d endOfBatch flags", k, ends)
			}
		case "all":
			stopped := false
			for seq, e := range c.All(ctx) {
				r.see(seq, &e)
				if a.Stop > 0 && r.Count >= a.Stop {
					stopped = true
					break
				}
			}
			if err = c.Err(); err == nil && !stopped {
				err = ErrEndOfStream
			}
		default:
			t.Fatalf("unknown read method %q", a.Read)
		}
		if err == nil {
			lastAt = time.Now()
			continue
		}
		if le := (*LappedError)(nil); errors.As(err, &le) {
			r.Lapped = append(r.Lapped, *le)
			r.next = le.ResumeAt
			continue
		}
		end = err
		break
	}
	if !lastAt.IsZero() {
		r.EndAfter = time.Since(lastAt)
	}
	if end != nil {
		r.End, r.EndMsg = errName(end), end.Error()
		if r.End == "end_of_stream" {
			// The end is sticky.
			if _, err := c.TryRecv(); !errors.Is(err, ErrEndOfStream) {
				r.Bad++
				r.BadMsg = fmt.Sprintf("TryNext after the end: %v", err)
			}
		}
	}
	ch.Say("pos %d", c.Position())
	switch a.After {
	case "exit":
		ch.Result(r)
		os.Exit(0)
	case "hang":
		ch.Result(r)
		ch.Await("never")
	}
	if err := c.Close(); err != nil {
		r.Bad++
		r.BadMsg = fmt.Sprintf("Close: %v", err)
	}
	ch.Result(r)
}

// cpuTime is the CPU time (user and system, every thread) this process used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// segName returns a fresh segment name for backend b (a path under the
// test's temporary directory for File) and removes the segment when the
// test ends if a killed or failing participant left it behind.
func segName(t *testing.T, b Backend, prefix string) string {
	name := PortableName(prefix)
	if b == File {
		return filepath.Join(t.TempDir(), name)
	}
	t.Cleanup(func() {
		if err := os.Remove("/dev/shm/" + name); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup of segment %s: %v", name, err)
		}
	})
	return name
}

// waitFor polls cond every millisecond until it holds, failing the test
// after procTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s", procTimeout, what)
		case <-time.After(time.Millisecond):
		}
	}
}

// procCPU reads a process's CPU time (utime+stime) from /proc/<pid>/stat,
// in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the ")" closing the command name: state is field 3,
	// utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
