package bridge_test

import (
	"context"
	"errors"
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
