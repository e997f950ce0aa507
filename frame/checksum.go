package frame

// Message checksums (Config.Checksum).
//
// On a checksummed ring every slot has 4 bytes more than a plain one:
// the slot is HeaderSize + payload capacity C + 4, rounded up as usual.
// The producer writes the CRC-32C (Castagnoli polynomial; hash/crc32
// computes it with the CPU's instruction where there is one) of the whole
// message payload there, little-endian, in the slot of the message's last
// frame:
//
//	+--------------------+------------------------------+------------+
//	| header (32 bytes)  | payload capacity C           | CRC-32C    |
//	+--------------------+------------------------------+------------+
//	0                    32                             32+C         32+C+4
//
// The sum sits at a fixed offset, after the payload capacity, whatever the
// frame's length, so the frame header and the payload offset are the same
// as on a plain ring, and only the last frame carries it (the other
// frames' trailer bytes mean nothing). It is written with the frame,
// before the commit that publishes it, so a consumer that sees the frame
// sees its sum.
//
// The consumer checks it once the message is whole: a single-frame
// message against its slot, before it is handed out; a multi-frame one
// against the reassembled bytes, with the sum read from the last frame
// when it was appended. A mismatch is a *ProtocolError with
// ReasonChecksum (it matches ErrChecksum and ErrProtocol): the message is
// consumed without being delivered, and the next read returns the next
// message. The sum covers the payload only: the header is checked by its
// own ladder (header.go) and the fragment rules (reassembly.go), which
// catch a damaged length or index but not a damaged kind, user flags, id
// or send time.
//
// A plain ring pays one predictable branch per message on each side for
// this, and nothing else.

import (
	"encoding/binary"
	"hash/crc32"
)

// sumSize is the size of the checksum trailer.
const sumSize = 4

// castagnoli is the CRC-32C table; crc32.Checksum uses the CPU's CRC32
// instruction for it where the CPU has one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// messageSum is the checksum of a message payload.
func messageSum(payload []byte) uint32 { return crc32.Checksum(payload, castagnoli) }

// trailer is the size of the slot's checksum trailer: sumSize or 0.
func (g *geometry) trailer() int {
	if g.checksum {
		return sumSize
	}
	return 0
}

// putSum writes the trailer of the slot holding a message's last frame.
func (g *geometry) putSum(slot []byte, sum uint32) {
	binary.LittleEndian.PutUint32(slot[HeaderSize+g.cap:], sum)
}

// sum reads the trailer of the slot holding a message's last frame.
func (g *geometry) sum(slot []byte) uint32 {
	return binary.LittleEndian.Uint32(slot[HeaderSize+g.cap:])
}

// sumError is the error of a message whose payload does not match the sum
// its producer wrote.
func sumError(seq int64, id uint64, want, got uint32) *ProtocolError {
	return &ProtocolError{Reason: ReasonChecksum, Field: "checksum", Rule: "exactly", Want: uint64(want), Got: uint64(got), Seq: seq, ID: id}
}
