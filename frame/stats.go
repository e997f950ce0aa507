package frame

import "github.com/myelon-go/myelon/ring"

// Framing counters are process-local: plain fields of the handle, bumped
// by the goroutine that uses it (an atomic add per message would cost more
// than the rest of the framing). Read them with Stats from that goroutine.
// Stats also reads the ring's own shared counters (waits, parks, laps,
// positions) into the Ring field; `myelon stat` shows those too.

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
