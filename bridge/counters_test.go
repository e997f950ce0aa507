package bridge

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// TestCounters_Marked: the counters outboundCounters and inboundCounters
// return are marked, so that a snapshot of the segment finds the bridges,
// with their direction and the counters stored in the bridge's slots.
func TestCounters_Marked(t *testing.T) {
	ctx := context.Background()
	name := filepath.Join(t.TempDir(), "r")
	p, err := frame.Create(name, frame.Config{Backend: ring.File, Capacity: 8, PayloadCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := frame.Attach(ctx, name, frame.ConsumerConfig{Backend: ring.File, ID: "out"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, in := outboundCounters(c), inboundCounters(p)
	for slot, v := range map[int]uint64{slotOutPublished: 1, slotOutAcked: 2, slotOutRepublished: 3, slotOutErrors: 4} {
		out.Store(slot, v)
	}
	for slot, v := range map[int]uint64{slotInWritten: 5, slotInDuplicates: 6, slotInLost: 7, slotInErrors: 8} {
		in.Store(slot, v)
	}

	r, err := snapshot.Take(ring.File, name)
	if err != nil {
		t.Fatal(err)
	}
	wantIn := &snapshot.BridgeStats{Direction: snapshot.BridgeInbound, Inbound: &InboundStats{Written: 5, Duplicates: 6, Lost: 7, Errors: 8}}
	if b := r.Producer.Bridge; !reflect.DeepEqual(b, wantIn) {
		js, _ := json.Marshal(b)
		t.Errorf("producer's bridge %s, want inbound 5 6 7 8", js)
	}
	wantOut := &snapshot.BridgeStats{Direction: snapshot.BridgeOutbound, Outbound: &OutboundStats{Published: 1, Acked: 2, Republished: 3, Errors: 4}}
	if b := r.Consumers[0].Bridge; !reflect.DeepEqual(b, wantOut) {
		js, _ := json.Marshal(b)
		t.Errorf("consumer's bridge %s, want outbound 1 2 3 4", js)
	}
	if got := OutboundStatsOf(r.Stats.Consumers[0].Layer); got != (OutboundStats{Published: 1, Acked: 2, Republished: 3, Errors: 4}) {
		t.Errorf("OutboundStatsOf %+v", got)
	}
	if got := InboundStatsOf(r.Stats.ProducerLayer); got != (InboundStats{Written: 5, Duplicates: 6, Lost: 7, Errors: 8}) {
		t.Errorf("InboundStatsOf %+v", got)
	}
}
