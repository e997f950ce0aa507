// Package bridge carries the messages of myelon frame rings (framed or
// typed) across hosts through NATS: an outbound bridge consumes a local ring
// and publishes every message to a subject; an inbound bridge receives the
// subject and publishes into a local ring. It is a module of its own, so the
// library stays free of dependencies.
//
//	host A: producer -> ring "quotes" -> Outbound --\
//	                                                 NATS subject / JetStream stream
//	host B: consumers <- ring "quotes" <- Inbound <--/
//
// # Messages
//
// A NATS message carries the frame payload unchanged and, in headers, the
// frame kind and flags (typed's schema tag travels in the flags), the
// producer's message id, the origin (host, ring name and the ring's epoch,
// which changes when the ring is re-created), the ring sequences of the
// message's first and last frames, the last frame of the message sent
// before it, the typed schema of a typed ring, and the send time (see
// HeaderKind and the others). The JetStream de-duplication id (Nats-Msg-Id)
// is origin/sequence: unique for every message of a ring, whichever of its
// producers sent it.
//
// # Core NATS: at most once
//
// In Core mode the outbound bridge publishes and moves on, and the inbound
// bridge subscribes: the lowest latency, and no guarantee. What arrives
// arrives once and in order. A message published while no inbound bridge is
// subscribed, or dropped because a subscription's buffer
// (InboundConfig.PendingMessages, PendingBytes) is full, is lost; only
// these drops are counted (InboundStats.Lost).
//
// A server restart or a broken connection loses messages too, and no
// counter shows them as lost: those in the connection's buffers or in the
// server when it went down, and those the outbound bridge sends after it is
// back before the inbound bridge has subscribed again (either may reconnect
// first; meanwhile the outbound bridge's whole output is lost). The
// outbound bridge counts them published (OutboundStats.Published), or, if
// the publish itself failed, as errors (OutboundStats.Errors), and goes on.
// While disconnected it finishes the batch it was reading (the NATS client
// buffers it and sends it on reconnecting), then reads nothing from the
// ring, so the ring's producer meets a full ring. Both bridges reconnect by
// themselves; what is sent once both are back arrives.
//
// # JetStream: at least once on the wire, once in the ring
//
// In JetStream mode the subject is captured by a stream (EnsureStream, or
// one an operator made) and:
//
//   - The outbound bridge reads ahead with one ring consumer and marks what
//     JetStream acknowledged with another, the one under
//     OutboundConfig.ConsumerID; only that one gates the ring's producer. So
//     the ring keeps every message JetStream has not acknowledged, up to
//     OutboundConfig.Window of them in flight. A publish that fails or is not
//     acknowledged in time is published again, with the whole window after
//     it, in order; the stream's duplicate window drops the copies that had
//     arrived. While NATS is disconnected the bridge reads nothing, so the
//     producer meets a full ring. A bridge killed at any point is replaced by
//     starting another under the same consumer id: it resumes after the last
//     acknowledged message and publishes the rest again (the ring's producer
//     must keep the id's place meanwhile: frame.Producer.Require).
//   - The inbound bridge pulls with a durable consumer in batches of
//     InboundConfig.Batch, so it holds at most that many messages in memory,
//     and publishes each into the ring, waiting while the ring is full: a
//     slow local consumer slows the fetches, and the stream keeps the rest.
//     It acknowledges a message only after the ring took it. Because every
//     message names the one before it, the bridge tells a redelivered message
//     it already wrote (acknowledged and skipped, InboundStats.Duplicates)
//     from the next one and from one that arrives before a message missing in
//     front of it (refused with a short delay, so the missing one comes
//     first; after InboundConfig.GapWait it gives up and counts
//     InboundStats.Lost). So a server restart or a killed bridge, outbound
//     or inbound, neither loses nor duplicates a message downstream.
//
// A killed inbound bridge leaves receipts (a small file in
// InboundConfig.StateDir): per origin the last message it wrote into the
// ring, and the message it was writing. Its successor starts every chain
// there, so the messages written but not acknowledged, which JetStream
// delivers again, are skipped; it settles the write in progress by looking
// for that message in the ring. Without receipts (a new bridge) the chains
// start at the durable consumer's ack floor (the last message acknowledged
// with all before it), so the messages a predecessor fetched and left
// unacknowledged come first, in order.
//
// What is not guaranteed: if the ring has already overwritten the place of
// the write in progress (other producers wrote a whole ring meanwhile), that
// one message is written again, logged and counted in InboundStats.Errors;
// a ring the bridge created does not outlive it (InboundConfig.Join keeps
// the ring and so the guarantee); messages older than the stream's
// retention or beyond its limits are gone; a duplicate published after the
// stream's duplicate window is stored twice (the inbound bridge still drops
// it while it runs).
//
// # Counters and logs
//
// Each bridge keeps its counters in the ring's LayerCounters of its own
// handle, from FirstSlot (above frame's and typed's), so myelon stat, the
// snapshot package and the exporters show them with the ring's; decode
// them with OutboundStatsOf and InboundStatsOf. Lifecycle events and
// failures go to the *slog.Logger of the config, with the ring's own.
//
// # A fabric rank on another host
//
// RemoteHandler and ServeRemote put one rank of a fabric (package fabric) on
// another host with the scheduler's API unchanged: a proxy worker on the
// scheduler's host serves the rank by forwarding each request by NATS
// request/reply to the process that runs the rank's handler. A remote
// process that is gone (no responder on the subject) is reported in the
// next round as a dead local rank is: that rank's *fabric.RankError is
// Down and matches both fabric.ErrWorkerDown and ErrRemoteDown (a
// fabric.DownCause). The proxy worker stays attached, so once a
// ServeRemote process serves the subject again the next round reaches it.
// A remote that dies holding a request, or one NATS still believes
// connected, is not known to be gone: its round fails
// (fabric.ErrWorkerFailed), at the latest after the RemoteHandler timeout.
//
// # Running
//
// NewOutbound and NewInbound build a bridge in a program; Run runs one from
// a Config, which LoadConfig reads from JSON; cmd/myelon-bridge is the
// command. README.md covers going multi-host.
package bridge
