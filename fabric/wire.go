package fabric

// The messages on the rings. Every message is one frame-layer message
// (package frame) whose payload starts with a 16-byte header,
// little-endian:
//
// Request (dispatch ring, frame kind kindRequest):
//
//	off  size  field
//	  0     8  correlation id of the round (from 1)
//	  8     4  target rank, or -1 for every rank (int32)
//	 12     4  reserved (0)
//	 16     -  the request payload
//
// Reply (return ring, frame kind kindReply):
//
//	off  size  field
//	  0     8  correlation id of the round it answers
//	  8     4  status: 0 ok, 1 the handler failed (payload: its message),
//	           2 the handler reported the rank down (payload: the length of
//	           its DownCause, 4 bytes, the DownCause, then its message)
//	 12     4  the replying rank (< the worker count)
//	 16     -  the reply payload
//
// The frame user-flags byte carries the typed schema tag of the payload
// (typed.Schema.Tag; 0 for raw bytes). A message whose kind, length or
// header does not fit is counted in Malformed and skipped.

import "encoding/binary"

const (
	kindRequest = 1
	kindReply   = 2

	reqHeaderSize   = 16
	replyHeaderSize = 16

	allRanks = -1
	anyRank  = -2 // a pool request: whichever worker takes it (never on the wire)

	statusOK     = 0
	statusFailed = 1
	statusDown   = 2
)

func putRequest(b []byte, corr uint64, target int) {
	binary.LittleEndian.PutUint64(b[0:], corr)
	binary.LittleEndian.PutUint32(b[8:], uint32(int32(target)))
	binary.LittleEndian.PutUint32(b[12:], 0)
}

// parseRequest reads a request header; ok is false for a message that is
// not a well-formed request.
func parseRequest(kind uint8, b []byte) (corr uint64, target int, ok bool) {
	if kind != kindRequest || len(b) < reqHeaderSize || binary.LittleEndian.Uint32(b[12:]) != 0 {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[0:]), int(int32(binary.LittleEndian.Uint32(b[8:]))), true
}

func putReply(b []byte, corr uint64, status uint32, rank int) {
	binary.LittleEndian.PutUint64(b[0:], corr)
	binary.LittleEndian.PutUint32(b[8:], status)
	binary.LittleEndian.PutUint32(b[12:], uint32(rank))
}

// parseReply reads a reply header; ok is false for a message that is not
// a well-formed reply of one of workers ranks.
func parseReply(kind uint8, b []byte, workers int) (corr uint64, rank int, status uint32, ok bool) {
	if kind != kindReply || len(b) < replyHeaderSize {
		return 0, 0, 0, false
	}
	r := binary.LittleEndian.Uint32(b[12:])
	status = binary.LittleEndian.Uint32(b[8:])
	if r >= uint32(workers) || status > statusDown {
		return 0, 0, 0, false
	}
	if _, _, ok := parseDown(b[replyHeaderSize:]); status == statusDown && !ok {
		return 0, 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[0:]), int(r), status, true
}

// appendDown appends the payload of a reply with statusDown.
func appendDown(b []byte, cause DownCause, msg string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cause)))
	return append(append(b, cause...), msg...)
}

// parseDown reads the payload of a reply with statusDown; ok is false if
// it is not one.
func parseDown(b []byte) (cause DownCause, msg string, ok bool) {
	if len(b) < 4 || uint64(binary.LittleEndian.Uint32(b)) > uint64(len(b)-4) {
		return "", "", false
	}
	n := 4 + int(binary.LittleEndian.Uint32(b))
	return DownCause(b[4:n]), string(b[n:]), true
}
