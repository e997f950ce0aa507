package fabric

import (
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// The tags and names below are frozen: a change breaks every deployed
// session (a scheduler and workers of different versions would not find
// each other's rings). The hashed tags are FNV-1a 32-bit, checked against
// an independent implementation.
func TestSessionTag_Golden(t *testing.T) {
	for _, c := range []struct{ label, tag string }{
		{"", "811c9dc5"},
		{"a", "e40c292c"},
		{"abc", "1a47e90b"},
		{"short-1", "5882611b"},                         // 6 alphanumerics: hashed
		{"job 7", "b1dd7939"},                           // the raw label is hashed, space included
		{"Ünïcødé", "3161a240"},                         // non-ASCII bytes are dropped, then hashed
		{"ABCDEFGH", "abcdefgh"},                        // exactly 8: lowercased
		{"Llama-3-70B-Instruct/session-42", "ession42"}, // the last 8
		{"a.b.c.d.e.f.g.h.i", "bcdefghi"},
	} {
		if got := SessionTag(c.label); got != c.tag {
			t.Errorf("SessionTag(%q) = %q, want %q", c.label, got, c.tag)
		}
	}
}

func TestLayout_Golden(t *testing.T) {
	l, err := Config{Session: "Llama-3-70B-Instruct/session-42", Workers: 4}.Layout()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"vmyession42p", "vmyession42r", "vmyession42l0", "vmyession42l1", "vmyession42l2", "vmyession42l3"}
	if got := l.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	// The longest names: the longest prefix and the highest rank.
	l, err = Config{Session: "a", Workers: MaxWorkers, Prefix: strings.Repeat("P", MaxPrefixLen)}.Layout()
	if err != nil {
		t.Fatal(err)
	}
	last, _ := l.Presence(MaxWorkers - 1)
	if want := strings.Repeat("P", MaxPrefixLen) + "e40c292c" + "l3fe"; last != want || len(last) != MaxNameLen {
		t.Fatalf("last presence %q (%d bytes), want %q (%d)", last, len(last), want, MaxNameLen)
	}
	for _, n := range l.Names() {
		if err := ValidateName(n); err != nil {
			t.Fatal(err)
		}
	}
	// The file backend: the same names, in Dir.
	dir := t.TempDir()
	l, err = Config{Session: "Llama-3-70B-Instruct/session-42", Workers: 2, Backend: ring.File, Dir: dir}.Layout()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Dispatch(), filepath.Join(dir, "vmyession42p"); got != want {
		t.Fatalf("dispatch %q, want %q", got, want)
	}
	if got := l.Return(); got != filepath.Join(dir, "vmyession42r") {
		t.Fatalf("return ring: %q", got)
	}
	if got, _ := l.Presence(1); got != filepath.Join(dir, "vmyession42l1") {
		t.Fatalf("presence of rank 1: %q", got)
	}
}

// The producer table of the return ring holds every rank and the
// scheduler at the largest worker count, and no more.
func TestMaxWorkers_FitsTheReturnRing(t *testing.T) {
	p, err := frame.Create(ring.PortableName("fmax"), frame.Config{Backend: ring.Heap, Capacity: 2, PayloadCapacity: 64, MaxProducers: MaxWorkers + 1})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := frame.Create(ring.PortableName("fmax"), frame.Config{Backend: ring.Heap, Capacity: 2, PayloadCapacity: 64, MaxProducers: MaxWorkers + 2}); !errors.Is(err, ring.ErrInvalidConfig) {
		t.Fatalf("MaxProducers=%d: %v, want ErrInvalidConfig", MaxWorkers+2, err)
	}
}

func TestConfig_Layout_Invalid(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want error
		in   string
	}{
		{"NoWorkers", Config{}, ErrInvalidConfig, "Workers=0"},
		{"TooManyWorkers", Config{Workers: MaxWorkers + 1}, ErrInvalidConfig, "Workers=1024"},
		{"PrefixPunctuation", Config{Workers: 1, Prefix: "a-b"}, ErrInvalidName, "prefix"},
		{"PrefixTooLong", Config{Workers: 1, Prefix: strings.Repeat("p", MaxPrefixLen+1)}, ErrInvalidName, "length 19"},
		{"DispatchDepth", Config{Workers: 1, DispatchDepth: 1000}, ErrInvalidConfig, "DispatchDepth=1000"},
		{"ReturnDepth", Config{Workers: 1, ReturnDepth: -4}, ErrInvalidConfig, "ReturnDepth=-4"},
		{"ReturnRing", Config{Workers: 4, ReturnDepth: 1 << 29}, ErrInvalidConfig, "ReturnDepth*Workers"},
		{"PayloadCapacity", Config{Workers: 1, PayloadCapacity: 8}, ErrInvalidConfig, "PayloadCapacity=8"},
		{"FileWithoutDir", Config{Workers: 1, Backend: ring.File}, ErrInvalidConfig, "Dir"},
		{"Backend", Config{Workers: 1, Backend: 7}, ErrInvalidConfig, "Backend"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.cfg.Layout()
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.in) {
				t.Fatalf("err = %v, want %v mentioning %q", err, c.want, c.in)
			}
			if _, err := NewScheduler(c.cfg); !errors.Is(err, c.want) {
				t.Fatalf("NewScheduler: %v, want %v", err, c.want)
			}
		})
	}
	l, _ := Config{Workers: 2}.Layout()
	for _, rank := range []int{-1, 2} {
		if _, err := l.Presence(rank); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Presence(%d): %v", rank, err)
		}
		if _, err := l.Runner(rank); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Runner(%d): %v", rank, err)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {strings.Repeat("z", MaxNameLen), true}, {"Vmy0123abcdP", true},
		{"", false}, {strings.Repeat("z", MaxNameLen+1), false}, {"a.b", false}, {"a_b", false}, {"/a", false}, {"é", false},
	} {
		err := ValidateName(c.name)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidName)) {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestConfig_JSONRoundTrip(t *testing.T) {
	c := Config{Session: "s", Workers: 3, Prefix: "abc", DispatchDepth: 64, ReturnDepth: 8, PayloadCapacity: 100,
		Wait: ring.Sleep(time.Millisecond), Backend: ring.File, Dir: "/tmp/fab"}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"wait":"sleep:1ms"`, `"backend":"file"`, `"workers":3`, `"dispatch_depth":64`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("%s lacks %s", b, s)
		}
	}
	var d Config
	if err := json.Unmarshal(b, &d); err != nil || !reflect.DeepEqual(c, d) {
		t.Fatalf("round trip: %+v %v, want %+v", d, err, c)
	}
	if err := json.Unmarshal([]byte(`{"workers":1,"wait":"fast"}`), &d); err == nil {
		t.Fatal("unknown wait strategy accepted")
	}
}

func TestConfig_ApplyEnv(t *testing.T) {
	for k, v := range map[string]string{
		EnvSession: "env-session", EnvWorkers: "5", EnvPrefix: "q", EnvDispatchDepth: "128", EnvReturnDepth: "32",
		EnvPayloadCapacity: "512", EnvWait: "yield", EnvBackend: "file", EnvDir: "/tmp/d",
	} {
		t.Setenv(k, v)
	}
	c := Config{Session: "overridden", Workers: 1}
	if err := c.ApplyEnv(); err != nil {
		t.Fatal(err)
	}
	want := Config{Session: "env-session", Workers: 5, Prefix: "q", DispatchDepth: 128, ReturnDepth: 32, PayloadCapacity: 512,
		Wait: ring.Yield, Backend: ring.File, Dir: "/tmp/d"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	t.Setenv(EnvReturnDepth, "many")
	before := c
	if err := c.ApplyEnv(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), EnvReturnDepth) {
		t.Fatalf("err = %v, want ErrInvalidConfig naming %s", err, EnvReturnDepth)
	}
	if !reflect.DeepEqual(c, before) {
		t.Fatal("a failed ApplyEnv changed the config")
	}
}

// A runner config reaches a worker by environment variable, file or flag,
// unchanged, and a damaged one is refused.
func TestRunnerConfig_Handoff(t *testing.T) {
	l, err := Config{Session: "handoff", Workers: 4, Wait: ring.Yield}.Layout()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Runner(3)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := l.Presence(3); rc.Presence != want || rc.Return != l.Return() || rc.Dispatch != l.Dispatch() || rc.ID != "rank3" || rc.Wait != ring.Yield {
		t.Fatalf("runner config %+v", rc)
	}
	k, v, _ := strings.Cut(rc.Environ(), "=")
	t.Setenv(k, v)
	if got, err := RunnerFromEnv(); err != nil || got != rc {
		t.Fatalf("env: %+v %v, want %+v", got, err, rc)
	}
	path := filepath.Join(t.TempDir(), "runner.json")
	if err := rc.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if got, err := ParseRunner("@" + path); err != nil || got != rc {
		t.Fatalf("file: %+v %v", got, err)
	}
	var got RunnerConfig
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.Var(&got, "runner", "runner config")
	if err := fs.Parse([]string{"-runner", rc.String()}); err != nil || got != rc {
		t.Fatalf("flag: %+v %v", got, err)
	}
	bad := rc
	bad.Rank = 4
	if _, err := ParseRunner(bad.String()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("rank out of range: %v", err)
	}
	bad = rc
	bad.Presence = "../etc/passwd"
	if _, err := ParseRunner(bad.String()); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad ring name: %v", err)
	}
	if _, err := ParseRunner("{"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad JSON: %v", err)
	}
	t.Setenv(RunnerEnv, "")
	if _, err := RunnerFromEnv(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty %s: %v", RunnerEnv, err)
	}
}
