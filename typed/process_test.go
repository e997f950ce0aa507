package typed_test

// Multi-process test: the test binary re-executes itself with
// -test.run=^<the test>$ and TYPED_TEST_ROLE naming the part to play, so
// the typed producer and consumer are separate processes on a real shm
// segment.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

const (
	roleEnv = "TYPED_TEST_ROLE"
	ringEnv = "TYPED_TEST_RING"
)

// processRecords is the number of records the multi-process test sends.
const processRecords = 10_000

// TestTyped_Process_10k: a producer process sends 10,000 TestPayload
// records (every seventh about 4.5 KB, five 1 KiB frames) through a ring of
// 256 frames; a consumer process decodes them with Recv, then Process,
// then All, checks every field of every record against its id, and sees
// end of stream after the last.
func TestTyped_Process_10k(t *testing.T) {
	switch os.Getenv(roleEnv) {
	case "producer":
		processProducer(t, os.Getenv(ringEnv))
		return
	case "consumer":
		processConsumer(t, os.Getenv(ringEnv))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := ring.PortableName("typ")
	prod, pout := child(t, ctx, "TestTyped_Process_10k", "producer", ringEnv+"="+name)
	cons, cout := child(t, ctx, "TestTyped_Process_10k", "consumer", ringEnv+"="+name)
	waitChild(t, "consumer", cons, cout)
	waitChild(t, "producer", prod, pout)
}

func child(t *testing.T, ctx context.Context, test, role string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), append([]string{roleEnv + "=" + role}, env...)...)
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

func waitChild(t *testing.T, name string, cmd *exec.Cmd, out *bytes.Buffer) {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Errorf("%s: %v\n%s", name, err, out)
		return
	}
	t.Logf("%s:\n%s", name, bytes.TrimSpace(out.Bytes()))
}

func processProducer(t *testing.T, name string) {
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
	t.Logf("sent %d records, %d frames, %d multi-frame, %d bytes", st.Messages, st.Fragments, st.MultiFrame, st.Bytes)
}

func processConsumer(t *testing.T, name string) {
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
	t.Logf("verified %d records (%d multi-frame, %d frames)", next, fs.MultiFrame, fs.Fragments)
}
