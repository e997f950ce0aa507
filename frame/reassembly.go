package frame

import "encoding/binary"

// Reassembly: a state machine that turns a sequence of frames into
// messages. It sees only slot contents and sequence numbers, never the
// ring, so it is tested and fuzzed alone (FuzzReassemble); Consumer drives
// it.
//
// States and what a frame does in each (F = a first frame, index 0;
// C = a continuation, index > 0; both already passed check):
//
//	idle        F single -> deliver in place      F multi -> assembling
//	            C -> ReasonNoFirst, resync
//	assembling  C with index next and matching fields -> append (deliver on LAST)
//	            C otherwise -> ReasonIndex or ReasonMismatch, drop partial, resync
//	            F -> ReasonTruncated, drop partial, idle; F is not consumed and
//	                 is read again as the next message's start
//	joining     C -> skip quietly (counted as LateJoinFrames)   F -> as idle
//	resync      C -> skip quietly (counted as SkippedFrames)    F -> as idle
//
// A frame that fails check is consumed with a ReasonHeader error and moves
// to resync (dropping any partial message): its own continuations, if any,
// are skipped quietly. So one broken message costs one error, and the
// consumer is back in step at the next first frame. A consumer starts in
// joining (it may attach, or resume its id, mid-message: not an error) and
// enters resync after a gap in the sequence (a lap, reported by the ring).
//
// The message being assembled lives in dst: the caller's buffer if one big
// enough was offered (Recv), else the internal buffer, which grows with the
// data actually received (so a hostile message length costs at most about
// twice the bytes really sent, and never more than the maximum message
// size) and is reused.

// asmState is the reassembler's state.
type asmState uint8

const (
	asmJoining asmState = iota
	asmIdle
	asmAssembling
	asmResync
)

// step is what a frame did.
type step uint8

const (
	stepMore      step = iota // consumed; message incomplete
	stepSkip                  // consumed and dropped (joining or resync)
	stepSingle                // a whole message in place; NOT consumed (see Consumer.consume)
	stepDone                  // consumed; message complete in dst
	stepError                 // consumed; error
	stepErrorKeep             // error about the message in progress; the frame is NOT consumed
)

// minBuf is the smallest internal buffer allocated.
const minBuf = 4096

type reassembler struct {
	g     *geometry
	state asmState
	cur   Header // header of the last frame pushed
	first Header // first frame of the message in progress
	seq   int64  // sequence of that first frame
	next  uint32 // expected fragment index
	off   int    // bytes assembled
	recv  int64  // receive time of the completed message
	sum   uint32 // checksummed rings: the sum in the completed message's last frame
	ready bool   // a complete message is in dst[:first.MsgLen]
	inExt bool   // dst is ext
	dst   []byte // where the message is assembled: buf or ext
	buf   []byte // internal buffer; never shrinks
	ext   []byte // a caller's buffer to assemble into, if large enough
	stats *ConsumerStats
}

func newReassembler(g *geometry, st *ConsumerStats) reassembler {
	return reassembler{g: g, stats: st, state: asmJoining}
}

// push feeds the frame in slot (sequence seq) to the reassembler.
func (r *reassembler) push(slot []byte, seq int64) (step, error) {
	if len(slot) < HeaderSize+int(r.g.cap)+r.g.trailer() {
		// Our own invariant (Attach checked the slot size): not input.
		panic("frame: slot smaller than header plus payload capacity (plus checksum)")
	}
	if r.state != asmAssembling && r.single(slot) {
		return stepSingle, nil
	}
	h := &r.cur
	readHeader(h, slot)
	if v, ok := r.g.check(h); !ok {
		r.drop(asmResync)
		return stepError, r.fail(&ProtocolError{Reason: ReasonHeader, Field: v.field, Rule: v.rule, Want: v.want, Got: v.got, Seq: seq, ID: h.ID})
	}
	if h.Index == 0 {
		if r.state == asmAssembling {
			// The message in progress will never complete.
			err := &ProtocolError{Reason: ReasonTruncated, Field: "index", Rule: "exactly", Want: uint64(r.next), Got: 0, Seq: seq, ID: r.first.ID}
			r.drop(asmIdle)
			return stepErrorKeep, r.fail(err)
		}
		r.state = asmIdle
		if uint64(h.MsgLen) > r.g.maxMsg {
			r.state = asmResync
			return stepError, r.fail(&ProtocolError{Reason: ReasonTooLarge, Field: "msg_len", Rule: "at most", Want: r.g.maxMsg, Got: uint64(h.MsgLen), Seq: seq, ID: h.ID})
		}
		if h.Flags&FlagLast != 0 {
			return stepSingle, nil
		}
		r.start(seq)
		return r.appendFrame(slot)
	}
	switch r.state {
	case asmJoining:
		r.stats.LateJoinFrames++
		return stepSkip, nil
	case asmResync:
		r.stats.SkippedFrames++
		return stepSkip, nil
	case asmIdle:
		r.state = asmResync
		return stepError, r.fail(&ProtocolError{Reason: ReasonNoFirst, Field: "index", Rule: "exactly", Want: 0, Got: uint64(h.Index), Seq: seq, ID: h.ID})
	}
	// Assembling: the continuation must be the next fragment of the same
	// message.
	f := &r.first
	var bad *ProtocolError
	switch {
	case h.ID != f.ID:
		bad = &ProtocolError{Reason: ReasonMismatch, Field: "id", Want: f.ID, Got: h.ID}
	case h.Index != r.next:
		bad = &ProtocolError{Reason: ReasonIndex, Field: "index", Want: uint64(r.next), Got: uint64(h.Index)}
	case h.MsgLen != f.MsgLen:
		bad = &ProtocolError{Reason: ReasonMismatch, Field: "msg_len", Want: uint64(f.MsgLen), Got: uint64(h.MsgLen)}
	case h.Kind != f.Kind:
		bad = &ProtocolError{Reason: ReasonMismatch, Field: "kind", Want: uint64(f.Kind), Got: uint64(h.Kind)}
	case h.UserFlags != f.UserFlags:
		bad = &ProtocolError{Reason: ReasonMismatch, Field: "user_flags", Want: uint64(f.UserFlags), Got: uint64(h.UserFlags)}
	case h.Flags&FlagStamped != f.Flags&FlagStamped || h.Sent != f.Sent:
		bad = &ProtocolError{Reason: ReasonMismatch, Field: "sent", Want: uint64(f.Sent), Got: uint64(h.Sent)}
	}
	if bad != nil {
		bad.Rule, bad.Seq = "exactly", seq
		if bad.Field == "id" {
			bad.ID = f.ID
		} else {
			bad.ID = h.ID
		}
		r.drop(asmResync)
		return stepError, r.fail(bad)
	}
	return r.appendFrame(slot)
}

// single is the fast path for the common frame: a whole message in one
// frame, valid on every rung of check, within the consumer's limit. It
// reads the header as four words (see header.go) and accepts it only if
// check would; anything else goes the general way. On success r.cur holds
// the header.
func (r *reassembler) single(slot []byte) bool {
	_ = slot[HeaderSize-1]
	le := binary.LittleEndian
	w0, w1 := le.Uint64(slot[0:]), le.Uint64(slot[8:])
	id, sent := le.Uint64(slot[16:]), le.Uint64(slot[24:])
	n := uint32(w0)
	flags := uint8(w1 >> 40)
	if n != uint32(w0>>32) || uint64(n) > r.g.cap || uint64(n) > r.g.maxMsg || // one frame, whole message, in limits
		uint32(w1) != 0 || w1>>56 != 0 || // index 0, reserved byte 0
		flags|FlagStamped != flagsSingle|FlagStamped || // FIRST|LAST, maybe STAMPED, nothing else
		id == 0 || flags&FlagStamped == 0 && sent != 0 {
		return false
	}
	h := &r.cur
	h.FrameLen, h.MsgLen, h.Index = n, n, 0
	h.Kind, h.Flags, h.UserFlags, h.Reserved = uint8(w1>>32), flags, uint8(w1>>48), 0
	h.ID, h.Sent = id, int64(sent)
	r.state = asmIdle
	return true
}

// start begins a multi-frame message with the first frame in r.cur.
func (r *reassembler) start(seq int64) {
	r.first, r.seq, r.next, r.off = r.cur, seq, 0, 0
	r.state = asmAssembling
	r.stats.MultiFrame++
	if n := int(r.cur.MsgLen); len(r.ext) >= n {
		r.dst, r.inExt = r.ext[:n], true
	} else {
		r.dst, r.inExt = r.buf, false
	}
}

// appendFrame copies the payload of r.cur (the fragment r.next of the
// message in progress, already checked) to dst.
func (r *reassembler) appendFrame(slot []byte) (step, error) {
	h := &r.cur
	n := int(h.FrameLen) // <= cap (check), and slot holds cap payload bytes
	need := r.off + n    // <= MsgLen: non-last fragments are exactly cap, the last the rest
	if need > len(r.dst) {
		r.grow(need)
	}
	copy(r.dst[r.off:need], slot[HeaderSize:HeaderSize+n])
	r.off = need
	r.next++
	r.stats.Fragments++
	if h.Flags&FlagLast == 0 {
		return stepMore, nil
	}
	if r.g.checksum {
		r.sum = r.g.sum(slot) // checked by verify once the caller has the message
	}
	r.dst = r.dst[:r.off]
	r.state, r.ready = asmIdle, true
	return stepDone, nil
}

// grow makes the internal buffer hold at least need bytes, doubling up to
// the message length, and moves the message there.
func (r *reassembler) grow(need int) {
	size := max(need, min(max(2*len(r.buf), minBuf), int(r.first.MsgLen)))
	if size > len(r.buf) {
		nb := alignedBytes(size)
		copy(nb, r.dst[:r.off])
		r.buf = nb
	} else if r.inExt {
		copy(r.buf, r.dst[:r.off])
	}
	r.dst, r.inExt = r.buf, false
}

// detach moves a message in progress out of the caller's buffer before
// the caller gets it back.
func (r *reassembler) detach() {
	if r.inExt && !r.ready {
		if r.state == asmAssembling {
			r.grow(r.off)
		} else {
			r.dst, r.inExt = r.buf, false
		}
	}
	r.ext = nil
}

// drop abandons the message in progress and enters state s.
func (r *reassembler) drop(s asmState) {
	r.state, r.off, r.next = s, 0, 0
	if r.inExt {
		r.dst, r.inExt = r.buf, false
	}
}

// gap is called when frames were lost (a lap): the message in progress is
// gone and the next frames may be continuations of one we never saw.
func (r *reassembler) gap() {
	r.ready = false
	r.drop(asmResync)
}

// taken is called once the completed message has been delivered.
func (r *reassembler) taken() {
	r.ready = false
	r.dst, r.inExt = r.buf, false
}

// verify checks the completed multi-frame message against its sum
// (checksummed rings). A mismatch drops the message, as taken would after
// delivering it.
func (r *reassembler) verify() error {
	if got := messageSum(r.message()); got != r.sum {
		r.taken()
		r.stats.ChecksumErrors++
		return r.fail(sumError(r.seq, r.first.ID, r.sum, got))
	}
	return nil
}

// message returns the completed multi-frame message.
func (r *reassembler) message() []byte { return r.dst[:r.off] }

func (r *reassembler) fail(e *ProtocolError) error {
	r.stats.ReassemblyErrors++
	return e
}
