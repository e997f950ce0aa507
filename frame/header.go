package frame

// The frame header, version 1. This file holds its layout, encoding and the
// per-frame validation, and nothing else.
//
// Every slot of a frame ring is one frame: a 32-byte header, then the
// payload. All fields are little-endian.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+---------------------------------------------------------------+  0
//	|             frame length: payload bytes in this frame         |
//	+---------------------------------------------------------------+  4
//	|           message length: payload bytes of the message        |
//	+---------------------------------------------------------------+  8
//	|          fragment index: 0 for the message's first frame      |
//	+---------------+---------------+---------------+---------------+ 12
//	|     kind      |  frame flags  |  user flags   |  reserved (0) |
//	+---------------+---------------+---------------+---------------+ 16
//	|                                                               |
//	+             message id (per producer, from 1)                 +
//	|                                                               |
//	+---------------------------------------------------------------+ 24
//	|                                                               |
//	+       send time, Unix ns (0 unless flag STAMPED is set)       +
//	|                                                               |
//	+---------------------------------------------------------------+ 32
//	|                payload: frame length bytes ...                |
//	+---------------------------------------------------------------+ 32 + payload capacity
//
// Frame flags: bit 0 FIRST (fragment index 0), bit 1 LAST (fragment index
// count-1), bit 2 STAMPED (send time valid). Bits 3-7 are reserved and zero,
// as is byte 15. The user flags byte belongs to the application.
//
// The header is deliberately redundant: given the payload capacity C (from
// the ring's metadata), the message length L fixes the fragment count
// n = max(1, ceil(L/C)), and the index i fixes the flags and the frame
// length (C, or L - i*C for the last fragment). A reader checks all of it,
// so a garbage or stale slot is caught before any byte of it is used: every
// field is read once into a local and bounded against the local geometry
// (see check), never against another field of the same untrusted slot
// alone. kind, user flags, id and send time are repeated in every fragment
// and must match the first one.
//
// Read as four little-endian 64-bit words, the header is: frame length |
// message length<<32; index | kind<<32 | flags<<40 | user flags<<48 |
// reserved<<56; id; send time. The single-frame fast paths (Producer.send,
// reassembler.single) encode and check it that way; TestHeader_FastPaths
// keeps them equal to Encode and check.
//
// A 32-byte header keeps the payload at offset 32 of the slot: 8-byte
// aligned always, and 16-byte aligned in aligned mode, where the slot size
// is a multiple of 16 (see Config.Aligned).

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the size of the frame header; the payload follows it.
const HeaderSize = 32

// Header field offsets.
const (
	offFrameLen  = 0
	offMsgLen    = 4
	offIndex     = 8
	offKind      = 12
	offFlags     = 13
	offUserFlags = 14
	offReserved  = 15
	offID        = 16
	offSent      = 24
)

// Frame flags.
const (
	FlagFirst   = 1 << 0 // fragment index 0
	FlagLast    = 1 << 1 // last fragment
	FlagStamped = 1 << 2 // Sent holds the send time

	flagsKnown  = FlagFirst | FlagLast | FlagStamped
	flagsSingle = FlagFirst | FlagLast
)

// Header is a decoded frame header.
type Header struct {
	FrameLen  uint32 // payload bytes in this frame
	MsgLen    uint32 // payload bytes of the whole message
	Index     uint32 // fragment index
	Kind      uint8  // application message kind
	Flags     uint8  // FlagFirst, FlagLast, FlagStamped
	UserFlags uint8  // application flags
	Reserved  uint8  // must be zero
	ID        uint64 // message id, per producer, from 1
	Sent      int64  // send time, Unix ns, if FlagStamped
}

// DecodeHeader reads the header at the start of b without validating it
// (see Geometry.CheckHeader). b must hold at least HeaderSize bytes.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: DecodeHeader of %d bytes, want at least %d", ErrInvalidConfig, len(b), HeaderSize)
	}
	var h Header
	readHeader(&h, b)
	return h, nil
}

// Encode writes h at the start of b, which must hold at least HeaderSize
// bytes (it panics otherwise, like binary.LittleEndian.PutUint64).
func (h *Header) Encode(b []byte) { putHeader(b, h) }

// readHeader decodes b into h field by field (in place: the receive path
// never copies a Header as a whole).
func readHeader(h *Header, b []byte) {
	_ = b[HeaderSize-1] // one bounds check
	le := binary.LittleEndian
	h.FrameLen = le.Uint32(b[offFrameLen:])
	h.MsgLen = le.Uint32(b[offMsgLen:])
	h.Index = le.Uint32(b[offIndex:])
	h.Kind = b[offKind]
	h.Flags = b[offFlags]
	h.UserFlags = b[offUserFlags]
	h.Reserved = b[offReserved]
	h.ID = le.Uint64(b[offID:])
	h.Sent = int64(le.Uint64(b[offSent:]))
}

func putHeader(b []byte, h *Header) {
	_ = b[HeaderSize-1]
	le := binary.LittleEndian
	le.PutUint32(b[offFrameLen:], h.FrameLen)
	le.PutUint32(b[offMsgLen:], h.MsgLen)
	le.PutUint32(b[offIndex:], h.Index)
	b[offKind] = h.Kind
	b[offFlags] = h.Flags
	b[offUserFlags] = h.UserFlags
	b[offReserved] = 0
	le.PutUint64(b[offID:], h.ID)
	le.PutUint64(b[offSent:], uint64(h.Sent))
}

// frames is the number of fragments of a message of n bytes (at least 1).
func (g *geometry) frames(n uint64) uint64 {
	if n <= g.cap {
		return 1
	}
	return (n + g.cap - 1) / g.cap
}

// violation describes the first header field that fails check.
type violation struct {
	field     string
	rule      string
	want, got uint64
}

// check validates a header against the local geometry: the frame on its
// own, not its place in a message (that is the reassembler's job). It is
// on the receive hot path: it allocates nothing and reports the first
// failing rung of the ladder.
func (g *geometry) check(h *Header) (violation, bool) {
	bad := func(field, rule string, want, got uint64) (violation, bool) {
		return violation{field, rule, want, got}, false
	}
	if h.Flags&^flagsKnown != 0 {
		return bad("flags", "reserved bits exactly", 0, uint64(h.Flags&^flagsKnown))
	}
	if h.Reserved != 0 {
		return bad("reserved", "exactly", 0, uint64(h.Reserved))
	}
	if h.ID == 0 {
		return bad("id", "at least", 1, 0)
	}
	if h.Flags&FlagStamped == 0 && h.Sent != 0 {
		return bad("sent", "without STAMPED exactly", 0, uint64(h.Sent))
	}
	msgLen, frameLen, index := uint64(h.MsgLen), uint64(h.FrameLen), uint64(h.Index)
	if msgLen > g.ringMax {
		return bad("msg_len", "at most", g.ringMax, msgLen)
	}
	if frameLen > g.cap {
		return bad("frame_len", "at most", g.cap, frameLen)
	}
	n := g.frames(msgLen)
	if index >= n {
		return bad("index", "at most", n-1, index)
	}
	if first := h.Flags&FlagFirst != 0; first != (index == 0) {
		return bad("flags.first", "exactly", b2u(index == 0), b2u(first))
	}
	last := index == n-1
	if h.Flags&FlagLast != 0 != last {
		return bad("flags.last", "exactly", b2u(last), b2u(!last))
	}
	want := g.cap
	if last {
		want = msgLen - index*g.cap
	}
	if frameLen != want {
		return bad("frame_len", "exactly", want, frameLen)
	}
	return violation{}, true
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
