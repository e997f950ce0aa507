// Command myelon runs, inspects and cleans up myelon rings.
//
//	myelon bench     measure the layers against the raw atomic reference and other transports
//	myelon demo      stream events from a producer process to a consumer process
//	myelon stat      print a ring's geometry, counters and consumers
//	myelon ls        list the rings in /dev/shm
//	myelon clean     remove rings whose owner is dead
//
// Run "myelon <command> -h" for a command's flags.
package main

import (
	"fmt"
	"os"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/workload"
)

type command struct {
	name, summary string
	run           func(args []string) error
}

var commands = []command{
	{"bench", "measure round trips: layers vs raw atomic reference vs other transports", runBench},
	{"demo", "stream events between two processes and print rate and latency", runDemo},
	{"stat", "print a ring's geometry, counters and consumers", runStat},
	{"ls", "list rings in /dev/shm", runLs},
	{"clean", "remove rings whose owner is dead", runClean},
}

func main() {
	peers.MaybeRunChild()    // an echo process of 'myelon bench' runs and exits here
	workload.MaybeRunChild() // so does a consumer process of its one-way workloads
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runChild(role))
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	for _, c := range commands {
		if c.name == os.Args[1] {
			if err := c.run(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "myelon %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: myelon <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
}
