package benchfb_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/myelon-go/myelon/codec/flatbuffers"
	"github.com/myelon-go/myelon/codec/flatbuffers/benchfb"
)

func payloadT(i int) *benchfb.TestPayloadT {
	p := &benchfb.TestPayloadT{Id: uint64(i), Temperature: 0.7, Label: fmt.Sprintf("seq_%d", i)}
	for k := range 128 {
		p.TokenIds = append(p.TokenIds, uint32(i*31+k))
	}
	for k := range 8 {
		p.BlockTable = append(p.BlockTable, uint32(i+k))
	}
	return p
}

func batchBytes(t testing.TB, n int) []byte {
	t.Helper()
	c := benchfb.NewPayloadBatchCodec()
	b := &benchfb.PayloadBatchT{}
	for i := range n {
		b.Entries = append(b.Entries, payloadT(i))
	}
	buf, err := c.Append(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// walkBatch reads every field of a batch view through the generated
// accessors, as an application would.
func walkBatch(v *benchfb.PayloadBatch) uint64 {
	var sum uint64
	var e benchfb.TestPayload
	for i := range v.EntriesLength() {
		v.Entries(&e, i)
		sum += e.Id() + uint64(e.Temperature()) + uint64(len(e.Label()))
		for j := range e.TokenIdsLength() {
			sum += uint64(e.TokenIds(j))
		}
		for j := range e.BlockTableLength() {
			sum += uint64(e.BlockTable(j))
		}
	}
	return sum
}

func TestPayloadBatch_RoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 8, 64} {
		buf := batchBytes(t, n)
		var back benchfb.PayloadBatchT
		if err := benchfb.NewPayloadBatchCodec().Decode(buf, &back); err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		if len(back.Entries) != n {
			t.Fatalf("batch %d: %d entries", n, len(back.Entries))
		}
		for i, e := range back.Entries {
			w := payloadT(i)
			if e.Id != w.Id || e.Label != w.Label || !slices.Equal(e.TokenIds, w.TokenIds) || !slices.Equal(e.BlockTable, w.BlockTable) || e.Temperature != w.Temperature {
				t.Fatalf("batch %d entry %d: %+v", n, i, e)
			}
		}
		view, err := benchfb.NewPayloadBatchView().View(buf)
		if err != nil || view.EntriesLength() != n {
			t.Fatalf("view of batch %d: %v", n, err)
		}
		if n > 0 {
			var e benchfb.TestPayload
			view.Entries(&e, n-1)
			if e.Id() != uint64(n-1) || string(e.Label()) != fmt.Sprintf("seq_%d", n-1) || e.TokenIds(127) != uint32((n-1)*31+127) {
				t.Fatalf("view of batch %d: last entry id %d label %q", n, e.Id(), e.Label())
			}
		}
	}
}

func TestEcho(t *testing.T) {
	b := flatbuffers.NewBuilder(0)
	data := []byte("0123456789abcdef")
	buf := benchfb.AppendEcho(b, 42, data)
	v, err := benchfb.NewEchoView().View(buf)
	if err != nil || v.Seq() != 42 || string(v.DataBytes()) != string(data) {
		t.Fatalf("view: %v", err)
	}
	var o benchfb.EchoT
	if err := benchfb.NewEchoCodec().Decode(buf, &o); err != nil || o.Seq != 42 || string(o.Data) != string(data) {
		t.Fatalf("decode: %+v, %v", o, err)
	}
	view := benchfb.NewEchoView()
	allocs := testing.AllocsPerRun(1000, func() {
		buf = benchfb.AppendEcho(b, 7, data)
		if _, err := view.View(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendEcho+View with a reused view codec: %v allocs, want 0", allocs)
	}
}

// TestVerify_Corrupt: truncations and garbage fail verification with a
// *VerifyError, never a panic; whatever passes can be walked.
func TestVerify_Corrupt(t *testing.T) {
	buf := batchBytes(t, 3)
	view := benchfb.NewPayloadBatchView()
	for n := range len(buf) {
		v, err := view.View(buf[:n])
		if err != nil {
			var ve *fb.VerifyError
			if !errors.Is(err, fb.ErrInvalid) || !errors.As(err, &ve) {
				t.Fatalf("prefix %d: %v is not a *VerifyError", n, err)
			}
			continue
		}
		walkBatch(v)
	}
	// A root offset past the end, a vtable offset pointing anywhere, a
	// huge vector length.
	for _, c := range []struct {
		name string
		mod  func(b []byte)
	}{
		{"root past end", func(b []byte) { b[0], b[1], b[2], b[3] = 0xff, 0xff, 0xff, 0x7f }},
		{"vtable before start", func(b []byte) {
			root := flatbuffers.GetUOffsetT(b)
			flatbuffers.WriteSOffsetT(b[root:], 0x7fffffff)
		}},
	} {
		b := slices.Clone(buf)
		c.mod(b)
		if _, err := view.View(b); !errors.Is(err, fb.ErrInvalid) {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}

// FuzzView: hostile bytes either fail verification or can be read in
// full through the generated accessors without panicking.
func FuzzView(f *testing.F) {
	f.Add(batchBytes(f, 0))
	f.Add(batchBytes(f, 2))
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0})
	view := benchfb.NewPayloadBatchView()
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := view.View(in)
		if err != nil {
			if !errors.Is(err, fb.ErrInvalid) {
				t.Fatalf("%v is not ErrInvalid", err)
			}
			return
		}
		walkBatch(v)
	})
}

func BenchmarkView_PayloadBatch(b *testing.B) {
	for _, n := range []int{1, 64} {
		buf := batchBytes(b, n)
		view := benchfb.NewPayloadBatchView()
		b.Run(fmt.Sprintf("batch=%d/verify+view", n), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := view.View(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("batch=%d/verify+walk", n), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				v, _ := view.View(buf)
				walkBatch(v)
			}
		})
	}
}
