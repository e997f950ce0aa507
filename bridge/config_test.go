package bridge_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cfg, err := bridge.LoadConfig(write("out.json", `{"outbound": {"ring": "quotes", "consumer_id": "nats",
		"url": "nats://hub:4222", "subject": "myelon.quotes", "mode": "jetstream", "stream": "QUOTES",
		"window": 64, "publish_timeout": "2s", "duplicate_window": "5m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Outbound
	if cfg.Inbound != nil || o == nil || o.Ring != "quotes" || o.Mode != bridge.JetStream || o.Window != 64 ||
		time.Duration(o.PublishTimeout) != 2*time.Second || time.Duration(o.DuplicateWindow) != 5*time.Minute {
		t.Fatalf("got %+v", o)
	}
	for name, text := range map[string]string{
		"unknown.json":  `{"inbound": {"ring": "q", "subject": "s", "typo": 1}}`,
		"duration.json": `{"inbound": {"ring": "q", "subject": "s", "ack_wait": "soon"}}`,
	} {
		if _, err := bridge.LoadConfig(write(name, text)); !errors.Is(err, bridge.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]bridge.Config{
		"neither":    {},
		"both":       {Outbound: &bridge.OutboundConfig{}, Inbound: &bridge.InboundConfig{}},
		"no subject": {Outbound: &bridge.OutboundConfig{Ring: "r", ConsumerID: "c"}},
		"no ring":    {Inbound: &bridge.InboundConfig{NATS: bridge.NATS{Subject: "s"}}},
		"no id":      {Outbound: &bridge.OutboundConfig{NATS: bridge.NATS{Subject: "s"}, Ring: "r"}},
		"no stream":  {Outbound: &bridge.OutboundConfig{NATS: bridge.NATS{Subject: "s", Mode: bridge.JetStream}, Ring: "r", ConsumerID: "c"}},
		"bad mode":   {Inbound: &bridge.InboundConfig{NATS: bridge.NATS{Subject: "s", Mode: "carrier-pigeon"}, Ring: "r"}},
		"backend":    {Inbound: &bridge.InboundConfig{NATS: bridge.NATS{Subject: "s"}, Ring: "r", Backend: "tape"}},
		"schema":     {Inbound: &bridge.InboundConfig{NATS: bridge.NATS{Subject: "s"}, Ring: "r", Schema: "%%%"}},
	} {
		if err := bridge.Run(ctx, cfg); !errors.Is(err, bridge.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	cfg, err := bridge.ParseArgs("b", []string{"-in", "-ring", "q", "-subject", "s", "-mode", "jetstream",
		"-stream", "S", "-durable", "d", "-batch", "8", "-join", "-state-dir", "/var/lib/b"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Inbound
	if cfg.Outbound != nil || in == nil || in.Ring != "q" || in.Mode != bridge.JetStream || in.Stream != "S" ||
		in.Durable != "d" || in.Batch != 8 || !in.Join || in.StateDir != "/var/lib/b" {
		t.Fatalf("got %+v", in)
	}
	cfg, err = bridge.ParseArgs("b", []string{"-out", "-ring", "q", "-consumer-id", "c", "-subject", "s",
		"-create-stream", "-duplicate-window", "10m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Outbound
	if out == nil || out.ConsumerID != "c" || !out.CreateStream || time.Duration(out.DuplicateWindow) != 10*time.Minute || out.Mode != bridge.Core {
		t.Fatalf("got %+v", out)
	}
	for _, args := range [][]string{
		{"-ring", "q"},               // no direction
		{"-in", "-out"},              // both
		{"-config", "x.json", "-in"}, // -config with another flag
		{"-in", "extra"},             // an argument
		{"-no-such-flag"},
	} {
		if _, err := bridge.ParseArgs("b", args, io.Discard); !errors.Is(err, bridge.ErrInvalidConfig) {
			t.Errorf("%q: %v, want ErrInvalidConfig", args, err)
		}
	}
	if _, err := bridge.ParseArgs("b", []string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}
