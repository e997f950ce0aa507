package ring

import (
	"errors"
	"fmt"
	"time"

	"github.com/myelon-go/myelon/internal/shm"
)

// RingInfo describes a ring's identity and geometry.
type RingInfo struct {
	Name         string    `json:"name"`
	Backend      string    `json:"backend"`
	Kind         string    `json:"kind"` // "typed" or "bytes"
	Capacity     int       `json:"capacity"`
	SlotSize     int       `json:"slot_size"`
	ElemSize     int       `json:"elem_size,omitempty"`
	MaxConsumers int       `json:"max_consumers"`
	MaxProducers int       `json:"max_producers,omitempty"`
	TotalSize    int64     `json:"total_size"`
	OwnerPID     uint32    `json:"owner_pid"`
	Epoch        uint64    `json:"epoch"`
	Created      time.Time `json:"created"`
	// UserMeta is the metadata stored at creation for the layer above
	// (Config.Meta): frame's geometry, typed's schema.
	UserMeta [UserMetaSize]byte `json:"-"`
}

// Stats is a snapshot of a ring's counters, read without the owner's help.
type Stats struct {
	// State is "ready", "closed", or "truncated" once this handle found
	// its segment truncated (ErrTruncated): then nothing else is set.
	State string `json:"state"`
	// ProducerAlive: the creator, or a producer that joined, holds its
	// liveness lock (read with a system call per producer entry).
	ProducerAlive bool `json:"producer_alive"`
	// Published counts the sequences handed out: the cursor + 1 on a
	// single-producer ring; on a multi-producer ring the claim word + 1,
	// which may include claims not yet published.
	Published     int64  `json:"published"`
	FullWaits     uint64 `json:"producer_full_waits"`
	ProducerParks uint64 `json:"producer_parks"`
	ProducerWakes uint64 `json:"producer_wakes"`
	DeadConsumers uint64 `json:"dead_consumers_detached"`
	Abandoned     uint64 `json:"abandoned_sequences"`
	Stalls        uint64 `json:"required_stalls"`    // required consumers found stalled
	Evictions     uint64 `json:"required_evictions"` // required consumers evicted
	// ProducerLayer sums the producers' LayerCounters.
	ProducerLayer [LayerCounterSlots]uint64 `json:"producer_layer"`
	// Producers describes the producer table of a multi-producer ring:
	// the producers that hold an entry now.
	Producers []ProducerStats `json:"producers,omitempty"`
	// Errors is the error log: one record per kind that happened.
	Errors    []ErrorRecord   `json:"errors,omitempty"`
	Consumers []ConsumerStats `json:"consumers"`
	Groups    []GroupStats    `json:"groups,omitempty"`
}

// ProducerStats describes one entry of a multi-producer ring's producer
// table.
type ProducerStats struct {
	Index int    `json:"index"`
	PID   uint32 `json:"pid"`
	// Alive: its process holds the entry's liveness lock.
	Alive  bool                      `json:"alive"`
	Events uint64                    `json:"events"` // events it published
	Layer  [LayerCounterSlots]uint64 `json:"layer"`  // its LayerCounters
}

// ConsumerStats describes one consumer entry.
type ConsumerStats struct {
	Index int    `json:"index"`
	ID    string `json:"id"`
	State string `json:"state"` // "active", "detached" or "claiming"
	PID   uint32 `json:"pid"`
	// Alive: the consumer's process holds the entry's liveness lock. An
	// active entry that is not alive belongs to a process that died and
	// that no producer has detached yet.
	Alive      bool   `json:"alive"`
	Position   int64  `json:"position"` // last sequence consumed
	Lag        int64  `json:"lag"`      // last published - position
	Consumed   int64  `json:"consumed"` // this session: position - start
	EmptyWaits uint64 `json:"empty_waits"`
	Parks      uint64 `json:"parks"`
	Wakes      uint64 `json:"wakes"`
	Lapped     uint64 `json:"lapped"`
	// Abandoned counts the abandoned sequences this consumer skipped:
	// their producer died between claim and publish (multi-producer
	// rings). Stats.Abandoned counts them once for the whole ring.
	Abandoned uint64 `json:"abandoned"`
	// LagMax is the most events this consumer ever found waiting for it.
	LagMax uint64 `json:"lag_max"`
	// Layer is the consumer's LayerCounters.
	Layer [LayerCounterSlots]uint64 `json:"layer"`
	// Observer: a non-gating consumer (ConsumerConfig.Observer).
	Observer bool `json:"observer,omitempty"`
	// Group: the consumer group of a member (ConsumerConfig.Group).
	Group string `json:"group,omitempty"`
}

// unmapped reports whether this handle's mapping is gone (closed).
func (s *segment) unmapped() bool { return s.final != nil }

// unmap closes the mapping of a handle being closed, keeping a last
// snapshot of the counters for Stats and Info called afterwards.
// A segment truncated meanwhile is unmapped all the same, and the error
// says so.
func (s *segment) unmap() error {
	var st Stats
	err := guarded(s.m, func() error {
		if s.layer != nil && s.truncated == nil {
			s.layer.onIdle()
		}
		st = s.stats()
		if s.layer != nil && s.truncated == nil {
			s.layer.detach()
		}
		return nil
	})
	if err != nil {
		err = s.broke(err)
		st = s.stats() // the truncated state
	}
	in := s.info()
	s.final, s.finalInfo = &st, &in
	if cerr := s.m.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *segment) info() RingInfo {
	if s.finalInfo != nil {
		return *s.finalInfo
	}
	kind := "typed"
	if s.g.kind == kindBytes {
		kind = "bytes"
	}
	return RingInfo{
		Name: s.name, Backend: s.m.Backend().String(), Kind: kind,
		Capacity: int(s.g.capacity), SlotSize: int(s.g.slotSize), ElemSize: int(s.g.elemSize),
		MaxConsumers: int(s.g.maxConsumers), MaxProducers: int(s.g.maxProducers),
		TotalSize: int64(s.r.total), OwnerPID: s.owner, Epoch: s.epoch,
		Created: s.created, UserMeta: s.meta,
	}
}

var entryStates = [...]string{entryFree: "free", entryClaiming: "claiming", entryActive: "active", entryDetached: "detached"}

func (s *segment) stats() Stats {
	if s.final != nil {
		return *s.final // the handle is closed: its last snapshot
	}
	if s.truncated != nil {
		return Stats{State: "truncated"} // nothing left to read
	}
	st := Stats{State: "ready"}
	if s.closed() {
		st.State = "closed"
	}
	st.ProducerAlive = s.producing || s.producerAlive()
	pub := s.head()
	st.Published = pub + 1
	st.FullWaits = s.counters.fullWaits.load()
	st.ProducerParks = s.counters.parks.load()
	st.ProducerWakes = s.counters.wakes.load()
	st.DeadConsumers = s.counters.deadConsumers.load()
	st.Abandoned = s.counters.abandoned.load()
	st.Stalls = s.counters.stalls.load()
	st.Evictions = s.counters.evictions.load()
	st.ProducerLayer = s.prod.layer.values()
	for i := range s.producers {
		pe := &s.producers[i]
		layer := pe.layer.values()
		for k, v := range layer {
			st.ProducerLayer[k] += v
		}
		if pe.state.Load() == 1 {
			st.Producers = append(st.Producers, ProducerStats{
				Index: i, PID: pe.pid.Load(), Alive: s.holds(lockProducers, i, s.selfProducer),
				Events: pe.events.load(), Layer: layer,
			})
		}
	}
	st.Errors = s.errorLog()
	for i := range s.consumers {
		e := &s.consumers[i]
		state := e.state.Load()
		if state == entryFree || state >= uint32(len(entryStates)) {
			continue
		}
		pos := e.cursor.load()
		flags := e.flags.Load()
		cs := ConsumerStats{
			Index: i, ID: e.entryID(), State: entryStates[state],
			PID:        e.pid.Load(),
			Alive:      s.holds(lockConsumers, i, s.selfConsumer),
			Position:   pos,
			Lag:        pub - pos,
			Consumed:   pos - e.start.load(),
			EmptyWaits: e.emptyWaits.load(),
			Parks:      e.parks.load(),
			Wakes:      e.wakes.load(),
			Lapped:     e.lapped.load(),
			Abandoned:  e.abandoned.load(),
			LagMax:     e.lagMax.load(),
			Layer:      e.layer.values(),
			Observer:   flags&flagObserver != 0,
		}
		if g := s.entryGroup(e); g != nil && flags&flagMember != 0 {
			cs.Group = g.groupName()
		}
		st.Consumers = append(st.Consumers, cs)
	}
	st.Groups = s.groupStats()
	return st
}

// holds reports whether a live process holds entry i's liveness lock
// (base+i): a system call, except for the handle's own entry (self).
// A probe that fails counts as alive.
func (s *segment) holds(base int64, i, self int) bool {
	if i == self {
		return true
	}
	held, err := s.m.HeldByOther(base + int64(i))
	return held || err != nil
}

// List returns the names of the objects of the Shm backend on this host
// (the files of /dev/shm on Linux), rings or not: Inspect tells which are
// rings and reads them.
func List() ([]string, error) { return shm.List() }

// Inspect reads a ring's description and counters without joining it or
// writing to it: it maps the segment read-only, so it needs only read
// permission, and reads segments of any mode and any owner. It works when
// the owner is dead.
func Inspect(backend Backend, name string) (RingInfo, Stats, error) {
	s, err := tryAttach(name, attachOptions{backend: backend, anyPerm: true, readOnly: true, liveness: DefaultLivenessInterval})
	if errors.Is(err, errNotReadyYet) {
		err = fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	if err != nil {
		return RingInfo{}, Stats{}, err
	}
	defer s.m.Close()
	var st Stats
	err = guarded(s.m, func() error { st = s.stats(); return nil })
	return s.info(), st, err
}
