package audit_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
	"docket/projections"
	"docket/projections/audit"
)

// t0 is the time of the first event a fixture writes; each next one is a
// minute later.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fixture is a real embedded JetStream with a log, written to as docket
// writes (chained versions) or forged (raw publishes).
type fixture struct {
	t     *testing.T
	lg    *eventlog.Log
	ctx   context.Context
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &fixture{t: t, lg: eventlogtest.Start(t, "").Log, ctx: ctx, clock: t0}
}

func (f *fixture) log() *eventlog.Log { return f.lg }

// event builds the next version of a document on top of its subject's
// head.
func (f *fixture) event(typ eventlog.Type, user, doctype, name string, doc map[string]any) (*eventlog.Event, eventlog.Seq) {
	f.t.Helper()
	ev := &eventlog.Event{Format: eventlog.Format, ID: eventlog.NewID(), Type: typ, DocType: doctype, Name: name,
		Version: 1, Doc: doc, User: user, Time: f.clock.UnixMicro(), Tx: eventlog.NewID()}
	f.clock = f.clock.Add(time.Minute)
	h, err := f.log().Head(f.ctx, eventlog.DocSubject(doctype, name))
	if err == nil {
		prev, err := eventlog.DecodeEvent(h.Data)
		if err != nil {
			f.t.Fatal(err)
		}
		ev.Version, ev.Prev, ev.PrevSeq = prev.Version+1, eventlog.Hash(h.Data), h.Seq
	}
	return ev, ev.PrevSeq
}

// write appends the next version of a document as docket does.
func (f *fixture) write(typ eventlog.Type, user, doctype, name string, doc map[string]any) eventlog.Seq {
	f.t.Helper()
	ev, expect := f.event(typ, user, doctype, name, doc)
	w, err := eventlog.EventWrite(ev, expect)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.append(w)
}

func (f *fixture) append(w eventlog.Write) eventlog.Seq {
	f.t.Helper()
	seqs, err := f.log().Append(f.ctx, w)
	if err != nil {
		f.t.Fatal(err)
	}
	return seqs[0]
}

// forge publishes a body straight into the stream, as someone with
// write access to NATS could, past docket's writer.
func (f *fixture) forge(subject string, data []byte) eventlog.Seq {
	f.t.Helper()
	ack, err := f.log().JetStream().PublishMsg(f.ctx, &nats.Msg{Subject: subject, Data: data})
	if err != nil {
		f.t.Fatal(err)
	}
	return eventlog.Seq(ack.Sequence)
}

func (f *fixture) forgeEvent(ev *eventlog.Event) eventlog.Seq {
	f.t.Helper()
	data, err := eventlog.Marshal(ev)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.forge(eventlog.DocSubject(ev.DocType, ev.Name), data)
}

// project runs a projector over the whole log into a store in dir, then
// closes the store.
func (f *fixture) project(dir string) {
	f.t.Helper()
	s, err := projections.Open(dir, projections.Options{CacheSize: 4 << 20, MemTableSize: 2 << 20})
	if err != nil {
		f.t.Fatal(err)
	}
	defer s.Close()
	last, err := f.log().LastSeq(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- projections.NewProjector(s, f.log(), nil).Run(ctx) }()
	if err := s.WaitFor(f.ctx, last); err != nil {
		f.t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		f.t.Fatal(err)
	}
}

// openLive opens a closed store read-only until the test ends.
func openLive(t *testing.T, dir string) *projections.Store {
	t.Helper()
	s, err := projections.Open(dir, projections.Options{ReadOnly: true, CacheSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// history writes a small history: documents inserted, updated, submitted,
// deleted and inserted again, a claim and a counter.
func (f *fixture) history() {
	f.t.Helper()
	f.write(eventlog.Insert, "Administrator", "ToDo", "a", map[string]any{"name": "a", "description": "one"})
	f.write(eventlog.Insert, "jane@example.com", "Sales Invoice", "SINV-0001", map[string]any{"name": "SINV-0001", "total": 12.5})
	f.write(eventlog.Update, "Administrator", "ToDo", "a", map[string]any{"name": "a", "description": "two"})
	f.write(eventlog.Insert, "jane@example.com", "ToDo", "b", map[string]any{"name": "b", "description": "bee"})
	cl := &eventlog.Claim{Format: eventlog.Format, ID: eventlog.NewID(), DocType: "Sales Invoice", Field: "name", Value: "sinv-0001", Name: "SINV-0001", Tx: eventlog.NewID()}
	w, err := eventlog.ClaimWrite(cl, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	f.append(w)
	ct := &eventlog.Counter{Format: eventlog.Format, ID: eventlog.NewID(), Key: "SINV-", Current: 1, Tx: eventlog.NewID()}
	if w, err = eventlog.CounterWrite(ct, 0); err != nil {
		f.t.Fatal(err)
	}
	f.append(w)
	f.write(eventlog.Submit, "jane@example.com", "Sales Invoice", "SINV-0001", map[string]any{"name": "SINV-0001", "total": 12.5, "docstatus": int64(1)})
	f.write(eventlog.Delete, "Administrator", "ToDo", "b", nil)
	f.write(eventlog.Insert, "Administrator", "ToDo", "b", map[string]any{"name": "b", "description": "bee again"})
}

func reportText(t *testing.T, r *audit.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func storeDir(t *testing.T) string { return filepath.Join(t.TempDir(), "pebble") }

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
