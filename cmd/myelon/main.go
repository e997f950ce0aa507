// Command myelon runs, inspects and cleans up myelon rings.
//
//	myelon ls        list the rings on this host, each participant alive or dead
//	myelon stat      a ring's counters, once or refreshing in place (--watch)
//	myelon inspect   check a ring's header and records field by field
//	myelon clean     remove rings whose every participant is dead
//	myelon exporter  serve Prometheus metrics of the rings on this host at /metrics
//	myelon bridge    bridge a local frame ring to or from NATS (core or JetStream)
//	myelon chaos     kill, stop and restart participants at random; check with ledgers
//	myelon bench     measure the layers against the raw atomic reference and other transports
//	myelon demo      stream events from a producer process to a consumer process
//	myelon version   print the version
//
// Run "myelon help <command>" or "myelon <command> -h" for a command's
// flags. Flags go anywhere on the line, with one dash or two. Help goes
// to standard output with exit status 0; a bad command line exits 2 and
// names what was wrong; a failure exits 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/workload"
)

// command is one subcommand: its flags are defined by flags, on a
// FlagSet that run then parses.
type command struct {
	name, args, summary string
	run                 func(args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"ls", "[--json] [--dir D]...", "list the rings on this host, each participant alive or dead", runLs},
		{"stat", "[--backend shm|file] [--json] [--watch] [--interval D] NAME", "a ring's counters, once or refreshing in place", runStat},
		{"inspect", "[--backend shm|file] [--json] NAME", "check a ring's header and records field by field, naming every inconsistency", runInspect},
		{"clean", "[--prefix P] [--older-than D] [--dry-run] [--json] [--dir D]... [NAME]...", "remove rings whose every participant is dead", runClean},
		{"exporter", "[--listen ADDR] [--prefix P] [--dir D]... [NAME]...", "serve Prometheus metrics of the rings on this host at /metrics", runExporter},
		{"bridge", "-out|-in [flags] | -config FILE", "bridge a local frame ring to or from a NATS subject (core or JetStream)", runBridge},
		{"chaos", "[--seed N] [--rounds N | --duration D] [--events N] [--consumers N] [--faults N] [--scenarios S] [--json]", "kill, stop and restart producer and consumer processes at random and check with ledgers that nothing acknowledged is lost", runChaos},
		{"bench", "[" + strings.Join(benchModes, "|") + "] [flags]", "measure round trips: layers vs raw atomic reference vs other transports", runBench},
		{"demo", "[flags]", "stream events between two processes and print rate and latency", runDemo},
		{"version", "", "print the version of myelon and of Go", runVersion},
		{"help", "[COMMAND]", "print help for a command", runHelp},
	}
}

func main() {
	peers.MaybeRunChild()    // an echo process of 'myelon bench' runs and exits here
	workload.MaybeRunChild() // so does a consumer process of its one-way workloads
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs a command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version":
		args[0] = "version"
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "myelon: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := c.run(args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, helpText(c))
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "myelon %s: %s\nusage: myelon %s %s\n", c.name, ue.msg, c.name, c.args)
		return 2
	}
	fmt.Fprintf(stderr, "myelon %s: %v\n", c.name, err)
	return 1
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: myelon <command> [flags] [arguments]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'myelon help <command>' for a command's flags.")
}

// helpText is a command's synopsis and flags.
func helpText(c *command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: myelon %s %s\n\n%s.\n", c.name, c.args, c.summary)
	if fs := flagsOf(c); fs != nil {
		b.WriteString("\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
	}
	if c.name == "bridge" {
		b.WriteString("\n" + bridgeUsage())
	}
	if c.name == "bench" {
		b.WriteString("\nmodes:\n")
		for _, m := range benchModes {
			fmt.Fprintf(&b, "  %-10s %s\n", m, benchModeSummary[m])
		}
	}
	return b.String()
}

// flagsOf returns the FlagSet a command defines, for its help.
func flagsOf(c *command) *flag.FlagSet {
	var fs *flag.FlagSet
	capture := func(f *flag.FlagSet) { fs = f }
	flagSink = capture
	defer func() { flagSink = nil }()
	c.run([]string{"-h"})
	return fs
}

// flagSink, when set, receives every FlagSet newFlags makes: how help
// learns a command's flags without a second list of them.
var flagSink func(*flag.FlagSet)

// newFlags returns a FlagSet for a command that reports errors instead of
// printing them: run prints them with the command's usage.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if flagSink != nil {
		flagSink(fs)
	}
	return fs
}

// usageError is a command line the command cannot run: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// parse parses args with fs, flags in any position (the flag package
// stops at the first operand), and returns the operands. After "--"
// everything is an operand.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(operands, rest...), nil
		}
		if len(rest) == 0 {
			return operands, nil
		}
		operands, args = append(operands, rest[0]), rest[1:]
	}
}

func runVersion(args []string) error {
	if _, err := parse(newFlags("version"), args); err != nil {
		return err
	}
	v := "(devel)"
	goVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, d := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if d.Path == "github.com/myelon-go/myelon" && d.Version != "" && !strings.HasPrefix(d.Version, "v0.0.0-0001") {
				v = d.Version
			}
		}
	}
	fmt.Printf("myelon %s (%s)\n", v, goVersion)
	return nil
}

func runHelp(args []string) error {
	ops, err := parse(newFlags("help"), args)
	if err != nil {
		return err
	}
	switch {
	case len(ops) == 0:
		usage(os.Stdout)
	case len(ops) > 1:
		return usagef("one command at a time, got %q", ops)
	case lookup(ops[0]) == nil:
		return usagef("unknown command %q", ops[0])
	default:
		fmt.Print(helpText(lookup(ops[0])))
	}
	return nil
}
