package ring

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// groupRing creates a heap ring (multi-producer with producers > 1) and
// returns its producers: the creator first.
func groupRing(t *testing.T, capacity, producers int) (string, []*Producer[mpxEvent]) {
	t.Helper()
	name := PortableName("grp")
	cfg := Config{Backend: Heap, Capacity: capacity, LivenessInterval: 20 * time.Millisecond}
	if producers > 1 {
		cfg.MaxProducers = producers
	}
	p, err := Create[mpxEvent](name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ps := []*Producer[mpxEvent]{p}
	for i := 1; i < producers; i++ {
		j, err := Join[mpxEvent](context.Background(), name, JoinConfig{Backend: Heap, LivenessInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, j)
	}
	return name, ps
}

func member(t *testing.T, name, group, id string) *Consumer[mpxEvent] {
	t.Helper()
	c, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: id, Group: group, LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// groupStats returns the stats of group name.
func groupStats(t *testing.T, st Stats, name string) GroupStats {
	t.Helper()
	for _, g := range st.Groups {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %q in %+v", name, st.Groups)
	return GroupStats{}
}

// TestGroup_Heap_EachEventOnceAcrossMembers: 1 or 3 producers publish into
// a small ring read by a 2-member group (members read with Next, Lease and
// Process) and a broadcast consumer. Each event reaches exactly one member,
// intact; the broadcast consumer still sees every event in order.
func TestGroup_Heap_EachEventOnceAcrossMembers(t *testing.T) {
	for _, producers := range []int{1, 3} {
		t.Run(fmt.Sprintf("producers=%d", producers), func(t *testing.T) {
			const per = 5000
			name, ps := groupRing(t, 32, producers)
			bc, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "bc"})
			if err != nil {
				t.Fatal(err)
			}
			defer bc.Close()
			members := []*Consumer[mpxEvent]{member(t, name, "work", "m0"), member(t, name, "work", "m1")}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			var pwg sync.WaitGroup
			for i, p := range ps {
				pwg.Add(1)
				go func() {
					defer pwg.Done()
					for k := int64(0); k < per; k++ {
						if _, err := p.Publish(ctx, func(e *mpxEvent) { mpxFill(int64(i), k, e) }); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			seen := make([][]int, len(members)) // per member: events seen, indexed producer*per+seq
			var cwg sync.WaitGroup
			for m, c := range members {
				seen[m] = make([]int, producers*per)
				cwg.Add(1)
				go func() {
					defer cwg.Done()
					see := func(e *mpxEvent) error {
						if !mpxValid(e, producers) {
							return fmt.Errorf("member %d: torn event %+v", m, *e)
						}
						seen[m][int(e.Producer)*per+int(e.Seq)]++
						return nil
					}
					for k := 0; ; k++ {
						var err error
						switch k % 3 {
						case 0:
							var e mpxEvent
							if e, err = c.Recv(ctx); err == nil {
								err = see(&e)
							}
						case 1:
							err = c.Read(ctx, func(e *mpxEvent, _ int64) error { return see(e) })
						case 2:
							_, err = c.Process(ctx, 0, func(e *mpxEvent, _ int64, _ bool) error { return see(e) })
						}
						if errors.Is(err, ErrEndOfStream) {
							return
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			var next [3]int64
			for n := 0; n < producers*per; n++ {
				e, err := bc.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if e.Seq != next[e.Producer] {
					t.Fatalf("broadcast: producer %d event %d, want %d", e.Producer, e.Seq, next[e.Producer])
				}
				next[e.Producer]++
			}
			pwg.Wait()
			for _, p := range ps[1:] {
				p.Close()
			}
			st := ps[0].Stats()
			ps[0].Close()
			cwg.Wait()
			for ev := 0; ev < producers*per; ev++ {
				if n := seen[0][ev] + seen[1][ev]; n != 1 {
					t.Fatalf("event %d of producer %d delivered %d times to the group (m0 %d, m1 %d)", ev%per, ev/per, n, seen[0][ev], seen[1][ev])
				}
			}
			g := groupStats(t, st, "work")
			if g.Lost != 0 || g.Lapped != 0 || g.Members != 2 {
				t.Errorf("group stats %+v: want 2 members, nothing lost or lapped", g)
			}
		})
	}
}

// TestGroup_Heap_IdleMemberDoesNotGate: a member that stops asking for
// events holds nothing back: the other member and the producer go on for
// ten rings' worth without the ring ever being full.
func TestGroup_Heap_IdleMemberDoesNotGate(t *testing.T) {
	const capacity = 8
	name, ps := groupRing(t, capacity, 1)
	a, b := member(t, name, "g", "a"), member(t, name, "g", "b")
	p := ps[0]
	p.Publish(context.Background(), func(e *mpxEvent) { mpxFill(0, 0, e) })
	if e, err := b.TryRecv(); err != nil || e.Seq != 0 {
		t.Fatalf("b: %+v %v", e, err)
	}
	for i := int64(1); i < 10*capacity; i++ {
		if _, err := p.TryPublish(func(e *mpxEvent) { mpxFill(0, i, e) }); err != nil {
			t.Fatalf("publish %d with b idle: %v", i, err)
		}
		if e, err := a.TryRecv(); err != nil || e.Seq != i {
			t.Fatalf("a at %d: %+v %v", i, e, err)
		}
	}
}

// TestGroup_Heap_CloseReturnsClaim: a member that closes while holding a
// claim on an event not yet published gives it back; the other member gets
// it, and the group counts one redelivery and no loss.
func TestGroup_Heap_CloseReturnsClaim(t *testing.T) {
	name, ps := groupRing(t, 16, 1)
	a := member(t, name, "g", "a")
	b, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "b", Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryRecv(); !errors.Is(err, ErrEmpty) { // claims sequence 0
		t.Fatalf("b on an empty ring: %v", err)
	}
	if _, err := a.TryRecv(); !errors.Is(err, ErrEmpty) { // claims sequence 1
		t.Fatalf("a on an empty ring: %v", err)
	}
	b.Close()
	for i := int64(0); i < 4; i++ {
		ps[0].Publish(context.Background(), func(e *mpxEvent) { mpxFill(0, i, e) })
	}
	var got []int64
	for range 4 {
		e, err := a.TryRecv()
		if err != nil {
			t.Fatalf("a after %v: %v", got, err)
		}
		got = append(got, e.Seq)
	}
	if fmt.Sprint(got) != "[1 0 2 3]" {
		t.Errorf("a read %v, want [1 0 2 3] (its own claim, then b's returned one)", got)
	}
	if g := groupStats(t, ps[0].Stats(), "g"); g.Redelivered != 1 || g.Lost != 0 || g.Pending != 0 {
		t.Errorf("group stats %+v: want 1 redelivered, none lost or pending", g)
	}
}

// TestGroup_Heap_DeadMemberEventRedelivered: a member "dies" (its liveness
// lock is dropped without Close) holding a leased event. The idle
// surviving member notices within the liveness interval and gets the
// event; so does a rejoin under the dead member's id, when it comes first.
func TestGroup_Heap_DeadMemberEventRedelivered(t *testing.T) {
	for _, who := range []string{"survivor", "rejoin"} {
		t.Run(who, func(t *testing.T) {
			name, ps := groupRing(t, 16, 1)
			a := member(t, name, "g", "a")
			b, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "b", Group: "g"})
			if err != nil {
				t.Fatal(err)
			}
			for i := int64(0); i < 3; i++ {
				ps[0].Publish(context.Background(), func(e *mpxEvent) { mpxFill(0, i, e) })
			}
			// b claims event 0 as Read does before calling back, and dies
			// before it returns.
			if err := b.c.ready(context.Background(), true); err != nil || (*mpxEvent)(b.c.s.slot(b.c.next)).Seq != 0 {
				t.Fatalf("b claim: seq %d %v", b.c.next, err)
			}
			// b dies holding event 0: its process would lose the lock.
			b.c.s.m.Unlock(lockConsumers + int64(b.c.idx))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			want := []int64{1, 2, 0}
			if who == "rejoin" {
				b2 := member(t, name, "g", "b")
				if e, err := b2.Recv(ctx); err != nil || e.Seq != 0 {
					t.Fatalf("rejoined b: %+v %v, want its held event 0", e, err)
				}
				want = []int64{1, 2}
			}
			var got []int64
			for range want {
				e, err := a.Recv(ctx)
				if err != nil {
					t.Fatalf("a after %v: %v", got, err)
				}
				got = append(got, e.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("a read %v, want %v", got, want)
			}
			if g := groupStats(t, ps[0].Stats(), "g"); g.Redelivered != 1 || g.Lost != 0 {
				t.Errorf("group stats %+v: want 1 redelivered, none lost", g)
			}
		})
	}
}

// TestGroup_Heap_LappedWithoutMembers: a group with no member gates
// nothing; the member that joins next learns how many events the group
// missed, and reads on from the oldest one still in the ring.
func TestGroup_Heap_LappedWithoutMembers(t *testing.T) {
	const capacity = 8
	name, ps := groupRing(t, capacity, 1)
	a, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "a", Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	for i := int64(0); i < 5*capacity; i++ {
		if _, err := ps[0].TryPublish(func(e *mpxEvent) { mpxFill(0, i, e) }); err != nil {
			t.Fatalf("publish %d with no member: %v", i, err)
		}
	}
	b := member(t, name, "g", "b")
	_, err = b.TryRecv()
	var le *LappedError
	if !errors.As(err, &le) || le.Missed <= 0 {
		t.Fatalf("first read: %v, want *LappedError", err)
	}
	n := le.Missed
	for {
		e, err := b.TryRecv()
		if errors.Is(err, ErrEmpty) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != n {
			t.Fatalf("after the lap: event %d, want %d", e.Seq, n)
		}
		n++
	}
	if n != 5*capacity {
		t.Errorf("missed %d + read %d = %d, want %d", le.Missed, n-le.Missed, n, 5*capacity)
	}
	if g := groupStats(t, ps[0].Stats(), "g"); g.Lapped != uint64(le.Missed) {
		t.Errorf("group lapped %d, want %d", g.Lapped, le.Missed)
	}
}

// TestGroup_ConfigErrors: a group name too long, or a member that would be
// an observer, is refused.
func TestGroup_ConfigErrors(t *testing.T) {
	name, _ := groupRing(t, 8, 1)
	for _, cfg := range []ConsumerConfig{
		{Backend: Heap, Group: string(make([]byte, MaxIDLen+1))},
		{Backend: Heap, Group: "g", Observer: true},
	} {
		if _, err := Attach[mpxEvent](context.Background(), name, cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Attach(group %d bytes, observer %v): %v, want ErrInvalidConfig", len(cfg.Group), cfg.Observer, err)
		}
	}
}
