package ring

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLayerCounters: a handle's layer counters and its layer errors are
// in the segment, so another handle's Stats reads them; after Close they
// go to private memory and the segment is not touched.
func TestLayerCounters(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 8, MaxConsumers: 2})
	c := apiAttach(t, name, ConsumerConfig{ID: "layer"})
	pl, cl := p.LayerCounters(), c.LayerCounters()
	pl.Add(0, 3)
	pl.Add(0, 4)
	pl.Store(7, 99)
	cl.Add(2, 5)
	if got := pl.Load(0); got != 7 {
		t.Errorf("producer slot 0 = %d, want 7", got)
	}
	st := c.Stats()
	if st.ProducerLayer[0] != 7 || st.ProducerLayer[7] != 99 {
		t.Errorf("consumer's view of the producer's layer counters: %v", st.ProducerLayer)
	}
	if len(st.Consumers) != 1 || st.Consumers[0].Layer[2] != 5 {
		t.Errorf("producer's view of the consumer's layer counters: %+v", st.Consumers)
	}

	before := time.Now()
	if err := cl.LogError(ErrorLayer+1, 42); err != nil {
		t.Fatal(err)
	}
	if err := cl.LogError(ErrorLayer+1, 43); err != nil {
		t.Fatal(err)
	}
	for _, k := range []ErrorKind{ErrorLapped, ErrorLayer - 1, ErrorLayer + 8} {
		if err := cl.LogError(k, 0); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("LogError(%v) = %v, want ErrInvalidConfig", k, err)
		}
	}
	errs := p.Stats().Errors
	if len(errs) != 1 {
		t.Fatalf("error log %+v, want one record", errs)
	}
	r := errs[0]
	if r.Kind != ErrorLayer+1 || r.Count != 2 || r.Detail != 43 || r.First.Before(before.Add(-time.Second)) || r.Last.Before(r.First) {
		t.Errorf("error record %+v, want layer1 twice, detail 43, first <= last", r)
	}
	if r.Kind.String() != "layer1" {
		t.Errorf("kind name %q", r.Kind.String())
	}

	c.Close()
	cl.Add(2, 1) // private memory now: no fault, and the segment keeps 5
	if got := cl.Load(2); got != 6 {
		t.Errorf("closed consumer's own count %d, want 6", got)
	}
	if err := cl.LogError(ErrorLayer, 1); err != nil {
		t.Errorf("LogError after Close: %v", err)
	}
	if n := len(p.Stats().Errors); n != 1 {
		t.Errorf("LogError after Close reached the segment: %d records", n)
	}
}

// TestErrorLog_Lapped: an observer lapped by the producer finds the lap in
// the ring's error log, with the number of events it missed.
func TestErrorLog_Lapped(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 4})
	o := apiAttach(t, name, ConsumerConfig{ID: "obs", Observer: true})
	publishSeqs(t, p, 10)
	var lap *LappedError
	if _, err := o.TryRecv(); !errors.As(err, &lap) {
		t.Fatalf("TryRecv after 10 events on a 4-slot ring: %v, want *LappedError", err)
	}
	errs := p.Stats().Errors
	if len(errs) != 1 || errs[0].Kind != ErrorLapped || errs[0].Count != 1 || errs[0].Detail != lap.Missed {
		t.Errorf("error log %+v, want one lap of %d", errs, lap.Missed)
	}
}

// TestLayerCounters_NewHolderStartsAtZero: an entry a new consumer id or a
// new producer takes carries none of its last holder's layer counts (a
// reader would take them for the new holder's).
func TestLayerCounters_NewHolderStartsAtZero(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 8, MaxConsumers: 1, MaxProducers: 2})
	old := apiAttach(t, name, ConsumerConfig{ID: "old"})
	old.LayerCounters().Store(11, 7)
	old.Close()
	c := apiAttach(t, name, ConsumerConfig{ID: "new"}) // the only entry: old's
	if got := c.LayerCounters().Load(11); got != 0 {
		t.Errorf("new consumer's slot 11 = %d, want 0", got)
	}
	c.Close()
	j, err := Join[apiEvent](context.Background(), name, JoinConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	j.LayerCounters().Store(11, 9)
	j.Close()
	j, err = Join[apiEvent](context.Background(), name, JoinConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got := p.Stats().ProducerLayer[11]; got != 0 {
		t.Errorf("producers' slot 11 = %d after a new producer took the entry, want 0", got)
	}
}
