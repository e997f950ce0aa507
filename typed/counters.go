package typed

import (
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Typed's error counters live in the handle's ring LayerCounters, above
// frame's slots, written when an error happens (errors are rare, so no
// batching), so that any process can read them (ring.Inspect, the
// snapshot package, myelon stat). Decoded and Sent stay process-local:
// frame's message counters in the segment count the same messages.
const (
	slotDecodeErrors = frame.LayerSlots + 0 // a consumer's
	slotSchemaErrors = frame.LayerSlots + 1 // a consumer's
	slotEncodeErrors = frame.LayerSlots + 0 // a producer's

	// LayerSlots is the number of LayerCounters slots frame and typed use,
	// from 0: a layer above typed keeps its own counters from slot
	// LayerSlots up.
	LayerSlots = frame.LayerSlots + 2
)

// Error log kinds typed records (ring.Stats.Errors), after frame's.
const (
	// ErrorKindDecode: a consumer's codec rejected a message; detail: its id.
	ErrorKindDecode = ring.ErrorLayer + 4
	// ErrorKindSchema: a consumer met a message tagged with another
	// schema; detail: its id.
	ErrorKindSchema = ring.ErrorLayer + 5
	// ErrorKindEncode: a producer's codec refused a value.
	ErrorKindEncode = ring.ErrorLayer + 6
)

// SharedConsumerStats are the counters of a typed consumer that any
// process can read from the ring's segment.
type SharedConsumerStats struct {
	DecodeErrors uint64              `json:"decode_errors"`
	SchemaErrors uint64              `json:"schema_errors"`
	Frame        frame.ConsumerStats `json:"frame"`
}

// ConsumerStatsOf decodes a typed consumer's counters from its ring
// LayerCounters slots (ring.ConsumerStats.Layer).
func ConsumerStatsOf(slots [ring.LayerCounterSlots]uint64) SharedConsumerStats {
	return SharedConsumerStats{
		DecodeErrors: slots[slotDecodeErrors], SchemaErrors: slots[slotSchemaErrors],
		Frame: frame.ConsumerStatsOf(slots),
	}
}

// SharedProducerStats are the counters of a typed producer that any
// process can read from the ring's segment.
type SharedProducerStats struct {
	EncodeErrors uint64              `json:"encode_errors"`
	Frame        frame.ProducerStats `json:"frame"`
}

// ProducerStatsOf decodes a typed producer's counters from its ring
// LayerCounters slots (ring.Stats.ProducerLayer).
func ProducerStatsOf(slots [ring.LayerCounterSlots]uint64) SharedProducerStats {
	return SharedProducerStats{EncodeErrors: slots[slotEncodeErrors], Frame: frame.ProducerStatsOf(slots)}
}
