package peers

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRawLayout_RotatesLikeTheRing checks the reference's geometry against
// the ring lane's rules: slots of SlotSize(size) bytes, Depth of them per
// direction, in page-aligned areas that do not overlap each other or the
// sequence words, and message n in slot n % Depth on both sides.
func TestRawLayout_RotatesLikeTheRing(t *testing.T) {
	for _, size := range []int{8, 64, 100, 4096, 64 << 10, 1 << 20, 2 << 20, 3<<20 + 5} {
		g := rawLayout(size)
		if g.slot != SlotSize(size) || g.slot%8 != 0 || g.slot < size || g.slot >= size+8 {
			t.Errorf("%d B: slot %d, want %d", size, g.slot, SlotSize(size))
		}
		if g.depth != Depth(g.slot) || g.depth&(g.depth-1) != 0 || g.depth < 2 || g.depth > 64 || g.depth*g.slot > 64<<20 && g.depth > 2 {
			t.Errorf("%d B: depth %d, want %d (a power of two, <= 64, a ring within 64 MiB)", size, g.depth, Depth(g.slot))
		}
		if g.reqOff < rawOffB+8 || g.reqOff%4096 != 0 || g.repOff%4096 != 0 || g.repOff < g.reqOff+g.slot*g.depth || g.total < g.repOff+g.slot*g.depth {
			t.Errorf("%d B: areas overlap or are unaligned: %+v", size, g)
		}
		if size > 64<<10 {
			continue // the geometry is what matters; spare the memory
		}
		mem := make([]byte, g.total)
		v, err := viewRaw(mem, size)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[*byte]uint64{}
		for n := range uint64(2 * g.depth) {
			req, rep := v.slotOf(v.req, n), v.slotOf(v.rep, n)
			if len(req) != size || cap(req) != size || len(rep) != size {
				t.Fatalf("%d B: message %d gets slices of %d/%d bytes", size, n, len(req), len(rep))
			}
			if p, ok := seen[&req[0]]; ok != (n >= uint64(g.depth)) || ok && p != n-uint64(g.depth) {
				t.Fatalf("%d B: message %d shares its request slot with message %d (depth %d)", size, n, p, g.depth)
			}
			seen[&req[0]] = n
		}
		if _, err := viewRaw(mem[:g.total-1], size); err == nil {
			t.Errorf("%d B: a short mapping was accepted", size)
		}
	}
}

// TestRawAtomic_LapsTheSlots runs the reference over more than two laps of
// its slots at a size where the depth is below 64, checking every echo.
func TestRawAtomic_LapsTheSlots(t *testing.T) {
	cfg := Config{Size: 2<<20 + 8, Count: 24, Warmup: 10, Timeout: 30 * time.Second}
	if d := Depth(SlotSize(cfg.Size)); d >= 64 || cfg.Count+cfg.Warmup < 2*d {
		t.Fatalf("depth %d: the test no longer laps the slots", d)
	}
	r, err := Run(context.Background(), RawAtomic, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, RawAtomic, cfg)
}

// TestRun_Pinned pins both ends and records the placement in the result;
// a CPU that does not exist fails the run with a *ConfigError.
func TestRun_Pinned(t *testing.T) {
	cfg := Config{Size: 64, Count: 200, Warmup: 20, CPUs: []int{0}, Timeout: 30 * time.Second}
	// Both ends on CPU 0: the chan peer's goroutines take turns, which a
	// spinning cross-process pair on one CPU would only do per time slice.
	r, err := Run(context.Background(), Chan, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, Chan, cfg)
	if len(r.CPUs) != 1 || r.CPUs[0] != 0 {
		t.Errorf("result CPUs %v, want [0]", r.CPUs)
	}
	var ce *ConfigError
	if _, err := Run(context.Background(), Chan, Config{Count: 10, CPUs: []int{1 << 20}}); !errors.As(err, &ce) || ce.Field != "CPUs" {
		t.Errorf("pinning to CPU 1<<20: err = %v, want a *ConfigError for CPUs", err)
	}
	if _, err := Run(context.Background(), Chan, Config{Count: 10, CPUs: []int{-1}}); !errors.As(err, &ce) {
		t.Errorf("CPU -1: err = %v, want a *ConfigError", err)
	}
}
