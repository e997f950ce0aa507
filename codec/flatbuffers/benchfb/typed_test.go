package benchfb_test

// TestView_FlatbuffersMultiFrame lived in typed's tests; it is here because
// benchfb belongs to the codec/flatbuffers module, which the root module
// (ring, frame, typed) must not require. The helpers below are the parts of
// typed's test helpers (helpers_test.go) that it uses.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/myelon-go/myelon/codec/flatbuffers/benchfb"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

var bg = context.Background()

// testPayload is the seed's bench record, with every field derived from
// its id (payloadFor).
type testPayload struct {
	ID          uint64
	TokenIDs    []uint32
	BlockTable  []uint32
	Temperature float32
	Label       []byte
}

// tokensFor is the number of token ids of record i: 128 as in the seed,
// every seventh record 1024.
func tokensFor(i uint64) int {
	if i%7 == 3 {
		return 1024
	}
	return 128
}

// payloadFor fills p (reusing its slices) as record i.
func payloadFor(p *testPayload, i uint64) {
	p.ID = i
	p.TokenIDs = p.TokenIDs[:0]
	for k := range tokensFor(i) {
		p.TokenIDs = append(p.TokenIDs, uint32(i)*31+uint32(k))
	}
	p.BlockTable = p.BlockTable[:0]
	for k := range 8 {
		p.BlockTable = append(p.BlockTable, uint32(i>>3)+uint32(k))
	}
	p.Temperature = 0.7 + float32(i%10)/100
	p.Label = fmt.Appendf(p.Label[:0], "seq_%d", i)
}

// checkPayload reports how p differs from record i.
func checkPayload(p *testPayload, i uint64) error {
	var want testPayload
	payloadFor(&want, i)
	switch {
	case p.ID != want.ID:
		return fmt.Errorf("record %d: id %d", i, p.ID)
	case !slices.Equal(p.TokenIDs, want.TokenIDs):
		return fmt.Errorf("record %d: %d token ids differ", i, len(p.TokenIDs))
	case !slices.Equal(p.BlockTable, want.BlockTable):
		return fmt.Errorf("record %d: block table %v", i, p.BlockTable)
	case math.Float32bits(p.Temperature) != math.Float32bits(want.Temperature):
		return fmt.Errorf("record %d: temperature %v", i, p.Temperature)
	case !bytes.Equal(p.Label, want.Label):
		return fmt.Errorf("record %d: label %q", i, p.Label)
	}
	return nil
}

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
		payloadFor(&v, uint64(i*7)) // no 1024-token records
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
			if err := checkPayload(&v, uint64(i*7)); err != nil {
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
