package peers

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// streamPeer is a byte stream through the kernel: a Unix domain socket or
// TCP over loopback. The initiator listens, the echo process dials.
type streamPeer struct {
	name    string
	network string // "unix" or "tcp"
}

func (p streamPeer) Name() string { return p.name }

func (p streamPeer) Prepare(dir string, _ Config) (Opener, Link, error) {
	addr := "127.0.0.1:0"
	if p.network == "unix" {
		addr = filepath.Join(dir, "echo.sock")
	}
	ln, err := net.Listen(p.network, addr)
	if err != nil {
		return nil, Link{}, err
	}
	return &listenOpener{ln: ln}, Link{Addr: ln.Addr().String()}, nil
}

func (p streamPeer) Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, p.network, link.Addr)
	if err != nil {
		return nil, err
	}
	if err := ready(); err != nil {
		conn.Close()
		return nil, err
	}
	return &streamEcho{rw: conn, c: onceCloser{Closer: conn}, buf: make([]byte, cfg.Size)}, nil
}

// listenOpener accepts the echo process's connection.
type listenOpener struct{ ln net.Listener }

func (o *listenOpener) Open(ctx context.Context) (Initiator, error) {
	stop := context.AfterFunc(ctx, func() { o.ln.Close() })
	defer stop()
	conn, err := o.ln.Accept()
	if err != nil {
		return nil, err
	}
	if d, ok := backstop(ctx); ok {
		if err := conn.SetDeadline(d); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return &streamInitiator{rw: conn, c: onceCloser{Closer: conn}}, nil
}

func (o *listenOpener) Close() error {
	// Open's cancel path may have closed it already.
	if err := o.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// streamInitiator writes the message and reads the echo in full.
type streamInitiator struct {
	rw io.ReadWriter
	c  onceCloser
}

func (s *streamInitiator) RoundTrip(msg, reply []byte) error {
	if _, err := s.rw.Write(msg); err != nil {
		return err
	}
	_, err := io.ReadFull(s.rw, reply)
	return err
}

func (s *streamInitiator) Close() error { return s.c.close() }

// streamEcho reads a whole message into its buffer and writes it back.
type streamEcho struct {
	rw  io.ReadWriter
	c   onceCloser
	buf []byte
}

func (s *streamEcho) Echo(seq uint64) error {
	if _, err := io.ReadFull(s.rw, s.buf); err != nil {
		return err
	}
	if err := CheckSeq(s.buf, seq, len(s.buf)); err != nil {
		return err
	}
	_, err := s.rw.Write(s.buf)
	return err
}

func (s *streamEcho) Close() error { return s.c.close() }

// onceCloser closes an io.Closer once and keeps the first result, so Close
// may be called again or concurrently with a read it interrupts.
type onceCloser struct {
	io.Closer
	once sync.Once
	err  error
}

func (c *onceCloser) close() error {
	c.once.Do(func() { c.err = c.Closer.Close() })
	return c.err
}

// pipePeer is two pipes: initiator to echo, and echo to initiator. The echo
// process inherits its two ends as descriptors.
type pipePeer struct{}

func (pipePeer) Name() string { return Pipe }

func (pipePeer) Prepare(string, Config) (Opener, Link, error) {
	toEchoR, toEchoW, err := os.Pipe()
	if err != nil {
		return nil, Link{}, err
	}
	fromEchoR, fromEchoW, err := os.Pipe()
	if err != nil {
		toEchoR.Close()
		toEchoW.Close()
		return nil, Link{}, err
	}
	ends := &pipeEnds{r: fromEchoR, w: toEchoW}
	return &pipeOpener{ends: ends}, Link{Files: []*os.File{toEchoR, fromEchoW}}, nil
}

func (pipePeer) Serve(_ context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	if len(link.Files) != 2 {
		return nil, &ProtocolError{What: "inherited files", Want: 2, Got: uint64(len(link.Files))}
	}
	ends := &pipeEnds{r: link.Files[0], w: link.Files[1]}
	if err := ready(); err != nil {
		ends.Close()
		return nil, err
	}
	return &streamEcho{rw: ends, c: onceCloser{Closer: ends}, buf: make([]byte, cfg.Size)}, nil
}

type pipeOpener struct{ ends *pipeEnds }

func (o *pipeOpener) Open(ctx context.Context) (Initiator, error) {
	if d, ok := backstop(ctx); ok {
		if err := o.ends.setDeadline(d); err != nil {
			return nil, err
		}
	}
	return &streamInitiator{rw: o.ends, c: onceCloser{Closer: o.ends}}, nil
}

// Close closes the initiator's ends; closing them twice is harmless.
func (o *pipeOpener) Close() error {
	o.ends.Close()
	return nil
}

// pipeEnds reads from one pipe and writes to the other.
type pipeEnds struct{ r, w *os.File }

func (p *pipeEnds) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeEnds) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *pipeEnds) setDeadline(t time.Time) error {
	if err := p.r.SetReadDeadline(t); err != nil {
		return err
	}
	return p.w.SetWriteDeadline(t)
}

func (p *pipeEnds) Close() error {
	errR, errW := p.r.Close(), p.w.Close()
	if errR != nil {
		return errR
	}
	return errW
}

// backstop is a deadline for connections a little after ctx's: the run
// normally ends by cancelling ctx, which closes the connection and reports
// the cause; the deadline only bounds a transport that ignores Close.
func backstop(ctx context.Context) (time.Time, bool) {
	d, ok := ctx.Deadline()
	return d.Add(time.Second), ok
}
