package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/myelon-go/myelon/ring"
)

// runInspect: myelon inspect NAME, the segment's header and records
// checked field by field (ring.CheckLayout); exit 1 if any is
// inconsistent.
func runInspect(args []string) error {
	fs := newFlags("inspect")
	backend := fs.String("backend", "shm", "segment backend: shm or file (a NAME with a slash is a file)")
	asJSON := fs.Bool("json", false, "print JSON")
	ops, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ops) != 1 {
		return usagef("want one ring NAME, got %d arguments", len(ops))
	}
	b, err := backendOf(*backend, ops[0])
	if err != nil {
		return err
	}
	rep, err := ring.CheckLayout(b, ops[0])
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(os.Stdout, rep); err != nil {
			return err
		}
	} else {
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "FIELD\tVALUE\tWANT\tPROBLEM")
		for _, c := range append(rep.Header, rep.Tables...) {
			problem := c.Problem
			if problem == "" {
				problem = "ok"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Field, c.Got, c.Want, problem)
		}
		w.Flush()
	}
	if !rep.OK {
		n := len(rep.Tables)
		for _, c := range rep.Header {
			if c.Problem != "" {
				n++
			}
		}
		return fmt.Errorf("%s: %d inconsistent fields", ops[0], n)
	}
	return nil
}
