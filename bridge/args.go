package bridge

import (
	"flag"
	"fmt"
	"io"
)

// ParseArgs reads a Config from command-line arguments, as myelon-bridge
// (and myelon bridge) take them: either -config FILE (JSON, see
// LoadConfig), or the direction and the fields as flags:
//
//	-out -ring quotes -consumer-id nats-out -subject myelon.quotes [-url U] [-mode jetstream -stream S [-create-stream]]
//	-in  -ring quotes -subject myelon.quotes [-url U] [-mode jetstream -stream S [-durable D] [-state-dir DIR]] [-join | -capacity N -payload-capacity N]
//
// Usage and errors go to out; a wrong argument is ErrInvalidConfig,
// -h is flag.ErrHelp.
func ParseArgs(name string, args []string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	var (
		file    = fs.String("config", "", "JSON config file (bridge.Config); no other flag with it")
		isOut   = fs.Bool("out", false, "outbound: consume -ring, publish to -subject")
		isIn    = fs.Bool("in", false, "inbound: receive -subject, publish into -ring")
		n       NATS
		ringN   = fs.String("ring", "", "local frame ring")
		backend = fs.String("backend", "", "shm (default) or file")
		id      = fs.String("consumer-id", "", "outbound: the bridge's consumer id in the ring")
		window  = fs.Int("window", 0, "outbound, jetstream: messages in flight (default 256)")
		durable = fs.String("durable", "", "inbound, jetstream: durable consumer name")
		batch   = fs.Int("batch", 0, "inbound, jetstream: messages per fetch (default 256)")
		state   = fs.String("state-dir", "", "inbound, jetstream: directory of the receipt file (default the temp dir)")
		join    = fs.Bool("join", false, "inbound: join the multi-producer -ring instead of creating it")
		capN    = fs.Int("capacity", 0, "inbound: frames of the ring it creates")
		payload = fs.Int("payload-capacity", 0, "inbound: payload bytes per frame of the ring it creates")
		mode    = fs.String("mode", "core", "core or jetstream")
		dup     = fs.Duration("duplicate-window", 0, "with -create-stream: the stream's duplicate window (default 2m)")
	)
	fs.StringVar(&n.URL, "url", "", "NATS server URL(s), comma-separated (default nats://127.0.0.1:4222)")
	fs.StringVar(&n.Subject, "subject", "", "NATS subject")
	fs.StringVar(&n.Stream, "stream", "", "jetstream: the stream capturing -subject")
	fs.BoolVar(&n.CreateStream, "create-stream", false, "jetstream: create or update -stream first")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if fs.NArg() != 0 {
		return Config{}, invalid("arguments", fs.Args(), "unexpected")
	}
	if *file != "" {
		if fs.NFlag() != 1 {
			return Config{}, invalid("config", *file, "no other flag with -config")
		}
		return LoadConfig(*file)
	}
	n.Mode, n.DuplicateWindow = Mode(*mode), Duration(*dup)
	switch {
	case *isOut == *isIn:
		return Config{}, invalid("out/in", "", "give -out or -in (or -config)")
	case *isOut:
		return Config{Outbound: &OutboundConfig{NATS: n, Ring: *ringN, Backend: *backend, ConsumerID: *id, Window: *window}}, nil
	default:
		return Config{Inbound: &InboundConfig{
			NATS: n, Ring: *ringN, Backend: *backend, Durable: *durable, Batch: *batch, StateDir: *state,
			Join: *join, Capacity: *capN, PayloadCapacity: *payload,
		}}, nil
	}
}
