// Package fault injects faults at named points of myelon's protocols, so
// that tests and myelon chaos can delay, stop (SIGSTOP), kill (SIGKILL)
// or fail a participant exactly where the protocol is most fragile:
// between a claim and its publish, between two fragments of a message,
// while a consumer joins or rejoins, while a producer reaps dead
// consumers, before a side parks on the futex or wakes the other.
//
// It is compiled in only with the build tag myelonfault. Without it Hit
// and Check are empty functions the compiler removes: the protocol's code
// pays nothing for its hooks.
//
// With the tag, the plan comes from the environment variable MYELON_FAULT
// (see Plan): a seed, a probability per hit, the actions and the points.
// Every decision is drawn from a generator seeded by the plan's seed, one
// draw per hit, so a participant that hits the same points in the same
// order makes the same decisions: a failing run replays from its seed.
package fault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Point names a place in the protocol where a fault can be injected.
type Point string

// The points.
const (
	ClaimPublish Point = "claim-publish" // a producer has claimed slots and not published them
	MidFragment  Point = "mid-fragment"  // a framed producer between two chunks of one message
	Join         Point = "join"          // a consumer taking an entry in the table
	Rejoin       Point = "rejoin"        // a consumer resuming its id's position
	Reap         Point = "reap"          // a producer detaching dead consumers
	Park         Point = "park"          // a side about to sleep on the futex
	Wake         Point = "wake"          // a side about to wake the other
)

// Points lists every point.
var Points = []Point{ClaimPublish, MidFragment, Join, Rejoin, Reap, Park, Wake}

// Action is what happens at a point when the plan's draw says so.
type Action string

// The actions.
const (
	Delay Action = "delay" // sleep up to Plan.MaxDelay
	Stop  Action = "stop"  // SIGSTOP ourselves: whoever runs us sends SIGCONT
	Kill  Action = "kill"  // SIGKILL ourselves
	Fail  Action = "fail"  // the operation fails with ErrInjected (points that can fail)
)

// ErrInjected is the error of an operation failed by a plan.
var ErrInjected = errors.New("fault: injected failure")

// EnvVar holds the plan of a process.
const EnvVar = "MYELON_FAULT"

// LogPrefix starts the line a process writes on standard error for each
// fault it injects: LogPrefix, the action, "@", the point.
const LogPrefix = "myelon-fault: "

// Plan says which faults a process injects.
type Plan struct {
	Seed     uint64
	Rate     float64 // probability of a fault at each hit, in [0, 1]
	Actions  []Action
	Points   []Point // nil: every point
	MaxDelay time.Duration
}

// String renders p as ParsePlan reads it.
func (p Plan) String() string {
	var acts, pts []string
	for _, a := range p.Actions {
		acts = append(acts, string(a))
	}
	for _, q := range p.Points {
		pts = append(pts, string(q))
	}
	s := fmt.Sprintf("seed=%d,rate=%g,actions=%s,delay=%s", p.Seed, p.Rate, strings.Join(acts, "+"), p.MaxDelay)
	if len(pts) > 0 {
		s += ",points=" + strings.Join(pts, "+")
	}
	return s
}

// ParsePlan reads a plan: comma-separated key=value pairs, seed (required),
// rate (default 0.01), actions and points (joined by +; default: delay,
// and every point), delay (the longest delay; default 1ms).
func ParsePlan(s string) (Plan, error) {
	p := Plan{Rate: 0.01, Actions: []Action{Delay}, MaxDelay: time.Millisecond}
	seeded := false
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Plan{}, fmt.Errorf("fault: plan %q: %q is not key=value", s, kv)
		}
		var err error
		switch k {
		case "seed":
			p.Seed, err = strconv.ParseUint(v, 10, 64)
			seeded = err == nil
		case "rate":
			p.Rate, err = strconv.ParseFloat(v, 64)
			if err == nil && (p.Rate < 0 || p.Rate > 1) {
				err = errors.New("want a probability in [0, 1]")
			}
		case "delay":
			p.MaxDelay, err = time.ParseDuration(v)
		case "actions":
			p.Actions = nil
			for _, a := range strings.Split(v, "+") {
				switch Action(a) {
				case Delay, Stop, Kill, Fail:
					p.Actions = append(p.Actions, Action(a))
				default:
					err = fmt.Errorf("unknown action %q (want delay, stop, kill, fail)", a)
				}
			}
		case "points":
			for _, q := range strings.Split(v, "+") {
				if !knownPoint(Point(q)) {
					err = fmt.Errorf("unknown point %q", q)
				}
				p.Points = append(p.Points, Point(q))
			}
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return Plan{}, fmt.Errorf("fault: plan %q: %s: %v", s, k, err)
		}
	}
	if !seeded {
		return Plan{}, fmt.Errorf("fault: plan %q: no seed", s)
	}
	return p, nil
}

func knownPoint(q Point) bool {
	for _, p := range Points {
		if p == q {
			return true
		}
	}
	return false
}

// decider makes a plan's decisions: one draw per hit of a planned point.
type decider struct {
	plan  Plan
	state uint64
}

func newDecider(p Plan) *decider { return &decider{plan: p, state: p.Seed} }

// next is splitmix64: tiny, and the same sequence on every platform.
func (d *decider) next() uint64 {
	d.state += 0x9e3779b97f4a7c15
	z := d.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// decide returns the action for a hit of p ("" for none) and, for Delay,
// how long.
func (d *decider) decide(p Point, canFail bool) (Action, time.Duration) {
	if len(d.plan.Points) > 0 && !contains(d.plan.Points, p) {
		return "", 0
	}
	r := d.next()
	if float64(r>>11)/(1<<53) >= d.plan.Rate {
		return "", 0
	}
	acts := d.plan.Actions
	if !canFail {
		acts = withoutFail(acts)
	}
	if len(acts) == 0 {
		return "", 0
	}
	r = d.next()
	a := acts[r%uint64(len(acts))]
	var delay time.Duration
	if a == Delay && d.plan.MaxDelay > 0 {
		delay = time.Duration(d.next() % uint64(d.plan.MaxDelay))
	}
	return a, delay
}

func contains(ps []Point, p Point) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func withoutFail(acts []Action) []Action {
	var out []Action
	for _, a := range acts {
		if a != Fail {
			out = append(out, a)
		}
	}
	return out
}
