package main

import (
	"context"
	"io"
	"testing"
	"time"

	"docket/eventlog"
)

// TestServeStartsAfterALongCatchUp: the wait for JetStream is bounded by
// startTimeout, but a catch-up of the projections (a rebuild of a large
// log) may take longer than that; the node must still start. The
// catch-up is made to outlast the bound through the caughtUp hook.
func TestServeStartsAfterALongCatchUp(t *testing.T) {
	old := startTimeout
	startTimeout = 2 * time.Second
	t.Cleanup(func() { startTimeout = old })
	cfg, err := parseServeFlags([]string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--log-level", "warn"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.caughtUp = func(_ eventlog.Seq, _ time.Duration) { time.Sleep(startTimeout + 500*time.Millisecond) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, io.Discard, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve ended before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve not ready after 60s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
