package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/myelon-go/myelon/ring"
)

func stdout() io.Writer { return os.Stdout }

func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "shm", "segment backend: shm or file (name is then a path)")
}

func runStat(args []string) error {
	fs := flag.NewFlagSet("stat", flag.ContinueOnError)
	backend := backendFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: myelon stat [-backend shm|file] [-json] <name>")
	}
	b, err := ring.ParseBackend(*backend)
	if err != nil {
		return err
	}
	info, st, err := ring.Inspect(b, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Info  ring.RingInfo `json:"info"`
			Stats ring.Stats    `json:"stats"`
		}{info, st})
	}
	fmt.Printf("ring %s (%s, %s): capacity %d x %d-byte slots, %d bytes, owner pid %d (alive: %v), state %s\n",
		info.Name, info.Backend, info.Kind, info.Capacity, info.SlotSize, info.TotalSize, info.OwnerPID, st.ProducerAlive, st.State)
	fmt.Printf("published %d  full-waits %d  producer parks %d  wakes %d  dead consumers %d\n",
		st.Published, st.FullWaits, st.ProducerParks, st.ProducerWakes, st.DeadConsumers)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tPID\tPOSITION\tLAG\tCONSUMED\tEMPTY-WAITS\tPARKS\tLAPPED")
	for _, c := range st.Consumers {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", c.ID, c.State, c.PID, c.Position, c.Lag, c.Consumed, c.EmptyWaits, c.Parks, c.Lapped)
	}
	return w.Flush()
}

func runLs(args []string) error {
	names, err := ring.List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tCAPACITY\tSLOT\tSTATE\tOWNER\tALIVE\tCONSUMERS")
	for _, n := range names {
		info, st, err := ring.Inspect(ring.Shm, n)
		if err != nil {
			continue // not a ring, or not ours
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%d\t%v\t%d\n", n, info.Kind, info.Capacity, info.SlotSize, st.State, info.OwnerPID, st.ProducerAlive, len(st.Consumers))
	}
	return w.Flush()
}

func runClean(args []string) error {
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	dry := fs.Bool("n", false, "only print what would be removed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names, err := ring.List()
	if err != nil {
		return err
	}
	for _, n := range names {
		_, st, err := ring.Inspect(ring.Shm, n)
		if err != nil || st.ProducerAlive {
			continue
		}
		if *dry {
			fmt.Println("would remove", n)
			continue
		}
		if err := ring.Reclaim(ring.Shm, n); err != nil {
			fmt.Fprintf(os.Stderr, "myelon clean: %s: %v\n", n, err)
			continue
		}
		fmt.Println("removed", n)
	}
	return nil
}
