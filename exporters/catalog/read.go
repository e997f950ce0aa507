package catalog

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// Selection chooses the rings to export. The zero value selects every
// shm ring on the host.
type Selection struct {
	// Dirs are directories of file-backed rings: the rings directly
	// inside each are exported too. Shm rings are always listed.
	Dirs []string
	// Prefix, if not empty, keeps only the rings whose name (a file-backed
	// ring's base name) starts with it.
	Prefix string
	// Names, if not empty, keeps only the rings it names: a shm ring's
	// name, or a file-backed ring in one of Dirs by its path or its base
	// name. Then only the named shm rings are read, rather than every
	// ring in /dev/shm. A named ring that does not exist is not exported
	// (absent, in Prometheus's terms).
	Names []string
}

// selects reports whether the ring name (a shm name or a path) is selected.
func (s *Selection) selects(name string) bool {
	base := filepath.Base(name)
	if !strings.HasPrefix(base, s.Prefix) {
		return false
	}
	return len(s.Names) == 0 || slices.Contains(s.Names, name) || slices.Contains(s.Names, base)
}

// Sample is the value of one metric for one set of label values.
type Sample struct {
	Metric *Metric
	Labels []string // the values of Metric.Labels, in order
	Value  int64
}

// SourceShm is the source label value of the shm backend's rings.
const SourceShm = "shm"

// Read takes a snapshot of every selected ring and returns the metrics'
// samples: one per metric and set of label values. It never fails: what
// it cannot read is in the samples (see the package documentation).
func Read(sel Selection) []Sample {
	b := builder{seen: map[string]bool{}}
	rings, ok := shmRings(&sel)
	b.add(sourceReadable, flag(ok), SourceShm)
	for _, d := range sel.Dirs {
		fileRings, ok := listDir(d, &sel)
		b.add(sourceReadable, flag(ok), d)
		rings = append(rings, fileRings...)
	}
	for _, r := range rings {
		if sel.selects(r.Name) {
			b.ring(r)
		}
	}
	return b.out
}

// shmRings takes a snapshot of each selected shm ring: of each of the
// Names (a name with a slash is a path: a file-backed ring's), or of
// every shm ring if there are none; ok is false if they could not be
// listed.
func shmRings(sel *Selection) (rings []*snapshot.Ring, ok bool) {
	if len(sel.Names) == 0 {
		rings, err := snapshot.List()
		return rings, err == nil
	}
	for _, n := range sel.Names {
		if !strings.ContainsRune(n, '/') && sel.selects(n) {
			rings = appendRing(rings, ring.Shm, n)
		}
	}
	return rings, true
}

// listDir takes a snapshot of each selected file-backed ring directly
// inside dir, as snapshot.List does; ok is false if dir cannot be read.
func listDir(dir string, sel *Selection) (rings []*snapshot.Ring, ok bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		// A dot name is a creation in progress.
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && sel.selects(path) {
			rings = appendRing(rings, ring.File, path)
		}
	}
	return rings, true
}

// appendRing appends to rings the snapshot of ring name of backend b, if
// it is a ring: a segment that is not, or that is gone, is left out; a
// ring that cannot be read is appended as Unreadable.
func appendRing(rings []*snapshot.Ring, b ring.Backend, name string) []*snapshot.Ring {
	r, err := snapshot.Take(b, name)
	switch {
	case err == nil:
		return append(rings, r)
	case errors.Is(err, snapshot.ErrNotRing), errors.Is(err, ring.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return rings
	}
	return append(rings, &snapshot.Ring{Name: name, Backend: b.String(), State: snapshot.Unreadable, Err: err, Reason: err.Error()})
}

// builder collects samples, keeping the first of any that repeat a
// metric and label values (a registry refuses a scrape that repeats one).
type builder struct {
	out  []Sample
	seen map[string]bool
}

func (b *builder) add(m *Metric, v int64, labels ...string) {
	key := m.Name + "\xff" + strings.Join(labels, "\xff")
	if b.seen[key] {
		return
	}
	b.seen[key] = true
	b.out = append(b.out, Sample{Metric: m, Labels: labels, Value: v})
}

var (
	ringStates     = []snapshot.State{snapshot.Ready, snapshot.Closed, snapshot.Stale, snapshot.Initialising, snapshot.Unreadable}
	consumerStates = []string{"active", "detached", "claiming"}
)

// ring adds the samples of one ring.
func (b *builder) ring(r *snapshot.Ring) {
	rl := []string{r.Name, r.Backend, string(r.Layer)}
	for _, s := range ringStates {
		b.add(ringState, flag(r.State == s), with(rl, string(s))...)
	}
	b.add(ringAlive, flag(r.Alive), rl...)
	switch r.State {
	case snapshot.Unreadable:
		b.add(ringUnreadable, 1, with(rl, r.Reason)...)
		return
	case snapshot.Initialising:
		return // no geometry or counters yet
	}
	schema := ""
	if r.Schema != nil {
		schema = r.Schema.String()
	}
	b.add(ringInfo, 1, with(rl, r.Info.Kind, schema)...)
	b.add(ringCapacity, int64(r.Info.Capacity), rl...)
	b.add(ringSlotSize, int64(r.Info.SlotSize), rl...)
	b.add(ringSize, r.Size, rl...)
	b.add(ringCreated, r.Info.Created.Unix(), rl...)

	st := &r.Stats
	b.add(ringPublished, st.Published, rl...)
	b.add(ringFullWaits, count(st.FullWaits), rl...)
	b.add(ringProducerParks, count(st.ProducerParks), rl...)
	b.add(ringProducerWakes, count(st.ProducerWakes), rl...)
	b.add(ringDeadConsumers, count(st.DeadConsumers), rl...)
	b.add(ringAbandoned, count(st.Abandoned), rl...)
	b.add(ringStalls, count(st.Stalls), rl...)
	b.add(ringEvictions, count(st.Evictions), rl...)
	for _, e := range st.Errors {
		kl := with(rl, snapshot.ErrorKindName(r.Layer, e.Kind))
		b.add(ringErrors, count(e.Count), kl...)
		b.add(ringErrorLast, e.Last.Unix(), kl...)
	}
	for _, p := range st.Producers {
		pl := with(rl, strconv.Itoa(p.Index))
		b.add(producerAlive, flag(p.Alive), pl...)
		b.add(producerPublished, count(p.Events), pl...)
	}
	if r.Producer != nil {
		b.producerLayers(r.Producer, rl)
	}
	for i := range st.Consumers {
		b.consumer(r, i, rl)
	}
	for _, g := range st.Groups {
		gl := with(rl, g.Name)
		b.add(groupMembers, int64(g.Members), gl...)
		b.add(groupPosition, g.Position, gl...)
		b.add(groupPending, g.Pending, gl...)
		b.add(groupInDoubt, int64(g.InDoubt), gl...)
		b.add(groupRedelivered, count(g.Redelivered), gl...)
		b.add(groupLost, count(g.Lost), gl...)
		b.add(groupLapped, count(g.Lapped), gl...)
	}
}

// producerLayers adds the frame, typed and bridge counters of a ring's
// producers.
func (b *builder) producerLayers(l *snapshot.LayerStats, rl []string) {
	if f := l.FrameProducer; f != nil {
		b.add(frameProducerMessages, count(f.Messages), rl...)
		b.add(frameProducerFragments, count(f.Fragments), rl...)
		b.add(frameProducerBytes, count(f.Bytes), rl...)
		b.add(frameProducerMultiFrame, count(f.MultiFrame), rl...)
		b.add(frameProducerChunked, count(f.Chunked), rl...)
		b.add(frameProducerAborted, count(f.Aborted), rl...)
	}
	if t := l.TypedProducer; t != nil {
		b.add(typedProducerEncodeErrors, count(t.EncodeErrors), rl...)
	}
	if br := l.Bridge; br != nil {
		in := br.Inbound
		b.add(bridgeInboundWritten, count(in.Written), rl...)
		b.add(bridgeInboundDuplicates, count(in.Duplicates), rl...)
		b.add(bridgeInboundLost, count(in.Lost), rl...)
		b.add(bridgeInboundErrors, count(in.Errors), rl...)
	}
}

// consumer adds the samples of the ring's consumer i.
func (b *builder) consumer(r *snapshot.Ring, i int, rl []string) {
	c := &r.Stats.Consumers[i]
	cl := with(rl, c.ID, c.Group)
	for _, s := range consumerStates {
		b.add(consumerState, flag(c.State == s), with(cl, s)...)
	}
	b.add(consumerAlive, flag(c.Alive), cl...)
	b.add(consumerPosition, c.Position, cl...)
	b.add(consumerLag, c.Lag, cl...)
	b.add(consumerLagMax, count(c.LagMax), cl...)
	b.add(consumerEmptyWaits, count(c.EmptyWaits), cl...)
	b.add(consumerParks, count(c.Parks), cl...)
	b.add(consumerWakes, count(c.Wakes), cl...)
	b.add(consumerLapped, count(c.Lapped), cl...)
	b.add(consumerAbandoned, count(c.Abandoned), cl...)
	if i >= len(r.Consumers) {
		return // a ring of the ring layer: no counters above it
	}
	l := &r.Consumers[i]
	if f := l.FrameConsumer; f != nil {
		b.add(frameConsumerMessages, count(f.Messages), cl...)
		b.add(frameConsumerFragments, count(f.Fragments), cl...)
		b.add(frameConsumerBytes, count(f.Bytes), cl...)
		b.add(frameConsumerMultiFrame, count(f.MultiFrame), cl...)
		b.add(frameConsumerReassemblyErrors, count(f.ReassemblyErrors), cl...)
		b.add(frameConsumerChecksumErrors, count(f.ChecksumErrors), cl...)
		b.add(frameConsumerSkippedFrames, count(f.SkippedFrames), cl...)
		b.add(frameConsumerLateJoinFrames, count(f.LateJoinFrames), cl...)
		b.add(frameConsumerLapped, count(f.Lapped), cl...)
	}
	if t := l.TypedConsumer; t != nil {
		b.add(typedConsumerDecodeErrors, count(t.DecodeErrors), cl...)
		b.add(typedConsumerSchemaErrors, count(t.SchemaErrors), cl...)
	}
	if br := l.Bridge; br != nil {
		out := br.Outbound
		b.add(bridgeOutboundPublished, count(out.Published), cl...)
		b.add(bridgeOutboundAcked, count(out.Acked), cl...)
		b.add(bridgeOutboundRepublished, count(out.Republished), cl...)
		b.add(bridgeOutboundErrors, count(out.Errors), cl...)
	}
}

// flag is 1 for true, 0 for false.
func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// count converts a counter to the exporters' int64, saturating.
func count(v uint64) int64 {
	return int64(min(v, math.MaxInt64))
}
