package ring

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// layoutRow is one row of a ruler in the comments of layout.go.
type layoutRow struct {
	off, size int // size -1: the ruler has no size column
	text      string
}

// layoutDoc is what TestLayout_Offsets reads out of layout.go.
type layoutDoc struct {
	rulers       [][]layoutRow     // every "off [size] field" table, in file order
	regionSizes  map[string]string // region picture: "header" -> "512 B"
	regionMarks  []int             // offsets written at the picture's box edges
	checksumEnd  int               // "checksum covers bytes [0, N)"
	checksumSeen bool
}

var (
	rulerHead   = regexp.MustCompile(`^//\toff\s+(size\s+)?field`)
	rulerRow    = regexp.MustCompile(`^//\t\s*(\d+)\s+(\d+)\s+(\S.*)$`)
	rulerRowOff = regexp.MustCompile(`^//\t\s*(\d+)\s+(\D.*)$`)
	regionBox   = regexp.MustCompile(`^//\t\| (\S+(?: \S+)*)\s{2,}(.+?)\s*\|`)
	regionEdge  = regexp.MustCompile(`^//\t\+-+\+ (\d+)$`)
	checksumRe  = regexp.MustCompile(`checksum covers bytes\s*(?://\s*)?\[0, (\d+)\)`)
)

func readLayoutDoc(t *testing.T) layoutDoc {
	t.Helper()
	src, err := os.ReadFile("layout.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := layoutDoc{regionSizes: map[string]string{}}
	// The checksum sentence wraps across comment lines: search the comment
	// text with the line prefixes removed.
	flat := strings.NewReplacer("\n// ", " ", "\n//", " ").Replace(string(src))
	if m := checksumRe.FindStringSubmatch(flat); m != nil {
		doc.checksumEnd, _ = strconv.Atoi(m[1])
		doc.checksumSeen = true
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	var cur []layoutRow
	inRuler, withSize := false, false
	flush := func() {
		if inRuler {
			doc.rulers = append(doc.rulers, cur)
		}
		cur, inRuler = nil, false
	}
	for sc.Scan() {
		line := sc.Text()
		if m := rulerHead.FindStringSubmatch(line); m != nil {
			flush()
			inRuler, withSize = true, m[1] != ""
			continue
		}
		if m := regionBox.FindStringSubmatch(line); m != nil {
			doc.regionSizes[m[1]] = m[2]
		}
		if m := regionEdge.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			doc.regionMarks = append(doc.regionMarks, n)
		}
		if !inRuler {
			continue
		}
		if !strings.HasPrefix(line, "//\t") {
			flush() // a blank comment line or code ends the ruler
			continue
		}
		if withSize {
			if m := rulerRow.FindStringSubmatch(line); m != nil {
				off, _ := strconv.Atoi(m[1])
				size, _ := strconv.Atoi(m[2])
				cur = append(cur, layoutRow{off, size, m[3]})
			}
			continue // a continuation line of the previous row
		}
		if m := rulerRowOff.FindStringSubmatch(line); m != nil {
			off, _ := strconv.Atoi(m[1])
			cur = append(cur, layoutRow{off, -1, m[2]})
		}
	}
	flush()
	return doc
}

// wantField is a documented field: its constant and the words its ruler
// row must contain.
type wantField struct {
	word      string
	off, size int
}

// TestLayout_Offsets compares every offset and size drawn in layout.go's
// comments with the constants, so the picture cannot drift from the code.
func TestLayout_Offsets(t *testing.T) {
	doc := readLayoutDoc(t)
	rulers := []struct {
		name   string
		size   int // size of the structure
		fields []wantField
	}{
		{"header", headerSize, []wantField{
			{"magic", hdrMagic, 8},
			{"layout version", hdrVersion, 4},
			{"header size", hdrHeaderSize, 4},
			{"kind", hdrKind, 4},
			{"producer mode", hdrProducerMode, 4},
			{"slot size", hdrSlotSize, 4},
			{"capacity", hdrCapacity, 4},
			{"max consumers", hdrMaxConsumers, 4},
			{"max producers", hdrMaxProducers, 4},
			{"element size", hdrElemSize, 4},
			{"element alignment", hdrElemAlign, 4},
			{"fingerprint", hdrFingerprint, 8},
			{"total size", hdrTotalSize, 8},
			{"producer block offset", hdrProducerOff, 8},
			{"producer table offset", hdrProducersOff, 8},
			{"consumer table offset", hdrConsumersOff, 8},
			{"counters offset", hdrCountersOff, 8},
			{"published-sequence array offset", hdrPublishedOff, 8},
			{"slots offset", hdrSlotsOff, 8},
			{"owner pid", hdrOwnerPID, 4},
			{"owner uid", hdrOwnerUID, 4},
			{"epoch", hdrEpoch, 8},
			{"creation time", hdrCreatedNs, 8},
			{"metadata", hdrUserMeta, UserMetaSize},
			{"checksum", hdrChecksum, 8},
			{"state", hdrState, 4},
		}},
		{"producer block", producerBlockSize, []wantField{
			{"cursor", prodCursor, 8},
			{"claim", prodClaim, 8},
			{"limit", prodLimit, 8},
			{"data wake word", prodDataWake, 4},
			{"data waiters", prodDataWaiters, 4},
			{"space wake word", prodSpaceWake, 4},
			{"space waiters", prodSpaceWaiters, 4},
			{"producer pid", prodPID, 4},
		}},
		{"producer table entry", producerSize, []wantField{
			{"state", pentState, 4},
			{"pid", pentPID, 4},
			{"claim low", pentClaimLo, 8},
			{"claim high", pentClaimHi, 8},
			{"events published", pentEvents, 8},
		}},
		{"consumer entry", consumerSize, []wantField{
			{"cursor", centCursor, 8},
			{"empty waits", centEmpty, 8},
			{"parks", centParks, 8},
			{"wakes", centWakes, 8},
			{"lapped", centLapped, 8},
			{"abandoned", centSkipped, 8},
			{"held", centHeld, 8},
			{"state", centState, 4},
			{"flags", centFlags, 4},
			{"pid", centPID, 4},
			{"generation", centGen, 4},
			{"start sequence", centStart, 8},
			{"join time", centJoinedNs, 8},
			{"id length", centIDLen, 4},
			{"id bytes", centID, MaxIDLen},
			{"group", centGroup, 4},
		}},
		{"group table entry", groupSize, []wantField{
			{"work", grpWork, 8},
			{"pending", grpPending, 8},
			{"returned", grpReturned, 8 * grpReturnedSlots},
			{"state", grpState, 4},
			{"name length", grpNameLen, 4},
			{"name bytes", grpName, MaxIDLen},
			{"lost", grpLost, 8},
			{"redelivered", grpRedelivered, 8},
			{"lapped", grpLapped, 8},
		}},
		{"counters", countersSize, []wantField{
			{"full waits", cntFullWaits, 8},
			{"producer parks", cntParks, 8},
			{"producer wakes", cntWakes, 8},
			{"detached", cntDeadCons, 8},
			{"abandoned", cntAbandoned, 8},
		}},
	}
	if len(doc.rulers) != len(rulers) {
		t.Fatalf("layout.go has %d rulers, the test knows %d: update one or the other", len(doc.rulers), len(rulers))
	}
	for i, r := range rulers {
		t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			rows := doc.rulers[i]
			if len(rows) != len(r.fields) {
				t.Fatalf("ruler has %d rows, want %d (one per constant): %v", len(rows), len(r.fields), rows)
			}
			for j, f := range r.fields {
				row := rows[j]
				if !strings.Contains(row.text, f.word) {
					t.Errorf("row %d %q: want it to document %q", j, row.text, f.word)
				}
				if row.off != f.off {
					t.Errorf("%s: documented at %d, constant is %d", f.word, row.off, f.off)
				}
				if row.size >= 0 && row.size != f.size {
					t.Errorf("%s: documented size %d, want %d", f.word, row.size, f.size)
				}
				// Shared words are touched with sync/atomic: naturally aligned.
				if (f.size == 4 || f.size == 8) && f.off%f.size != 0 {
					t.Errorf("%s at %d is not %d-byte aligned", f.word, f.off, f.size)
				}
				if f.off+f.size > r.size {
					t.Errorf("%s [%d, %d) runs past the %d-byte %s", f.word, f.off, f.off+f.size, r.size, r.name)
				}
				if j > 0 {
					prev := r.fields[j-1]
					if prev.off+prev.size > f.off {
						t.Errorf("%s [%d, %d) overlaps %s at %d", prev.word, prev.off, prev.off+prev.size, f.word, f.off)
					}
				}
			}
		})
	}

	t.Run("regions", func(t *testing.T) {
		want := map[string]string{
			"header":         fmt.Sprintf("%d B", headerSize),
			"producer block": fmt.Sprintf("%d B", producerBlockSize),
			"producer table": fmt.Sprintf("P x %d B", producerSize),
			"consumer table": fmt.Sprintf("C x %d B", consumerSize),
			"group table":    fmt.Sprintf("C x %d B", groupSize),
			"counters":       fmt.Sprintf("%d B", countersSize),
			"published seqs": "N x 8 B",
			"slots":          "N x S B",
		}
		for k, v := range want {
			if got := doc.regionSizes[k]; got != v {
				t.Errorf("region picture: %s is %q, want %q", k, got, v)
			}
		}
		if len(doc.regionSizes) != len(want) {
			t.Errorf("region picture has %d regions %v, want %d", len(doc.regionSizes), doc.regionSizes, len(want))
		}
		marks := []int{0, headerSize, headerSize + producerBlockSize}
		if fmt.Sprint(doc.regionMarks) != fmt.Sprint(marks) {
			t.Errorf("region picture edges %v, want %v", doc.regionMarks, marks)
		}
	})

	t.Run("checksum", func(t *testing.T) {
		if !doc.checksumSeen || doc.checksumEnd != hdrChecksum {
			t.Errorf("doc says the checksum covers [0, %d) (found=%v), hdrChecksum=%d", doc.checksumEnd, doc.checksumSeen, hdrChecksum)
		}
		// Every immutable field lies before the checksum; the state word,
		// which changes after creation, after it.
		if hdrUserMeta+UserMetaSize > hdrChecksum {
			t.Errorf("metadata ends at %d, past the checksum at %d", hdrUserMeta+UserMetaSize, hdrChecksum)
		}
		if hdrState < hdrChecksum+8 {
			t.Errorf("state at %d is inside the checksummed range", hdrState)
		}
	})

	t.Run("hot_lines", func(t *testing.T) {
		// Each hot producer word owns a 128-byte line.
		hot := map[string]int{"cursor": prodCursor, "claim": prodClaim, "limit": prodLimit, "data wake": prodDataWake, "space wake": prodSpaceWake, "pid": prodPID}
		lines := map[int]string{}
		for name, off := range hot {
			if other, ok := lines[off/128]; ok {
				t.Errorf("%s and %s share 128-byte line %d", name, other, off/128)
			}
			lines[off/128] = name
		}
		for _, pair := range [][2]int{{prodCursor, prodClaim}, {prodClaim, prodLimit}, {prodLimit, prodDataWake}, {prodDataWake, prodSpaceWake}} {
			if pair[1]-pair[0] < 128 {
				t.Errorf("hot words at %d and %d are %d bytes apart, want >= 128", pair[0], pair[1], pair[1]-pair[0])
			}
		}
		if prodDataWaiters/128 != prodDataWake/128 || prodSpaceWaiters/128 != prodSpaceWake/128 {
			t.Errorf("a wake word and its waiter count are on different lines")
		}
		// A consumer's own line (cursor and counters) apart from its
		// join/leave line, and entries a whole number of lines.
		if centCursor/128 == centState/128 {
			t.Errorf("consumer cursor and state share a line")
		}
		for _, off := range []int{centEmpty, centParks, centWakes, centLapped, centSkipped} {
			if off/128 != centCursor/128 {
				t.Errorf("consumer counter at %d is off the consumer's own line", off)
			}
		}
		// A group's hot line (work, pending, returned claims) apart from its
		// name and counters.
		if grpReturned+8*grpReturnedSlots > 128 || grpState < 128 {
			t.Errorf("group hot line [0, %d) and cold line at %d overlap", grpReturned+8*grpReturnedSlots, grpState)
		}
		for name, size := range map[string]int{"header": headerSize, "producer block": producerBlockSize, "producer entry": producerSize, "consumer entry": consumerSize, "group entry": groupSize, "counters": countersSize} {
			if size%128 != 0 {
				t.Errorf("%s size %d is not a multiple of 128", name, size)
			}
		}
		if centID+MaxIDLen > consumerSize {
			t.Errorf("consumer id [%d, %d) runs past the entry", centID, centID+MaxIDLen)
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
