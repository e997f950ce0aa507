package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/myelon-go/myelon/bridge"
)

// runBridge: myelon bridge, one bridge between a local frame ring and
// NATS (package bridge), from flags or -config FILE, until interrupted.
// Logs are JSON lines on stderr; the counters are in the ring.
func runBridge(args []string) error {
	cfg, err := bridge.ParseArgs("myelon bridge", args, io.Discard)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case errors.Is(err, bridge.ErrInvalidConfig):
		return usagef("%v", err)
	case err != nil:
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if cfg.Outbound != nil {
		cfg.Outbound.Logger = log
	}
	if cfg.Inbound != nil {
		cfg.Inbound.Logger = log
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return bridge.Run(ctx, cfg)
}

// bridgeUsage is bridge.ParseArgs's own usage, for myelon help bridge.
func bridgeUsage() string {
	var b strings.Builder
	bridge.ParseArgs("myelon bridge", []string{"-h"}, &b)
	return b.String()
}
