package childtest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestChildProcess(t *testing.T) { Run(t) }

type echoArgs struct {
	N int
	S string
}

// echo says "ready", answers every command c with "got c" until "quit",
// then returns its arguments as its result.
var echo = Register("test.echo", func(t *testing.T, c *Child, a echoArgs) {
	c.Say("ready %d", a.N)
	for {
		cmd := c.Poll()
		if cmd == "" {
			time.Sleep(time.Millisecond)
			continue
		}
		if cmd == "quit" {
			break
		}
		c.Say("got %s", cmd)
	}
	c.Logf("echoed until quit")
	c.Result(a)
})

var fail = Register("test.fail", func(t *testing.T, c *Child, msg string) {
	c.Say("failing")
	t.Fatal(msg)
})

var hang = Register("test.hang", func(t *testing.T, c *Child, _ struct{}) {
	c.Say("hanging")
	select {}
})

var await = Register("test.await", func(t *testing.T, c *Child, cmd string) {
	c.Say("waiting")
	c.Await(cmd)
	c.Say("awaited %s", cmd)
})

func TestProtocol(t *testing.T) {
	in := echoArgs{N: 7, S: "seven"}
	p := echo.Start(t, in)
	if n := p.ExpectInt("ready"); n != 7 {
		t.Fatalf("ready %d, want 7", n)
	}
	for _, cmd := range []string{"a", "b c"} {
		p.Send(cmd)
		if got := p.Expect("got "); got != cmd {
			t.Fatalf("echo of %q: %q", cmd, got)
		}
	}
	p.Send("quit")
	var out echoArgs
	p.Result(&out)
	if out != in {
		t.Fatalf("result %+v, want %+v", out, in)
	}
	p.Wait()
	if !strings.Contains(p.Output(), "log: echoed until quit") {
		t.Fatalf("output %q lacks the log line", p.Output())
	}
}

func TestAwaitDropsOtherCommands(t *testing.T) {
	p := await.Start(t, "go")
	p.Expect("waiting")
	p.Send("stop")
	p.Send("go")
	if got := p.Expect("awaited"); got != "go" {
		t.Fatalf("awaited %q", got)
	}
	p.Wait()
}

func TestFailingRole(t *testing.T) {
	p := fail.Start(t, "boom")
	p.Expect("failing")
	err := p.Exit()
	if err == nil || !strings.Contains(p.Output(), "boom") {
		t.Fatalf("exit %v, output %q: want a failure showing boom", err, p.Output())
	}
}

func TestKill(t *testing.T) {
	p := hang.Start(t, struct{}{})
	p.Expect("hanging")
	p.Kill()
	if !p.KilledBy(syscall.SIGKILL) {
		t.Fatalf("exit %v, want death by SIGKILL", p.Exit())
	}
}

func TestLife(t *testing.T) {
	start := time.Now()
	p := hang.Start(t, struct{}{}, Options{Life: 300 * time.Millisecond})
	p.Expect("hanging")
	err := p.Exit()
	if d := time.Since(start); err == nil || p.cmd.ProcessState.ExitCode() != exitDeadline || d < 300*time.Millisecond {
		t.Fatalf("exit %v after %v, want status %d after 300ms", err, d, exitDeadline)
	}
	if !strings.Contains(p.Output(), "deadline") {
		t.Fatalf("output %q does not mention the deadline", p.Output())
	}
}

// TestStdinClosed: a child whose parent is gone (its stdin at end of file)
// exits.
func TestStdinClosed(t *testing.T) {
	p := hang.Start(t, struct{}{})
	p.Expect("hanging")
	p.stdin.Close()
	if err := p.Exit(); err == nil || p.cmd.ProcessState.ExitCode() != exitStdinClosed {
		t.Fatalf("exit %v, want status %d", err, exitStdinClosed)
	}
}

func TestHello(t *testing.T) {
	p := Hello.Start(t, struct{}{})
	if got, want := p.Expect("hello"), fmt.Sprintf("%d %d", os.Geteuid(), os.Getegid()); got != want {
		t.Fatalf("hello %q, want %q", got, want)
	}
	p.Wait()
}

func TestCopyBinary(t *testing.T) {
	bin, dir := CopyBinary(t)
	fi, err := os.Stat(bin)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("copy %s: %v %v", bin, fi, err)
	}
	p := Hello.Start(t, struct{}{}, Options{Bin: bin, Dir: dir})
	p.Expect("hello")
	p.Wait()
}

// fakeTB records the first failure and ends the goroutine as Fatal does.
type fakeTB struct {
	*testing.T
	msg chan string
}

func (f fakeTB) Helper() {}
func (f fakeTB) Fatalf(format string, args ...any) {
	f.msg <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fails runs f with a fakeTB and returns the failure it reported ("" if
// none).
func fails(t *testing.T, f func(tb testing.TB)) string {
	tb := fakeTB{t, make(chan string, 1)}
	done := make(chan struct{})
	go func() { defer close(done); f(tb) }()
	<-done
	select {
	case m := <-tb.msg:
		return m
	default:
		return ""
	}
}

func TestExpect_Fails(t *testing.T) {
	msg := fails(t, func(tb testing.TB) {
		p := hang.Start(tb, struct{}{}, Options{Timeout: 200 * time.Millisecond})
		p.Expect("never")
	})
	if !strings.Contains(msg, `did not say "never" within 200ms`) {
		t.Errorf("silent child: %q", msg)
	}
	msg = fails(t, func(tb testing.TB) {
		p := fail.Start(tb, "bang")
		p.Expect("never")
	})
	if !strings.Contains(msg, `exited (exit status 1) before saying "never"`) || !strings.Contains(msg, "bang") {
		t.Errorf("failed child: %q", msg)
	}
	msg = fails(t, func(tb testing.TB) {
		p := fail.Start(tb, "bang")
		p.Wait()
	})
	if !strings.Contains(msg, "exit status 1") || !strings.Contains(msg, "bang") {
		t.Errorf("Wait on a failed child: %q", msg)
	}
	msg = fails(t, func(tb testing.TB) {
		p := hang.Start(tb, struct{}{}, Options{Timeout: 200 * time.Millisecond})
		p.Expect("hanging")
		p.Wait()
	})
	if !strings.Contains(msg, "did not exit within 200ms") {
		t.Errorf("Wait on a hanging child: %q", msg)
	}
}
