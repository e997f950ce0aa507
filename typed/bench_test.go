package typed_test

import (
	"context"
	"testing"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// echoMsg is a struct carrying bytes, as the myelon-typed bench peer
// sends.
type echoMsg struct {
	Seq  uint64
	Data []byte
}

func (m *echoMsg) AppendBincode(b []byte) []byte {
	return bincode.AppendBytes(bincode.AppendU64(b, m.Seq), m.Data)
}

func (m *echoMsg) UnmarshalBincode(r *bincode.Reader) error {
	m.Seq = r.U64()
	m.Data = r.BytesInto(m.Data)
	return r.Err()
}

// BenchmarkSendRecv measures one send and one receive in one goroutine on
// a heap ring: the CPU cost each layer adds, without the cross-core
// transfer that dominates a ping-pong between processes.
func BenchmarkSendRecv(b *testing.B) {
	ccfg := frame.ConsumerConfig{Backend: ring.Heap}
	payload := make([]byte, 64)
	b.Run("frame/Send+Read", func(b *testing.B) {
		name := heapName(b)
		p, _ := frame.Create(name, frame.Config{Backend: ring.Heap, Capacity: 64, PayloadCapacity: 256})
		defer p.Close()
		c, _ := frame.Attach(context.Background(), name, ccfg)
		defer c.Close()
		reply := make([]byte, 64)
		for b.Loop() {
			p.Send(bg, 0, payload)
			c.Read(bg, func(m frame.Meta, p []byte) error { copy(reply, p); return nil })
		}
	})
	b.Run("typed-bincode/Send+Recv", func(b *testing.B) {
		name := heapName(b)
		codec := bincode.New[echoMsg]("bench.Echo", 1)
		p, _ := typed.Create(name, codec, typed.Config{Backend: ring.Heap, Capacity: 64, PayloadCapacity: 256})
		defer p.Close()
		c, _ := typed.Attach(context.Background(), name, bincode.New[echoMsg]("bench.Echo", 1), typed.ConsumerConfig{Backend: ring.Heap})
		defer c.Close()
		v, got := &echoMsg{Data: payload}, &echoMsg{}
		for b.Loop() {
			p.Send(bg, v)
			c.Recv(bg, got)
		}
	})
	type raw64 struct{ A [8]uint64 }
	b.Run("typed-raw/Send+Recv", func(b *testing.B) {
		name := heapName(b)
		codec := raw.MustNew[raw64]()
		p, _ := typed.Create(name, codec, typed.Config{Backend: ring.Heap, Capacity: 64, PayloadCapacity: 256})
		defer p.Close()
		c, _ := typed.Attach(context.Background(), name, codec, typed.ConsumerConfig{Backend: ring.Heap})
		defer c.Close()
		v, got := &raw64{}, &raw64{}
		for b.Loop() {
			p.Send(bg, v)
			c.Recv(bg, got)
		}
	})
	b.Run("view-raw/Send+Read", func(b *testing.B) {
		name := heapName(b)
		codec := raw.MustNew[raw64]()
		p, _ := typed.Create(name, codec, typed.Config{Backend: ring.Heap, Capacity: 64, PayloadCapacity: 256})
		defer p.Close()
		c, _ := typed.AttachView(context.Background(), name, codec, typed.ConsumerConfig{Backend: ring.Heap})
		defer c.Close()
		v := &raw64{}
		var sum uint64
		for b.Loop() {
			p.Send(bg, v)
			c.Read(bg, func(m frame.Meta, v *raw64) error { sum += v.A[7]; return nil })
		}
	})
}
