package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/shmipc-go"
)

// shmipcPeer is github.com/cloudwego/shmipc-go v0.2.0: the message is
// copied into a shared-memory buffer slice, its offset goes through a
// shared-memory queue, and the peer is woken through the Unix socket the
// session runs over. The echo process is the shmipc server (it listens);
// the initiator is the client and creates the memory as memfds, so nothing
// is left in /dev/shm. One slice class sized to the message keeps every
// message in one slice, the favourable case.
type shmipcPeer struct{}

func (shmipcPeer) Name() string { return Shmipc }

// shmipcSetupTimeout bounds the library's own dial and handshake, which
// take no context.
const shmipcSetupTimeout = 10 * time.Second

// shmipcLevelNoPrint is shmipc-go's unexported levelNoPrint: the library
// otherwise logs warnings to standard output, which is the bench table.
const shmipcLevelNoPrint = 5

var quietShmipc sync.Once

// shmipcRuns numbers the initiator's sessions.
var shmipcRuns atomic.Uint64

// shmipcConfig sizes the session for messages of cfg.Size bytes.
func shmipcConfig(cfg Config) (*shmipc.Config, error) {
	quietShmipc.Do(func() { shmipc.SetLogLevel(shmipcLevelNoPrint) })
	slice := uint64(cfg.Size+256+3) &^ 3 // room for the slice header; a multiple of 4 for arm64
	capacity := min(max(16*slice, 32<<20), 1<<30)
	capacity = max(capacity, 2*slice)
	capacity = (capacity + 1<<20 - 1) &^ (1<<20 - 1)
	if capacity > 1<<32-1<<20 {
		return nil, &ConfigError{"Size", cfg.Size, "too large for a shmipc buffer"}
	}
	c := shmipc.DefaultConfig()
	c.LogOutput = io.Discard
	c.MemMapType = shmipc.MemMapTypeMemFd
	c.ShareMemoryPathPrefix = "/dev/shm/myelon-shmipc" // the memfd's name
	c.QueuePath = "/dev/shm/myelon-shmipc-queue"
	c.ShareMemoryBufferCap = uint32(capacity)
	c.BufferSliceSizes = []*shmipc.SizePercentPair{{Size: uint32(slice), Percent: 100}}
	c.ConnectionWriteTimeout = shmipcSetupTimeout
	c.InitializeTimeout = shmipcSetupTimeout
	return c, shmipc.VerifyConfig(c)
}

func (shmipcPeer) Prepare(dir string, cfg Config) (Opener, Link, error) {
	if _, err := shmipcConfig(cfg); err != nil {
		return nil, Link{}, err
	}
	addr := filepath.Join(dir, "shmipc.sock")
	return &shmipcOpener{cfg: cfg, addr: addr}, Link{Addr: addr}, nil
}

// shmipcOpener dials the echo process's socket; Prepare creates nothing.
type shmipcOpener struct {
	cfg  Config
	addr string
}

func (o *shmipcOpener) Open(ctx context.Context) (Initiator, error) {
	c, err := shmipcConfig(o.cfg)
	if err != nil {
		return nil, err
	}
	// shmipc keeps buffer managers in a process-wide map by name and would
	// hand a later run the previous run's slice sizes: name each run anew.
	c.ShareMemoryPathPrefix = fmt.Sprintf("/dev/shm/myelon-shmipc-%d", shmipcRuns.Add(1))
	conf := shmipc.DefaultSessionManagerConfig()
	conf.Config = c
	conf.Network, conf.Address = "unix", o.addr
	conf.SessionNum, conf.MaxStreamNum = 1, 1
	sm, err := shmipc.NewSessionManager(conf)
	if err != nil {
		return nil, err
	}
	st, err := sm.GetStream()
	if err != nil {
		sm.Close()
		return nil, err
	}
	if d, ok := backstop(ctx); ok {
		if err := st.SetDeadline(d); err != nil {
			sm.Close()
			return nil, err
		}
	}
	return &shmipcInitiator{sm: sm, st: st, c: onceCloser{Closer: sm}}, nil
}

func (o *shmipcOpener) Close() error { return nil }

type shmipcInitiator struct {
	sm *shmipc.SessionManager
	st *shmipc.Stream
	c  onceCloser
}

func (s *shmipcInitiator) RoundTrip(msg, reply []byte) error {
	if _, err := s.st.BufferWriter().WriteBytes(msg); err != nil {
		return err
	}
	if err := s.st.Flush(false); err != nil {
		return err
	}
	r := s.st.BufferReader()
	b, err := r.ReadBytes(len(reply))
	if err != nil {
		return err
	}
	copy(reply, b)
	r.ReleasePreviousRead()
	fence(s.st)
	return nil
}

// fence orders this goroutine's use of the stream before anything the
// session's event goroutine does later. shmipc-go recycles a stream's
// buffers on that goroutine when the peer disconnects, under the session's
// stream lock but without ordering against the user's earlier writes (a
// data race in v0.2.0); taking the same lock here supplies the missing
// happens-before edge. It costs one uncontended read lock per message.
func fence(st *shmipc.Stream) { _ = st.Session().GetActiveStreamCount() }

func (s *shmipcInitiator) Close() error { return s.c.close() }

func (shmipcPeer) Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	c, err := shmipcConfig(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", link.Addr)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	if err := ready(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	conn, err := ln.Accept()
	stop()
	if err != nil {
		return nil, err
	}
	sess, err := shmipc.Server(conn, c) // takes over conn
	if err != nil {
		return nil, err
	}
	stop = context.AfterFunc(ctx, func() { sess.Close() })
	st, err := sess.AcceptStream()
	stop()
	if err != nil {
		sess.Close()
		return nil, err
	}
	return &shmipcEcho{st: st, size: cfg.Size, c: onceCloser{Closer: sess}}, nil
}

type shmipcEcho struct {
	st   *shmipc.Stream
	size int
	c    onceCloser
}

// Echo reads the message in place from shared memory and copies it into a
// new slice for the reply.
func (s *shmipcEcho) Echo(seq uint64) error {
	r := s.st.BufferReader()
	b, err := r.ReadBytes(s.size)
	if err != nil {
		return err
	}
	if err := CheckSeq(b, seq, s.size); err != nil {
		return err
	}
	n, err := s.st.BufferWriter().WriteBytes(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("shmipc: wrote %d of %d bytes", n, len(b))
	}
	r.ReleasePreviousRead()
	err = s.st.Flush(false)
	fence(s.st)
	return err
}

func (s *shmipcEcho) Close() error {
	if err := s.c.close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
