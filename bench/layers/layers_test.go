package layers

import (
	"context"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bench/peers"
)

// TestFramedLayers_PingPongSmoke runs the Layer 1, 2 and 3 peers across
// two processes, busy-spinning on shm and blocking on the file backend, at a
// single-frame size, a 4 KiB one and one fragmented over two 64 KiB
// frames, and checks each run verified every echo.
func TestFramedLayers_PingPongSmoke(t *testing.T) {
	defer Configure("spin", "shm")
	for _, o := range []struct{ wait, backend string }{{"spin", "shm"}, {"block", "file"}} {
		if err := Configure(o.wait, o.backend); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{FramedName, TypedName, ZeroCopyName} {
			for _, size := range []int{64, 4096, 100 << 10} {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				res, err := peers.Run(ctx, name, peers.Config{Size: size, Count: 300, Warmup: 30})
				cancel()
				if err != nil {
					t.Fatalf("%s/%s %s, %d bytes: %v", o.wait, o.backend, name, size, err)
				}
				l := res.Latency
				if !res.Verified || l.Count != 300 || l.Min <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
					t.Fatalf("%s/%s %s, %d bytes: implausible result %+v", o.wait, o.backend, name, size, res)
				}
			}
		}
	}
}

// TestFramedLayers_NoAllocs runs both ends of each framed peer in this
// process and checks that a round trip allocates nothing on either side.
func TestFramedLayers_NoAllocs(t *testing.T) {
	if err := Configure("yield", "shm"); err != nil {
		t.Fatal(err)
	}
	defer Configure("spin", "shm")
	for _, p := range []peers.Peer{Framed{}, Typed{}, ZeroCopy{}} {
		for _, size := range []int{1024, 100 << 10} {
			t.Run(p.Name(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cfg := peers.Config{Size: size}
				opener, link, err := p.Prepare(t.TempDir(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer opener.Close()
				e, err := p.Serve(ctx, link, cfg, func() error { return nil })
				if err != nil {
					t.Fatal(err)
				}
				echoErr := make(chan error, 1)
				echoDone := make(chan struct{})
				defer func() { // interrupt, wait for the echo loop, then free
					e.Close()
					<-echoDone
					e.(peers.Releaser).Release()
				}()
				const rounds = 300
				go func() {
					defer close(echoDone)
					for seq := uint64(0); seq < rounds+1; seq++ {
						if err := e.Echo(seq); err != nil {
							echoErr <- err
							return
						}
					}
					echoErr <- nil
				}()
				ini, err := opener.Open(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer ini.(peers.Releaser).Release() // after Close: no RoundTrip runs then
				defer ini.Close()
				msg, reply := make([]byte, size), make([]byte, size)
				var seq uint64
				allocs := testing.AllocsPerRun(rounds, func() {
					peers.Fill(msg, seq)
					if err := ini.RoundTrip(msg, reply); err != nil {
						t.Fatal(err)
					}
					if err := peers.Verify(reply, seq); err != nil {
						t.Fatal(err)
					}
					seq++
				})
				if err := <-echoErr; err != nil {
					t.Fatal(err)
				}
				if allocs != 0 {
					t.Fatalf("%d bytes: %v allocs per round trip (both ends), want 0", size, allocs)
				}
			})
		}
	}
}
