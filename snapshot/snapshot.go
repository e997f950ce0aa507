// Package snapshot reads myelon rings from outside: any ring on the host,
// of any layer, without its processes' help and without writing a byte
// to it.
//
// A ring keeps everything an operator needs in its own segment: the
// geometry, every participant's position and liveness lock, the ring's
// counters (waits, parks, laps, liveness actions), the counters of the
// layers above (frame's messages, fragments and protocol errors, typed's
// decode errors, a NATS bridge's messages and errors) and a log of the
// last distinct errors. Take maps a segment read-only (so it needs only
// read permission, and cannot disturb the ring even by mistake),
// validates it as the ring's own attach does, and returns a Ring: the
// ring's identity and file, its state, and its counters decoded for its
// layer. List does the same for every ring in /dev/shm and in given
// directories, and reports the rings it cannot read rather than hiding
// them.
//
// The myelon command's ls, stat and clean, and the exporters, are built on
// this package.
package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/shm"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// State is what a ring looks like from outside.
type State string

// The states of a ring.
const (
	// Ready: a producer is alive and the ring is open.
	Ready State = "ready"
	// Closed: the producer closed the ring; consumers drain what is left.
	Closed State = "closed"
	// Stale: every producer died without closing the ring. Its consumers
	// drain it and get ErrProducerGone; clean removes it once they are
	// gone too.
	Stale State = "stale"
	// Initialising: created, not ready yet (or its creator died before it
	// was: then Alive is false).
	Initialising State = "initialising"
	// Unreadable: the segment could not be read (Ring.Reason says why:
	// permission, a corrupt or foreign layout).
	Unreadable State = "unreadable"
)

// Layer is the highest layer of myelon a ring was created by.
type Layer string

// The layers.
const (
	LayerRing  Layer = "ring"  // fixed-size events (ring.Create, CreateBytes)
	LayerFrame Layer = "frame" // variable-length messages (frame.Create)
	LayerTyped Layer = "typed" // Go values through a codec (typed.Create)
)

// Ring is a snapshot of one ring.
type Ring struct {
	Name    string    `json:"name"`
	Backend string    `json:"backend"`
	Path    string    `json:"path,omitempty"`
	Taken   time.Time `json:"taken"`
	State   State     `json:"state"`
	// Alive: a producer holds its liveness lock.
	Alive  bool   `json:"alive"`
	Reason string `json:"reason,omitempty"` // why it is Unreadable
	// Err is the error behind an Unreadable state.
	Err error `json:"-"`

	// The segment's file.
	Size     int64     `json:"size"`
	Mode     string    `json:"mode"` // permission bits, as ls prints them
	UID      uint32    `json:"uid"`
	GID      uint32    `json:"gid"`
	Owner    string    `json:"owner"` // user name, or the uid if unknown
	Group    string    `json:"group"` // group name, or the gid if unknown
	Modified time.Time `json:"modified"`

	Layer  Layer           `json:"layer,omitempty"`
	Frame  *frame.Geometry `json:"frame,omitempty"`  // frame and typed rings
	Schema *typed.Schema   `json:"schema,omitempty"` // typed rings
	Info   ring.RingInfo   `json:"info"`
	Stats  ring.Stats      `json:"stats"`

	// Counters of the layers above the ring, decoded from the segment:
	// the producers' (summed over a multi-producer ring's) and each
	// consumer's, in the order of Stats.Consumers.
	Producer  *LayerStats  `json:"producer,omitempty"`
	Consumers []LayerStats `json:"consumers,omitempty"`
}

// LayerStats are one participant's counters for the layers above the ring
// (nil fields for layers the ring does not have).
type LayerStats struct {
	FrameProducer *frame.ProducerStats       `json:"frame_producer,omitempty"`
	FrameConsumer *frame.ConsumerStats       `json:"frame_consumer,omitempty"`
	TypedProducer *typed.SharedProducerStats `json:"typed_producer,omitempty"`
	TypedConsumer *typed.SharedConsumerStats `json:"typed_consumer,omitempty"`
	// Bridge: the participant is a NATS bridge (see BridgeRoleSlot).
	Bridge *BridgeStats `json:"bridge,omitempty"`
}

// ErrorKindName names a kind of the error log (ring.ErrorRecord) of a
// ring of the given layer: the ring's own kinds by their names ("lapped",
// "dead_consumer"), frame's and typed's on their rings with their layer
// ("frame_protocol", "typed_decode"), a program's own as "layer0" to
// "layer7".
func ErrorKindName(layer Layer, k ring.ErrorKind) string {
	if layer == LayerFrame || layer == LayerTyped {
		switch k {
		case frame.ErrorKindProtocol:
			return "frame_protocol"
		case frame.ErrorKindChecksum:
			return "frame_checksum"
		case frame.ErrorKindAborted:
			return "frame_aborted"
		}
	}
	if layer == LayerTyped {
		switch k {
		case typed.ErrorKindDecode:
			return "typed_decode"
		case typed.ErrorKindSchema:
			return "typed_schema"
		case typed.ErrorKindEncode:
			return "typed_encode"
		}
	}
	return k.String()
}

// ErrNotRing: the segment is not a myelon ring (another program's shared
// memory, or a file that is not a segment).
var ErrNotRing = errors.New("snapshot: not a myelon ring")

// Take reads the ring name of a backend (ring.Shm: a name in /dev/shm;
// ring.File: a path). A ring that exists but cannot be read is returned
// with State Unreadable and the reason, and a nil error; a name with no
// segment is ring.ErrNotFound, a segment that is not a ring ErrNotRing.
func Take(backend ring.Backend, name string) (*Ring, error) {
	r := &Ring{Name: name, Backend: backend.String(), Path: shm.Path(backend, name), Taken: time.Now()}
	fi, err := shm.Stat(backend, name)
	if err != nil {
		switch {
		case errors.Is(err, shm.ErrNotExist):
			return nil, fmt.Errorf("%w: %s", ring.ErrNotFound, name)
		case errors.Is(err, shm.ErrInvalidName):
			return nil, fmt.Errorf("%w: %w", ErrNotRing, err) // no ring can have that name
		}
		return nil, err
	}
	r.setFile(fi)
	info, st, err := ring.Inspect(backend, name)
	switch {
	case err == nil:
	case errors.Is(err, ring.ErrNotFound):
		return nil, err
	case errors.Is(err, ring.ErrNotReady):
		r.State = Initialising
		r.Alive, _ = shm.OwnerAlive(backend, name)
		return r, nil
	case isForeign(err):
		return nil, fmt.Errorf("%w: %s: %v", ErrNotRing, name, err)
	default:
		r.State, r.Err, r.Reason = Unreadable, err, reason(err)
		// The owner's lock answers without a mapping: whether a live
		// process still holds a segment we cannot read (another version's
		// layout, say), which clean must know.
		if alive, err := shm.OwnerAlive(backend, name); err == nil {
			r.Alive = alive
		} else {
			r.Alive = true // unknown: never taken for dead
		}
		return r, nil
	}
	r.Info, r.Stats, r.Alive = info, st, st.ProducerAlive
	switch {
	case st.State == "closed":
		r.State = Closed
	case !st.ProducerAlive:
		r.State = Stale
	default:
		r.State = Ready
	}
	r.decodeLayers()
	return r, nil
}

// isForeign reports whether a failed Inspect found something that was
// never a ring: no magic, or too small to hold a header.
func isForeign(err error) bool {
	var le *ring.LayoutError
	return errors.As(err, &le) && (le.Field == "magic" || le.Field == "size")
}

// reason is a one-line account of why a ring could not be read.
func reason(err error) string {
	var le *ring.LayoutError
	switch {
	case errors.Is(err, ring.ErrPermission):
		return "permission denied"
	case errors.As(err, &le):
		return strings.TrimPrefix(le.Error(), "ring: ")
	}
	return err.Error()
}

func (r *Ring) setFile(fi shm.FileInfo) {
	r.Size, r.Mode, r.UID, r.GID, r.Modified = fi.Size, fi.Mode.String(), fi.UID, fi.GID, fi.ModTime
	r.Owner, r.Group = strconv.FormatUint(uint64(fi.UID), 10), strconv.FormatUint(uint64(fi.GID), 10)
	if u, err := user.LookupId(r.Owner); err == nil {
		r.Owner = u.Username
	}
	if g, err := user.LookupGroupId(r.Group); err == nil {
		r.Group = g.Name
	}
}

// decodeLayers finds the ring's layer from its metadata and decodes the
// participants' layer counters.
func (r *Ring) decodeLayers() {
	r.Layer = LayerRing
	g, upper, err := frame.ParseInfo(r.Info)
	if err != nil {
		return
	}
	r.Layer, r.Frame = LayerFrame, &g
	if s, ok, err := typed.ParseSchema(upper); err == nil && ok {
		r.Layer, r.Schema = LayerTyped, &s
	}
	r.Producer = r.layerStats(r.Stats.ProducerLayer, true)
	r.Producer.Bridge = r.producerBridge()
	for i := range r.Stats.Consumers {
		c := &r.Stats.Consumers[i]
		l := r.layerStats(c.Layer, false)
		l.Bridge = consumerBridge(c)
		r.Consumers = append(r.Consumers, *l)
	}
}

func (r *Ring) layerStats(slots [ring.LayerCounterSlots]uint64, producer bool) *LayerStats {
	var l LayerStats
	switch {
	case producer && r.Layer == LayerTyped:
		t := typed.ProducerStatsOf(slots)
		l.TypedProducer, l.FrameProducer = &t, &t.Frame
	case producer:
		f := frame.ProducerStatsOf(slots)
		l.FrameProducer = &f
	case r.Layer == LayerTyped:
		t := typed.ConsumerStatsOf(slots)
		l.TypedConsumer, l.FrameConsumer = &t, &t.Frame
	default:
		f := frame.ConsumerStatsOf(slots)
		l.FrameConsumer = &f
	}
	return &l
}

// List takes a snapshot of every ring in /dev/shm (the Shm backend) and
// of every file-backed ring directly inside each of dirs (the File
// backend), sorted by backend and name. Segments that are not rings are
// left out; rings it cannot read are listed as Unreadable. Names starting
// with a dot are creations in progress (a segment is created under a
// temporary name and renamed when ready) and are left out too.
func List(dirs ...string) ([]*Ring, error) {
	var out []*Ring
	names, err := ring.List()
	if err != nil && !errors.Is(err, shm.ErrUnsupported) {
		return nil, err
	}
	for _, n := range names {
		out = appendRing(out, ring.Shm, n)
	}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return out, fmt.Errorf("snapshot: list %s: %w", d, err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				out = appendRing(out, ring.File, filepath.Join(d, e.Name()))
			}
		}
	}
	slices.SortFunc(out, func(a, b *Ring) int {
		return strings.Compare(a.Backend+"\x00"+a.Name, b.Backend+"\x00"+b.Name)
	})
	return out, nil
}

func appendRing(out []*Ring, b ring.Backend, name string) []*Ring {
	if strings.HasPrefix(filepath.Base(name), ".") {
		return out
	}
	r, err := Take(b, name)
	switch {
	case err == nil:
		return append(out, r)
	case errors.Is(err, ErrNotRing), errors.Is(err, ring.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return out // not a ring, or gone since the directory was read
	}
	return append(out, &Ring{Name: name, Backend: b.String(), Path: shm.Path(b, name), Taken: time.Now(),
		State: Unreadable, Err: err, Reason: reason(err)})
}
