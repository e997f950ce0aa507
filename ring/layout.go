package ring

import (
	"sync/atomic"
	"unsafe"

	"github.com/myelon-go/myelon/internal/shm"
)

// Segment layout, version 4 (2 added the group table, 3 widened the
// upper-layer metadata to 240 bytes for Layer 2's schema, 4 added the layer
// counters, the lag high-water mark and the error log). This file holds
// the layout and nothing else: the records that live in shared memory, as
// Go types whose fields the compiler places one after the other (so no two
// fields can overlap), and the arithmetic that places the regions.
// Producer, consumer, Inspect and the CLI all read the segment through
// these types.
//
// All multi-byte fields are native-endian (little-endian on every supported
// target). Every word that more than one process touches after creation is
// a sequence, a counter or a sync/atomic type, 8-byte aligned: it cannot be
// read or written without an atomic operation, which gives sequentially
// consistent ordering on the shared physical memory. The field offsets are
// the on-disk format: TestLayout_Offsets pins each one.
//
// Regions, in order (offsets of the variable ones are stored in the header,
// except the group table's: it always follows the consumer table, and the
// stored offsets after it pin it):
//
//	+------------------------------+ 0
//	| header           512 B       |
//	+------------------------------+ 512
//	| producer block   896 B       |  hot words on their own 128 B lines
//	+------------------------------+ 1408
//	| producer table   P x 256 B   |  multi-producer rings only (P = max producers)
//	+------------------------------+
//	| consumer table   C x 384 B   |  C = max consumers
//	+------------------------------+
//	| group table      C x 256 B   |  consumer groups, one entry per consumer
//	+------------------------------+
//	| counters         1024 B      |  ring-wide counters and the error log
//	+------------------------------+
//	| published seqs   N x 8 B     |  multi-producer rings only (N = capacity)
//	+------------------------------+ (page aligned)
//	| slots            N x S B     |  S = slot size
//	+------------------------------+ total size

// sequence is a 64-bit position in the stream, in shared memory: a cursor,
// a claim, a limit, a published marker, a group's work word. It is the
// Disruptor's Sequence. Its ordering contract, relied on everywhere: every
// operation is a sync/atomic one, so sequentially consistent; a store (or
// swap, or successful CAS) publishes every write the storing goroutine made
// before it, to any process that loads the stored value.
type sequence struct{ v atomic.Int64 }

func (q *sequence) load() int64             { return q.v.Load() }
func (q *sequence) store(x int64)           { q.v.Store(x) }
func (q *sequence) swap(x int64)            { q.v.Swap(x) }
func (q *sequence) add(d int64)             { q.v.Add(d) }
func (q *sequence) cas(old, new int64) bool { return q.v.CompareAndSwap(old, new) }

// counter is a statistics counter in shared memory. Counters change on slow
// paths only (waits, parks, joins, deaths), never per event.
type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64)   { c.v.Add(n) }
func (c *counter) load() uint64   { return c.v.Load() }
func (c *counter) store(n uint64) { c.v.Store(n) }

// header opens every segment. It is immutable after creation except state;
// the checksum covers every byte before it.
type header struct {
	magic        [8]byte // "MYELONRG"
	version      uint32  // layoutVersion
	headerSize   uint32  // headerSize
	kind         uint32  // kindTyped or kindBytes
	mode         uint32  // producer mode: modeSingle or modeMulti
	slotSize     uint32  // S, bytes, a multiple of 8
	capacity     uint32  // N, slots, a power of two
	maxConsumers uint32  // C
	maxProducers uint32  // P, 0 for single-producer rings
	elemSize     uint32  // typed rings; <= S
	elemAlign    uint32
	fingerprint  uint64 // element type fingerprint, 0 for byte slots
	totalSize    uint64
	producerOff  uint64 // region offsets (place)
	producersOff uint64
	consumersOff uint64
	countersOff  uint64
	publishedOff uint64 // 0 on single-producer rings
	slotsOff     uint64
	ownerPID     uint32 // informational; liveness is the owner lock
	ownerUID     uint32
	epoch        uint64 // random, new for every creation
	createdNs    uint64 // Unix ns
	userMeta     [UserMetaSize]byte
	checksum     uint64        // FNV-1a 64 of the bytes before it
	state        atomic.Uint32 // stateInit, stateReady or stateClosed
	_            [124]byte
}

// Segment states, in the header's state word. An attacher polls it. The
// creator fills every other field, then stores ready (after all plain
// writes): an attacher that loads ready may read the immutable fields, but
// treats them as untrusted input all the same and validates each one.
const (
	stateInit   = 0
	stateReady  = 1
	stateClosed = 2
)

// producerBlock holds the producers' shared words. cursor, claim and limit
// each own a 128-byte line (the adjacent-line prefetcher defeats 64-byte
// padding). The wake words share lines with their waiter counts: both
// change only when someone parks.
type producerBlock struct {
	// cursor is the highest published sequence (single producer; every
	// publish stores it).
	cursor sequence
	_      [120]byte
	// claim is the highest claimed sequence (multi-producer rings, the
	// head producers CAS), or the last sequence of the latest batch claim
	// of 2 or more (single producer, for observers).
	claim sequence
	_     [120]byte
	// limit is the highest sequence a producer may publish without
	// re-reading the gating cursors (stored about once per lap).
	limit sequence
	_     [120]byte
	// dataWake is the futex readers park on; dataWaiters counts them.
	dataWake, dataWaiters atomic.Uint32
	_                     [120]byte
	// spaceWake is the futex producers park on; spaceWaiters counts them.
	spaceWake, spaceWaiters atomic.Uint32
	_                       [120]byte
	pid                     atomic.Uint32 // informational
	_                       [4]byte
	layer                   layerCounters // the single producer's (LayerCounters)
	_                       [120]byte
}

// producerEntry is one multi-producer ring producer's entry in the
// producer table. A claim is announced here (claimLo..claimHi) before it
// is taken, and withdrawn (claimHi = -1) once published.
type producerEntry struct {
	state   atomic.Uint32 // 0 free, 1 active
	pid     atomic.Uint32
	claimLo sequence // first sequence of an unpublished claim, -1 if none
	claimHi sequence
	events  counter       // events published by this producer
	layer   layerCounters // this producer's (LayerCounters)
	_       [96]byte
}

// consumerEntry is one consumer's entry in the consumer table. The first
// two lines (256 B) are the consumer's own: its cursor and counters,
// written only by the consumer that holds the entry. The third is written
// when a consumer joins or leaves.
type consumerEntry struct {
	cursor     sequence // last sequence consumed: the gating sequence
	emptyWaits counter  // times the ring was empty when asked
	parks      counter  // futex sleeps
	wakes      counter  // futex wakes issued to the producer
	lapped     counter  // events skipped because the ring lapped us
	abandoned  counter  // abandoned sequences skipped: their producer died
	// held is a group member's claimed sequence + 1 (0: none). A member
	// gates with its group's words and this one, not its cursor (group.go).
	held   sequence
	lagMax counter       // most events ever found waiting to be read
	layer  layerCounters // this consumer's (LayerCounters)
	_      [64]byte

	state    atomic.Uint32 // entryState
	flags    atomic.Uint32 // flagGating | flagRequired | flagObserver | flagMember
	pid      atomic.Uint32
	gen      atomic.Uint32 // bumped on every join
	start    sequence      // cursor when this session joined
	joinedNs atomic.Int64  // Unix ns
	idLen    atomic.Uint32
	id       [MaxIDLen]byte
	group    atomic.Uint32 // group table index + 1 of a member (0: none)
	_        [28]byte
}

// MaxIDLen is the longest consumer (or group) id, in bytes.
const MaxIDLen = 60

// Consumer entry states.
const (
	entryFree     = 0
	entryClaiming = 1
	entryActive   = 2
	entryDetached = 3
)

// Consumer entry flags.
const (
	flagGating   = 1 << 0
	flagRequired = 1 << 1
	flagObserver = 1 << 2 // non-gating reader (observer.go)
	flagMember   = 1 << 3 // consumer group member (group.go)
)

// groupEntry is one consumer group, in the group table (one entry per
// consumer entry: a group needs a member to exist, so there are never more
// live groups than consumers). The first line is the group's hot line,
// touched by its members on every claim; the rest is written when the
// group is created, and by its counters.
type groupEntry struct {
	work     sequence // highest sequence claimed by a member (CAS)
	pending  sequence // claims returned to the group, waiting in returned
	returned [groupReturnedSlots]sequence
	_        [48]byte

	state       atomic.Uint32 // groupFree or groupActive
	nameLen     atomic.Uint32
	name        [MaxIDLen]byte
	_           [4]byte
	lost        counter // claimed events the group could not deliver
	redelivered counter // returned claims taken up again
	lapped      counter // events skipped while the group had no member
	_           [32]byte
}

// groupReturnedSlots is how many returned claims a group can hold, each a
// claim's sequence + 1 (0: free).
const groupReturnedSlots = 8

// Group states.
const (
	groupFree   = 0
	groupActive = 1
)

// counters are ring-wide counters and the error log. Per-consumer counters
// live in the consumer entries; events published is the head + 1 and needs
// no counter.
type counters struct {
	fullWaits     counter // publishes that found the ring full
	parks         counter // futex sleeps of producers
	wakes         counter // futex wakes issued by producers to readers
	deadConsumers counter // consumers detached because their process died
	abandoned     counter // sequences skipped: their producer died (multi-producer)
	stalls        counter // required consumers found stalled
	evictions     counter // required consumers evicted
	_             [200]byte
	errors        [errorKinds]errorRecord
}

// layerCounters are the counters a participant keeps for the layer above
// (LayerCounters); one writer each, the participant.
type layerCounters [LayerCounterSlots]counter

// reset zeroes the counters of an entry a new participant takes.
func (l *layerCounters) reset() {
	for i := range l {
		l[i].store(0)
	}
}

// errorRecord is the error log's entry for one kind of error (ErrorKind):
// how often it happened, when first and last (Unix ns), and the last
// occurrence's detail (an event count or a sequence). Anyone may write it.
type errorRecord struct {
	count   counter
	firstNs sequence // set once, by CAS from 0
	lastNs  sequence
	detail  sequence
}

// Record sizes: the layout's arithmetic uses these, and each type must be
// exactly its size (checked at compile time below).
const (
	headerSize        = 512
	producerBlockSize = 896
	producerSize      = 256
	consumerSize      = 384
	groupSize         = 256
	countersSize      = 1024
)

// Compile-time checks: each array length is zero only if the record has
// its size (a larger record gives a mismatched type, a smaller one a
// negative length).
var (
	_ [0]byte = [unsafe.Sizeof(header{}) - headerSize]byte{}
	_ [0]byte = [unsafe.Sizeof(producerBlock{}) - producerBlockSize]byte{}
	_ [0]byte = [unsafe.Sizeof(producerEntry{}) - producerSize]byte{}
	_ [0]byte = [unsafe.Sizeof(consumerEntry{}) - consumerSize]byte{}
	_ [0]byte = [unsafe.Sizeof(groupEntry{}) - groupSize]byte{}
	_ [0]byte = [unsafe.Sizeof(counters{}) - countersSize]byte{}
)

// UserMetaSize is the size of the metadata a ring keeps for the layer
// above (Config.Meta): Layer 1 keeps its geometry there, Layer 2 its
// schema.
const UserMetaSize = 240

// layoutMagic opens every ring segment.
var layoutMagic = [8]byte{'M', 'Y', 'E', 'L', 'O', 'N', 'R', 'G'}

const layoutVersion = 4

// Segment kinds.
const (
	kindTyped = 1
	kindBytes = 2
)

// Producer modes.
const (
	modeSingle = 1
	modeMulti  = 2
)

// Liveness lock slots (see internal/shm): the owner/producer holds slot
// lockProducer; registry changes hold lockRegistry; producer table entry i
// holds lockProducers+i and consumer entry i holds lockConsumers+i.
const (
	lockProducer  = shm.OwnerSlot // taken by shm.Create before the file is sized
	lockRegistry  = 1
	lockProducers = 1 << 10
	lockConsumers = 1 << 16
)

const pageSize = 4096

// Limits on geometry accepted at creation and attach.
const (
	maxCapacity  = 1 << 30
	maxSlotSize  = 1 << 30
	maxConsumers = 1 << 12
	maxProducers = 1 << 10
	maxTotalSize = 1 << 40
)

// geometry is what fixes a segment's layout. Creation computes it from a
// Config; attach reads it from the header and recomputes the offsets to
// compare.
type geometry struct {
	kind         uint32
	mode         uint32
	slotSize     uint32
	capacity     uint32
	maxConsumers uint32
	maxProducers uint32
	elemSize     uint32
	elemAlign    uint32
	fingerprint  uint64
}

// regions are the byte offsets derived from a geometry.
type regions struct {
	producer, producers, consumers, groups, counters, published, slots, total uint64
}

// place lays the regions out in order from a running offset, so they cannot
// overlap by accident.
func (g geometry) place() regions {
	var r regions
	off := uint64(headerSize)
	r.producer, off = off, off+producerBlockSize
	r.producers, off = off, off+uint64(g.maxProducers)*producerSize
	r.consumers, off = off, off+uint64(g.maxConsumers)*consumerSize
	r.groups, off = off, off+uint64(g.maxConsumers)*groupSize
	r.counters, off = off, off+countersSize
	if g.mode == modeMulti {
		r.published, off = off, off+uint64(g.capacity)*8
	}
	off = alignUp(off, pageSize)
	r.slots = off
	r.total = alignUp(off+uint64(g.capacity)*uint64(g.slotSize), pageSize)
	return r
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
