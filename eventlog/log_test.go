package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

func newEvent(doctype, name string, version uint64, doc map[string]any) *eventlog.Event {
	return &eventlog.Event{
		Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Insert,
		DocType: doctype, Name: name, Version: version, Doc: doc,
		User: "Administrator", Time: 1, Tx: eventlog.NewID(),
	}
}

func mustWrite(t *testing.T, e *eventlog.Event, expect eventlog.Seq) eventlog.Write {
	t.Helper()
	w, err := eventlog.EventWrite(e, expect)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestAppendOptimisticConcurrency(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	l := env.Log

	v1 := newEvent("ToDo", "a", 1, map[string]any{"description": "one", "n": int64(7)})
	seqs, err := l.Append(ctx, mustWrite(t, v1, 0))
	if err != nil {
		t.Fatal(err)
	}
	s1 := seqs[0]

	// A second insert of the same name must fail: the subject is not empty.
	dup := newEvent("ToDo", "a", 1, nil)
	_, err = l.Append(ctx, mustWrite(t, dup, 0))
	var ce *eventlog.ConflictError
	if !errors.As(err, &ce) || ce.Last != s1 || ce.Subject != "docs.ToDo.a" {
		t.Fatalf("duplicate insert: err = %v, want conflict at %d", err, s1)
	}

	// An update based on v1 lands; a second update based on v1 conflicts.
	h1, _ := l.Head(ctx, "docs.ToDo.a")
	v2 := newEvent("ToDo", "a", 2, map[string]any{"description": "two"})
	v2.Type, v2.Prev, v2.PrevSeq = eventlog.Update, eventlog.Hash(h1.Data), s1
	seqs, err = l.Append(ctx, mustWrite(t, v2, s1))
	if err != nil {
		t.Fatal(err)
	}
	stale := newEvent("ToDo", "a", 2, map[string]any{"description": "stale"})
	if _, err := l.Append(ctx, mustWrite(t, stale, s1)); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("stale update: err = %v, want ErrConflict", err)
	}

	head, err := l.Head(ctx, "docs.ToDo.a")
	if err != nil || head.Seq != seqs[0] {
		t.Fatalf("head = %+v, %v", head, err)
	}
	got, err := eventlog.DecodeEvent(head.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Doc["description"] != "two" || string(got.Prev) != string(eventlog.Hash(h1.Data)) {
		t.Fatalf("head event = %+v", got)
	}
	first, _ := l.Get(ctx, s1)
	e1, _ := eventlog.DecodeEvent(first.Data)
	if e1.Doc["n"] != int64(7) {
		t.Fatalf("int decoded as %T %v", e1.Doc["n"], e1.Doc["n"])
	}
}

func TestAppendRetryRecognisesOwnWrite(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	w := mustWrite(t, newEvent("Note", "n1", 1, map[string]any{"title": "x"}), 0)
	seqs, err := env.Log.Append(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	// The same write again, as a retry after a lost ack would send it: on a
	// single server JetStream answers "wrong last sequence"; Append must see
	// that the head is this very write and report success.
	again, err := env.Log.Append(ctx, w)
	if err != nil || again[0] != seqs[0] {
		t.Fatalf("retry: seqs %v err %v, want %v", again, err, seqs)
	}
	last, _ := env.Log.LastSeq(ctx)
	if last != seqs[0] {
		t.Fatalf("retry wrote a second message: last seq %d", last)
	}
}

func TestAtomicBatchAllOrNothing(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	l := env.Log
	if _, err := l.Append(ctx, mustWrite(t, newEvent("ToDo", "taken", 1, nil), 0)); err != nil {
		t.Fatal(err)
	}
	before, _ := l.LastSeq(ctx)
	// Three writes; the last one expects "taken" to be empty, which it is not.
	ws := []eventlog.Write{
		mustWrite(t, newEvent("ToDo", "x1", 1, nil), 0),
		mustWrite(t, newEvent("ToDo", "x2", 1, nil), 0),
		mustWrite(t, newEvent("ToDo", "taken", 1, nil), 0),
	}
	_, err := l.Append(ctx, ws...)
	var ce *eventlog.ConflictError
	if !errors.As(err, &ce) || ce.Subject != "docs.ToDo.taken" {
		t.Fatalf("err = %v, want conflict on docs.ToDo.taken", err)
	}
	after, _ := l.LastSeq(ctx)
	if after != before {
		t.Fatalf("a rejected batch stored messages: last seq %d → %d", before, after)
	}
	if _, err := l.Head(ctx, "docs.ToDo.x1"); !errors.Is(err, eventlog.ErrNotFound) {
		t.Fatalf("x1 exists after a rejected batch: %v", err)
	}
	seqs, err := l.Append(ctx, ws[:2]...)
	if err != nil || len(seqs) != 2 || seqs[1] != seqs[0]+1 {
		t.Fatalf("batch of two: %v %v", seqs, err)
	}
}

// TestGroupCommitConcurrent sends many concurrent appends (so that rounds
// become atomic batches) including conflicting ones, and checks each gets
// its own right answer.
func TestGroupCommitConcurrent(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	const writers = 200
	var wg sync.WaitGroup
	errs := make([]error, writers)
	seqs := make([]eventlog.Seq, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every tenth writer collides with its neighbour's name.
			name := fmt.Sprintf("d%03d", i)
			if i%10 == 1 {
				name = fmt.Sprintf("d%03d", i-1)
			}
			s, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", name, 1, nil), 0))
			errs[i] = err
			if err == nil {
				seqs[i] = s[0]
			}
		}()
	}
	wg.Wait()
	ok, conflicts := 0, 0
	seen := map[eventlog.Seq]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if seen[seqs[i]] {
				t.Fatalf("sequence %d given twice", seqs[i])
			}
			seen[seqs[i]] = true
		case errors.Is(err, eventlog.ErrConflict):
			conflicts++
		default:
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if ok != 180 || conflicts != 20 {
		t.Fatalf("ok %d conflicts %d, want 180 and 20", ok, conflicts)
	}
	last, _ := env.Log.LastSeq(ctx)
	if last != 180 {
		t.Fatalf("stream holds %d messages, want 180", last)
	}
}

func TestReadInOrder(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	for i := range 5 {
		if _, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", fmt.Sprint(i), 1, nil), 0)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := env.Log.Read(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for want := eventlog.Seq(3); want <= 5; want++ {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != want || m.Pending != uint64(5-want) {
			t.Fatalf("got seq %d pending %d, want %d", m.Seq, m.Pending, want)
		}
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	env := eventlogtest.Start(t, dir)
	ctx := context.Background()
	if _, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", "keep", 1, map[string]any{"x": "y"}), 0)); err != nil {
		t.Fatal(err)
	}
	env.Stop()
	env2 := eventlogtest.Start(t, dir)
	h, err := env2.Log.Head(ctx, "docs.ToDo.keep")
	if err != nil {
		t.Fatal(err)
	}
	e, _ := eventlog.DecodeEvent(h.Data)
	if e.Doc["x"] != "y" {
		t.Fatalf("after restart: %+v", e)
	}
}

// TestRetryOfALandedWriteBelowNewerVersions: a write lands but its ack is
// lost; another writer appends on top; the retry must be recognised as
// landed (the first message after its expectation is its own), not
// reported as a conflict that would make the caller apply it twice.
func TestRetryOfALandedWriteBelowNewerVersions(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	w1 := mustWrite(t, newEvent("ToDo", "a", 1, nil), 0)
	// The first attempt, published behind Append's back.
	m := nats.NewMsg(w1.Subject)
	m.Data = w1.Data
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	m.Header.Set(jetstream.MsgIDHeader, w1.MsgID)
	m.Header.Set(eventlog.HeaderID, w1.ID)
	ack, err := env.Log.JetStream().PublishMsg(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	v2 := newEvent("ToDo", "a", 2, nil)
	if _, err := env.Log.Append(ctx, mustWrite(t, v2, eventlog.Seq(ack.Sequence))); err != nil {
		t.Fatal(err)
	}
	seqs, err := env.Log.Append(ctx, w1)
	if err != nil || seqs[0] != eventlog.Seq(ack.Sequence) {
		t.Fatalf("retry of a landed write: %v %v, want seq %d", seqs, err, ack.Sequence)
	}
	// A write that did not land, whose expectation is stale, is a conflict.
	stale := mustWrite(t, newEvent("ToDo", "a", 2, nil), eventlog.Seq(ack.Sequence))
	if _, err := env.Log.Append(ctx, stale); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("stale write: %v, want a conflict", err)
	}
}

// TestAppendAfterClose fails at once instead of waiting forever.
func TestAppendAfterClose(t *testing.T) {
	env := eventlogtest.Start(t, "")
	env.Log.Close()
	env.Log.Close() // twice is fine
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", "x", 1, nil), 0)); !errors.Is(err, eventlog.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
}

// TestRejectedRoundsOfTransactions: many two-write transactions at once,
// a few of them stale, so that combined batches are rejected and every
// transaction is retried as its own atomic batch. Only the stale ones may
// fail, and only with a conflict (JetStream admits 50 atomic batches in
// flight per stream: the fallback must not flood it).
func TestRejectedRoundsOfTransactions(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	if _, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", "taken", 1, nil), 0)); err != nil {
		t.Fatal(err)
	}
	const txs = 1000
	var wg sync.WaitGroup
	errs := make([]error, txs)
	for i := range txs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			second := fmt.Sprintf("b%04d", i)
			if i%40 == 0 {
				second = "taken" // stale: expects an empty subject
			}
			_, errs[i] = env.Log.Append(ctx,
				mustWrite(t, newEvent("ToDo", fmt.Sprintf("a%04d", i), 1, nil), 0),
				mustWrite(t, newEvent("ToDo", second, 1, nil), 0))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%40 == 0 && !errors.Is(err, eventlog.ErrConflict):
			t.Errorf("stale transaction %d: %v, want a conflict", i, err)
		case i%40 != 0 && err != nil:
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	last, _ := env.Log.LastSeq(ctx)
	if want := eventlog.Seq(1 + 2*(txs-txs/40)); last != want {
		t.Fatalf("stream holds %d messages, want %d", last, want)
	}
}

// TestSubscribers: durable subscribers are listed by prefix and deleted
// with their position; a new one of the same name starts afresh.
func TestSubscribers(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	l := env.Log
	if _, err := l.Append(ctx, mustWrite(t, newEvent("ToDo", "a", 1, map[string]any{"n": int64(1)}), 0)); err != nil {
		t.Fatal(err)
	}
	consume := func(name string) eventlog.Seq {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		var got eventlog.Seq
		err := l.Consume(cctx, name, "docs.>", eventlog.ConsumeOptions{From: 1}, func(_ context.Context, m *eventlog.Msg) error {
			got = m.Seq
			cancel()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if seq := consume("test-sub-1"); seq != 1 {
		t.Fatalf("first delivery at %d", seq)
	}
	consume("other")
	names, err := l.Subscribers(ctx, "test-sub-")
	if err != nil || fmt.Sprint(names) != "[test-sub-1]" {
		t.Fatalf("Subscribers = %v, %v", names, err)
	}
	if err := l.Unsubscribe(ctx, "test-sub-1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Unsubscribe(ctx, "test-sub-1"); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	if names, err := l.Subscribers(ctx, "test-sub-"); err != nil || len(names) != 0 {
		t.Fatalf("after Unsubscribe: %v, %v", names, err)
	}
	if seq := consume("test-sub-1"); seq != 1 {
		t.Fatalf("a new subscriber of the old name starts at %d", seq)
	}
}

// TestConsumeSlowHandler: a handler that works longer than AckWait keeps
// its delivery; the message is not given again meanwhile.
func TestConsumeSlowHandler(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := env.Log
	for _, name := range []string{"a", "b"} {
		if _, err := l.Append(ctx, mustWrite(t, newEvent("ToDo", name, 1, nil), 0)); err != nil {
			t.Fatal(err)
		}
	}
	const ackWait = 500 * time.Millisecond
	var got []eventlog.Seq
	err := l.Consume(ctx, "slow", "docs.>", eventlog.ConsumeOptions{From: 1, AckWait: ackWait}, func(ctx context.Context, m *eventlog.Msg) error {
		got = append(got, m.Seq)
		if m.Seq == 1 {
			time.Sleep(3 * ackWait) // the slowness under test
		}
		if len(got) == 2 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("deliveries %v, want [1 2]", got)
	}
}
