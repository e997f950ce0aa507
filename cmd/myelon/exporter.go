package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/myelonprom"
)

// runExporter: myelon exporter --listen ADDR, serving /metrics for the
// rings on this host until interrupted.
func runExporter(args []string) error {
	fs := newFlags("exporter")
	listen := fs.String("listen", ":9464", "address to serve /metrics on")
	prefix := fs.String("prefix", "", "export only rings whose name starts with this")
	var dirs dirsFlag
	fs.Var(&dirs, "dir", "also export the file-backed rings in this directory (repeatable)")
	names, err := parse(fs, args)
	if err != nil {
		return err
	}
	h, err := myelonprom.Handler(catalog.Selection{Dirs: dirs, Prefix: *prefix, Names: names})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "myelon exporter: metrics at /metrics")
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("serving /metrics on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
