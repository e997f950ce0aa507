package ring

// A property test of the claim/publish/consume protocol on heap rings, where
// the race detector sees every slot access: if a consumer could read a slot
// while a producer writes it, -race reports it here.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// protoRecord is one event as a side saw it: its sequence and payload.
type protoRecord struct {
	seq, producer, index int64
}

// TestProtocol_Heap_Property draws a ring (capacity, single or multi
// producer), 1-3 producers with their batch sizes and publish calls, 1-3
// consumers with their read calls, and optionally a consumer that joins
// mid-stream. It checks that the sequences handed to producers are exactly
// 0..total-1 (each once), that every consumer reads exactly the sequences
// from its start to the end, each once and in order, each carrying the
// intact payload its producer wrote at that sequence (so per-producer order
// holds and no event is torn), and that everyone ends with
// ErrEndOfStream. It also draws a consumer group of 0-3 members, some of
// which leave mid-stream (perhaps holding a claim): across the members
// every sequence is read exactly once, carrying the right event.
func TestProtocol_Heap_Property(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		capacity := 1 << rapid.IntRange(1, 6).Draw(rt, "log2capacity")
		producers := rapid.IntRange(1, 3).Draw(rt, "producers")
		multi := producers > 1 || rapid.Bool().Draw(rt, "multiOne")
		if multi && capacity < 2 {
			capacity = 2
		}
		cfg := Config{Backend: Heap, Capacity: capacity, LivenessInterval: 20 * time.Millisecond}
		if multi {
			cfg.MaxProducers = producers + 1
		}
		type prodPlan struct {
			events, maxBatch int
			mode             string
		}
		plans := make([]prodPlan, producers)
		for i := range plans {
			plans[i] = prodPlan{
				events:   rapid.IntRange(0, 200).Draw(rt, fmt.Sprintf("events%d", i)),
				maxBatch: rapid.IntRange(1, capacity).Draw(rt, fmt.Sprintf("maxBatch%d", i)),
				mode:     rapid.SampledFrom([]string{"publish", "batch", "trybatch", "send"}).Draw(rt, fmt.Sprintf("pmode%d", i)),
			}
		}
		consumers := rapid.IntRange(1, 3).Draw(rt, "consumers")
		cmodes := make([]string, consumers)
		for i := range cmodes {
			cmodes[i] = rapid.SampledFrom([]string{"next", "trynext", "lease", "process", "all"}).Draw(rt, fmt.Sprintf("cmode%d", i))
		}
		// A consumer group: its members share the events (member 0 stays to
		// the end; the others may close after some events).
		members := rapid.IntRange(0, 3).Draw(rt, "groupMembers")
		mmodes := make([]string, members)
		quits := make([]int, members)
		for i := range mmodes {
			mmodes[i] = rapid.SampledFrom([]string{"next", "trynext", "lease", "process", "all"}).Draw(rt, fmt.Sprintf("mmode%d", i))
			if i > 0 {
				quits[i] = rapid.IntRange(-1, 50).Draw(rt, fmt.Sprintf("mquit%d", i))
			} else {
				quits[i] = -1
			}
		}
		lateAfter := rapid.IntRange(-1, 100).Draw(rt, "lateJoinAfter") // -1: no late consumer
		maxProcess := rapid.IntRange(0, capacity).Draw(rt, "processMax")

		name := PortableName("prop")
		owner, err := Create[mpxEvent](name, cfg)
		if err != nil {
			rt.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cons := make([]*Consumer[mpxEvent], consumers)
		for i := range cons {
			if cons[i], err = Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: fmt.Sprintf("c%d", i)}); err != nil {
				rt.Fatal(err)
			}
		}
		mems := make([]*Consumer[mpxEvent], members)
		for i := range mems {
			if mems[i], err = Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: fmt.Sprintf("m%d", i), Group: "g", LivenessInterval: 20 * time.Millisecond}); err != nil {
				rt.Fatal(err)
			}
		}
		prods := make([]*Producer[mpxEvent], producers)
		prods[0] = owner
		for i := 1; i < producers; i++ {
			if prods[i], err = Join[mpxEvent](context.Background(), name, JoinConfig{Backend: Heap}); err != nil {
				rt.Fatal(err)
			}
		}

		var mu sync.Mutex
		var errs []error
		fail := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			cancel()
		}
		published := make([][]protoRecord, producers)
		var total int64
		for _, pl := range plans {
			total += int64(pl.events)
		}

		// Consumers: each records what it read.
		reads := make([][]protoRecord, consumers+1+members) // consumers, late, members
		var cwg sync.WaitGroup
		consume := func(k int, c *Consumer[mpxEvent], mode string, quit int) {
			defer cwg.Done()
			rec := func(seq int64, e *mpxEvent) bool {
				if !mpxValid(e, producers) {
					fail(fmt.Errorf("consumer %d: torn event at seq %d: %+v", k, seq, *e))
					return false
				}
				reads[k] = append(reads[k], protoRecord{seq, e.Producer, e.Seq})
				return true
			}
			for {
				if quit >= 0 && len(reads[k]) >= quit {
					// Leave mid-stream, maybe holding a claim (a member gives
					// it back to its group).
					if e, err := c.TryRecv(); err == nil {
						rec(c.Position(), &e)
					}
					c.Close()
					return
				}
				var err error
				switch mode {
				case "next", "trynext":
					var e mpxEvent
					if mode == "next" {
						e, err = c.Recv(ctx)
					} else if e, err = c.TryRecv(); errors.Is(err, ErrEmpty) && ctx.Err() == nil {
						runtime.Gosched()
						continue
					}
					if err == nil && !rec(c.Position(), &e) {
						return
					}
				case "lease":
					ok := true
					err = c.Read(ctx, func(e *mpxEvent, seq int64) error {
						ok = rec(seq, e)
						return nil
					})
					if err == nil && !ok {
						return
					}
				case "process":
					_, err = c.Process(ctx, maxProcess, func(e *mpxEvent, seq int64, _ bool) error {
						if !rec(seq, e) {
							return errors.New("stop")
						}
						return nil
					})
				case "all":
					for seq, e := range c.All(ctx) {
						if !rec(seq, &e) {
							return
						}
					}
					err = c.Err()
					if err == nil {
						err = ErrEndOfStream
					}
				}
				if errors.Is(err, ErrEndOfStream) {
					return
				}
				if err != nil {
					fail(fmt.Errorf("consumer %d (%s): %w", k, mode, err))
					return
				}
			}
		}
		for k, c := range cons {
			cwg.Add(1)
			go consume(k, c, cmodes[k], -1)
		}
		for m, c := range mems {
			cwg.Add(1)
			go consume(consumers+1+m, c, mmodes[m], quits[m])
		}

		// Producers: each records the sequences it was given.
		var pwg sync.WaitGroup
		var late *Consumer[mpxEvent]
		var lateStart int64
		for i, p := range prods {
			pwg.Add(1)
			go func(i int, p *Producer[mpxEvent], pl prodPlan) {
				defer pwg.Done()
				for n := 0; n < pl.events; {
					if i == 0 && n >= lateAfter && lateAfter >= 0 && late == nil {
						// Join mid-stream, between two publishes of producer 0.
						c, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "late"})
						if err != nil {
							fail(err)
							return
						}
						late, lateStart = c, c.Position()+1
						cwg.Add(1) // before pwg.Done, so before cwg.Wait
						go consume(consumers, late, "next", -1)
					}
					b := 1
					if pl.mode == "batch" || pl.mode == "trybatch" {
						b = min(1+(n*7+i)%pl.maxBatch, pl.events-n)
					}
					base := int64(n)
					var hi int64
					var err error
					switch pl.mode {
					case "publish":
						hi, err = p.Publish(ctx, func(e *mpxEvent) { mpxFill(int64(i), base, e) })
					case "send":
						var e mpxEvent
						mpxFill(int64(i), base, &e)
						hi, err = p.Send(ctx, &e)
					case "batch":
						hi, err = p.PublishBatch(ctx, b, func(j int, e *mpxEvent) { mpxFill(int64(i), base+int64(j), e) })
					case "trybatch":
						hi, err = p.TryPublishBatch(b, func(j int, e *mpxEvent) { mpxFill(int64(i), base+int64(j), e) })
						if errors.Is(err, ErrFull) {
							if ctx.Err() != nil {
								fail(ctx.Err())
								return
							}
							runtime.Gosched()
							continue
						}
					}
					if err != nil {
						fail(fmt.Errorf("producer %d (%s) at %d: %w", i, pl.mode, n, err))
						return
					}
					for j := 0; j < b; j++ {
						published[i] = append(published[i], protoRecord{hi - int64(b-1-j), int64(i), base + int64(j)})
					}
					n += b
				}
			}(i, p, plans[i])
		}
		pwg.Wait()
		for _, p := range prods[1:] {
			p.Close()
		}
		owner.Close()
		cwg.Wait()
		for _, c := range cons {
			c.Close()
		}
		for _, c := range mems {
			c.Close()
		}
		if late != nil {
			late.Close()
		}
		if len(errs) > 0 {
			rt.Fatal(errors.Join(errs...))
		}

		// The sequences given out are 0..total-1, each once; bySeq is the
		// reference history: which event each sequence carries.
		bySeq := make([]protoRecord, total)
		seen := make([]bool, total)
		for _, recs := range published {
			for j, r := range recs {
				if j > 0 && r.seq <= recs[j-1].seq {
					rt.Fatalf("producer %d: event %d got sequence %d after %d", r.producer, j, r.seq, recs[j-1].seq)
				}
				if r.seq < 0 || r.seq >= total || seen[r.seq] {
					rt.Fatalf("producer %d was given sequence %d (total %d): out of range or twice", r.producer, r.seq, total)
				}
				seen[r.seq], bySeq[r.seq] = true, r
			}
		}
		check := func(k int, start int64, recs []protoRecord) {
			if int64(len(recs)) != total-start {
				rt.Fatalf("consumer %d read %d events, want %d (sequences %d..%d)", k, len(recs), total-start, start, total-1)
			}
			for j, r := range recs {
				if want := bySeq[start+int64(j)]; r != want {
					rt.Fatalf("consumer %d, read %d: got %+v, want %+v", k, j, r, want)
				}
			}
		}
		for k := range cons {
			check(k, 0, reads[k])
		}
		if late != nil {
			check(consumers, lateStart, reads[consumers])
		}
		// The group: every sequence read by exactly one member, carrying
		// the event its producer wrote there.
		if members > 0 {
			by := make([]int, total)
			for m := range mems {
				for _, r := range reads[consumers+1+m] {
					if r.seq < 0 || r.seq >= total || r != bySeq[r.seq] {
						rt.Fatalf("member %d read %+v, want %+v", m, r, bySeq[max(0, min(r.seq, total-1))])
					}
					by[r.seq]++
				}
			}
			for seq, n := range by {
				if n != 1 {
					rt.Fatalf("sequence %d read by %d members of the group, want 1", seq, n)
				}
			}
		}
	})
}
