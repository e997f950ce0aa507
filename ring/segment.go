package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/myelon-go/myelon/internal/shm"
)

// segment is one process's attachment to a ring segment: the mapping, the
// geometry copied out of the header at attach (never re-read from shared
// memory), and pointers to the shared words.
type segment struct {
	m        *shm.Mapping
	name     string
	g        geometry
	r        regions
	epoch    uint64
	base     unsafe.Pointer
	slots    unsafe.Pointer
	mask     int64
	cap      int64
	slotSize uintptr
	meta     [UserMetaSize]byte

	state                   *uint32
	cursor, claim, limit    *int64
	dataWake, dataWaiters   *uint32
	spaceWake, spaceWaiters *uint32
	liveness                time.Duration

	// Set when the handle closes (stats.go, unmap).
	final     *Stats
	finalInfo *RingInfo
}

func newSegmentView(m *shm.Mapping, name string, g geometry, r regions) *segment {
	s := &segment{m: m, name: name, g: g, r: r, base: basePtr(m.Bytes())}
	s.slots = s.ptr(r.slots)
	s.cap = int64(g.capacity)
	s.mask = s.cap - 1
	s.slotSize = uintptr(g.slotSize)
	s.state = s.u32(hdrState)
	s.cursor = s.i64(r.producer + prodCursor)
	s.claim = s.i64(r.producer + prodClaim)
	s.limit = s.i64(r.producer + prodLimit)
	s.dataWake = s.u32(r.producer + prodDataWake)
	s.dataWaiters = s.u32(r.producer + prodDataWaiters)
	s.spaceWake = s.u32(r.producer + prodSpaceWake)
	s.spaceWaiters = s.u32(r.producer + prodSpaceWaiters)
	copy(s.meta[:], m.Bytes()[hdrUserMeta:hdrUserMeta+UserMetaSize])
	return s
}

func (s *segment) counter(off uint64) *uint64 { return s.u64(s.r.counters + off) }

func (s *segment) consumerOff(i int) uint64 { return s.r.consumers + uint64(i)*consumerSize }

// createSegment creates and initialises a segment, leaving it ready and its
// owner lock held.
func createSegment(name string, cfg *Config, g geometry, meta []byte) (*segment, error) {
	r := g.place()
	if r.total > maxTotalSize {
		return nil, fmt.Errorf("%w: segment of %d bytes is too large", ErrInvalidConfig, r.total)
	}
	opts, err := cfg.shmOptions()
	if err != nil {
		return nil, err
	}
	m, err := shm.Create(cfg.Backend, name, int(r.total), opts)
	// A segment in the way is live (ErrExist) or stale. A stale one is
	// replaced unless KeepStale. Other processes may be replacing it at the
	// same moment, so it can vanish or reappear between the steps: look
	// again a few times, and remove only with RemoveDead, which never
	// removes a live segment (another process's brand-new one included).
	for tries := 0; errors.Is(err, shm.ErrExist) && tries < 8; tries++ {
		err = checkStale(cfg.Backend, name, opts)
		if errors.Is(err, ErrStale) && !cfg.KeepStale {
			err = shm.RemoveDead(cfg.Backend, name)
		}
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, shm.ErrNotExist) {
			break // live, kept stale, or an error
		}
		m, err = shm.Create(cfg.Backend, name, int(r.total), opts)
	}
	if err != nil {
		return nil, wrapShm(err)
	}
	ok, err := m.TryLock(lockProducer)
	if err != nil || !ok {
		m.Close()
		shm.Remove(cfg.Backend, name)
		return nil, fmt.Errorf("ring: cannot take owner lock of new segment %q: %v", name, err)
	}
	b := m.Bytes()
	le := binary.LittleEndian
	copy(b[hdrMagic:], layoutMagic[:])
	le.PutUint32(b[hdrVersion:], layoutVersion)
	le.PutUint32(b[hdrHeaderSize:], headerSize)
	le.PutUint32(b[hdrKind:], g.kind)
	le.PutUint32(b[hdrProducerMode:], g.mode)
	le.PutUint32(b[hdrSlotSize:], g.slotSize)
	le.PutUint32(b[hdrCapacity:], g.capacity)
	le.PutUint32(b[hdrMaxConsumers:], g.maxConsumers)
	le.PutUint32(b[hdrMaxProducers:], g.maxProducers)
	le.PutUint32(b[hdrElemSize:], g.elemSize)
	le.PutUint32(b[hdrElemAlign:], g.elemAlign)
	le.PutUint64(b[hdrFingerprint:], g.fingerprint)
	le.PutUint64(b[hdrTotalSize:], r.total)
	le.PutUint64(b[hdrProducerOff:], r.producer)
	le.PutUint64(b[hdrProducersOff:], r.producers)
	le.PutUint64(b[hdrConsumersOff:], r.consumers)
	le.PutUint64(b[hdrCountersOff:], r.counters)
	le.PutUint64(b[hdrPublishedOff:], r.published)
	le.PutUint64(b[hdrSlotsOff:], r.slots)
	le.PutUint32(b[hdrOwnerPID:], uint32(os.Getpid()))
	le.PutUint32(b[hdrOwnerUID:], uint32(os.Geteuid()))
	le.PutUint64(b[hdrEpoch:], rand.Uint64())
	le.PutUint64(b[hdrCreatedNs:], uint64(time.Now().UnixNano()))
	copy(b[hdrUserMeta:hdrUserMeta+UserMetaSize], meta)
	le.PutUint64(b[hdrChecksum:], headerChecksum(b))

	s := newSegmentView(m, name, g, r)
	s.epoch = le.Uint64(b[hdrEpoch:])
	s.liveness = cfg.livenessInterval()
	atomic.StoreInt64(s.cursor, -1)
	atomic.StoreInt64(s.claim, -1)
	atomic.StoreInt64(s.limit, -1)
	atomic.StoreUint32(s.u32(r.producer+prodPID), uint32(os.Getpid()))
	if g.mode == modeMulti {
		for i := 0; i < int(g.maxProducers); i++ {
			atomic.StoreInt64(s.i64(s.producerOff(i)+pentClaimLo), -1)
			atomic.StoreInt64(s.i64(s.producerOff(i)+pentClaimHi), -1)
		}
		for i := int64(0); i < s.cap; i++ {
			// No sequence is published yet: seq i's marker must differ from i.
			atomic.StoreInt64(s.published(i), i-s.cap)
		}
	}
	// Ready last: every field above is written before this store, and an
	// attacher reads them only after loading ready (pairs with the state
	// load in tryAttach).
	atomic.StoreUint32(s.state, stateReady)
	return s, nil
}

func headerChecksum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b[:hdrChecksum])
	return h.Sum64()
}

// checkStale decides whether an existing segment's owner is alive. It
// returns ErrExist (owner alive), a *StaleError, or an open error.
func checkStale(b shm.Backend, name string, opts shm.Options) error {
	// Whatever its mode, a segment in the way is live or stale.
	opts.AnyPerm = true
	m, err := shm.Open(b, name, opts)
	if err != nil {
		if errors.Is(err, shm.ErrEmpty) {
			// Exists but empty: a creator is sizing it (it holds the owner
			// lock from the start), or died before it could.
			alive, perr := shm.OwnerAlive(b, name)
			if perr != nil {
				return wrapShm(perr)
			}
			if alive {
				return fmt.Errorf("%w: %q (being created)", ErrExist, name)
			}
			return &StaleError{Name: name}
		}
		return wrapShm(err)
	}
	defer m.Close()
	bb := m.Bytes()
	var producers uint32
	if len(bb) >= headerSize {
		producers = binary.LittleEndian.Uint32(bb[hdrMaxProducers:]) // bounded by anyProducerHeld
	}
	held, err := anyProducerHeld(m, producers)
	if err != nil {
		return err
	}
	if held {
		return fmt.Errorf("%w: %q", ErrExist, name)
	}
	se := &StaleError{Name: name}
	if len(bb) >= headerSize {
		se.OwnerPID = binary.LittleEndian.Uint32(bb[hdrOwnerPID:])
		se.Created = time.Unix(0, int64(binary.LittleEndian.Uint64(bb[hdrCreatedNs:])))
	}
	return se
}

// Reclaim removes a segment whose owner is dead. A segment with a live
// owner is never removed: Reclaim returns ErrExist for it.
func Reclaim(backend Backend, name string) error {
	err := checkStale(backend, name, shm.Options{})
	if !errors.Is(err, ErrStale) {
		if err == nil {
			err = fmt.Errorf("%w: %q", ErrExist, name)
		}
		return err
	}
	return wrapShm(shm.RemoveDead(backend, name))
}

// wrapShm gives an internal/shm error the ring sentinel callers match. An
// error that already carries one (from checkStale) is returned as is.
func wrapShm(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrExist), errors.Is(err, ErrInvalidConfig),
		errors.Is(err, ErrNotRegular), errors.Is(err, ErrPermission):
		return err
	case errors.Is(err, shm.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, shm.ErrExist):
		return fmt.Errorf("%w: %w", ErrExist, err)
	case errors.Is(err, shm.ErrInvalidName):
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	case errors.Is(err, shm.ErrNotRegular):
		return fmt.Errorf("%w: %w", ErrNotRegular, err)
	case errors.Is(err, shm.ErrMode), errors.Is(err, shm.ErrOwner), errors.Is(err, shm.ErrPermission):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case errors.Is(err, shm.ErrInvalidOptions):
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return err
}

// attachOptions are what every attacher passes to attachSegment.
type attachOptions struct {
	backend  shm.Backend
	perm     os.FileMode
	anyPerm  bool   // inspection: accept any mode
	owner    string // trusted owner (user name or uid); "": ourselves
	ownerID  shm.ID // owner resolved (attachSegment)
	liveness time.Duration
	unblock  time.Duration
}

// attachSegment opens a segment, waiting until ctx is done for it to be
// created and ready, and validates its header. check compares the geometry
// with what the caller expects. When ctx ends first the error says which
// wait it ended: ErrNotFound (never created) or ErrNotReady (created, never
// ready), and matches ctx.Err() too.
func attachSegment(ctx context.Context, name string, o attachOptions, check func(geometry) error) (*segment, error) {
	if err := o.resolveOwner(); err != nil {
		return nil, err
	}
	pause := time.Millisecond
	for {
		s, err := tryAttach(name, o)
		if err == nil {
			if err := check(s.g); err != nil {
				s.m.Close()
				return nil, err
			}
			return s, nil
		}
		var sentinel error
		switch {
		case errors.Is(err, ErrNotFound):
			sentinel = ErrNotFound
		case errors.Is(err, errNotReadyYet):
			sentinel = ErrNotReady
		default:
			return nil, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w: %s %q: %w", sentinel, o.backend, name, context.Cause(ctx))
		case <-t.C:
		}
		// Poll fast at first (a producer starting at the same moment), then
		// back off: a consumer started long before its producer costs
		// nothing.
		pause = min(2*pause, 50*time.Millisecond)
	}
}

var errNotReadyYet = errors.New("ring: segment initialising")

func tryAttach(name string, o attachOptions) (*segment, error) {
	m, err := shm.Open(o.backend, name, shm.Options{Perm: o.perm, AnyPerm: o.anyPerm, Owner: o.ownerID})
	if err != nil {
		if errors.Is(err, shm.ErrEmpty) {
			return nil, fmt.Errorf("%w: %w", errNotReadyYet, err)
		}
		return nil, wrapShm(err)
	}
	b := m.Bytes()
	if len(b) < headerSize {
		m.Close()
		return nil, fmt.Errorf("%w: %d bytes", errNotReadyYet, len(b))
	}
	if st := atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[hdrState]))); st == stateInit {
		m.Close()
		return nil, errNotReadyYet
	}
	g, r, err := validateHeader(b)
	if err != nil {
		m.Close()
		return nil, err
	}
	s := newSegmentView(m, name, g, r)
	s.epoch = binary.LittleEndian.Uint64(b[hdrEpoch:])
	s.liveness = o.liveness
	return s, nil
}

// validateHeader checks a header rung by rung, each failure naming its
// field, and returns the geometry and regions it describes. b is untrusted:
// every value is read once and bounded before use.
func validateHeader(b []byte) (geometry, regions, error) {
	le := binary.LittleEndian
	fail := func(field string, want, got any) (geometry, regions, error) {
		return geometry{}, regions{}, &LayoutError{Field: field, Want: want, Got: got}
	}
	bad := func(field, reason string, got any) (geometry, regions, error) {
		return geometry{}, regions{}, &LayoutError{Field: field, Reason: reason, Got: got}
	}
	if len(b) < headerSize {
		return bad("size", fmt.Sprintf("mapping smaller than the %d-byte header", headerSize), len(b))
	}
	if m := [8]byte(b[hdrMagic : hdrMagic+8]); m != layoutMagic {
		return fail("magic", string(layoutMagic[:]), fmt.Sprintf("%q", m[:]))
	}
	if v := le.Uint32(b[hdrVersion:]); v != layoutVersion {
		return fail("version", layoutVersion, v)
	}
	if v := le.Uint32(b[hdrHeaderSize:]); v != headerSize {
		return fail("header_size", headerSize, v)
	}
	if st := atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[hdrState]))); st != stateReady && st != stateClosed {
		return bad("state", "not a known state", st)
	}
	if sum, want := le.Uint64(b[hdrChecksum:]), headerChecksum(b); sum != want {
		return fail("checksum", want, sum)
	}
	g := geometry{
		kind:         le.Uint32(b[hdrKind:]),
		mode:         le.Uint32(b[hdrProducerMode:]),
		slotSize:     le.Uint32(b[hdrSlotSize:]),
		capacity:     le.Uint32(b[hdrCapacity:]),
		maxConsumers: le.Uint32(b[hdrMaxConsumers:]),
		maxProducers: le.Uint32(b[hdrMaxProducers:]),
		elemSize:     le.Uint32(b[hdrElemSize:]),
		elemAlign:    le.Uint32(b[hdrElemAlign:]),
		fingerprint:  le.Uint64(b[hdrFingerprint:]),
	}
	if g.kind != kindTyped && g.kind != kindBytes {
		return bad("kind", "unknown kind", g.kind)
	}
	if g.mode != modeSingle && g.mode != modeMulti {
		return bad("producer_mode", "unknown producer mode", g.mode)
	}
	if g.capacity == 0 || g.capacity > maxCapacity || bits.OnesCount32(g.capacity) != 1 {
		return bad("capacity", "not a power of two in [1, 2^30]", g.capacity)
	}
	if g.slotSize == 0 || g.slotSize > maxSlotSize || g.slotSize%8 != 0 {
		return bad("slot_size", "not a positive multiple of 8 up to 1 GiB", g.slotSize)
	}
	if g.maxConsumers == 0 || g.maxConsumers > maxConsumers {
		return bad("max_consumers", fmt.Sprintf("not in [1, %d]", maxConsumers), g.maxConsumers)
	}
	if g.maxProducers > maxProducers || (g.mode == modeMulti) != (g.maxProducers > 0) {
		return bad("max_producers", "inconsistent with producer mode", g.maxProducers)
	}
	if g.elemSize > g.slotSize || (g.kind == kindTyped && g.elemSize == 0) {
		return bad("elem_size", "zero or larger than the slot", g.elemSize)
	}
	if g.kind == kindTyped && (g.elemAlign == 0 || g.elemAlign > 8) || g.elemAlign != 0 && bits.OnesCount32(g.elemAlign) != 1 {
		return bad("elem_align", "not a power of two up to 8", g.elemAlign)
	}
	r := g.place()
	for _, f := range []struct {
		name string
		off  int
		want uint64
	}{
		{"total_size", hdrTotalSize, r.total},
		{"producer_off", hdrProducerOff, r.producer},
		{"producers_off", hdrProducersOff, r.producers},
		{"consumers_off", hdrConsumersOff, r.consumers},
		{"counters_off", hdrCountersOff, r.counters},
		{"published_off", hdrPublishedOff, r.published},
		{"slots_off", hdrSlotsOff, r.slots},
	} {
		if got := le.Uint64(b[f.off:]); got != f.want {
			return fail(f.name, f.want, got)
		}
	}
	if r.total > uint64(len(b)) {
		return bad("total_size", fmt.Sprintf("larger than the %d-byte mapping", len(b)), r.total)
	}
	return g, r, nil
}

// checkGeometry compares the fields an attacher asked for (zero: any).
func checkGeometry(g geometry, kind uint32, capacity, slotSize int) error {
	if g.kind != kind {
		names := map[uint32]string{kindTyped: "typed", kindBytes: "bytes"}
		return &LayoutError{Field: "kind", Want: names[kind], Got: names[g.kind]}
	}
	if capacity != 0 && uint32(capacity) != g.capacity {
		return &LayoutError{Field: "capacity", Want: capacity, Got: g.capacity}
	}
	if slotSize != 0 && uint32(slotSize) != g.slotSize {
		return &LayoutError{Field: "slot_size", Want: slotSize, Got: g.slotSize}
	}
	return nil
}

// closed reports whether the producer closed the ring.
func (s *segment) closed() bool { return atomic.LoadUint32(s.state) == stateClosed }

// producerAlive probes the owner lock and, on a multi-producer ring, every
// producer entry's lock (syscalls: slow paths only).
func (s *segment) producerAlive() bool {
	held, err := anyProducerHeld(s.m, s.g.maxProducers)
	return held || err != nil // a probe that fails counts as alive
}

// anyProducerHeld reports whether a live process holds the creator's lock
// or the lock of any of the (at most maxProducers) joined producers: a
// producer that joined a multi-producer ring keeps it alive after its
// creator died.
func anyProducerHeld(m *shm.Mapping, producers uint32) (bool, error) {
	held, err := m.HeldByOther(lockProducer)
	for i := int64(0); i < int64(min(producers, maxProducers)) && !held && err == nil; i++ {
		held, err = m.HeldByOther(lockProducers + i)
	}
	return held, err
}

// published returns the multi-producer published marker of seq's slot.
func (s *segment) published(seq int64) *int64 {
	return s.i64(s.r.published + uint64(seq&s.mask)*8)
}
