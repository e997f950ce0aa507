package ring

// Field-by-field checks of a segment, for attach (validateHeader: the
// first problem is the error) and for operators (CheckLayout: every
// field, every problem). One list of rules serves both.

import (
	"fmt"
	"math/bits"

	"github.com/myelon-go/myelon/internal/shm"
)

// FieldCheck is one field of a segment as CheckLayout read it: its value,
// what it should be, and the problem if it is not.
type FieldCheck struct {
	Field   string `json:"field"`
	Got     string `json:"got"`
	Want    string `json:"want,omitempty"`
	Problem string `json:"problem,omitempty"` // "" when the field is consistent
}

// err is the check's problem as the *LayoutError attach returns.
func (c FieldCheck) err() error {
	if c.Problem == "" {
		return nil
	}
	if c.Want != "" {
		return &LayoutError{Field: c.Field, Want: c.Want, Got: c.Got}
	}
	return &LayoutError{Field: c.Field, Reason: c.Problem, Got: c.Got}
}

// checks collects FieldChecks.
type checks []FieldCheck

// value records a field whose rule is a predicate: problem is the rule it
// breaks.
func (cs *checks) value(field string, got any, ok bool, problem string) bool {
	c := FieldCheck{Field: field, Got: fmt.Sprint(got)}
	if !ok {
		c.Problem = problem
	}
	*cs = append(*cs, c)
	return ok
}

// equal records a field that must equal want.
func (cs *checks) equal(field string, got, want any) bool {
	c := FieldCheck{Field: field, Got: fmt.Sprint(got), Want: fmt.Sprint(want)}
	ok := c.Got == c.Want
	if !ok {
		c.Problem = "want " + c.Want
	}
	*cs = append(*cs, c)
	return ok
}

// checkHeader checks every field of the header in b, in order; a field
// whose rule depends on an earlier field that failed is not checked. It
// returns the geometry and regions the header describes (valid only if
// every check passed).
func checkHeader(b []byte) (geometry, regions, checks) {
	var cs checks
	if !cs.value("size", len(b), len(b) >= headerSize, fmt.Sprintf("mapping smaller than the %d-byte header", headerSize)) {
		return geometry{}, regions{}, cs
	}
	// A copy: a peer may write the shared header while we check it.
	hp := headerOf(b)
	st := hp.state.Load()
	h := header{
		magic: hp.magic, version: hp.version, headerSize: hp.headerSize,
		kind: hp.kind, mode: hp.mode, slotSize: hp.slotSize, capacity: hp.capacity,
		maxConsumers: hp.maxConsumers, maxProducers: hp.maxProducers,
		elemSize: hp.elemSize, elemAlign: hp.elemAlign, fingerprint: hp.fingerprint,
		totalSize: hp.totalSize, producerOff: hp.producerOff, producersOff: hp.producersOff,
		consumersOff: hp.consumersOff, countersOff: hp.countersOff, publishedOff: hp.publishedOff,
		slotsOff: hp.slotsOff, checksum: hp.checksum,
	}
	if !cs.equal("magic", fmt.Sprintf("%q", h.magic[:]), fmt.Sprintf("%q", layoutMagic[:])) ||
		!cs.equal("version", h.version, layoutVersion) ||
		!cs.equal("header_size", h.headerSize, headerSize) {
		return geometry{}, regions{}, cs // another format: nothing else means anything
	}
	cs.value("state", st, st == stateReady || st == stateClosed, "not a known state")
	cs.equal("checksum", h.checksum, headerChecksum(b))
	g := geometry{
		kind: h.kind, mode: h.mode, slotSize: h.slotSize, capacity: h.capacity,
		maxConsumers: h.maxConsumers, maxProducers: h.maxProducers,
		elemSize: h.elemSize, elemAlign: h.elemAlign, fingerprint: h.fingerprint,
	}
	ok := cs.value("kind", g.kind, g.kind == kindTyped || g.kind == kindBytes, "unknown kind")
	ok = cs.value("producer_mode", g.mode, g.mode == modeSingle || g.mode == modeMulti, "unknown producer mode") && ok
	ok = cs.value("capacity", g.capacity, g.capacity != 0 && g.capacity <= maxCapacity && bits.OnesCount32(g.capacity) == 1,
		"not a power of two in [1, 2^30]") && ok
	ok = cs.value("slot_size", g.slotSize, g.slotSize != 0 && g.slotSize <= maxSlotSize && g.slotSize%8 == 0,
		"not a positive multiple of 8 up to 1 GiB") && ok
	ok = cs.value("max_consumers", g.maxConsumers, g.maxConsumers != 0 && g.maxConsumers <= maxConsumers,
		fmt.Sprintf("not in [1, %d]", maxConsumers)) && ok
	ok = cs.value("max_producers", g.maxProducers, g.maxProducers <= maxProducers && (g.mode == modeMulti) == (g.maxProducers > 0),
		"inconsistent with producer mode") && ok
	ok = cs.value("elem_size", g.elemSize, g.elemSize <= g.slotSize && (g.kind != kindTyped || g.elemSize != 0),
		"zero or larger than the slot") && ok
	ok = cs.value("elem_align", g.elemAlign, !(g.kind == kindTyped && (g.elemAlign == 0 || g.elemAlign > 8) || g.elemAlign != 0 && bits.OnesCount32(g.elemAlign) != 1),
		"not a power of two up to 8") && ok
	cs.value("fingerprint", fmt.Sprintf("%#x", g.fingerprint), true, "")
	if !ok {
		return g, regions{}, cs
	}
	r := g.place()
	for _, f := range []struct {
		name      string
		got, want uint64
	}{
		{"total_size", h.totalSize, r.total},
		{"producer_off", h.producerOff, r.producer},
		{"producers_off", h.producersOff, r.producers},
		{"consumers_off", h.consumersOff, r.consumers},
		{"counters_off", h.countersOff, r.counters},
		{"published_off", h.publishedOff, r.published},
		{"slots_off", h.slotsOff, r.slots},
	} {
		cs.equal(f.name, f.got, f.want)
	}
	cs.value("total_size", r.total, r.total <= uint64(len(b)), fmt.Sprintf("larger than the %d-byte mapping", len(b)))
	return g, r, cs
}

// checkTables checks the records of a segment whose header is valid:
// positions within what was published, known states and flags, id
// lengths, group references. Problems only: a table has many entries.
func (s *segment) checkTables() checks {
	var cs checks
	head := s.head()
	if c := s.prod.cursor.load(); c < -1 {
		cs.value("producer.cursor", c, false, "below -1")
	}
	for i := range s.producers {
		pe := &s.producers[i]
		if st := pe.state.Load(); st > 1 {
			cs.value(fmt.Sprintf("producers[%d].state", i), st, false, "not 0 (free) or 1 (active)")
		}
	}
	for i := range s.consumers {
		e := &s.consumers[i]
		st := e.state.Load()
		if st == entryFree {
			continue
		}
		at := func(f string) string { return fmt.Sprintf("consumers[%d].%s", i, f) }
		if st >= uint32(len(entryStates)) {
			cs.value(at("state"), st, false, "not a known entry state")
			continue
		}
		if pos := e.cursor.load(); pos < -1 || pos > head {
			cs.value(at("cursor"), pos, false, fmt.Sprintf("outside [-1, %d], the last published sequence", head))
		}
		if f := e.flags.Load(); f&^(flagGating|flagRequired|flagObserver|flagMember) != 0 {
			cs.value(at("flags"), fmt.Sprintf("%#x", f), false, "unknown flag bits")
		}
		if n := e.idLen.Load(); n == 0 || n > MaxIDLen {
			cs.value(at("id_len"), n, false, fmt.Sprintf("not in [1, %d]", MaxIDLen))
		}
		if g := e.group.Load(); g > uint32(len(s.groups)) {
			cs.value(at("group"), g, false, fmt.Sprintf("beyond the %d-entry group table", len(s.groups)))
		}
	}
	return cs
}

// LayoutReport is CheckLayout's account of a segment.
type LayoutReport struct {
	Name    string       `json:"name"`
	Backend string       `json:"backend"`
	Header  []FieldCheck `json:"header"`           // every header field, in order
	Tables  []FieldCheck `json:"tables,omitempty"` // problems found in the records
	OK      bool         `json:"ok"`
}

// CheckLayout reads a segment read-only and checks its header field by
// field and its records (positions, states, flags, ids, group references),
// naming every inconsistency rather than stopping at the first as Attach
// does. A segment it cannot open is an error; one it can open is a
// report, however broken.
func CheckLayout(backend Backend, name string) (*LayoutReport, error) {
	m, err := shm.Open(backend, name, shm.Options{AnyPerm: true, ReadOnly: true})
	if err != nil {
		return nil, wrapShm(err)
	}
	defer m.Close()
	rep := &LayoutReport{Name: name, Backend: backend.String(), OK: true}
	b := m.Bytes()
	g, r, hc := checkHeader(b)
	rep.Header = hc
	for _, c := range hc {
		rep.OK = rep.OK && c.Problem == ""
	}
	if rep.OK {
		rep.Tables = newSegmentView(m, name, g, r).checkTables()
		rep.OK = len(rep.Tables) == 0
	}
	return rep, nil
}
