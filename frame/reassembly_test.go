package frame

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// receivers are the receive paths a reassembly test runs through, each
// returning an owned copy of the message.
var receivers = []struct {
	name string
	try  func(c *Consumer, call int) ([]byte, Meta, error)
}{
	{"TryRecv/big-dst", func(c *Consumer, call int) ([]byte, Meta, error) {
		dst := make([]byte, 1<<12)
		n, m, err := c.TryRecv(dst)
		return dst[:n], m, err
	}},
	{"TryRecv/new-dst-each-call", func(c *Consumer, call int) ([]byte, Meta, error) {
		// A different buffer on every call: a message assembled in the
		// caller's buffer must move out before the call returns.
		dst := make([]byte, 1<<12+call)
		for i := range dst {
			dst[i] = 0xee
		}
		n, m, err := c.TryRecv(dst)
		return dst[:n], m, err
	}},
	{"TryRead", func(c *Consumer, call int) ([]byte, Meta, error) {
		var out []byte
		var meta Meta
		err := c.TryRead(func(m Meta, p []byte) error { out, meta = bytes.Clone(p), m; return nil })
		return out, meta, err
	}},
	{"TryProcess", func(c *Consumer, call int) ([]byte, Meta, error) {
		var out []byte
		var meta Meta
		_, err := c.TryProcess(1, func(m Meta, p []byte) error { out, meta = bytes.Clone(p), m; return nil })
		return out, meta, err
	}},
}

// TestReassembly_EverySplit publishes a message's frames in two parts, for
// every fragment boundary, and for sizes around each multiple of the frame
// capacity: before the last frame is visible a Try receive must report
// ErrEmpty and keep the partial message; after, it must deliver it intact.
// A small message follows to show the state is clean afterwards.
func TestReassembly_EverySplit(t *testing.T) {
	const capacity = 16
	sizes := append(sizesAround(capacity, 5), 7*capacity+3)
	for _, rc := range receivers {
		t.Run(rc.name, func(t *testing.T) {
			for _, size := range sizes {
				t.Run(sizeName(size), func(t *testing.T) {
					g := testGeometry(capacity, 1<<12, 1<<20)
					frames := int(g.frames(uint64(size)))
					for split := 1; split <= frames; split++ {
						f, p, c := fakePair(g)
						f.auto = false
						want := payloadFor(uint64(size), size)
						id := mustSend(t, p, 3, want)
						tail := payloadFor(99, 5)
						mustSend(t, p, 4, tail)
						call := 0
						f.published = int64(split) - 1
						if split < frames {
							if _, _, err := rc.try(c, call); err != ErrEmpty {
								t.Fatalf("split %d/%d: %v, want ErrEmpty", split, frames, err)
							}
							call++
						}
						f.published = f.written
						got, m, err := rc.try(c, call)
						if err != nil {
							t.Fatalf("split %d/%d: %v", split, frames, err)
						}
						if !bytes.Equal(got, want) || m.ID != id || m.Kind != 3 || m.Seq != 0 {
							t.Fatalf("split %d/%d: got %d bytes %+v, want %d bytes id %d frames %d", split, frames, len(got), m, size, id, frames)
						}
						got, m, err = rc.try(c, call+1)
						if err != nil || !bytes.Equal(got, tail) || m.Kind != 4 {
							t.Fatalf("split %d/%d: message after: %v %+v", split, frames, err, m)
						}
						if _, _, err := rc.try(c, call+2); err != ErrEmpty {
							t.Fatalf("split %d/%d: after both: %v, want ErrEmpty", split, frames, err)
						}
						st := c.stats
						if st.Messages != 2 || st.ReassemblyErrors != 0 || st.Fragments != uint64(frames+1) || st.Bytes != uint64(size+5) {
							t.Fatalf("split %d/%d: stats %+v", split, frames, st)
						}
					}
				})
			}
		})
	}
}

// TestReassembly_FrameByFrame makes frames visible one at a time.
func TestReassembly_FrameByFrame(t *testing.T) {
	const capacity = 8
	for _, size := range sizesAround(capacity, 4) {
		t.Run(sizeName(size), func(t *testing.T) {
			g := testGeometry(capacity, 1<<10, 1<<20)
			f, p, c := fakePair(g)
			f.auto = false
			want := payloadFor(uint64(size), size)
			mustSend(t, p, 0, want)
			frames := int(g.frames(uint64(size)))
			dst := make([]byte, size)
			for k := 0; k < frames; k++ {
				f.published = int64(k)
				n, _, err := c.TryRecv(dst)
				if k < frames-1 {
					if err != ErrEmpty {
						t.Fatalf("frame %d/%d visible: %v, want ErrEmpty", k+1, frames, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(dst[:n], want) {
					t.Fatalf("complete: n=%d err=%v", n, err)
				}
			}
		})
	}
}

// frameBytes builds a raw slot.
func frameBytes(h Header, payload []byte) []byte {
	b := make([]byte, HeaderSize+len(payload))
	h.Encode(b)
	copy(b[HeaderSize:], payload)
	return b
}

// TestReassembly_HostileSequences feeds inconsistent frame sequences and
// expects one typed, counted error per broken message, then delivery of
// the next good message (resynchronisation).
func TestReassembly_HostileSequences(t *testing.T) {
	const capacity = 8
	full := bytes.Repeat([]byte{'x'}, capacity)
	mk := func(id uint64, msgLen, index uint32, kind uint8) []byte {
		g := testGeometry(capacity, 1<<10, 1)
		n := uint32(g.frames(uint64(msgLen)))
		fl := uint32(capacity)
		var flags uint8
		if index == 0 {
			flags |= FlagFirst
		}
		if index == n-1 {
			flags |= FlagLast
			fl = msgLen - index*capacity
		}
		return frameBytes(Header{FrameLen: fl, MsgLen: msgLen, Index: index, Kind: kind, Flags: flags, ID: id}, full[:fl])
	}
	type want struct {
		reason Reason
		field  string
	}
	cases := []struct {
		name     string
		frames   [][]byte
		errs     []want
		skipped  uint64
		late     uint64
		localMax int
	}{
		{name: "late join: continuations before any first frame are skipped quietly",
			frames: [][]byte{mk(1, 20, 1, 0), mk(1, 20, 2, 0)}, late: 2},
		{name: "continuation without first frame",
			frames: [][]byte{mk(1, 4, 0, 0), mk(2, 20, 1, 0), mk(2, 20, 2, 0)},
			errs:   []want{{ReasonNoFirst, "index"}}, skipped: 1},
		{name: "wrong fragment index",
			frames: [][]byte{mk(1, 20, 0, 0), mk(1, 20, 2, 0)},
			errs:   []want{{ReasonIndex, "index"}}},
		{name: "id changes mid-message",
			frames: [][]byte{mk(1, 20, 0, 0), mk(2, 20, 1, 0), mk(1, 20, 2, 0)},
			errs:   []want{{ReasonMismatch, "id"}}, skipped: 1},
		{name: "message length changes mid-message",
			frames: [][]byte{mk(1, 20, 0, 0), mk(1, 24, 1, 0)},
			errs:   []want{{ReasonMismatch, "msg_len"}}},
		{name: "kind changes mid-message",
			frames: [][]byte{mk(1, 20, 0, 0), mk(1, 20, 1, 9)},
			errs:   []want{{ReasonMismatch, "kind"}}},
		{name: "new message before the last one completed",
			frames: [][]byte{mk(1, 20, 0, 0), mk(1, 20, 1, 0), mk(2, 3, 0, 0)},
			errs:   []want{{ReasonTruncated, "index"}}},
		{name: "frame length beyond capacity",
			frames: [][]byte{frameBytes(Header{FrameLen: capacity + 1, MsgLen: capacity + 1, Flags: flagsSingle, ID: 1}, nil)},
			errs:   []want{{ReasonHeader, "frame_len"}}},
		{name: "message length beyond ring maximum",
			frames: [][]byte{frameBytes(Header{FrameLen: capacity, MsgLen: 1<<10 + 1, Flags: FlagFirst, ID: 1}, full), mk(1, 1<<10+1, 1, 0)},
			// Both frames fail the header check on their own: two errors.
			errs: []want{{ReasonHeader, "msg_len"}, {ReasonHeader, "msg_len"}}},
		{name: "message beyond the consumer's own limit is skipped",
			frames: [][]byte{mk(1, 30, 0, 0), mk(1, 30, 1, 0), mk(1, 30, 2, 0), mk(1, 30, 3, 0)},
			errs:   []want{{ReasonTooLarge, "msg_len"}}, skipped: 3, localMax: 16},
		{name: "garbage header",
			frames: [][]byte{bytes.Repeat([]byte{0xff}, HeaderSize+capacity)},
			errs:   []want{{ReasonHeader, "flags"}}},
		{name: "zeroed slot",
			frames: [][]byte{make([]byte, HeaderSize)},
			errs:   []want{{ReasonHeader, "id"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := testGeometry(capacity, 1<<10, 1<<20)
			if tc.localMax != 0 {
				g.maxMsg = uint64(tc.localMax)
			}
			f, p, c := fakePair(g)
			for _, fr := range tc.frames {
				f.appendRaw(fr)
			}
			p.id = 100
			good := payloadFor(7, 13)
			mustSend(t, p, 42, good)
			dst := make([]byte, 64)
			var errs []want
			for i := 0; ; i++ {
				if i > 20 {
					t.Fatal("no progress")
				}
				n, m, err := c.TryRecv(dst)
				var pe *ProtocolError
				if errors.As(err, &pe) {
					if !errors.Is(err, ErrProtocol) || pe.Seq < 0 || pe.Seq >= int64(len(f.slots)) {
						t.Fatalf("bad protocol error %v", err)
					}
					errs = append(errs, want{pe.Reason, pe.Field})
					continue
				}
				if err != nil {
					t.Fatalf("TryRecv: %v", err)
				}
				if m.Kind == 42 {
					if !bytes.Equal(dst[:n], good) || m.ID != 101 {
						t.Fatalf("good message corrupted: %+v", m)
					}
					break
				}
			}
			if fmt.Sprint(errs) != fmt.Sprint(tc.errs) {
				t.Fatalf("errors %v, want %v", errs, tc.errs)
			}
			st := c.stats
			if st.ReassemblyErrors != uint64(len(tc.errs)) || st.SkippedFrames != tc.skipped || st.LateJoinFrames != tc.late {
				t.Fatalf("stats %+v, want %d errors, %d skipped, %d late", st, len(tc.errs), tc.skipped, tc.late)
			}
			if _, _, err := c.TryRecv(dst); err != ErrEmpty {
				t.Fatalf("after: %v, want ErrEmpty", err)
			}
		})
	}
}

// TestReassembly_ProducerAbortMidMessage: a chunked send whose claim fails
// after its first chunk leaves a truncated message; the consumer reports
// ReasonTruncated when the next message starts, then delivers it.
func TestReassembly_ProducerAbortMidMessage(t *testing.T) {
	g := testGeometry(8, 1<<10, 4) // chunks of 2 frames
	f, p, c := fakePair(g)
	f.failAt = 3
	if _, err := p.Send(context.Background(), 0, payloadFor(1, 50)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want the claim's error", err)
	}
	if st := p.stats; st.Aborted != 1 || st.Messages != 0 || p.LastID() != 1 {
		t.Fatalf("producer stats %+v, last id %d", st, p.LastID())
	}
	f.failAt = -1
	want := payloadFor(2, 3)
	mustSend(t, p, 0, want)
	// Frames 0-1 (the first chunk) are published, the rest never will be;
	// the next message starts at sequence 2.
	dst := make([]byte, 64)
	_, _, err := c.TryRecv(dst)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Reason != ReasonTruncated || pe.ID != 1 {
		t.Fatalf("second: %v, want ReasonTruncated for id 1", err)
	}
	n, m, err := c.TryRecv(dst)
	if err != nil || !bytes.Equal(dst[:n], want) || m.ID != 2 {
		t.Fatalf("third: %v %+v", err, m)
	}
}

// FuzzReassemble feeds arbitrary frame sequences (valid messages, frames
// built from fuzzed fields, raw garbage) interleaved with receive calls of
// every kind. The consumer must never panic, must return only typed
// errors, must deliver only messages within its limits, and must count
// every protocol error it returns.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{7, 3, 0, 0, 20, 3, 0, 0, 40, 3, 3, 3})
	f.Add([]byte{15, 7, 1, 0, 200, 1, 0, 0, 2, 0, 0, 1, 0, 0, 0, 3, 3})
	f.Add([]byte{3, 2, 0, 1, 1, 1, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 2, 0xff, 0xff, 3})
	seed := make([]byte, 0, 256)
	seed = append(seed, 9, 4, 0)
	for i := range 40 {
		seed = append(seed, byte(i%4), byte(i*37), byte(i*11), byte(i*5), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		capacity := 1 + int(data[0]%32)
		maxMsg := capacity*(1+int(data[1]%8)) + int(data[1]>>4)
		g := testGeometry(capacity, maxMsg, 1<<20)
		fr, p, c := fakePair(g)
		if data[2]&1 != 0 {
			g.maxMsg = uint64(maxMsg / 2) // a consumer limit below the ring's
			c.g.maxMsg = g.maxMsg
		}
		data = data[3:]
		next := func(n int) []byte {
			n = min(n, len(data))
			b := data[:n]
			data = data[n:]
			return b
		}
		var protoErrs uint64
		check := func(m Meta, payload []byte, err error) {
			var pe *ProtocolError
			switch {
			case err == nil:
				if uint64(len(payload)) > g.maxMsg || m.ID == 0 || m.Seq < 0 || m.Seq > fr.published {
					t.Fatalf("delivered %d bytes with meta %+v (limit %d)", len(payload), m, g.maxMsg)
				}
			case errors.As(err, &pe):
				protoErrs++
				if !errors.Is(err, ErrProtocol) || pe.Reason < ReasonHeader || pe.Reason > ReasonTooLarge || pe.Seq < 0 || pe.Seq > fr.published {
					t.Fatalf("bad protocol error %v", err)
				}
			case errors.Is(err, ErrEmpty), errors.Is(err, ErrShortBuffer):
			default:
				t.Fatalf("untyped error %v", err)
			}
		}
		recvOnce := func(op byte) {
			switch op % 4 {
			case 0:
				dst := make([]byte, int(op>>2)*capacity/8)
				n, m, err := c.TryRecv(dst)
				if err == nil {
					check(m, dst[:n], nil)
				} else {
					check(m, nil, err)
				}
			case 1:
				err := c.TryRead(func(m Meta, b []byte) error { check(m, b, nil); return nil })
				if err != nil {
					check(Meta{}, nil, err)
				}
			case 2:
				_, err := c.TryProcess(int(op>>2), func(m Meta, b []byte) error { check(m, b, nil); return nil })
				if err != nil {
					check(Meta{}, nil, err)
				}
			case 3:
				b, m, err := c.RecvAppend(context.Background(), nil)
				if err == nil {
					check(m, b, nil)
				} else if !errors.Is(err, context.DeadlineExceeded) {
					check(m, nil, err)
				}
			}
		}
		for len(data) > 0 {
			op := next(1)[0]
			switch op % 4 {
			case 0: // a valid message from the real encoder
				sz := next(1)
				if len(sz) == 0 {
					return
				}
				size := int(sz[0]) * maxMsg / 255
				if _, err := p.Send(context.Background(), 0xa5, payloadFor(uint64(op), size)); err != nil {
					t.Fatalf("Send(%d): %v", size, err)
				}
			case 1: // a frame from fuzzed fields, mostly plausible
				fl := next(12)
				if len(fl) < 12 {
					return
				}
				h := Header{
					FrameLen: uint32(fl[0]) % uint32(capacity+2),
					MsgLen:   uint32(binary.LittleEndian.Uint16(fl[1:])) % uint32(maxMsg+2),
					Index:    uint32(fl[3] % 8),
					Kind:     fl[4],
					Flags:    fl[5] & 0x0f,
					ID:       uint64(fl[6] % 4),
					Sent:     int64(fl[7] % 2),
				}
				if fl[8]&1 == 0 { // make the flags and length consistent
					n := uint32(g.frames(uint64(h.MsgLen)))
					h.Index %= n
					h.Flags &= FlagStamped
					if h.Index == 0 {
						h.Flags |= FlagFirst
					}
					h.FrameLen = uint32(capacity)
					if h.Index == n-1 {
						h.Flags |= FlagLast
						h.FrameLen = h.MsgLen - h.Index*uint32(capacity)
					}
				}
				fr.appendRaw(frameBytes(h, next(int(fl[9]))))
			case 2: // raw bytes
				fr.appendRaw(next(int(op >> 2)))
			case 3:
				recvOnce(op >> 2)
			}
		}
		// Drain: everything left must come out in bounded steps.
		for i := 0; ; i++ {
			if i > 4*len(fr.slots)+4 {
				t.Fatalf("drain does not terminate")
			}
			err := c.TryRead(func(m Meta, b []byte) error { check(m, b, nil); return nil })
			if err == ErrEmpty {
				break
			}
			if err != nil {
				check(Meta{}, nil, err)
			}
		}
		if fr.next != fr.published+1 {
			t.Fatalf("consumer released through %d, published %d", fr.next-1, fr.published)
		}
		if st := c.stats; st.ReassemblyErrors != protoErrs {
			t.Fatalf("ReassemblyErrors %d, returned %d", st.ReassemblyErrors, protoErrs)
		}
	})
}
