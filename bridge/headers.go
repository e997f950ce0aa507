package bridge

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
	"github.com/nats-io/nats.go"
)

// The headers the outbound bridge puts on every NATS message. The payload is
// the frame message's payload, unchanged.
const (
	// HeaderKind and HeaderFlags carry the frame kind and application
	// flags (typed's schema tag travels in the flags), in decimal.
	HeaderKind  = "Myelon-Kind"
	HeaderFlags = "Myelon-Flags"
	// HeaderID is the message id its ring producer gave it (per producer
	// handle, from 1).
	HeaderID = "Myelon-Id"
	// HeaderOrigin names the ring instance the message comes from:
	// host/ring/epoch. A re-created ring has a new epoch.
	HeaderOrigin = "Myelon-Origin"
	// HeaderSeq and HeaderEnd are the ring sequences of the message's
	// first and last frames: unique within an origin, for every producer
	// of a multi-producer ring.
	HeaderSeq = "Myelon-Seq"
	HeaderEnd = "Myelon-End"
	// HeaderPrev is HeaderEnd of the message the outbound bridge sent
	// before this one from the same origin (-1: none), so the inbound
	// bridge can tell a duplicate, the next message and a gap apart.
	HeaderPrev = "Myelon-Prev"
	// HeaderSchema is the typed schema metadata of a typed ring, base64
	// (absent for an untagged frame ring).
	HeaderSchema = "Myelon-Schema"
	// HeaderSent is the send time, Unix ns: the ring producer's stamp if
	// it stamps (frame.Config.Timestamps), else the bridge's publish time.
	HeaderSent = "Myelon-Sent"
	// HeaderMsgID is JetStream's de-duplication header: origin/seq.
	HeaderMsgID = "Nats-Msg-Id"
)

// origin names a ring instance for HeaderOrigin.
func origin(info ring.RingInfo) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s/%s/%d", host, info.Name, info.Epoch)
}

// schemaOf returns the HeaderSchema value of a frame ring's user metadata:
// "" unless it holds a typed schema.
func schemaOf(meta []byte) string {
	if _, ok, err := typed.ParseSchema(meta); !ok || err != nil {
		return ""
	}
	end := len(meta)
	for end > 0 && meta[end-1] == 0 {
		end--
	}
	return base64.StdEncoding.EncodeToString(meta[:end])
}

// endOf is the sequence of the last frame of a message of n payload bytes
// whose first frame is at seq, on frames of capacity pc.
func endOf(seq int64, n, pc int) int64 {
	frames := (n + pc - 1) / pc
	if frames < 1 {
		frames = 1
	}
	return seq + int64(frames) - 1
}

// envelope is what the inbound bridge reads back from the headers.
type envelope struct {
	kind, flags uint8
	origin      string
	seq, end    int64
	prev        int64
	schema      string
	chained     bool // origin, end and prev present
}

func newMsg(subject string, m frame.Meta, payload []byte, org, schema string, end, prev, now int64) *nats.Msg {
	h := make(nats.Header, 10)
	h[HeaderKind] = []string{strconv.Itoa(int(m.Kind))}
	h[HeaderFlags] = []string{strconv.Itoa(int(m.Flags))}
	h[HeaderID] = []string{strconv.FormatUint(m.ID, 10)}
	h[HeaderOrigin] = []string{org}
	h[HeaderSeq] = []string{strconv.FormatInt(m.Seq, 10)}
	h[HeaderEnd] = []string{strconv.FormatInt(end, 10)}
	h[HeaderPrev] = []string{strconv.FormatInt(prev, 10)}
	sent := m.Sent
	if sent == 0 {
		sent = now
	}
	h[HeaderSent] = []string{strconv.FormatInt(sent, 10)}
	if schema != "" {
		h[HeaderSchema] = []string{schema}
	}
	h[HeaderMsgID] = []string{org + "/" + strconv.FormatInt(m.Seq, 10)}
	return &nats.Msg{Subject: subject, Header: h, Data: payload}
}

// parseEnvelope reads the headers of a message; a message without them (a
// publisher other than a bridge) has kind and flags 0 and no chain.
func parseEnvelope(h nats.Header) (envelope, error) {
	var e envelope
	if h == nil {
		return e, nil
	}
	k, err := uintHeader(h, HeaderKind, 8)
	if err != nil {
		return e, err
	}
	f, err := uintHeader(h, HeaderFlags, 8)
	if err != nil {
		return e, err
	}
	e.kind, e.flags = uint8(k), uint8(f)
	e.schema = h.Get(HeaderSchema)
	e.origin = h.Get(HeaderOrigin)
	if e.origin == "" || h.Get(HeaderEnd) == "" || h.Get(HeaderPrev) == "" {
		return e, nil
	}
	if e.seq, err = intHeader(h, HeaderSeq); err != nil {
		return e, err
	}
	if e.end, err = intHeader(h, HeaderEnd); err != nil {
		return e, err
	}
	if e.prev, err = intHeader(h, HeaderPrev); err != nil {
		return e, err
	}
	e.chained = true
	return e, nil
}

func uintHeader(h nats.Header, name string, bits int) (uint64, error) {
	s := h.Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, &HeaderError{Header: name, Value: s}
	}
	return v, nil
}

func intHeader(h nats.Header, name string) (int64, error) {
	s := h.Get(name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &HeaderError{Header: name, Value: s}
	}
	return v, nil
}
