package bridge

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/myelon-go/myelon/frame"
	"golang.org/x/sys/unix"
)

// Receipts: what a JetStream inbound bridge wrote into its ring, kept where
// a successor finds it after a SIGKILL, so that the messages written but
// not yet acknowledged to JetStream, which come again, are not written
// twice.
//
// The ring write is the commit; the receipt file can only record around
// it. Before a write the bridge records an intent (the origin's entry, the
// message's end, the frame id and length and sum it is about to have, and
// a ring sequence it must come after); after the write it moves the
// origin's end and clears the intent. A successor that finds an intent
// looks for that message in the ring (an observer from the recorded
// sequence): found, the write happened. The ring is the judge, so a kill
// between any two steps leaves nothing ambiguous, except when the ring
// has already overwritten the place the message would be (other producers
// wrote a whole ring since): then the message is written again, logged
// and counted in InboundStats.Errors. The message is recognised by its
// frame id, kind, flags, length and CRC-32C after the recorded place: a
// message of another producer of the ring that matched all five in that
// stretch would be taken for it.
//
// One file per ring and durable consumer, mapped shared: stores into it
// survive the process at once. An exclusive flock keeps a second bridge
// off it.

const (
	receiptMagic   = 0x3130_4e49_5242_594d // "MYBRIN01", little-endian
	receiptOrigins = 64                    // origins remembered; the least recently written is forgotten first
	receiptNameMax = 488                   // bytes of an origin name
)

// receiptIntent is the write in progress.
type receiptIntent struct {
	active atomic.Uint64 // 1 while rec describes a write in progress
	rec    intent
}

// intent describes a message about to be written.
type intent struct {
	entry  uint64 // index in receiptFile.origins
	end    int64  // the message's end in its origin
	id     uint64 // frame id it gets
	after  int64  // ring sequence it must come after
	kind   uint8  // frame kind and flags
	flags  uint8
	length uint64 // payload bytes
	sum    uint64 // payload CRC-32C
}

// receiptOrigin is one origin's chain: the end of the last message written.
type receiptOrigin struct {
	used    atomic.Uint64 // 1 once name is complete
	end     atomic.Int64
	touched atomic.Uint64 // receiptFile.writes at its last write: the eviction order
	nameLen uint64
	name    [receiptNameMax]byte
}

type receiptFile struct {
	magic   atomic.Uint64
	epoch   atomic.Uint64 // of the ring the receipts are about
	writes  atomic.Uint64
	intent  receiptIntent
	origins [receiptOrigins]receiptOrigin
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// receipts is an open receipt file.
type receipts struct {
	f    *os.File
	mem  []byte
	r    *receiptFile
	path string
}

// receiptPath names the receipt file of ring and durable in dir.
func receiptPath(dir, ringName, durable string) string {
	clean := strings.NewReplacer("/", "_", string(os.PathSeparator), "_").Replace
	return filepath.Join(dir, "myelon-bridge-"+clean(ringName)+"-"+clean(durable)+".receipts")
}

// openReceipts opens (or creates) the receipt file at path, locked for
// this process.
func openReceipts(path string) (*receipts, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bridge: receipts: %w", err)
	}
	fail := func(err error) (*receipts, error) {
		f.Close()
		return nil, fmt.Errorf("bridge: receipts %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fail(ErrReceiptsInUse)
		}
		return fail(err)
	}
	size := int64(unsafe.Sizeof(receiptFile{}))
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	fresh := st.Size() == 0
	if st.Size() != size && !fresh {
		return fail(fmt.Errorf("%w: %d bytes, want %d", ErrReceiptsCorrupt, st.Size(), size))
	}
	if fresh {
		// Allocate the blocks now: a full file system fails here, not as a
		// SIGBUS on a later store.
		if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
			return fail(err)
		}
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(err)
	}
	rc := &receipts{f: f, mem: mem, r: (*receiptFile)(unsafe.Pointer(&mem[0])), path: path}
	switch rc.r.magic.Load() {
	case receiptMagic:
	case 0:
		if !fresh {
			rc.close()
			return nil, fmt.Errorf("bridge: receipts %s: %w: no magic", path, ErrReceiptsCorrupt)
		}
		rc.r.magic.Store(receiptMagic)
	default:
		rc.close()
		return nil, fmt.Errorf("bridge: receipts %s: %w: bad magic", path, ErrReceiptsCorrupt)
	}
	if err := rc.check(); err != nil {
		rc.close()
		return nil, fmt.Errorf("bridge: receipts %s: %w", path, err)
	}
	return rc, nil
}

// check validates what a predecessor (or anyone who can write the file)
// left: every index and length is used to address memory.
func (rc *receipts) check() error {
	if in := &rc.r.intent; in.active.Load() != 0 && in.rec.entry >= receiptOrigins {
		return fmt.Errorf("%w: intent names origin %d", ErrReceiptsCorrupt, in.rec.entry)
	}
	for i := range rc.r.origins {
		if o := &rc.r.origins[i]; o.used.Load() != 0 && o.nameLen > receiptNameMax {
			return fmt.Errorf("%w: origin %d name of %d bytes", ErrReceiptsCorrupt, i, o.nameLen)
		}
	}
	return nil
}

// forRing makes the receipts about the ring of this epoch: a new ring
// holds none of what the old one was given, so they start empty (and the
// messages written to the old ring and not acknowledged are written again
// into the new one). It reports whether they were reset.
func (rc *receipts) forRing(epoch uint64) bool {
	if rc.r.epoch.Load() == epoch {
		return false
	}
	rc.r.intent.active.Store(0)
	for i := range rc.r.origins {
		rc.r.origins[i].used.Store(0)
	}
	rc.r.epoch.Store(epoch)
	return true
}

// chains returns every origin's last written end, by origin name.
func (rc *receipts) chains() map[string]*chain {
	m := map[string]*chain{}
	for i := range rc.r.origins {
		o := &rc.r.origins[i]
		if o.used.Load() != 0 && o.end.Load() >= 0 { // -1: taken, nothing written yet
			m[string(o.name[:o.nameLen])] = &chain{last: o.end.Load(), entry: i}
		}
	}
	return m
}

// entry returns origin's entry, taking a free one or the least recently
// written if it has none (-1 if the name does not fit: that origin goes
// without receipts).
func (rc *receipts) entry(origin string, last int64) int {
	if len(origin) > receiptNameMax {
		return -1
	}
	victim := 0
	for i := range rc.r.origins {
		o := &rc.r.origins[i]
		if o.used.Load() != 0 && string(o.name[:o.nameLen]) == origin {
			o.end.Store(last)
			return i
		}
	}
	for i := range rc.r.origins {
		o := &rc.r.origins[i]
		if o.used.Load() == 0 {
			victim = i
			break
		}
		if o.touched.Load() < rc.r.origins[victim].touched.Load() {
			victim = i
		}
	}
	o := &rc.r.origins[victim]
	o.used.Store(0) // a kill from here on leaves the entry free
	o.nameLen = uint64(copy(o.name[:], origin))
	o.end.Store(last)
	o.touched.Store(rc.r.writes.Load())
	o.used.Store(1)
	return victim
}

// begin records the intent to write the message that ends at end in
// entry's origin.
func (rc *receipts) begin(entry int, end int64, id uint64, after int64, kind, flags uint8, payload []byte) {
	in := &rc.r.intent
	in.rec = intent{entry: uint64(entry), end: end, id: id, after: after, kind: kind, flags: flags,
		length: uint64(len(payload)), sum: uint64(crc32.Checksum(payload, castagnoli))}
	in.active.Store(1)
}

// commit records that the intended message is in the ring.
func (rc *receipts) commit() {
	in := &rc.r.intent
	o := &rc.r.origins[in.rec.entry]
	o.end.Store(in.rec.end)
	o.touched.Store(rc.r.writes.Add(1))
	in.active.Store(0)
}

// abort records that the intended write failed: nothing is in the ring.
func (rc *receipts) abort() { rc.r.intent.active.Store(0) }

// pending returns a predecessor's unresolved intent, if any.
func (rc *receipts) pending() (intent, bool) {
	in := &rc.r.intent
	if in.active.Load() == 0 || rc.r.origins[in.rec.entry].end.Load() >= in.rec.end {
		return intent{}, false
	}
	return in.rec, true
}

// matches reports whether a message in the ring is the intended one.
func (in *intent) matches(m frame.Meta, payload []byte) bool {
	return m.ID == in.id && m.Seq > in.after && m.Kind == in.kind && m.Flags == in.flags && uint64(len(payload)) == in.length &&
		uint64(crc32.Checksum(payload, castagnoli)) == in.sum
}

func (rc *receipts) close() error {
	err := unix.Munmap(rc.mem)
	if cerr := rc.f.Close(); err == nil {
		err = cerr
	}
	return err
}
