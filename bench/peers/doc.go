// Package peers runs the ping-pong benchmark contract over the transports a
// Go user would pick instead of myelon, plus the raw atomic reference that
// is the physical floor every shared-memory transport is compared with.
//
// # The contract
//
// Two OS processes: the initiator (the caller of [Run]) and the echo
// process, which is the same executable started again with a role in its
// environment. One message of [Config.Size] bytes is in flight at a time.
// For every message the initiator stamps its private buffer with the
// sequence number and a per-cache-line pattern ([Fill]), takes the time,
// hands the buffer to the transport, waits for the echo, takes the time
// again and checks every stamp of the reply ([Verify]). The echo process
// receives each message, checks its sequence number ([CheckSeq]) and sends
// the bytes back, so the payload is touched on both sides. Only the
// transport's send, the echo and the receive lie between the two clock
// readings; stamping and checking do not, but they do count in the achieved
// rate, which is measured over the wall time of the whole measured loop.
// [Config.Warmup] round trips come first and are not recorded.
// [Config.CPUs] pins the measuring thread and the echoing thread.
//
// In fixed-rate mode ([Config.Rate] > 0) message i is sent at its intended
// time from a [hist.Schedule]; [Result.Latency] is measured from the actual
// send and [Result.Corrected] from the intended send time, which corrects
// coordinated omission.
//
// # Peers
//
//	raw-atomic  two processes share one mmapped file under /dev/shm, laid
//	            out as the myelon-ring lane's two rings: Depth(SlotSize(Size))
//	            request slots and as many reply slots. The initiator copies
//	            message n into request slot n % Depth and stores n+1 in word
//	            A; the echo spins on A, checks it, copies it into reply slot
//	            n % Depth and stores B; the initiator spins on B and copies
//	            the reply out. The ring lane's footprint and access pattern
//	            without its protocol, and no kernel, no wake-up, no yield to
//	            other processes: a lower bound of every myelon lane at every
//	            size. At Size 8 it is the bare two-word ping-pong.
//	chan        two goroutines and two Go channels in one process (for scale).
//	uds         Unix domain stream socket.
//	pipe        a pair of pipes handed to the echo process as descriptors.
//	tcp         TCP over 127.0.0.1.
//	shmipc      github.com/cloudwego/shmipc-go v0.2.0 over a Unix socket, memfd
//	            shared memory, one stream.
//	grpc-uds    gRPC over a Unix socket: one bidirectional stream, raw-bytes
//	            codec (no protobuf), one message per round trip.
//	zmq-ipc     ZeroMQ PAIR sockets over ipc:// (github.com/go-zeromq/zmq4,
//	            pure Go).
//
// The library peers (shmipc, grpc-uds, zmq-ipc) allocate on their own hot
// paths; the others do not.
//
// # Processes
//
// The echo process is os.Executable() started with no arguments and the
// variable MYELON_BENCH_PEERS_CHILD in its environment. The program must
// therefore call [MaybeRunChild] first thing in main (and a test binary in
// TestMain): when the variable is set it runs the echo role and exits.
//
//	func main() {
//		peers.MaybeRunChild() // never returns in an echo process
//		// ... flags, then peers.Run(ctx, peers.UnixSocket, cfg) ...
//	}
//
// [Run] refuses to run inside an echo process, so a program that forgets
// cannot start processes without end.
//
// Every wait is bounded: [Config.Timeout] bounds the run, the echo process
// inherits the deadline (plus a short grace, so the initiator notices first
// and reports ErrTimeout), and it also holds the read end of a lifeline
// pipe whose write end only the initiator holds, so it stops when the
// initiator ends or dies. The echo process is killed and reaped on every
// error path, and its standard error is returned in an *[EchoError].
//
// Run calls are serialised within a process: two benchmarks at once would
// measure each other, and on a two-core machine the raw reference alone
// already keeps both cores busy spinning.
//
// # Adding a transport
//
// A transport whose echo side runs in another process implements [Peer]
// and is added with [Register] before [MaybeRunChild] is called, in the
// initiator and echo process alike (for example from an init function).
package peers
