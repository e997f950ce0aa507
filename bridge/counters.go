package bridge

import (
	"os"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// The bridge keeps its counters in the ring's LayerCounters of its own
// handle, above frame's and typed's slots, so that any process reads them
// from the segment (ring.Inspect, the snapshot package, myelon stat, the
// exporters): the outbound bridge in its consumer's slots (the consumer
// with OutboundConfig.ConsumerID), the inbound bridge in its producer's.
// The layout is the snapshot package's (snapshot.BridgeRoleSlot and the
// slots after it), which has to decode them without importing this
// module; a marker in the first slot tells readers the handle is a bridge
// and which way it bridges.
const (
	// FirstSlot is the first LayerCounters slot of the bridge's counters;
	// they are FirstSlot to FirstSlot+3.
	FirstSlot = snapshot.BridgeSlotPublished

	slotOutPublished   = snapshot.BridgeSlotPublished
	slotOutAcked       = snapshot.BridgeSlotAcked
	slotOutRepublished = snapshot.BridgeSlotRepublished
	slotOutErrors      = snapshot.BridgeSlotOutErrors

	slotInWritten    = snapshot.BridgeSlotWritten
	slotInDuplicates = snapshot.BridgeSlotDuplicates
	slotInLost       = snapshot.BridgeSlotLost
	slotInErrors     = snapshot.BridgeSlotInErrors
)

// OutboundStats counts what an outbound bridge did (the snapshot
// package's type, so that readers of the segment decode the same).
type OutboundStats = snapshot.BridgeOutboundStats

// InboundStats counts what an inbound bridge did (the snapshot package's
// type, so that readers of the segment decode the same).
type InboundStats = snapshot.BridgeInboundStats

// OutboundStatsOf decodes an outbound bridge's counters from its ring
// consumer's LayerCounters slots (ring.ConsumerStats.Layer).
func OutboundStatsOf(slots [ring.LayerCounterSlots]uint64) OutboundStats {
	return snapshot.BridgeOutboundStatsOf(slots)
}

// InboundStatsOf decodes an inbound bridge's counters from its ring
// producer's LayerCounters slots (ring.Stats.ProducerLayer on a ring with
// one producer, else ring.ProducerStats.Layer).
func InboundStatsOf(slots [ring.LayerCounterSlots]uint64) InboundStats {
	return snapshot.BridgeInboundStatsOf(slots)
}

// outboundCounters returns the LayerCounters of an outbound bridge's ring
// consumer, marked as an outbound bridge's for readers of the segment.
func outboundCounters(c *frame.Consumer) ring.LayerCounters {
	return marked(c.LayerCounters(), snapshot.BridgeOutbound)
}

// inboundCounters returns the LayerCounters of an inbound bridge's ring
// producer, marked as an inbound bridge's for readers of the segment.
func inboundCounters(p *frame.Producer) ring.LayerCounters {
	return marked(p.LayerCounters(), snapshot.BridgeInbound)
}

// marked stores the marker of a bridge of direction d in this process in
// l, once as the bridge starts (it never changes while the handle lives),
// and returns l.
func marked(l ring.LayerCounters, d snapshot.BridgeDirection) ring.LayerCounters {
	l.Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(d, uint32(os.Getpid())))
	return l
}
