package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

// TestConsumeHandsBackOnStop: a subscriber stopped while a message is
// unhandled hands it back, so the next subscriber of that name gets it at
// once (not after the one-minute AckWait) and then the rest, in order.
func TestConsumeHandsBackOnStop(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	for i := range 3 {
		if _, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", fmt.Sprint(i), 1, nil), 0)); err != nil {
			t.Fatal(err)
		}
	}
	// The first subscriber handles seq 1, then fails on seq 2 until it is
	// stopped.
	failing := make(chan eventlog.Seq, 16)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- env.Log.Consume(cctx, "hand-back", "docs.>", eventlog.ConsumeOptions{From: 1, RetryAfter: 10 * time.Millisecond},
			func(ctx context.Context, m *eventlog.Msg) error {
				if m.Seq == 1 {
					return nil
				}
				failing <- m.Seq
				return errors.New("not now")
			})
	}()
	if seq := <-failing; seq != 2 {
		t.Fatalf("first failure at %d", seq)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// The next subscriber: seq 2 and 3 arrive well within AckWait.
	got := make(chan eventlog.Seq, 16)
	cctx, cancel = context.WithCancel(ctx)
	defer cancel()
	go func() {
		done <- env.Log.Consume(cctx, "hand-back", "docs.>", eventlog.ConsumeOptions{},
			func(ctx context.Context, m *eventlog.Msg) error { got <- m.Seq; return nil })
	}()
	for _, want := range []eventlog.Seq{2, 3} {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("got seq %d, want %d", seq, want)
			}
		case <-time.After(30 * time.Second): // AckWait is a minute
			t.Fatalf("seq %d was not handed back", want)
		}
	}
}
