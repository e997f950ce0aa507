package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Outbound consumes a local frame ring and publishes every message to a
// NATS subject (see the package doc for the guarantees of each mode).
type Outbound struct {
	cfg     OutboundConfig
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	anchor  *frame.Consumer // cfg.ConsumerID: released only as far as acknowledged
	reader  *frame.Consumer // JetStream mode: reads ahead of anchor; core mode: anchor
	origin  string
	schema  string
	pc      int
	prev    int64 // HeaderEnd of the last message published
	q       []*pending
	acked   []int64 // first sequences of acknowledged messages anchor has not consumed yet
	stats   OutboundStats
	layer   ring.LayerCounters
	publish func(m frame.Meta, payload []byte) error
}

// closed is a channel always ready: a select on it does not wait.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// pending is a message published to JetStream and not yet acknowledged.
type pending struct {
	msg   *nats.Msg
	seq   int64
	fut   jetstream.PubAckFuture // nil: to publish again
	acked bool                   // fut's acknowledgement taken
}

// NewOutbound connects to NATS and attaches to the ring as cfg.ConsumerID,
// waiting until ctx ends for the ring to exist (frame.Attach's errors). A
// bridge that reattaches under the id of a dead or closed one resumes where
// that one's acknowledged messages end.
func NewOutbound(ctx context.Context, cfg OutboundConfig) (*Outbound, error) {
	backend, err := cfg.check()
	if err != nil {
		return nil, err
	}
	o := &Outbound{cfg: cfg, log: cfg.Logger, prev: -1}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	o.log = o.log.With("bridge", "outbound", "ring", cfg.Ring, "subject", cfg.Subject, "mode", string(cfg.Mode))
	o.anchor, err = frame.Attach(ctx, cfg.Ring, frame.ConsumerConfig{Backend: backend, ID: cfg.ConsumerID, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	o.reader, o.layer = o.anchor, outboundCounters(o.anchor)
	o.loadStats()
	info := o.anchor.Info()
	o.origin, o.schema, o.pc = origin(info), schemaOf(o.anchor.UserMeta()), o.anchor.Geometry().PayloadCapacity
	if o.prev, err = position(backend, cfg.Ring, cfg.ConsumerID); err != nil {
		o.anchor.Close()
		return nil, err
	}
	if cfg.Mode == JetStream {
		// The reader starts where the anchor stands: after the last
		// acknowledged message. It is anonymous: a dead bridge's reader
		// gates the producer only until the producer finds it dead.
		o.reader, err = frame.Attach(ctx, cfg.Ring, frame.ConsumerConfig{Backend: backend, Start: ring.StartAt(o.prev + 1), Logger: cfg.Logger})
		if err != nil {
			o.anchor.Close()
			return nil, err
		}
		o.publish = o.publishJS
	} else {
		o.publish = o.publishCore
	}
	if o.nc, err = connect(&o.cfg.NATS, cfg.ConsumerID, o.log); err != nil {
		o.closeRing()
		return nil, err
	}
	if cfg.Mode == JetStream {
		o.js, err = jetstream.New(o.nc, jetstream.WithPublishAsyncTimeout(orDur(cfg.PublishTimeout, DefaultPublishTimeout)))
		if err == nil {
			_, err = stream(ctx, o.js, o.cfg.NATS, o.log)
		}
		if err != nil {
			o.Close()
			return nil, err
		}
	}
	o.log.Info("bridge: outbound attached", "consumer", cfg.ConsumerID, "origin", o.origin, "resume_after", o.prev)
	return o, nil
}

// position reads the ring position (the last sequence consumed) of the
// consumer id this process attached.
func position(backend ring.Backend, name, id string) (int64, error) {
	_, st, err := ring.Inspect(backend, name)
	if err != nil {
		return 0, err
	}
	pid := uint32(os.Getpid())
	for _, c := range st.Consumers {
		if c.ID == id && c.State == "active" && c.PID == pid {
			return c.Position, nil
		}
	}
	return 0, fmt.Errorf("bridge: ring %s: consumer %s not found after attaching", name, id)
}

// loadStats continues the counters of a previous bridge under the same id.
func (o *Outbound) loadStats() {
	var s [ring.LayerCounterSlots]uint64
	for i := FirstSlot; i < FirstSlot+4; i++ {
		s[i] = o.layer.Load(i)
	}
	o.stats = OutboundStatsOf(s)
}

func (o *Outbound) storeStats() {
	o.layer.Store(slotOutPublished, o.stats.Published)
	o.layer.Store(slotOutAcked, o.stats.Acked)
	o.layer.Store(slotOutRepublished, o.stats.Republished)
	o.layer.Store(slotOutErrors, o.stats.Errors)
}

// Stats returns the bridge's counters.
func (o *Outbound) Stats() OutboundStats { return o.stats }

// Run bridges messages until ctx ends (returning its error), the ring's
// producer closes it and every message has been published and acknowledged
// (nil), the producer dies (frame.ErrProducerGone, after the same), or the
// connection closes for good (ErrDisconnected). While NATS is disconnected
// it reads nothing from the ring, so the ring's producer meets a full ring.
func (o *Outbound) Run(ctx context.Context) error {
	defer o.storeStats()
	var err error
	if o.cfg.Mode == JetStream {
		err = o.runJS(ctx)
	} else {
		err = o.runCore(ctx)
	}
	if errors.Is(err, frame.ErrEndOfStream) {
		o.log.Info("bridge: ring closed, outbound done", "published", o.stats.Published, "acked", o.stats.Acked)
		return nil
	}
	return err
}

// readErr sorts an error of the ring consumer: protocol errors and laps
// are counted and read past; anything else ends the bridge.
func (o *Outbound) readErr(err error) error {
	if errors.Is(err, frame.ErrProtocol) || errors.Is(err, frame.ErrLapped) || errors.Is(err, frame.ErrEvicted) {
		o.stats.Errors++
		o.log.Warn("bridge: ring read error, skipped", "err", err)
		return nil
	}
	return err
}

func (o *Outbound) message(m frame.Meta, payload []byte, data []byte) *nats.Msg {
	end := endOf(m.Seq, len(payload), o.pc)
	msg := newMsg(o.cfg.Subject, m, data, o.origin, o.schema, end, o.prev, time.Now().UnixNano())
	o.prev = end
	return msg
}

// errPublish marks a failed core publish, so runCore tells it from the
// ring's errors.
var errPublish = errors.New("bridge: publish failed")

func (o *Outbound) publishCore(m frame.Meta, payload []byte) error {
	if err := o.nc.PublishMsg(o.message(m, payload, payload)); err != nil {
		o.stats.Errors++
		return fmt.Errorf("%w: %w", errPublish, err)
	}
	o.stats.Published++
	o.stats.Acked++
	return nil
}

func (o *Outbound) runCore(ctx context.Context) error {
	const batch = 1024
	for {
		if err := waitConnected(ctx, o.nc); err != nil {
			return err
		}
		_, err := o.anchor.Process(ctx, batch, o.publish)
		o.storeStats()
		if errors.Is(err, errPublish) {
			if o.nc.IsClosed() {
				return fmt.Errorf("%w: %v", ErrDisconnected, err)
			}
			// The connection broke under the publish (the client
			// reconnects) or refused this one message: at most once, so
			// the message is lost, counted in Errors, and the bridge goes on.
			o.log.Warn("bridge: publish failed, message lost", "err", err)
			continue
		}
		if err != nil {
			if err = o.readErr(err); err != nil {
				if errors.Is(err, frame.ErrEndOfStream) || errors.Is(err, frame.ErrProducerGone) {
					if ferr := flush(ctx, o.nc); ferr != nil {
						return ferr
					}
				}
				return err
			}
		}
	}
}

// publishJS copies the message (NATS may keep it for a retry), publishes
// it asynchronously and queues it until acknowledged.
func (o *Outbound) publishJS(m frame.Meta, payload []byte) error {
	p := &pending{msg: o.message(m, payload, append([]byte(nil), payload...)), seq: m.Seq}
	o.q = append(o.q, p)
	o.stats.Published++
	o.send(p)
	return nil
}

// send publishes p; a failure leaves p.fut nil, for a republish.
func (o *Outbound) send(p *pending) {
	fut, err := o.js.PublishMsgAsync(p.msg)
	if err != nil {
		o.stats.Errors++
		o.log.Warn("bridge: publish failed", "seq", p.seq, "err", err)
		p.fut = nil
		return
	}
	p.fut = fut
}

func (o *Outbound) runJS(ctx context.Context) error {
	window := orInt(o.cfg.Window, DefaultWindow)
	var end error // the ring's end: flush the window, then return it
	for {
		read := 0
		if end == nil && len(o.q) < window {
			if err := waitConnected(ctx, o.nc); err != nil {
				return err
			}
			var err error
			if len(o.q) == 0 {
				read, err = o.reader.Process(ctx, window, o.publish)
			} else {
				read, err = o.reader.TryProcess(window-len(o.q), o.publish)
			}
			if err != nil && !errors.Is(err, frame.ErrEmpty) {
				if err = o.readErr(err); err != nil {
					if !errors.Is(err, frame.ErrEndOfStream) && !errors.Is(err, frame.ErrProducerGone) {
						return err
					}
					end = err
				}
			}
		}
		// Take the acknowledgements already in; wait for the oldest one
		// only when there is nothing to read (the window is full, the ring
		// empty or ended). Then release them in the ring.
		if len(o.q) > 0 {
			wait := read == 0 || len(o.q) >= window || end != nil
			if err := o.settle(ctx, wait); err != nil {
				return err
			}
		}
		if err := o.release(ctx); err != nil {
			return err
		}
		o.storeStats()
		if end != nil && len(o.q) == 0 {
			return end
		}
	}
}

// settle takes the oldest pending message's acknowledgement, waiting for
// it if wait, and every acknowledgement already in after it; on a failure
// it waits until connected and publishes the whole window again, in order
// (the stream's duplicate window drops the copies that had arrived).
func (o *Outbound) settle(ctx context.Context, wait bool) error {
	head := o.q[0]
	ok := head.acked
	if !ok && head.fut != nil {
		var idle <-chan struct{} // nil: wait
		if !wait {
			idle = closed
		}
		select {
		case <-head.fut.Ok():
			ok = true
		case err := <-head.fut.Err():
			head.fut = nil // its one error is taken: publish it again
			o.stats.Errors++
			o.log.Warn("bridge: publish not acknowledged", "seq", head.seq, "err", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-idle:
			return nil
		}
	}
	if !ok {
		return o.republish(ctx)
	}
	o.pop()
	for len(o.q) > 0 && (o.q[0].acked || o.q[0].fut != nil) {
		if !o.q[0].acked {
			select {
			case <-o.q[0].fut.Ok():
			default:
				return nil
			}
		}
		o.pop()
	}
	return nil
}

func (o *Outbound) pop() {
	o.acked = append(o.acked, o.q[0].seq)
	o.q[0] = nil
	o.q = o.q[1:]
	o.stats.Acked++
}

// republish lets every outstanding publish of the window finish, then
// publishes again, in order, those that were not acknowledged.
func (o *Outbound) republish(ctx context.Context) error {
	for _, p := range o.q {
		if p.fut == nil || p.acked {
			continue
		}
		select {
		case <-p.fut.Ok():
			p.acked = true
		case <-p.fut.Err():
			p.fut = nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := waitConnected(ctx, o.nc); err != nil {
		return err
	}
	if err := sleep(ctx, orDur(o.cfg.RetryWait, DefaultRetryWait)); err != nil {
		return err
	}
	o.log.Debug("bridge: republishing", "pending", len(o.q))
	for _, p := range o.q {
		if p.fut == nil && !p.acked {
			o.stats.Republished++
			o.send(p)
		}
	}
	return nil
}

// release moves the anchor consumer past the acknowledged messages,
// handing their slots back to the ring's producer.
func (o *Outbound) release(ctx context.Context) error {
	if o.anchor == o.reader {
		return nil
	}
	i := 0
	check := func(m frame.Meta, _ []byte) error {
		if m.Seq != o.acked[i] {
			return fmt.Errorf("%w: acknowledged sequence %d, next message at %d", ErrDiverged, o.acked[i], m.Seq)
		}
		i++
		return nil
	}
	for i < len(o.acked) {
		_, err := o.anchor.Process(ctx, len(o.acked)-i, check)
		if err != nil {
			if errors.Is(err, ErrDiverged) {
				return err
			}
			if err = o.readErr(err); err != nil {
				return fmt.Errorf("%w: %v", ErrDiverged, err)
			}
		}
	}
	o.acked = o.acked[:0]
	return nil
}

// Close closes the NATS connection and leaves the ring; the consumer id
// keeps its position (the last acknowledged message) for the next bridge.
func (o *Outbound) Close() error {
	if o.nc != nil {
		o.nc.Close()
	}
	return o.closeRing()
}

func (o *Outbound) closeRing() error {
	var err error
	if o.reader != o.anchor {
		err = o.reader.Close()
	}
	return errors.Join(err, o.anchor.Close())
}
