package frame

import (
	"encoding/binary"
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/myelon-go/myelon/ring"
)

func TestHeader_EncodeDecode_RoundTrip(t *testing.T) {
	for _, h := range []Header{
		{},
		{FrameLen: 1, MsgLen: 1, Flags: flagsSingle, ID: 1},
		{FrameLen: 0xfffffffe, MsgLen: 0xffffffff, Index: 0xfffffffd, Kind: 0xff, Flags: 0xff, UserFlags: 0xaa, Reserved: 0x55, ID: ^uint64(0), Sent: -1},
		{FrameLen: 16, MsgLen: 100, Index: 3, Kind: 7, Flags: FlagStamped, UserFlags: 9, ID: 1 << 40, Sent: 1_700_000_000_000_000_000},
	} {
		b := make([]byte, HeaderSize)
		h.Encode(b)
		got, err := DecodeHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		want := h
		want.Reserved = 0 // Encode always writes the reserved byte as zero
		if got != want {
			t.Errorf("round trip: got %+v, want %+v", got, want)
		}
	}
	if _, err := DecodeHeader(make([]byte, HeaderSize-1)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("DecodeHeader(31 bytes) = %v, want ErrInvalidConfig", err)
	}
}

// TestHeader_Offsets_MatchRuler keeps the ruler in header.go honest: the
// byte offsets in its right margin, in order, are the field offsets, and
// encoding puts each field there.
func TestHeader_Offsets_MatchRuler(t *testing.T) {
	src, err := os.ReadFile("header.go")
	if err != nil {
		t.Fatal(err)
	}
	var margin []int
	for _, m := range regexp.MustCompile(`(?m)^//\t\+[-+]+\+ +(\d+)$`).FindAllSubmatch(src, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		margin = append(margin, n)
	}
	want := []int{offFrameLen, offMsgLen, offIndex, offKind, offID, offSent, HeaderSize}
	if len(margin) != len(want) {
		t.Fatalf("ruler margin %v, want %v", margin, want)
	}
	for i := range want {
		if margin[i] != want[i] {
			t.Errorf("ruler margin %v, want %v", margin, want)
			break
		}
	}
	b := make([]byte, HeaderSize)
	h := Header{FrameLen: 0x04030201, MsgLen: 0x08070605, Index: 0x0c0b0a09, Kind: 0x0d, Flags: 0x0e, UserFlags: 0x0f, ID: 0x1817161514131211, Sent: 0x201f1e1d1c1b1a19}
	h.Encode(b)
	le := binary.LittleEndian
	checks := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"frame_len@0", uint64(le.Uint32(b[0:])), 0x04030201},
		{"msg_len@4", uint64(le.Uint32(b[4:])), 0x08070605},
		{"index@8", uint64(le.Uint32(b[8:])), 0x0c0b0a09},
		{"kind@12", uint64(b[12]), 0x0d},
		{"flags@13", uint64(b[13]), 0x0e},
		{"user_flags@14", uint64(b[14]), 0x0f},
		{"reserved@15", uint64(b[15]), 0},
		{"id@16", le.Uint64(b[16:]), 0x1817161514131211},
		{"sent@24", le.Uint64(b[24:]), 0x201f1e1d1c1b1a19},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// TestGeometry_CheckHeader_EachRule damages one rule at a time, starting
// from a valid frame, and expects exactly that field to be named.
func TestGeometry_CheckHeader_EachRule(t *testing.T) {
	g := Geometry{PayloadCapacity: 16, MaxMessageSize: 100}
	// A valid middle fragment: 40 bytes = 3 frames (16, 16, 8).
	mid := Header{FrameLen: 16, MsgLen: 40, Index: 1, Kind: 1, ID: 5}
	last := Header{FrameLen: 8, MsgLen: 40, Index: 2, Flags: FlagLast, ID: 5}
	first := Header{FrameLen: 16, MsgLen: 40, Index: 0, Flags: FlagFirst, ID: 5}
	single := Header{FrameLen: 0, MsgLen: 0, Flags: flagsSingle | FlagStamped, ID: 1, Sent: 99}
	for _, h := range []Header{mid, last, first, single} {
		if err := g.CheckHeader(h); err != nil {
			t.Fatalf("valid %+v: %v", h, err)
		}
	}
	cases := []struct {
		name  string
		h     Header
		field string
	}{
		{"reserved flag bit", func() Header { h := mid; h.Flags |= 1 << 5; return h }(), "flags"},
		{"reserved byte", func() Header { h := mid; h.Reserved = 1; return h }(), "reserved"},
		{"id zero", func() Header { h := mid; h.ID = 0; return h }(), "id"},
		{"sent without stamped", func() Header { h := mid; h.Sent = 5; return h }(), "sent"},
		{"msg_len over max", func() Header { h := mid; h.MsgLen = 101; return h }(), "msg_len"},
		{"frame_len over capacity", func() Header { h := mid; h.FrameLen = 17; return h }(), "frame_len"},
		{"index past last", func() Header { h := mid; h.Index = 3; return h }(), "index"},
		{"first flag on index 1", func() Header { h := mid; h.Flags |= FlagFirst; return h }(), "flags.first"},
		{"no first flag on index 0", func() Header { h := first; h.Flags = 0; return h }(), "flags.first"},
		{"last flag on middle", func() Header { h := mid; h.Flags |= FlagLast; return h }(), "flags.last"},
		{"no last flag on last", func() Header { h := last; h.Flags = 0; return h }(), "flags.last"},
		{"short middle fragment", func() Header { h := mid; h.FrameLen = 15; return h }(), "frame_len"},
		{"wrong last length", func() Header { h := last; h.FrameLen = 9; return h }(), "frame_len"},
		{"single with frame_len != msg_len", func() Header { h := single; h.FrameLen = 1; return h }(), "frame_len"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := g.CheckHeader(c.h)
			var pe *ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, ErrProtocol) {
				t.Fatalf("CheckHeader = %v, want *ProtocolError", err)
			}
			if pe.Reason != ReasonHeader || pe.Field != c.field {
				t.Fatalf("reason %v field %q, want %v %q (%v)", pe.Reason, pe.Field, ReasonHeader, c.field, err)
			}
		})
	}
}

// TestParseMeta_EachField damages one metadata field at a time and
// expects a *GeometryError naming it.
func TestParseMeta_EachField(t *testing.T) {
	cfg := Config{PayloadCapacity: 100, Aligned: true, MaxMessageSize: 1000, Capacity: 8}
	g, meta, err := cfg.geometry()
	if err != nil {
		t.Fatal(err)
	}
	if g.slotSize != 144 { // 32+100 = 132, rounded up to 16
		t.Fatalf("aligned slot size %d, want 144", g.slotSize)
	}
	got, err := parseMeta(meta, g.slotSize, 8, 0)
	if err != nil || got != g {
		t.Fatalf("parseMeta(valid) = %+v, %v; want %+v", got, err, g)
	}
	le := binary.LittleEndian
	cases := []struct {
		name    string
		damage  func(m *[ring.UserMetaSize]byte)
		slot    int
		ringCap int
		prods   int
		field   string
	}{
		{"magic", func(m *[ring.UserMetaSize]byte) { m[0] = 'X' }, 144, 8, 0, "magic"},
		{"version", func(m *[ring.UserMetaSize]byte) { le.PutUint32(m[metaOffVersion:], 2) }, 144, 8, 0, "version"},
		{"header size", func(m *[ring.UserMetaSize]byte) { le.PutUint32(m[metaOffHdrSize:], 16) }, 144, 8, 0, "header_size"},
		{"payload offset", func(m *[ring.UserMetaSize]byte) { le.PutUint32(m[metaOffPayload:], 12) }, 144, 8, 0, "payload_offset"},
		{"unknown flag", func(m *[ring.UserMetaSize]byte) { le.PutUint32(m[metaOffFlags:], 5) }, 144, 8, 0, "flags"},
		{"checksum without room for the trailer", func(m *[ring.UserMetaSize]byte) {
			le.PutUint32(m[metaOffFlags:], metaFlagAligned|metaFlagChecksum)
			le.PutUint32(m[metaOffCapacity:], 112) // 32+112 fills the 144-byte slot
		}, 144, 8, 0, "flags"},
		{"capacity zero", func(m *[ring.UserMetaSize]byte) { le.PutUint32(m[metaOffCapacity:], 0) }, 144, 8, 0, "payload_capacity"},
		{"capacity beyond slot", func(m *[ring.UserMetaSize]byte) { le.PutUint32(m[metaOffCapacity:], 113) }, 144, 8, 0, "payload_capacity"},
		{"aligned with odd slot", func(m *[ring.UserMetaSize]byte) {}, 136, 8, 0, "flags"},
		{"max message beyond limit", func(m *[ring.UserMetaSize]byte) { le.PutUint64(m[metaOffMaxMsg:], 1<<32) }, 144, 8, 0, "max_message_size"},
		{"max message beyond multi-producer ring", func(m *[ring.UserMetaSize]byte) {}, 144, 8, 2, "max_message_size"},
		{"reserved word", func(m *[ring.UserMetaSize]byte) { m[metaOffRes1] = 1 }, 144, 8, 0, "reserved"},
		{"reserved tail", func(m *[ring.UserMetaSize]byte) { m[metaSize-1] = 1 }, 144, 8, 0, "reserved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := meta
			c.damage(&m)
			_, err := parseMeta(m, c.slot, c.ringCap, c.prods)
			var ge *GeometryError
			if !errors.As(err, &ge) || !errors.Is(err, ErrGeometry) {
				t.Fatalf("parseMeta = %v, want *GeometryError", err)
			}
			if ge.Field != c.field {
				t.Fatalf("field %q, want %q (%v)", ge.Field, c.field, err)
			}
			if errors.Is(err, ErrNotFramed) != (c.field == "magic") {
				t.Fatalf("ErrNotFramed match wrong for %v", err)
			}
		})
	}
}

func TestConfig_Invalid(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"Meta too long", Config{Meta: make([]byte, UserMetaSize+1)}},
		{"negative capacity", Config{PayloadCapacity: -1}},
		{"capacity too large", Config{PayloadCapacity: MaxPayloadCapacity + 1}},
		{"negative max message", Config{MaxMessageSize: -1}},
		{"max message too large", Config{MaxMessageSize: MaxMessageLimit + 1}},
		{"multi-producer max beyond ring", Config{PayloadCapacity: 10, MaxMessageSize: 81, Capacity: 8, MaxProducers: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := c.cfg.geometry(); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("geometry() = %v, want ErrInvalidConfig", err)
			}
		})
	}
	g, _, err := (&Config{PayloadCapacity: 10, Capacity: 8, MaxProducers: 2}).geometry()
	if err != nil || g.maxMsg != 80 {
		t.Fatalf("multi-producer default max message = %d, %v; want 80", g.maxMsg, err)
	}
}
