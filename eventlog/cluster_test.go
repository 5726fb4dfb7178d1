package eventlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

// TestClusterAppendDecidesOnTheLeader runs the log on a three-node
// cluster (R3). A replicated stream checks Nats-Msg-Id before
// expectations, so a retry of a landed write and a competing writer of
// the same version both come back "duplicate" with the winner's sequence:
// Append must call the first its own success and the second a conflict.
// And every node's Head sees a write the moment another node's Append
// returned.
func TestClusterAppendDecidesOnTheLeader(t *testing.T) {
	envs := eventlogtest.StartCluster(t, 3)
	ctx := context.Background()
	if r := envs[0].Log.Replicas(); r != 3 {
		t.Fatalf("replicas = %d", r)
	}

	w := mustWrite(t, newEvent("Note", "n1", 1, map[string]any{"title": "x"}), 0)
	seqs, err := envs[0].Log.Append(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	// The same write again from another node, as a retry after a lost ack.
	again, err := envs[1].Log.Append(ctx, w)
	if err != nil || again[0] != seqs[0] {
		t.Fatalf("retry: seqs %v err %v, want %v", again, err, seqs)
	}
	// Another writer of version 1 (same Nats-Msg-Id, another envelope).
	rival := mustWrite(t, newEvent("Note", "n1", 1, map[string]any{"title": "y"}), 0)
	_, err = envs[2].Log.Append(ctx, rival)
	var conflict *eventlog.ConflictError
	if !errors.As(err, &conflict) || conflict.Last != seqs[0] {
		t.Fatalf("rival: err %v, want a conflict at %d", err, seqs[0])
	}
	// A batch holding a retried write is answered 10201 (a Nats-Msg-Id seen
	// before): Append pins the whole batch down as its own, or as a
	// conflict when another writer's versions are there.
	b1 := []eventlog.Write{mustWrite(t, newEvent("Note", "n2", 1, map[string]any{"title": "z"}), 0),
		mustWrite(t, newEvent("Note", "n3", 1, nil), 0)}
	batch, err := envs[0].Log.Append(ctx, b1...)
	if err != nil {
		t.Fatal(err)
	}
	again, err = envs[1].Log.Append(ctx, b1...)
	if err != nil || again[0] != batch[0] || again[1] != batch[1] {
		t.Fatalf("batch retried: %v %v, want %v", again, err, batch)
	}
	_, err = envs[1].Log.Append(ctx, mustWrite(t, newEvent("Note", "n2", 1, nil), 0),
		mustWrite(t, newEvent("Note", "n3", 1, nil), 0))
	if !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("a batch of other envelopes of n2 v1 and n3 v1: %v, want a conflict", err)
	}

	// Read-your-writes through any node: Head is never older than an ack.
	js, err := jetstream.New(envs[2].Conn)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	stale := 0
	for i := range 200 {
		e := newEvent("Note", "h", uint64(i+1), map[string]any{"i": i})
		var expect eventlog.Seq
		if i > 0 {
			head, err := envs[(i+1)%3].Log.Head(ctx, "docs.Note.h")
			if err != nil {
				t.Fatal(err)
			}
			expect = head.Seq
		}
		s, err := envs[i%3].Log.Append(ctx, mustWrite(t, e, expect))
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		head, err := envs[(i+1)%3].Log.Head(ctx, "docs.Note.h")
		if err != nil || head.Seq != s[0] {
			t.Fatalf("write %d at %d: another node's head is %v (%v)", i, s[0], head, err)
		}
		// What a direct get (any replica) says, for the record.
		if raw, err := direct.GetLastMsgForSubject(ctx, "docs.Note.h"); err != nil || raw.Sequence != uint64(s[0]) {
			stale++
		}
	}
	t.Logf("direct gets on a third node right after the ack: %d of 200 stale", stale)
}

// TestClusterSurvivesANodeLoss stops one of three servers: appends and
// reads go on through the others, and nothing acknowledged is lost.
func TestClusterSurvivesANodeLoss(t *testing.T) {
	envs := eventlogtest.StartCluster(t, 3)
	ctx := context.Background()
	var acked []eventlog.Seq
	write := func(e *eventlogtest.Env, name string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := e.Log.Append(wctx, mustWrite(t, newEvent("Note", name, 1, nil), 0))
		if err != nil {
			t.Fatalf("append %s: %v", name, err)
		}
		acked = append(acked, s[0])
	}
	write(envs[0], "before")
	envs[2].Stop()
	start := time.Now()
	write(envs[0], "after-1")
	t.Logf("first append after a node stopped took %s", time.Since(start).Round(time.Millisecond))
	write(envs[1], "after-2")
	for _, s := range acked {
		if _, err := envs[1].Log.Get(ctx, s); err != nil {
			t.Fatalf("acknowledged seq %d: %v", s, err)
		}
	}
}
