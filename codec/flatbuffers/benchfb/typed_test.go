package benchfb_test

// TestView_FlatbuffersMultiFrame lived in typed's tests; it is here because
// benchfb belongs to the codec/flatbuffers module, which the root module
// (ring, frame, typed) must not require. Its record is the one typed's
// tests use (internal/testrecord).

import (
	"context"
	"testing"

	"github.com/myelon-go/myelon/codec/flatbuffers/benchfb"
	"github.com/myelon-go/myelon/internal/testrecord"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

var bg = context.Background()

type testPayload = testrecord.Payload

// heapName is a fresh ring name for the Heap backend.
func heapName(t testing.TB) string { return ring.PortableName("ty") }

// TestView_FlatbuffersMultiFrame: a PayloadBatch of 8 records (about
// 5 KB, six 1 KiB frames) sent with the flatbuffers object codec and read
// in place, verified, from the reassembly buffer.
func TestView_FlatbuffersMultiFrame(t *testing.T) {
	name := heapName(t)
	p, err := typed.Create(name, benchfb.NewPayloadBatchCodec(), typed.Config{PayloadCapacity: 1024, Backend: ring.Heap, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := typed.AttachView(context.Background(), name, benchfb.NewPayloadBatchView(), typed.ConsumerConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	batch := &benchfb.PayloadBatchT{}
	for i := range 8 {
		var v testPayload
		testrecord.Fill(&v, uint64(i*7)) // no 1024-token records
		batch.Entries = append(batch.Entries, &benchfb.TestPayloadT{Id: v.ID, TokenIds: v.TokenIDs, BlockTable: v.BlockTable, Temperature: v.Temperature, Label: string(v.Label)})
	}
	for range 3 {
		if _, err := p.Send(bg, batch); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	n := 0
	for m, b := range c.All(bg) {
		var e benchfb.TestPayload
		for i := range b.EntriesLength() {
			b.Entries(&e, i)
			v := testPayload{ID: e.Id(), Temperature: e.Temperature(), Label: e.Label()}
			for j := range e.TokenIdsLength() {
				v.TokenIDs = append(v.TokenIDs, e.TokenIds(j))
			}
			for j := range e.BlockTableLength() {
				v.BlockTable = append(v.BlockTable, e.BlockTable(j))
			}
			if err := testrecord.Check(&v, uint64(i*7)); err != nil {
				t.Fatalf("message %d: %v", m.ID, err)
			}
		}
		if b.EntriesLength() != 8 {
			t.Fatalf("message %d: %d entries", m.ID, b.EntriesLength())
		}
		n++
	}
	if n != 3 || c.Err() != nil || c.Stats().Frame.MultiFrame != 3 {
		t.Fatalf("read %d, err %v, frame stats %+v", n, c.Err(), c.Stats().Frame)
	}
}
