// Package layers registers myelon's own layers as bench/peers peers, so
// that `myelon bench` measures them on exactly the contract, payloads and
// processes it uses for the reference and for every other transport.
//
//	myelon-ring    Layer 0: two byte-slot rings (ping, pong), one message in flight
//
// Import it for its side effect in both the measuring and the echo
// process (the CLI's main does) before peers.MaybeRunChild.
package layers
