package myelonprom_test

// A multi-process scrape: a producer and a consumer process run a known
// workload on a typed shm ring; the test process, which never joins the
// ring, scrapes /metrics while they run and after each is SIGKILLed.

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/myelonprom"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

func TestChildProcess(t *testing.T) { childtest.Run(t) }

// typedWorkload: N records of 24 bytes, then a payload that is not a
// record (a decode error for the consumer).
type typedWorkload struct {
	Name string
	N    int
}

type record struct{ A, B, C uint64 }

const garbage = "not a record"

var (
	producerRole = childtest.Register("myelonprom.producer", runProducer)
	consumerRole = childtest.Register("myelonprom.consumer", runConsumer)
)

// runProducer creates the ring, sends the workload once consumer c1 is
// attached, waits until it is consumed, says "sent" and waits to be
// killed.
func runProducer(t *testing.T, ch *childtest.Child, w typedWorkload) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := typed.Create(w.Name, raw.MustNew[record](), typed.Config{PayloadCapacity: 64, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitForConsumerIDs(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	for i := range w.N {
		if _, err := p.Send(ctx, &record{A: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.SendEncoded(ctx, 0, []byte(garbage)); err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ch.Say("sent")
	ch.Await("exit")
}

// runConsumer reads the records and the payload that is not one, finds
// the ring empty (its counters are then exact in the segment), says
// "read" and waits to be killed.
func runConsumer(t *testing.T, ch *childtest.Child, w typedWorkload) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := typed.Attach(ctx, w.Name, raw.MustNew[record](), typed.ConsumerConfig{ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var v record
	for range w.N {
		if _, err := c.Recv(ctx, &v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Recv(ctx, &v); !errors.Is(err, typed.ErrDecode) {
		t.Fatalf("the payload that is not a record: %v, want a decode error", err)
	}
	if _, err := c.TryRecv(&v); !errors.Is(err, ring.ErrEmpty) {
		t.Fatalf("after the workload: %v, want ErrEmpty", err)
	}
	ch.Say("read")
	ch.Await("exit")
}

// TestHandler_Processes scrapes a typed ring of two other processes:
// while both run, the typed and frame counters, the decode error in the
// error log and both alive; after the consumer's SIGKILL, the consumer
// dead (its entry still active); after the producer's, the ring stale and
// its counters kept.
func TestHandler_Processes(t *testing.T) {
	w := typedWorkload{Name: ring.PortableName("mxt"), N: 20}
	t.Cleanup(func() { ring.Reclaim(ring.Shm, w.Name) })
	prod := producerRole.Start(t, w)
	cons := consumerRole.Start(t, w)
	cons.Expect("read")
	prod.Expect("sent")

	h, err := myelonprom.Handler(catalog.Selection{Names: []string{w.Name}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	r := labels{"ring": w.Name, "backend": "shm", "layer": "typed"}
	c := r.with("consumer", "c1", "group", "")
	msgs, bytes := float64(w.N+1), float64(w.N*24+len(garbage))
	check := func(when string, wants []want) {
		t.Helper()
		fams := scrape(t, srv.URL)
		for _, w := range wants {
			if got, ok := value(fams, w.name, w.labels); !ok || got != w.want {
				t.Errorf("%s: %s%v = %v (scraped: %v), want %v", when, w.name, w.labels, got, ok, w.want)
			}
		}
	}
	check("running", []want{
		{"myelon_ring_state", r.with("state", "ready"), 1},
		{"myelon_ring_alive", r, 1},
		{"myelon_ring_info", r.with("kind", "bytes", "schema", raw.MustNew[record]().Schema().String()), 1},
		{"myelon_ring_published_total", r, msgs},
		{"myelon_ring_errors_total", r.with("kind", "typed_decode"), 1},
		{"myelon_frame_producer_messages_total", r, msgs},
		{"myelon_frame_producer_bytes_total", r, bytes},
		{"myelon_typed_producer_encode_errors_total", r, 0},
		{"myelon_consumer_alive", c, 1},
		{"myelon_consumer_lag", c, 0},
		{"myelon_consumer_position", c, msgs - 1},
		{"myelon_frame_consumer_messages_total", c, msgs},
		{"myelon_frame_consumer_bytes_total", c, bytes},
		{"myelon_typed_consumer_decode_errors_total", c, 1},
		{"myelon_typed_consumer_schema_errors_total", c, 0},
	})
	cons.Kill()
	check("consumer killed", []want{
		{"myelon_consumer_alive", c, 0},
		{"myelon_consumer_state", c.with("state", "active"), 1},
		{"myelon_ring_alive", r, 1},
	})
	prod.Kill()
	check("producer killed", []want{
		{"myelon_ring_state", r.with("state", "stale"), 1},
		{"myelon_ring_state", r.with("state", "ready"), 0},
		{"myelon_ring_alive", r, 0},
		{"myelon_ring_published_total", r, msgs},
		{"myelon_typed_consumer_decode_errors_total", c, 1},
	})
}

// want is a series' expected value.
type want struct {
	name   string
	labels labels
	want   float64
}
