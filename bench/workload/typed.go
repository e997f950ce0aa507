package workload

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/codec/flatbuffers/benchfb"
	"github.com/myelon-go/myelon/codec/msgpack"
	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/testrecord"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// The typed workload (Config.Workload Typed) sends the seed's TestPayload
// records (an id, 128 u32 token ids, 8 u32 block-table entries, a float and
// a short label), Config.Records of them per message, through a typed ring
// (Layer 2, or Layer 3 with Access View) in one of four codecs; every
// consumer checks every record it reads. Record i's fields derive from i
// alone, so a torn or misdecoded record shows. One way it measures
// messages and records per second (messages carry no send stamp, so there
// is no one-way latency); as a ping-pong (pingpong.go), the round trip.

// Codecs of the typed workload.
const (
	CodecBincode     = "bincode"
	CodecMsgpack     = "msgpack"
	CodecFlatbuffers = "flatbuffers"
	CodecRaw         = "raw"
)

// Access modes of the typed workload's consumers.
const (
	// AccessDecode decodes each message into an owned value (reused), then
	// reads the fields checked.
	AccessDecode = "decode"
	// AccessView reads the same fields in place in the ring slot, through
	// the codec's zero-copy view (flatbuffers, verified; raw).
	AccessView = "view"
)

// recordTokens and recordBlocks are the TestPayload's vector lengths.
const (
	recordTokens = 128
	recordBlocks = 8
)

// fillRecord fills p (reusing its slices) as record i.
func fillRecord(p *testrecord.Payload, i uint64) {
	p.ID = i
	p.TokenIDs = p.TokenIDs[:0]
	for k := range recordTokens {
		p.TokenIDs = append(p.TokenIDs, uint32(i)*31+uint32(k))
	}
	p.BlockTable = p.BlockTable[:0]
	for k := range recordBlocks {
		p.BlockTable = append(p.BlockTable, uint32(i>>3)+uint32(k))
	}
	p.Temperature = temperature(i)
	p.Label = appendLabel(p.Label[:0], i)
}

// appendLabel appends record i's label, "seq_<i>" (strconv, not fmt:
// boxing i would allocate once per record).
func appendLabel(dst []byte, i uint64) []byte {
	return strconv.AppendUint(append(dst, "seq_"...), i, 10)
}

func temperature(i uint64) float32 { return 0.7 + float32(i%10)/100 }

// digits is the number of decimal digits of i.
func digits(i uint64) int {
	n := 1
	for ; i >= 10; i /= 10 {
		n++
	}
	return n
}

// RecordError reports a record whose fields are not record i's.
type RecordError struct {
	Record uint64
	Field  string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("workload: record %d: wrong %s", e.Record, e.Field)
}

// checkFields checks what a consumer reads of record i, whatever the
// access: the id, the first and last token ids, the first and last block,
// the temperature, the label's length.
func checkFields(i, id uint64, ntok int, tok0, tokN uint32, nblk int, blk0, blkN uint32, temp float32, labelLen int) error {
	switch {
	case id != i:
		return &RecordError{i, "id"}
	case ntok != recordTokens || tok0 != uint32(i)*31 || tokN != uint32(i)*31+recordTokens-1:
		return &RecordError{i, "token ids"}
	case nblk != recordBlocks || blk0 != uint32(i>>3) || blkN != uint32(i>>3)+recordBlocks-1:
		return &RecordError{i, "block table"}
	case math.Float32bits(temp) != math.Float32bits(temperature(i)):
		return &RecordError{i, "temperature"}
	case labelLen != len("seq_")+digits(i):
		return &RecordError{i, "label"}
	}
	return nil
}

// bincodeBatch is Vec<TestPayload> in bincode.
type bincodeBatch struct{ Entries []testrecord.Payload }

// AppendBincode implements bincode.Marshaler.
func (b *bincodeBatch) AppendBincode(dst []byte) []byte {
	dst = bincode.AppendLen(dst, len(b.Entries))
	for i := range b.Entries {
		dst = b.Entries[i].AppendBincode(dst)
	}
	return dst
}

// UnmarshalBincode implements bincode.Unmarshaler, reusing the entries.
func (b *bincodeBatch) UnmarshalBincode(r *bincode.Reader) error {
	n := r.SeqLen(8 + 8 + 8 + 4 + 8) // the smallest encoded record
	if cap(b.Entries) < n {
		b.Entries = append(b.Entries[:cap(b.Entries)], make([]testrecord.Payload, n-cap(b.Entries))...)
	}
	b.Entries = b.Entries[:n]
	for i := range b.Entries {
		if err := b.Entries[i].UnmarshalBincode(r); err != nil {
			return err
		}
	}
	return r.Err()
}

// msgpackBatch is the batch in MessagePack (a map per record).
type msgpackBatch struct{ Entries []testrecord.Payload }

// rawRecord is TestPayload as a fixed-size, pointer-free struct.
type rawRecord struct {
	ID          uint64
	TokenIDs    [recordTokens]uint32
	BlockTable  [recordBlocks]uint32
	Temperature float32
	LabelLen    uint32
	Label       [24]byte
}

// The raw codec's batches: one type per batch size, since an array's
// length is part of its type.
type (
	rawBatch1   struct{ Entries [1]rawRecord }
	rawBatch8   struct{ Entries [8]rawRecord }
	rawBatch64  struct{ Entries [64]rawRecord }
	rawBatch256 struct{ Entries [256]rawRecord }
)

// RecordsPerMessage are the batch sizes the typed workload runs (the
// seed's).
var RecordsPerMessage = []int{1, 8, 64, 256}

func fillRaw(r *rawRecord, i uint64) {
	r.ID = i
	for k := range r.TokenIDs {
		r.TokenIDs[k] = uint32(i)*31 + uint32(k)
	}
	for k := range r.BlockTable {
		r.BlockTable[k] = uint32(i>>3) + uint32(k)
	}
	r.Temperature = temperature(i)
	r.LabelLen = uint32(copy(r.Label[:], appendLabel(r.Label[:0], i)))
}

func checkRaw(r *rawRecord, i uint64) error {
	return checkFields(i, r.ID, len(r.TokenIDs), r.TokenIDs[0], r.TokenIDs[recordTokens-1], len(r.BlockTable), r.BlockTable[0], r.BlockTable[recordBlocks-1], r.Temperature, int(r.LabelLen))
}

func checkPayload(p *testrecord.Payload, i uint64) error {
	if len(p.TokenIDs) == 0 || len(p.BlockTable) == 0 {
		return &RecordError{i, "vectors"}
	}
	return checkFields(i, p.ID, len(p.TokenIDs), p.TokenIDs[0], p.TokenIDs[len(p.TokenIDs)-1], len(p.BlockTable), p.BlockTable[0], p.BlockTable[len(p.BlockTable)-1], p.Temperature, len(p.Label))
}

func checkFB(p *benchfb.TestPayload, i uint64) error {
	nt, nb := p.TokenIdsLength(), p.BlockTableLength()
	if nt == 0 || nb == 0 {
		return &RecordError{i, "vectors"}
	}
	return checkFields(i, p.Id(), nt, p.TokenIds(0), p.TokenIds(nt-1), nb, p.BlockTable(0), p.BlockTable(nb-1), p.Temperature(), len(p.Label()))
}

// typedLane is one codec's typed workload: how to make the producer and
// the consumer ends. Message m holds records m*Records .. m*Records+Records-1.
type typedLane struct {
	// sample returns the encoded size of a message, for the ring geometry.
	sample func(records int) (int, error)
	create func(name string, cfg typed.Config, records int) (publisher, error)
	attach func(ctx context.Context, name string, cfg typed.ConsumerConfig, records int, access string) (subscriber, error)
}

// typedPub sends messages of records built by fill.
type typedPub[T any] struct {
	p    *typed.Producer[T]
	name string
	v    *T
	fill func(v *T, first uint64)
	recs uint64
	seq  uint64
}

// publish sends k messages; typed messages are their records, derived
// from the message's sequence number, so the byte fill is not used.
func (t *typedPub[T]) publish(ctx context.Context, k int, _ func(int64, []byte)) error {
	for range k {
		t.stage()
		if err := t.sendStaged(ctx); err != nil {
			return err
		}
	}
	return nil
}

// stage builds the next message's records in the reused value.
func (t *typedPub[T]) stage() { t.fill(t.v, t.seq*t.recs) }

// sendStaged encodes the staged message into the ring.
func (t *typedPub[T]) sendStaged(ctx context.Context) error {
	if _, err := t.p.Send(ctx, t.v); err != nil {
		return err
	}
	t.seq++
	return nil
}

func (t *typedPub[T]) waitConsumers(ctx context.Context, n int) error {
	return t.p.WaitForConsumers(ctx, n, "")
}
func (t *typedPub[T]) link() (string, []*os.File) { return t.name, nil }
func (t *typedPub[T]) close() error               { return t.p.Close() }

// checker checks message after message (message m holds records
// m*recs on) and hands each to the consumer loop's read.
type checker[V any] struct {
	check func(v V, first uint64) error
	recs  uint64
	seq   int64
}

func (c *checker[V]) take(v V, read func(int64, []byte) error) error {
	if err := c.check(v, uint64(c.seq)*c.recs); err != nil {
		return err
	}
	c.seq++
	return read(c.seq-1, nil)
}

// endOf maps a layer's end of stream to errEnd.
func endOf(err error) error {
	if errors.Is(err, frame.ErrEndOfStream) {
		return errEnd
	}
	return err
}

// typedSub decodes each message into an owned value and checks it.
type typedSub[T any] struct {
	c *typed.Consumer[T]
	checker[*T]
}

func (t *typedSub[T]) next(ctx context.Context, read func(int64, []byte) error) error {
	_, err := t.c.Process(ctx, 0, func(_ typed.Meta, v *T) error { return t.take(v, read) })
	return endOf(err)
}

func (t *typedSub[T]) close() error { return t.c.Close() }

// viewSub reads each message in place through a zero-copy view.
type viewSub[V any] struct {
	c *typed.ViewConsumer[V]
	checker[V]
}

func (t *viewSub[V]) next(ctx context.Context, read func(int64, []byte) error) error {
	return endOf(t.c.Read(ctx, func(_ frame.Meta, v V) error { return t.take(v, read) }))
}

func (t *viewSub[V]) close() error { return t.c.Close() }

// encodedSize encodes v with c.
func encodedSize[T any](c typed.Codec[T], v *T) (int, error) {
	b, err := c.Append(nil, v)
	return len(b), err
}

func newTypedPub[T any](name string, c typed.Codec[T], cfg typed.Config, fill func(*T, uint64), records int) (publisher, error) {
	p, err := typed.Create(name, c, cfg)
	if err != nil {
		return nil, err
	}
	return &typedPub[T]{p: p, name: name, v: new(T), fill: fill, recs: uint64(records)}, nil
}

func newTypedSub[T any](ctx context.Context, name string, c typed.Codec[T], cfg typed.ConsumerConfig, check func(*T, uint64) error, records int) (subscriber, error) {
	tc, err := typed.Attach(ctx, name, c, cfg)
	if err != nil {
		return nil, err
	}
	return &typedSub[T]{c: tc, checker: checker[*T]{check: check, recs: uint64(records)}}, nil
}

func newViewSub[V any](ctx context.Context, name string, c typed.ZeroCopyCodec[V], cfg typed.ConsumerConfig, check func(V, uint64) error, records int) (subscriber, error) {
	vc, err := typed.AttachView(ctx, name, c, cfg)
	if err != nil {
		return nil, err
	}
	return &viewSub[V]{c: vc, checker: checker[V]{check: check, recs: uint64(records)}}, nil
}

// payloads fills entries with records first, first+1, ...
func payloads(entries []testrecord.Payload, first uint64) {
	for k := range entries {
		fillRecord(&entries[k], first+uint64(k))
	}
}

func checkPayloads(entries []testrecord.Payload, first uint64, records int) error {
	if len(entries) != records {
		return &RecordError{first, "record count"}
	}
	for k := range entries {
		if err := checkPayload(&entries[k], first+uint64(k)); err != nil {
			return err
		}
	}
	return nil
}

var typedLanes = map[string]typedLane{
	CodecBincode: {
		sample: func(n int) (int, error) {
			v := &bincodeBatch{Entries: make([]testrecord.Payload, n)}
			payloads(v.Entries, 1<<40)
			return encodedSize(bincodeCodec(), v)
		},
		create: func(name string, cfg typed.Config, n int) (publisher, error) {
			return newTypedPub(name, bincodeCodec(), cfg, func(v *bincodeBatch, first uint64) {
				if len(v.Entries) != n {
					v.Entries = make([]testrecord.Payload, n)
				}
				payloads(v.Entries, first)
			}, n)
		},
		attach: func(ctx context.Context, name string, cfg typed.ConsumerConfig, n int, _ string) (subscriber, error) {
			return newTypedSub(ctx, name, bincodeCodec(), cfg, func(v *bincodeBatch, first uint64) error { return checkPayloads(v.Entries, first, n) }, n)
		},
	},
	CodecMsgpack: {
		sample: func(n int) (int, error) {
			v := &msgpackBatch{Entries: make([]testrecord.Payload, n)}
			payloads(v.Entries, 1<<40)
			return encodedSize[msgpackBatch](msgpack.New[msgpackBatch]("bench.PayloadBatch", 1), v)
		},
		create: func(name string, cfg typed.Config, n int) (publisher, error) {
			return newTypedPub(name, msgpack.New[msgpackBatch]("bench.PayloadBatch", 1), cfg, func(v *msgpackBatch, first uint64) {
				if len(v.Entries) != n {
					v.Entries = make([]testrecord.Payload, n)
				}
				payloads(v.Entries, first)
			}, n)
		},
		attach: func(ctx context.Context, name string, cfg typed.ConsumerConfig, n int, _ string) (subscriber, error) {
			return newTypedSub(ctx, name, msgpack.New[msgpackBatch]("bench.PayloadBatch", 1), cfg,
				func(v *msgpackBatch, first uint64) error { return checkPayloads(v.Entries, first, n) }, n)
		},
	},
	CodecFlatbuffers: {
		sample: func(n int) (int, error) {
			v := fbBatch(nil, n)
			fillFB(v, 1<<40)
			return encodedSize[benchfb.PayloadBatchT](benchfb.NewPayloadBatchCodec(), v)
		},
		create: func(name string, cfg typed.Config, n int) (publisher, error) {
			return newTypedPub(name, benchfb.NewPayloadBatchCodec(), cfg, func(v *benchfb.PayloadBatchT, first uint64) {
				fillFB(fbBatch(v, n), first)
			}, n)
		},
		attach: func(ctx context.Context, name string, cfg typed.ConsumerConfig, n int, access string) (subscriber, error) {
			if access == AccessView {
				var e benchfb.TestPayload
				return newViewSub(ctx, name, benchfb.NewPayloadBatchView(), cfg, func(v *benchfb.PayloadBatch, first uint64) error {
					if v.EntriesLength() != n {
						return &RecordError{first, "record count"}
					}
					for k := range n {
						if !v.Entries(&e, k) {
							return &RecordError{first + uint64(k), "entry"}
						}
						if err := checkFB(&e, first+uint64(k)); err != nil {
							return err
						}
					}
					return nil
				}, n)
			}
			return newTypedSub(ctx, name, benchfb.NewPayloadBatchCodec(), cfg, func(v *benchfb.PayloadBatchT, first uint64) error {
				if len(v.Entries) != n {
					return &RecordError{first, "record count"}
				}
				for k, e := range v.Entries {
					p := testrecord.Payload{ID: e.Id, TokenIDs: e.TokenIds, BlockTable: e.BlockTable, Temperature: e.Temperature, Label: []byte(e.Label)}
					if err := checkPayload(&p, first+uint64(k)); err != nil {
						return err
					}
				}
				return nil
			}, n)
		},
	},
	CodecRaw: {
		sample: func(n int) (int, error) { return rawSize(n) },
		create: func(name string, cfg typed.Config, n int) (publisher, error) {
			switch n {
			case 1:
				return newRawPub[rawBatch1](name, cfg, n)
			case 8:
				return newRawPub[rawBatch8](name, cfg, n)
			case 64:
				return newRawPub[rawBatch64](name, cfg, n)
			}
			return newRawPub[rawBatch256](name, cfg, n)
		},
		attach: func(ctx context.Context, name string, cfg typed.ConsumerConfig, n int, access string) (subscriber, error) {
			switch n {
			case 1:
				return newRawSub[rawBatch1](ctx, name, cfg, n, access)
			case 8:
				return newRawSub[rawBatch8](ctx, name, cfg, n, access)
			case 64:
				return newRawSub[rawBatch64](ctx, name, cfg, n, access)
			}
			return newRawSub[rawBatch256](ctx, name, cfg, n, access)
		},
	},
}

func bincodeCodec() *bincode.Codec[bincodeBatch, *bincodeBatch] {
	return bincode.New[bincodeBatch]("bench.PayloadBatch", 1)
}

// fbBatch resizes v (nil: a new one) to n entries.
func fbBatch(v *benchfb.PayloadBatchT, n int) *benchfb.PayloadBatchT {
	if v == nil {
		v = new(benchfb.PayloadBatchT)
	}
	for len(v.Entries) < n {
		v.Entries = append(v.Entries, new(benchfb.TestPayloadT))
	}
	v.Entries = v.Entries[:n]
	return v
}

func fillFB(v *benchfb.PayloadBatchT, first uint64) {
	var p testrecord.Payload
	for k, e := range v.Entries {
		p.TokenIDs, p.BlockTable = e.TokenIds, e.BlockTable
		fillRecord(&p, first+uint64(k))
		e.Id, e.TokenIds, e.BlockTable, e.Temperature, e.Label = p.ID, p.TokenIDs, p.BlockTable, p.Temperature, string(p.Label)
	}
}

// rawEntries is implemented by the raw batch types.
type rawEntries interface {
	rawBatch1 | rawBatch8 | rawBatch64 | rawBatch256
}

func entriesOf[T rawEntries](v *T) []rawRecord {
	switch b := any(v).(type) {
	case *rawBatch1:
		return b.Entries[:]
	case *rawBatch8:
		return b.Entries[:]
	case *rawBatch64:
		return b.Entries[:]
	case *rawBatch256:
		return b.Entries[:]
	}
	return nil
}

func rawSize(n int) (int, error) {
	switch n {
	case 1:
		return raw.MustNew[rawBatch1]().Size(), nil
	case 8:
		return raw.MustNew[rawBatch8]().Size(), nil
	case 64:
		return raw.MustNew[rawBatch64]().Size(), nil
	case 256:
		return raw.MustNew[rawBatch256]().Size(), nil
	}
	return 0, fmt.Errorf("workload: raw codec: records=%d: want one of %v", n, RecordsPerMessage)
}

func newRawPub[T rawEntries](name string, cfg typed.Config, n int) (publisher, error) {
	return newTypedPub(name, raw.MustNew[T](), cfg, func(v *T, first uint64) {
		es := entriesOf(v)
		for k := range es {
			fillRaw(&es[k], first+uint64(k))
		}
	}, n)
}

func checkRawBatch(es []rawRecord, first uint64) error {
	for k := range es {
		if err := checkRaw(&es[k], first+uint64(k)); err != nil {
			return err
		}
	}
	return nil
}

func newRawSub[T rawEntries](ctx context.Context, name string, cfg typed.ConsumerConfig, n int, access string) (subscriber, error) {
	if access == AccessView {
		return newViewSub(ctx, name, raw.MustNew[T](), cfg, func(v *T, first uint64) error { return checkRawBatch(entriesOf(v), first) }, n)
	}
	return newTypedSub(ctx, name, raw.MustNew[T](), cfg, func(v *T, first uint64) error { return checkRawBatch(entriesOf(v), first) }, n)
}

// typedGeometry is the frame geometry of a typed run: one message per
// frame (messages of the encoded size, in whole cache lines, aligned for
// views), and a ring of at most 64 MiB.
func typedGeometry(cfg Config) (payload, capacity int) {
	payload = (cfg.Size + 32 + 63) &^ 63
	capacity = 1024
	for capacity > 2 && capacity*payload > 64<<20 {
		capacity /= 2
	}
	return payload, capacity
}

func newTypedPublisher(cfg Config, name string, backend ring.Backend, ws ring.WaitStrategy) (publisher, error) {
	payload, capacity := typedGeometry(cfg)
	return typedLanes[cfg.Codec].create(name, typed.Config{Backend: backend, Capacity: capacity, MaxConsumers: cfg.Consumers + 1, Wait: ws, Populate: true,
		PayloadCapacity: payload, MaxMessageSize: max(payload, frame.DefaultMaxMessageSize), Aligned: true}, cfg.Records)
}

func newTypedSubscriber(ctx context.Context, cfg Config, name, id string, backend ring.Backend, ws ring.WaitStrategy) (subscriber, error) {
	payload, _ := typedGeometry(cfg)
	return typedLanes[cfg.Codec].attach(ctx, name, typed.ConsumerConfig{Backend: backend, ID: id, Wait: ws, Start: ring.StartAt(0), PayloadCapacity: payload, Aligned: true},
		cfg.Records, cfg.Access)
}

// AccessResult compares reading one message of Records records in place
// (the zero-copy view) with decoding it into an owned value, both followed
// by the same checks of every record, in one goroutine: no ring, no
// other process.
type AccessResult struct {
	Codec   string `json:"codec"`
	Records int    `json:"records"`
	Bytes   int    `json:"message_bytes"`
	// DecodeNs is the time per message of decode and check.
	DecodeNs float64 `json:"decode_ns"`
	// ViewNs is the time per message of view (with the codec's
	// validation) and check; 0 for codecs without a view.
	ViewNs float64 `json:"view_ns,omitempty"`
	// Speedup is DecodeNs / ViewNs.
	Speedup float64 `json:"speedup,omitempty"`
}

// HasView reports whether a codec has a zero-copy view.
func HasView(codec string) bool { return codec == CodecFlatbuffers || codec == CodecRaw }

// accessKit encodes a message of n records and returns it with the
// decode-and-check and view-and-check of it (view nil without a view).
func accessKit(codec string, n int) (msg []byte, decode, view func([]byte) error, err error) {
	const first = 1 << 40
	switch codec {
	case CodecBincode:
		msg, decode, err = payloadKit(bincodeCodec(), &bincodeBatch{Entries: make([]testrecord.Payload, n)},
			func(v *bincodeBatch) []testrecord.Payload { return v.Entries }, first, n)
	case CodecMsgpack:
		msg, decode, err = payloadKit(msgpack.New[msgpackBatch]("bench.PayloadBatch", 1), &msgpackBatch{Entries: make([]testrecord.Payload, n)},
			func(v *msgpackBatch) []testrecord.Payload { return v.Entries }, first, n)
	case CodecFlatbuffers:
		c, vc, v := benchfb.NewPayloadBatchCodec(), benchfb.NewPayloadBatchView(), fbBatch(nil, n)
		fillFB(v, first)
		msg, err = c.Append(nil, v)
		check := func(v *benchfb.PayloadBatchT) error {
			for k, e := range v.Entries {
				p := testrecord.Payload{ID: e.Id, TokenIDs: e.TokenIds, BlockTable: e.BlockTable, Temperature: e.Temperature, Label: []byte(e.Label)}
				if err := checkPayload(&p, first+uint64(k)); err != nil {
					return err
				}
			}
			return nil
		}
		decode = func(b []byte) error {
			if err := c.Decode(b, v); err != nil {
				return err
			}
			return check(v)
		}
		var e benchfb.TestPayload
		view = func(b []byte) error {
			pv, err := vc.View(b)
			if err != nil {
				return err
			}
			for k := range pv.EntriesLength() {
				pv.Entries(&e, k)
				if err := checkFB(&e, first+uint64(k)); err != nil {
					return err
				}
			}
			return nil
		}
	case CodecRaw:
		switch n {
		case 1:
			return rawKit[rawBatch1](first)
		case 8:
			return rawKit[rawBatch8](first)
		case 64:
			return rawKit[rawBatch64](first)
		}
		return rawKit[rawBatch256](first)
	default:
		err = fmt.Errorf("workload: unknown codec %q", codec)
	}
	return msg, decode, view, err
}

// payloadKit is accessKit for a codec of a batch v of n testrecord.Payload
// entries, records first on; entries returns v's (a decode may replace
// them).
func payloadKit[T any](c typed.Codec[T], v *T, entries func(*T) []testrecord.Payload, first uint64, n int) (msg []byte, decode func([]byte) error, err error) {
	payloads(entries(v), first)
	msg, err = c.Append(nil, v)
	decode = func(b []byte) error {
		if err := c.Decode(b, v); err != nil {
			return err
		}
		return checkPayloads(entries(v), first, n)
	}
	return msg, decode, err
}

func rawKit[T rawEntries](first uint64) (msg []byte, decode, view func([]byte) error, err error) {
	c, v := raw.MustNew[T](), new(T)
	es := entriesOf(v)
	for k := range es {
		fillRaw(&es[k], first+uint64(k))
	}
	msg, err = c.Append(nil, v)
	decode = func(b []byte) error {
		if err := c.Decode(b, v); err != nil {
			return err
		}
		return checkRawBatch(entriesOf(v), first)
	}
	view = func(b []byte) error {
		pv, err := c.View(b)
		if err != nil {
			return err
		}
		return checkRawBatch(entriesOf(pv), first)
	}
	return msg, decode, view, err
}

// AccessVsDecode measures codec's decode against its view for messages of
// records records, each for about d (see perMessage).
func AccessVsDecode(codec string, records int, d time.Duration) (AccessResult, error) {
	msg, decode, view, err := accessKit(codec, records)
	if err != nil {
		return AccessResult{}, err
	}
	r := AccessResult{Codec: codec, Records: records, Bytes: len(msg)}
	if r.DecodeNs, err = perMessage(msg, decode, d); err != nil {
		return r, err
	}
	if view != nil {
		if r.ViewNs, err = perMessage(msg, view, d); err != nil {
			return r, err
		}
		r.Speedup = r.DecodeNs / r.ViewNs
	}
	return r, nil
}

// perMessage is the time of read(msg): the fastest mean over five
// windows of about d/5 each (at least 100 messages each). On a shared host
// a window can only be slowed down by others, never sped up, so the
// fastest is the closest to the code's own cost.
func perMessage(msg []byte, read func([]byte) error, d time.Duration) (float64, error) {
	if err := read(msg); err != nil { // warm, and check once
		return 0, err
	}
	best := math.Inf(1)
	for range 5 {
		start := time.Now()
		n := 0
		for ; n < 100 || n%64 != 0 || time.Since(start) < d/5; n++ {
			if err := read(msg); err != nil {
				return 0, err
			}
		}
		best = min(best, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	return best, nil
}
