package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"docket/cmd/docket/internal/bench"
	"docket/eventlog"
	"docket/projections"
)

// benchCommand runs docket bench (package bench): the nodes it measures
// are started by serve itself, with the defaults docket serve has.
func benchCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := bench.ParseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	return bench.Run(ctx, cfg, benchLaunch(stderr), stdout, stderr)
}

// benchLaunch starts serve on a data directory, on a loopback port, as
// `docket serve --data DIR` would (no environment but the Administrator's
// password), logging warnings and errors only.
func benchLaunch(stderr io.Writer) bench.Launch {
	return func(ctx context.Context, dir, adminPassword string) (*bench.Node, error) {
		env := func(k string) string {
			if k == "DOCKET_ADMIN_PASSWORD" {
				return adminPassword
			}
			return ""
		}
		cfg, err := parseServeFlags([]string{"--data", dir, "--http", "127.0.0.1:0", "--log-level", "warn"}, env, stderr)
		if err != nil {
			return nil, err
		}
		node := &bench.Node{Projections: filepath.Join(dir, "pebble")}
		cfg.caughtUp = func(seq eventlog.Seq, took time.Duration) { node.CaughtUpSeq, node.CatchUp = uint64(seq), took }
		cfg.opened = func(s *projections.Store) { node.Settle = s.Settle }
		ctx, cancel := context.WithCancel(ctx)
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- serve(ctx, cfg, io.Discard, stderr, ready) }()
		select {
		case addr := <-ready:
			node.URL = "http://" + addr
			node.Stop = func() error {
				cancel()
				return <-done
			}
			return node, nil
		case err := <-done:
			cancel()
			if err == nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("serve ended before it was ready: %w", err)
		}
	}
}
