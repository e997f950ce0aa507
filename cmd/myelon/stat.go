package main

// ls, stat and clean: what an operator runs, all built on package
// snapshot (read-only, no cooperation from the rings' processes).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// dirsFlag collects repeated --dir flags: directories of file-backed rings.
type dirsFlag []string

func (d *dirsFlag) String() string     { return strings.Join(*d, ",") }
func (d *dirsFlag) Set(s string) error { *d = append(*d, s); return nil }

func runLs(args []string) error {
	fs := newFlags("ls")
	asJSON := fs.Bool("json", false, "print JSON")
	var dirs dirsFlag
	fs.Var(&dirs, "dir", "also list the file-backed rings in this directory (repeatable)")
	ops, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ops) > 0 {
		return usagef("unexpected argument %q", ops[0])
	}
	rings, err := snapshot.List(dirs...)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, rings)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tBACKEND\tLAYER\tGEOMETRY\tBYTES\tOWNER\tMODE\tSTATE\tPRODUCER\tCONSUMERS")
	for _, r := range rings {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s:%s\t%s\t%s\t%s\t%s\n", r.Name, r.Backend, layerOf(r), geometryOf(r),
			r.Size, r.Owner, r.Group, r.Mode, stateOf(r), producerOf(r), consumersOf(r))
	}
	return w.Flush()
}

func layerOf(r *snapshot.Ring) string {
	switch {
	case r.Schema != nil:
		return "typed(" + r.Schema.String() + ")"
	case r.Layer == "":
		return "-"
	}
	return string(r.Layer)
}

func geometryOf(r *snapshot.Ring) string {
	if r.Info.Capacity == 0 {
		return "-"
	}
	g := fmt.Sprintf("%dx%dB", r.Info.Capacity, r.Info.SlotSize)
	if r.Info.MaxProducers > 1 {
		g += fmt.Sprintf(" mp%d", r.Info.MaxProducers)
	}
	return g
}

func stateOf(r *snapshot.Ring) string {
	if r.State == snapshot.Unreadable {
		return "unreadable: " + r.Reason
	}
	return string(r.State)
}

func producerOf(r *snapshot.Ring) string {
	switch {
	case r.State == snapshot.Unreadable:
		return "-"
	case r.Alive:
		return fmt.Sprintf("%d alive", r.Info.OwnerPID)
	}
	return fmt.Sprintf("%d dead", r.Info.OwnerPID)
}

func consumersOf(r *snapshot.Ring) string {
	alive := 0
	for _, c := range r.Stats.Consumers {
		if c.Alive {
			alive++
		}
	}
	return fmt.Sprintf("%d/%d alive", alive, len(r.Stats.Consumers))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// backendOf parses --backend; a name with a slash is a path, so the File
// backend, whatever the flag says.
func backendOf(flagValue, name string) (ring.Backend, error) {
	if strings.Contains(name, "/") {
		return ring.File, nil
	}
	b, err := ring.ParseBackend(flagValue)
	if err != nil {
		return b, usagef("%v", err)
	}
	return b, nil
}

func runStat(args []string) error {
	fs := newFlags("stat")
	backend := fs.String("backend", "shm", "segment backend: shm or file (a NAME with a slash is a file)")
	asJSON := fs.Bool("json", false, "print JSON: one snapshot, or with --watch one per line")
	watch := fs.Bool("watch", false, "refresh in place every --interval, with rates, until interrupted")
	interval := fs.Duration("interval", time.Second, "refresh interval of --watch")
	count := fs.Int("count", 0, "with --watch, stop after this many refreshes (0: until interrupted)")
	ops, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ops) != 1 {
		return usagef("want one ring NAME, got %d arguments", len(ops))
	}
	if *interval <= 0 {
		return usagef("--interval %v: want a positive duration", *interval)
	}
	name := ops[0]
	b, err := backendOf(*backend, name)
	if err != nil {
		return err
	}
	take := func() (*snapshot.Ring, error) {
		r, err := snapshot.Take(b, name)
		if err == nil && r.State == snapshot.Unreadable {
			err = r.Err
		}
		return r, err
	}
	if !*watch {
		r, err := take()
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(os.Stdout, r)
		}
		render(os.Stdout, r, nil)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t := time.NewTicker(*interval)
	defer t.Stop()
	var prev *snapshot.Ring
	for i := 0; *count == 0 || i < *count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
		r, err := take()
		if err != nil {
			return err
		}
		if *asJSON {
			if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
				return err
			}
		} else {
			fmt.Print("\x1b[H\x1b[2J") // home, clear: refresh in place
			render(os.Stdout, r, prev)
		}
		prev = r
	}
	return nil
}

// rate is a counter's change per second between two snapshots.
func rate(prev, cur *snapshot.Ring, v func(*snapshot.Ring) float64) string {
	if prev == nil {
		return "-"
	}
	dt := cur.Taken.Sub(prev.Taken).Seconds()
	if dt <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/s", (v(cur)-v(prev))/dt)
}

// render prints a ring's snapshot as myelon stat shows it, with rates
// against prev when there is one.
func render(w io.Writer, r, prev *snapshot.Ring) {
	in, st := r.Info, r.Stats
	fmt.Fprintf(w, "ring %s  %s  %s  %s  owner %s:%s %s  %d bytes\n", r.Name, r.Backend, layerOf(r), geometryOf(r), r.Owner, r.Group, r.Mode, r.Size)
	fmt.Fprintf(w, "state %s  producer pid %d (alive: %v)  created %s  taken %s\n", r.State, in.OwnerPID, r.Alive,
		in.Created.Format(time.RFC3339), r.Taken.Format("15:04:05.000"))
	fmt.Fprintf(w, "published %d (%s)  full-waits %d (%s)  producer parks %d  wakes %d\n",
		st.Published, rate(prev, r, func(x *snapshot.Ring) float64 { return float64(x.Stats.Published) }),
		st.FullWaits, rate(prev, r, func(x *snapshot.Ring) float64 { return float64(x.Stats.FullWaits) }),
		st.ProducerParks, st.ProducerWakes)
	fmt.Fprintf(w, "liveness: dead consumers detached %d  abandoned %d  stalls %d  evictions %d\n",
		st.DeadConsumers, st.Abandoned, st.Stalls, st.Evictions)
	if p := r.Producer; p != nil && p.FrameProducer != nil {
		f := p.FrameProducer
		fmt.Fprintf(w, "messages %d (%s)  fragments %d  bytes %d (%s)  multi-frame %d  chunked %d  aborted %d\n",
			f.Messages, rate(prev, r, frameMessages), f.Fragments, f.Bytes, rate(prev, r, frameBytes), f.MultiFrame, f.Chunked, f.Aborted)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCONSUMER\tSTATE\tPID\tALIVE\tPOSITION\tRATE\tLAG\tLAG-MAX\tEMPTY-WAITS\tPARKS\tLAPPED\tMESSAGES\tERRORS")
	for i, c := range st.Consumers {
		msgs, errs := "-", "-"
		if i < len(r.Consumers) && r.Consumers[i].FrameConsumer != nil {
			f := r.Consumers[i].FrameConsumer
			msgs = fmt.Sprint(f.Messages)
			n := f.ReassemblyErrors + f.ChecksumErrors
			if t := r.Consumers[i].TypedConsumer; t != nil {
				n += t.DecodeErrors + t.SchemaErrors
			}
			errs = fmt.Sprint(n)
		}
		id := c.ID
		if c.Group != "" {
			id += " [" + c.Group + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", id, c.State, c.PID, c.Alive, c.Position,
			consumerRate(prev, r, i, consumerPosition), c.Lag, c.LagMax, c.EmptyWaits, c.Parks, c.Lapped, msgs, errs)
	}
	tw.Flush()
	renderBridges(w, r, prev)
	if len(st.Errors) > 0 {
		fmt.Fprintln(w, "\nerror log:")
		for _, e := range st.Errors {
			fmt.Fprintf(w, "  %-16s x%d  first %s  last %s  detail %d\n", snapshot.ErrorKindName(r.Layer, e.Kind), e.Count,
				e.First.Format(time.RFC3339), e.Last.Format(time.RFC3339), e.Detail)
		}
	}
}

func frameMessages(x *snapshot.Ring) float64 {
	if x.Producer == nil || x.Producer.FrameProducer == nil {
		return 0
	}
	return float64(x.Producer.FrameProducer.Messages)
}

func frameBytes(x *snapshot.Ring) float64 {
	if x.Producer == nil || x.Producer.FrameProducer == nil {
		return 0
	}
	return float64(x.Producer.FrameProducer.Bytes)
}

// renderBridges lists the ring's NATS bridges, if it has any: the
// inbound bridge that is its producer (or the sum of those that are
// among its producers), and each consumer that is an outbound bridge.
func renderBridges(w io.Writer, r, prev *snapshot.Ring) {
	inbound := r.Producer != nil && r.Producer.Bridge != nil
	var outbound []int // indexes of the consumers that are bridges
	for i := range r.Consumers {
		if r.Consumers[i].Bridge != nil {
			outbound = append(outbound, i)
		}
	}
	if !inbound && len(outbound) == 0 {
		return
	}
	fmt.Fprintln(w, "\nbridges:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if inbound {
		b := r.Producer.Bridge.Inbound
		fmt.Fprintf(tw, "  inbound\t(producer)\twritten %d (%s)  duplicates %d  lost %d  errors %d\n",
			b.Written, rate(prev, r, bridgeWritten), b.Duplicates, b.Lost, b.Errors)
	}
	for _, i := range outbound {
		b := r.Consumers[i].Bridge.Outbound
		fmt.Fprintf(tw, "  outbound\t%s\tpublished %d (%s)  acked %d  republished %d  errors %d\n", r.Stats.Consumers[i].ID,
			b.Published, consumerRate(prev, r, i, bridgePublished), b.Acked, b.Republished, b.Errors)
	}
	tw.Flush()
}

func bridgeWritten(x *snapshot.Ring) float64 {
	if x.Producer == nil || x.Producer.Bridge == nil {
		return 0
	}
	return float64(x.Producer.Bridge.Inbound.Written)
}

func bridgePublished(x *snapshot.Ring, i int) float64 {
	if i >= len(x.Consumers) || x.Consumers[i].Bridge == nil {
		return 0
	}
	return float64(x.Consumers[i].Bridge.Outbound.Published)
}

func consumerPosition(x *snapshot.Ring, i int) float64 { return float64(x.Stats.Consumers[i].Position) }

// consumerRate is the per-second change of v, a value of cur's consumer
// i, since prev (where the consumer is matched by entry and id).
func consumerRate(prev, cur *snapshot.Ring, i int, v func(x *snapshot.Ring, i int) float64) string {
	if prev == nil {
		return "-"
	}
	c := &cur.Stats.Consumers[i]
	for j, p := range prev.Stats.Consumers {
		if p.Index == c.Index && p.ID == c.ID {
			return rate(prev, cur, func(x *snapshot.Ring) float64 {
				if x == prev {
					return v(prev, j)
				}
				return v(cur, i)
			})
		}
	}
	return "-"
}

func runClean(args []string) error {
	fs := newFlags("clean")
	prefix := fs.String("prefix", "", "only rings whose name (the base name of a file ring) starts with this")
	olderThan := fs.Duration("older-than", 0, "only rings whose segment was last modified longer ago than this")
	dry := fs.Bool("dry-run", false, "print what would be removed, remove nothing")
	asJSON := fs.Bool("json", false, "print the outcome for each ring as JSON")
	var dirs dirsFlag
	fs.Var(&dirs, "dir", "also consider the file-backed rings in this directory (repeatable)")
	names, err := parse(fs, args)
	if err != nil {
		return err
	}
	rings, err := cleanCandidates(names, dirs)
	if err != nil {
		return err
	}
	type outcome struct {
		Name    string `json:"name"`
		Backend string `json:"backend"`
		Action  string `json:"action"` // removed, would_remove, kept, failed
		Reason  string `json:"reason,omitempty"`
	}
	var out []outcome
	failed := 0
	for _, r := range rings {
		base := r.Name[strings.LastIndex(r.Name, "/")+1:]
		if !strings.HasPrefix(base, *prefix) || *olderThan > 0 && time.Since(r.Modified) < *olderThan {
			continue
		}
		o := outcome{Name: r.Name, Backend: r.Backend}
		switch why := liveReason(r); {
		case why != "":
			o.Action, o.Reason = "kept", why
			if len(names) > 0 { // named: the operator expected it gone
				o.Action = "failed"
				failed++
			}
		case *dry:
			o.Action = "would_remove"
		default:
			b, _ := ring.ParseBackend(r.Backend)
			if err := ring.Reclaim(b, r.Name); err != nil {
				o.Action, o.Reason = "failed", err.Error()
				failed++
			} else {
				o.Action = "removed"
			}
		}
		out = append(out, o)
	}
	if *asJSON {
		if err := writeJSON(os.Stdout, out); err != nil {
			return err
		}
	} else {
		for _, o := range out {
			line := strings.ReplaceAll(o.Action, "_", " ") + " " + o.Name
			if o.Reason != "" {
				line += ": " + o.Reason
			}
			fmt.Println(line)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d rings could not be removed", failed, len(out))
	}
	return nil
}

// cleanCandidates snapshots the named rings, or every ring when none is
// named. A named ring that does not exist is an error.
func cleanCandidates(names []string, dirs []string) ([]*snapshot.Ring, error) {
	if len(names) == 0 {
		return snapshot.List(dirs...)
	}
	var rings []*snapshot.Ring
	for _, n := range names {
		b := ring.Shm
		if strings.Contains(n, "/") {
			b = ring.File
		}
		r, err := snapshot.Take(b, n)
		if err != nil {
			return nil, err
		}
		rings = append(rings, r)
	}
	return rings, nil
}

// liveReason says why a ring must not be removed ("" if it may be): a
// live producer or consumer, or a segment it could not read.
func liveReason(r *snapshot.Ring) string {
	if r.State == snapshot.Unreadable && (r.Alive || errors.Is(r.Err, ring.ErrPermission)) {
		return "unreadable: " + r.Reason
	}
	if r.Alive {
		return "its producer is alive"
	}
	for _, c := range r.Stats.Consumers {
		if c.Alive {
			return fmt.Sprintf("consumer %q (pid %d) is alive", c.ID, c.PID)
		}
	}
	return ""
}
