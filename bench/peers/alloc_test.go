package peers

import (
	"context"
	"testing"
	"time"
)

// TestRoundTrip_NoAllocs runs both ends of the standard-library peers in
// this process and checks that a round trip allocates nothing on either
// side. (The library peers, shmipc, grpc-uds and zmq-ipc, allocate inside
// the libraries.)
func TestRoundTrip_NoAllocs(t *testing.T) {
	for _, p := range []Peer{rawAtomic{}, streamPeer{name: UnixSocket, network: "unix"}, streamPeer{name: TCP, network: "tcp"}, pipePeer{}} {
		t.Run(p.Name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := Config{Size: 1024}
			opener, link, err := p.Prepare(t.TempDir(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer opener.Close()
			ready := make(chan error, 1)
			echoErr := make(chan error, 1)
			var e Echoer
			go func() {
				var err error
				e, err = p.Serve(ctx, link, cfg, func() error { ready <- nil; return nil })
				if err != nil {
					ready <- err
					return
				}
				for seq := uint64(0); ; seq++ {
					if err := e.Echo(seq); err != nil {
						echoErr <- err
						return
					}
				}
			}()
			if err := <-ready; err != nil {
				t.Fatal(err)
			}
			ini, err := opener.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			msg, reply := make([]byte, cfg.Size), make([]byte, cfg.Size)
			var seq uint64
			allocs := testing.AllocsPerRun(500, func() {
				Fill(msg, seq)
				if err := ini.RoundTrip(msg, reply); err != nil {
					t.Fatal(err)
				}
				if err := Verify(reply, seq); err != nil {
					t.Fatal(err)
				}
				seq++
			})
			// Closing the initiator's end (or, for the spinning peer,
			// cancelling) ends the echo loop.
			ini.Close()
			cancel()
			<-echoErr
			e.Close()
			if allocs != 0 {
				t.Fatalf("%v allocations per round trip", allocs)
			}
		})
	}
}
