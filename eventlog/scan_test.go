package eventlog_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

// TestScan reads bounded ranges with and without subject filters, and
// returns at once when nothing matches (an ordered read would wait).
func TestScan(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	scan := func(opts eventlog.ScanOptions) []eventlog.Seq {
		t.Helper()
		var got []eventlog.Seq
		if err := env.Log.Scan(ctx, opts, func(m *eventlog.Msg) error {
			got = append(got, m.Seq)
			return nil
		}); err != nil {
			t.Fatalf("scan %+v: %v", opts, err)
		}
		return got
	}
	if got := scan(eventlog.ScanOptions{}); got != nil {
		t.Fatalf("empty stream: %v", got)
	}
	// seq 1..6: ToDo a, Note b, ToDo c, ToDo a v2, Note b v2, Sales Invoice x
	appendDoc := func(doctype, name string, version uint64) {
		t.Helper()
		var expect eventlog.Seq
		if version > 1 {
			h, err := env.Log.Head(ctx, eventlog.DocSubject(doctype, name))
			if err != nil {
				t.Fatal(err)
			}
			expect = h.Seq
		}
		if _, err := env.Log.Append(ctx, mustWrite(t, newEvent(doctype, name, version, nil), expect)); err != nil {
			t.Fatal(err)
		}
	}
	appendDoc("ToDo", "a", 1)
	appendDoc("Note", "b", 1)
	appendDoc("ToDo", "c", 1)
	appendDoc("ToDo", "a", 2)
	appendDoc("Note", "b", 2)
	appendDoc("Sales Invoice", "x", 1)

	for _, c := range []struct {
		opts eventlog.ScanOptions
		want []eventlog.Seq
	}{
		{eventlog.ScanOptions{}, []eventlog.Seq{1, 2, 3, 4, 5, 6}},
		{eventlog.ScanOptions{From: 2, To: 4}, []eventlog.Seq{2, 3, 4}},
		{eventlog.ScanOptions{From: 5, To: 99}, []eventlog.Seq{5, 6}},
		{eventlog.ScanOptions{From: 7}, nil},
		{eventlog.ScanOptions{Subjects: []string{eventlog.DocSubject("ToDo", "a")}}, []eventlog.Seq{1, 4}},
		{eventlog.ScanOptions{Subjects: []string{eventlog.DocTypeSubjects("ToDo")}, To: 3}, []eventlog.Seq{1, 3}},
		{eventlog.ScanOptions{Subjects: []string{eventlog.DocTypeSubjects("Note")}, From: 3}, []eventlog.Seq{5}},
		{eventlog.ScanOptions{Subjects: []string{eventlog.DocTypeSubjects("Note"), eventlog.DocSubject("Sales Invoice", "x")}}, []eventlog.Seq{2, 5, 6}},
		{eventlog.ScanOptions{Subjects: []string{eventlog.DocTypeSubjects("Note")}, From: 6}, nil},
		{eventlog.ScanOptions{Subjects: []string{eventlog.DocTypeSubjects("User")}}, nil},
	} {
		if got := scan(c.opts); !slices.Equal(got, c.want) {
			t.Errorf("scan %+v = %v, want %v", c.opts, got, c.want)
		}
	}

	stop := errors.New("enough")
	n := 0
	err := env.Log.Scan(ctx, eventlog.ScanOptions{}, func(*eventlog.Msg) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("scan stopped by fn: %v after %d", err, n)
	}
}

// TestReadOnlyLog attaches to the stream as it is, refuses appends, and
// fails where there is no stream.
func TestReadOnlyLog(t *testing.T) {
	env := eventlogtest.Start(t, "")
	ctx := context.Background()
	if _, err := env.Log.Append(ctx, mustWrite(t, newEvent("ToDo", "a", 1, nil), 0)); err != nil {
		t.Fatal(err)
	}
	ro, err := eventlog.Open(ctx, env.Conn, eventlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Append(ctx, mustWrite(t, newEvent("ToDo", "b", 1, nil), 0)); !errors.Is(err, eventlog.ErrReadOnly) {
		t.Fatalf("append to a read-only log: %v", err)
	}
	if last, err := ro.LastSeq(ctx); err != nil || last != 1 {
		t.Fatalf("last = %d, %v", last, err)
	}
	ro.Close() // twice is fine

	s, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := eventlog.ConnectInProcess(s, "bare")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := eventlog.Open(ctx, nc, eventlog.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open without a stream succeeded")
	}
}
