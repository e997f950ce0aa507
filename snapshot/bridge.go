package snapshot

import (
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// The NATS bridge (module github.com/myelon-go/myelon/bridge) keeps its
// counters in the ring LayerCounters of its own handle: an outbound bridge
// in its ring consumer's slots, an inbound bridge in its ring producer's.
// Their layout is defined here and the bridge refers to it, because this
// package has to decode them and cannot import the bridge: the bridge
// depends on this module, and this module depends on nothing but the
// standard library and golang.org/x/sys.
//
// The bridge's slots come after frame's and typed's (typed.LayerSlots):
// first a marker, then four counters for its direction.
const (
	// BridgeRoleSlot holds a bridge's marker (BridgeMarker), stored once
	// when the bridge starts. Without it a reader could not tell a
	// bridge's counters from a program's own counters in the same slots,
	// nor an outbound bridge from an inbound one.
	BridgeRoleSlot = typed.LayerSlots

	// An outbound bridge's counters (BridgeOutboundStats), in its ring
	// consumer's slots.
	BridgeSlotPublished   = typed.LayerSlots + 1
	BridgeSlotAcked       = typed.LayerSlots + 2
	BridgeSlotRepublished = typed.LayerSlots + 3
	BridgeSlotOutErrors   = typed.LayerSlots + 4

	// An inbound bridge's counters (BridgeInboundStats), in its ring
	// producer's slots.
	BridgeSlotWritten    = typed.LayerSlots + 1
	BridgeSlotDuplicates = typed.LayerSlots + 2
	BridgeSlotLost       = typed.LayerSlots + 3
	BridgeSlotInErrors   = typed.LayerSlots + 4
)

// BridgeDirection is which way a bridge carries messages.
type BridgeDirection string

// The directions of a bridge.
const (
	BridgeOutbound BridgeDirection = "outbound" // from the ring to NATS, as a ring consumer
	BridgeInbound  BridgeDirection = "inbound"  // from NATS into the ring, as a ring producer
)

// bridgeTag is the top 24 bits of a marker: "MYB" in ASCII.
const bridgeTag = 0x4d5942

// BridgeMarker is the value a bridge of direction d, in the process pid
// (os.Getpid), stores in its handle's BridgeRoleSlot: a tag, the direction
// and the pid. A reader takes a handle for a bridge only if the slot holds
// the marker with the pid the ring records for that handle, because the
// ring hands a closed or dead participant's entry to the next one with its
// layer counters as they were: the pid keeps a bridge's old marker from
// passing for its successor's in another process.
func BridgeMarker(d BridgeDirection, pid uint32) uint64 {
	var code uint64 // 0 for an unknown direction: no reader accepts it
	switch d {
	case BridgeOutbound:
		code = 1
	case BridgeInbound:
		code = 2
	}
	return bridgeTag<<40 | code<<32 | uint64(pid)
}

// BridgeStats are a NATS bridge's counters: those of its direction, the
// other's nil.
type BridgeStats struct {
	Direction BridgeDirection      `json:"direction"`
	Outbound  *BridgeOutboundStats `json:"outbound,omitempty"`
	Inbound   *BridgeInboundStats  `json:"inbound,omitempty"`
}

// BridgeOutboundStats count what an outbound bridge did.
type BridgeOutboundStats struct {
	Published   uint64 `json:"published"`   // messages handed to NATS (first publish)
	Acked       uint64 `json:"acked"`       // messages released in the ring: acknowledged by JetStream, or published in core mode
	Republished uint64 `json:"republished"` // JetStream publishes repeated after a failure or timeout
	Errors      uint64 `json:"errors"`      // failed publishes, protocol errors and laps met in the ring
}

// BridgeInboundStats count what an inbound bridge did.
type BridgeInboundStats struct {
	Written    uint64 `json:"written"`    // messages published into the ring
	Duplicates uint64 `json:"duplicates"` // redelivered messages already written, acknowledged and skipped
	Lost       uint64 `json:"lost"`       // messages known lost: dropped by a slow core subscription, or a chain gap given up on
	Errors     uint64 `json:"errors"`     // messages refused (bad header, schema) and failed fetches and acks
}

// BridgeOutboundStatsOf decodes an outbound bridge's counters from its
// ring consumer's LayerCounters slots (ring.ConsumerStats.Layer).
func BridgeOutboundStatsOf(slots [ring.LayerCounterSlots]uint64) BridgeOutboundStats {
	return BridgeOutboundStats{
		Published: slots[BridgeSlotPublished], Acked: slots[BridgeSlotAcked],
		Republished: slots[BridgeSlotRepublished], Errors: slots[BridgeSlotOutErrors],
	}
}

// BridgeInboundStatsOf decodes an inbound bridge's counters from its ring
// producer's LayerCounters slots (ring.Stats.ProducerLayer on a ring with
// one producer, else ring.ProducerStats.Layer).
func BridgeInboundStatsOf(slots [ring.LayerCounterSlots]uint64) BridgeInboundStats {
	return BridgeInboundStats{
		Written: slots[BridgeSlotWritten], Duplicates: slots[BridgeSlotDuplicates],
		Lost: slots[BridgeSlotLost], Errors: slots[BridgeSlotInErrors],
	}
}

// isBridge reports whether a handle's slots hold the marker of a bridge of
// direction d in process pid.
func isBridge(slots *[ring.LayerCounterSlots]uint64, d BridgeDirection, pid uint32) bool {
	return slots[BridgeRoleSlot] == BridgeMarker(d, pid)
}

// consumerBridge decodes the counters of consumer c if it is an outbound
// bridge, else returns nil.
func consumerBridge(c *ring.ConsumerStats) *BridgeStats {
	if !isBridge(&c.Layer, BridgeOutbound, c.PID) {
		return nil
	}
	s := BridgeOutboundStatsOf(c.Layer)
	return &BridgeStats{Direction: BridgeOutbound, Outbound: &s}
}

// producerBridge decodes the counters of the ring's producer if it is an
// inbound bridge; on a multi-producer ring, the sum of those of its
// producers that are (several bridges, from several origins, may join one
// ring). Nil if none is.
func (r *Ring) producerBridge() *BridgeStats {
	var sum [ring.LayerCounterSlots]uint64
	found := false
	if r.Info.MaxProducers > 1 {
		for i := range r.Stats.Producers {
			p := &r.Stats.Producers[i]
			if isBridge(&p.Layer, BridgeInbound, p.PID) {
				found = true
				for k, v := range p.Layer {
					sum[k] += v
				}
			}
		}
	} else {
		// The one producer is the ring's creator.
		sum, found = r.Stats.ProducerLayer, isBridge(&r.Stats.ProducerLayer, BridgeInbound, r.Info.OwnerPID)
	}
	if !found {
		return nil
	}
	s := BridgeInboundStatsOf(sum)
	return &BridgeStats{Direction: BridgeInbound, Inbound: &s}
}
