package fabric

// Segment naming: the session tag, the names of a session's rings, and the
// rules every name keeps.

import (
	"fmt"
	"hash/fnv"
	"iter"
	"math/bits"
	"path/filepath"
	"strconv"

	"github.com/myelon-go/myelon/ring"
)

// Naming limits.
const (
	// MaxNameLen is the longest segment name: macOS limits POSIX shm names
	// to 31 bytes (PSHMNAMLEN) including the leading slash. A ring is one
	// segment and the library derives no further names from it, so a name
	// needs no room for suffixes.
	MaxNameLen = 30
	// TagLen is the length of a session tag.
	TagLen = 8
	// MaxWorkers is the largest worker count: every rank is one producer
	// of the return ring, whose producer table holds at most 1024
	// entries, one of them the scheduler's (the ring's creator).
	MaxWorkers = 1023
	// MaxPrefixLen is the longest prefix: the longest derived name is
	// prefix + tag + "l" + three hex digits (rank MaxWorkers-1).
	MaxPrefixLen = MaxNameLen - TagLen - 1 - 3
	// DefaultPrefix is the prefix of Config's zero value (the seed's).
	DefaultPrefix = "vmy"
)

// SessionTag derives the 8-character tag of a session from its label:
// the label's ASCII letters and digits, lowercased; if at least 8 remain,
// the last 8 of them; otherwise the FNV-1a 32-bit hash of the raw label
// bytes as 8 lowercase hex digits. It is a pure function of the label's
// bytes, so every machine and Go version derives the same names.
func SessionTag(label string) string {
	var b []byte
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		}
	}
	if len(b) >= TagLen {
		return string(b[len(b)-TagLen:])
	}
	h := fnv.New32a()
	h.Write([]byte(label))
	return fmt.Sprintf("%08x", h.Sum32())
}

// ValidatePrefix checks a name prefix: 1..MaxPrefixLen ASCII letters and
// digits. The error matches ErrInvalidName.
func ValidatePrefix(prefix string) error { return checkAlnum("prefix", prefix, MaxPrefixLen) }

// ValidateName checks a segment name as the fabric derives them:
// 1..MaxNameLen ASCII letters and digits (macOS's PSHMNAMLEN is 31 with
// the leading slash). Such a name is a valid POSIX shm name on Linux and
// macOS and a valid file name, so it serves every backend. The error
// matches ErrInvalidName.
func ValidateName(name string) error { return checkAlnum("name", name, MaxNameLen) }

// checkAlnum checks that s is 1..max ASCII letters and digits.
func checkAlnum(what, s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%w: %s %q has length %d, want 1..%d", ErrInvalidName, what, s, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: %s %q has byte %q at %d (want ASCII letters and digits)", ErrInvalidName, what, s, c, i)
		}
	}
	return nil
}

// WorkerCount is the number of worker ranks of a fabric, 1..MaxWorkers.
// Ranks are 0..n-1.
type WorkerCount int

// Validate reports a count outside 1..MaxWorkers (ErrInvalidConfig).
func (n WorkerCount) Validate() error {
	if n < 1 || n > MaxWorkers {
		return fmt.Errorf("%w: Workers=%d: want 1..%d", ErrInvalidConfig, int(n), MaxWorkers)
	}
	return nil
}

// Ranks yields 0..n-1.
func (n WorkerCount) Ranks() iter.Seq[int] {
	return func(yield func(int) bool) {
		for r := 0; r < int(n); r++ {
			if !yield(r) {
				return
			}
		}
	}
}

// checkRank reports a rank outside 0..n-1 (ErrInvalidConfig).
func (n WorkerCount) checkRank(rank int) error {
	if rank < 0 || rank >= int(n) {
		return fmt.Errorf("%w: rank %d is out of range for %d workers", ErrInvalidConfig, rank, int(n))
	}
	return nil
}

// WorkerID is the consumer id rank r holds on the dispatch ring:
// "rank" + r in decimal.
func WorkerID(rank int) string { return "rank" + strconv.Itoa(rank) }

// schedulerID is the consumer id the scheduler holds on every return ring.
const schedulerID = "scheduler"

// Layout is the set of segments of one session, derived from a Config:
//
//	dispatch ring (scheduler -> every rank):        prefix + tag + "p"
//	return ring (every rank -> scheduler):          prefix + tag + "r"
//	presence of rank r (its worker's liveness):     prefix + tag + "l" + lowercase hex(r)
//
// With the default prefix "vmy" the names are 12 to 15 bytes. On the File
// backend each segment is the file of that name in Config.Dir. A Layout is
// immutable; its zero value has no rings (make one with Config.Layout).
type Layout struct {
	cfg Config // defaults applied
	tag string
}

// Layout validates c and derives the session's layout. Errors match
// ErrInvalidConfig or ErrInvalidName and name the field.
func (c Config) Layout() (*Layout, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	l := &Layout{cfg: r, tag: SessionTag(r.Session)}
	// The longest name belongs to the highest rank; checking it and the
	// dispatch name checks every name.
	for _, n := range []string{l.base("p"), l.base("l" + strconv.FormatInt(int64(r.Workers-1), 16))} {
		if err := ValidateName(n); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Config returns the configuration the layout was made from, with
// defaults applied.
func (l *Layout) Config() Config { return l.cfg }

// Tag returns the session tag (SessionTag of Config.Session).
func (l *Layout) Tag() string { return l.tag }

// Workers returns the number of ranks.
func (l *Layout) Workers() WorkerCount { return l.cfg.Workers }

// base returns the segment name for a ring suffix.
func (l *Layout) base(suffix string) string { return l.cfg.Prefix + l.tag + suffix }

// locate turns a segment name into what the backend opens: the name, or
// its path under Dir for the File backend.
func (l *Layout) locate(name string) string {
	if l.cfg.Backend == ring.File {
		return filepath.Join(l.cfg.Dir, name)
	}
	return name
}

// Dispatch returns the dispatch ring's name (a path on the File backend).
func (l *Layout) Dispatch() string { return l.locate(l.base("p")) }

// Return returns the return ring's name (a path on the File backend).
func (l *Layout) Return() string { return l.locate(l.base("r")) }

// Presence returns the name (a path on the File backend) of rank's
// presence segment; a rank out of range is ErrInvalidConfig.
func (l *Layout) Presence(rank int) (string, error) {
	if err := l.cfg.Workers.checkRank(rank); err != nil {
		return "", err
	}
	return l.locate(l.base("l" + strconv.FormatInt(int64(rank), 16))), nil
}

// Names returns every segment of the session: the dispatch ring, the
// return ring, then the presence segments in rank order.
func (l *Layout) Names() []string {
	names := []string{l.Dispatch(), l.Return()}
	for r := range l.cfg.Workers.Ranks() {
		n, _ := l.Presence(r)
		names = append(names, n)
	}
	return names
}

// returnCapacity is the return ring's capacity: ReturnDepth frames per
// rank, rounded up to a power of two.
func (l *Layout) returnCapacity() int {
	return 1 << bits.Len(uint(l.cfg.ReturnDepth*int(l.cfg.Workers)-1))
}

// Runner returns the configuration the worker of rank needs: hand it to
// the process you launch (RunnerConfig.Environ, a flag, or a file).
func (l *Layout) Runner(rank int) (RunnerConfig, error) {
	p, err := l.Presence(rank)
	if err != nil {
		return RunnerConfig{}, err
	}
	return RunnerConfig{
		Rank: rank, Workers: l.cfg.Workers, ID: WorkerID(rank),
		Dispatch: l.Dispatch(), Return: l.Return(), Presence: p,
		DispatchDepth: l.cfg.DispatchDepth, PayloadCapacity: l.cfg.PayloadCapacity,
		Wait: l.cfg.Wait, Backend: l.cfg.Backend,
	}, nil
}
