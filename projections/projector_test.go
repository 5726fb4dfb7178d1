package projections_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/query"
)

var noteDocType = map[string]any{
	"module": "Custom", "autoname": "Prompt",
	"fields": []any{
		map[string]any{"fieldname": "status", "fieldtype": "Select", "options": "Open\nClosed"},
		map[string]any{"fieldname": "body", "fieldtype": "Text"},
	},
}

// TestWaitForMakesWritesVisible: after Append returns a sequence,
// WaitFor(seq) is enough to read the write back through Get, Exists, List
// and Count (read-your-writes).
func TestWaitForMakesWritesVisible(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	n.waitFor(m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType)))
	ctx := context.Background()
	for i := 1; i <= 15; i++ {
		name := fmt.Sprintf("N-%02d", i)
		seq := m.commit(n.log, m.insert("Memo Note", name, map[string]any{"status": "Open", "body": name}))
		if err := n.store.WaitFor(ctx, seq); err != nil {
			t.Fatal(err)
		}
		if n.store.Applied() < seq {
			t.Fatalf("Applied() = %d after WaitFor(%d)", n.store.Applied(), seq)
		}
		rec, err := n.store.Get("Memo Note", name)
		if err != nil || rec.Seq != seq || rec.Doc["body"] != name {
			t.Fatalf("Get(%s) after WaitFor(%d) = %+v, %v", name, seq, rec, err)
		}
		if ok, err := n.store.Exists("Memo Note", name); !ok || err != nil {
			t.Fatalf("Exists(%s) = %v, %v", name, ok, err)
		}
		res, err := n.store.List(ctx, projections.Query{DocType: "Memo Note", Filters: []query.Condition{{Field: "name", Op: "=", Value: name}}})
		if err != nil || len(res.Rows) != 1 {
			t.Fatalf("List(name = %s) = %v, %v", name, res, err)
		}
		c, _, err := n.store.Count(ctx, projections.Query{DocType: "Memo Note", Filters: []query.Condition{{Field: "status", Op: "=", Value: "Open"}}})
		if err != nil || c != int64(i) {
			t.Fatalf("Count(status = Open) = %d, %v; want %d", c, err, i)
		}
	}

	// A waiter that starts before the append is woken by it.
	next := m.last + 1
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		errc <- n.store.WaitFor(ctx, next)
	}()
	seq := m.commit(n.log, m.update("Memo Note", "N-01", map[string]any{"status": "Closed"}))
	if seq != next {
		t.Fatalf("appended at %d, waited for %d", seq, next)
	}
	if err := <-errc; err != nil {
		t.Fatalf("WaitFor(%d) started before the append: %v", next, err)
	}
	if rec, err := n.store.Get("Memo Note", "N-01"); err != nil || rec.Doc["status"] != "Closed" || rec.Version != 2 {
		t.Fatalf("Get after the update = %+v, %v", rec, err)
	}
	checkInvariants(t, n, m)
}

// TestWaitForHonoursContext: WaitFor returns the context's error when it
// ends first, whether it was already over, is cancelled while waiting or
// times out; an applied sequence needs no wait.
func TestWaitForHonoursContext(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	seq := m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))
	n.waitFor(seq)
	far := seq + 1000

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.store.WaitFor(ctx, far); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with a cancelled context = %v, want context.Canceled", err)
	}
	if err := n.store.WaitFor(ctx, seq); err != nil {
		t.Errorf("WaitFor of an applied sequence with a cancelled context = %v, want nil", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- n.store.WaitFor(ctx, far) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor cancelled while waiting = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := n.store.WaitFor(ctx, far); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor past its deadline = %v, want context.DeadlineExceeded", err)
	}

	// With the projector stopped nothing advances; reopening restores the
	// applied sequence from the checkpoint.
	n.closeStore()
	n.open(n.dir)
	if n.store.Applied() != seq {
		t.Errorf("Applied() after reopening = %d, want %d", n.store.Applied(), seq)
	}
	if err := n.store.WaitFor(context.Background(), seq); err != nil {
		t.Errorf("WaitFor(%d) after reopening = %v", seq, err)
	}
}

// TestProjectorRunReturnsNilOnCancel: Run documents "It returns nil on
// cancellation", including a cancellation that comes before it has
// started reading.
func TestProjectorRunReturnsNilOnCancel(t *testing.T) {
	n := newNode(t)
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := projections.NewProjector(n.store, n.log, nil).Run(ctx); err != nil {
		t.Errorf("Run with a cancelled context = %v, want nil", err)
	}

	// Cancelled while idle, after catching up.
	n.start()
	n.waitFor(m.last)
	if err := n.stopErr(); err != nil {
		t.Errorf("Run cancelled while idle = %v, want nil", err)
	}
}

// rawWrite is a message on a document subject that the model did not
// build.
func rawWrite(doctype, name string, data []byte) eventlog.Write {
	return eventlog.Write{Subject: eventlog.DocSubject(doctype, name), ID: eventlog.NewID(), Data: data}
}

// TestProjectorSkipsInvalidEnvelopes: messages on docs.* that are not
// valid envelopes are counted by Failed and skipped; the events around
// them, in the same append and later, still apply, and a rebuild skips
// them the same way.
func TestProjectorSkipsInvalidEnvelopes(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	n.waitFor(m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType)))

	notMap, err := msgpack.Marshal("just a string")
	if err != nil {
		t.Fatal(err)
	}
	wrongTypes, err := msgpack.Marshal(map[string]any{"format": 1, "doctype": "Memo Note", "name": "bad-3", "version": "one", "doc": "not a map"})
	if err != nil {
		t.Fatal(err)
	}
	invalid := []eventlog.Write{
		rawWrite("Memo Note", "bad-1", []byte("this is not msgpack \xc1\xc1")),
		rawWrite("Memo Note", "bad-2", notMap),
		rawWrite("Memo Note", "bad-3", wrongTypes),
		rawWrite("Memo Note", "bad-4", nil),
	}
	m.appendRaw(n.log, invalid[0])
	n.waitFor(m.commit(n.log, m.insert("Memo Note", "ok-1", map[string]any{"status": "Open"})))
	m.appendRaw(n.log, invalid[1])
	m.appendRaw(n.log, invalid[2])
	m.appendRaw(n.log, invalid[3])

	// Invalid messages inside one atomic append with valid events.
	a := m.insert("Memo Note", "ok-2", map[string]any{"status": "Closed"})
	b := m.update("Memo Note", "ok-1", map[string]any{"status": "Closed"})
	bad := rawWrite("Memo Note", "bad-5", []byte{0xc1})
	ctx := context.Background()
	seqs, err := n.log.Append(ctx, a.w, bad, b.w)
	if err != nil {
		t.Fatal(err)
	}
	m.record(a, seqs[0])
	m.record(b, seqs[2])
	last := m.commit(n.log, m.insert("Memo Note", "ok-3", map[string]any{"status": "Open"}))
	n.waitFor(last)

	const wantFailed = 5
	if f := n.proj.Failed(); f != wantFailed {
		t.Errorf("Failed() = %d, want %d", f, wantFailed)
	}
	// Status tells health checks and metrics the same: every message of
	// the log but the bad ones applied, the latest bad one named.
	st := n.proj.Status()
	if !st.Running || st.Err != nil || st.Seq != last || st.Skipped != wantFailed || st.Applied != int64(last)-wantFailed {
		t.Errorf("Status() = %+v; want running, seq %d, %d applied, %d skipped", st, last, int64(last)-wantFailed, wantFailed)
	}
	if st.LastSkipped == nil || st.LastSkipped.Seq != seqs[1] || st.LastSkipped.Subject != eventlog.DocSubject("Memo Note", "bad-5") {
		t.Errorf("Status().LastSkipped = %+v; want seq %d of bad-5", st.LastSkipped, seqs[1])
	}
	checkInvariants(t, n, m)
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("bad-%d", i)
		if h, err := n.store.Head("Memo Note", name); err != nil || h.Seq != 0 || h.Version != 0 || h.Hash != nil || h.Deleted {
			t.Errorf("Head(%s) = %+v, %v; want nothing", name, h, err)
		}
	}
	want := dumpStore(t, n)

	// A rebuild meets the same messages and skips them the same way.
	n.closeStore()
	n.open(filepath.Join(t.TempDir(), "rebuilt"))
	n.start()
	n.waitFor(last)
	if f := n.proj.Failed(); f != wantFailed {
		t.Errorf("rebuild: Failed() = %d, want %d", f, wantFailed)
	}
	n.stop()
	if st := n.proj.Status(); st.Running || st.Err != nil || st.Seq != last {
		t.Errorf("Status() after stop = %+v; want stopped without an error at seq %d", st, last)
	}
	if got := dumpStore(t, n); got != want {
		t.Errorf("rebuild differs:\n%s", lineDiff(want, got))
	}
}

// TestProjectorSkipsEnvelopeOfAnotherSubject: an envelope names its
// document, and so does its subject (docs.<doctype>.<name>, DESIGN §3).
// An envelope for Memo Note "victim" published on the subject of
// "intruder" is not a valid event of either document: it bypassed the
// victim subject's optimistic concurrency and would put a sequence of
// another subject into the victim's version index. It must be skipped
// and counted.
func TestProjectorSkipsEnvelopeOfAnotherSubject(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))
	seq := m.commit(n.log, m.insert("Memo Note", "victim", map[string]any{"status": "Open"}))
	n.waitFor(seq)
	before, err := n.store.Get("Memo Note", "victim")
	if err != nil {
		t.Fatal(err)
	}
	ev := &eventlog.Event{
		Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Update,
		DocType: "Memo Note", Name: "victim", Version: 2,
		Doc:  map[string]any{"name": "victim", "status": "Closed", "docstatus": int64(0), "idx": int64(0)},
		User: testUser, Time: 1, Tx: eventlog.NewID(), PrevSeq: seq,
	}
	data, err := eventlog.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	last := m.appendRaw(n.log, rawWrite("Memo Note", "intruder", data))
	n.waitFor(last)
	if f := n.proj.Failed(); f != 1 {
		t.Errorf("Failed() = %d, want 1", f)
	}
	after, err := n.store.Get("Memo Note", "victim")
	if err != nil || after.Seq != before.Seq || after.Doc["status"] != "Open" {
		t.Errorf("victim after a foreign envelope on another subject: %+v, %v; want it unchanged at seq %d", after, err, before.Seq)
	}
	if s, err := n.store.VersionSeq("Memo Note", "victim", 2); err == nil {
		t.Errorf("version 2 of victim points at seq %d, a message of subject %s", s, eventlog.DocSubject("Memo Note", "intruder"))
	}
}

// TestInvalidDocTypeVersionSurvivesRestart: a DocType version the
// projector cannot parse is counted and skipped. Whatever the registry
// then holds, a restart on the same directory (and a rebuild) must give
// the same registry: the read model must not change its answers because
// the process restarted.
func TestInvalidDocTypeVersionSurvivesRestart(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))
	m.commit(n.log, m.insert("Memo Note", "N-1", map[string]any{"status": "Open"}))

	// Version 2 of the DocType has a field type nobody knows.
	st := m.docs[docKey{"DocType", "Memo Note"}]
	doc := deepCopy(st.doc).(map[string]any)
	doc["fields"] = append(doc["fields"].([]any), map[string]any{
		"name": "bogus-row", "fieldname": "mood", "fieldtype": "Bogus", "idx": int64(3),
		"parent": "Memo Note", "parentfield": "fields", "parenttype": "DocType",
	})
	p := m.event(eventlog.Update, "DocType", "Memo Note", doc)
	ctx := context.Background()
	seqs, err := n.log.Append(ctx, p.w)
	if err != nil {
		t.Fatal(err)
	}
	last := m.commit(n.log, m.insert("Memo Note", "N-2", map[string]any{"status": "Closed"}))
	if last != seqs[0]+1 {
		t.Fatalf("unexpected sequences %d, %d", seqs[0], last)
	}
	n.waitFor(last)
	if f := n.proj.Failed(); f != 1 {
		t.Errorf("Failed() = %d, want 1", f)
	}
	live := schemaSig(n.store.Registry().Get("Memo Note"))
	res, err := n.store.List(ctx, projections.Query{DocType: "Memo Note"})
	if err != nil || len(res.Rows) != 2 {
		t.Errorf("List before the restart = %v, %v; want 2 rows", res, err)
	}

	n.closeStore()
	n.open(n.dir)
	if got := schemaSig(n.store.Registry().Get("Memo Note")); got != live {
		t.Errorf("registry entry of Memo Note changed across a restart:\nbefore: %s\nafter:  %s", live, got)
	}
	if res, err := n.store.List(ctx, projections.Query{DocType: "Memo Note"}); err != nil || len(res.Rows) != 2 {
		t.Errorf("List after the restart = %v, %v; want the same 2 rows", res, err)
	}

	n.closeStore()
	n.open(filepath.Join(t.TempDir(), "rebuilt"))
	n.start()
	n.waitFor(last)
	if got := schemaSig(n.store.Registry().Get("Memo Note")); got != live {
		t.Errorf("registry entry of Memo Note after a rebuild:\nlive:    %s\nrebuilt: %s", live, got)
	}
}
