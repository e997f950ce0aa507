// Package flatbuffers adapts FlatBuffers (github.com/google/flatbuffers)
// to package typed: a verifier for untrusted buffers (the Go runtime has
// none, and its accessors index slices unchecked, so a garbage buffer
// makes them panic), a zero-copy view codec (Layer 3) over flatc-generated
// tables, and an owned codec (Layer 2) over flatc's object API.
//
// Generated code for a schema lives in its own package; benchfb holds the
// bench schema of the seed (TestPayload, PayloadBatch) and Echo, the
// `myelon bench` ping-pong message, with hand-written verifiers and
// ready-made codecs. For a schema of your own, generate Go code with flatc
// (Debian's flatbuffers-compiler 2.0.8 output compiles against the v25
// runtime), write its verify function with Verifier, and wrap it with
// NewView and NewCodec.
//
// # Verification
//
// A Verifier checks, before any accessor runs, everything the generated
// accessors will dereference: the root offset, each table's vtable (size,
// bounds) and inline size, every present field inside its table, every
// vector's and string's length against the buffer, nested tables to a
// depth limit and the number of tables visited (a buffer can reference one
// table many times). A verified buffer can be read with the generated
// accessors without panicking, as long as its bytes do not change (see
// package typed on who may write a ring slot).
//
// Alignment: the Go runtime reads scalars with encoding/binary, so views
// need no particular payload alignment.
package flatbuffers
