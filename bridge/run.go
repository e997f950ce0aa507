package bridge

import (
	"context"
	"errors"
)

// Run runs the bridge cfg describes (exactly one of cfg.Outbound and
// cfg.Inbound) until ctx ends or the bridge stops (see Outbound.Run and
// Inbound.Run), then closes it. A ctx ended by the caller is a clean stop:
// Run returns nil.
func Run(ctx context.Context, cfg Config) error {
	var err error
	switch {
	case (cfg.Outbound == nil) == (cfg.Inbound == nil):
		return invalid("outbound/inbound", "", "set exactly one")
	case cfg.Outbound != nil:
		var o *Outbound
		if o, err = NewOutbound(ctx, *cfg.Outbound); err != nil {
			break
		}
		err = errors.Join(o.Run(ctx), o.Close())
	default:
		var in *Inbound
		if in, err = NewInbound(ctx, *cfg.Inbound); err != nil {
			break
		}
		err = errors.Join(in.Run(ctx, nil), in.Close())
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}
