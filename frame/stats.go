package frame

import "github.com/myelon-go/myelon/ring"

// Framing counters are counted in plain fields of the handle, by the
// goroutine that uses it (an atomic add per message would cost more than
// the rest of the framing), and written to the handle's LayerCounters in
// the ring's segment every flushEvery messages, whenever the handle finds
// the ring empty or full (ring.LayerCounters.OnIdle), when it drains, when
// Stats is called and when it closes (a consumer checks the count between
// two batches of frames from the ring). So any process can read them
// without the handle's help (ring.Inspect, the snapshot package, myelon
// stat): exact whenever the handle is idle; while it streams without a
// pause, behind by fewer than flushEvery messages (a consumer: plus at
// most one batch). Stats also reads the ring's
// own shared counters (waits, parks, laps, positions) into the Ring field.

// ProducerStats counts what a Producer published.
type ProducerStats struct {
	Messages   uint64 `json:"messages"`    // messages published in full
	Fragments  uint64 `json:"fragments"`   // frames of those messages
	Bytes      uint64 `json:"bytes"`       // payload bytes of those messages
	MultiFrame uint64 `json:"multi_frame"` // messages of more than one frame
	Chunked    uint64 `json:"chunked"`     // messages larger than the ring, sent in chunks
	Aborted    uint64 `json:"aborted"`     // chunked messages that failed after their first chunk
	// Ring holds the ring's shared counters, read when Stats was called.
	Ring ring.Stats `json:"ring"`
}

// ConsumerStats counts what a Consumer read.
type ConsumerStats struct {
	Messages   uint64 `json:"messages"`    // messages delivered
	Fragments  uint64 `json:"fragments"`   // frames consumed into messages (delivered or in progress)
	Bytes      uint64 `json:"bytes"`       // payload bytes delivered
	MultiFrame uint64 `json:"multi_frame"` // messages started that span several frames
	// ReassemblyErrors counts protocol errors: invalid headers and
	// inconsistent frame sequences (every *ProtocolError returned).
	ReassemblyErrors uint64 `json:"reassembly_errors"`
	// ChecksumErrors counts the messages among those skipped because their
	// payload did not match its checksum (ReasonChecksum).
	ChecksumErrors uint64 `json:"checksum_errors"`
	// SkippedFrames counts continuation frames dropped while resynchronising
	// after an error or a lap.
	SkippedFrames uint64 `json:"skipped_frames"`
	// LateJoinFrames counts continuation frames skipped because the
	// consumer attached (or resumed its id) in the middle of a message. Not
	// an error.
	LateJoinFrames uint64 `json:"late_join_frames"`
	// Lapped counts ErrLapped reports from the ring (frames lost).
	Lapped uint64 `json:"lapped"`
	// Ring holds the ring's shared counters, read when Stats was called.
	Ring ring.Stats `json:"ring"`
}

// flushEvery is how many messages a handle counts between two writes of
// its counters to the segment: a write is one atomic store per counter
// (~6 ns each on amd64), so this keeps it under a nanosecond per message.
const flushEvery = 64

// The slots of the ring's LayerCounters that frame uses: 0 to 8 of a
// producer or consumer handle, in the order of the fields of
// ProducerStats and ConsumerStats. Slots LayerSlots and up are free for
// the layer above (typed uses them).
const (
	slotMessages   = 0
	slotFragments  = 1
	slotBytes      = 2
	slotMultiFrame = 3
	// a producer's
	slotChunked = 4
	slotAborted = 5
	// a consumer's
	slotReassemblyErrors = 4
	slotChecksumErrors   = 5
	slotSkippedFrames    = 6
	slotLateJoinFrames   = 7
	slotLapped           = 8

	// LayerSlots is the number of LayerCounters slots frame uses, from 0:
	// a layer above frame keeps its own counters from slot LayerSlots up.
	LayerSlots = 9
)

// Error log kinds frame records (ring.LayerCounters.LogError), for
// operators reading a ring's error log (ring.Stats.Errors).
const (
	// ErrorKindProtocol: a consumer met an invalid frame or frame
	// sequence; detail: the Reason.
	ErrorKindProtocol = ring.ErrorLayer + 0
	// ErrorKindChecksum: a consumer skipped a message whose payload did
	// not match its checksum; detail: the message id.
	ErrorKindChecksum = ring.ErrorLayer + 1
	// ErrorKindAborted: a producer gave up a chunked message after its
	// first chunk; detail: the message id.
	ErrorKindAborted = ring.ErrorLayer + 2
)

// ProducerStatsOf decodes a frame producer's counters from its ring
// LayerCounters slots (ring.Stats.ProducerLayer), as read by any process.
func ProducerStatsOf(slots [ring.LayerCounterSlots]uint64) ProducerStats {
	return ProducerStats{
		Messages: slots[slotMessages], Fragments: slots[slotFragments], Bytes: slots[slotBytes],
		MultiFrame: slots[slotMultiFrame], Chunked: slots[slotChunked], Aborted: slots[slotAborted],
	}
}

// ConsumerStatsOf decodes a frame consumer's counters from its ring
// LayerCounters slots (ring.ConsumerStats.Layer), as read by any process.
func ConsumerStatsOf(slots [ring.LayerCounterSlots]uint64) ConsumerStats {
	return ConsumerStats{
		Messages: slots[slotMessages], Fragments: slots[slotFragments], Bytes: slots[slotBytes],
		MultiFrame: slots[slotMultiFrame], ReassemblyErrors: slots[slotReassemblyErrors],
		ChecksumErrors: slots[slotChecksumErrors], SkippedFrames: slots[slotSkippedFrames],
		LateJoinFrames: slots[slotLateJoinFrames], Lapped: slots[slotLapped],
	}
}

// store writes s to a producer's slots.
func (s *ProducerStats) store(l ring.LayerCounters) {
	v := [...]uint64{
		slotMessages: s.Messages, slotFragments: s.Fragments, slotBytes: s.Bytes,
		slotMultiFrame: s.MultiFrame, slotChunked: s.Chunked, slotAborted: s.Aborted,
	}
	l.StoreSlots(0, v[:])
}

// store writes s to a consumer's slots.
func (s *ConsumerStats) store(l ring.LayerCounters) {
	v := [...]uint64{
		slotMessages: s.Messages, slotFragments: s.Fragments, slotBytes: s.Bytes, slotMultiFrame: s.MultiFrame,
		slotReassemblyErrors: s.ReassemblyErrors, slotChecksumErrors: s.ChecksumErrors,
		slotSkippedFrames: s.SkippedFrames, slotLateJoinFrames: s.LateJoinFrames, slotLapped: s.Lapped,
	}
	l.StoreSlots(0, v[:])
}
