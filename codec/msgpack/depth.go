package msgpack

import (
	"encoding/binary"
	"strconv"
)

// MaxDepth is the deepest nesting of arrays and maps Decode accepts. The
// decoder underneath recurses once per level, and a Go stack overflow is
// fatal, not a panic typed can recover: so a hostile peer's 4 MiB of
// nested arrays would kill the consumer. Decode walks the bytes first,
// iteratively, and refuses deeper input with *DepthError.
const MaxDepth = 512

// DepthError reports input nested deeper than MaxDepth, or bytes that are
// not MessagePack at all (Offset says where).
type DepthError struct {
	Offset int
	Reason string
}

func (e *DepthError) Error() string {
	return "msgpack: " + e.Reason + " at offset " + strconv.Itoa(e.Offset)
}

// checkDepth walks one MessagePack value in b without recursion and
// without allocating beyond a stack of MaxDepth counts.
func checkDepth(b []byte) error {
	var stack [MaxDepth + 1]uint64 // items still to read in each open container
	depth := 0
	stack[0] = 1
	off := 0
	bad := func(reason string) error { return &DepthError{Offset: off, Reason: reason} }
	need := func(n uint64) bool { return uint64(len(b)-off) >= n }
	for {
		for depth >= 0 && stack[depth] == 0 {
			depth--
		}
		if depth < 0 {
			return nil // the top-level value is complete
		}
		stack[depth]--
		if !need(1) {
			return bad("truncated value")
		}
		c := b[off]
		off++
		var skip, items uint64 // bytes to skip; items in a new container
		size := func(n int) (uint64, bool) {
			if !need(uint64(n)) {
				return 0, false
			}
			var v uint64
			switch n {
			case 1:
				v = uint64(b[off])
			case 2:
				v = uint64(binary.BigEndian.Uint16(b[off:]))
			case 4:
				v = uint64(binary.BigEndian.Uint32(b[off:]))
			}
			off += n
			return v, true
		}
		var ok = true
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			items = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			items = uint64(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9:
			skip, ok = size(1)
		case c == 0xc5 || c == 0xda:
			skip, ok = size(2)
		case c == 0xc6 || c == 0xdb:
			skip, ok = size(4)
		case c >= 0xc7 && c <= 0xc9: // ext 8/16/32: length, type, data
			skip, ok = size(1 << (c - 0xc7))
			skip++
		case c == 0xca:
			skip = 4
		case c == 0xcb:
			skip = 8
		case c >= 0xcc && c <= 0xcf:
			skip = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3:
			skip = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8: // fixext 1..16: type, data
			skip = 1 + 1<<(c-0xd4)
		case c == 0xdc:
			items, ok = size(2)
		case c == 0xdd:
			items, ok = size(4)
		case c == 0xde:
			items, ok = size(2)
			items *= 2
		case c == 0xdf:
			items, ok = size(4)
			items *= 2
		default:
			return bad("invalid type byte " + strconv.Itoa(int(c)))
		}
		if !ok || !need(skip) {
			return bad("truncated value")
		}
		off += int(skip)
		if items > 0 {
			if items > uint64(len(b)-off) {
				return bad("container longer than the message")
			}
			if depth++; depth > MaxDepth-1 {
				return bad("nesting deeper than " + strconv.Itoa(MaxDepth))
			}
			stack[depth] = items
		}
	}
}
