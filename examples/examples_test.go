package examples_test

// These tests build every example program once, then run them as separate
// OS processes talking through real shared-memory rings (each test under a
// ring name of its own), and check what they print.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// programs are the example programs, as package paths relative to this
// module's root.
var programs = []string{
	"quickstart/producer",
	"quickstart/consumer",
	"framed",
	"typed",
	"zerocopy",
	"required",
	"group",
	"fabric",
}

// binDir holds the programs built by TestMain, one binary per program,
// named after the last element of its path.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "myelon-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = build(dir)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		binDir = dir
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build builds every program into dir with one go command.
func build(dir string) error {
	// go test puts its own GOROOT/bin first in PATH.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range programs {
		args = append(args, "./"+p)
	}
	cmd := exec.Command(goCmd, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, p := range programs {
		if _, err := os.Stat(filepath.Join(dir, path.Base(p))); err != nil {
			return fmt.Errorf("building %s: %v", p, err)
		}
	}
	return nil
}

// testCtx bounds a whole test: any process still running when it ends is
// killed.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ringName returns a fresh ring name and removes the segment at the end
// of the test if a killed producer left it behind.
func ringName(t *testing.T, prefix string) string {
	name := ring.PortableName(prefix)
	t.Cleanup(func() { ring.Reclaim(ring.Shm, name) })
	return name
}

// proc is a running example program whose standard output is collected
// line by line.
type proc struct {
	t      *testing.T
	label  string
	cmd    *exec.Cmd
	stderr bytes.Buffer

	mu     sync.Mutex
	lines  []string
	notify chan struct{} // a line arrived
	exited chan struct{} // closed after the process exited
	err    error         // cmd.Wait's result, once exited
}

// start runs the program named by prog (an element of programs) with args.
func start(t *testing.T, ctx context.Context, prog string, args ...string) *proc {
	t.Helper()
	p := &proc{
		t:      t,
		label:  prog + " " + strings.Join(args, " "),
		notify: make(chan struct{}, 1),
		exited: make(chan struct{}),
	}
	p.cmd = exec.CommandContext(ctx, filepath.Join(binDir, path.Base(prog)), args...)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.label, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s: output:\n%s\nstderr:\n%s", p.label, strings.Join(p.output(), "\n"), p.stderr.String())
		}
	})
	return p
}

// output returns the lines printed so far.
func (p *proc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

// waitLine waits until the program prints a line containing s, and
// returns it. It fails the test if the program exits first or takes more
// than 10 s.
func (p *proc) waitLine(s string) string {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for seen := 0; ; {
		lines := p.output()
		for _, l := range lines[seen:] {
			if strings.Contains(l, s) {
				return l
			}
		}
		seen = len(lines)
		select {
		case <-p.notify:
		case <-p.exited:
			if len(p.output()) == seen {
				p.t.Fatalf("%s exited (%v) without printing %q; stderr:\n%s", p.label, p.err, s, p.stderr.String())
			}
		case <-timeout:
			p.t.Fatalf("%s did not print %q within 10 s", p.label, s)
		}
	}
}

// wait waits for the program to exit, fails the test unless it exited
// with status 0, and returns its output.
func (p *proc) wait() []string {
	p.t.Helper()
	<-p.exited
	if p.err != nil {
		p.t.Fatalf("%s: %v; stderr:\n%s", p.label, p.err, p.stderr.String())
	}
	return p.output()
}

// kill kills the program with SIGKILL and returns what it printed.
func (p *proc) kill() []string {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	<-p.exited
	return p.output()
}

// signal sends sig to the program.
func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// having returns the lines that start with prefix, with the prefix cut.
func having(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

// ints parses the first field of every line.
func ints(t *testing.T, lines []string) []int {
	t.Helper()
	out := make([]int, len(lines))
	for i, l := range lines {
		f, _, _ := strings.Cut(l, " ")
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out[i] = n
	}
	return out
}

// checkRange asserts that got is first, first+1, ..., last.
func checkRange(t *testing.T, who string, got []int, first, last int) {
	t.Helper()
	want := make([]int, 0, last-first+1)
	for i := first; i <= last; i++ {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s read %v, want every sequence %d..%d once, in order", who, got, first, last)
	}
}

func lastLine(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// TestQuickstart runs the quick-start producer and consumer, started in
// both orders: the consumer gets every tick, with its values, in order,
// then the end of the stream, and both exit cleanly.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	const n = 20
	check := func(t *testing.T, prod, cons *proc) {
		pout, cout := prod.wait(), cons.wait()
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("%d price %.2f qty %d", i, 100+float64(i)/4, 10*(i+1)))
		}
		if got := having(cout, "consumer: tick "); !slices.Equal(got, want) {
			t.Errorf("consumer printed ticks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if l := lastLine(cout); l != "consumer: end of stream" {
			t.Errorf("consumer's last line %q, want end of stream", l)
		}
		if got := having(pout, "producer: sent tick "); len(got) != n {
			t.Errorf("producer sent %d ticks, want %d", len(got), n)
		}
	}
	t.Run("consumer-first", func(t *testing.T) {
		t.Parallel()
		ctx, name := testCtx(t), ringName(t, "ex-qs")
		cons := start(t, ctx, "quickstart/consumer", "-ring", name)
		cons.waitLine("waiting for ring")
		time.Sleep(100 * time.Millisecond) // Attach is waiting for a ring that does not exist yet
		prod := start(t, ctx, "quickstart/producer", "-ring", name, "-n", strconv.Itoa(n))
		check(t, prod, cons)
	})
	t.Run("producer-first", func(t *testing.T) {
		t.Parallel()
		ctx, name := testCtx(t), ringName(t, "ex-qs")
		prod := start(t, ctx, "quickstart/producer", "-ring", name, "-n", strconv.Itoa(n))
		prod.waitLine("waiting for a consumer")
		time.Sleep(100 * time.Millisecond) // the producer is waiting in WaitForConsumers
		cons := start(t, ctx, "quickstart/consumer", "-ring", name)
		check(t, prod, cons)
	})
}

// TestInterrupt sends SIGINT and SIGTERM to programs that are waiting: they
// print that they were interrupted, exit with status 0, and the producer's
// ring is gone (its deferred Close ran).
func TestInterrupt(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)

	cons := start(t, ctx, "quickstart/consumer", "-ring", ringName(t, "ex-int"))
	cons.waitLine("waiting for ring")
	name := ringName(t, "ex-int")
	prod := start(t, ctx, "quickstart/producer", "-ring", name)
	prod.waitLine("waiting for a consumer")
	if _, _, err := ring.Inspect(ring.Shm, name); err != nil {
		t.Fatalf("the producer's ring: %v", err)
	}

	cons.signal(os.Interrupt)
	prod.signal(syscall.SIGTERM)
	if l := lastLine(cons.wait()); l != "consumer: interrupted" {
		t.Errorf("consumer's last line %q, want interrupted", l)
	}
	if l := lastLine(prod.wait()); l != "producer: interrupted" {
		t.Errorf("producer's last line %q, want interrupted", l)
	}
	if _, _, err := ring.Inspect(ring.Shm, name); !errors.Is(err, ring.ErrNotFound) {
		t.Errorf("the producer's ring after SIGTERM: Inspect says %v, want ErrNotFound (removed)", err)
	}
}

// TestFramed sends messages of three kinds, some split over several frames
// and one larger than the whole ring: the consumer receives each one whole
// (same id, kind, length and CRC as sent), in order.
func TestFramed(t *testing.T) {
	t.Parallel()
	ctx, name := testCtx(t), ringName(t, "ex-fr")
	const rounds = 3
	cons := start(t, ctx, "framed", "-role=consumer", "-ring", name)
	prod := start(t, ctx, "framed", "-role=producer", "-ring", name, "-n", strconv.Itoa(rounds))
	pout, cout := prod.wait(), cons.wait()

	// "id=1 kind=text bytes=14 crc=6c11a310", then details on the consumer's side
	summary := func(lines []string) []string {
		for i, l := range lines {
			lines[i] = strings.Join(strings.Fields(l)[:4], " ")
		}
		return lines
	}
	sent, got := summary(having(pout, "producer: sent ")), summary(having(cout, "consumer: got "))
	if len(sent) != 3*rounds+1 {
		t.Fatalf("producer sent %d messages, want %d", len(sent), 3*rounds+1)
	}
	if !slices.Equal(got, sent) {
		t.Fatalf("consumer got\n%s\nproducer sent\n%s", strings.Join(got, "\n"), strings.Join(sent, "\n"))
	}
	if !slices.Contains(cout, `consumer: got id=1 kind=text bytes=14 crc=6c11a310 "hello number 0"`) {
		t.Errorf("consumer did not print the first text message")
	}
	// Every blob is longer than a frame (1 KiB): rounds of them, and the
	// one larger than the ring.
	want := fmt.Sprintf("consumer: end of stream: %d messages, %d of them split over several frames", 3*rounds+1, rounds+1)
	if l := lastLine(cout); !strings.HasPrefix(l, want) {
		t.Errorf("consumer's last line %q, want it to start with %q", l, want)
	}
}

// TestTyped sends bincode-encoded Orders: the consumer decodes every one
// to the same values as sent, in order, after attaching with the same
// schema.
func TestTyped(t *testing.T) {
	t.Parallel()
	ctx, name := testCtx(t), ringName(t, "ex-ty")
	prod := start(t, ctx, "typed", "-role=producer", "-ring", name, "-n", "7")
	prod.waitLine("waiting for 1 consumer")
	cons := start(t, ctx, "typed", "-role=consumer", "-ring", name)
	pout, cout := prod.wait(), cons.wait()

	sent, got := having(pout, "producer: sent "), having(cout, "consumer: got ")
	if len(sent) != 7 || !slices.Equal(got, sent) {
		t.Fatalf("consumer got\n%s\nproducer sent\n%s", strings.Join(got, "\n"), strings.Join(sent, "\n"))
	}
	if sent[1] != `order 2 ETH-USDT sell 20 @ 101.25 "client note #2"` {
		t.Errorf("second order printed as %q", sent[1])
	}
	if !slices.Contains(cout, "consumer: attached, schema bincode:examples.Order@1") {
		t.Errorf("consumer did not print the ring's schema")
	}
	if l := lastLine(cout); l != "consumer: end of stream" {
		t.Errorf("consumer's last line %q, want end of stream", l)
	}
}

// TestZeroCopy sends raw Quotes: the consumer reads every one in place
// with the values sent, in order.
func TestZeroCopy(t *testing.T) {
	t.Parallel()
	ctx, name := testCtx(t), ringName(t, "ex-zc")
	const n = 10
	cons := start(t, ctx, "zerocopy", "-role=consumer", "-ring", name)
	cons.waitLine("waiting for ring")
	prod := start(t, ctx, "zerocopy", "-role=producer", "-ring", name, "-n", strconv.Itoa(n))
	pout, cout := prod.wait(), cons.wait()

	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("%d bid %.2f x %d ask %.2f x %d (spread 0.50, read in place)",
			i, 99.75+float64(i), 10+i, 100.25+float64(i), 20+i))
	}
	if got := having(cout, "consumer: quote "); !slices.Equal(got, want) {
		t.Fatalf("consumer printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := having(pout, "producer: sent quote "); len(got) != n {
		t.Errorf("producer sent %d quotes, want %d", len(got), n)
	}
	if l := lastLine(cout); l != "consumer: end of stream" {
		t.Errorf("consumer's last line %q, want end of stream", l)
	}
}

// TestRequired kills the required consumer with SIGKILL in the middle of
// the stream and starts it again under the same id. What the ring
// guarantees, and what is checked exactly: the first run read 0..k in
// order; the restarted run resumes right after the last record the first
// run finished, so it reads k..n-1 (k was being handled when the kill came,
// and is delivered again) or k+1..n-1 (k was finished); nothing is lost
// and nothing else is read twice. The producer, held back by the dead
// consumer, finishes and exits cleanly.
func TestRequired(t *testing.T) {
	t.Parallel()
	ctx, name := testCtx(t), ringName(t, "ex-rq")
	const n = 300
	cons1 := start(t, ctx, "required", "-role=consumer", "-ring", name, "-delay", "2ms")
	prod := start(t, ctx, "required", "-role=producer", "-ring", name, "-n", strconv.Itoa(n), "-grace", "10s")
	cons1.waitLine("consumer: read 100")
	out1 := cons1.kill()
	first := ints(t, having(out1, "consumer: read "))
	k := first[len(first)-1]
	checkRange(t, "first consumer run", first, 0, k)
	if k >= n-1 {
		t.Fatalf("the first run read everything (%d) before it was killed", k)
	}

	// Stay down long enough for the producer, blocked on the full ring, to
	// notice (250 ms without progress), then come back under the same id.
	time.Sleep(400 * time.Millisecond)
	cons2 := start(t, ctx, "required", "-role=consumer", "-ring", name, "-delay", "0")
	out2, pout := cons2.wait(), prod.wait()

	second := ints(t, having(out2, "consumer: read "))
	if len(second) == 0 {
		t.Fatalf("the restarted consumer read nothing")
	}
	resumed := second[0]
	if resumed != k && resumed != k+1 {
		t.Fatalf("first run was killed after printing %d; the restarted run began at %d, want %d (redelivered) or %d", k, resumed, k, k+1)
	}
	checkRange(t, "restarted consumer run", second, resumed, n-1)
	if want := fmt.Sprintf("consumer: attached as audit, resuming after record %d", resumed-1); !slices.Contains(out2, want) {
		t.Errorf("restarted consumer did not print %q", want)
	}
	if l := lastLine(out2); l != "consumer: end of stream" {
		t.Errorf("restarted consumer's last line %q, want end of stream", l)
	}
	if got := having(pout, "producer: sent "); len(got) != n+1 { // n records and "sent all"
		t.Errorf("producer printed %d sent lines, want %d", len(got), n+1)
	}
	alerted := slices.ContainsFunc(pout, func(l string) bool { return strings.Contains(l, "is not reading") })
	t.Logf("killed after printing %d, restarted at %d (redelivered: %v); producer alerted: %v", k, resumed, resumed == k, alerted)
}

// TestGroup runs three workers in one consumer group: every job is done
// by exactly one worker, and each worker's count matches what it printed.
func TestGroup(t *testing.T) {
	t.Parallel()
	ctx, name := testCtx(t), ringName(t, "ex-gr")
	const n, workers = 300, 3
	var ws []*proc
	for i := range workers {
		ws = append(ws, start(t, ctx, "group", "-role=worker", "-ring", name, "-id", fmt.Sprintf("worker-%d", i+1), "-work", "1ms"))
	}
	prod := start(t, ctx, "group", "-role=producer", "-ring", name, "-n", strconv.Itoa(n), "-workers", strconv.Itoa(workers))

	seen := make(map[int]string)
	var counts []int
	for i, w := range ws {
		id := fmt.Sprintf("worker-%d", i+1)
		out := w.wait()
		jobs := ints(t, having(out, id+": did job "))
		for _, j := range jobs {
			if other, dup := seen[j]; dup {
				t.Errorf("job %d done by %s and %s", j, other, id)
			}
			seen[j] = id
		}
		if want := fmt.Sprintf("%s: end of stream after %d jobs", id, len(jobs)); lastLine(out) != want {
			t.Errorf("%s's last line %q, want %q", id, lastLine(out), want)
		}
		counts = append(counts, len(jobs))
	}
	prod.wait()
	for j := range n {
		if _, ok := seen[j]; !ok {
			t.Errorf("job %d done by no worker", j)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct jobs done, want %d", len(seen), n)
	}
	t.Logf("jobs per worker: %v", counts)
}

// TestFabric runs the fabric example: a scheduler that launches three
// worker processes and runs rounds; one worker is SIGKILLed mid-run, the
// scheduler reports its rank down, restarts it, and the rounds after
// that are complete.
func TestFabric(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	const workers, rounds = 3, 40
	session := "ex-fabric-" + ring.PortableName("s")
	p := start(t, ctx, "fabric", "-workers", strconv.Itoa(workers), "-rounds", strconv.Itoa(rounds), "-pause", "20ms", "-session", session)
	pid, err := strconv.Atoi(strings.TrimPrefix(p.waitLine("rank 1: worker pid "), "rank 1: worker pid "))
	if err != nil {
		t.Fatal(err)
	}
	p.waitLine("round 5: ")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out := p.wait()
	if len(having(out, "  rank 1 down: ")) != 1 || len(having(out, "  rank 1 restarted")) != 1 {
		t.Fatalf("no report of rank 1 down and restarted:\n%s", strings.Join(out, "\n"))
	}
	complete := having(out, "round ")
	if len(complete) != rounds {
		t.Fatalf("%d rounds, want %d:\n%s", len(complete), rounds, strings.Join(out, "\n"))
	}
	if last := complete[rounds-1]; !strings.HasPrefix(last, fmt.Sprintf("%d: %d/%d replies", rounds, workers, workers)) {
		t.Errorf("last round %q, want complete", last)
	}
	if want := fmt.Sprintf("%d complete rounds: ", rounds-1); !strings.HasPrefix(lastLine(out), want) {
		t.Errorf("last line %q, want %q...", lastLine(out), want)
	}
}
