package snapshot_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// markBridge makes a handle's counters those of a bridge of direction d in
// this process, as the bridge does: the marker, then its four counters.
func markBridge(l ring.LayerCounters, d snapshot.BridgeDirection, counters ...uint64) {
	l.Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(d, uint32(os.Getpid())))
	l.StoreSlots(snapshot.BridgeRoleSlot+1, counters)
}

// show is v in JSON, for failure messages: the stats hold pointers.
func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTake_Bridge: on a file-backed frame ring whose producer is an
// inbound bridge and one of whose consumers is an outbound bridge, Take
// decodes both bridges' counters, from the segment, with their direction,
// and JSON names them in snake case; the other consumer, one holding a
// bridge marker of another process (an entry a bridge left behind) and
// one holding an outbound marker in its slot are not bridges.
func TestTake_Bridge(t *testing.T) {
	ctx := context.Background()
	name := filepath.Join(t.TempDir(), "bridged")
	p, err := frame.Create(name, frame.Config{Backend: ring.File, Capacity: 16, PayloadCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	attach := func(id string) *frame.Consumer {
		c, err := frame.Attach(ctx, name, frame.ConsumerConfig{Backend: ring.File, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	out, plain, stale, inbound := attach("nats-out"), attach("audit"), attach("stale"), attach("inbound-here")
	if _, err := p.Send(ctx, 1, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	p.Stats() // writes frame's counters, beside the bridge's
	markBridge(p.LayerCounters(), snapshot.BridgeInbound, 11, 12, 13, 14)
	markBridge(out.LayerCounters(), snapshot.BridgeOutbound, 21, 22, 23, 24)
	plain.LayerCounters().Store(snapshot.BridgeSlotPublished, 5) // a program's own counter
	stale.LayerCounters().Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(snapshot.BridgeOutbound, uint32(os.Getpid())+1))
	markBridge(inbound.LayerCounters(), snapshot.BridgeInbound, 1, 2, 3, 4) // a consumer cannot be an inbound bridge

	r, err := snapshot.Take(ring.File, name)
	if err != nil {
		t.Fatal(err)
	}
	wantIn := &snapshot.BridgeStats{Direction: snapshot.BridgeInbound,
		Inbound: &snapshot.BridgeInboundStats{Written: 11, Duplicates: 12, Lost: 13, Errors: 14}}
	if r.Producer == nil || !reflect.DeepEqual(r.Producer.Bridge, wantIn) {
		t.Errorf("producer's bridge %s, want %s", show(r.Producer), show(wantIn))
	}
	if r.Producer.FrameProducer == nil || r.Producer.FrameProducer.Messages != 1 {
		t.Errorf("producer's frame counters %+v, want 1 message", r.Producer.FrameProducer)
	}
	wantOut := &snapshot.BridgeStats{Direction: snapshot.BridgeOutbound,
		Outbound: &snapshot.BridgeOutboundStats{Published: 21, Acked: 22, Republished: 23, Errors: 24}}
	byID := map[string]*snapshot.LayerStats{}
	for i, c := range r.Stats.Consumers {
		byID[c.ID] = &r.Consumers[i]
	}
	if len(byID) != 4 {
		t.Fatalf("consumers %+v, want 4", r.Stats.Consumers)
	}
	if got := byID["nats-out"].Bridge; !reflect.DeepEqual(got, wantOut) {
		t.Errorf("nats-out's bridge %s, want %s", show(got), show(wantOut))
	}
	for _, id := range []string{"audit", "stale", "inbound-here"} {
		if b := byID[id].Bridge; b != nil {
			t.Errorf("%s taken for a bridge: %s", id, show(b))
		}
	}

	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"bridge":{"direction":"inbound","inbound":{"written":11,"duplicates":12,"lost":13,"errors":14}}`,
		`"bridge":{"direction":"outbound","outbound":{"published":21,"acked":22,"republished":23,"errors":24}}`,
	} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON has no %s:\n%s", want, js)
		}
	}
}

// TestTake_NoBridge: a frame ring without a bridge, whose producer and
// consumer have streamed messages, shows no bridge counters.
func TestTake_NoBridge(t *testing.T) {
	ctx := context.Background()
	name := filepath.Join(t.TempDir(), "plain")
	p, err := frame.Create(name, frame.Config{Backend: ring.File, Capacity: 16, PayloadCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := frame.Attach(ctx, name, frame.ConsumerConfig{Backend: ring.File, ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for range 3 {
		if _, err := p.Send(ctx, 1, buf[:20]); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	p.Stats()
	c.Stats()
	r, err := snapshot.Take(ring.File, name)
	if err != nil {
		t.Fatal(err)
	}
	if r.Producer == nil || r.Producer.FrameProducer.Messages != 3 || len(r.Consumers) != 1 || r.Consumers[0].FrameConsumer.Messages != 3 {
		t.Fatalf("frame counters not decoded: %s %s", show(r.Producer), show(r.Consumers))
	}
	if r.Producer.Bridge != nil || r.Consumers[0].Bridge != nil {
		t.Errorf("bridge counters on a ring without a bridge: %s, %s", show(r.Producer.Bridge), show(r.Consumers[0].Bridge))
	}
}

// TestTake_BridgesJoined: on a multi-producer frame ring, the producer
// side's bridge counters are the sum over the producers that are inbound
// bridges, and the creator, which is not one, adds nothing.
func TestTake_BridgesJoined(t *testing.T) {
	ctx := context.Background()
	name := filepath.Join(t.TempDir(), "mp")
	p, err := frame.Create(name, frame.Config{Backend: ring.File, Capacity: 16, PayloadCapacity: 64, MaxProducers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.LayerCounters().Store(snapshot.BridgeSlotWritten, 1000) // a program's own counter
	for _, n := range []uint64{1, 10} {
		q, err := frame.Join(ctx, name, frame.JoinConfig{Backend: ring.File})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		markBridge(q.LayerCounters(), snapshot.BridgeInbound, n, 2*n, 3*n, 4*n)
	}
	r, err := snapshot.Take(ring.File, name)
	if err != nil {
		t.Fatal(err)
	}
	want := &snapshot.BridgeStats{Direction: snapshot.BridgeInbound,
		Inbound: &snapshot.BridgeInboundStats{Written: 11, Duplicates: 22, Lost: 33, Errors: 44}}
	if r.Producer == nil || !reflect.DeepEqual(r.Producer.Bridge, want) {
		t.Errorf("producers' bridge %s, want %s", show(r.Producer.Bridge), show(want))
	}
}
