package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"docket/api"
	"docket/eventlog"
	"docket/monitor"
	"docket/projections"
)

// opsConfig is what serve's operators configure: metrics, readiness and
// shutdown.
type opsConfig struct {
	// Metrics is "" (on the HTTP address, for System Managers), "off", or
	// an address of their own (with /healthz and /readyz, no
	// authentication: an internal address).
	Metrics string
	// ReadyMaxLag bounds how far the projections may trail the log while
	// /readyz answers 200.
	ReadyMaxLag monitor.Lag
	// ShutdownTimeout bounds the wait for requests in flight at shutdown.
	ShutdownTimeout time.Duration
}

func (o *opsConfig) register(fs *flag.FlagSet) {
	o.ReadyMaxLag = monitor.DefaultLag
	fs.StringVar(&o.Metrics, "metrics", "", "where /metrics (Prometheus) is served: empty: on the HTTP address, to System Managers' API keys; off: nowhere; "+
		"an address (127.0.0.1:9464): there, with /healthz and /readyz, without authentication (keep it internal); env DOCKET_METRICS")
	fs.Var(&o.ReadyMaxLag, "ready-max-lag", "/readyz answers 503 while the projections trail the log by more than `BOUND`: "+
		"a number of messages (1000) or a time (5s: the oldest message not applied yet is older); env DOCKET_READY_MAX_LAG")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "at shutdown, how long requests in flight may take to finish "+
		"before their connections are closed; env DOCKET_SHUTDOWN_TIMEOUT")
}

// shutdownTimeout is ShutdownTimeout, 30s when unset.
func (o opsConfig) shutdownTimeout() time.Duration {
	if o.ShutdownTimeout <= 0 {
		return 30 * time.Second
	}
	return o.ShutdownTimeout
}

// ops is a node's monitor, and the listener of its own that serves it
// when --metrics names an address.
type ops struct {
	cfg    opsConfig
	mon    *monitor.Monitor
	srv    *http.Server
	done   chan error
	logger *slog.Logger
}

// startOps makes the monitor of a node whose projector follows lg; with
// an address in --metrics, it serves /metrics, /healthz and /readyz
// there at once, so that the projections catching up can be watched.
func startOps(cfg opsConfig, lg *eventlog.Log, p *projections.Projector, logger *slog.Logger) (*ops, error) {
	o := &ops{cfg: cfg, logger: logger,
		mon: monitor.New(lg, p, monitor.Options{MaxLag: cfg.ReadyMaxLag, Logger: logger})}
	if cfg.Metrics == "" || cfg.Metrics == "off" {
		return o, nil
	}
	ln, err := net.Listen("tcp", cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	o.srv = &http.Server{Handler: o.mon.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	o.done = make(chan error, 1)
	go func() { o.done <- o.srv.Serve(ln) }()
	logger.Info("metrics served", "addr", ln.Addr().String())
	return o, nil
}

// api is what the API serves and reports of operations.
func (o *ops) api() api.Ops {
	a := api.Ops{Health: o.mon.Health(), Ready: o.mon.Ready(), AuthFailure: o.mon.AuthFailure}
	if o.cfg.Metrics == "" {
		a.Metrics = o.mon.Metrics()
	}
	return a
}

// close stops the metrics listener (after the API has drained, so that
// the drain can be watched).
func (o *ops) close() {
	if o.srv == nil {
		return
	}
	if err := o.srv.Close(); err != nil {
		o.logger.Warn("metrics listener", "err", err)
	}
	if err := <-o.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		o.logger.Warn("metrics listener", "err", err)
	}
}
