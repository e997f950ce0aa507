package bridge

import (
	"context"
	"encoding/base64"
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

// Inbound receives the messages of a NATS subject and publishes them into a
// local frame ring (see the package doc for the guarantees of each mode).
type Inbound struct {
	cfg    InboundConfig
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	prod   *frame.Producer
	schema string
	chains map[string]*chain
	seeded bool // chains known: from the receipts or the ack floor
	stats  InboundStats
	layer  ring.LayerCounters

	// JetStream mode: the receipt file, the ring's backend, and a ring
	// sequence the next message written comes after (receipts.go).
	rc      *receipts
	backend ring.Backend
	after   int64
}

// chain is what the inbound bridge knows of one origin: the end sequence
// of the last message it wrote, since when it has been waiting for a
// missing one, and its receipt entry (-1: none yet).
type chain struct {
	last     int64
	gapSince time.Time
	entry    int
}

// NewInbound creates the ring (or joins it, cfg.Join) and connects to
// NATS. In JetStream mode Run creates or resumes the durable consumer.
func NewInbound(ctx context.Context, cfg InboundConfig) (*Inbound, error) {
	backend, err := cfg.check()
	if err != nil {
		return nil, err
	}
	in := &Inbound{cfg: cfg, log: cfg.Logger, chains: map[string]*chain{}, backend: backend}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	in.log = in.log.With("bridge", "inbound", "ring", cfg.Ring, "subject", cfg.Subject, "mode", string(cfg.Mode))
	if cfg.Join {
		in.prod, err = frame.Join(ctx, cfg.Ring, frame.JoinConfig{Backend: backend, Logger: cfg.Logger})
	} else {
		var meta []byte
		if cfg.Schema != "" {
			if meta, err = base64.StdEncoding.DecodeString(cfg.Schema); err != nil {
				return nil, invalid("schema", cfg.Schema, err.Error())
			}
		}
		in.prod, err = frame.Create(cfg.Ring, frame.Config{
			Backend: backend, Capacity: cfg.Capacity, PayloadCapacity: cfg.PayloadCapacity,
			Meta: meta, Logger: cfg.Logger,
		})
	}
	if err != nil {
		return nil, err
	}
	in.schema = schemaOf(in.prod.UserMeta())
	in.layer = inboundCounters(in.prod)
	if in.nc, err = connect(&in.cfg.NATS, "myelon-bridge-in-"+cfg.Ring, in.log); err != nil {
		in.prod.Close()
		return nil, err
	}
	if cfg.Mode == JetStream {
		if in.js, err = jetstream.New(in.nc); err != nil {
			in.Close()
			return nil, err
		}
		if err := in.openReceipts(ctx); err != nil {
			in.Close()
			return nil, err
		}
	}
	return in, nil
}

// openReceipts loads what a predecessor wrote into the ring and settles
// the write it may have been killed in.
func (in *Inbound) openReceipts(ctx context.Context) error {
	dir := in.cfg.StateDir
	if dir == "" {
		dir = os.TempDir()
	}
	rc, err := openReceipts(receiptPath(dir, in.cfg.Ring, in.cfg.Durable))
	if err != nil {
		return err
	}
	in.rc = rc
	in.after = in.prod.Stats().Ring.Published - 1 // what we send comes after every claim so far
	if epoch := in.prod.Info().Epoch; rc.forRing(epoch) {
		in.log.Info("bridge: receipts start empty: a new ring", "epoch", epoch, "file", rc.path)
	}
	if p, ok := rc.pending(); ok {
		if in.written(ctx, p) {
			rc.commit()
		} else {
			rc.abort()
		}
	}
	in.chains = rc.chains()
	in.seeded = len(in.chains) > 0
	if in.seeded {
		in.log.Info("bridge: resuming after the messages the receipts record", "origins", len(in.chains), "file", rc.path)
	}
	return nil
}

// scanIdle ends the search of the ring for a predecessor's last write:
// with nothing more to read for that long, it is not there.
const scanIdle = 500 * time.Millisecond

// written reports whether the message of a predecessor's intent is in the
// ring: an observer reads from where it may start to the last claim. Not
// found, or not knowable (the ring overwrote that place), it is written
// again: lost is worse than twice, and twice is logged and counted.
func (in *Inbound) written(ctx context.Context, p intent) bool {
	log := in.log.With("stream_end", p.end, "frame_id", p.id)
	unsure := func(why string, err error) bool {
		in.stats.Errors++
		log.Warn("bridge: cannot tell whether the predecessor's last write is in the ring; writing it again", "why", why, "err", err)
		return false
	}
	target := in.prod.Stats().Ring.Published
	c, err := frame.Attach(ctx, in.cfg.Ring, frame.ConsumerConfig{
		Backend: in.backend, Observer: true, Start: ring.StartAt(p.after + 1),
	})
	if err != nil {
		return unsure("attach", err)
	}
	defer c.Close()
	errFound, errPast := errors.New("found"), errors.New("past")
	for {
		sctx, cancel := context.WithTimeout(ctx, scanIdle)
		err := c.Read(sctx, func(m frame.Meta, payload []byte) error {
			switch {
			case p.matches(m, payload):
				return errFound
			case m.Seq >= target:
				return errPast
			}
			return nil
		})
		cancel()
		switch {
		case errors.Is(err, errFound):
			log.Info("bridge: the predecessor's last write is in the ring")
			return true
		case errors.Is(err, errPast) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			log.Info("bridge: the predecessor's last write is not in the ring")
			return false
		case err != nil:
			return unsure("read", err)
		}
	}
}

// Producer is the bridge's producer on the local ring, for WaitForConsumers
// and the like before Run.
func (in *Inbound) Producer() *frame.Producer { return in.prod }

// Stats returns the bridge's counters.
func (in *Inbound) Stats() InboundStats { return in.stats }

func (in *Inbound) storeStats() {
	in.layer.Store(slotInWritten, in.stats.Written)
	in.layer.Store(slotInDuplicates, in.stats.Duplicates)
	in.layer.Store(slotInLost, in.stats.Lost)
	in.layer.Store(slotInErrors, in.stats.Errors)
}

// Run bridges messages until ctx ends (returning its error), the ring is
// closed under it, or the connection closes for good (ErrDisconnected).
// ready, if not nil, is called once the subscription or the JetStream
// consumer is in place: in core mode, messages published before it are
// not received.
func (in *Inbound) Run(ctx context.Context, ready func()) error {
	defer in.storeStats()
	if in.cfg.Mode == JetStream {
		return in.runJS(ctx, ready)
	}
	return in.runCore(ctx, ready)
}

func (in *Inbound) runCore(ctx context.Context, ready func()) error {
	sub, err := in.nc.SubscribeSync(in.cfg.Subject)
	if err != nil {
		return fmt.Errorf("bridge: subscribe %s: %w", in.cfg.Subject, err)
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(orInt(in.cfg.PendingMessages, DefaultPendingMessages), orInt(in.cfg.PendingBytes, DefaultPendingBytes)); err != nil {
		return err
	}
	if err := flush(ctx, in.nc); err != nil {
		return fmt.Errorf("bridge: subscribe %s: %w", in.cfg.Subject, err)
	}
	in.log.Info("bridge: inbound subscribed")
	if ready != nil {
		ready()
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if errors.Is(err, nats.ErrSlowConsumer) {
				in.countDropped(sub)
				continue
			}
			if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
				return fmt.Errorf("%w: %v", ErrDisconnected, err)
			}
			return err
		}
		e, err := in.envelope(msg.Header)
		if err != nil {
			continue
		}
		if err := in.write(ctx, e, msg.Data); err != nil {
			return err
		}
		if in.stats.Written%1024 == 0 {
			in.countDropped(sub)
			in.storeStats()
		}
	}
}

func (in *Inbound) countDropped(sub *nats.Subscription) {
	if d, err := sub.Dropped(); err == nil && uint64(d) > in.stats.Lost {
		in.log.Warn("bridge: slow subscription dropped messages", "dropped", d)
		in.stats.Lost = uint64(d)
	}
}

// envelope parses msg's headers and checks its schema against the ring's;
// a refused message is counted and logged.
func (in *Inbound) envelope(h nats.Header) (envelope, error) {
	e, err := parseEnvelope(h)
	if err == nil && e.schema != "" && in.schema != "" && e.schema != in.schema {
		err = fmt.Errorf("%w: message %s, ring %s", ErrSchema, e.schema, in.schema)
	}
	if err != nil {
		in.stats.Errors++
		in.log.Warn("bridge: message refused", "err", err)
	}
	return e, err
}

// write publishes one message into the ring, waiting for room.
func (in *Inbound) write(ctx context.Context, e envelope, data []byte) error {
	if _, err := in.prod.SendFlags(ctx, e.kind, e.flags, data); err != nil {
		return err
	}
	in.stats.Written++
	return nil
}

func (in *Inbound) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s, err := stream(ctx, in.js, in.cfg.NATS, in.log)
	if err != nil {
		return nil, err
	}
	batch := orInt(in.cfg.Batch, DefaultBatch)
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       in.cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       orDur(in.cfg.AckWait, DefaultAckWait),
		MaxAckPending: 2 * batch,
		FilterSubject: in.cfg.Subject,
	})
	if err != nil || in.seeded {
		return c, err
	}
	return c, in.seed(ctx, s, c)
}

// seed starts the chain of a bridge that knows nothing yet (a new or
// restarted one) at the consumer's ack floor, the last message a bridge
// acknowledged with every one before it: messages after it that a killed
// bridge had fetched come again only after the ack wait, and the ones
// never fetched must not overtake them.
func (in *Inbound) seed(ctx context.Context, s jetstream.Stream, c jetstream.Consumer) error {
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	in.seeded = true
	floor := info.AckFloor.Stream
	if floor == 0 {
		return nil
	}
	m, err := s.GetMsg(ctx, floor)
	if err != nil {
		in.log.Warn("bridge: last acknowledged message not in the stream, chain not seeded", "seq", floor, "err", err)
		return nil
	}
	if e, err := parseEnvelope(m.Header); err == nil && e.chained {
		in.chains[e.origin] = &chain{last: e.end, entry: -1}
		in.log.Info("bridge: resuming after the last acknowledged message", "origin", e.origin, "end", e.end, "stream_seq", floor)
	}
	return nil
}

func (in *Inbound) runJS(ctx context.Context, ready func()) error {
	batch := orInt(in.cfg.Batch, DefaultBatch)
	retry := orDur(in.cfg.RetryWait, DefaultRetryWait)
	var cons jetstream.Consumer
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cons == nil {
			var err error
			if cons, err = in.consumer(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, jetstream.ErrStreamNotFound) {
					return err
				}
				in.stats.Errors++
				in.log.Warn("bridge: consumer not ready, retrying", "err", err)
				if err := sleep(ctx, retry); err != nil {
					return err
				}
				continue
			}
			in.log.Info("bridge: inbound consuming", "stream", in.cfg.Stream, "durable", in.cfg.Durable)
			if ready != nil {
				ready()
				ready = nil
			}
		}
		if err := waitConnected(ctx, in.nc); err != nil {
			return err
		}
		msgs, err := cons.Fetch(batch, jetstream.FetchMaxWait(2*time.Second))
		if err == nil {
			for msg := range msgs.Messages() {
				if err := in.handleJS(ctx, msg); err != nil {
					return err
				}
			}
			err = msgs.Error()
		}
		in.storeStats()
		if err != nil && !errors.Is(err, nats.ErrTimeout) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			in.stats.Errors++
			in.log.Warn("bridge: fetch failed, retrying", "err", err)
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
				cons = nil
			}
			if err := sleep(ctx, retry); err != nil {
				return err
			}
		}
	}
}

// handleJS writes one JetStream message into the ring unless its chain
// says it was written already (then it is acknowledged and skipped) or a
// message before it is missing (then it is asked again later, until
// GapWait has passed), and acknowledges it once written.
func (in *Inbound) handleJS(ctx context.Context, msg jetstream.Msg) error {
	e, err := in.envelope(msg.Headers())
	if err != nil {
		return in.ack(msg.Term())
	}
	var c *chain
	if e.chained {
		c = in.chains[e.origin]
		switch {
		case c == nil:
			c = &chain{entry: -1}
			in.chains[e.origin] = c
		case e.end <= c.last:
			in.stats.Duplicates++
			in.log.Debug("bridge: duplicate skipped", "origin", e.origin, "seq", e.seq, "last", c.last)
			return in.ack(msg.Ack())
		case e.prev > c.last:
			if c.gapSince.IsZero() {
				c.gapSince = time.Now()
			}
			if time.Since(c.gapSince) < orDur(in.cfg.GapWait, DefaultGapWait) {
				in.log.Debug("bridge: waiting for a missing message", "origin", e.origin, "prev", e.prev, "last", c.last)
				return in.ack(msg.NakWithDelay(orDur(in.cfg.RetryWait, DefaultRetryWait)))
			}
			in.stats.Lost++
			in.log.Error("bridge: gave up waiting for missing messages", "origin", e.origin, "after", c.last, "next_prev", e.prev)
		}
	}
	if c != nil && in.rc != nil {
		if c.entry < 0 {
			c.entry = in.rc.entry(e.origin, -1)
		}
		if c.entry >= 0 {
			in.rc.begin(c.entry, e.end, in.prod.LastID()+1, in.after, e.kind, e.flags, msg.Data())
		}
	}
	if err := in.write(ctx, e, msg.Data()); err != nil {
		if in.rc != nil {
			in.rc.abort()
		}
		return err // not acknowledged: redelivered to the next bridge
	}
	if c != nil {
		if in.rc != nil && c.entry >= 0 {
			in.rc.commit()
		}
		c.last, c.gapSince = e.end, time.Time{}
	}
	in.after = in.prod.LastSeq()
	return in.ack(msg.Ack())
}

// ack counts a failed acknowledgement: the message comes again and the
// chain drops it.
func (in *Inbound) ack(err error) error {
	if err != nil {
		in.stats.Errors++
		in.log.Warn("bridge: ack failed", "err", err)
	}
	return nil
}

// Close closes the NATS connection and the ring (consumers read what is
// left, then see the end of the stream; a joined ring goes on).
func (in *Inbound) Close() error {
	if in.nc != nil {
		in.nc.Close()
	}
	if in.rc != nil {
		in.rc.close()
	}
	return in.prod.Close()
}
