// Command myelon-bridge runs one bridge between a local myelon frame ring
// and NATS, described by flags or a JSON file (bridge.ParseArgs):
//
//	myelon-bridge -out -ring quotes -consumer-id nats-out -subject myelon.quotes -url nats://hub:4222
//	myelon-bridge -config out.json
//
// with, for an outbound bridge,
//
//	{"outbound": {"ring": "quotes", "consumer_id": "nats-out",
//	  "url": "nats://hub:4222", "subject": "myelon.quotes",
//	  "mode": "jetstream", "stream": "QUOTES", "create_stream": true}}
//
// or, for an inbound one, {"inbound": {"ring": "quotes", "url": ...,
// "subject": ..., "mode": ..., "stream": ..., "durable": "host-b"}}.
// Logs are JSON lines on stderr; the counters are in the ring (myelon stat).
// SIGINT and SIGTERM stop it cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/myelon-go/myelon/bridge"
)

func main() {
	cfg, err := bridge.ParseArgs("myelon-bridge", os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "myelon-bridge:", err)
		os.Exit(2)
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
	if err := bridge.Run(ctx, cfg); err != nil {
		log.Error("myelon-bridge: stopped", "err", err)
		os.Exit(1)
	}
}
