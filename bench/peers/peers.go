package peers

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/ring"
)

// Names of the built-in peers.
const (
	RawAtomic  = "raw-atomic"
	Chan       = "chan"
	UnixSocket = "uds"
	Pipe       = "pipe"
	TCP        = "tcp"
	Shmipc     = "shmipc"
	GRPC       = "grpc-uds"
	ZMQ        = "zmq-ipc"
)

// Defaults and limits of Config.
const (
	DefaultSize    = 64
	DefaultCount   = 10_000
	DefaultTimeout = 5 * time.Minute
	// MinSize is the smallest message: the 8-byte sequence number.
	MinSize = 8
	// MaxSize is the largest message.
	MaxSize = 256 << 20
)

// Config is one ping-pong run. The zero value of each field means its
// documented default. It is JSON-serialisable: the echo process receives it
// in its environment.
type Config struct {
	// Size is the message length in bytes, the 8-byte sequence number
	// included; 0 means DefaultSize. Range MinSize..MaxSize.
	Size int `json:"size"`
	// Count is the number of measured round trips; 0 means DefaultCount.
	Count int `json:"count"`
	// Warmup is the number of unrecorded round trips before measuring;
	// 0 means none.
	Warmup int `json:"warmup"`
	// Rate is the fixed send rate in messages per second, which turns on
	// coordinated-omission correction; 0 means as fast as possible.
	Rate float64 `json:"rate,omitempty"`
	// Timeout bounds the whole run, echo process start to exit;
	// 0 means DefaultTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// CPUs pins the initiator's measuring thread to CPUs[0] and the echo
	// process's echoing thread to CPUs[1 % len(CPUs)]; empty means no
	// pinning. A pin the system refuses fails the run: a result must not
	// claim a placement it did not get.
	CPUs []int `json:"cpus,omitempty"`
}

// withDefaults fills zero fields and checks ranges.
func (c Config) withDefaults() (Config, error) {
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Count == 0 {
		c.Count = DefaultCount
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Size < MinSize || c.Size > MaxSize:
		return c, &ConfigError{"Size", c.Size, fmt.Sprintf("must be in %d..%d", MinSize, MaxSize)}
	case c.Count < 0:
		return c, &ConfigError{"Count", c.Count, "must not be negative"}
	case c.Warmup < 0:
		return c, &ConfigError{"Warmup", c.Warmup, "must not be negative"}
	case c.Timeout < 0:
		return c, &ConfigError{"Timeout", c.Timeout, "must not be negative"}
	case c.Rate != 0:
		if _, err := hist.NewSchedule(c.Rate, time.Time{}); err != nil {
			return c, &ConfigError{"Rate", c.Rate, err.Error()}
		}
	}
	for _, cpu := range c.CPUs {
		if cpu < 0 {
			return c, &ConfigError{"CPUs", c.CPUs, "CPU numbers are not negative"}
		}
	}
	return c, nil
}

// Roles of a run, for Config.pin.
const (
	roleInitiator = 0
	roleEcho      = 1
)

// pin locks the calling goroutine to its thread and pins the thread to
// the role's CPU, when c.CPUs is set; release undoes both.
func (c Config) pin(role int) (release func(), err error) {
	if len(c.CPUs) == 0 {
		return func() {}, nil
	}
	cpu := c.CPUs[role%len(c.CPUs)]
	release, err = ring.PinThread(cpu)
	if err != nil {
		return nil, &ConfigError{"CPUs", c.CPUs, fmt.Sprintf("pinning to CPU %d: %v", cpu, err)}
	}
	return release, nil
}

// total is the number of messages the echo side handles.
func (c Config) total() uint64 { return uint64(c.Warmup) + uint64(c.Count) }

// Measurement modes, as the seed's result schema names them.
const (
	ModeMaxThroughput = "max_throughput"
	ModeFixedRate     = "fixed_rate"
)

// Result is one ping-pong run. JSON names follow the seed's result schema.
type Result struct {
	Peer   string `json:"adapter"`
	Size   int    `json:"message_size"`
	Count  int    `json:"num_messages"`
	Warmup int    `json:"warmup_messages"`
	// Mode is ModeMaxThroughput or ModeFixedRate.
	Mode       string  `json:"measurement_mode"`
	TargetRate float64 `json:"target_rate,omitempty"`
	// Latency is the round trip from actual send to echo received, in ns;
	// its Throughput is round trips per second.
	Latency hist.Summary `json:"latency_stats"`
	// Corrected is the round trip from the intended send time (fixed-rate
	// mode only): coordinated omission corrected.
	Corrected *hist.Summary `json:"coordinated_omission_stats,omitempty"`
	// Verified is true when every echoed message was checked byte-stamp by
	// byte-stamp; a Result is only returned without error when it holds.
	Verified bool `json:"verification_passed"`
	// CPUs is Config.CPUs: the initiator ran on CPUs[0], the echo on
	// CPUs[1 % len(CPUs)]; empty when nothing was pinned.
	CPUs []int `json:"cpus,omitempty"`
}

// Peer is a transport whose echo side runs in a separate process. Prepare
// and Open run in the initiator process, Serve in the echo process.
type Peer interface {
	// Name is the name Run and the echo process look the peer up by.
	Name() string
	// Prepare runs before the echo process starts. It creates what the echo
	// process needs (a listener, a shared file, pipes) in dir, a private
	// directory removed after the run, and describes it in the Link.
	Prepare(dir string, cfg Config) (Opener, Link, error)
	// Serve runs in the echo process. It connects through link, calls ready
	// as soon as the initiator may call Open, and returns the echo end. It
	// must return promptly once ctx is done.
	Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error)
}

// Link is what the echo process receives from Prepare.
type Link struct {
	// Addr reaches the echo process through its environment, e.g. a path.
	Addr string
	// Files are inherited by the echo process, in this order. Run closes
	// the initiator's copies once the echo process has started.
	Files []*os.File
}

// Opener is the initiator's side of a prepared link.
type Opener interface {
	// Open connects once the echo process has called ready. It must return
	// promptly once ctx is done; ctx also bounds the connection's life.
	Open(ctx context.Context) (Initiator, error)
	// Close releases what Prepare made. Run calls it once, after closing
	// the Initiator.
	Close() error
}

// Initiator is the measuring end of a connection.
type Initiator interface {
	// RoundTrip sends msg, waits for its echo and copies it into reply,
	// which has the same length. It should not allocate.
	RoundTrip(msg, reply []byte) error
	// Close ends the connection. It may be called more than once, and
	// concurrently with RoundTrip, which it must then interrupt.
	Close() error
}

// Releaser is implemented by an Initiator or Echoer whose Close only
// interrupts (it may run concurrently with RoundTrip or Echo, so it must
// not free what they use). Run calls Release once, after the last
// RoundTrip or Echo has returned, on every path.
type Releaser interface {
	Release() error
}

// releaseIfAny calls x's Release if it has one.
func releaseIfAny(x any) {
	if r, ok := x.(Releaser); ok {
		_ = r.Release()
	}
}

// Echoer is the echo process's end of a connection.
type Echoer interface {
	// Echo receives message seq, checks it with CheckSeq and sends the same
	// bytes back.
	Echo(seq uint64) error
	// Close ends the connection. It may be called more than once, and
	// concurrently with Echo, which it must then interrupt.
	Close() error
}

var registry = struct {
	sync.Mutex
	names []string
	peers map[string]Peer
}{
	names: []string{RawAtomic, Chan, UnixSocket, Pipe, TCP, Shmipc, GRPC, ZMQ},
	peers: map[string]Peer{
		RawAtomic:  rawAtomic{},
		UnixSocket: streamPeer{name: UnixSocket, network: "unix"},
		Pipe:       pipePeer{},
		TCP:        streamPeer{name: TCP, network: "tcp"},
		Shmipc:     shmipcPeer{},
		GRPC:       grpcPeer{},
		ZMQ:        zmqPeer{},
	},
}

// Register adds a peer. It fails with ErrDuplicatePeer when the name is
// taken (the built-in names included) and ErrBadConfig for a nil peer or an
// empty name.
func Register(p Peer) error {
	if p == nil {
		return &ConfigError{"Peer", nil, "nil"}
	}
	name := p.Name()
	if name == "" {
		return &ConfigError{"Name", `""`, "a peer needs a name"}
	}
	registry.Lock()
	defer registry.Unlock()
	if slices.Contains(registry.names, name) {
		return fmt.Errorf("%w: %q", ErrDuplicatePeer, name)
	}
	registry.names = append(registry.names, name)
	registry.peers[name] = p
	return nil
}

// Names lists every peer Run accepts: the built-ins in the order of the
// package doc, then registered ones in registration order.
func Names() []string {
	registry.Lock()
	defer registry.Unlock()
	return slices.Clone(registry.names)
}

func lookup(name string) (Peer, error) {
	registry.Lock()
	defer registry.Unlock()
	if p, ok := registry.peers[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %q (have %v)", ErrUnknownPeer, name, registry.names)
}

// runSlot serialises runs: two at once would measure each other.
var runSlot = make(chan struct{}, 1)

// Run measures the named peer. It starts the echo process (except for the
// in-process Chan peer), waits for it, runs cfg.Warmup and then cfg.Count
// round trips, stops the echo process and returns the statistics. It
// returns early, having killed the echo process, when ctx is done, the
// timeout passes, the echo process fails, or a reply is wrong. Concurrent
// calls wait for each other (within their own ctx and timeout).
func Run(ctx context.Context, peer string, cfg Config) (Result, error) {
	if _, ok := os.LookupEnv(childEnv); ok {
		return Result{}, ErrNested
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	var p Peer
	if peer != Chan {
		if p, err = lookup(peer); err != nil {
			return Result{}, err
		}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("%w after %v", ErrTimeout, cfg.Timeout))
	defer cancel()
	select {
	case runSlot <- struct{}{}:
		defer func() { <-runSlot }()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("peers: %s: waiting for another run: %w", peer, context.Cause(ctx))
	}
	var res Result
	if p == nil {
		res, err = runChan(ctx, cfg)
	} else {
		res, err = runProcess(ctx, p, cfg)
	}
	if err != nil {
		return Result{}, fmt.Errorf("peers: %s, %d bytes: %w", peer, cfg.Size, err)
	}
	res.Peer, res.CPUs = peer, cfg.CPUs
	return res, nil
}

// RunRawAtomic measures the raw atomic reference: Run(ctx, RawAtomic, cfg).
func RunRawAtomic(ctx context.Context, cfg Config) (Result, error) {
	return Run(ctx, RawAtomic, cfg)
}
