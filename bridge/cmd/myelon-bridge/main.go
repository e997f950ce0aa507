// Command myelon-bridge runs one bridge between a local myelon frame ring
// and NATS, described by a JSON file (bridge.Config):
//
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
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/myelon-go/myelon/bridge"
)

func main() {
	path := flag.String("config", "", "JSON config file (bridge.Config)")
	debug := flag.Bool("debug", false, "log debug events too")
	flag.Parse()
	if *path == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: myelon-bridge -config FILE [-debug]")
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := bridge.LoadConfig(*path)
	if err != nil {
		log.Error("myelon-bridge: config", "err", err)
		os.Exit(2)
	}
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
