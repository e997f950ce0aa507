package peers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// grpcPeer is gRPC over a Unix socket: one bidirectional stream, one
// message each way per round trip, and a codec that passes the raw bytes
// (no protobuf, no code generation). The echo process is the server.
type grpcPeer struct{}

func (grpcPeer) Name() string { return GRPC }

const (
	grpcService = "myelon.bench.Echo"
	grpcMethod  = "/" + grpcService + "/Stream"
	grpcSlack   = 1 << 10 // room above the message for the message size limits
)

// rawMsg is the one message type the codec knows: its bytes, as they are.
type rawMsg struct{ b []byte }

// rawCodec marshals a *rawMsg as its bytes. Marshal hands gRPC the caller's
// buffer without a copy; the ping-pong never changes a buffer before its
// echo has arrived, by which time gRPC has written it. Unmarshal copies into
// the message's buffer, reusing its capacity.
type rawCodec struct{}

func (rawCodec) Name() string { return "myelon-raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawMsg)
	if !ok {
		return nil, fmt.Errorf("peers: raw codec cannot marshal %T", v)
	}
	return m.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMsg)
	if !ok {
		return fmt.Errorf("peers: raw codec cannot unmarshal into %T", v)
	}
	m.b = append(m.b[:0], data...)
	return nil
}

var grpcStreamDesc = grpc.StreamDesc{StreamName: "Stream", ServerStreams: true, ClientStreams: true}

func (grpcPeer) Prepare(dir string, cfg Config) (Opener, Link, error) {
	addr := filepath.Join(dir, "grpc.sock")
	return &grpcOpener{cfg: cfg, addr: addr}, Link{Addr: addr}, nil
}

// grpcOpener dials the echo process's server; Prepare creates nothing.
type grpcOpener struct {
	cfg  Config
	addr string
}

func (o *grpcOpener) Open(ctx context.Context) (Initiator, error) {
	limit := o.cfg.Size + grpcSlack
	cc, err := grpc.NewClient("unix://"+o.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}),
			grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit)))
	if err != nil {
		return nil, err
	}
	cs, err := cc.NewStream(ctx, &grpcStreamDesc, grpcMethod)
	if err != nil {
		cc.Close()
		return nil, err
	}
	return &grpcInitiator{cs: cs, c: onceCloser{Closer: cc}}, nil
}

func (o *grpcOpener) Close() error { return nil }

type grpcInitiator struct {
	cs      grpc.ClientStream
	out, in rawMsg
	c       onceCloser
}

func (g *grpcInitiator) RoundTrip(msg, reply []byte) error {
	g.out.b = msg
	if err := g.cs.SendMsg(&g.out); err != nil {
		return err
	}
	g.in.b = reply[:0]
	if err := g.cs.RecvMsg(&g.in); err != nil {
		return err
	}
	if len(g.in.b) != len(reply) {
		return &ProtocolError{What: "gRPC reply length", Want: uint64(len(reply)), Got: uint64(len(g.in.b))}
	}
	return nil
}

func (g *grpcInitiator) Close() error { return g.c.close() }

func (grpcPeer) Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	ln, err := net.Listen("unix", link.Addr)
	if err != nil {
		return nil, err
	}
	streams := make(chan grpc.ServerStream)
	release := make(chan struct{})
	desc := grpc.ServiceDesc{
		ServiceName: grpcService,
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName: grpcStreamDesc.StreamName, ServerStreams: true, ClientStreams: true,
			// The handler lends its stream to Echo until Close.
			Handler: func(_ any, ss grpc.ServerStream) error {
				select {
				case streams <- ss:
				case <-release:
					return errors.New("peers: echo closed")
				}
				<-release
				return nil
			},
		}},
	}
	limit := cfg.Size + grpcSlack
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
	srv.RegisterService(&desc, struct{}{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	e := &grpcEcho{srv: srv, size: cfg.Size, release: release}
	if err := ready(); err != nil {
		e.Close()
		return nil, err
	}
	select {
	case e.ss = <-streams:
		return e, nil
	case err := <-served:
		e.Close()
		return nil, fmt.Errorf("gRPC server stopped: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, context.Cause(ctx)
	}
}

type grpcEcho struct {
	srv     *grpc.Server
	ss      grpc.ServerStream
	size    int
	m       rawMsg
	release chan struct{}
	once    sync.Once
}

func (g *grpcEcho) Echo(seq uint64) error {
	if err := g.ss.RecvMsg(&g.m); err != nil {
		return err
	}
	if err := CheckSeq(g.m.b, seq, g.size); err != nil {
		return err
	}
	return g.ss.SendMsg(&g.m)
}

// Close ends the stream and stops the server at once.
func (g *grpcEcho) Close() error {
	g.once.Do(func() {
		close(g.release)
		g.srv.Stop()
	})
	return nil
}
