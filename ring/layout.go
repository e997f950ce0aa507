package ring

import "github.com/myelon-go/myelon/internal/shm"

// Segment layout, version 3 (2 added the group table, 3 widened the
// upper-layer metadata to 240 bytes for Layer 2's schema). This file holds the layout and nothing else:
// offsets, sizes and the arithmetic that places the regions. Producer,
// consumer, Inspect and the CLI all read the segment through these constants.
//
// All multi-byte fields are native-endian (little-endian on every supported
// target). Every word that more than one process touches concurrently is
// 8-byte aligned and accessed only through sync/atomic; the layout assumes
// both sides do so, which gives sequentially consistent ordering on the
// shared physical memory.
//
// Regions, in order (offsets of the variable ones are stored in the header,
// except the group table's: it always follows the consumer table, and the
// stored offsets after it pin it):
//
//	+------------------------------+ 0
//	| header           512 B       |
//	+------------------------------+ 512
//	| producer block   768 B       |  hot words on their own 128 B lines
//	+------------------------------+ 1280
//	| producer table   P x 128 B   |  multi-producer rings only (P = max producers)
//	+------------------------------+
//	| consumer table   C x 256 B   |  C = max consumers
//	+------------------------------+
//	| group table      C x 256 B   |  consumer groups, one entry per consumer
//	+------------------------------+
//	| counters         256 B       |
//	+------------------------------+
//	| published seqs   N x 8 B     |  multi-producer rings only (N = capacity)
//	+------------------------------+ (page aligned)
//	| slots            N x S B     |  S = slot size
//	+------------------------------+ total size
//
// Header (immutable after creation except state; the checksum covers bytes
// [0, 376)):
//
//	off  size  field
//	  0     8  magic "MYELONRG"
//	  8     4  layout version (3)
//	 12     4  header size (512)
//	 16     4  kind: 1 typed events, 2 byte slots
//	 20     4  producer mode: 1 single, 2 multi
//	 24     4  slot size S (bytes, multiple of 8)
//	 28     4  capacity N (slots, power of two)
//	 32     4  max consumers C
//	 36     4  max producers P (0 for single-producer rings)
//	 40     4  element size (typed rings; <= S)
//	 44     4  element alignment
//	 48     8  element type fingerprint (0 for byte slots)
//	 56     8  total size
//	 64     8  producer block offset
//	 72     8  producer table offset
//	 80     8  consumer table offset
//	 88     8  counters offset
//	 96     8  published-sequence array offset (0 if single producer)
//	104     8  slots offset
//	112     4  owner pid (informational; liveness is the owner lock)
//	116     4  owner uid
//	120     8  epoch: random, new for every creation
//	128     8  creation time, Unix ns
//	136   240  upper-layer metadata (Layer 1 geometry, Layer 2 schema)
//	376     8  checksum: FNV-1a 64 of bytes [0, 376)
//	384     4  state: 0 initialising, 1 ready, 2 closed     (atomic)
//
// An attacher polls the state word. The creator fills every other field,
// then stores state=ready (atomic store, after all plain writes): an
// attacher that loads ready may read the immutable fields, but treats them
// as untrusted input all the same and validates each one.
const (
	hdrMagic        = 0
	hdrVersion      = 8
	hdrHeaderSize   = 12
	hdrKind         = 16
	hdrProducerMode = 20
	hdrSlotSize     = 24
	hdrCapacity     = 28
	hdrMaxConsumers = 32
	hdrMaxProducers = 36
	hdrElemSize     = 40
	hdrElemAlign    = 44
	hdrFingerprint  = 48
	hdrTotalSize    = 56
	hdrProducerOff  = 64
	hdrProducersOff = 72
	hdrConsumersOff = 80
	hdrCountersOff  = 88
	hdrPublishedOff = 96
	hdrSlotsOff     = 104
	hdrOwnerPID     = 112
	hdrOwnerUID     = 116
	hdrEpoch        = 120
	hdrCreatedNs    = 128
	hdrUserMeta     = 136
	hdrChecksum     = hdrUserMeta + UserMetaSize
	hdrState        = 384

	headerSize = 512
)

// UserMetaSize is the size of the metadata a ring keeps for the layer
// above (Config.Meta): Layer 1 keeps its geometry there, Layer 2 its
// schema.
const UserMetaSize = 240

// layoutMagic opens every ring segment.
var layoutMagic = [8]byte{'M', 'Y', 'E', 'L', 'O', 'N', 'R', 'G'}

const layoutVersion = 3

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

// Segment states.
const (
	stateInit   = 0
	stateReady  = 1
	stateClosed = 2
)

// Producer block, at header offset hdrProducerOff:
//
//	off  size  field                                  written by
//	  0     8  cursor: highest published sequence     producer (every publish)
//	128     8  claim: highest claimed sequence        producers (multi); the
//	           last sequence of the latest batch claim  producer (single,
//	           (batches of 2 or more), for observers   batches only)
//	256     8  limit: highest sequence the producer    producer (once per lap)
//	           may publish without re-reading gating
//	384     4  data wake word (futex)                  producer, when readers park
//	388     4  data waiters: readers parked on it      readers
//	512     4  space wake word (futex)                 readers, when the producer parks
//	516     4  space waiters: producers parked on it   producer
//	640     4  producer pid (informational)            producer
//
// cursor, claim and limit each own a 128-byte line (the adjacent-line
// prefetcher defeats 64-byte padding). The wake words share lines with their
// waiter counts: both change only when someone parks.
const (
	prodCursor       = 0
	prodClaim        = 128
	prodLimit        = 256
	prodDataWake     = 384
	prodDataWaiters  = 388
	prodSpaceWake    = 512
	prodSpaceWaiters = 516
	prodPID          = 640

	producerBlockSize = 768
)

// Producer table entry (multi-producer rings), 128 bytes each:
//
//	off  size  field
//	  0     4  state: 0 free, 1 active
//	  4     4  pid
//	  8     8  claim low (first sequence of an unpublished claim, -1 if none)
//	 16     8  claim high
//	 24     8  events published by this producer (counter)
const (
	pentState    = 0
	pentPID      = 4
	pentClaimLo  = 8
	pentClaimHi  = 16
	pentEvents   = 24
	producerSize = 128
)

// Consumer table entry, 256 bytes each. The first line is the consumer's
// own: its cursor and counters, written only by the consumer that holds the
// entry. The second line is written when a consumer joins or leaves.
//
//	off  size  field
//	  0     8  cursor: last sequence consumed (the gating sequence)
//	  8     8  empty waits: times the ring was empty when asked   (counter)
//	 16     8  parks: futex sleeps                                 (counter)
//	 24     8  wakes: futex wakes issued to the producer           (counter)
//	 32     8  lapped: events skipped because the ring lapped us   (counter)
//	 40     8  abandoned: sequences skipped, their producer died   (counter)
//	 48     8  held: a group member's claimed sequence + 1 (0: none)
//	128     4  state: 0 free, 1 claiming, 2 active, 3 detached
//	132     4  flags: bit 0 gating, bit 1 required, bit 2 observer,
//	           bit 3 group member
//	136     4  pid
//	140     4  generation: bumped on every join
//	144     8  start sequence: cursor when this session joined
//	152     8  join time, Unix ns
//	160     4  id length
//	164    60  id bytes
//	224     4  group: group table index + 1 of a member (0: none)
//
// A group member gates with its group's words instead of its cursor (see
// group.go): its cursor is only the last event it finished.
const (
	centCursor   = 0
	centEmpty    = 8
	centParks    = 16
	centWakes    = 24
	centLapped   = 32
	centSkipped  = 40
	centState    = 128
	centFlags    = 132
	centPID      = 136
	centGen      = 140
	centStart    = 144
	centJoinedNs = 152
	centIDLen    = 160
	centID       = 164
	centGroup    = 224
	centHeld     = 48
	consumerSize = 256
)

// MaxIDLen is the longest consumer (or group) id, in bytes.
const MaxIDLen = 60

// Consumer entry states.
const (
	centFree     = 0
	centClaiming = 1
	centActive   = 2
	centDetached = 3
)

// Consumer entry flags.
const (
	flagGating   = 1 << 0
	flagRequired = 1 << 1
	flagObserver = 1 << 2 // non-gating reader (observer.go)
	flagMember   = 1 << 3 // consumer group member (group.go)
)

// Group table entry, 256 bytes, one per consumer entry (a group needs a
// member to exist, so there are never more live groups than consumers).
// The first line is the group's hot line, touched by its members on every
// claim; the second is written when the group is created.
//
//	off  size  field
//	  0     8  work: highest sequence claimed by a member (CAS)
//	  8     8  pending: claims returned to the group, waiting in the slots
//	 16    64  returned: 8 slots, each a returned claim's sequence + 1 (0 free)
//	128     4  state: 0 free, 1 active
//	132     4  name length
//	136    60  name bytes
//	200     8  lost: claimed events the group could not deliver      (counter)
//	208     8  redelivered: returned claims taken up again           (counter)
//	216     8  lapped: events skipped while the group had no member  (counter)
const (
	grpWork        = 0
	grpPending     = 8
	grpReturned    = 16
	grpState       = 128
	grpNameLen     = 132
	grpName        = 136
	grpLost        = 200
	grpRedelivered = 208
	grpLapped      = 216
	groupSize      = 256

	grpReturnedSlots = 8
)

// Group states.
const (
	groupFree   = 0
	groupActive = 1
)

// Counters region, 256 bytes: ring-wide counters, one 8-byte slot each.
// Per-consumer counters live in the consumer entries; events published is
// the producer cursor + 1 and needs no counter.
//
//	off  field
//	  0  producer full waits: publishes that found the ring full
//	  8  producer parks: futex sleeps of producers
//	 16  producer wakes: futex wakes issued by producers to readers
//	 24  consumers detached because their process died
//	 32  abandoned sequences skipped (multi-producer unblock)
const (
	cntFullWaits = 0
	cntParks     = 8
	cntWakes     = 16
	cntDeadCons  = 24
	cntAbandoned = 32
	countersSize = 256
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
