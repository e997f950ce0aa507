package peers

import "encoding/binary"

// Message layout: bytes 0..7 hold the sequence number (little endian). Every
// other byte i has an expected value derived from the sequence and i alone,
// so overlapping stamps agree. Fill writes, and Verify checks, the first
// eight bytes of every 64-byte line and the last eight bytes of the message:
// every cache line is written and read without the cost of every byte.

const (
	lineSize = 64
	mix      = 0x9E3779B97F4A7C15 // golden-ratio multiplier: spreads sequence bits
	repeat   = 0x0101010101010101
)

// stampWord is the expected little-endian word at offset off, a multiple of
// eight and of lineSize, off > 0.
func stampWord(seq uint64, off int) uint64 {
	return (seq*mix + 1) ^ (uint64(byte(off/lineSize)) * repeat)
}

// stampByte is the expected byte at offset i >= 8.
func stampByte(seq uint64, i int) byte {
	return byte((seq*mix+1)>>(8*(i&7))) ^ byte(i/lineSize)
}

// Fill stamps msg as message seq. A msg shorter than MinSize cannot carry
// the sequence: Fill writes the bytes that fit, and Verify rejects it.
func Fill(msg []byte, seq uint64) {
	if len(msg) < MinSize {
		for i := range msg {
			msg[i] = byte(seq >> (8 * i))
		}
		return
	}
	binary.LittleEndian.PutUint64(msg, seq)
	n := len(msg)
	for off := lineSize; off+8 <= n; off += lineSize {
		binary.LittleEndian.PutUint64(msg[off:], stampWord(seq, off))
	}
	for i := max(n-8, 8); i < n; i++ {
		msg[i] = stampByte(seq, i)
	}
}

// Verify checks every stamp Fill(msg, seq) wrote and returns a *PayloadError
// at the first wrong one.
func Verify(msg []byte, seq uint64) error {
	n := len(msg)
	if n < MinSize {
		return &PayloadError{Seq: seq, Offset: -1, Len: n, Want: MinSize, Got: uint64(n)}
	}
	if got := binary.LittleEndian.Uint64(msg); got != seq {
		return &PayloadError{Seq: seq, Offset: 0, Len: n, Want: seq, Got: got}
	}
	for off := lineSize; off+8 <= n; off += lineSize {
		if got, want := binary.LittleEndian.Uint64(msg[off:]), stampWord(seq, off); got != want {
			return &PayloadError{Seq: seq, Offset: off, Len: n, Want: want, Got: got}
		}
	}
	for i := max(n-8, 8); i < n; i++ {
		if got, want := msg[i], stampByte(seq, i); got != want {
			return &PayloadError{Seq: seq, Offset: i, Len: n, Want: uint64(want), Got: uint64(got)}
		}
	}
	return nil
}

// CheckSeq checks that msg is size bytes long and carries sequence number
// seq. The echo side calls it on every message it receives.
func CheckSeq(msg []byte, seq uint64, size int) error {
	if len(msg) != size || size < MinSize {
		return &PayloadError{Seq: seq, Offset: -1, Len: len(msg), Want: uint64(size), Got: uint64(len(msg))}
	}
	if got := binary.LittleEndian.Uint64(msg); got != seq {
		return &PayloadError{Seq: seq, Offset: 0, Len: len(msg), Want: seq, Got: got}
	}
	return nil
}
