package benchfb

import (
	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/myelon-go/myelon/codec/flatbuffers"
)

// Schema names of bench.fbs's root types (version 1).
const (
	TestPayloadSchema  = "benchfb.TestPayload"
	PayloadBatchSchema = "benchfb.PayloadBatch"
	EchoSchema         = "benchfb.Echo"
)

// NewTestPayloadView returns a verifying zero-copy codec of TestPayload
// roots.
func NewTestPayloadView() *fb.View[TestPayload, *TestPayload] {
	return fb.NewView[TestPayload](TestPayloadSchema, 1, VerifyTestPayload)
}

// NewPayloadBatchView returns a verifying zero-copy codec of PayloadBatch
// roots (the seed's typed zero-copy message).
func NewPayloadBatchView() *fb.View[PayloadBatch, *PayloadBatch] {
	return fb.NewView[PayloadBatch](PayloadBatchSchema, 1, VerifyPayloadBatch)
}

// NewEchoView returns a verifying zero-copy codec of Echo roots.
func NewEchoView() *fb.View[Echo, *Echo] {
	return fb.NewView[Echo](EchoSchema, 1, VerifyEcho)
}

// NewTestPayloadCodec returns an owned codec of TestPayloadT (object API).
func NewTestPayloadCodec() *fb.Codec[TestPayloadT] {
	return fb.NewCodec(TestPayloadSchema, 1, VerifyTestPayload,
		func(b *flatbuffers.Builder, v *TestPayloadT) flatbuffers.UOffsetT { return v.Pack(b) },
		func(buf []byte, v *TestPayloadT) { GetRootAsTestPayload(buf, 0).UnPackTo(v) })
}

// NewPayloadBatchCodec returns an owned codec of PayloadBatchT.
func NewPayloadBatchCodec() *fb.Codec[PayloadBatchT] {
	return fb.NewCodec(PayloadBatchSchema, 1, VerifyPayloadBatch,
		func(b *flatbuffers.Builder, v *PayloadBatchT) flatbuffers.UOffsetT { return v.Pack(b) },
		func(buf []byte, v *PayloadBatchT) { GetRootAsPayloadBatch(buf, 0).UnPackTo(v) })
}

// NewEchoCodec returns an owned codec of EchoT.
func NewEchoCodec() *fb.Codec[EchoT] {
	return fb.NewCodec(EchoSchema, 1, VerifyEcho,
		func(b *flatbuffers.Builder, v *EchoT) flatbuffers.UOffsetT { return v.Pack(b) },
		func(buf []byte, v *EchoT) { GetRootAsEcho(buf, 0).UnPackTo(v) })
}

// AppendEcho builds an Echo {seq, data} in b (Reset first) and returns
// the finished bytes, which alias b's buffer until its next use. It
// allocates nothing once b has grown.
func AppendEcho(b *flatbuffers.Builder, seq uint64, data []byte) []byte {
	b.Reset()
	d := b.CreateByteVector(data)
	EchoStart(b)
	EchoAddSeq(b, seq)
	EchoAddData(b, d)
	b.Finish(EchoEnd(b))
	return b.FinishedBytes()
}
