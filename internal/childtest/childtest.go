// Package childtest runs parts of a test in child processes, for the tests
// of every package of this repository that need more than one process
// (producers and consumers on a real shared segment, a process killed
// mid-stream, another OS user).
//
// The child is the test binary itself, re-executed to run one role:
//
//   - A package registers its roles by name, each with a type for its
//     arguments (Register), and has one entry test that runs the role a
//     child was started for (Run):
//
//     var echo = childtest.Register("echo", func(t *testing.T, c *childtest.Child, a echoArgs) { ... })
//
//     func TestChildProcess(t *testing.T) { childtest.Run(t) }
//
//   - The parent starts a child with Role.Start: the role's name, its
//     arguments as JSON and the child's deadline travel in one environment
//     variable, and the child runs only the entry test
//     (-test.run=^TestChildProcess$). Run directly, the entry test skips.
//
//   - They talk in lines. The child writes protocol lines on stdout with
//     Child.Say, Result (a JSON value) and Logf; every protocol line starts
//     with Prefix, anything else it prints (a failure, a panic) is kept for
//     the parent's failure message. The parent waits for a line with
//     Proc.Expect, ExpectInt and Result, and sends commands, one per line,
//     on the child's stdin with Proc.Send; the child reads them with
//     Child.Await and Poll.
//
//   - Nothing hangs: every wait of the parent has a timeout (Options.Timeout)
//     and fails the test when it passes; the child exits when its deadline
//     (Options.Life) passes and the parent kills it a little later; a child
//     whose stdin reaches end of file (its parent died) exits at once; a
//     child still running when its test ends is killed and reaped.
//
// A role is a test: it fails with t.Fatal or t.Error like any test, and the
// child then exits with a non-zero status, which Proc.Wait reports with the
// child's output.
package childtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// EntryTest is the name of the test a package using childtest must
	// define, as func TestChildProcess(t *testing.T) { childtest.Run(t) }.
	EntryTest = "TestChildProcess"

	// Prefix starts every protocol line a child writes on stdout.
	Prefix = "@@"

	// DefaultTimeout bounds each wait of the parent for a line or an
	// exit, unless Options.Timeout says otherwise.
	DefaultTimeout = 30 * time.Second

	// DefaultLife bounds a child's whole life, unless Options.Life says
	// otherwise.
	DefaultLife = 90 * time.Second

	// killGrace is how long after a child's deadline the parent kills it,
	// should it not have exited by itself.
	killGrace = 10 * time.Second

	envSpec = "MYELON_TEST_CHILD"

	// Exit statuses of a child that ends itself.
	exitStdinClosed = 3
	exitDeadline    = 4
)

// spec is what a child is told, as JSON in envSpec.
type spec struct {
	Role string          `json:"role"`
	Args json.RawMessage `json:"args"`
	Life time.Duration   `json:"life"`
}

var (
	rolesMu sync.Mutex
	roles   = map[string]func(t *testing.T, c *Child, args json.RawMessage){}
)

// Role is a registered role; A is the type of its arguments, which travel
// to the child as JSON (so only exported fields arrive).
type Role[A any] struct{ name string }

// Register registers the role name, played by fn with arguments of type A,
// and returns it. Call it from a package-level variable declaration or an
// init function of a test file, so that the parent and the child (the same
// binary) both know it. A name registered twice panics.
func Register[A any](name string, fn func(t *testing.T, c *Child, a A)) Role[A] {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if _, dup := roles[name]; dup {
		panic("childtest: role " + strconv.Quote(name) + " registered twice")
	}
	roles[name] = func(t *testing.T, c *Child, raw json.RawMessage) {
		var a A
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("childtest: role %s: arguments %s: %v", name, raw, err)
		}
		fn(t, c, a)
	}
	return Role[A]{name}
}

// Name is the role's name.
func (r Role[A]) Name() string { return r.name }

// Hello is a role every package that has an entry test can play: it says
// "hello <euid> <egid>" and returns. It checks that a child can be started
// at all (as another user, from a copied binary) before a test relies on
// it.
var Hello = Register("childtest.hello", func(t *testing.T, c *Child, _ struct{}) {
	c.Say("hello %d %d", os.Geteuid(), os.Getegid())
})

// Run is the body of a package's entry test (EntryTest): in a child it
// plays the role the child was started for; otherwise it skips.
func Run(t *testing.T) {
	raw := os.Getenv(envSpec)
	if raw == "" {
		t.Skip("childtest entry point: runs only in a child process started by childtest")
	}
	var s spec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("childtest: bad %s=%q: %v", envSpec, raw, err)
	}
	rolesMu.Lock()
	fn := roles[s.Role]
	rolesMu.Unlock()
	if fn == nil {
		t.Fatalf("childtest: this test binary has no role %q", s.Role)
	}
	if s.Life <= 0 {
		s.Life = DefaultLife
	}
	time.AfterFunc(s.Life, func() {
		fmt.Fprintf(os.Stderr, "childtest: child %s (pid %d): its deadline of %v passed\n", s.Role, os.Getpid(), s.Life)
		os.Exit(exitDeadline)
	})
	c := &Child{cmds: make(chan string, 64)}
	go c.readCommands()
	fn(t, c, s.Args)
}

// Child is a child's side of the conversation with its parent.
type Child struct {
	mu   sync.Mutex
	cmds chan string
}

// Say writes one protocol line (Prefix, then the formatted text) to stdout.
func (c *Child) Say(format string, args ...any) {
	line := Prefix + fmt.Sprintf(format, args...) + "\n"
	c.mu.Lock()
	defer c.mu.Unlock()
	os.Stdout.WriteString(line)
}

// Result says "result <v as JSON>", which the parent reads with
// Proc.Result.
func (c *Child) Result(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	c.Say("result %s", b)
}

// Logf sends a line for the parent's test log: the parent logs it when it
// waits for the child (Proc.Wait), or with the child's output if the test
// fails.
func (c *Child) Logf(format string, args ...any) {
	c.Say("log %s", strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " | "))
}

// readCommands forwards stdin lines to cmds and exits the process at end
// of file: the parent is gone, or gave up on this child.
func (c *Child) readCommands() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		c.cmds <- sc.Text()
	}
	os.Exit(exitStdinClosed)
}

// Await waits for the command cmd from the parent, dropping any other.
func (c *Child) Await(cmd string) {
	for got := range c.cmds {
		if got == cmd {
			return
		}
	}
}

// Poll returns the next command if one has arrived, else "".
func (c *Child) Poll() string {
	select {
	case got := <-c.cmds:
		return got
	default:
		return ""
	}
}

// Options start a child otherwise than by default. The zero value is the
// default.
type Options struct {
	// Label names the child in failure messages; "": the role's name.
	Label string
	// Bin is the executable; "": this test binary (os.Args[0]). See
	// CopyBinary.
	Bin string
	// Dir is the child's working directory; "": the parent's.
	Dir string
	// SysProcAttr, if set, starts the child with it (other credentials).
	SysProcAttr *syscall.SysProcAttr
	// Env are extra KEY=value pairs for the child's environment.
	Env []string
	// Timeout bounds each wait of the parent for a line or the exit;
	// 0: DefaultTimeout.
	Timeout time.Duration
	// Life bounds the child's whole life; 0: DefaultLife.
	Life time.Duration
}

// Proc is the parent's handle on a child.
type Proc struct {
	tb      testing.TB
	label   string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	cancel  context.CancelFunc
	timeout time.Duration
	done    chan struct{} // closed once the child has exited and its output is read

	mu      sync.Mutex
	lines   []string      // protocol lines, Prefix stripped
	next    int           // lines[next:] are not yet consumed by Expect
	eof     bool          // stdout reached end of file
	changed chan struct{} // closed (and replaced) when lines or eof change
	logs    []string      // "log" lines not yet logged
	other   bytes.Buffer  // everything else the child wrote
	exited  error         // cmd.Wait's error, once done is closed
}

// Start starts a child playing role r with arguments a, and options o (at
// most one). The child is killed, if still running, when the test ends,
// and what it printed is logged if the test failed. Start fails the test
// if the child cannot be started.
func (r Role[A]) Start(tb testing.TB, a A, o ...Options) *Proc {
	tb.Helper()
	p, err := r.TryStart(tb, a, o...)
	if err != nil {
		tb.Fatalf("childtest: start %s: %v", r.name, err)
	}
	return p
}

// TryStart is Start returning the error of starting the child (for
// example EPERM for credentials the system refuses) instead of failing the
// test.
func (r Role[A]) TryStart(tb testing.TB, a A, o ...Options) (*Proc, error) {
	tb.Helper()
	var opt Options
	switch len(o) {
	case 0:
	case 1:
		opt = o[0]
	default:
		tb.Fatalf("childtest: start %s: more than one Options", r.name)
	}
	args, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	if opt.Life <= 0 {
		opt.Life = DefaultLife
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Bin == "" {
		opt.Bin = os.Args[0]
	}
	if opt.Label == "" {
		opt.Label = r.name
	}
	s, err := json.Marshal(spec{Role: r.name, Args: args, Life: opt.Life})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opt.Life+killGrace)
	cmd := exec.CommandContext(ctx, opt.Bin,
		"-test.run=^"+EntryTest+"$", "-test.count=1",
		"-test.timeout="+(opt.Life+2*killGrace).String())
	cmd.Dir, cmd.SysProcAttr = opt.Dir, opt.SysProcAttr
	cmd.Env = append(slices.Clip(os.Environ()), opt.Env...)
	cmd.Env = append(cmd.Env, envSpec+"="+string(s))
	p := &Proc{tb: tb, label: opt.Label, cmd: cmd, cancel: cancel, timeout: opt.Timeout,
		done: make(chan struct{}), changed: make(chan struct{})}
	cmd.Stderr = otherWriter{p}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	go p.read(stdout)
	tb.Cleanup(func() {
		p.kill()
		p.cancel()
		if tb.Failed() {
			if out := p.Output(); out != "" {
				tb.Logf("child %s (pid %d) output:\n%s", p.label, p.Pid(), out)
			}
		}
	})
	return p, nil
}

type otherWriter struct{ p *Proc }

func (w otherWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.other.Write(b)
}

// read sorts the child's stdout into protocol lines, log lines and other
// output until end of file, then reaps the child.
func (p *Proc) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		if rest, ok := strings.CutPrefix(line, Prefix); !ok {
			p.other.WriteString(line + "\n")
		} else if msg, ok := strings.CutPrefix(rest, "log "); ok {
			p.logs = append(p.logs, msg)
			p.other.WriteString("log: " + msg + "\n")
		} else {
			p.lines = append(p.lines, rest)
			p.notify()
		}
		p.mu.Unlock()
	}
	if err := sc.Err(); err != nil {
		p.mu.Lock()
		fmt.Fprintf(&p.other, "childtest: reading the child's stdout: %v\n", err)
		p.mu.Unlock()
	}
	io.Copy(io.Discard, stdout)
	err := p.cmd.Wait()
	p.mu.Lock()
	p.eof, p.exited = true, err
	p.notify()
	p.mu.Unlock()
	close(p.done)
}

// notify wakes the waiters of Expect; p.mu is held.
func (p *Proc) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// SetTimeout changes the bound of the parent's later waits on this child.
func (p *Proc) SetTimeout(d time.Duration) { p.timeout = d }

// Expect waits for the next protocol line that starts with prefix, skipping
// the lines before it, and returns the rest of it, trimmed. It fails the
// test if the child exits or the timeout passes first.
func (p *Proc) Expect(prefix string) string {
	p.tb.Helper()
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for p.next < len(p.lines) {
			line := p.lines[p.next]
			p.next++
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				p.mu.Unlock()
				return strings.TrimSpace(rest)
			}
		}
		eof, changed := p.eof, p.changed
		p.mu.Unlock()
		if eof {
			p.tb.Fatalf("child %s (pid %d) exited (%v) before saying %q; output:\n%s%s",
				p.label, p.Pid(), p.exitErr(), prefix, p.Output(), p.hint())
		}
		select {
		case <-changed:
		case <-timer.C:
			p.tb.Fatalf("child %s (pid %d) did not say %q within %v; output:\n%s", p.label, p.Pid(), prefix, p.timeout, p.Output())
		}
	}
}

// hint explains a child that said nothing because it ran no test.
func (p *Proc) hint() string {
	if strings.Contains(p.Output(), "no tests to run") {
		return "(does the package define func " + EntryTest + "(t *testing.T) { childtest.Run(t) }?)\n"
	}
	return ""
}

// ExpectInt is Expect for a line "prefix <integer>".
func (p *Proc) ExpectInt(prefix string) int64 {
	p.tb.Helper()
	s := p.Expect(prefix)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.tb.Fatalf("child %s: %q after %q: %v", p.label, s, prefix, err)
	}
	return v
}

// Result waits for the child's "result" line and decodes it into v.
func (p *Proc) Result(v any) {
	p.tb.Helper()
	s := p.Expect("result ")
	if err := json.Unmarshal([]byte(s), v); err != nil {
		p.tb.Fatalf("child %s: bad result %q: %v", p.label, s, err)
	}
}

// Send writes the command line cmd to the child's stdin.
func (p *Proc) Send(cmd string) {
	p.tb.Helper()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		p.tb.Fatalf("child %s: send %q: %v", p.label, cmd, err)
	}
}

// Exit waits for the child to exit and returns how it ended: nil for
// status 0, else the *exec.ExitError (see KilledBy). It fails the test
// (after killing the child) if the child does not exit within the timeout.
func (p *Proc) Exit() error {
	p.tb.Helper()
	select {
	case <-p.done:
	case <-time.After(p.timeout):
		p.kill()
		p.tb.Fatalf("child %s (pid %d) did not exit within %v; output:\n%s", p.label, p.Pid(), p.timeout, p.Output())
	}
	return p.exitErr()
}

// Wait waits for the child to exit, failing the test unless it exited with
// status 0; then it logs the child's Logf lines.
func (p *Proc) Wait() {
	p.tb.Helper()
	if err := p.Exit(); err != nil {
		p.tb.Fatalf("child %s (pid %d): %v; output:\n%s", p.label, p.Pid(), err, p.Output())
	}
	p.mu.Lock()
	logs := p.logs
	p.logs = nil
	p.mu.Unlock()
	if len(logs) > 0 {
		p.tb.Logf("child %s: %s", p.label, strings.Join(logs, "\n\t"))
	}
}

// Kill sends SIGKILL (unless the child has exited) and waits until the
// kernel has reaped it, so whatever the child held (locks, mappings) is
// released when Kill returns.
func (p *Proc) Kill() {
	p.tb.Helper()
	if !p.kill() {
		p.tb.Errorf("child %s (pid %d) survived SIGKILL for %v", p.label, p.Pid(), p.timeout)
	}
}

func (p *Proc) kill() bool {
	select {
	case <-p.done:
		return true
	default:
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
		return true
	case <-time.After(p.timeout):
		return false
	}
}

// KilledBy reports whether the child, which has exited, died of sig.
func (p *Proc) KilledBy(sig syscall.Signal) bool {
	select {
	case <-p.done:
	default:
		return false
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

func (p *Proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Output is what the child wrote other than protocol lines (its Logf
// lines included), so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.other.String()
}

// CopyBinary copies the running test binary into a fresh directory that
// every user can enter, as a file every user can execute, and returns both
// (removed when the test ends): children started as other users
// (Options.SysProcAttr) run it with Options.Bin and Options.Dir, wherever
// the build left the original.
func CopyBinary(tb testing.TB) (bin, dir string) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "myelon-child-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	src, err := os.Open(os.Args[0])
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	bin = filepath.Join(dir, filepath.Base(os.Args[0]))
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	err = errors.Join(err, dst.Close())
	if err != nil {
		tb.Fatal(err)
	}
	// The umask may have cleared bits of the mode OpenFile asked for.
	if err := os.Chmod(bin, 0o755); err != nil {
		tb.Fatal(err)
	}
	return bin, dir
}
