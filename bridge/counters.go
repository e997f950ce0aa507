package bridge

import (
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// The bridge keeps its counters in the ring's LayerCounters of its own
// handle, above frame's slots (0 to frame.LayerSlots-1) and typed's (the
// next two), so that any process reads them from the segment (ring.Inspect,
// the snapshot package, myelon stat, the exporters): the outbound bridge in
// its consumer's slots (the consumer with OutboundConfig.ConsumerID), the
// inbound bridge in its producer's.
const (
	// FirstSlot is the first LayerCounters slot the bridge uses; it uses
	// FirstSlot to FirstSlot+3.
	FirstSlot = frame.LayerSlots + 3

	slotOutPublished   = FirstSlot + 0
	slotOutAcked       = FirstSlot + 1
	slotOutRepublished = FirstSlot + 2
	slotOutErrors      = FirstSlot + 3

	slotInWritten    = FirstSlot + 0
	slotInDuplicates = FirstSlot + 1
	slotInLost       = FirstSlot + 2
	slotInErrors     = FirstSlot + 3
)

// OutboundStats counts what an outbound bridge did.
type OutboundStats struct {
	Published   uint64 `json:"published"`   // messages handed to NATS (first publish)
	Acked       uint64 `json:"acked"`       // messages released in the ring: acknowledged by JetStream, or published in core mode
	Republished uint64 `json:"republished"` // JetStream publishes repeated after a failure or timeout
	Errors      uint64 `json:"errors"`      // failed publishes, protocol errors and laps met in the ring
}

// InboundStats counts what an inbound bridge did.
type InboundStats struct {
	Written    uint64 `json:"written"`    // messages published into the ring
	Duplicates uint64 `json:"duplicates"` // redelivered messages already written, acknowledged and skipped
	Lost       uint64 `json:"lost"`       // messages known lost: dropped by a slow core subscription, or a chain gap given up on
	Errors     uint64 `json:"errors"`     // messages refused (bad header, schema) and failed fetches and acks
}

// OutboundStatsOf decodes an outbound bridge's counters from its ring
// consumer's LayerCounters slots (ring.ConsumerStats.Layer).
func OutboundStatsOf(slots [ring.LayerCounterSlots]uint64) OutboundStats {
	return OutboundStats{
		Published:   slots[slotOutPublished],
		Acked:       slots[slotOutAcked],
		Republished: slots[slotOutRepublished],
		Errors:      slots[slotOutErrors],
	}
}

// InboundStatsOf decodes an inbound bridge's counters from its ring
// producer's LayerCounters slots (ring.Stats.ProducerLayer on a ring with
// one producer, else ring.ProducerStats.Layer).
func InboundStatsOf(slots [ring.LayerCounterSlots]uint64) InboundStats {
	return InboundStats{
		Written:    slots[slotInWritten],
		Duplicates: slots[slotInDuplicates],
		Lost:       slots[slotInLost],
		Errors:     slots[slotInErrors],
	}
}
