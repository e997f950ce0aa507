package frame

// Message checksums across processes: a scribbler process corrupts payload
// bytes of published, unread messages in the shared segment; the consumer
// process gets a checksum error for exactly those messages and reads every
// other one intact.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
)

const (
	scribbleMessages = 12
	scribbleCapacity = 128 // payload bytes per frame
)

// scribbleVictims maps the ids of the messages the scribbler damages to
// their sizes: one single-frame, one spanning three frames (damaged in
// its second frame), one whose damage is in its last frame.
var scribbleVictims = map[uint64]int{4: 60, 7: 3*scribbleCapacity - 20, 10: 2*scribbleCapacity + 50}

// scribbleMarker is a 16-byte pattern written into a victim's payload at
// the offset where the scribbler flips the next byte.
func scribbleMarker(id uint64) []byte { return fmt.Appendf(nil, "<<VICTIM-%06d>>", id) }

// scribbleOffset is where in a victim's payload the marker starts.
func scribbleOffset(id uint64) int {
	n := scribbleVictims[id]
	switch id {
	case 7:
		return scribbleCapacity + 30 // the second frame
	case 10:
		return n - 20 // the last frame
	}
	return 10
}

// scribblePayload is message id's payload: self-checking bytes, with the
// marker in a victim.
func scribblePayload(id uint64) []byte {
	n, victim := scribbleVictims[id]
	if !victim {
		n = int(id * 37 % 300)
	}
	b := payloadFor(id, n)
	if victim {
		copy(b[scribbleOffset(id):], scribbleMarker(id))
	}
	return b
}

// scribbleResult is what the consumer saw, message by message.
type scribbleResult struct {
	Delivered []uint64 // ids delivered, in order
	Bad       []string // delivered messages whose bytes were wrong
	Checksum  []uint64 // ids reported with ReasonChecksum
	Other     []string // any other error
	End       string
}

var (
	scribbleConsumerRole = childtest.Register("frame.checksum-consumer", func(t *testing.T, ch *childtest.Child, a childArgs) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := Attach(ctx, a.Ring, ConsumerConfig{ID: a.ID, Checksum: true, Wait: ring.Block})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ch.Say("attached")
		ch.Await("go")
		var r scribbleResult
		dst := make([]byte, 4*scribbleCapacity)
		for {
			n, m, err := c.Recv(ctx, dst)
			var pe *ProtocolError
			switch {
			case err == nil:
				r.Delivered = append(r.Delivered, m.ID)
				if !bytes.Equal(dst[:n], scribblePayload(m.ID)) {
					r.Bad = append(r.Bad, fmt.Sprintf("id %d: %d bytes differ from what was sent", m.ID, n))
				}
				continue
			case errors.Is(err, ErrChecksum) && errors.As(err, &pe) && pe.Reason == ReasonChecksum && errors.Is(err, ErrProtocol):
				r.Checksum = append(r.Checksum, pe.ID)
				continue
			case errors.Is(err, ErrEndOfStream):
				r.End = "end of stream"
			default:
				r.Other = append(r.Other, err.Error())
			}
			break
		}
		if st := c.Stats(); st.ChecksumErrors != uint64(len(r.Checksum)) {
			r.Other = append(r.Other, fmt.Sprintf("Stats.ChecksumErrors %d, %d reported", st.ChecksumErrors, len(r.Checksum)))
		}
		ch.Result(r)
	})

	// The scribbler maps the segment's file itself, as any process of the
	// ring's user can, finds each victim's marker in the slots and flips
	// the byte after it.
	scribblerRole = childtest.Register("frame.scribbler", func(t *testing.T, ch *childtest.Child, a childArgs) {
		f, err := os.OpenFile("/dev/shm/"+a.Ring, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		mem, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Munmap(mem)
		for id := range scribbleVictims {
			mark := scribbleMarker(id)
			i := bytes.Index(mem, mark)
			if i < 0 || bytes.Contains(mem[i+1:], mark) {
				t.Fatalf("marker of message %d found %d times, want once", id, bytes.Count(mem, mark))
			}
			mem[i+len(mark)] ^= 0x5a
		}
		ch.Say("scribbled")
	})
)

// TestFrame_Process_ChecksumScribbler: the test process creates a
// checksummed ring and sends 12 messages to a consumer process that waits
// before reading; a scribbler process then flips one payload byte of
// three of them in the shared segment (one single-frame message, one
// damaged in the middle frame of three, one in its last frame). The
// consumer gets a checksum error naming each of the three, and every other
// message, in order and intact, then end of stream.
func TestFrame_Process_ChecksumScribbler(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := ring.PortableName("fsum")
	p, err := Create(name, Config{PayloadCapacity: scribbleCapacity, Capacity: 64, Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	opts := childtest.Options{Life: 30 * time.Second, Timeout: 30 * time.Second}
	cons := scribbleConsumerRole.Start(t, childArgs{Ring: name, ID: "sum"}, opts)
	cons.Expect("attached")
	for id := uint64(1); id <= scribbleMessages; id++ {
		if got := mustSend(t, p, 3, scribblePayload(id)); got != id {
			t.Fatalf("sent message %d with id %d", id, got)
		}
	}
	scr := scribblerRole.Start(t, childArgs{Ring: name}, opts)
	scr.Expect("scribbled")
	scr.Wait()
	cons.Send("go")
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	var r scribbleResult
	cons.Result(&r)
	cons.Wait()
	var want, wantBad []uint64
	for id := uint64(1); id <= scribbleMessages; id++ {
		if _, victim := scribbleVictims[id]; victim {
			wantBad = append(wantBad, id)
		} else {
			want = append(want, id)
		}
	}
	if fmt.Sprint(r.Delivered) != fmt.Sprint(want) || fmt.Sprint(r.Checksum) != fmt.Sprint(wantBad) ||
		len(r.Bad) != 0 || len(r.Other) != 0 || r.End != "end of stream" {
		t.Fatalf("consumer: delivered %v (want %v), checksum errors for %v (want %v), wrong bytes %v, other errors %v, end %q",
			r.Delivered, want, r.Checksum, wantBad, r.Bad, r.Other, r.End)
	}
}
