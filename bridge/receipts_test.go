package bridge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// receiptRig is an inbound bridge's ring side without NATS: a heap frame
// ring with the bridge as its producer, and the receipt file.
type receiptRig struct {
	t     *testing.T
	in    *Inbound
	path  string
	entry int // origin "o"'s receipt entry, -1 until the first begin
}

func newReceiptRig(t *testing.T, capacity int) *receiptRig {
	t.Helper()
	name := ring.PortableName("rcpt")
	p, err := frame.Create(name, frame.Config{Backend: ring.Heap, Capacity: capacity, PayloadCapacity: 64, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	in := &Inbound{cfg: InboundConfig{Ring: name, StateDir: t.TempDir(), Durable: "d"}, prod: p, backend: ring.Heap,
		log: slog.New(slog.DiscardHandler), chains: map[string]*chain{}}
	r := &receiptRig{t: t, in: in, path: receiptPath(in.cfg.StateDir, name, "d"), entry: -1}
	r.open()
	return r
}

// open opens the receipts as a starting bridge does.
func (r *receiptRig) open() {
	r.t.Helper()
	if err := r.in.openReceipts(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// kill drops the receipts as a killed bridge does: nothing more written.
func (r *receiptRig) kill() {
	r.t.Helper()
	if err := r.in.rc.close(); err != nil {
		r.t.Fatal(err)
	}
	r.in.rc = nil
}

// begin records the intent to write payload as the end-th message of
// origin "o".
func (r *receiptRig) begin(end int64, payload []byte) {
	if r.entry < 0 {
		r.entry = r.in.rc.entry("o", -1)
	}
	r.in.rc.begin(r.entry, end, r.in.prod.LastID()+1, r.in.after, 0, 0, payload)
}

func (r *receiptRig) send(payload []byte) {
	r.t.Helper()
	if _, err := r.in.prod.Send(context.Background(), 0, payload); err != nil {
		r.t.Fatal(err)
	}
}

// last returns origin "o"'s chain end after a restart, -1 if unknown.
func (r *receiptRig) last() int64 {
	if c := r.in.chains["o"]; c != nil {
		return c.last
	}
	return -1
}

// TestReceipts_SettleAnInterruptedWrite kills the bridge (drops its
// receipts) between the steps of a write and checks what its successor
// concludes from the ring.
func TestReceipts_SettleAnInterruptedWrite(t *testing.T) {
	msg := []byte("the same payload every time")
	t.Run("written, not committed", func(t *testing.T) {
		r := newReceiptRig(t, 64)
		r.begin(7, msg)
		r.send(msg)
		r.kill()
		r.open()
		if r.last() != 7 {
			t.Fatalf("chain end %d, want 7: the message is in the ring", r.last())
		}
	})
	t.Run("not written", func(t *testing.T) {
		r := newReceiptRig(t, 64)
		r.begin(3, msg) // an earlier message with the same bytes
		r.send(msg)
		r.in.rc.commit()
		r.in.after = r.in.prod.LastSeq()
		r.begin(4, msg)
		r.kill()
		r.open()
		if r.last() != 3 {
			t.Fatalf("chain end %d, want 3: message 4 never reached the ring", r.last())
		}
	})
	t.Run("another producer's message with the same id and bytes, before", func(t *testing.T) {
		r := newReceiptRig(t, 64)
		other, err := frame.Join(context.Background(), r.in.cfg.Ring, frame.JoinConfig{Backend: ring.Heap})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.Send(context.Background(), 0, msg); err != nil { // id 1
			t.Fatal(err)
		}
		r.in.after = other.LastSeq()
		r.begin(6, msg) // id 1 too: a bridge restarted counts from 1
		r.kill()
		r.open()
		if r.last() != -1 {
			t.Fatalf("chain end %d: a message before the recorded place was taken for the write", r.last())
		}
	})
	t.Run("overwritten: written again and counted", func(t *testing.T) {
		r := newReceiptRig(t, 8)
		r.begin(9, msg)
		for range 20 { // no consumer gates: the ring laps the intent's place
			r.send([]byte("other"))
		}
		r.kill()
		r.open()
		if r.last() != -1 || r.in.stats.Errors != 1 {
			t.Fatalf("chain end %d, errors %d: want unknown, counted once", r.last(), r.in.stats.Errors)
		}
	})
	t.Run("a new ring", func(t *testing.T) {
		r := newReceiptRig(t, 64)
		r.begin(2, msg)
		r.send(msg)
		r.in.rc.commit()
		r.kill()
		r.in.rc = nil
		r.in.prod.Close()
		p, err := frame.Create(r.in.cfg.Ring, frame.Config{Backend: ring.Heap, Capacity: 64, PayloadCapacity: 64})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		r.in.prod = p
		r.open()
		if r.last() != -1 {
			t.Fatalf("chain end %d from the old ring's receipts", r.last())
		}
	})
}

// TestReceipts_Refused: a second bridge on the same receipts, and files
// that are not receipts, get typed errors.
func TestReceipts_Refused(t *testing.T) {
	r := newReceiptRig(t, 64)
	if _, err := openReceipts(r.path); !errors.Is(err, ErrReceiptsInUse) {
		t.Fatalf("second open: %v, want ErrReceiptsInUse", err)
	}
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("not receipts"), 0o600)
	if _, err := openReceipts(short); !errors.Is(err, ErrReceiptsCorrupt) {
		t.Fatalf("short file: %v, want ErrReceiptsCorrupt", err)
	}
	r.kill()
	good, _ := os.ReadFile(r.path)
	for name, mutate := range map[string]func(b []byte){
		"bad magic": func(b []byte) { b[0] ^= 0xff },
		"intent out of range": func(b []byte) {
			copy(b[24:], []byte{1, 0, 0, 0, 0, 0, 0, 0})       // intent.active
			copy(b[32:], []byte{0xff, 0xff, 0, 0, 0, 0, 0, 0}) // intent.rec.entry
		},
	} {
		b := bytes.Clone(good)
		mutate(b)
		path := filepath.Join(dir, name)
		os.WriteFile(path, b, 0o600)
		if _, err := openReceipts(path); !errors.Is(err, ErrReceiptsCorrupt) {
			t.Errorf("%s: %v, want ErrReceiptsCorrupt", name, err)
		}
	}
}

// TestReceipts_EvictLeastRecentlyWritten: with every entry taken, a new
// origin takes the one written longest ago.
func TestReceipts_EvictLeastRecentlyWritten(t *testing.T) {
	r := newReceiptRig(t, 64)
	rc := r.in.rc
	for i := range receiptOrigins {
		e := rc.entry(string(rune('A'+i%26))+time.Duration(i).String(), -1)
		rc.begin(e, int64(i), 0, 0, 0, 0, nil)
		rc.commit()
	}
	rc.begin(rc.entry(string(rune('A'))+time.Duration(0).String(), 0), 100, 0, 0, 0, 0, nil) // the oldest written again
	rc.commit()
	e := rc.entry("new", -1)
	if got := string(rc.r.origins[e].name[:rc.r.origins[e].nameLen]); got != "new" || e != 1 {
		t.Fatalf("new origin took entry %d (%q), want 1, the least recently written", e, got)
	}
	if _, ok := rc.chains()["B1ns"]; ok {
		t.Fatal("the evicted origin is still listed")
	}
}
