package ring

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/testfix"
)

type cfgEvent struct{ A, B int64 }

// TestCreate_InvalidConfig: every bad value is ErrInvalidConfig with a
// message naming field=value.
func TestCreate_InvalidConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"capacity_not_pow2", Config{Capacity: 3}, "Capacity=3"},
		{"capacity_negative", Config{Capacity: -4}, "Capacity=-4"},
		{"capacity_too_large", Config{Capacity: 1 << 31}, "Capacity=2147483648"},
		{"slot_size_negative", Config{SlotSize: -8}, "SlotSize=-8"},
		{"slot_size_too_large", Config{SlotSize: maxSlotSize + 1}, "SlotSize=1073741825"},
		{"max_consumers_negative", Config{MaxConsumers: -1}, "MaxConsumers=-1"},
		{"max_consumers_too_large", Config{MaxConsumers: maxConsumers + 1}, "MaxConsumers=4097"},
		{"max_producers_negative", Config{MaxProducers: -2}, "MaxProducers=-2"},
		{"max_producers_too_large", Config{MaxProducers: maxProducers + 1}, "MaxProducers=1025"},
		{"multi_capacity_1", Config{Capacity: 1, MaxProducers: 2}, "Capacity=1"},
		{"meta_too_long", Config{Meta: make([]byte, UserMetaSize+1)}, "Meta=241"},
		{"backend_unknown", Config{Backend: Heap + 1}, "Backend="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.Backend == 0 {
				cfg.Backend = Heap
			}
			_, err := Create[cfgEvent](PortableName("cfg"), cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Create = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not name %s", err, tc.want)
			}
			_, err = CreateBytes(PortableName("cfg"), cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateBytes = %v, want ErrInvalidConfig naming %s", err, tc.want)
			}
		})
	}
}

// TestCreate_InvalidName: names are validated per backend before anything
// is created; the message quotes the name.
func TestCreate_InvalidName(t *testing.T) {
	cases := []struct {
		name    string
		backend Backend
		seg     string
	}{
		{"empty_shm", Shm, ""},
		{"empty_heap", Heap, ""},
		{"empty_file", File, ""},
		{"too_long_shm", Shm, strings.Repeat("a", 31)},
		{"slash_shm", Shm, "a/b"},
		{"space_shm", Shm, "a b"},
		{"dot_first_shm", Shm, ".hidden"},
		{"nul_file", File, "/tmp/a\x00b"},
		{"unicode_heap", Heap, "é"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Create[cfgEvent](tc.seg, Config{Backend: tc.backend})
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Create(%q) = %v, want ErrInvalidConfig", tc.seg, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tc.seg)) {
				t.Errorf("message %q does not quote the name", err)
			}
			_, err = Attach[cfgEvent](testfix.Context(t, 50*time.Millisecond), tc.seg, ConsumerConfig{Backend: tc.backend})
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Attach(%q) = %v, want ErrInvalidConfig", tc.seg, err)
			}
		})
	}
	// The longest portable Shm name is fine.
	name := strings.Repeat("n", 30)
	p, err := Create[cfgEvent](name, Config{Backend: Heap})
	if err != nil {
		t.Fatalf("30-byte name: %v", err)
	}
	p.Close()
}

// TestAttach_InvalidConsumerID: ids are 1..MaxIDLen bytes.
func TestAttach_InvalidConsumerID(t *testing.T) {
	name := PortableName("cfgid")
	p, err := Create[cfgEvent](name, Config{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	long := strings.Repeat("x", MaxIDLen+1)
	_, err = Attach[cfgEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: long})
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "61") {
		t.Fatalf("Attach with a %d-byte id = %v, want ErrInvalidConfig naming the length", len(long), err)
	}
	c, err := Attach[cfgEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: long[:MaxIDLen]})
	if err != nil {
		t.Fatalf("Attach with a %d-byte id: %v", MaxIDLen, err)
	}
	if c.ID() != long[:MaxIDLen] {
		t.Errorf("ID() = %q", c.ID())
	}
	c.Close()
}

func TestConfig_Defaults(t *testing.T) {
	name := PortableName("cfgdef")
	p, err := Create[cfgEvent](name, Config{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	info := p.Info()
	if info.Capacity != DefaultCapacity || info.MaxConsumers != DefaultMaxConsumers || info.SlotSize != 16 || info.ElemSize != 16 || info.MaxProducers != 0 {
		t.Errorf("zero Config gave %+v", info)
	}
	bname := PortableName("cfgdef")
	bp, err := CreateBytes(bname, Config{Backend: Heap, SlotSize: 13})
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close()
	if bp.SlotSize() != 16 {
		t.Errorf("SlotSize 13 rounded to %d, want 16", bp.SlotSize())
	}
	bname2 := PortableName("cfgdef")
	bp2, err := CreateBytes(bname2, Config{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer bp2.Close()
	if bp2.SlotSize() != DefaultSlotSize {
		t.Errorf("default slot size %d, want %d", bp2.SlotSize(), DefaultSlotSize)
	}
	// A typed ring pads to a larger SlotSize.
	pname := PortableName("cfgdef")
	pp, err := Create[cfgEvent](pname, Config{Backend: Heap, SlotSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	if pp.Info().SlotSize != 64 || pp.Info().ElemSize != 16 {
		t.Errorf("padded typed ring: %+v", pp.Info())
	}
}

func TestParseWaitStrategy(t *testing.T) {
	for in, want := range map[string]string{
		"": "block", "block": "block", "spin": "spin", "busyspin": "spin", "yield": "yield",
		"sleep": "sleep:50µs", "sleep:1ms": "sleep:1ms",
	} {
		w, err := ParseWaitStrategy(in)
		if err != nil || w.String() != want {
			t.Errorf("ParseWaitStrategy(%q) = %v, %v; want %s", in, w, err, want)
		}
		// The name reads back, also as JSON text.
		b, err := json.Marshal(w)
		var back WaitStrategy
		if err != nil || json.Unmarshal(b, &back) != nil || back != w {
			t.Errorf("%v through JSON %s came back as %v (%v)", w, b, back, err)
		}
	}
	for _, in := range []string{"spinny", "sleep:xx", "Block"} {
		if _, err := ParseWaitStrategy(in); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ParseWaitStrategy(%q) = %v, want ErrInvalidConfig", in, err)
		}
	}
	if (WaitStrategy{}) != Block {
		t.Error("zero WaitStrategy is not Block")
	}
}
