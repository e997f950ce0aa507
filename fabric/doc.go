// Package fabric is myelon's inference fabric: one scheduler process and
// N worker processes (ranks 0..N-1, one per accelerator as LLM serving
// engines run them) exchanging requests and replies over shared-memory
// rings. The scheduler sends each step to every rank (Broadcast), to one
// rank (Call) or a different payload to each rank (Scatter), and gathers
// one reply per rank by correlation id, with a deadline, in rank order.
// It is built on the public API of packages ring, frame and typed only.
//
// # Topology
//
// A session has three kinds of segments, all on one backend:
//
//	dispatch ring   scheduler -> every rank   frame ring, single producer; rank r reads it as consumer "rank<r>"
//	return ring     every rank -> scheduler   frame ring, multi-producer; every worker joins it, the scheduler reads it
//	presence of r   rank r's liveness         a tiny ring rank r's worker owns; it holds the kernel-released liveness lock
//
// The scheduler creates the dispatch and return rings (NewScheduler); the
// worker of rank r creates its presence segment, joins the return ring and
// attaches to the dispatch ring (NewWorker). Every request goes to every
// rank's consumer (the ring is a broadcast); a request addressed to one
// rank is skipped by the others. A request is copied out of the ring
// before the handler runs, so a worker killed in its handler does not
// hand that request to its successor.
//
// # Names
//
// Segment names derive from the session label by a fixed rule that gives
// the same names on every machine and Go version (golden-tested):
//
//	tag        = the last 8 of the label's ASCII letters and digits, lowercased,
//	             or, with fewer than 8, the FNV-1a 32-bit hash of the raw label as %08x
//	dispatch   = prefix + tag + "p"
//	return     = prefix + tag + "r"
//	presence r = prefix + tag + "l" + lowercase hex(r)
//
// The prefix (default "vmy", as in the Rust seed, whose names equal ours
// for labels with 8 or more letters and digits) is 1..18 letters and
// digits, so every name is at most 30 bytes of [A-Za-z0-9]: within macOS's
// 31-byte PSHMNAMLEN with its leading slash. A ring is one segment and the
// library derives no other names from it, so no room is kept for
// suffixes. ValidateName and ValidatePrefix check names ahead of time. On
// the File backend each name is a file in Config.Dir.
//
// # Configuration
//
// Config is a plain struct whose zero fields mean the defaults
// (dispatch depth 1024 frames, return depth 256 frames per rank, frames of
// frame.DefaultPayloadCapacity bytes, Block waiting, the Shm backend). It
// travels as JSON (the wait strategy and the backend as text: "block",
// "sleep:1ms", "shm", "file") and Config.ApplyEnv reads these environment
// variables:
//
//	MYELON_SESSION           session label
//	MYELON_WORKERS           number of ranks, 1..1023
//	MYELON_PREFIX            name prefix
//	MYELON_DISPATCH_DEPTH    dispatch ring frames, a power of two
//	MYELON_RETURN_DEPTH      return ring frames per rank, a power of two
//	MYELON_PAYLOAD_CAPACITY  payload bytes per frame
//	MYELON_WAIT              block, spin, yield, sleep or sleep:<duration>
//	MYELON_BACKEND           shm, file or heap
//	MYELON_DIR               directory of the segment files (file backend)
//
// Layout.Runner derives the RunnerConfig of one rank: what its worker
// process needs (ring names, geometry, wait strategy). Hand it to the
// process you launch in the MYELON_RUNNER environment variable
// (RunnerConfig.Environ, RunnerFromEnv), as a flag (RunnerConfig is a
// flag.Value: -runner '<json>' or -runner @file) or in a file
// (RunnerConfig.WriteFile).
//
// # Rounds
//
//	s, _ := fabric.NewScheduler(fabric.Config{Session: "llama-70b-tp4", Workers: 4})
//	// launch 4 worker processes, each with its s.Layout().Runner(rank)
//	s.Rendezvous(ctx)               // every rank attached, or *RendezvousError naming the missing ones
//	round, _ := s.Broadcast(ctx, step)
//	replies, err := round.Gather(ctx) // ctx's deadline bounds the wait
//
//	w, _ := fabric.NewWorker(ctx, runnerConfig) // in worker r
//	w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) { ... })
//
// Gather returns one Reply per rank addressed, in rank order, and a
// *RoundError (matching ErrRound) listing each rank without a valid reply
// as a *RankError: Failed (its handler returned an error, a
// *HandlerError matching ErrWorkerFailed), Deadline (ctx ended first;
// matches ctx's error) or Down (its worker died or left, found through its
// presence segment's liveness lock within 100 ms; or it was not attached
// when the round was sent; or its handler returned a DownCause; matches
// ErrWorkerDown). The other replies are valid: partial results are
// results.
//
// A handler that stands for something else, such as a proxy of a rank on
// another host (package bridge), reports the rank down by returning a
// DownCause, alone or wrapped: a string-valued error that reaches the
// scheduler by value, so errors.Is matches the handler package's own
// sentinel there as well as ErrWorkerDown. The worker stays attached, and
// the next round reaches its handler again. Rounds may overlap; replies to a
// round already gathered are dropped.
//
// A worker that dies is restarted by starting a process with the same
// RunnerConfig: it replaces the dead worker's presence segment, takes a
// free producer entry of the return ring and resumes the dead worker's
// dispatch consumer id, so once Rendezvous sees it the next round includes
// it. Close on the scheduler ends the dispatch ring: workers drain it and
// Serve returns nil. A worker whose scheduler dies gets an error matching
// ring.ErrProducerGone from Serve.
//
// # Typed messages
//
// NewTypedScheduler, NewTypedPool and ServeTyped carry Go values encoded
// by Layer 2 codecs (typed.Codec, e.g. codec/raw or codec/bincode)
// instead of bytes.
// Every message carries its codec's schema tag (typed.Schema.Tag) in the
// frame flags byte: a worker answers a request of another schema with a
// failure instead of decoding it, and the scheduler reports a reply of
// another schema, or one its codec rejects, as Failed.
//
// # Worker pool
//
// A Pool is the other shape: requests that any one of a set of
// interchangeable workers may serve. Its workers join (NewWorker with a
// Layout.PoolRunner config, then Serve) as members of one consumer group
// of the dispatch ring, so each request goes to one of them; Pool.Do sends
// a request and returns its reply, routed back to that caller by
// correlation id, from any number of goroutines at once. A worker holds
// each request in the group's claim until its reply is sent: if it dies
// meanwhile, the ring hands the request to another worker (within the
// liveness interval), so a request may run twice but Do returns one
// reply. A pool request fits one frame (ErrTooLarge otherwise); replies
// may be of any length. Config.Workers bounds the pool's size.
//
// # One return ring, not one per rank
//
// The Rust seed gives each rank a return ring. Here every worker joins one
// multi-producer return ring, and the goroutine waiting in Gather reads it
// itself (holding a token, so one goroutine reads at a time) and hands
// each reply to its round. With a ring per rank the scheduler cannot wait
// on N rings at once without a goroutine per ring, and the hand-off from
// that goroutine to the gatherer costs a wake-up per round. Measured on a
// 2-core VM with Block waiting, echo workers and 64-byte requests, 20,000
// rounds (go test -run '^$' -bench . -benchtime 20000x ./fabric), round
// latency p50 with 1/2/4 workers: one ring 29/94/134 µs, a ring per rank
// 82/202/342 µs; rounds per second 23k/5.0k/5.3k against 8.7k/4.0k/2.7k.
// (The host was shared, load 7 on 2 cores; on a quiet host a one-worker
// round is about 3 µs, 3x a raw atomic ping-pong: myelon bench fabric.) A multi-producer ring has one liveness
// report for all its producers, so each worker also owns a presence
// segment: the monitor checks the presence segments once per liveness
// interval (100 ms) and marks a dead rank down in every pending round. A
// worker killed between claiming and publishing a reply leaves a gap the
// ring skips after its unblock timeout (the same 100 ms). Replies of rounds
// that nobody gathers are drained by the monitor, so workers are never
// held up by a full return ring for longer than that.
//
// # Wire format
//
// Requests and replies are frame messages (kind 1 and 2) whose payload
// starts with a 16-byte little-endian header: the round's correlation id,
// then the target rank (-1 for all) in a request, or the status (ok,
// failed, or down with the handler's DownCause) and the replying rank in
// a reply. Malformed messages are skipped
// and counted (Scheduler.Malformed, Worker.Malformed).
package fabric
