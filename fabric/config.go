package fabric

// Configuration: the scheduler's Config (JSON and MYELON_* environment
// variables) and the per-rank RunnerConfig handed to each worker process.

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Defaults applied to zero Config fields.
const (
	DefaultDispatchDepth = 1024 // slots (frames) of the dispatch ring
	DefaultReturnDepth   = 256  // slots (frames) of the return ring per rank
)

// Config describes a fabric session: its names (Session, Prefix,
// Workers), its rings (depths, frame size) and how every side waits. It
// crosses processes as JSON (field names below) or environment variables
// (ApplyEnv). Zero values mean the defaults.
type Config struct {
	// Session labels the session; the segment names derive from it
	// through SessionTag. Sessions with different tags never share a
	// ring. Zero: the empty label (tag "811c9dc5").
	Session string `json:"session"`
	// Workers is the number of ranks. Required: 1..MaxWorkers.
	Workers WorkerCount `json:"workers"`
	// Prefix starts every segment name (ValidatePrefix). Zero:
	// DefaultPrefix.
	Prefix string `json:"prefix,omitempty"`
	// DispatchDepth is the dispatch ring's capacity in frames, a power of
	// two. Zero: DefaultDispatchDepth.
	DispatchDepth int `json:"dispatch_depth,omitempty"`
	// ReturnDepth is the return ring's room per rank in frames, a power
	// of two: the ring holds ReturnDepth*Workers frames, rounded up to a
	// power of two. Zero: DefaultReturnDepth.
	ReturnDepth int `json:"return_depth,omitempty"`
	// PayloadCapacity is the payload bytes of one frame; longer messages
	// take several frames. Zero: frame.DefaultPayloadCapacity (4 KiB
	// slots).
	PayloadCapacity int `json:"payload_capacity,omitempty"`
	// Wait is how every side waits (text: block, spin, yield, sleep[:d]).
	// Zero: ring.Block. Use Block (or Yield) when processes outnumber
	// cores.
	Wait ring.WaitStrategy `json:"wait"`
	// Backend holds the segments (text: shm, file, heap). Zero: ring.Shm.
	// Heap rings live in one process: for tests and examples whose
	// workers are goroutines.
	Backend ring.Backend `json:"backend"`
	// Dir is the directory of the segment files on the File backend
	// (required there, ignored elsewhere).
	Dir string `json:"dir,omitempty"`
}

// Environment variables read by ApplyEnv, and RunnerEnv.
const (
	EnvSession         = "MYELON_SESSION"
	EnvWorkers         = "MYELON_WORKERS"
	EnvPrefix          = "MYELON_PREFIX"
	EnvDispatchDepth   = "MYELON_DISPATCH_DEPTH"
	EnvReturnDepth     = "MYELON_RETURN_DEPTH"
	EnvPayloadCapacity = "MYELON_PAYLOAD_CAPACITY"
	EnvWait            = "MYELON_WAIT"
	EnvBackend         = "MYELON_BACKEND"
	EnvDir             = "MYELON_DIR"
)

// ApplyEnv overrides c's fields with the MYELON_* environment variables
// that are set (to anything, even empty): MYELON_SESSION,
// MYELON_WORKERS, MYELON_PREFIX, MYELON_DISPATCH_DEPTH,
// MYELON_RETURN_DEPTH, MYELON_PAYLOAD_CAPACITY (integers), MYELON_WAIT
// (block, spin, yield, sleep[:d]), MYELON_BACKEND (shm, file, heap) and
// MYELON_DIR. A value that does not parse is ErrInvalidConfig naming the
// variable; c is then unchanged.
func (c *Config) ApplyEnv() error {
	n := *c
	for _, v := range []struct {
		name string
		set  func(string) error
	}{
		{EnvSession, func(s string) error { n.Session = s; return nil }},
		{EnvWorkers, func(s string) error { return atoi(s, (*int)(&n.Workers)) }},
		{EnvPrefix, func(s string) error { n.Prefix = s; return nil }},
		{EnvDispatchDepth, func(s string) error { return atoi(s, &n.DispatchDepth) }},
		{EnvReturnDepth, func(s string) error { return atoi(s, &n.ReturnDepth) }},
		{EnvPayloadCapacity, func(s string) error { return atoi(s, &n.PayloadCapacity) }},
		{EnvWait, func(s string) error { return n.Wait.UnmarshalText([]byte(s)) }},
		{EnvBackend, func(s string) error { return n.Backend.UnmarshalText([]byte(s)) }},
		{EnvDir, func(s string) error { n.Dir = s; return nil }},
	} {
		s, ok := os.LookupEnv(v.name)
		if !ok {
			continue
		}
		if err := v.set(s); err != nil {
			return fmt.Errorf("%w: %s=%q: %v", ErrInvalidConfig, v.name, s, err)
		}
	}
	*c = n
	return nil
}

func atoi(s string, dst *int) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// resolve validates c and applies the defaults.
func (c Config) resolve() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if err := ValidatePrefix(c.Prefix); err != nil {
		return Config{}, err
	}
	if err := c.Workers.Validate(); err != nil {
		return Config{}, err
	}
	if c.DispatchDepth == 0 {
		c.DispatchDepth = DefaultDispatchDepth
	}
	if c.ReturnDepth == 0 {
		c.ReturnDepth = DefaultReturnDepth
	}
	if c.PayloadCapacity == 0 {
		c.PayloadCapacity = frame.DefaultPayloadCapacity
	}
	if err := checkGeometry(c.DispatchDepth, c.ReturnDepth, c.PayloadCapacity); err != nil {
		return Config{}, err
	}
	if c.ReturnDepth*int(c.Workers) > 1<<30 {
		return Config{}, fmt.Errorf("%w: ReturnDepth=%d: ReturnDepth*Workers exceeds 2^30 frames", ErrInvalidConfig, c.ReturnDepth)
	}
	if _, err := c.Backend.MarshalText(); err != nil {
		return Config{}, fmt.Errorf("%w: Backend: %v", ErrInvalidConfig, err)
	}
	if c.Backend == ring.File && c.Dir == "" {
		return Config{}, fmt.Errorf("%w: Dir is required on the file backend", ErrInvalidConfig)
	}
	if c.Backend != ring.File {
		c.Dir = ""
	}
	return c, nil
}

// checkGeometry checks ring depths (powers of two, at most 2^30) and the
// frame payload capacity.
func checkGeometry(dispatch, ret, payload int) error {
	for _, d := range []struct {
		field string
		v     int
	}{{"DispatchDepth", dispatch}, {"ReturnDepth", ret}} {
		if d.v < 1 || d.v > 1<<30 || bits.OnesCount(uint(d.v)) != 1 {
			return fmt.Errorf("%w: %s=%d: want a power of two in [1, 2^30]", ErrInvalidConfig, d.field, d.v)
		}
	}
	if payload < reqHeaderSize || payload > frame.MaxPayloadCapacity {
		return fmt.Errorf("%w: PayloadCapacity=%d: want [%d, %d]", ErrInvalidConfig, payload, reqHeaderSize, frame.MaxPayloadCapacity)
	}
	return nil
}

// RunnerEnv is the environment variable that carries a RunnerConfig to a
// worker process (RunnerConfig.Environ, RunnerFromEnv).
const RunnerEnv = "MYELON_RUNNER"

// RunnerConfig is what the worker of one rank needs to join its session:
// the names of its rings and their geometry, derived from the layout
// (Layout.Runner). It crosses to the worker process as JSON: in an
// environment variable (Environ, RunnerFromEnv), a command-line flag (it
// is a flag.Value: -runner '<json>' or -runner @file), or a file
// (WriteFile, ParseRunner("@file")).
type RunnerConfig struct {
	Rank     int         `json:"rank"`
	Workers  WorkerCount `json:"workers"`
	ID       string      `json:"id"`       // consumer id on the dispatch ring (WorkerID)
	Dispatch string      `json:"dispatch"` // dispatch ring name (path on the file backend)
	Return   string      `json:"return"`   // return ring name (path on the file backend)
	Presence string      `json:"presence"` // this rank's presence segment (path on the file backend); none in a pool
	// Group is set for a pool worker (Layout.PoolRunner): ID is then the
	// worker's id in the pool's consumer group, and Rank is 0.
	Group           string            `json:"group,omitempty"`
	DispatchDepth   int               `json:"dispatch_depth"`
	PayloadCapacity int               `json:"payload_capacity"`
	Wait            ring.WaitStrategy `json:"wait"`
	Backend         ring.Backend      `json:"backend"`
}

// Validate checks every field (ErrInvalidConfig or ErrInvalidName).
func (r RunnerConfig) Validate() error {
	if err := r.Workers.Validate(); err != nil {
		return err
	}
	if err := r.Workers.checkRank(r.Rank); err != nil {
		return err
	}
	names := []string{r.Dispatch, r.Return, r.Presence}
	switch {
	case r.Group != "":
		if r.Group != poolGroup || r.Rank != 0 || r.Presence != "" {
			return fmt.Errorf("%w: a pool worker has group %q, rank 0 and no presence segment", ErrInvalidConfig, poolGroup)
		}
		if err := checkPoolID(r.ID); err != nil {
			return err
		}
		names = names[:2]
	case r.ID != WorkerID(r.Rank):
		return fmt.Errorf("%w: id %q: want %q for rank %d", ErrInvalidConfig, r.ID, WorkerID(r.Rank), r.Rank)
	}
	if err := checkGeometry(r.DispatchDepth, 1, r.PayloadCapacity); err != nil {
		return err
	}
	if _, err := r.Backend.MarshalText(); err != nil {
		return fmt.Errorf("%w: Backend: %v", ErrInvalidConfig, err)
	}
	for _, n := range names {
		if r.Backend == ring.File {
			if n == "" {
				return fmt.Errorf("%w: empty ring path", ErrInvalidName)
			}
			continue
		}
		if err := ValidateName(n); err != nil {
			return err
		}
	}
	return nil
}

// String returns the JSON encoding (flag.Value).
func (r *RunnerConfig) String() string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("invalid runner config: %v", err)
	}
	return string(b)
}

// Set parses a runner config as ParseRunner does (flag.Value).
func (r *RunnerConfig) Set(s string) error {
	v, err := ParseRunner(s)
	if err == nil {
		*r = v
	}
	return err
}

// ParseRunner reads a runner config from JSON, or from the file named
// after an '@', and validates it.
func ParseRunner(s string) (RunnerConfig, error) {
	data := []byte(s)
	if path, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return RunnerConfig{}, fmt.Errorf("%w: runner config file: %w", ErrInvalidConfig, err)
		}
		data = b
	}
	var r RunnerConfig
	if err := json.Unmarshal(data, &r); err != nil {
		return RunnerConfig{}, fmt.Errorf("%w: runner config: %w", ErrInvalidConfig, err)
	}
	if err := r.Validate(); err != nil {
		return RunnerConfig{}, err
	}
	return r, nil
}

// Environ returns "MYELON_RUNNER=<json>", for exec.Cmd.Env.
func (r *RunnerConfig) Environ() string { return RunnerEnv + "=" + r.String() }

// RunnerFromEnv reads the runner config from MYELON_RUNNER (JSON, or
// @file), as ParseRunner does.
func RunnerFromEnv() (RunnerConfig, error) {
	s, ok := os.LookupEnv(RunnerEnv)
	if !ok {
		return RunnerConfig{}, fmt.Errorf("%w: %s is not set", ErrInvalidConfig, RunnerEnv)
	}
	return ParseRunner(s)
}

// WriteFile writes the JSON encoding to path (mode 0600), for a worker
// started with @path.
func (r *RunnerConfig) WriteFile(path string) error {
	return os.WriteFile(path, []byte(r.String()), 0o600)
}
