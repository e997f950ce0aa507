package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// cli runs the myelon command (this test binary, re-executed) and returns
// its standard output, standard error and exit status.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestCLI_HelpAndExitCodes: help on stdout with status 0, a bad command
// line on stderr with status 2 naming the bad token, flags after
// operands, version.
func TestCLI_HelpAndExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		stdout   string // substring, "" for none expected
		stderr   string
		noStdout bool
	}{
		{args: []string{"--help"}, stdout: "usage: myelon <command>"},
		{args: []string{"-h"}, stdout: "clean"},
		{args: []string{"help", "stat"}, stdout: "-watch"},
		{args: []string{"stat", "-h"}, stdout: "-interval"},
		{args: []string{"bench", "--help"}, stdout: "broadcast  one producer"},
		{args: []string{"version"}, stdout: "myelon "},
		{args: []string{"--version"}, stdout: "myelon "},
		{args: nil, code: 2, stderr: "usage: myelon", noStdout: true},
		{args: []string{"foo"}, code: 2, stderr: `unknown command "foo"`, noStdout: true},
		{args: []string{"help", "foo"}, code: 2, stderr: `unknown command "foo"`, noStdout: true},
		{args: []string{"stat"}, code: 2, stderr: "want one ring NAME", noStdout: true},
		{args: []string{"ls", "--bogus"}, code: 2, stderr: "-bogus", noStdout: true},
		{args: []string{"bench", "nomode"}, code: 2, stderr: `unknown bench mode "nomode"`, noStdout: true},
		{args: []string{"help", "bridge"}, stdout: "-consumer-id"},
		{args: []string{"bridge", "-h"}, stdout: "-subject"},
		{args: []string{"bridge", "-bogus"}, code: 2, stderr: "-bogus", noStdout: true},
		{args: []string{"bench", "-repeat", "0"}, code: 2, stderr: "-repeat 0: want at least 1", noStdout: true},
		{args: []string{"bench", "typed", "-mode", "sideways"}, code: 2, stderr: `-mode "sideways"`, noStdout: true},
		{args: []string{"bench", "typed", "-rate", "1000"}, code: 2, stderr: "-rate does not apply to bench typed", noStdout: true},
		{args: []string{"bench", "signal", "-codec", "raw"}, code: 2, stderr: "-codec does not apply to bench signal", noStdout: true},
		{args: []string{"bench", "-batch", "8"}, code: 2, stderr: "-batch does not apply to bench pingpong", noStdout: true},
		{args: []string{"bench", "fabric", "-cpus", "0,x"}, code: 2, stderr: `-cpus "0,x"`, noStdout: true},
		{args: []string{"bench", "fabric", "-cpus", "-1"}, code: 2, stderr: `-cpus "-1"`, noStdout: true},
		{args: []string{"stat", "nosuch-ring-x", "--json"}, code: 1, stderr: "not found", noStdout: true},
	} {
		out, errOut, code := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) || tc.noStdout && out != "" {
			t.Errorf("myelon %q: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.args, code, out, errOut, tc.code, tc.stdout, tc.stderr)
		}
	}
}

// TestCLI_StatAndLs: stat of a live ring (flags after the name too), and
// ls --json listing it with its consumer alive.
func TestCLI_StatAndLs(t *testing.T) {
	name := ring.PortableName("stat")
	p, err := ring.Create[struct{ A, B int64 }](name, ring.Config{Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := ring.Attach[struct{ A, B int64 }](t.Context(), name, ring.ConsumerConfig{ID: "watcher"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, errOut, code := cli(t, "stat", name)
	if code != 0 || !strings.Contains(out, "8x16B") || !strings.Contains(out, "watcher") || !strings.Contains(out, "(alive: true)") {
		t.Fatalf("stat: exit %d\n%s%s", code, out, errOut)
	}
	js, _, code := cli(t, "stat", name, "--json")
	var r snapshot.Ring
	if err := json.Unmarshal([]byte(js), &r); code != 0 || err != nil || len(r.Stats.Consumers) != 1 || !r.Stats.Consumers[0].Alive || r.State != snapshot.Ready {
		t.Fatalf("stat --json: exit %d, %v\n%s", code, err, js)
	}
	ls, _, code := cli(t, "ls", "--json")
	var rings []snapshot.Ring
	if err := json.Unmarshal([]byte(ls), &rings); code != 0 || err != nil {
		t.Fatalf("ls --json: exit %d, %v\n%s", code, err, ls)
	}
	found := false
	for _, r := range rings {
		found = found || r.Name == name && r.State == snapshot.Ready && r.Layer == snapshot.LayerRing
	}
	if !found {
		t.Errorf("ls --json does not list %s as a ready ring", name)
	}
}

// TestCLI_StatBridge: stat of a frame ring whose producer is an inbound
// NATS bridge and one of whose consumers an outbound one (their marker and
// counters written through the ring's API, as the bridge does) lists both
// bridges with their counters, and the other consumer not; --json carries
// them too.
func TestCLI_StatBridge(t *testing.T) {
	name := ring.PortableName("statbr")
	p, err := frame.Create(name, frame.Config{Capacity: 8, PayloadCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pid := uint32(os.Getpid())
	for _, id := range []string{"to-nats", "audit"} {
		c, err := frame.Attach(t.Context(), name, frame.ConsumerConfig{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if id == "to-nats" {
			l := c.LayerCounters()
			l.Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(snapshot.BridgeOutbound, pid))
			l.StoreSlots(snapshot.BridgeSlotPublished, []uint64{7, 6, 2, 1})
		}
	}
	l := p.LayerCounters()
	l.Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(snapshot.BridgeInbound, pid))
	l.StoreSlots(snapshot.BridgeSlotWritten, []uint64{40, 3, 2, 1})

	out, errOut, code := cli(t, "stat", name)
	if code != 0 {
		t.Fatalf("stat: exit %d\n%s%s", code, out, errOut)
	}
	_, bridges, ok := strings.Cut(out, "\nbridges:\n")
	in := regexp.MustCompile(`(?m)^  inbound +\(producer\) +written 40 \(-\) +duplicates 3 +lost 2 +errors 1$`)
	outb := regexp.MustCompile(`(?m)^  outbound +to-nats +published 7 \(-\) +acked 6 +republished 2 +errors 1$`)
	if !ok || !in.MatchString(bridges) || !outb.MatchString(bridges) || strings.Contains(bridges, "audit") {
		t.Errorf("stat does not list the two bridges, and them only:\n%s", out)
	}

	js, _, code := cli(t, "stat", name, "--json")
	var r snapshot.Ring
	if err := json.Unmarshal([]byte(js), &r); code != 0 || err != nil {
		t.Fatalf("stat --json: exit %d, %v\n%s", code, err, js)
	}
	if b := r.Producer.Bridge; b == nil || b.Direction != snapshot.BridgeInbound || b.Inbound.Written != 40 {
		t.Errorf("stat --json: producer's bridge %+v\n%s", b, js)
	}
	for i, c := range r.Stats.Consumers {
		b := r.Consumers[i].Bridge
		if c.ID == "to-nats" && (b == nil || b.Direction != snapshot.BridgeOutbound || b.Outbound.Acked != 6) || c.ID == "audit" && b != nil {
			t.Errorf("stat --json: consumer %s's bridge %+v\n%s", c.ID, b, js)
		}
	}
}

// TestCLI_Clean: clean NAME removes that dead ring and nothing else; a
// live ring named is kept and the exit status says so; --prefix sweeps
// only matching dead rings; --dry-run removes nothing.
func TestCLI_Clean(t *testing.T) {
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	for _, n := range []string{"dead-a", "dead-b", "other"} {
		p, err := ring.CreateBytes(path(n), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8, KeepOnClose: true})
		if err != nil {
			t.Fatal(err)
		}
		p.Close() // its producer gone: dead
	}
	live, err := ring.CreateBytes(path("live"), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	exists := func(n string) bool { _, err := os.Stat(path(n)); return err == nil }

	if out, errOut, code := cli(t, "clean", path("dead-a")); code != 0 || !strings.Contains(out, "removed "+path("dead-a")) {
		t.Fatalf("clean dead-a: exit %d\n%s%s", code, out, errOut)
	}
	if exists("dead-a") || !exists("dead-b") || !exists("other") || !exists("live") {
		t.Fatalf("clean dead-a left %v", dirNames(t, dir))
	}
	if out, _, code := cli(t, "clean", path("live")); code != 1 || !exists("live") || !strings.Contains(out, "producer is alive") {
		t.Fatalf("clean of a live ring: exit %d, %s", code, out)
	}
	if out, _, code := cli(t, "clean", "--dir", dir, "--prefix", "dead", "--dry-run"); code != 0 || !exists("dead-b") || !strings.Contains(out, "would remove "+path("dead-b")) {
		t.Fatalf("clean --dry-run: exit %d, %s", code, out)
	}
	js, _, code := cli(t, "clean", "--dir", dir, "--prefix", "dead", "--json")
	var outcomes []struct{ Name, Action string }
	if err := json.Unmarshal([]byte(js), &outcomes); code != 0 || err != nil {
		t.Fatalf("clean --json: exit %d, %v\n%s", code, err, js)
	}
	if exists("dead-b") || !exists("other") || !exists("live") {
		t.Fatalf("clean --prefix dead left %v", dirNames(t, dir))
	}
}

// TestCLI_Inspect: inspect of a sound ring exits 0 listing its fields; of
// a ring whose capacity a peer scribbled, exits 1 naming the field.
func TestCLI_Inspect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	p, err := ring.CreateBytes(path, ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8, KeepOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if out, errOut, code := cli(t, "inspect", path); code != 0 || !strings.Contains(out, "capacity") || !strings.Contains(out, "slots_off") {
		t.Fatalf("inspect of a sound ring: exit %d\n%s%s", code, out, errOut)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{3, 0, 0, 0}, 28) // the capacity: not a power of two
	f.Close()
	out, errOut, code := cli(t, "inspect", path)
	if code != 1 || !regexp.MustCompile(`capacity\s+3\s+not a power of two`).MatchString(out) || !strings.Contains(errOut, "inconsistent") {
		t.Fatalf("inspect of a scribbled ring: exit %d\n%s%s", code, out, errOut)
	}
}

func dirNames(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

// TestCLI_StatWatch_InTerminal drives `myelon stat --watch` in a real
// terminal (tmux) while this process publishes 100 events every 50 ms,
// and reads the screen: the view refreshes in place and shows the
// published count climbing at a rate of the workload's order (2,000/s;
// the bounds are wide, the host is noisy).
func TestCLI_StatWatch_InTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (.ci/run installs it)")
	}
	name := ring.PortableName("watch")
	p, err := ring.CreateBytes(name, ring.Config{SlotSize: 64, Capacity: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	session := "myelon-" + strconv.Itoa(os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40",
		"env "+cliEnv+"=1 "+os.Args[0]+" stat "+name+" --watch --interval 500ms; sleep 60")
	defer exec.Command("tmux", "kill-session", "-t", session).Run()

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for range 100 {
					p.TrySend(make([]byte, 8)) // no consumer: nothing gates it
				}
			}
		}
	}()
	rateRe := regexp.MustCompile(`published (\d+) \((\d+)/s\)`)
	var screen string
	var rates []int
	deadline := time.Now().Add(20 * time.Second)
	for len(rates) < 3 && time.Now().Before(deadline) {
		time.Sleep(600 * time.Millisecond)
		screen = tmux("capture-pane", "-p", "-t", session)
		if m := rateRe.FindStringSubmatch(screen); m != nil {
			r, _ := strconv.Atoi(m[2])
			rates = append(rates, r)
		}
	}
	close(stop)
	<-done
	if len(rates) < 3 {
		t.Fatalf("no rates on the screen after 20 s:\n%s", screen)
	}
	if strings.Count(screen, "ring "+name) != 1 {
		t.Errorf("the view did not refresh in place (the ring line shows %d times):\n%s", strings.Count(screen, "ring "+name), screen)
	}
	slices.Sort(rates)
	med := rates[len(rates)/2]
	if med < 200 || med > 20000 {
		t.Errorf("rates %v on the screen, want about 2000/s:\n%s", rates, screen)
	}
}

// TestCLI_Exporter: myelon exporter serves /metrics over HTTP with the
// published count of a ring this test made, and exits 0 on SIGINT.
func TestCLI_Exporter(t *testing.T) {
	name := ring.PortableName("exp")
	p, err := ring.CreateBytes(name, ring.Config{SlotSize: 64, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 7 {
		if _, err := p.TrySend(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "exporter", "--listen", "127.0.0.1:0", "--prefix", name)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("exporter said nothing: %v\n%s", err, stderr.String())
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "serving /metrics on ")) + "/metrics"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	want := regexp.MustCompile(`(?m)^myelon_ring_published_total\{[^}]*ring="` + name + `"[^}]*\} 7$`)
	if !want.Match(body) {
		t.Errorf("/metrics has no myelon_ring_published_total 7 for %s:\n%s", name, body)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exporter after SIGINT: %v\n%s", err, stderr.String())
	}
}

// TestCLI_Ls_AnotherUser: run by a user who may not read a ring, ls lists
// it as unreadable with the reason instead of hiding it, and clean keeps
// it and says why.
func TestCLI_Ls_AnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the command as another user")
	}
	name := ring.PortableName("priv")
	p, err := ring.CreateBytes(name, ring.Config{SlotSize: 64, Capacity: 8}) // mode 0600, root's
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bin, dir := childtest.CopyBinary(t)
	as := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), cliEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		out, err := cmd.Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := as("ls", "--json")
	var rings []snapshot.Ring
	if err := json.Unmarshal([]byte(out), &rings); code != 0 || err != nil {
		t.Fatalf("ls --json as nobody: exit %d, %v\n%s", code, err, out)
	}
	found := false
	for _, r := range rings {
		found = found || r.Name == name && r.State == snapshot.Unreadable && r.Reason == "permission denied"
	}
	if !found {
		t.Errorf("ls as nobody does not list %s as unreadable (permission denied):\n%s", name, out)
	}
	if out, code := as("clean", name); code != 1 || !strings.Contains(out, "unreadable") {
		t.Errorf("clean of an unreadable ring as nobody: exit %d\n%s", code, out)
	}
}
