package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv names the environment variable that makes a process an echo
// process; its value is the JSON childSpec.
const childEnv = "MYELON_BENCH_PEERS_CHILD"

// Descriptors of the echo process: 0-2 are the standard ones, then the
// control pipe (echo writes 'R' when ready), the lifeline (echo reads; EOF
// means the initiator is done or dead), then Link.Files.
const (
	ctlFD      = 3
	lifelineFD = 4
	firstFD    = 5
	readyByte  = 'R'
)

// Bounds on the waits around the echo process itself.
const (
	exitWait  = 10 * time.Second // clean exit after the lifeline closes
	killWait  = 2 * time.Second  // grace before SIGKILL on error paths
	ioDrain   = time.Second      // stderr copy after exit (exec.Cmd.WaitDelay)
	stderrCap = 8 << 10
	// childGrace is how long the echo process outlives the run's deadline.
	childGrace = 2 * time.Second
)

// childSpec is what the echo process is told.
type childSpec struct {
	Peer     string `json:"peer"`
	Addr     string `json:"addr"`
	Files    int    `json:"files"`
	Config   Config `json:"config"`
	Deadline int64  `json:"deadline_unix_nano"`
}

// errInitiatorDone ends the echo process's wait once the lifeline closes.
var errInitiatorDone = errors.New("peers: initiator closed the lifeline")

// MaybeRunChild runs the echo role and exits when this process was started
// as an echo process by Run; otherwise it returns at once. Call it first
// thing in main, before flag parsing, and in TestMain of tests that call
// Run. Peers added with Register must be registered before.
func MaybeRunChild() {
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	if err := runChild(v); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(specJSON string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("peers: echo process: bad %s: %w", childEnv, err)
	}
	cfg, err := spec.Config.withDefaults()
	if err != nil {
		return err
	}
	p, err := lookup(spec.Peer)
	if err != nil {
		return err
	}
	if spec.Files < 0 || spec.Files > 64 {
		return &ConfigError{"Files", spec.Files, "out of range"}
	}
	ctl := inherit(ctlFD, "ctl")
	lifeline := inherit(lifelineFD, "lifeline")
	files := make([]*os.File, spec.Files)
	for i := range files {
		files[i] = inherit(firstFD+i, fmt.Sprintf("link-%d", i))
	}

	ctx, cancel := context.WithDeadlineCause(context.Background(), time.Unix(0, spec.Deadline),
		fmt.Errorf("%w (echo process deadline)", ErrTimeout))
	defer cancel()
	ctx, release := context.WithCancelCause(ctx)
	defer release(nil)
	go func() {
		var b [1]byte
		_, _ = lifeline.Read(b[:]) // returns when the initiator closes its end or dies
		release(errInitiatorDone)
	}()

	ready := func() error {
		_, err := ctl.Write([]byte{readyByte})
		return err
	}
	e, err := p.Serve(ctx, Link{Addr: spec.Addr, Files: files}, cfg, ready)
	if err != nil {
		return fmt.Errorf("peers: %s echo setup: %w", spec.Peer, err)
	}
	defer releaseIfAny(e) // after every return below: Echo has returned by then
	defer e.Close()
	stop := context.AfterFunc(ctx, func() { _ = e.Close() })
	err = echoAll(ctx, e, cfg)
	// After a full run the echo closes its end itself, on this goroutine,
	// once the initiator says it is done: no interrupt is needed.
	stop()
	if err != nil {
		if context.Cause(ctx) == errInitiatorDone {
			// The initiator has given up and judges the run itself; an
			// error here is only the consequence.
			return nil
		}
		return fmt.Errorf("peers: %s echo: %w", spec.Peer, err)
	}
	// Keep the connection open until the initiator has read the last echo
	// and closed the lifeline.
	<-ctx.Done()
	_ = e.Close()
	if cause := context.Cause(ctx); cause != errInitiatorDone {
		return cause
	}
	return nil
}

// inherit wraps an inherited descriptor, non-blocking so that the runtime
// poller serves it and Close interrupts a pending read.
func inherit(fd int, name string) *os.File {
	// Failure leaves a blocking descriptor, which works, only less politely.
	_ = unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name)
}

// runProcess runs p with its echo side in a new process.
func runProcess(ctx context.Context, p Peer, cfg Config) (Result, error) {
	dir, err := os.MkdirTemp("", "myelon-peers-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	opener, link, err := p.Prepare(dir, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("prepare: %w", err)
	}
	defer opener.Close()
	ch, err := spawn(ctx, p.Name(), link, cfg)
	for _, f := range link.Files {
		f.Close()
	}
	if err != nil {
		return Result{}, err
	}
	defer ch.kill()
	if err := ch.waitReady(ctx); err != nil {
		return Result{}, err
	}

	// From here on the echo process exiting cancels the run, which
	// interrupts any wait of the initiator.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-ch.done:
			cancel(ch.exitError(errors.New("exited during the run")))
		case <-ctx.Done():
		}
	}()
	ini, err := opener.Open(ctx)
	if err != nil {
		return Result{}, roundTripError(ctx, 0, fmt.Errorf("open: %w", err))
	}
	defer releaseIfAny(ini) // measure has returned by then, on every path
	stop := context.AfterFunc(ctx, func() { _ = ini.Close() })
	res, err := measure(ctx, ini, cfg)
	stop()
	if err != nil {
		_ = ini.Close()
		return Result{}, ch.explain(err)
	}
	// Let the echo process close its end first, while this side is idle.
	err = ch.finish()
	_ = ini.Close()
	return res, err
}

// deathGrace is how long a failed run waits to see whether the echo process
// died, which is then the real cause of the failure.
const deathGrace = 500 * time.Millisecond

// explain returns err, or an *EchoError wrapping it when the echo process
// has exited or exits within deathGrace: a transport error such as
// "connection reset" is then only the symptom.
func (c *child) explain(err error) error {
	if errors.Is(err, ErrPayload) || errors.Is(err, ErrEchoFailed) {
		return err
	}
	select {
	case <-c.done:
		return c.exitError(err)
	case <-time.After(deathGrace):
		return err
	}
}

// child is a running echo process.
type child struct {
	peer     string
	cmd      *exec.Cmd
	ctl      *os.File // read end of the control pipe
	lifeline *os.File // write end of the lifeline
	stderr   *tailBuffer
	done     chan struct{} // closed when Wait has returned
	waitErr  error         // valid once done is closed
	once     sync.Once
}

func spawn(ctx context.Context, peer string, link Link, cfg Config) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(cfg.Timeout)
	}
	// The echo process's own deadline is only a backstop: the initiator
	// must see its timeout first and report it as such.
	deadline = deadline.Add(childGrace)
	spec, err := json.Marshal(childSpec{Peer: peer, Addr: link.Addr, Files: len(link.Files), Config: cfg, Deadline: deadline.UnixNano()})
	if err != nil {
		return nil, err
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	c := &child{peer: peer, ctl: ctlR, lifeline: lifeW, stderr: &tailBuffer{max: stderrCap}, done: make(chan struct{})}
	c.cmd = exec.Command(exe)
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	c.cmd.ExtraFiles = append([]*os.File{ctlW, lifeR}, link.Files...)
	c.cmd.Stderr = c.stderr
	c.cmd.WaitDelay = ioDrain
	err = c.cmd.Start()
	ctlW.Close()
	lifeR.Close()
	if err != nil {
		ctlR.Close()
		lifeW.Close()
		return nil, &EchoError{Peer: peer, Err: err}
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// waitReady waits for the ready byte, the echo process's exit, or ctx.
func (c *child) waitReady(ctx context.Context) error {
	got := make(chan error, 1)
	go func() {
		var b [1]byte
		n, err := c.ctl.Read(b[:])
		switch {
		case n == 1 && b[0] == readyByte:
			got <- nil
		case n == 1:
			got <- fmt.Errorf("unexpected control byte %#x", b[0])
		default:
			got <- fmt.Errorf("exited before ready (control pipe: %v)", err)
		}
	}()
	select {
	case err := <-got:
		if err != nil {
			c.kill()
			return c.exitError(err)
		}
		return nil
	case <-ctx.Done():
		c.kill()
		return c.exitError(context.Cause(ctx))
	}
}

// finish releases the echo process after a successful run and waits for
// its clean exit.
func (c *child) finish() error {
	c.closePipes()
	select {
	case <-c.done:
	case <-time.After(exitWait):
		c.kill()
		return c.exitError(fmt.Errorf("did not exit within %v of the run's end", exitWait))
	}
	if c.waitErr != nil {
		return c.exitError(c.waitErr)
	}
	return nil
}

// kill releases the echo process, gives it a moment to go, then kills it
// and waits for it to be reaped. It is safe to call more than once.
func (c *child) kill() {
	c.closePipes()
	select {
	case <-c.done:
		return
	case <-time.After(killWait):
	}
	_ = c.cmd.Process.Kill() // fails only when the process has already gone
	<-c.done                 // prompt after SIGKILL; WaitDelay bounds the stderr copy
}

func (c *child) closePipes() {
	c.once.Do(func() {
		c.lifeline.Close()
		c.ctl.Close()
	})
}

// exitError wraps err with the echo process's exit status and stderr when
// it has exited.
func (c *child) exitError(err error) *EchoError {
	select {
	case <-c.done:
		if c.waitErr != nil && err != c.waitErr {
			err = fmt.Errorf("%w (%v)", err, c.waitErr)
		}
	case <-time.After(100 * time.Millisecond): // still running: report what we have
	}
	return &EchoError{Peer: c.peer, Err: err, Stderr: c.stderr.String()}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
