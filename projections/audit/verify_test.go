package audit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/audit"
	"docket/projections/projectionstest"
)

// TestVerifyClean: a log written as docket writes it verifies, and its
// read model equals a rebuild, key by key and by digest.
func TestVerifyClean(t *testing.T) {
	f := newFixture(t)
	f.history()
	dir := storeDir(t)
	f.project(dir)
	live := openLive(t, dir)
	r, err := audit.Verify(f.ctx, f.log(), audit.Options{Live: live, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Messages != 9 || r.Events != 7 || r.Bookkeeping != 2 || r.Subjects != 3 || r.Checkpoint != 9 {
		t.Fatalf("report %+v:\n%s", r, reportText(t, r))
	}
	want := "log: 9 messages up to seq 9: 7 document events on 3 documents, 2 claims and counters; every chain intact\n" +
		"projections: equal to a rebuild at seq 9 (compared key by key)\nOK\n"
	if got := reportText(t, r); got != want {
		t.Fatalf("report:\n%s\nwant:\n%s", got, want)
	}

	r, err = audit.Verify(f.ctx, f.log(), audit.Options{Digest: digestOf(live), TempDir: t.TempDir()})
	if err != nil || !r.OK() || r.Compared != "by digest" || r.Checkpoint != 9 {
		t.Fatalf("by digest: %v\n%s", err, reportText(t, r))
	}
	r, err = audit.Verify(f.ctx, f.log(), audit.Options{})
	if err != nil || !r.OK() || !strings.Contains(reportText(t, r), "projections: not compared\n") {
		t.Fatalf("log only: %v\n%s", err, reportText(t, r))
	}
}

func digestOf(s *projections.Store) func(context.Context) (*projections.Digest, error) {
	return func(context.Context) (*projections.Digest, error) { return s.Digest() }
}

// TestVerifyForgedMessages: messages published straight into the stream
// break the chain where they are, and each is reported once, precisely.
// The projector applied them too, so the read model still equals a
// rebuild.
func TestVerifyForgedMessages(t *testing.T) {
	f := newFixture(t)
	f.history()
	h1, _ := f.log().Get(f.ctx, 1) // ToDo a version 1
	h2, _ := f.log().Get(f.ctx, 3) // ToDo a version 2

	// ToDo a version 3 chained to version 1 instead of 2.
	ev, _ := f.event(eventlog.Update, "mallory", "ToDo", "a", map[string]any{"name": "a", "description": "forged"})
	ev.Prev, ev.PrevSeq = eventlog.Hash(h1.Data), 1
	s1 := f.forgeEvent(ev)
	// The next honest write chains to the forgery: no new break.
	f.write(eventlog.Update, "Administrator", "ToDo", "a", map[string]any{"name": "a", "description": "four"})
	// An envelope of another document.
	ev, _ = f.event(eventlog.Insert, "mallory", "ToDo", "c", map[string]any{"name": "c"})
	ev.Name = "z"
	data, _ := eventlog.Marshal(ev)
	s2 := f.forge(eventlog.DocSubject("ToDo", "c"), data)
	// Bytes that are no envelope.
	s3 := f.forge(eventlog.DocSubject("Note", "x"), []byte{0xc1, 0x00})
	// A version skipped, the chain otherwise right.
	ev, _ = f.event(eventlog.Update, "mallory", "Sales Invoice", "SINV-0001", map[string]any{"name": "SINV-0001"})
	ev.Version++
	s4 := f.forgeEvent(ev)
	// A counter on another key's subject.
	ct := &eventlog.Counter{Format: eventlog.Format, ID: eventlog.NewID(), Key: "INV-", Current: 7}
	data, _ = eventlog.Marshal(ct)
	s5 := f.forge(eventlog.SeriesSubject("SINV-"), data)

	dir := storeDir(t)
	f.project(dir)
	r, err := audit.Verify(f.ctx, f.log(), audit.Options{Live: openLive(t, dir), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("seq %d docs.ToDo.a version 3: prev_seq is 1, the previous version is at seq 3; prev is %x…, the previous version (seq 3) hashes to %x…",
			s1, eventlog.Hash(h1.Data)[:8], eventlog.Hash(h2.Data)[:8]),
		fmt.Sprintf(`seq %d docs.ToDo.c version 1: the envelope is for ToDo "z", the subject for ToDo "c"`, s2),
		fmt.Sprintf("seq %d docs.Note.x: the envelope does not decode: eventlog: decode: msgpack: unexpected code=c1 decoding map length", s3),
		fmt.Sprintf("seq %d docs.Sales_20Invoice.SINV-0001 version 4: version 4 follows version 2 (seq 7)", s4),
		fmt.Sprintf("seq %d series.SINV-: the content belongs on series.INV-", s5),
	}
	got := lines(reportText(t, r))
	if !slices.Equal(got[:len(want)], want) || r.OK() || len(r.Problems) != len(want) || r.DifferenceCount != 0 {
		t.Fatalf("report:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tail := got[len(got)-3:]; !strings.HasSuffix(tail[0], "; 5 problems") || !strings.HasPrefix(tail[1], "projections: equal") || tail[2] != "FAILED" {
		t.Fatalf("summary %q", tail)
	}
}

// TestVerifyAlteredReadModel: a value changed in a stopped node's Pebble
// is found key by key (and named), and by digest (its part named).
func TestVerifyAlteredReadModel(t *testing.T) {
	f := newFixture(t)
	f.history()
	dir := storeDir(t)
	f.project(dir)

	projectionstest.SetFieldInDir(t, dir, "ToDo", "a", "description", "tampered")

	live := openLive(t, dir)
	r, err := audit.Verify(f.ctx, f.log(), audit.Options{Live: live, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`document ToDo "a": field description: live "tampered", rebuilt "two"`,
		"log: 9 messages up to seq 9: 7 document events on 3 documents, 2 claims and counters; every chain intact",
		"projections: 1 difference from a rebuild at seq 9 (compared key by key)",
		"FAILED",
	}
	if got := lines(reportText(t, r)); !slices.Equal(got, want) {
		t.Fatalf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	r, err = audit.Verify(f.ctx, f.log(), audit.Options{Digest: digestOf(live), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Differences, []string{"documents of ToDo: 2 keys on the node, 2 rebuilt, contents differ"}) {
		t.Fatalf("by digest: %q", r.Differences)
	}
}

// TestVerifyDeletedMessage: on a stream whose settings allow deletes
// (docket never makes one, and JetStream never loosens DenyDelete again),
// deleted messages show as missing sequences, the chain breaks at the
// next version, and the settings are reported.
func TestVerifyDeletedMessage(t *testing.T) {
	ctx := context.Background()
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := eventlog.ConnectInProcess(ns, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := eventlog.StreamConfig(1)
	cfg.DenyDelete = false
	stream, err := js.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := eventlog.Open(ctx, nc, eventlog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, lg: lg, ctx: ctx, clock: t0}
	forgeNext := func(name, description string) {
		ev, _ := f.event(eventlog.Update, "Administrator", "ToDo", name, map[string]any{"description": description})
		f.forgeEvent(ev)
	}
	forgeNext("a", "one")   // 1
	forgeNext("a", "two")   // 2
	forgeNext("b", "one")   // 3
	forgeNext("a", "three") // 4
	for _, seq := range []uint64{2, 4} {
		if err := stream.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	forgeNext("a", "four") // 5, chained to version 1 (at seq 1): the head now
	r, err := audit.Verify(ctx, lg, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"stream DOCS: its settings let history change: messages may be deleted (deny_delete is off)",
		"seq 2 stream DOCS: the message is missing (deleted from the stream)",
		"seq 4 stream DOCS: the message is missing (deleted from the stream)",
		"log: 3 messages up to seq 5: 3 document events on 2 documents, 0 claims and counters; 3 problems",
	}
	got := lines(reportText(t, r))
	if !slices.Equal(got[:4], want) {
		t.Fatalf("report:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Now delete the last version of a: its successor breaks the chain.
	if err := stream.DeleteMsg(ctx, 5); err != nil {
		t.Fatal(err)
	}
	forgeNext("b", "two") // 6
	ev, _ := f.event(eventlog.Update, "Administrator", "ToDo", "a", nil)
	ev.Version, ev.PrevSeq = 4, 5
	f.forgeEvent(ev) // 7: names a previous version that is gone
	if r, err = audit.Verify(ctx, lg, audit.Options{}); err != nil {
		t.Fatal(err)
	}
	got = lines(reportText(t, r))
	want = []string{
		"seq 4 stream DOCS: the messages at sequences 4 to 5 are missing (deleted from the stream)",
		"seq 7 docs.ToDo.a version 4: version 4 follows version 1 (seq 1); prev_seq is 5, the previous version is at seq 1",
	}
	if !slices.Equal(got[2:4], want) {
		t.Fatalf("report:\n%s\nwant lines 3 and 4:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The last message deleted: the stream still knows its sequence.
	if err := stream.DeleteMsg(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if r, err = audit.Verify(ctx, lg, audit.Options{}); err != nil {
		t.Fatal(err)
	}
	got = lines(reportText(t, r))
	if want := "seq 7 stream DOCS: the message is missing (deleted from the stream)"; got[3] != want {
		t.Fatalf("report:\n%s\nwant line 4 %q", strings.Join(got, "\n"), want)
	}
}
