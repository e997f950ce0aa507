package main

import (
	"fmt"
	"os"
	"os/exec"
)

// Child processes: the binary re-executes itself with roleEnv naming the
// role and argsEnv carrying its parameters.
const (
	roleEnv = "MYELON_CHILD_ROLE"
	argsEnv = "MYELON_CHILD_ARGS"
)

var childRoles = map[string]func(args string) error{
	"demo-consumer":  demoConsumer,
	"chaos-producer": chaosProducer,
	"chaos-consumer": chaosConsumer,
}

func runChild(role string) int {
	f, ok := childRoles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "myelon: unknown child role %q\n", role)
		return 2
	}
	if err := f(os.Getenv(argsEnv)); err != nil {
		fmt.Fprintf(os.Stderr, "myelon %s: %v\n", role, err)
		return 1
	}
	return 0
}

// startChild starts this binary in role with args; its stdout is returned
// through out once it exits.
func startChild(role, args string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, argsEnv+"="+args)
	cmd.Stderr = os.Stderr
	return cmd, nil
}
