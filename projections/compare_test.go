package projections_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/keys"
	"docket/projections/projectionstest"
)

// freshStore opens an empty store that closes when the test ends.
func freshStore(t *testing.T) *projections.Store {
	t.Helper()
	s, err := projections.Open(filepath.Join(t.TempDir(), "rebuilt"), projections.Options{CacheSize: 4 << 20, MemTableSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rebuildWithApply replays the log through Store.Apply in chunks of
// chunk messages into a fresh store.
func rebuildWithApply(t *testing.T, n *node, chunk int) *projections.Store {
	t.Helper()
	s := freshStore(t)
	var msgs []*eventlog.Msg
	flush := func() {
		skipped, err := s.Apply(msgs)
		if err != nil || len(skipped) > 0 {
			t.Fatalf("apply: %v, skipped %v", err, skipped)
		}
		msgs = msgs[:0]
	}
	err := n.log.Scan(context.Background(), eventlog.ScanOptions{}, func(m *eventlog.Msg) error {
		if msgs = append(msgs, m); len(msgs) == chunk {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
	return s
}

func differences(t *testing.T, a, b *projections.Store) []string {
	t.Helper()
	var out []string
	err := projections.Compare(a, b, func(d projections.Difference) error {
		out = append(out, d.Describe("live", "rebuilt"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompareAndDigest: a store rebuilt with Apply (in odd chunks) equals
// the projector's key for key and digest for digest; then keys changed in
// the rebuilt store are each reported, readably, and only the digest
// parts that hold them differ.
func TestCompareAndDigest(t *testing.T) {
	r := runLive(t, filepath.Join("testdata", "projector", "basic.txt"), nil)
	live := r.n.store
	rebuilt := rebuildWithApply(t, r.n, 7)
	if d := differences(t, live, rebuilt); len(d) > 0 {
		t.Fatalf("rebuild differs:\n%s", strings.Join(d, "\n"))
	}
	dl, err := live.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dr, err := rebuilt.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dl, dr) {
		t.Fatalf("digests differ:\n%+v\n%+v", dl, dr)
	}
	if dl.Checkpoint != r.m.last || dl.Keys == 0 || len(dl.Parts) < 5 {
		t.Fatalf("digest %+v (last seq %d)", dl, r.m.last)
	}
	var sum int64
	for _, p := range dl.Parts {
		sum += p.Keys
	}
	if sum != dl.Keys {
		t.Fatalf("parts hold %d keys, the digest %d", sum, dl.Keys)
	}

	// Change the rebuilt store: a document's field, a counter, an index
	// entry removed, one added.
	db := projections.DBForTest(rebuilt)
	projectionstest.SetField(t, db, "Task", "T-5", "subject", "forged")
	ck := keys.AppendString([]byte{'c'}, "Task")
	ik := keys.AppendString(keys.AppendString(keys.AppendString(keys.AppendString([]byte{'i'}, "Task"), "status"), "bogus"), "T-9")
	var count [8]byte
	binary.BigEndian.PutUint64(count[:], 99)
	if err := db.Set(ck, count[:], nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Set(ik, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := differences(t, live, rebuilt)
	want := []string{
		`count of Task: live 4, rebuilt 99`,
		`document Task "T-5": field subject: live "Batched B", rebuilt "forged"`,
		`index entry Task.status = "bogus" of "T-9": only in rebuilt`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	dr, err = rebuilt.Digest()
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, p := range dr.Parts {
		i := slices.IndexFunc(dl.Parts, func(q projections.DigestPart) bool { return q.Kind == p.Kind && q.DocType == p.DocType })
		if i < 0 || dl.Parts[i] != p {
			changed = append(changed, p.Kind+" "+p.DocType)
		}
	}
	if want := []string{"counts Task", "documents Task", "index entries Task"}; !slices.Equal(changed, want) || dr.SHA256 == dl.SHA256 {
		t.Fatalf("changed parts %q, want %q", changed, want)
	}
}

// TestOpenReadOnly reads a closed store without writing it, and cannot
// open a store another holds.
func TestOpenReadOnly(t *testing.T) {
	r := runLive(t, filepath.Join("testdata", "projector", "basic.txt"), nil)
	n := r.n
	before := dumpStore(t, n)
	dir := n.dir
	if _, err := projections.Open(dir, projections.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a store in use succeeded")
	}
	n.closeStore()
	ro, err := projections.Open(dir, projections.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := ro.Checkpoint(); err != nil || cp != r.m.last {
		t.Fatalf("checkpoint %d, %v; want %d", cp, err, r.m.last)
	}
	if _, err := ro.Apply([]*eventlog.Msg{{Seq: r.m.last + 1, Subject: "series.X"}}); err == nil {
		t.Fatal("a read-only store took a write")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	n.open(dir)
	if got := dumpStore(t, n); got != before {
		t.Fatalf("store changed:\n%s", lineDiff(before, got))
	}
	if _, err := projections.Open(filepath.Join(t.TempDir(), "none"), projections.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of no store succeeded")
	}
}

// TestApplySkipsWhatTheProjectorSkips: an undecodable event and one on
// another document's subject are skipped and named; the rest applies.
func TestApplySkipsWhatTheProjectorSkips(t *testing.T) {
	n := newNode(t)
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))
	m.commit(n.log, m.insert("Memo Note", "N-1", map[string]any{"status": "Open"}))
	garbage := m.appendRaw(n.log, eventlog.Write{Subject: eventlog.DocSubject("Memo Note", "N-2"), ID: "x", Data: []byte{0xc1}})
	p := m.insert("Memo Note", "N-3", map[string]any{"status": "Open"})
	p.w.Subject = eventlog.DocSubject("Memo Note", "N-4")
	wrong := m.appendRaw(n.log, p.w)
	s := rebuildSkipping(t, n, []eventlog.Seq{garbage, wrong})
	if cp, _ := s.Checkpoint(); cp != wrong {
		t.Fatalf("checkpoint %d, want %d", cp, wrong)
	}
	if ok, _ := s.Exists("Memo Note", "N-1"); !ok {
		t.Fatal("N-1 missing")
	}
}

func rebuildSkipping(t *testing.T, n *node, want []eventlog.Seq) *projections.Store {
	t.Helper()
	s := freshStore(t)
	var msgs []*eventlog.Msg
	if err := n.log.Scan(context.Background(), eventlog.ScanOptions{}, func(m *eventlog.Msg) error {
		msgs = append(msgs, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	skipped, err := s.Apply(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != len(want) {
		t.Fatalf("skipped %v, want seqs %v", skipped, want)
	}
	for i, e := range skipped {
		if !strings.Contains(e.Error(), fmt.Sprintf("seq %d:", want[i])) {
			t.Errorf("skipped[%d] = %v, want seq %d", i, e, want[i])
		}
	}
	return s
}
