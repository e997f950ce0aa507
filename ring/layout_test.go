package ring

import (
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// Field offsets, for tests that read or write a segment's bytes as a
// scribbling peer would. TestLayout_Offsets pins each to the format.
const (
	hdrMagic        = int(unsafe.Offsetof(header{}.magic))
	hdrVersion      = int(unsafe.Offsetof(header{}.version))
	hdrHeaderSize   = int(unsafe.Offsetof(header{}.headerSize))
	hdrKind         = int(unsafe.Offsetof(header{}.kind))
	hdrProducerMode = int(unsafe.Offsetof(header{}.mode))
	hdrSlotSize     = int(unsafe.Offsetof(header{}.slotSize))
	hdrCapacity     = int(unsafe.Offsetof(header{}.capacity))
	hdrMaxConsumers = int(unsafe.Offsetof(header{}.maxConsumers))
	hdrMaxProducers = int(unsafe.Offsetof(header{}.maxProducers))
	hdrElemSize     = int(unsafe.Offsetof(header{}.elemSize))
	hdrElemAlign    = int(unsafe.Offsetof(header{}.elemAlign))
	hdrFingerprint  = int(unsafe.Offsetof(header{}.fingerprint))
	hdrTotalSize    = int(unsafe.Offsetof(header{}.totalSize))
	hdrProducerOff  = int(unsafe.Offsetof(header{}.producerOff))
	hdrProducersOff = int(unsafe.Offsetof(header{}.producersOff))
	hdrConsumersOff = int(unsafe.Offsetof(header{}.consumersOff))
	hdrCountersOff  = int(unsafe.Offsetof(header{}.countersOff))
	hdrPublishedOff = int(unsafe.Offsetof(header{}.publishedOff))
	hdrSlotsOff     = int(unsafe.Offsetof(header{}.slotsOff))
	hdrOwnerPID     = int(unsafe.Offsetof(header{}.ownerPID))
	hdrOwnerUID     = int(unsafe.Offsetof(header{}.ownerUID))
	hdrEpoch        = int(unsafe.Offsetof(header{}.epoch))
	hdrCreatedNs    = int(unsafe.Offsetof(header{}.createdNs))
	hdrUserMeta     = int(unsafe.Offsetof(header{}.userMeta))
	hdrChecksum     = int(unsafe.Offsetof(header{}.checksum))
	hdrState        = int(unsafe.Offsetof(header{}.state))

	prodCursor = int(unsafe.Offsetof(producerBlock{}.cursor))
	prodPID    = int(unsafe.Offsetof(producerBlock{}.pid))
)

// field is one field of a shared record: where the compiler put it, and
// where layout version 3 says it is.
type field struct {
	name      string
	got, want uintptr
	size      uintptr
}

// TestLayout_Offsets pins every field of every shared record to its offset
// in layout version 4: a change here is a new layout version, on purpose
// or not. It also checks what the layout relies on: shared words naturally
// aligned, hot words on their own 128-byte lines, nothing past its record.
func TestLayout_Offsets(t *testing.T) {
	var (
		h  header
		pb producerBlock
		pe producerEntry
		ce consumerEntry
		ge groupEntry
		cn counters
	)
	records := []struct {
		name   string
		size   uintptr
		fields []field
	}{
		{"header", headerSize, []field{
			{"magic", unsafe.Offsetof(h.magic), 0, 8},
			{"version", unsafe.Offsetof(h.version), 8, 4},
			{"headerSize", unsafe.Offsetof(h.headerSize), 12, 4},
			{"kind", unsafe.Offsetof(h.kind), 16, 4},
			{"mode", unsafe.Offsetof(h.mode), 20, 4},
			{"slotSize", unsafe.Offsetof(h.slotSize), 24, 4},
			{"capacity", unsafe.Offsetof(h.capacity), 28, 4},
			{"maxConsumers", unsafe.Offsetof(h.maxConsumers), 32, 4},
			{"maxProducers", unsafe.Offsetof(h.maxProducers), 36, 4},
			{"elemSize", unsafe.Offsetof(h.elemSize), 40, 4},
			{"elemAlign", unsafe.Offsetof(h.elemAlign), 44, 4},
			{"fingerprint", unsafe.Offsetof(h.fingerprint), 48, 8},
			{"totalSize", unsafe.Offsetof(h.totalSize), 56, 8},
			{"producerOff", unsafe.Offsetof(h.producerOff), 64, 8},
			{"producersOff", unsafe.Offsetof(h.producersOff), 72, 8},
			{"consumersOff", unsafe.Offsetof(h.consumersOff), 80, 8},
			{"countersOff", unsafe.Offsetof(h.countersOff), 88, 8},
			{"publishedOff", unsafe.Offsetof(h.publishedOff), 96, 8},
			{"slotsOff", unsafe.Offsetof(h.slotsOff), 104, 8},
			{"ownerPID", unsafe.Offsetof(h.ownerPID), 112, 4},
			{"ownerUID", unsafe.Offsetof(h.ownerUID), 116, 4},
			{"epoch", unsafe.Offsetof(h.epoch), 120, 8},
			{"createdNs", unsafe.Offsetof(h.createdNs), 128, 8},
			{"userMeta", unsafe.Offsetof(h.userMeta), 136, UserMetaSize},
			{"checksum", unsafe.Offsetof(h.checksum), 376, 8},
			{"state", unsafe.Offsetof(h.state), 384, 4},
		}},
		{"producer block", producerBlockSize, []field{
			{"cursor", unsafe.Offsetof(pb.cursor), 0, 8},
			{"claim", unsafe.Offsetof(pb.claim), 128, 8},
			{"limit", unsafe.Offsetof(pb.limit), 256, 8},
			{"dataWake", unsafe.Offsetof(pb.dataWake), 384, 4},
			{"dataWaiters", unsafe.Offsetof(pb.dataWaiters), 388, 4},
			{"spaceWake", unsafe.Offsetof(pb.spaceWake), 512, 4},
			{"spaceWaiters", unsafe.Offsetof(pb.spaceWaiters), 516, 4},
			{"pid", unsafe.Offsetof(pb.pid), 640, 4},
			{"layer", unsafe.Offsetof(pb.layer), 648, 8 * LayerCounterSlots},
		}},
		{"producer entry", producerSize, []field{
			{"state", unsafe.Offsetof(pe.state), 0, 4},
			{"pid", unsafe.Offsetof(pe.pid), 4, 4},
			{"claimLo", unsafe.Offsetof(pe.claimLo), 8, 8},
			{"claimHi", unsafe.Offsetof(pe.claimHi), 16, 8},
			{"events", unsafe.Offsetof(pe.events), 24, 8},
			{"layer", unsafe.Offsetof(pe.layer), 32, 8 * LayerCounterSlots},
		}},
		{"consumer entry", consumerSize, []field{
			{"cursor", unsafe.Offsetof(ce.cursor), 0, 8},
			{"emptyWaits", unsafe.Offsetof(ce.emptyWaits), 8, 8},
			{"parks", unsafe.Offsetof(ce.parks), 16, 8},
			{"wakes", unsafe.Offsetof(ce.wakes), 24, 8},
			{"lapped", unsafe.Offsetof(ce.lapped), 32, 8},
			{"abandoned", unsafe.Offsetof(ce.abandoned), 40, 8},
			{"held", unsafe.Offsetof(ce.held), 48, 8},
			{"lagMax", unsafe.Offsetof(ce.lagMax), 56, 8},
			{"layer", unsafe.Offsetof(ce.layer), 64, 8 * LayerCounterSlots},
			{"state", unsafe.Offsetof(ce.state), 256, 4},
			{"flags", unsafe.Offsetof(ce.flags), 260, 4},
			{"pid", unsafe.Offsetof(ce.pid), 264, 4},
			{"gen", unsafe.Offsetof(ce.gen), 268, 4},
			{"start", unsafe.Offsetof(ce.start), 272, 8},
			{"joinedNs", unsafe.Offsetof(ce.joinedNs), 280, 8},
			{"idLen", unsafe.Offsetof(ce.idLen), 288, 4},
			{"id", unsafe.Offsetof(ce.id), 292, MaxIDLen},
			{"group", unsafe.Offsetof(ce.group), 352, 4},
		}},
		{"group entry", groupSize, []field{
			{"work", unsafe.Offsetof(ge.work), 0, 8},
			{"pending", unsafe.Offsetof(ge.pending), 8, 8},
			{"returned", unsafe.Offsetof(ge.returned), 16, 8 * groupReturnedSlots},
			{"state", unsafe.Offsetof(ge.state), 128, 4},
			{"nameLen", unsafe.Offsetof(ge.nameLen), 132, 4},
			{"name", unsafe.Offsetof(ge.name), 136, MaxIDLen},
			{"lost", unsafe.Offsetof(ge.lost), 200, 8},
			{"redelivered", unsafe.Offsetof(ge.redelivered), 208, 8},
			{"lapped", unsafe.Offsetof(ge.lapped), 216, 8},
		}},
		{"counters", countersSize, []field{
			{"fullWaits", unsafe.Offsetof(cn.fullWaits), 0, 8},
			{"parks", unsafe.Offsetof(cn.parks), 8, 8},
			{"wakes", unsafe.Offsetof(cn.wakes), 16, 8},
			{"deadConsumers", unsafe.Offsetof(cn.deadConsumers), 24, 8},
			{"abandoned", unsafe.Offsetof(cn.abandoned), 32, 8},
			{"stalls", unsafe.Offsetof(cn.stalls), 40, 8},
			{"evictions", unsafe.Offsetof(cn.evictions), 48, 8},
			{"errors", unsafe.Offsetof(cn.errors), 256, 32 * errorKinds},
		}},
	}
	for _, r := range records {
		t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			for _, f := range r.fields {
				if f.got != f.want {
					t.Errorf("%s at %d, layout version %d has it at %d", f.name, f.got, layoutVersion, f.want)
				}
				if (f.size == 4 || f.size == 8) && f.got%f.size != 0 {
					t.Errorf("%s at %d is not %d-byte aligned", f.name, f.got, f.size)
				}
				if f.got+f.size > r.size {
					t.Errorf("%s [%d, %d) runs past the %d-byte %s", f.name, f.got, f.got+f.size, r.size, r.name)
				}
			}
		})
	}
	t.Run("checksum", func(t *testing.T) {
		// Every immutable field lies before the checksum; the state word,
		// which changes after creation, after it.
		if hdrUserMeta+UserMetaSize > hdrChecksum || hdrState < hdrChecksum+8 {
			t.Errorf("checksum at %d does not separate the immutable fields from state at %d", hdrChecksum, hdrState)
		}
	})
	t.Run("hot_lines", func(t *testing.T) {
		// Each hot producer word owns a 128-byte line; a wake word shares
		// its line with its waiter count only.
		line := func(off uintptr) uintptr { return off / 128 }
		hot := []uintptr{unsafe.Offsetof(pb.cursor), unsafe.Offsetof(pb.claim), unsafe.Offsetof(pb.limit), unsafe.Offsetof(pb.dataWake), unsafe.Offsetof(pb.spaceWake), unsafe.Offsetof(pb.pid)}
		for i := 1; i < len(hot); i++ {
			if line(hot[i]) == line(hot[i-1]) {
				t.Errorf("hot words at %d and %d share a line", hot[i-1], hot[i])
			}
		}
		if line(unsafe.Offsetof(pb.dataWaiters)) != line(unsafe.Offsetof(pb.dataWake)) || line(unsafe.Offsetof(pb.spaceWaiters)) != line(unsafe.Offsetof(pb.spaceWake)) {
			t.Error("a wake word and its waiter count are on different lines")
		}
		// A consumer's own line (cursor, counters, held, layer counters)
		// apart from its join/leave line; a group's hot line apart from
		// its name and counters.
		if line(unsafe.Offsetof(ce.layer)+unsafe.Sizeof(ce.layer)-1) > 1 || line(unsafe.Offsetof(ce.state)) < 2 {
			t.Error("a consumer's own words share a line with its join/leave words")
		}
		if unsafe.Offsetof(ge.returned)+unsafe.Sizeof(ge.returned) > 128 || unsafe.Offsetof(ge.state) < 128 {
			t.Error("a group's hot line and cold line overlap")
		}
		for _, size := range []int{headerSize, producerBlockSize, producerSize, consumerSize, groupSize, countersSize} {
			if size%128 != 0 {
				t.Errorf("record size %d is not a multiple of 128", size)
			}
		}
	})
	t.Run("region_picture", func(t *testing.T) {
		// The picture in layout.go's comment gives each region's size.
		src, err := os.ReadFile("layout.go")
		if err != nil {
			t.Fatal(err)
		}
		for region, size := range map[string]string{
			"header":         fmt.Sprintf("%d B", headerSize),
			"producer block": fmt.Sprintf("%d B", producerBlockSize),
			"producer table": fmt.Sprintf("P x %d B", producerSize),
			"consumer table": fmt.Sprintf("C x %d B", consumerSize),
			"group table":    fmt.Sprintf("C x %d B", groupSize),
			"counters":       fmt.Sprintf("%d B", countersSize),
			"published seqs": "N x 8 B",
			"slots":          "N x S B",
		} {
			re := regexp.MustCompile(`//\t\| ` + regexp.QuoteMeta(region) + `\s+` + regexp.QuoteMeta(size) + `\s`)
			if !re.Match(src) {
				t.Errorf("region picture: want %s drawn as %q", region, size)
			}
		}
	})
}

// span is one region of a segment, [lo, hi).
type span struct {
	name   string
	lo, hi uint64
}

// spans lists every region of a segment of geometry g placed at r, in
// address order: header, producer block, producer table, consumer table,
// group table, counters, the published flags of multi-producer rings, and
// the slots.
func spans(g geometry, r regions) []span {
	s := []span{
		{"header", 0, headerSize},
		{"producer block", r.producer, r.producer + producerBlockSize},
		{"producer table", r.producers, r.producers + uint64(g.maxProducers)*producerSize},
		{"consumer table", r.consumers, r.consumers + uint64(g.maxConsumers)*consumerSize},
		{"group table", r.groups, r.groups + uint64(g.maxConsumers)*groupSize},
		{"counters", r.counters, r.counters + countersSize},
	}
	if g.mode == modeMulti {
		s = append(s, span{"published", r.published, r.published + uint64(g.capacity)*8})
	}
	return append(s, span{"slots", r.slots, r.slots + uint64(g.capacity)*uint64(g.slotSize)})
}

// checkRegions fails the test unless every region of g placed at r (spans)
// starts on an align-byte boundary, ends within r.total, and begins where
// the one before it ended or later, and unless r.total is at most limit
// (the mapping's length).
func checkRegions(t testing.TB, g geometry, r regions, align, limit uint64) {
	t.Helper()
	if r.total > limit {
		t.Errorf("total %d past the mapping's %d bytes", r.total, limit)
	}
	ss := spans(g, r)
	for i, s := range ss {
		if s.lo%align != 0 {
			t.Errorf("%s starts at %d, not %d-byte aligned", s.name, s.lo, align)
		}
		if s.lo > s.hi || s.hi > r.total {
			t.Errorf("%s [%d, %d) is not inside total %d", s.name, s.lo, s.hi, r.total)
		}
		if i > 0 && ss[i-1].hi > s.lo {
			t.Errorf("%s [%d, %d) overlaps %s at %d", ss[i-1].name, ss[i-1].lo, ss[i-1].hi, s.name, s.lo)
		}
	}
}

// errRecorder records the errors reported through it.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Helper() {}

func (r *errRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckRegions_CatchesEachRegion: the region check the layout and fuzz
// tests share reports a region, the group table included, that overlaps
// its neighbour, is misaligned or runs past the total or the mapping.
func TestCheckRegions_CatchesEachRegion(t *testing.T) {
	g := geometry{kind: kindTyped, mode: modeMulti, slotSize: 64, capacity: 16, maxConsumers: 4, maxProducers: 2}
	good := g.place()
	rec := &errRecorder{TB: t}
	checkRegions(rec, g, good, 128, good.total)
	if len(rec.errs) != 0 {
		t.Fatalf("place() output rejected: %v", rec.errs)
	}
	for _, tc := range []struct {
		name   string
		damage func(r *regions) uint64 // returns the mapping length
		want   string
	}{
		{"group table over the consumer table", func(r *regions) uint64 { r.groups -= 128; return r.total }, "consumer table"},
		{"counters over the group table", func(r *regions) uint64 { r.counters -= 128; return r.total }, "group table"},
		{"group table misaligned", func(r *regions) uint64 { r.groups += 8; return r.total }, "group table starts at"},
		{"published over the counters", func(r *regions) uint64 { r.published -= 8; return r.total }, "counters"},
		{"slots past the total", func(r *regions) uint64 { r.total -= pageSize; return r.total }, "slots"},
		{"total past the mapping", func(r *regions) uint64 { return r.total - 1 }, "past the mapping"},
	} {
		r := good
		limit := tc.damage(&r)
		rec := &errRecorder{TB: t}
		checkRegions(rec, g, r, 128, limit)
		if !strings.Contains(strings.Join(rec.errs, "\n"), tc.want) {
			t.Errorf("%s: reported %q, want an error naming %q", tc.name, rec.errs, tc.want)
		}
	}
}

// TestLayout_Place checks the region arithmetic for a few geometries: in
// order, non-overlapping, 128-byte aligned, slots page aligned, totals as
// computed by hand.
func TestLayout_Place(t *testing.T) {
	for _, g := range []geometry{
		{kind: kindTyped, mode: modeSingle, slotSize: 8, capacity: 1, maxConsumers: 1},
		{kind: kindTyped, mode: modeSingle, slotSize: 64, capacity: 1024, maxConsumers: 16},
		{kind: kindBytes, mode: modeSingle, slotSize: 4096, capacity: 4, maxConsumers: 4096},
		{kind: kindTyped, mode: modeMulti, slotSize: 24, capacity: 2, maxConsumers: 3, maxProducers: 2},
		{kind: kindBytes, mode: modeMulti, slotSize: 256, capacity: 1 << 16, maxConsumers: 16, maxProducers: maxProducers},
		{kind: kindBytes, mode: modeSingle, slotSize: maxSlotSize, capacity: 1 << 10, maxConsumers: 1},
	} {
		name := fmt.Sprintf("mode%d_cap%d_slot%d_C%d_P%d", g.mode, g.capacity, g.slotSize, g.maxConsumers, g.maxProducers)
		t.Run(name, func(t *testing.T) {
			r := g.place()
			// By hand.
			producers := uint64(headerSize + producerBlockSize)
			consumers := producers + uint64(g.maxProducers)*producerSize
			groups := consumers + uint64(g.maxConsumers)*consumerSize
			counters := groups + uint64(g.maxConsumers)*groupSize
			end := counters + countersSize
			var published uint64
			if g.mode == modeMulti {
				published = end
				end += uint64(g.capacity) * 8
			}
			slots := (end + pageSize - 1) / pageSize * pageSize
			total := (slots + uint64(g.capacity)*uint64(g.slotSize) + pageSize - 1) / pageSize * pageSize
			want := regions{producer: headerSize, producers: producers, consumers: consumers, groups: groups, counters: counters, published: published, slots: slots, total: total}
			if r != want {
				t.Fatalf("place() = %+v, want %+v", r, want)
			}
			checkRegions(t, g, r, 128, r.total)
			if r.slots%pageSize != 0 || r.total%pageSize != 0 {
				t.Errorf("slots %d / total %d not page aligned", r.slots, r.total)
			}
		})
	}
}

// layoutEvent is 20 bytes with 4-byte alignment: its slot rounds up to 24.
type layoutEvent struct {
	A [5]int32
}

// TestLayout_CreatedHeader reads back every header field of freshly
// created rings at its documented offset and width.
func TestLayout_CreatedHeader(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		cfg  Config
		kind uint32
	}{
		{"typed_single", Config{Backend: Heap, Capacity: 8, MaxConsumers: 3, Meta: []byte("meta!")}, kindTyped},
		{"typed_multi", Config{Backend: Heap, Capacity: 16, MaxConsumers: 2, MaxProducers: 3}, kindTyped},
		{"bytes_single", Config{Backend: Heap, Capacity: 4, SlotSize: 100}, kindBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := PortableName("layout")
			before := time.Now()
			var s *segment
			if tc.kind == kindTyped {
				p, err := Create[layoutEvent](name, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				s = p.p.s
			} else {
				p, err := CreateBytes(name, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				s = p.p.s
			}
			b := s.m.Bytes()
			g, r := s.g, s.r
			u32 := func(off int) uint32 { return le.Uint32(b[off:]) }
			u64 := func(off int) uint64 { return le.Uint64(b[off:]) }
			check := func(field string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: header holds %v, want %v", field, got, want)
				}
			}
			check("magic", string(b[hdrMagic:hdrMagic+8]), "MYELONRG")
			check("version", u32(hdrVersion), layoutVersion)
			check("header size", u32(hdrHeaderSize), headerSize)
			check("kind", u32(hdrKind), tc.kind)
			wantMode, wantP := modeSingle, 0
			if tc.cfg.MaxProducers > 1 {
				wantMode, wantP = modeMulti, tc.cfg.MaxProducers
			}
			check("mode", u32(hdrProducerMode), wantMode)
			check("max producers", u32(hdrMaxProducers), wantP)
			check("capacity", u32(hdrCapacity), tc.cfg.Capacity)
			wantC := tc.cfg.MaxConsumers
			if wantC == 0 {
				wantC = DefaultMaxConsumers
			}
			check("max consumers", u32(hdrMaxConsumers), wantC)
			if tc.kind == kindTyped {
				check("slot size", u32(hdrSlotSize), 24) // 20 bytes rounded up to 8
				check("elem size", u32(hdrElemSize), 20)
				check("elem align", u32(hdrElemAlign), 4)
				if u64(hdrFingerprint) == 0 {
					t.Error("typed ring with a zero fingerprint")
				}
			} else {
				check("slot size", u32(hdrSlotSize), 104)
				check("elem size", u32(hdrElemSize), 0)
				check("fingerprint", u64(hdrFingerprint), 0)
			}
			check("total size", u64(hdrTotalSize), r.total)
			check("producer off", u64(hdrProducerOff), r.producer)
			check("producers off", u64(hdrProducersOff), r.producers)
			check("consumers off", u64(hdrConsumersOff), r.consumers)
			check("counters off", u64(hdrCountersOff), r.counters)
			check("published off", u64(hdrPublishedOff), r.published)
			check("slots off", u64(hdrSlotsOff), r.slots)
			if (r.published != 0) != (g.mode == modeMulti) {
				t.Errorf("published offset %d for mode %d", r.published, g.mode)
			}
			check("owner pid", u32(hdrOwnerPID), os.Getpid())
			check("owner uid", u32(hdrOwnerUID), os.Geteuid())
			if created := time.Unix(0, int64(u64(hdrCreatedNs))); created.Before(before.Add(-time.Second)) || created.After(time.Now().Add(time.Second)) {
				t.Errorf("creation time %v, want about %v", created, before)
			}
			check("epoch", u64(hdrEpoch), s.epoch)
			meta := make([]byte, UserMetaSize)
			copy(meta, tc.cfg.Meta)
			check("meta", fmt.Sprintf("%q", b[hdrUserMeta:hdrUserMeta+UserMetaSize]), fmt.Sprintf("%q", meta))
			check("checksum", u64(hdrChecksum), headerChecksum(b))
			check("state", u32(hdrState), stateReady)
			check("producer cursor", int64(u64(int(r.producer)+prodCursor)), -1)
			check("producer pid", u32(int(r.producer)+prodPID), os.Getpid())
			check("mapping length", uint64(len(b)) >= r.total, true)
			if _, _, err := validateHeader(b); err != nil {
				t.Errorf("validateHeader of a fresh segment: %v", err)
			}
		})
	}
}
