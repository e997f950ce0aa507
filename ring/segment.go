package ring

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
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
	owner    uint32 // the creator's pid, as the header said at attach
	created  time.Time
	mask     int64
	cap      int64
	slotSize uintptr
	meta     [UserMetaSize]byte
	liveness time.Duration
	// producing: this handle is an open producer of the ring, so a
	// producer is alive (a process cannot see its own liveness lock).
	producing bool
	// layer is the handle's LayerCounters (counters.go).
	layer *layerRef
	// self is the index of this handle's consumer entry, or of its
	// producer table entry, -1 for none: a process cannot see its own
	// liveness lock, so Stats marks its own entry alive from this.
	selfConsumer, selfProducer int
	// log is the handle's Logger (events.go); nil logs nothing.
	log *slog.Logger
	// truncated: a peer truncated the segment under this handle
	// (fault.go); nothing but Close touches the mapping any more.
	// onTruncated is how the handle's engine hears of it: it closes its
	// fast paths, so no check of truncated is needed on them.
	truncated   error
	onTruncated func()

	// Typed views of the shared records (view.go). The producer block
	// holds the hot words; a consumer keeps a pointer to its own entry.
	hdr       *header
	prod      *producerBlock
	producers []producerEntry // multi-producer rings only
	consumers []consumerEntry
	groups    []groupEntry
	counters  *counters
	markers   unsafe.Pointer // published markers (multi-producer): marker
	slots     unsafe.Pointer

	// Set when the handle closes (stats.go, unmap).
	final     *Stats
	finalInfo *RingInfo
}

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
		var se *StaleError
		if errors.As(err, &se) && !cfg.KeepStale && len(se.Undrained) == 0 {
			if err = shm.RemoveDead(cfg.Backend, name); err == nil && cfg.Logger != nil {
				cfg.Logger.Warn("stale ring replaced: its owner had died", "ring", name)
			}
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
	var s *segment
	err = guarded(m, func() error {
		s = initSegment(m, name, cfg, g, r, meta)
		return nil
	})
	if err != nil {
		m.Close()
		return nil, err
	}
	return s, nil
}

// initSegment writes a new segment's header and shared words; the caller
// guards it (a peer may truncate the file as soon as it is linked).
func initSegment(m *shm.Mapping, name string, cfg *Config, g geometry, r regions, meta []byte) *segment {
	// Field by field, not one struct assignment: the state word is not
	// ours to write plainly (attachers already poll it).
	h := headerOf(m.Bytes())
	h.magic, h.version, h.headerSize = layoutMagic, layoutVersion, headerSize
	h.kind, h.mode, h.slotSize, h.capacity = g.kind, g.mode, g.slotSize, g.capacity
	h.maxConsumers, h.maxProducers = g.maxConsumers, g.maxProducers
	h.elemSize, h.elemAlign, h.fingerprint = g.elemSize, g.elemAlign, g.fingerprint
	h.totalSize, h.producerOff, h.producersOff, h.consumersOff = r.total, r.producer, r.producers, r.consumers
	h.countersOff, h.publishedOff, h.slotsOff = r.counters, r.published, r.slots
	h.ownerPID, h.ownerUID = uint32(os.Getpid()), uint32(os.Geteuid())
	h.epoch, h.createdNs = rand.Uint64(), uint64(time.Now().UnixNano())
	copy(h.userMeta[:], meta)
	h.checksum = headerChecksum(m.Bytes())

	s := newSegmentView(m, name, g, r)
	s.epoch, s.owner, s.created = h.epoch, h.ownerPID, time.Unix(0, int64(h.createdNs))
	s.liveness = cfg.livenessInterval()
	s.prod.cursor.store(-1)
	s.prod.claim.store(-1)
	s.prod.limit.store(-1)
	s.prod.pid.Store(uint32(os.Getpid()))
	for i := range s.producers {
		s.producers[i].claimLo.store(-1)
		s.producers[i].claimHi.store(-1)
	}
	if g.mode == modeMulti {
		for i := int64(0); i < s.cap; i++ {
			// No sequence is published yet: seq i's marker must differ from i.
			s.marker(i).store(i - s.cap)
		}
	}
	// Ready last: every field above is written before this store, and an
	// attacher reads them only after loading ready (pairs with the state
	// load in tryAttach).
	h.state.Store(stateReady)
	s.log = cfg.Logger
	s.event(slog.LevelInfo, "ring created", slog.Int("capacity", int(g.capacity)), slog.Int("slot_size", int(g.slotSize)),
		slog.String("backend", cfg.Backend.String()), slog.Int64("bytes", int64(r.total)))
	return s
}

// headerChecksum is the checksum of a header (b holds at least one): the
// bytes before its checksum field.
func headerChecksum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b[:unsafe.Offsetof(header{}.checksum)])
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
	se := &StaleError{Name: name}
	// Guarded: whoever truncates the file meanwhile gets ErrTruncated
	// here, not a SIGBUS.
	if err := guarded(m, func() error {
		if len(bb) >= headerSize {
			h := headerOf(bb)
			producers = h.maxProducers // bounded by anyProducerHeld
			se.OwnerPID = h.ownerPID
			se.Created = time.Unix(0, int64(h.createdNs))
		}
		return nil
	}); err != nil {
		return err
	}
	held, err := anyProducerHeld(m, producers)
	if err != nil {
		return err
	}
	if held {
		return fmt.Errorf("%w: %q", ErrExist, name)
	}
	if err := guarded(m, func() error {
		if g, r, err := validateHeader(bb); err == nil {
			se.Undrained = newSegmentView(m, name, g, r).undrainedRequired()
		}
		return nil
	}); err != nil {
		return err
	}
	return se
}

// undrainedRequired returns the ids of the required consumers that have
// not read every event of the segment: replacing it would lose those
// events for them.
func (s *segment) undrainedRequired() []string {
	head := s.head()
	var ids []string
	for i := range s.consumers {
		e := &s.consumers[i]
		if st := e.state.Load(); (st == entryActive || st == entryDetached) && e.flags.Load()&flagRequired != 0 && e.cursor.load() < head {
			ids = append(ids, e.entryID())
		}
	}
	return ids
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
	case errors.Is(err, shm.ErrNoSpace):
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// attachOptions are what every attacher passes to attachSegment.
type attachOptions struct {
	backend  shm.Backend
	perm     os.FileMode
	anyPerm  bool // inspection: accept any mode
	readOnly bool // inspection: map read-only, any owner
	log      *slog.Logger
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
	m, err := shm.Open(o.backend, name, shm.Options{Perm: o.perm, AnyPerm: o.anyPerm, Owner: o.ownerID, ReadOnly: o.readOnly})
	if err != nil {
		if errors.Is(err, shm.ErrEmpty) {
			return nil, fmt.Errorf("%w: %w", errNotReadyYet, err)
		}
		return nil, wrapShm(err)
	}
	var s *segment
	// Guarded: the file may be truncated since Open took its size.
	err = guarded(m, func() error {
		b := m.Bytes()
		if len(b) < headerSize {
			// Never a ring in the making: a segment is linked into place at
			// its full size (internal/shm's create).
			return &LayoutError{Field: "size", Reason: fmt.Sprintf("smaller than the %d-byte header", headerSize), Got: len(b)}
		}
		if headerOf(b).state.Load() == stateInit {
			return errNotReadyYet
		}
		g, r, err := validateHeader(b)
		if err != nil {
			return err
		}
		s = newSegmentView(m, name, g, r)
		s.epoch, s.owner, s.created = s.hdr.epoch, s.hdr.ownerPID, time.Unix(0, int64(s.hdr.createdNs))
		return nil
	})
	if err != nil {
		m.Close()
		return nil, err
	}
	s.liveness = o.liveness
	s.log = o.log
	return s, nil
}

// validateHeader checks a header (checkHeader) and returns the geometry
// and regions it describes, or the first problem as a *LayoutError naming
// its field. b is untrusted: every value is read once and bounded before
// use.
func validateHeader(b []byte) (geometry, regions, error) {
	g, r, checks := checkHeader(b)
	for _, c := range checks {
		if err := c.err(); err != nil {
			return geometry{}, regions{}, err
		}
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
func (s *segment) closed() bool { return s.hdr.state.Load() == stateClosed }

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
