package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/myelon-go/myelon/fabric"
	"github.com/nats-io/nats.go"
)

// A fabric rank on another host: on the scheduler's host a proxy worker
// (fabric.NewWorker for the rank, then Serve with RemoteHandler) holds the
// rank's place in the fabric, so the scheduler's API and its rounds are
// unchanged; it forwards each request by NATS request/reply to the host
// where ServeRemote runs the rank's real handler. A remote process that is
// gone is reported at once (NATS has no responder for the subject) as a
// dead local rank is: the round's RankError for that rank is Down,
// matching fabric.ErrWorkerDown and ErrRemoteDown (a fabric.DownCause,
// which reaches the scheduler by value). The proxy worker stays attached,
// so once a ServeRemote process serves the subject again, the next round
// reaches it.

// HeaderRemoteError carries a remote handler's error message in a reply.
const HeaderRemoteError = "Myelon-Error"

// ErrRemoteDown: no process serves the remote rank's subject. It is a
// fabric.DownCause, so the scheduler reports the rank down and
// errors.Is(err, ErrRemoteDown) holds in the scheduler's process too.
var ErrRemoteDown error = fabric.DownCause("bridge: remote rank down")

// RemoteHandler returns a fabric.Handler that forwards every request to
// subject and returns the remote handler's reply or error. Each request
// waits at most timeout for its reply (the request's context may end it
// sooner). With no responder on subject it returns an error wrapping
// ErrRemoteDown, so the rank is reported down; any other error (a timeout,
// the connection to NATS lost) is a failure of the rank
// (fabric.ErrWorkerFailed): the remote may be alive.
func RemoteHandler(nc *nats.Conn, subject string, timeout time.Duration) fabric.Handler {
	return func(ctx context.Context, req, reply []byte) ([]byte, error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		m, err := nc.RequestMsgWithContext(rctx, &nats.Msg{Subject: subject, Data: req})
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("%w: nothing serves %s", ErrRemoteDown, subject)
		}
		if err != nil {
			return nil, fmt.Errorf("bridge: remote rank on %s: %w", subject, err)
		}
		if msg := m.Header.Get(HeaderRemoteError); msg != "" {
			return nil, errors.New(msg)
		}
		return append(reply, m.Data...), nil
	}
}

// ServeRemote answers the requests RemoteHandler forwards to subject with
// h, one at a time, until ctx ends (it returns ctx's error) or the
// connection closes. ready, if not nil, is called once the subscription is
// in place.
func ServeRemote(ctx context.Context, nc *nats.Conn, subject string, h fabric.Handler, ready func()) error {
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return fmt.Errorf("bridge: subscribe %s: %w", subject, err)
	}
	defer sub.Unsubscribe()
	if err := flush(ctx, nc); err != nil {
		return err
	}
	if ready != nil {
		ready()
	}
	var buf []byte
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
				return fmt.Errorf("%w: %v", ErrDisconnected, err)
			}
			return err
		}
		out := &nats.Msg{Subject: m.Reply, Header: nats.Header{}}
		if buf, err = h(ctx, m.Data, buf[:0]); err != nil {
			out.Header.Set(HeaderRemoteError, err.Error())
		} else {
			out.Data = buf
		}
		if err := nc.PublishMsg(out); err != nil {
			return fmt.Errorf("bridge: reply on %s: %w", subject, err)
		}
	}
}
