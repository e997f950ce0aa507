package typed_test

// Multi-process test: the typed producer and consumer are child processes
// (internal/childtest roles) on a real shm segment.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// TestChildProcess is where a child process of these tests plays its role
// (internal/childtest); run directly it skips.
func TestChildProcess(t *testing.T) { childtest.Run(t) }

// processRecords is the number of records the multi-process test sends.
const processRecords = 10_000

var (
	processProducerRole = childtest.Register("typed.producer", processProducer)
	processConsumerRole = childtest.Register("typed.consumer", processConsumer)
)

// TestTyped_Process_10k: a producer process sends 10,000 TestPayload
// records (every seventh about 4.5 KB, five 1 KiB frames) through a ring of
// 256 frames; a consumer process decodes them with Recv, then Process,
// then All, checks every field of every record against its id, and sees
// end of stream after the last.
func TestTyped_Process_10k(t *testing.T) {
	name := ring.PortableName("typ")
	life := childtest.Options{Life: 60 * time.Second, Timeout: 60 * time.Second}
	prod := processProducerRole.Start(t, name, life)
	cons := processConsumerRole.Start(t, name, life)
	cons.Wait()
	prod.Wait()
}

func processProducer(t *testing.T, ch *childtest.Child, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	p, err := typed.Create(name, payloadCodec(), typed.Config{PayloadCapacity: 1024, Capacity: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.WaitForConsumerIDs(ctx, "verifier"); err != nil {
		t.Fatal(err)
	}
	v := new(testPayload)
	for i := range uint64(processRecords) {
		payloadFor(v, i)
		if _, err := p.Send(ctx, v); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	st := p.Stats().Frame
	ch.Logf("sent %d records, %d frames, %d multi-frame, %d bytes", st.Messages, st.Fragments, st.MultiFrame, st.Bytes)
}

func processConsumer(t *testing.T, ch *childtest.Child, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	c, err := typed.Attach(ctx, name, payloadCodec(), typed.ConsumerConfig{PayloadCapacity: 1024, ID: "verifier"})

	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next := uint64(0)
	check := func(m frame.Meta, v *testPayload) error {
		if m.ID != next+1 {
			return fmt.Errorf("message id %d, want %d", m.ID, next+1)
		}
		if err := checkPayload(v, next); err != nil {
			return err
		}
		next++
		return nil
	}
	v := new(testPayload)
	for next < processRecords/3 {
		m, err := c.Recv(ctx, v)
		if err != nil {
			t.Fatalf("Recv at %d: %v", next, err)
		}
		if err := check(m, v); err != nil {
			t.Fatal(err)
		}
	}
	for next < 2*processRecords/3 {
		if _, err := c.Process(ctx, 2*processRecords/3-int(next), check); err != nil {
			t.Fatalf("Process at %d: %v", next, err)
		}
	}
	for m, v := range c.All(ctx) {
		if err := check(m, v); err != nil {
			t.Fatal(err)
		}
	}
	if c.Err() != nil || next != processRecords {
		t.Fatalf("All ended at %d: %v", next, c.Err())
	}
	if _, err := c.TryRecv(v); !errors.Is(err, frame.ErrEndOfStream) {
		t.Fatalf("after the last record: %v, want end of stream", err)
	}
	st := c.Stats()
	fs := st.Frame
	if st.Decoded != processRecords || st.DecodeErrors+st.SchemaErrors != 0 || fs.ReassemblyErrors != 0 {
		t.Fatalf("stats %+v, frame %+v", st, fs)
	}
	ch.Logf("verified %d records (%d multi-frame, %d frames)", next, fs.MultiFrame, fs.Fragments)
}
