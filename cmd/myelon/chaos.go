package main

// myelon chaos: rounds of a producer and consumer processes (roles in
// chaos_roles.go) on one ring, with SIGKILLs, restarts and SIGSTOPs
// thrown at them at moments drawn from a seed, and, in a binary built
// with -tags myelonfault, faults at the protocol's named points
// (internal/fault). After each round the ledgers are checked: in the
// managed scenarios every acknowledged event reached every consumer once
// and in order (a consumer killed inside its read callback gets that one
// event again, which its ledger shows right after it reattached); in the
// plain one every loss was reported with its exact count. No process may
// outlive the round's bound, and no segment may be left once the
// processes are gone and the ring was cleaned.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/myelon-go/myelon/internal/fault"
	"github.com/myelon-go/myelon/ring"
)

// stallBound is the longest a round may go without any ledger moving:
// stops last at most 310 ms and restarts come within 100 ms, and liveness
// (50 ms here) bounds how long anyone waits on a dead peer, so a longer
// stall is a participant that failed to notice one.
const stallBound = 3 * time.Second

// chaosConfig is what every round shares.
type chaosConfig struct {
	events    int64
	consumers int
	faults    int
	timeout   time.Duration
	scenarios []string
}

// roundResult is one round's outcome.
type roundResult struct {
	Round      int           `json:"round"`
	Seed       uint64        `json:"seed"`
	Scenario   string        `json:"scenario"`
	Checked    int64         `json:"events_checked"`
	Faults     []string      `json:"faults"`
	WorstStall time.Duration `json:"worst_stall_ns"`
	Leaked     int           `json:"leaked_segments"`
	Err        string        `json:"error,omitempty"`
}

func runChaos(args []string) error {
	fs := newFlags("chaos")
	seed := fs.Uint64("seed", 0, "seed of the first round (0: from the clock); round i uses seed+i, and a failure prints the seed that replays it")
	rounds := fs.Int("rounds", 0, "rounds to run (0: as many as fit in --duration)")
	duration := fs.Duration("duration", time.Minute, "with --rounds 0, start rounds for this long")
	events := fs.Int64("events", 5000, "events per round")
	consumers := fs.Int("consumers", 2, "consumer processes per round")
	faults := fs.Int("faults", 3, "kills and stops per round, at most")
	scen := fs.String("scenarios", strings.Join(scenarios, ","), "scenarios to draw from, comma-separated")
	asJSON := fs.Bool("json", false, "print each round as a JSON line and the summary as JSON")
	ops, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ops) > 0 {
		return usagef("unexpected argument %q", ops[0])
	}
	cfg := chaosConfig{events: *events, consumers: *consumers, faults: *faults, timeout: 60 * time.Second}
	for _, s := range strings.Split(*scen, ",") {
		if !contains(scenarios, s) {
			return usagef("--scenarios: unknown scenario %q (have %s)", s, strings.Join(scenarios, ", "))
		}
		cfg.scenarios = append(cfg.scenarios, s)
	}
	if cfg.events < 1 || cfg.consumers < 1 || cfg.faults < 0 {
		return usagef("want --events >= 1, --consumers >= 1, --faults >= 0")
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("myelon chaos: seed %d, %d events and %d consumers a round, faults at named points: %v\n",
		*seed, cfg.events, cfg.consumers, fault.Enabled)
	var sum struct {
		Rounds, Failures, Leaked int
		Events                   int64
		WorstStall               time.Duration
		Failed                   []uint64 // seeds that replay the failures
	}
	end := time.Now().Add(*duration)
	for i := 0; *rounds > 0 && i < *rounds || *rounds == 0 && time.Now().Before(end); i++ {
		r := runRound(i, *seed+uint64(i), cfg)
		sum.Rounds++
		sum.Events += r.Checked
		sum.Leaked += r.Leaked
		sum.WorstStall = max(sum.WorstStall, r.WorstStall)
		if r.Err != "" {
			sum.Failures++
			sum.Failed = append(sum.Failed, r.Seed)
		}
		if *asJSON {
			json.NewEncoder(os.Stdout).Encode(r)
		} else {
			status := "ok"
			if r.Err != "" {
				status = "FAILED: " + r.Err + fmt.Sprintf(" (replay: myelon chaos --rounds 1 --seed %d --scenarios %s)", r.Seed, r.Scenario)
			}
			fmt.Printf("round %d seed %d %-8s %d events checked, faults [%s], worst stall %s, leaked %d: %s\n",
				r.Round, r.Seed, r.Scenario, r.Checked, strings.Join(r.Faults, " "), r.WorstStall.Round(time.Millisecond), r.Leaked, status)
		}
	}
	if *asJSON {
		writeJSON(os.Stdout, sum)
	} else {
		fmt.Printf("rounds %d  events checked %d  failures %d  worst stall %s  leaked segments %d\n",
			sum.Rounds, sum.Events, sum.Failures, sum.WorstStall.Round(time.Millisecond), sum.Leaked)
	}
	if sum.Failures > 0 || sum.Leaked > 0 {
		return fmt.Errorf("%d of %d rounds failed, %d segments leaked", sum.Failures, sum.Rounds, sum.Leaked)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// chaosProc is one participant of a round: its process, restarted under
// the same arguments after a kill.
type chaosProc struct {
	role    string
	label   string
	args    chaosArgs
	cmd     *exec.Cmd
	exited  chan error
	stderr  *strings.Builder
	done    bool      // exited successfully
	stopped time.Time // when we SIGSTOPped it; zero if running
	restart time.Time // when to restart it after a kill; zero if none due
}

func (p *chaosProc) start(plan string) error {
	enc, _ := json.Marshal(p.args)
	cmd, err := startChild(p.role, string(enc))
	if err != nil {
		return err
	}
	p.stderr = new(strings.Builder)
	cmd.Stderr = p.stderr
	if plan != "" {
		cmd.Env = append(cmd.Env, fault.EnvVar+"="+plan)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.exited, p.stopped, p.restart = cmd, make(chan error, 1), time.Time{}, time.Time{}
	go func() { p.exited <- cmd.Wait() }()
	return nil
}

// runRound runs one round and checks it.
func runRound(i int, seed uint64, cfg chaosConfig) (res roundResult) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	res = roundResult{Round: i, Seed: seed, Scenario: cfg.scenarios[rng.IntN(len(cfg.scenarios))]}
	dir, err := os.MkdirTemp("", "myelon-chaos-")
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	name := ring.PortableName("chaos")
	base := chaosArgs{Name: name, Scenario: res.Scenario, Events: cfg.events, Liveness: 50 * time.Millisecond,
		Grace: 5 * time.Second, Timeout: cfg.timeout, Capacity: 64, FramedMax: 600}
	var procs []*chaosProc
	for c := range cfg.consumers {
		a := base
		a.ID, a.Ledger = "c"+strconv.Itoa(c), filepath.Join(dir, "c"+strconv.Itoa(c))
		base.IDs = append(base.IDs, a.ID)
		procs = append(procs, &chaosProc{role: "chaos-consumer", label: a.ID, args: a})
	}
	prod := base
	prod.Ledger = filepath.Join(dir, "producer")
	if res.Scenario == scenarioMulti {
		joiner := base
		joiner.Part, joiner.Ledger = 1, filepath.Join(dir, "producer1")
		prod.JoinerLedger = joiner.Ledger
		procs = append(procs, &chaosProc{role: "chaos-producer", label: "producer1", args: joiner})
	}
	procs = append(procs, &chaosProc{role: "chaos-producer", label: "producer", args: prod})
	planOf := func(p *chaosProc, incarnation int) string {
		if !fault.Enabled {
			return ""
		}
		acts := []fault.Action{fault.Delay, fault.Stop, fault.Kill}
		if p.label == "producer" && (res.Scenario == scenarioPlain || res.Scenario == scenarioGroup || res.Scenario == scenarioMulti) {
			// A plain ring's consumers cannot follow a restarted producer
			// without loss, and the creator of a multi-producer ring
			// cannot come back while the joined one keeps it alive.
			acts = acts[:2]
		}
		return fault.Plan{Seed: seed ^ uint64(len(p.label))<<32 ^ uint64(incarnation), Rate: 0.0005,
			Actions: acts, MaxDelay: 20 * time.Millisecond}.String()
	}
	incarnations := map[*chaosProc]int{}
	for _, p := range procs {
		if err := p.start(planOf(p, 0)); err != nil {
			res.Err = err.Error()
			return res
		}
	}
	defer func() {
		for _, p := range procs {
			if !p.done && p.cmd != nil {
				p.cmd.Process.Signal(syscall.SIGCONT)
				p.cmd.Process.Kill()
			}
		}
		res.Leaked = cleanRound(name)
	}()

	deadline := time.Now().Add(cfg.timeout + 10*time.Second)
	lastProgress, lastSize := time.Now(), int64(-1)
	faultsLeft := cfg.faults
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		now := <-tick.C
		if now.After(deadline) {
			res.Err = "a process outlived the round's bound: " + stuck(procs)
			return res
		}
		if size := ledgerBytes(dir); size != lastSize {
			lastSize, lastProgress = size, now
		} else if d := now.Sub(lastProgress); d > res.WorstStall {
			res.WorstStall = d
		}
		alive := 0
		for _, p := range procs {
			if p.done {
				continue
			}
			alive++
			select {
			case err := <-p.exited:
				res.Faults = append(res.Faults, injected(p)...)
				switch {
				case err == nil:
					p.done = true
				case killed(err):
					// By us, or by a plan's fault: restart it soon.
					p.restart = now.Add(time.Duration(10+rng.IntN(90)) * time.Millisecond)
					p.cmd = nil
				default:
					res.Err = fmt.Sprintf("%s: %v: %s", p.label, err, strings.TrimSpace(p.stderr.String()))
					return res
				}
			default:
			}
			switch {
			case p.cmd == nil && !p.restart.IsZero() && now.After(p.restart):
				incarnations[p]++
				if err := p.start(planOf(p, incarnations[p])); err != nil {
					res.Err = err.Error()
					return res
				}
			case p.cmd != nil && !p.stopped.IsZero() && now.Sub(p.stopped) > time.Duration(10+rng.IntN(300))*time.Millisecond:
				p.cmd.Process.Signal(syscall.SIGCONT)
				p.stopped = time.Time{}
			case p.cmd != nil && p.stopped.IsZero() && selfStopped(p.cmd.Process.Pid):
				p.cmd.Process.Signal(syscall.SIGCONT) // a plan's Stop
			}
		}
		if alive == 0 {
			break
		}
		if faultsLeft > 0 && rng.IntN(8) == 0 {
			if f := throwFault(rng, procs, res.Scenario, now); f != "" {
				res.Faults = append(res.Faults, f)
				faultsLeft--
			}
		}
	}
	var lost uint64
	if res.Scenario == scenarioGroup {
		if _, st, err := ring.Inspect(ring.Shm, name); err == nil && len(st.Groups) == 1 {
			// Claimed events it could not deliver, and events it skipped
			// while it had no member (a group gates the producer only
			// through its members): its reported losses.
			lost = st.Groups[0].Lost + st.Groups[0].Lapped
		}
	}
	res.Checked, err = checkLedgers(dir, procs, cfg.events, res.Scenario, lost)
	switch {
	case err != nil:
		res.Err = err.Error()
	case res.WorstStall > stallBound:
		res.Err = fmt.Sprintf("no progress for %s (bound %s): a participant waited on a dead or stopped peer longer than liveness allows", res.WorstStall, stallBound)
	}
	return res
}

// throwFault SIGKILLs or SIGSTOPs a running participant and says which.
// The producer is killed only in the restart scenario (elsewhere it is
// stopped): a killed producer's unacknowledged tail is what that scenario
// checks.
func throwFault(rng *rand.Rand, procs []*chaosProc, scenario string, now time.Time) string {
	var running []*chaosProc
	for _, p := range procs {
		if !p.done && p.cmd != nil && p.stopped.IsZero() {
			running = append(running, p)
		}
	}
	if len(running) == 0 {
		return ""
	}
	p := running[rng.IntN(len(running))]
	kill := rng.IntN(2) == 0
	if p.label == "producer" && scenario != scenarioRestart {
		kill = false // in the multi scenario, the joined producer (producer1) is killed
	}
	if kill {
		p.cmd.Process.Signal(syscall.SIGKILL)
		return "kill:" + p.label
	}
	p.cmd.Process.Signal(syscall.SIGSTOP)
	p.stopped = now
	return "stop:" + p.label
}

// injected lists the faults a process's plan injected (its standard
// error's fault lines), as action@point:label.
func injected(p *chaosProc) []string {
	var out []string
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if f, ok := strings.CutPrefix(l, fault.LogPrefix); ok {
			out = append(out, f+":"+p.label)
		}
	}
	return out
}

// killed reports whether a process ended by SIGKILL.
func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// selfStopped reports whether a process is stopped (state T in /proc).
func selfStopped(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'T'
}

func stuck(procs []*chaosProc) string {
	var s []string
	for _, p := range procs {
		if !p.done {
			s = append(s, p.label)
		}
	}
	return strings.Join(s, ", ")
}

// ledgerBytes is the total size of a round's ledgers: it grows while the
// round makes progress.
func ledgerBytes(dir string) int64 {
	ents, _ := os.ReadDir(dir)
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// cleanRound removes the round's ring if it is left (a plain ring, kept
// at Close, or one whose producer died last) as myelon clean would, and
// returns 1 if a segment is still there after that.
func cleanRound(name string) int {
	ring.Reclaim(ring.Shm, name)
	if _, _, err := ring.Inspect(ring.Shm, name); errors.Is(err, ring.ErrNotFound) {
		return 0
	}
	return 1
}

// checkLedgers checks the round. Each producer acknowledged its values
// once and in order (a multi scenario's two producers the even and the odd
// ones). Each consumer received each acknowledged value once and in order,
// but for a value redelivered right after it reattached (consumed, not yet
// released, when it or the producer died), or published by a producer
// that died before acknowledging it and sent again by its next life; in
// the plain scenario it may instead report losses, which must account
// exactly for the values it did not receive. In the group scenario the
// members together received every value (but the lost ones the group
// and lapped counted), a value twice only when a member died holding it. It
// returns the number of values checked.
func checkLedgers(dir string, procs []*chaosProc, events int64, scenario string, groupLost uint64) (int64, error) {
	stride := int64(1)
	if scenario == scenarioMulti {
		stride = 2
	}
	inflight := map[int64]bool{} // values a producer may have published unacknowledged before it died
	for _, p := range procs {
		if p.role != "chaos-producer" {
			continue
		}
		lines, err := readLedger(p.args.Ledger)
		if err != nil {
			return 0, err
		}
		next, starts := int64(p.args.Part), 0
		for k, l := range lines {
			if l == "start" {
				if starts++; starts > 1 {
					inflight[next] = true
				}
				continue
			}
			if l != "v "+strconv.FormatInt(next, 10) {
				return 0, fmt.Errorf("%s ledger line %d is %q, want value %d", p.label, k+1, l, next)
			}
			next += stride
		}
		if next < events {
			return 0, fmt.Errorf("%s acknowledged values up to %d of %d", p.label, next-stride, events)
		}
	}
	if scenario == scenarioGroup {
		return checkGroup(procs, events, groupLost, inflight)
	}
	var checked int64
	for _, p := range procs {
		if p.role != "chaos-consumer" {
			continue
		}
		lines, err := readLedger(p.args.Ledger)
		if err != nil {
			return checked, err
		}
		next := make([]int64, stride) // per producer: the value due next
		for s := range next {
			next[s] = int64(s)
		}
		attached, lapped := false, false
		for k, l := range lines {
			word, num, _ := strings.Cut(l, " ")
			n, _ := strconv.ParseInt(num, 10, 64)
			s := n % stride
			switch {
			case word == "start" || word == "attach":
				attached = true
				continue
			case word == "v" && n >= 0 && n == next[s]:
				next[s] += stride
				checked++
			case word == "v" && n >= 0 && n == next[s]-stride && (attached || inflight[n] || lapped):
				// Redelivered (see above), or, right after a lap reported
				// on reattaching, a value the ring counted among the missed
				// because the consumer died before releasing it.
			case word == "lost" && scenario == scenarioPlain && n > 0:
				next[0] += n
				lapped = attached
				continue
			default:
				return checked, fmt.Errorf("consumer %s, ledger line %d: %q where value %d was next (lines %d-%d: %s)",
					p.label, k+1, l, next[s], max(k-5, 0)+1, k+1, strings.Join(lines[max(k-5, 0):k+1], "; "))
			}
			attached, lapped = false, false
		}
		for s := range next {
			if next[s] < events {
				return checked, fmt.Errorf("consumer %s ended at value %d of %d", p.label, next[s], events)
			}
		}
	}
	return checked, nil
}

// checkGroup checks a group's members' ledgers together.
func checkGroup(procs []*chaosProc, events int64, lost uint64, inflight map[int64]bool) (int64, error) {
	seen := make([]int, events)
	held := map[int64]bool{} // each member life's last value: it may have died holding it
	for _, p := range procs {
		if p.role != "chaos-consumer" {
			continue
		}
		lines, err := readLedger(p.args.Ledger)
		if err != nil {
			return 0, err
		}
		last := int64(-1)
		for k, l := range lines {
			if l == "start" || l == "attach" {
				if last >= 0 {
					held[last] = true
				}
				continue
			}
			if strings.HasPrefix(l, "lost ") {
				continue // the member's view of the group's lapped count, checked below
			}
			n, err := strconv.ParseInt(strings.TrimPrefix(l, "v "), 10, 64)
			if err != nil || n < 0 || n >= events || !strings.HasPrefix(l, "v ") {
				return 0, fmt.Errorf("member %s, ledger line %d: %q", p.label, k+1, l)
			}
			seen[n]++
			last = n
		}
	}
	var checked int64
	missing := uint64(0)
	for v, n := range seen {
		switch {
		case n == 0:
			missing++
		case n > 1 && !held[int64(v)] && !inflight[int64(v)]:
			return checked, fmt.Errorf("value %d delivered %d times, and no member died holding it", v, n)
		}
		checked += int64(min(n, 1))
	}
	if missing != lost {
		return checked, fmt.Errorf("%d values reached no member, the group counted %d lost", missing, lost)
	}
	return checked, nil
}
