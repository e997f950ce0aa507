package peers

import (
	"context"
	"io"
	"log"
	"path/filepath"

	"github.com/go-zeromq/zmq4"
)

// zmqPeer is ZeroMQ PAIR sockets over ipc:// (a Unix socket), with the pure
// Go github.com/go-zeromq/zmq4. The echo process binds, the initiator
// connects; the echo sends back the message it received.
type zmqPeer struct{}

func (zmqPeer) Name() string { return ZMQ }

// quietLog drops the library's log lines, which would land in the bench
// output.
var quietLog = log.New(io.Discard, "", 0)

func (zmqPeer) Prepare(dir string, cfg Config) (Opener, Link, error) {
	ep := "ipc://" + filepath.Join(dir, "zmq.sock")
	return &zmqOpener{ep: ep}, Link{Addr: ep}, nil
}

// zmqOpener connects to the echo process's socket; Prepare creates nothing.
type zmqOpener struct{ ep string }

func (o *zmqOpener) Open(ctx context.Context) (Initiator, error) {
	// The socket lives as long as ctx: cancelling it interrupts Recv.
	sock := zmq4.NewPair(ctx, zmq4.WithLogger(quietLog))
	if err := sock.Dial(o.ep); err != nil {
		sock.Close()
		return nil, err
	}
	z := &zmqInitiator{sock: sock, c: onceCloser{Closer: sock}}
	z.out.Frames = [][]byte{nil}
	return z, nil
}

func (o *zmqOpener) Close() error { return nil }

type zmqInitiator struct {
	sock zmq4.Socket
	out  zmq4.Msg
	c    onceCloser
}

func (z *zmqInitiator) RoundTrip(msg, reply []byte) error {
	z.out.Frames[0] = msg
	if err := z.sock.Send(z.out); err != nil {
		return err
	}
	in, err := z.sock.Recv()
	if err != nil {
		return err
	}
	if len(in.Frames) != 1 || len(in.Frames[0]) != len(reply) {
		return &ProtocolError{What: "ZeroMQ reply bytes", Want: uint64(len(reply)), Got: uint64(len(in.Bytes()))}
	}
	copy(reply, in.Frames[0])
	return nil
}

func (z *zmqInitiator) Close() error { return z.c.close() }

func (zmqPeer) Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	sock := zmq4.NewPair(ctx, zmq4.WithLogger(quietLog))
	if err := sock.Listen(link.Addr); err != nil {
		sock.Close()
		return nil, err
	}
	if err := ready(); err != nil {
		sock.Close()
		return nil, err
	}
	return &zmqEcho{sock: sock, size: cfg.Size, c: onceCloser{Closer: sock}}, nil
}

type zmqEcho struct {
	sock zmq4.Socket
	size int
	c    onceCloser
}

func (z *zmqEcho) Echo(seq uint64) error {
	m, err := z.sock.Recv()
	if err != nil {
		return err
	}
	if len(m.Frames) != 1 {
		return &ProtocolError{What: "ZeroMQ frames", Want: 1, Got: uint64(len(m.Frames))}
	}
	if err := CheckSeq(m.Frames[0], seq, z.size); err != nil {
		return err
	}
	return z.sock.Send(m)
}

func (z *zmqEcho) Close() error { return z.c.close() }
