// Package layers registers myelon's own layers as bench/peers peers, so
// that `myelon bench` measures them on exactly the contract, payloads and
// processes it uses for the reference and for every other transport.
//
//	myelon-ring      Layer 0: two byte-slot rings (ping, pong), one message in flight
//	myelon-framed    Layer 1: two frame rings; the echo re-sends the borrowed payload
//	myelon-typed     Layer 2: struct {seq, data} in bincode, encoded and decoded both ways
//	myelon-zerocopy  Layer 3: flatbuffers Echo {seq, data}, verified and read in place
//	myelon-rawview   Layer 3: the raw codec's view, a pointer into the slot (64 B and 4 KiB only)
//
// The framed peers use rings of 64 frames whose slots hold the frame
// header and the encoded message in whole cache lines, at most 64 KiB;
// larger messages are fragmented (and reassembled on the receiving side,
// where the borrowed and zero-copy reads then see the reassembly buffer).
// The typed and zero-copy peers carry the message inside a codec's
// encoding, so their frames hold 16 (bincode) or about 40 (flatbuffers) bytes
// more than the message size reported.
//
// Import it for its side effect in both the measuring and the echo
// process (the CLI's main does) before peers.MaybeRunChild.
package layers
