package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"docket/api"
	"docket/auth"
	"docket/blobs"
	"docket/eventlog"
	"docket/methods"
	"docket/methods/webhooks"
	"docket/projections"
)

// config is the serve command's configuration.
type config struct {
	Data          string
	HTTP          string
	NATSListen    string
	NATSToken     string
	LogLevel      string
	AdminPassword string
	MaxBody       int64
	CORSOrigins   string
	TrustProxy    bool
	MaxFileSize   int64
	CacheSize     int64
	FileStore     string
	CollectEvery  time.Duration
	Webhooks      bool
	// caughtUp, when set, is told the log sequence the projections caught
	// up with before the node answered anything, and how long that took
	// (docket bench times a rebuild with it).
	caughtUp func(seq eventlog.Seq, took time.Duration)
	// opened, when set, is given the projections store once it is open
	// (docket bench waits on it for compactions to settle).
	opened func(*projections.Store)
	Ops    opsConfig // metrics, readiness, shutdown (ops.go)
	// External NATS (instead of the embedded server) and its credentials.
	NATSURL, NATSUser, NATSPassword, NATSCreds string
	// Embedded clustering.
	ServerName, ClusterName, ClusterListen, Routes string
	// Replicas of the stream and the buckets; 0: three in a cluster, else one.
	Replicas int
}

// startTimeout bounds how long a starting node waits for JetStream: a
// cluster answers once most of its nodes are up.
var startTimeout = 2 * time.Minute

func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.Ops.register(fs)
	fs.Usage = envUsage(fs, "docket serve")
	fs.StringVar(&c.Data, "data", env("DOCKET_DATA", "./data"), "data directory (NATS JetStream files and Pebble); env DOCKET_DATA")
	fs.StringVar(&c.HTTP, "http", env("DOCKET_HTTP", ":8000"), "HTTP listen address; env DOCKET_HTTP")
	fs.StringVar(&c.NATSListen, "nats-listen", env("DOCKET_NATS_LISTEN", ""), "also accept NATS clients (workers, subscribers) on this address, e.g. 127.0.0.1:4222; empty: in-process only; env DOCKET_NATS_LISTEN")
	fs.StringVar(&c.NATSToken, "nats-token", env("DOCKET_NATS_TOKEN", ""), "the token NATS clients must present (with --nats-url: the token docket presents); env DOCKET_NATS_TOKEN")
	fs.StringVar(&c.NATSURL, "nats-url", env("DOCKET_NATS_URL", ""), "use this external NATS cluster (comma-separated URLs, e.g. nats://n1:4222,nats://n2:4222) instead of the embedded server; env DOCKET_NATS_URL")
	fs.StringVar(&c.NATSUser, "nats-user", env("DOCKET_NATS_USER", ""), "with --nats-url: the user docket connects as; env DOCKET_NATS_USER")
	fs.StringVar(&c.NATSPassword, "nats-password", env("DOCKET_NATS_PASSWORD", ""), "with --nats-user: its password; env DOCKET_NATS_PASSWORD")
	fs.StringVar(&c.NATSCreds, "nats-creds", env("DOCKET_NATS_CREDS", ""), "with --nats-url: a NATS credentials file (JWT and seed); env DOCKET_NATS_CREDS")
	fs.StringVar(&c.ServerName, "server-name", env("DOCKET_SERVER_NAME", ""), "the embedded NATS server's name, unique in its cluster (default docket); env DOCKET_SERVER_NAME")
	fs.StringVar(&c.ClusterName, "cluster-name", env("DOCKET_CLUSTER_NAME", ""), "make the embedded NATS server a node of this cluster (the same on every node); env DOCKET_CLUSTER_NAME")
	fs.StringVar(&c.ClusterListen, "cluster-listen", env("DOCKET_CLUSTER_LISTEN", ""), "with --cluster-name: where the other nodes' routes connect, e.g. 0.0.0.0:6222; env DOCKET_CLUSTER_LISTEN")
	fs.StringVar(&c.Routes, "routes", env("DOCKET_ROUTES", ""), "with --cluster-name: comma-separated routes to the cluster's nodes, e.g. nats-route://n1:6222,nats-route://n2:6222,nats-route://n3:6222; env DOCKET_ROUTES")
	fs.IntVar(&c.Replicas, "replicas", envInt(getenv, "DOCKET_REPLICAS"), "replicas of the log, the key-value buckets and the file store (default: 3 in a cluster, 1 on a single server); env DOCKET_REPLICAS")
	fs.StringVar(&c.LogLevel, "log-level", env("DOCKET_LOG_LEVEL", "info"), "log level: debug, info, warn, error; env DOCKET_LOG_LEVEL")
	fs.Int64Var(&c.MaxBody, "max-body", 25<<20, "largest request body in bytes")
	fs.Int64Var(&c.CacheSize, "cache-size", projections.DefaultCacheSize, "Pebble's block cache in bytes (the read model's hot blocks in memory)")
	fs.Int64Var(&c.MaxFileSize, "max-file-size", 25<<20, "largest uploaded file in bytes (413 beyond)")
	fs.StringVar(&c.FileStore, "file-store", env("DOCKET_FILE_STORE", "object"), "where file bytes live: object (a JetStream Object Store, replicated with the log) or disk (DIR/files); env DOCKET_FILE_STORE")
	fs.DurationVar(&c.CollectEvery, "collect-files-every", time.Hour, "how often file bytes no File document names are deleted (those older than this)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", env("DOCKET_CORS_ORIGINS", ""), "comma-separated browser origins allowed to call the API with credentials (CORS), e.g. https://app.example.com; * allows any; env DOCKET_CORS_ORIGINS")
	fs.BoolVar(&c.Webhooks, "webhooks", env("DOCKET_WEBHOOKS", "1") != "0" && env("DOCKET_WEBHOOKS", "1") != "false", "deliver Webhooks (off: changes wait in the log and are delivered once it is on again); env DOCKET_WEBHOOKS=0 turns it off")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", env("DOCKET_TRUST_PROXY", "") == "1" || env("DOCKET_TRUST_PROXY", "") == "true", "behind a reverse proxy: client address from X-Forwarded-For, https from X-Forwarded-Proto (Secure cookies); env DOCKET_TRUST_PROXY=1")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := setFromEnv(fs, getenv); err != nil { // DOCKET_<FLAG> for every flag (env.go)
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.CacheSize <= 0 {
		return c, fmt.Errorf("--cache-size must be a positive number of bytes, not %d", c.CacheSize)
	}
	if c.FileStore != "object" && c.FileStore != "disk" {
		return c, fmt.Errorf("--file-store must be object or disk, not %q", c.FileStore)
	}
	if v := getenv("DOCKET_REPLICAS"); v != "" {
		if _, err := strconv.Atoi(v); err != nil {
			return c, fmt.Errorf("DOCKET_REPLICAS=%q is not a number", v)
		}
	}
	if err := c.checkNATS(); err != nil {
		return c, err
	}
	c.AdminPassword = getenv("DOCKET_ADMIN_PASSWORD")
	return c, nil
}

// envInt reads an integer environment variable (0 when unset; a value
// that is not a number is refused after parsing).
func envInt(getenv func(string) string, k string) int {
	n, _ := strconv.Atoi(getenv(k))
	return n
}

// checkNATS checks that the NATS flags describe one mode: embedded
// standalone, embedded cluster node, or external NATS.
func (c config) checkNATS() error {
	clustered := c.ClusterName != "" || c.ClusterListen != "" || c.Routes != ""
	switch {
	case c.NATSURL != "" && (clustered || c.NATSListen != "" || c.ServerName != ""):
		return fmt.Errorf("--nats-url uses an external NATS: --nats-listen, --server-name, --cluster-name, --cluster-listen and --routes configure the embedded one")
	case c.NATSURL == "" && (c.NATSUser != "" || c.NATSCreds != ""):
		return fmt.Errorf("--nats-user and --nats-creds are for an external NATS (--nats-url)")
	case clustered && (c.ClusterName == "" || c.ClusterListen == "" || c.Routes == "" || c.ServerName == ""):
		return fmt.Errorf("a cluster node needs --server-name (unique), --cluster-name, --cluster-listen and --routes")
	case c.Replicas < 0 || c.Replicas > 5:
		return fmt.Errorf("--replicas must be between 1 and 5, not %d", c.Replicas)
	case c.Replicas > 1 && c.NATSURL == "" && !clustered:
		return fmt.Errorf("--replicas %d needs a cluster (--cluster-name … or --nats-url)", c.Replicas)
	}
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs a node (standalone, a node of an embedded cluster, or on an
// external NATS) until ctx ends, then shuts down in order: HTTP, webhook
// delivery, projector, Pebble, log, NATS. ready (optional) receives the HTTP
// address once the server accepts requests.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer, ready chan<- string) (err error) {
	logger := newLogger(stderr, cfg.LogLevel)
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	conn, err := connectNATS(ctx, cfg, logger)
	if err != nil {
		return err
	}
	closers = append(closers, func() { conn.close(logger) })
	nc := conn.nc
	startCtx, cancelStart := context.WithTimeout(ctx, startTimeout)
	defer cancelStart()
	lg, err := eventlog.Open(startCtx, nc, eventlog.Options{Logger: logger, Replicas: conn.replicas})
	if err != nil {
		return err
	}
	closers = append(closers, lg.Close)

	store, err := projections.Open(filepath.Join(cfg.Data, "pebble"), projections.Options{Logger: logger, CacheSize: cfg.CacheSize})
	if err != nil {
		return err
	}
	closers = append(closers, func() {
		if err := store.Close(); err != nil {
			logger.Error("pebble close", "err", err)
		}
	})
	if cfg.opened != nil {
		cfg.opened(store)
	}
	projCtx, stopProjector := context.WithCancel(context.Background())
	projector := projections.NewProjector(store, lg, logger)
	var projWG sync.WaitGroup
	projWG.Add(1)
	projErr := make(chan error, 1)
	go func() {
		defer projWG.Done()
		if err := projector.Run(projCtx); err != nil {
			logger.Error("projector stopped", "err", err)
			projErr <- err
		}
	}()
	closers = append(closers, func() { stopProjector(); projWG.Wait(); logger.Info("projector stopped") })
	ops, err := startOps(cfg.Ops, lg, projector, logger)
	if err != nil {
		return err
	}
	closers = append(closers, ops.close)

	// Catch up with the log before answering anything.
	last, err := lg.LastSeq(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	caught := make(chan error, 1)
	go func() { caught <- store.WaitFor(ctx, last) }()
	select {
	case err := <-caught:
		if err != nil {
			return fmt.Errorf("projections catching up to %d: %w", last, err)
		}
	case err := <-projErr:
		return fmt.Errorf("projections catching up to %d: %w", last, err)
	}
	took := time.Since(start)
	logger.Info("projections ready", "seq", last, "took", took.Round(time.Millisecond))
	if cfg.caughtUp != nil {
		cfg.caughtUp(last, took)
	}

	// The catch-up above may have taken longer than startTimeout (a
	// rebuild of a large log): the wait for the buckets starts now.
	cancelStart()
	startCtx, cancelStart = context.WithTimeout(ctx, startTimeout)
	defer cancelStart()
	var authSvc *auth.Service
	err = eventlog.Retry(startCtx, logger, "auth buckets", func(ctx context.Context) (err error) {
		authSvc, err = auth.New(ctx, lg.JetStream(), methods.NewUsers(store),
			auth.Options{Logger: logger, Replicas: conn.replicas})
		return err
	})
	if err != nil {
		return err
	}
	docs := methods.NewDocs(lg, store, methods.Options{Logger: logger, Secrets: authSvc})

	password, generated := cfg.AdminPassword, false
	if password == "" {
		password, generated = randomPassword(), true
	}
	created, err := docs.Bootstrap(ctx, password)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created {
		if generated {
			fmt.Fprintf(stdout, "Administrator password (shown once, set DOCKET_ADMIN_PASSWORD to choose it): %s\n", password)
		}
		logger.Info("created the built-in DocTypes and the Administrator user")
	}

	if cfg.Webhooks {
		// Stopped before the projector and the log: a delivery in flight
		// is given up unacknowledged and comes again after a restart.
		hookCtx, stopHooks := context.WithCancel(context.Background())
		hooksDone := make(chan struct{})
		svc := webhooks.New(docs, lg, webhooks.Options{Secrets: authSvc, Logger: logger, OnAttempt: ops.mon.WebhookAttempt})
		go func() {
			defer close(hooksDone)
			if err := svc.Run(hookCtx); err != nil {
				logger.Error("webhooks stopped", "err", err)
			}
		}()
		closers = append(closers, func() { stopHooks(); <-hooksDone; logger.Info("webhooks stopped") })
	}

	reg := methods.NewRegistry()
	methods.RegisterBuiltins(reg)
	disp := methods.NewDispatcher(docs, reg, nc, methods.DispatchOptions{})
	origins := splitList(cfg.CORSOrigins)
	var files blobs.Store
	err = eventlog.Retry(startCtx, logger, "file store", func(ctx context.Context) (err error) {
		files, err = openFileStore(ctx, cfg, lg, conn.replicas)
		return err
	})
	if err != nil {
		return err
	}
	collectCtx, stopCollecting := context.WithCancel(context.Background())
	var collectWG sync.WaitGroup
	collectWG.Add(1)
	go func() {
		defer collectWG.Done()
		collectFiles(collectCtx, docs, files, cfg.CollectEvery, logger)
	}()
	closers = append(closers, func() { stopCollecting(); collectWG.Wait() })
	srv := api.New(docs, authSvc, disp, api.Options{Logger: logger, MaxBodyBytes: cfg.MaxBody,
		AllowedOrigins: origins, TrustProxy: cfg.TrustProxy, Blobs: files, MaxFileSize: cfg.MaxFileSize, Ops: ops.api()})
	// Serve this node's methods to the other nodes of a cluster too.
	methodSvc, err := methods.Serve(nc, reg, methods.ServeOptions{Logger: logger})
	if err != nil {
		return err
	}
	closers = append(closers, func() { _ = methodSvc.Stop() })
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           ops.mon.Instrument(srv.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(srv.StopStreams)
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpSrv.Serve(ln) }()
	logger.Info("docket serving", "http", ln.Addr().String(), "data", cfg.Data)
	ops.mon.Started()
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case <-ctx.Done():
	case err = <-httpDone:
	case err = <-projErr:
	}
	logger.Info("shutting down")
	ops.mon.Stopping()
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.Ops.shutdownTimeout())
	defer cancel()
	if serr := httpSrv.Shutdown(shutCtx); serr != nil {
		logger.Error("http shutdown", "err", serr)
		httpSrv.Close()
	}
	// Handlers still running would find Pebble and the log closed under
	// them: wait for them (their writes are bounded by timeouts).
	srv.Drain()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// openFileStore opens the store of file bytes the configuration names,
// with its spool directory under the data directory.
func openFileStore(ctx context.Context, cfg config, lg *eventlog.Log, replicas int) (blobs.Store, error) {
	tmp := filepath.Join(cfg.Data, "tmp")
	if err := os.RemoveAll(tmp); err != nil { // uploads a crash cut short
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, err
	}
	if cfg.FileStore == "disk" {
		return blobs.NewDiskStore(filepath.Join(cfg.Data, "files"))
	}
	return blobs.NewObjectStore(ctx, lg.JetStream(), blobs.ObjectStoreOptions{TempDir: tmp, Replicas: replicas})
}

// collectFiles deletes, every interval, the file bytes no File document
// names that are older than the interval.
func collectFiles(ctx context.Context, docs *methods.Docs, files blobs.Store, every time.Duration, logger *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := methods.CollectBlobs(ctx, docs, files, every)
		if err != nil {
			logger.Warn("collecting unused files failed", "err", err)
		} else if n > 0 {
			logger.Info("collected unused files", "deleted", n)
		}
	}
}

// randomPassword returns a password for a new Administrator.
func randomPassword() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
}
