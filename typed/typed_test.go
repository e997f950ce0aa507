package typed_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/testfix"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// pair creates a heap frame ring of small frames (so records of the
// helpers span several) and returns a typed producer and consumer on it.
func pair[T any](t *testing.T, pc, cc typed.Codec[T], ccfg typed.ConsumerConfig) (*typed.Producer[T], *typed.Consumer[T]) {
	t.Helper()
	name := heapName(t)
	p, err := typed.Create(name, pc, typed.Config{PayloadCapacity: 1024, Backend: ring.Heap, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ccfg.Backend = ring.Heap
	ccfg.ID = "c"
	c, err := typed.Attach(context.Background(), name, cc, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

func viewPair[V any](t *testing.T, pc typed.Codec[tick], vc typed.ZeroCopyCodec[V], cfg typed.Config, ccfg typed.ConsumerConfig) (*typed.Producer[tick], *typed.ViewConsumer[V]) {
	t.Helper()
	name := heapName(t)
	cfg.Backend, cfg.Capacity = ring.Heap, 64
	p, err := typed.Create(name, pc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ccfg.Backend = ring.Heap
	ccfg.ID = "v"
	c, err := typed.AttachView(context.Background(), name, vc, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

var bg = context.Background()

func TestSchema_Tag(t *testing.T) {
	s := typed.Schema{Codec: "bincode", Name: "bench.TestPayload", Version: 1}
	// The tag is on the wire: producers and consumers built from other
	// versions of this package must compute the same. "raw:t308@1" folds
	// to 0, which is reserved for untagged messages, and becomes 0x80.
	for _, g := range []struct {
		s   typed.Schema
		tag uint8
	}{
		{s, 0x76},
		{typed.Schema{Codec: "bincode", Name: "bench.TestPayload", Version: 2}, 0x26},
		{typed.Schema{Codec: "raw", Name: "bench.TestPayload", Version: 1}, 0x79},
		{typed.Schema{Codec: "raw", Name: "t308", Version: 1}, 0x80},
	} {
		if got := g.s.Tag(); got != g.tag {
			t.Errorf("%v: tag %#x, want %#x", g.s, got, g.tag)
		}
	}
	if s.String() != "bincode:bench.TestPayload@1" {
		t.Fatalf("String %q", s)
	}
	// Different versions, names and codecs get different tags (for these
	// inputs; in general with probability 254/255).
	seen := map[uint8]typed.Schema{}
	for _, o := range []typed.Schema{s, {"bincode", "bench.TestPayload", 2}, {"raw", "bench.TestPayload", 1}, {"bincode", "bench.Other", 1}} {
		if prev, dup := seen[o.Tag()]; dup {
			t.Fatalf("%v and %v share tag %#x", prev, o, o.Tag())
		}
		seen[o.Tag()] = o
	}
}

// TestConsumer_RoundTrip sends records of one and of several frames and
// receives them with Recv, TryRecv, RecvTimeout, Process and All.
func TestConsumer_RoundTrip(t *testing.T) {
	p, c := pair(t, payloadCodec(), payloadCodec(), typed.ConsumerConfig{})
	var v, got testPayload
	send := func(i uint64) {
		t.Helper()
		payloadFor(&v, i)
		if _, err := p.SendKind(bg, uint8(i), &v); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uint64(14) {
		send(i)
		m, err := c.Recv(bg, &got)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPayload(&got, i); err != nil {
			t.Fatal(err)
		}
		if m.ID != i+1 || m.Kind != uint8(i) || m.Flags != p.Schema().Tag() {
			t.Fatalf("record %d: meta %+v", i, m)
		}
	}
	if _, err := c.TryRecv(&got); !errors.Is(err, frame.ErrEmpty) {
		t.Fatalf("TryRecv on empty: %v", err)
	}
	if _, err := c.Recv(testfix.Context(t, time.Millisecond), &got); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv past its deadline on empty: %v", err)
	}
	send(14)
	if _, err := c.TryRecv(&got); err != nil || checkPayload(&got, 14) != nil {
		t.Fatalf("TryRecv: %v", err)
	}
	send(15)
	if _, err := c.Recv(testfix.Context(t, time.Second), &got); err != nil || checkPayload(&got, 15) != nil {
		t.Fatalf("Recv with a deadline: %v", err)
	}
	for i := uint64(16); i < 30; i++ {
		send(i)
	}
	next := uint64(16)
	for next < 23 {
		n, err := c.Process(bg, 7-int(next-16), func(m frame.Meta, v *testPayload) error {
			if err := checkPayload(v, next); err != nil {
				return err
			}
			next++
			return nil
		})
		if err != nil || n == 0 {
			t.Fatalf("Process: %d, %v", n, err)
		}
	}
	p.Close()
	for m, v := range c.All(bg) {
		if err := checkPayload(v, next); err != nil || m.ID != next+1 {
			t.Fatalf("All: %v, meta %+v", err, m)
		}
		next++
	}
	if next != 30 || c.Err() != nil {
		t.Fatalf("All ended at %d: %v", next, c.Err())
	}
	if st := c.Stats(); st.Decoded != 30 || st.DecodeErrors != 0 || st.SchemaErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st := p.Stats(); st.Sent != 30 || st.Bytes == 0 {
		t.Fatalf("producer stats %+v", st)
	}
}

// TestConsumer_SchemaMismatch: the ring records its schema, so a consumer
// or joining producer with another codec, type or version is refused at
// attach with a *SchemaError naming both schemas, before any message; a
// message that still carries another tag (written below the typed layer)
// is a *SchemaError on receive, and consumed.
func TestConsumer_SchemaMismatch(t *testing.T) {
	name := heapName(t)
	p, err := typed.Create(name, payloadCodec(), typed.Config{Backend: ring.Heap, Capacity: 64, PayloadCapacity: 1024, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v2 := bincode.New[testPayload]("bench.TestPayload", 2)
	_, err = typed.Attach(bg, name, v2, typed.ConsumerConfig{Backend: ring.Heap})
	var se *typed.SchemaError
	if !errors.Is(err, typed.ErrSchema) || !errors.As(err, &se) || !se.Ring || se.Got != p.Schema() || se.Want.Version != 2 {
		t.Fatalf("Attach with version 2: %v, want a ring *SchemaError naming version 1 and 2", err)
	}
	if !strings.Contains(err.Error(), "bincode:bench.TestPayload@1") {
		t.Errorf("error does not name the ring's schema: %v", err)
	}
	if _, err := typed.AttachView(bg, name, raw.MustNew[tick](), typed.ConsumerConfig{Backend: ring.Heap}); !errors.As(err, &se) || se.Got.Codec != "bincode" {
		t.Fatalf("AttachView with another codec: %v, want a *SchemaError", err)
	}
	if _, err := typed.Join(bg, name, v2, typed.JoinConfig{Backend: ring.Heap}); !errors.As(err, &se) {
		t.Fatalf("Join with version 2: %v, want a *SchemaError", err)
	}
	for _, e := range p.Stats().Frame.Ring.Consumers {
		if e.State == "active" {
			t.Fatalf("a refused attach left an active consumer entry: %+v", e)
		}
	}

	c, err := typed.Attach(bg, name, payloadCodec(), typed.ConsumerConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other := bincode.New[testPayload]("bench.TestPayload", 2).Schema().Tag()
	for range 2 {
		typed.FrameOf(p).SendFlags(bg, 0, other, make([]byte, 8))
	}
	var got testPayload
	for i := range uint64(2) {
		_, err := c.Recv(bg, &got)
		if !errors.Is(err, typed.ErrSchema) || !errors.As(err, &se) {
			t.Fatalf("got %v, want a *SchemaError", err)
		}
		if se.Ring || se.ID != i+1 || se.GotTag != other || se.WantTag != c.Schema().Tag() {
			t.Fatalf("implausible %+v", se)
		}
	}
	if _, err := c.TryRecv(&got); !errors.Is(err, frame.ErrEmpty) {
		t.Fatalf("mismatched messages not consumed: %v", err)
	}
	if st := c.Stats(); st.SchemaErrors != 2 || st.Decoded != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestAttach_UntaggedRing: a ring made by frame.Create carries no schema:
// a typed consumer refuses it at attach unless AcceptUntagged.
func TestAttach_UntaggedRing(t *testing.T) {
	name := heapName(t)
	fp, err := frame.Create(name, frame.Config{Backend: ring.Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	var se *typed.SchemaError
	if _, err := typed.Attach(bg, name, payloadCodec(), typed.ConsumerConfig{Backend: ring.Heap}); !errors.As(err, &se) || !se.Ring || se.Got != (typed.Schema{}) {
		t.Fatalf("Attach to a schema-less ring: %v, want a ring *SchemaError", err)
	}
	c, err := typed.Attach(bg, name, payloadCodec(), typed.ConsumerConfig{Backend: ring.Heap, AcceptUntagged: true})
	if err != nil {
		t.Fatalf("Attach with AcceptUntagged: %v", err)
	}
	c.Close()
}

// TestConsumer_Untagged: messages from a plain frame producer carry no
// schema tag: refused, unless AcceptUntagged.
func TestConsumer_Untagged(t *testing.T) {
	for _, accept := range []bool{false, true} {
		p, c := pair(t, payloadCodec(), payloadCodec(), typed.ConsumerConfig{AcceptUntagged: accept})
		var v, got testPayload
		payloadFor(&v, 5)
		typed.FrameOf(p).Send(bg, 0, bincode.Marshal(&v))
		_, err := c.Recv(bg, &got)
		if accept {
			if err != nil || checkPayload(&got, 5) != nil {
				t.Fatalf("AcceptUntagged: %v", err)
			}
			continue
		}
		var se *typed.SchemaError
		if !errors.As(err, &se) || se.GotTag != 0 || !strings.Contains(err.Error(), "AcceptUntagged") {
			t.Fatalf("untagged: got %v", err)
		}
	}
}

// TestConsumer_DecodeErrors: truncated and garbage payloads are
// *DecodeErrors carrying the message id and length; the message is
// consumed and the next one decodes.
func TestConsumer_DecodeErrors(t *testing.T) {
	p, c := pair(t, payloadCodec(), payloadCodec(), typed.ConsumerConfig{})
	var v, got testPayload
	payloadFor(&v, 3)
	good := bincode.Marshal(&v)
	bad := [][]byte{
		nil,                // empty
		good[:len(good)-1], // truncated
		append(good[:8:8], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // a huge length
		append(append([]byte{}, good...), 0),                               // trailing byte
	}
	for i, b := range bad {
		p.SendEncoded(bg, 0, b)
		p.Send(bg, &v)
		_, err := c.Recv(bg, &got)
		var de *typed.DecodeError
		var be *bincode.Error
		if !errors.Is(err, typed.ErrDecode) || !errors.As(err, &de) || !errors.As(err, &be) {
			t.Fatalf("bad payload %d: got %v, want a *DecodeError wrapping a *bincode.Error", i, err)
		}
		if de.ID != uint64(2*i+1) || de.Len != len(b) || de.Schema != c.Schema() {
			t.Fatalf("bad payload %d: implausible %+v", i, de)
		}
		if _, err := c.Recv(bg, &got); err != nil || checkPayload(&got, 3) != nil {
			t.Fatalf("after bad payload %d: %v", i, err)
		}
	}
	if st := c.Stats(); st.DecodeErrors != uint64(len(bad)) || st.Decoded != uint64(len(bad)) {
		t.Fatalf("stats %+v", st)
	}
}

// panicky is a codec with a bug: it panics on short input.
type panicky struct{}

func (panicky) Schema() typed.Schema                         { return typed.Schema{Codec: "panicky", Name: "x", Version: 1} }
func (panicky) Append(dst []byte, v *uint64) ([]byte, error) { return bincode.AppendU64(dst, *v), nil }
func (panicky) Decode(src []byte, v *uint64) error {
	*v = uint64(src[7]) // out of range on short input
	return nil
}
func (panicky) View(src []byte) (uint64, error) { return uint64(src[7]), nil }

// TestConsumer_CodecPanic: a panicking codec costs a *DecodeError wrapping
// a *PanicError, not the process.
func TestConsumer_CodecPanic(t *testing.T) {
	p, c := pair[uint64](t, panicky{}, panicky{}, typed.ConsumerConfig{})
	p.SendEncoded(bg, 0, []byte{1})
	var got uint64
	_, err := c.Recv(bg, &got)
	var pe *typed.PanicError
	if !errors.Is(err, typed.ErrDecode) || !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *DecodeError wrapping a *PanicError", err)
	}
}

// failing refuses to encode odd values.
type failing struct{ panicky }

var errOdd = errors.New("odd")

func (failing) Append(dst []byte, v *uint64) ([]byte, error) {
	if *v%2 == 1 {
		return dst, errOdd
	}
	return bincode.AppendU64(dst, *v), nil
}

// TestProducer_EncodeError: nothing is sent.
func TestProducer_EncodeError(t *testing.T) {
	p, c := pair[uint64](t, failing{}, failing{}, typed.ConsumerConfig{})
	one := uint64(1)
	if _, err := p.Send(bg, &one); !errors.Is(err, typed.ErrEncode) || !errors.Is(err, errOdd) {
		t.Fatalf("got %v", err)
	}
	if _, err := p.TrySend(&one); !errors.Is(err, typed.ErrEncode) {
		t.Fatalf("TrySend: got %v", err)
	}
	var got uint64
	if _, err := c.TryRecv(&got); !errors.Is(err, frame.ErrEmpty) {
		t.Fatalf("something was sent: %v", err)
	}
	if st := p.Stats(); st.EncodeErrors != 2 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestConsumer_BatchDecodeErrors: Process and All stop at a decode error
// (the message consumed) or, with SkipDecodeErrors, skip it.
func TestConsumer_BatchDecodeErrors(t *testing.T) {
	for _, skip := range []bool{false, true} {
		p, c := pair(t, payloadCodec(), payloadCodec(), typed.ConsumerConfig{SkipDecodeErrors: skip})
		var v testPayload
		sendAll := func() {
			for i := range uint64(4) {
				if i == 2 {
					p.SendEncoded(bg, 0, []byte{1, 2, 3})
					continue
				}
				payloadFor(&v, i)
				p.Send(bg, &v)
			}
		}
		var seen []uint64
		collect := func(m frame.Meta, v *testPayload) error {
			if err := checkPayload(v, v.ID); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, v.ID)
			return nil
		}
		sendAll()
		n, err := c.Process(bg, 0, collect)
		if !skip {
			if n != 2 || !errors.Is(err, typed.ErrDecode) {
				t.Fatalf("Process: %d, %v; want 2 and a decode error", n, err)
			}
			if n, err = c.Process(bg, 0, collect); n != 1 || err != nil {
				t.Fatalf("Process after the error: %d, %v", n, err)
			}
		} else if n != 3 || err != nil || c.LastDecodeError() == nil || c.LastDecodeError().ID != 3 {
			t.Fatalf("Process skipping: %d, %v, last %v", n, err, c.LastDecodeError())
		}
		if len(seen) != 3 || seen[2] != 3 {
			t.Fatalf("Process saw %v", seen)
		}

		seen = seen[:0]
		sendAll()
		p.Close()
		for m, v := range c.All(bg) {
			collect(m, v)
		}
		if !skip {
			if len(seen) != 2 || !errors.Is(c.Err(), typed.ErrDecode) {
				t.Fatalf("All: saw %v, err %v", seen, c.Err())
			}
			for m, v := range c.All(bg) {
				collect(m, v)
			}
		}
		if len(seen) != 3 || c.Err() != nil {
			t.Fatalf("All: saw %v, err %v", seen, c.Err())
		}
		if st := c.Stats(); st.DecodeErrors != 2 || st.Decoded != 6 {
			t.Fatalf("stats %+v", st)
		}
	}
}

// TestConsumer_ProcessFnError: fn's error stops Process; that message was
// delivered and consumed.
func TestConsumer_ProcessFnError(t *testing.T) {
	p, c := pair(t, payloadCodec(), payloadCodec(), typed.ConsumerConfig{})
	var v testPayload
	for i := range uint64(3) {
		payloadFor(&v, i)
		p.Send(bg, &v)
	}
	stop := errors.New("stop")
	n, err := c.Process(bg, 0, func(m frame.Meta, v *testPayload) error { return stop })
	if n != 1 || err != stop {
		t.Fatalf("Process: %d, %v", n, err)
	}
	n, err = c.TryProcess(0, func(m frame.Meta, v *testPayload) error { return checkPayload(v, m.ID-1) })
	if n != 2 || err != nil {
		t.Fatalf("TryProcess: %d, %v", n, err)
	}
	if n, err = c.TryProcess(0, nil); n != 0 || !errors.Is(err, frame.ErrEmpty) {
		t.Fatalf("TryProcess on empty: %d, %v", n, err)
	}
}

// TestView_Raw: zero-copy views of single-frame messages (in the slot)
// and of multi-frame ones (in the reassembly buffer), aligned and not.
func TestView_Raw(t *testing.T) {
	codec := raw.MustNew[tick]()
	for _, fc := range []typed.Config{
		{PayloadCapacity: 64},                // one frame, 8-byte aligned
		{PayloadCapacity: 64, Aligned: true}, // one frame, 16-byte aligned
		{PayloadCapacity: 16},                // three frames: reassembled
		{PayloadCapacity: 8, Aligned: true},  // six frames
	} {
		p, c := viewPair(t, codec, codec, fc, typed.ConsumerConfig{})
		for i := range uint64(5) {
			v := tickFor(i)
			p.Send(bg, &v)
		}
		next := uint64(0)
		check := func(m frame.Meta, v *tick) error {
			if *v != tickFor(next) {
				t.Fatalf("capacity %d: view %+v, want %+v", fc.PayloadCapacity, *v, tickFor(next))
			}
			if uintptr(unsafe.Pointer(v))%8 != 0 {
				t.Fatalf("view at %p", v)
			}
			next++
			return nil
		}
		if err := c.Read(bg, check); err != nil {
			t.Fatal(err)
		}
		if err := c.TryRead(check); err != nil {
			t.Fatal(err)
		}
		if err := c.Read(testfix.Context(t, time.Second), check); err != nil {
			t.Fatal(err)
		}
		if n, err := c.TryProcess(1, check); n != 1 || err != nil {
			t.Fatal(n, err)
		}
		p.Close()
		for m, v := range c.All(bg) {
			check(m, v)
		}
		if next != 5 || c.Err() != nil || c.Stats().Decoded != 5 {
			t.Fatalf("capacity %d: read %d, err %v, stats %+v", fc.PayloadCapacity, next, c.Err(), c.Stats())
		}
	}
}

// TestView_Errors: a wrong-sized payload is a *DecodeError and the
// callback is not called; another schema is a *SchemaError.
func TestView_Errors(t *testing.T) {
	codec := raw.MustNew[tick]()
	p, c := viewPair(t, codec, codec, typed.Config{PayloadCapacity: 16}, typed.ConsumerConfig{})
	p.SendEncoded(bg, 0, make([]byte, 47)) // multi-frame, one byte short
	called := false
	err := c.Read(bg, func(m frame.Meta, v *tick) error { called = true; return nil })
	var se *raw.SizeError
	if called || !errors.Is(err, typed.ErrDecode) || !errors.As(err, &se) || se.Got != 47 {
		t.Fatalf("short payload: called %v, err %v", called, err)
	}
	typed.FrameOf(p).SendFlags(bg, 0, codec.Schema().Tag()+1, make([]byte, 48))
	if err := c.Read(bg, func(m frame.Meta, v *tick) error { called = true; return nil }); called || !errors.Is(err, typed.ErrSchema) {
		t.Fatalf("other tag: called %v, err %v", called, err)
	}
}

// wide needs 16-byte alignment.
type wide struct{ raw.Codec[tick] }

func (wide) Alignment() int { return 16 }

func TestAttachView_Alignment(t *testing.T) {
	codec := raw.MustNew[tick]()
	name := heapName(t)
	p, err := typed.Create(name, codec, typed.Config{Backend: ring.Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = typed.AttachView(context.Background(), name, typed.ZeroCopyCodec[*tick](&wide{*codec}), typed.ConsumerConfig{Backend: ring.Heap})
	var ae *typed.AlignmentError
	if !errors.Is(err, typed.ErrAlignment) || !errors.As(err, &ae) || ae.Need != 16 || ae.Have != 8 {
		t.Fatalf("got %v, want an *AlignmentError", err)
	}
	name = heapName(t)
	p2, err := typed.Create(name, codec, typed.Config{Aligned: true, Backend: ring.Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	c, err := typed.AttachView(context.Background(), name, typed.ZeroCopyCodec[*tick](&wide{*codec}), typed.ConsumerConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatalf("aligned ring: %v", err)
	}
	c.Close()
}

func TestNew_NilArguments(t *testing.T) {
	if _, err := typed.Create[tick]("x", nil, typed.Config{}); !errors.Is(err, typed.ErrInvalidConfig) {
		t.Fatal(err)
	}
	if _, err := typed.Attach[tick](context.Background(), "x", nil, typed.ConsumerConfig{}); !errors.Is(err, typed.ErrInvalidConfig) {
		t.Fatal(err)
	}
	if _, err := typed.AttachView[*tick](context.Background(), "x", nil, typed.ConsumerConfig{}); !errors.Is(err, typed.ErrInvalidConfig) {
		t.Fatal(err)
	}
	if _, err := typed.Create[tick](heapName(t), nil, typed.Config{Backend: ring.Heap}); !errors.Is(err, typed.ErrInvalidConfig) {
		t.Fatal(err)
	}
	if _, err := typed.Create(heapName(t), raw.MustNew[tick](), typed.Config{Backend: ring.Heap, Meta: []byte{1}}); !errors.Is(err, typed.ErrInvalidConfig) {
		t.Fatalf("Create with Meta set: %v, want ErrInvalidConfig (the schema lives there)", err)
	}
}

// TestAllocs: Send and Recv allocate nothing with codec/raw and
// codec/bincode once buffers have grown (single- and multi-frame).
func TestAllocs(t *testing.T) {
	t.Run("bincode", func(t *testing.T) {
		p, c := pair(t, payloadCodec(), payloadCodec(), typed.ConsumerConfig{})
		v, got := new(testPayload), new(testPayload)
		i := uint64(0)
		payloadFor(v, 3) // 1024 tokens: five frames
		allocs := testing.AllocsPerRun(500, func() {
			payloadFor(v, i%14)
			i++
			if _, err := p.Send(bg, v); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(bg, got); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("Send+Recv: %v allocs, want 0", allocs)
		}
		allocs = testing.AllocsPerRun(500, func() {
			p.Send(bg, v)
			p.Send(bg, v)
			c.Process(bg, 0, func(m frame.Meta, v *testPayload) error { return nil })
		})
		if allocs != 0 {
			t.Fatalf("Send+Process: %v allocs, want 0", allocs)
		}
	})
	t.Run("raw", func(t *testing.T) {
		codec := raw.MustNew[tick]()
		p, c := pair(t, typed.Codec[tick](codec), typed.Codec[tick](codec), typed.ConsumerConfig{})
		v, got := new(tick), new(tick)
		allocs := testing.AllocsPerRun(1000, func() {
			v.Seq++
			p.Send(bg, v)
			if _, err := c.Recv(bg, got); err != nil || *got != *v {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("Send+Recv: %v allocs, want 0", allocs)
		}
	})
	t.Run("raw view", func(t *testing.T) {
		codec := raw.MustNew[tick]()
		p, c := viewPair(t, codec, codec, typed.Config{PayloadCapacity: 16}, typed.ConsumerConfig{})
		v := new(tick)
		var sum uint64
		allocs := testing.AllocsPerRun(1000, func() {
			v.Seq++
			p.Send(bg, v)
			c.Read(bg, func(m frame.Meta, t *tick) error { sum += t.Seq; return nil })
		})
		if allocs != 0 {
			t.Fatalf("Send+Read of a three-frame view: %v allocs, want 0", allocs)
		}
	})
}

// TestJoin: a second producer joins a multi-producer ring; a consumer
// receives both producers' values (ids are per producer).
func TestJoin(t *testing.T) {
	name := heapName(t)
	p1, err := typed.Create(name, payloadCodec(), typed.Config{PayloadCapacity: 1024, Backend: ring.Heap, Capacity: 64, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close()
	p2, err := typed.Join(context.Background(), name, payloadCodec(), frame.JoinConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	c, err := typed.Attach(context.Background(), name, payloadCodec(), typed.ConsumerConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var v, got testPayload
	payloadFor(&v, 1)
	p1.Send(bg, &v)
	payloadFor(&v, 2)
	p2.Send(bg, &v)
	for i := uint64(1); i <= 2; i++ {
		m, err := c.Recv(bg, &got)
		if err != nil || checkPayload(&got, i) != nil || m.ID != 1 {
			t.Fatalf("value %d: meta %+v, %v", i, m, err)
		}
	}
	if _, err := typed.Join[testPayload](context.Background(), name, nil, frame.JoinConfig{}); !errors.Is(err, typed.ErrInvalidConfig) {
		t.Fatal(err)
	}
}

// TestProducer_Require: a typed producer with required consumers waits for
// them before its first value (a *ring.StartupError naming the missing
// one when it gives up, from Send and TrySend alike), then applies the
// stall policy while blocked: nothing is lost for the required consumer.
func TestProducer_Require(t *testing.T) {
	name := heapName(t)
	p, err := typed.Create(name, raw.MustNew[tick](), typed.Config{Backend: ring.Heap, Capacity: 4, PayloadCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Require(ring.RequiredConfig{IDs: []string{"r"}, StartupTimeout: 20 * time.Millisecond,
		ProgressTimeout: 20 * time.Millisecond, GracePeriod: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	v := tickFor(0)
	var su *ring.StartupError
	if _, err := p.Send(bg, &v); !errors.As(err, &su) || len(su.Missing) != 1 || su.Missing[0] != "r" {
		t.Fatalf("Send without the required consumer: %v, want a *ring.StartupError naming r", err)
	}
	if _, err := p.TrySend(&v); !errors.As(err, &su) {
		t.Fatalf("TrySend without the required consumer: %v, want a *ring.StartupError", err)
	}
	c, err := typed.Attach(bg, name, raw.MustNew[tick](), typed.ConsumerConfig{Backend: ring.Heap, ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range uint64(4) {
		v = tickFor(i)
		if _, err := p.Send(bg, &v); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	// The ring is full and r reads nothing: the policy fails the send.
	var se *ring.StallError
	if _, err := p.Send(bg, &v); !errors.As(err, &se) || se.ID != "r" {
		t.Fatalf("Send past a stalled required consumer: %v, want a *ring.StallError for r", err)
	}
	var got tick
	for i := range uint64(4) {
		if _, err := c.Recv(bg, &got); err != nil || got != tickFor(i) {
			t.Fatalf("value %d: %+v %v", i, got, err)
		}
	}
}
