package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChaos_Rounds: a round of each scenario, with kills, stops and
// restarts, passes its ledger checks and leaves no segment.
func TestChaos_Rounds(t *testing.T) {
	faults := 0
	defer func() {
		if faults == 0 {
			t.Error("no fault was thrown in any round")
		}
	}()
	for i, s := range scenarios {
		cfg := chaosConfig{events: 1500, consumers: 2, faults: 3, timeout: 60e9, scenarios: []string{s}}
		r := runRound(i, uint64(1000+i), cfg)
		faults += len(r.Faults)
		if r.Err != "" || r.Leaked != 0 || r.Checked == 0 {
			t.Errorf("%s round: %+v", s, r)
		}
	}
}

// TestChaos_LedgerChecks: the checks catch a lost, duplicated or
// reordered value and a misreported loss, and accept a redelivery right
// after a reattach and (plain rings) a loss reported exactly.
func TestChaos_LedgerChecks(t *testing.T) {
	const events = 5
	producer := "start\nv 0\nv 1\nv 2\nv 3\nv 4\n"
	for _, tc := range []struct {
		scenario, consumer string
		ok                 bool
	}{
		{scenarioManaged, "start\nattach\nv 0\nv 1\nv 2\nv 3\nv 4\n", true},
		{scenarioManaged, "start\nattach\nv 0\nv 1\nstart\nattach\nv 1\nv 2\nv 3\nv 4\n", true}, // redelivered after a restart
		{scenarioManaged, "start\nattach\nv 0\nv 1\nv 3\nv 4\n", false},                         // 2 lost
		{scenarioManaged, "start\nattach\nv 0\nv 1\nv 1\nv 2\nv 3\nv 4\n", false},               // a duplicate without a reattach
		{scenarioManaged, "start\nattach\nv 0\nv 2\nv 1\nv 3\nv 4\n", false},                    // out of order
		{scenarioManaged, "start\nattach\nv 0\nv 1\nv 2\nv 3\n", false},                         // stopped short
		{scenarioManaged, "start\nattach\nv 0\nlost 2\nv 3\nv 4\n", false},                      // a loss in managed mode
		{scenarioPlain, "start\nattach\nv 0\nlost 2\nv 3\nv 4\n", true},                         // reported exactly
		{scenarioPlain, "start\nattach\nv 0\nlost 1\nv 3\nv 4\n", false},                        // misreported
		{scenarioPlain, "start\nattach\nv 0\nv 1\nstart\nattach\nlost 2\nv 3\nv 4\n", true},     // the lap counts the unreleased 1
		{scenarioPlain, "start\nattach\nv 0\nv 1\nlost 2\nv 3\nv 4\n", false},                   // not after a reattach
	} {
		dir := t.TempDir()
		write := func(name, s string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write("producer", producer)
		write("c0", tc.consumer)
		procs := []*chaosProc{
			{role: "chaos-producer", label: "producer", args: chaosArgs{Ledger: filepath.Join(dir, "producer")}},
			{role: "chaos-consumer", label: "c0", args: chaosArgs{Ledger: filepath.Join(dir, "c0")}},
		}
		_, err := checkLedgers(dir, procs, events, tc.scenario, 0)
		if (err == nil) != tc.ok {
			t.Errorf("%s ledger %q: %v, want ok=%v", tc.scenario, strings.ReplaceAll(tc.consumer, "\n", " "), err, tc.ok)
		}
	}
}

// TestChaos_GroupAndProducerChecks: a group's members together must hold
// every value, twice only when a member died holding it; a producer's
// ledger must be its values in order.
func TestChaos_GroupAndProducerChecks(t *testing.T) {
	const events = 4
	for _, tc := range []struct {
		name, producer, c0, c1 string
		lost                   uint64
		ok                     bool
	}{
		{"split", "start\nv 0\nv 1\nv 2\nv 3\n", "start\nattach\nv 0\nv 2\n", "start\nattach\nv 1\nv 3\n", 0, true},
		{"redelivered after a death", "start\nv 0\nv 1\nv 2\nv 3\n", "start\nattach\nv 0\nv 2\nstart\nattach\n", "start\nattach\nv 1\nv 2\nv 3\n", 0, true},
		{"twice without a death", "start\nv 0\nv 1\nv 2\nv 3\n", "start\nattach\nv 0\nv 2\n", "start\nattach\nv 1\nv 2\nv 3\n", 0, false},
		{"missing", "start\nv 0\nv 1\nv 2\nv 3\n", "start\nattach\nv 0\n", "start\nattach\nv 1\nv 3\n", 0, false},
		{"missing, counted lost", "start\nv 0\nv 1\nv 2\nv 3\n", "start\nattach\nv 0\n", "start\nattach\nv 1\nv 3\n", 1, true},
		{"producer out of order", "start\nv 0\nv 2\nv 1\nv 3\n", "start\nattach\nv 0\nv 2\n", "start\nattach\nv 1\nv 3\n", 0, false},
		{"producer short", "start\nv 0\nv 1\nv 2\n", "start\nattach\nv 0\nv 2\n", "start\nattach\nv 1\n", 0, false},
	} {
		dir := t.TempDir()
		var procs []*chaosProc
		for _, f := range []struct{ name, role, s string }{{"producer", "chaos-producer", tc.producer}, {"c0", "chaos-consumer", tc.c0}, {"c1", "chaos-consumer", tc.c1}} {
			path := filepath.Join(dir, f.name)
			if err := os.WriteFile(path, []byte(f.s), 0o600); err != nil {
				t.Fatal(err)
			}
			procs = append(procs, &chaosProc{role: f.role, label: f.name, args: chaosArgs{Ledger: path}})
		}
		if _, err := checkLedgers(dir, procs, events, scenarioGroup, tc.lost); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
