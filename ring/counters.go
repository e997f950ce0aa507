package ring

import (
	"fmt"
	"runtime/debug"
	"time"
)

// LayerCounterSlots is the number of counters each participant keeps for
// the layer above (LayerCounters).
const LayerCounterSlots = 16

// LayerCounters are counters a participant (a producer or a consumer
// handle) keeps in the ring's segment for the layer above the ring:
// frame keeps its message, frame and byte counts in them, typed its
// decode errors, the NATS bridge a marker and its own counts (frame and
// typed document their slots, the snapshot package the bridge's), and a
// program using rings directly may keep its own.
// Because they live in the segment, any process can read them without
// the participant's help (Inspect, Stats, the snapshot package and
// myelon stat). Each handle has its own slots and is their one writer;
// what each slot means is the layer's business (frame documents its own).
//
// An Add or Store is one atomic instruction on the handle's own cache
// line (about 6 ns on amd64); keep the calls off the per-event path when a
// few nanoseconds matter: count locally, store now and then, and store
// again from OnIdle, so that the counters are exact whenever the handle
// is idle.
//
// After the handle closes, its LayerCounters write to process-local
// memory and LogError does nothing: the segment may be gone.
type LayerCounters struct{ r *layerRef }

// layerRef is a handle's way to its layer counters, which Close turns
// away from the segment.
type layerRef struct {
	c    *layerCounters
	s    *segment
	idle func() // OnIdle's
}

// onIdle runs the OnIdle function, if any. Slow paths only.
func (r *layerRef) onIdle() {
	if r != nil && r.idle != nil {
		r.idle()
	}
}

func newLayerRef(s *segment, c *layerCounters) *layerRef { return &layerRef{c: c, s: s} }

// detach points the counters at a private copy: the mapping goes next.
func (r *layerRef) detach() {
	local := new(layerCounters)
	for i := range r.c {
		local[i].store(r.c[i].load())
	}
	r.c = local
}

// Add adds n to slot i (0 <= i < LayerCounterSlots).
func (l LayerCounters) Add(i int, n uint64) {
	defer l.r.guard(debug.SetPanicOnFault(true))
	l.r.c[i].add(n)
}

// Store sets slot i to v.
func (l LayerCounters) Store(i int, v uint64) {
	defer l.r.guard(debug.SetPanicOnFault(true))
	l.r.c[i].store(v)
}

// StoreSlots sets slots first, first+1, ... to v: one guard for them all,
// where a Store per slot pays one each.
func (l LayerCounters) StoreSlots(first int, v []uint64) {
	defer l.r.guard(debug.SetPanicOnFault(true))
	c := l.r.c[first : first+len(v)]
	for i := range c {
		c[i].store(v[i])
	}
}

// Load reads slot i (0 once the segment was found truncated).
func (l LayerCounters) Load(i int) (v uint64) {
	defer l.r.guard(debug.SetPanicOnFault(true))
	return l.r.c[i].load()
}

// guard is the counters' guard (fault.go): a truncated segment turns them
// process-local, and the handle's next call reports ErrTruncated.
func (r *layerRef) guard(old bool) {
	debug.SetPanicOnFault(old)
	if e := recover(); e != nil {
		r.s.broke(faultError(r.s.m, e))
	}
}

// OnIdle sets fn (nil for none) to run on the handle's goroutine whenever
// the handle finds the ring empty (a consumer) or full (a producer),
// before it waits or returns ErrEmpty or ErrFull, and once more when it
// closes, while its counters are still in the segment. A layer that counts
// locally stores its counts from fn: then the segment's counters cost
// nothing per event and are exact whenever the handle is idle. The frame
// layer sets fn on its own handles.
func (l LayerCounters) OnIdle(fn func()) { l.r.idle = fn }

// LogError records an error of kind k (ErrorLayer to ErrorLayer+7) in the
// ring's error log, with a detail of the caller's choosing. Slow paths
// only: a clock read and four atomic operations.
func (l LayerCounters) LogError(k ErrorKind, detail int64) error {
	if err := layerKind(k); err != nil {
		return err
	}
	err := guarded(l.r.s.m, func() error {
		if l.r.s.truncated == nil {
			l.r.s.logError(k, detail)
		}
		return nil
	})
	if err != nil {
		return l.r.s.broke(err)
	}
	return nil
}

// values reads every slot.
func (c *layerCounters) values() (v [LayerCounterSlots]uint64) {
	for i := range c {
		v[i] = c[i].load()
	}
	return v
}

// ErrorKind names an entry of a ring's error log: the log keeps, for each
// kind, how many times it happened, when first and last, and the last
// detail, so an operator can see what went wrong without the processes'
// own logs. The ring logs its own kinds; ErrorLayer and above are for the
// layer above (frame, typed, a program), logged with LogError.
type ErrorKind uint8

// Error kinds the ring logs. Detail is given for each.
const (
	ErrorLapped       ErrorKind = iota // a consumer was lapped; detail: events missed
	ErrorCorrupt                       // a shared word held an impossible value; detail: the value
	ErrorDeadConsumer                  // a dead consumer was detached; detail: its entry index
	ErrorAbandoned                     // a dead producer's sequences were abandoned; detail: how many
	ErrorStall                         // a required consumer stalled; detail: its position
	ErrorEvicted                       // a required consumer was evicted; detail: its position
	ErrorProducerGone                  // a consumer found the producer dead; detail: its position
	ErrorLayer        ErrorKind = 16   // first kind for the layer above; up to ErrorLayer+7
	errorKinds                  = 24
)

var errorKindNames = [...]string{
	ErrorLapped: "lapped", ErrorCorrupt: "corrupt", ErrorDeadConsumer: "dead_consumer",
	ErrorAbandoned: "abandoned", ErrorStall: "stall", ErrorEvicted: "evicted",
	ErrorProducerGone: "producer_gone",
}

func (k ErrorKind) String() string {
	if int(k) < len(errorKindNames) && errorKindNames[k] != "" {
		return errorKindNames[k]
	}
	if k >= ErrorLayer && k < errorKinds {
		return fmt.Sprintf("layer%d", k-ErrorLayer)
	}
	return fmt.Sprintf("kind%d", uint8(k))
}

// ErrorRecord is one kind's entry in a ring's error log (Stats.Errors).
type ErrorRecord struct {
	Kind   ErrorKind `json:"kind"`
	Count  uint64    `json:"count"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Detail int64     `json:"detail"` // of the last occurrence
}

// logError records one error of kind k in the segment's error log. Slow
// paths only: three atomic operations and a clock read.
func (s *segment) logError(k ErrorKind, detail int64) {
	if k >= errorKinds || s.unmapped() {
		return
	}
	r := &s.counters.errors[k]
	now := time.Now().UnixNano()
	r.firstNs.cas(0, now)
	r.lastNs.store(now)
	r.detail.store(detail)
	r.count.add(1)
	s.errorEvent(k, detail)
}

// errorLog reads the entries of the error log that have happened.
func (s *segment) errorLog() []ErrorRecord {
	var out []ErrorRecord
	for k := range s.counters.errors {
		r := &s.counters.errors[k]
		n := r.count.load()
		if n == 0 {
			continue
		}
		out = append(out, ErrorRecord{
			Kind: ErrorKind(k), Count: n, Detail: r.detail.load(),
			First: time.Unix(0, r.firstNs.load()), Last: time.Unix(0, r.lastNs.load()),
		})
	}
	return out
}

// layerKind checks a kind given to LogError.
func layerKind(k ErrorKind) error {
	if k < ErrorLayer || k >= errorKinds {
		return fmt.Errorf("%w: error kind %d is not in [ErrorLayer, ErrorLayer+7]", ErrInvalidConfig, k)
	}
	return nil
}
