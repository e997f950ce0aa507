package codectest

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/typed"
)

func TestChildProcess(t *testing.T) { childtest.Run(t) }

// rec is the value of the test codec: a byte string and a number.
type rec struct {
	B []byte
	N uint32
}

// recCodec encodes a rec as a u32 length, the bytes, and the u32 number;
// flaw names a bug to build in ("": none).
type recCodec struct{ flaw string }

var errShort = errors.New("short")

func (c recCodec) Schema() typed.Schema {
	if c.flaw == "empty schema" {
		return typed.Schema{Codec: "rec"}
	}
	return typed.Schema{Codec: "rec", Name: "test.rec", Version: 1}
}

func (c recCodec) Append(dst []byte, v *rec) ([]byte, error) {
	if c.flaw == "clobbers dst" && len(dst) > 0 {
		dst[0]++
	}
	if c.flaw == "allocates" {
		dst = append(dst[:len(dst):len(dst)], 0)[:len(dst)]
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v.B)))
	dst = append(dst, v.B...)
	return binary.LittleEndian.AppendUint32(dst, v.N), nil
}

func (c recCodec) Decode(src []byte, v *rec) error {
	if len(src) < 4 {
		if c.flaw == "panics" {
			_ = src[3]
		}
		return errShort
	}
	n := uint64(binary.LittleEndian.Uint32(src))
	if uint64(len(src)) < 8+n {
		if c.flaw == "accepts truncations" {
			v.B, v.N = append(v.B[:0], src[4:]...), 0
			return nil
		}
		return errShort
	}
	if uint64(len(src)) > 8+n && c.flaw != "accepts trailing bytes" {
		return errors.New("trailing")
	}
	switch c.flaw {
	case "aliases src":
		v.B = src[4 : 4+n]
	case "merges":
		v.B = append(v.B, src[4:4+n]...)
	default:
		v.B = append(v.B[:0], src[4:4+n]...)
	}
	v.N = binary.LittleEndian.Uint32(src[4+n:])
	return nil
}

func suite(flaw string) Suite[rec] {
	return Suite[rec]{
		New:       func() typed.Codec[rec] { return recCodec{flaw} },
		CodecName: "rec",
		Values:    []rec{{B: []byte{}}, {B: []byte("hello"), N: 7}},
		Gen: func(r *rand.Rand) rec {
			v := rec{B: make([]byte, r.IntN(40)), N: r.Uint32()}
			for i := range v.B {
				v.B[i] = byte(r.Uint32())
			}
			return v
		},
		Equal:           func(a, b *rec) bool { return string(a.B) == string(b.B) && a.N == b.N },
		Invalid:         [][]byte{{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}},
		RejectsTrailing: true,
		Canonical:       true,
		ZeroAllocAppend: true,
		ZeroAllocDecode: true,
	}
}

func TestRun_CorrectCodecPasses(t *testing.T) { Run(t, suite("")) }

// brokenRole runs the suite on a codec with a flaw, in a child process: it
// must fail there.
var brokenRole = childtest.Register("codectest.broken", func(t *testing.T, c *childtest.Child, flaw string) {
	Run(t, suite(flaw))
})

// TestRun_CatchesEachFlaw: the suite fails a codec with any of the flaws it
// checks for, in the check that names it.
func TestRun_CatchesEachFlaw(t *testing.T) {
	for _, tc := range []struct{ flaw, check, says string }{
		{"empty schema", "schema", "want a codec and a name"},
		{"clobbers dst", "append_keeps_prefix", "the bytes before dst's length changed"},
		{"aliases src", "decode_copies", "changed with the bytes it was decoded from"},
		{"merges", "decode_overwrites", "decoded into a value that held another"},
		{"accepts truncations", "truncated", "bytes decoded to"},
		{"panics", "truncated", "Decode panicked"},
		{"accepts trailing bytes", "trailing", "with a byte more decoded"},
		{"allocates", "zero_alloc", "allocations, want 0"},
	} {
		t.Run(strings.ReplaceAll(tc.flaw, " ", "_"), func(t *testing.T) {
			p := brokenRole.Start(t, tc.flaw)
			err := p.Exit()
			out := p.Output()
			if err == nil || !strings.Contains(out, "--- FAIL: "+childtest.EntryTest+"/"+tc.check+" ") || !strings.Contains(out, tc.says) {
				t.Errorf("codec that %s: exit %v; want a failure of check %s saying %q; output:\n%s", tc.flaw, err, tc.check, tc.says, out)
			}
		})
	}
}

// TestRun_Known: a check named in Suite.Known is skipped with its reason.
func TestRun_Known(t *testing.T) {
	s := suite("merges")
	s.Known = map[string]string{"decode_overwrites": "merges, reported"}
	Run(t, s)
}
