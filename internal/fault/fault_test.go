package fault

import (
	"reflect"
	"testing"
	"time"
)

func TestParsePlan(t *testing.T) {
	p, err := ParsePlan("seed=42,rate=0.5,actions=stop+kill,points=claim-publish+join,delay=2ms")
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{Seed: 42, Rate: 0.5, Actions: []Action{Stop, Kill}, Points: []Point{ClaimPublish, Join}, MaxDelay: 2 * time.Millisecond}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("ParsePlan = %+v, want %+v", p, want)
	}
	if q, err := ParsePlan(p.String()); err != nil || !reflect.DeepEqual(q, p) {
		t.Errorf("ParsePlan(String()) = %+v, %v; want %+v", q, err, p)
	}
	for _, bad := range []string{"", "rate=0.1", "seed=x", "seed=1,rate=2", "seed=1,actions=explode", "seed=1,points=nowhere", "seed=1,color=red", "seed=1,nokey"} {
		if _, err := ParsePlan(bad); err == nil {
			t.Errorf("ParsePlan(%q) accepted", bad)
		}
	}
}

// TestDecider_ReplaysFromSeed: the same seed makes the same decisions at
// the same hits; another seed makes others; the rate is honoured; Fail is
// never chosen where the operation cannot fail; points outside the plan
// are never hit.
func TestDecider_ReplaysFromSeed(t *testing.T) {
	plan := Plan{Seed: 7, Rate: 0.2, Actions: []Action{Delay, Stop, Kill, Fail}, MaxDelay: time.Millisecond, Points: []Point{ClaimPublish, Join}}
	run := func(p Plan) []Action {
		d := newDecider(p)
		var out []Action
		for i := range 10000 {
			pt := Points[i%len(Points)]
			a, delay := d.decide(pt, pt == Join)
			if a == Fail && pt != Join {
				t.Fatalf("Fail chosen at %s, which cannot fail", pt)
			}
			if a != "" && pt != ClaimPublish && pt != Join {
				t.Fatalf("%s hit at %s, outside the plan's points", a, pt)
			}
			if delay < 0 || delay >= p.MaxDelay && a == Delay {
				t.Fatalf("delay %v outside [0, %v)", delay, p.MaxDelay)
			}
			out = append(out, a)
		}
		return out
	}
	a, b := run(plan), run(plan)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed made different decisions")
	}
	other := plan
	other.Seed = 8
	if reflect.DeepEqual(a, run(other)) {
		t.Error("another seed made the same decisions")
	}
	n := 0
	for _, x := range a {
		if x != "" {
			n++
		}
	}
	// 2 of 7 points are planned: about 10000*2/7*0.2 = 571 faults.
	if n < 400 || n > 750 {
		t.Errorf("%d faults in 10000 hits at rate 0.2 on 2 of 7 points, want about 571", n)
	}
}

// TestOff: without the build tag, the hooks do nothing.
func TestOff(t *testing.T) {
	if Enabled {
		t.Skip("built with myelonfault")
	}
	t.Setenv(EnvVar, "seed=1,rate=1,actions=fail")
	Hit(Join)
	if err := Check(Join); err != nil {
		t.Fatalf("Check without the build tag: %v", err)
	}
}
