package projections

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
)

// eventSamples are envelopes of every shape the log holds.
func eventSamples(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for i, rec := range recordSamples() {
		ev := &eventlog.Event{Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Update, DocType: "Note",
			Name: fmt.Sprint("n", i), Version: uint64(i + 1), Doc: rec.Doc, User: "a@example.com",
			Time: int64(i) * 1e15, Tx: eventlog.NewID(), Prev: rec.Hash, PrevSeq: rec.Seq,
			Changed: []eventlog.Change{{Field: "x", Old: nil, New: rec.Doc}, {Field: "y", Old: int64(-5), New: []any{1.5, "a", map[string]any{}}}}}
		if i%3 == 1 {
			ev.Type, ev.RenamedFrom, ev.RenamedTo, ev.Changed = eventlog.Rename, "old", "new", nil
		}
		if rec.Doc == nil {
			ev.Type = eventlog.Delete
		}
		b, err := eventlog.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	huge, err := eventlog.Marshal(&eventlog.Event{Format: 1, Type: eventlog.Insert, DocType: "Note", Name: "h", Version: 1,
		Doc: map[string]any{"u": uint64(math.MaxUint64), "n": uint64(7)}, Time: -3})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, huge)
}

// TestDecodeEventFast: the fast decoder reads every sample as eventlog's
// decoder does.
func TestDecodeEventFast(t *testing.T) {
	for i, b := range eventSamples(t) {
		fast, err := decodeEventFast(b)
		if err != nil {
			t.Fatalf("sample %d: the fast path refused an event: %v", i, err)
		}
		slow, err := decodeEventSlow(b)
		if err != nil {
			t.Fatal(err)
		}
		if d := eventDiff(fast, slow); d != "" {
			t.Fatalf("sample %d: %s", i, d)
		}
	}
}

// decodeEventSlow is what decodeEvent falls back to.
func decodeEventSlow(b []byte) (*eventlog.Event, error) {
	ev, err := eventlog.DecodeEvent(b)
	if err != nil {
		return nil, err
	}
	ev.Changed = nil
	return ev, nil
}

func eventDiff(a, b *eventlog.Event) string {
	ad, bd := a.Doc, b.Doc
	ac, bc := *a, *b
	ac.Doc, bc.Doc = nil, nil
	if !reflect.DeepEqual(ac, bc) {
		return fmt.Sprintf("envelopes differ: %+v vs %+v", ac, bc)
	}
	if (ad == nil) != (bd == nil) || !sameDecoded(ad, bd) {
		return fmt.Sprintf("documents differ: %.200v vs %.200v", ad, bd)
	}
	return ""
}

// FuzzDecodeEvent: whatever the bytes, the fast decoder either defers to
// eventlog's decoder or agrees with it.
func FuzzDecodeEvent(f *testing.F) {
	small := map[string]any{"name": "x", "n": int64(-3), "f": 1.5, "t": true, "nil": nil,
		"rows": []any{map[string]any{"a": "b", "i": int64(300)}}}
	for _, ev := range []*eventlog.Event{
		{Format: 1, ID: "01J", Type: eventlog.Update, DocType: "Note", Name: "a", Version: 2, Doc: small,
			Changed: []eventlog.Change{{Field: "n", Old: int64(1), New: int64(-3)}}, User: "u", Time: 5, Prev: []byte{1}, PrevSeq: 3},
		{Format: 1, Type: eventlog.Delete, DocType: "Note", Name: "a", Version: 3, RenamedTo: "b"},
	} {
		b, err := eventlog.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, err := decodeEventFast(b)
		if err != nil {
			return
		}
		slow, err := decodeEventSlow(b)
		if err != nil {
			t.Fatalf("fast decoded what eventlog refuses (%v): %+v", err, fast)
		}
		if d := eventDiff(fast, slow); d != "" {
			t.Fatal(d)
		}
	})
}

// TestDecodeEventEdges: an empty prev reads as an empty slice, as msgpack
// reads it; a changed list msgpack refuses is refused (the projector then
// skips the event, as it did when it decoded changed), one of the
// canonical shape is passed over.
func TestDecodeEventEdges(t *testing.T) {
	// {"format": 1, "prev": bin8 of 0 bytes}
	b := []byte{0x82, 0xa6, 'f', 'o', 'r', 'm', 'a', 't', 0x01, 0xa4, 'p', 'r', 'e', 'v', 0xc4, 0x00}
	ev, err := decodeEvent(b)
	if err != nil || ev.Prev == nil || len(ev.Prev) != 0 {
		t.Fatalf("empty prev: %#v, %v", ev, err)
	}
	base := map[string]any{"format": 1, "id": "x", "type": "insert", "doctype": "Note", "name": "a",
		"version": 1, "doc": map[string]any{"name": "a"}, "user": "u", "time": 1, "tx": "t"}
	for _, bad := range []any{5, []any{5}, []any{map[string]any{"Field": 5}}, "x"} {
		base["changed"] = bad
		data, err := msgpack.Marshal(base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eventlog.DecodeEvent(data); err == nil {
			t.Fatalf("changed %#v: eventlog accepts it; pick another bad shape", bad)
		}
		if ev, err := decodeEvent(data); err == nil {
			t.Errorf("changed %#v: decoded %+v, want the error eventlog gives", bad, ev)
		}
	}
	for _, good := range []any{nil, []any{}, []any{map[string]any{"Field": "a", "Old": nil, "New": []any{1.5, "x"}, "Extra": true}, map[string]any{"Field": nil}}} {
		base["changed"] = good
		data, err := msgpack.Marshal(base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeEventFast(data); err != nil {
			t.Errorf("changed %#v: the fast path refused it: %v", good, err)
		}
		if _, err := eventlog.DecodeEvent(data); err != nil {
			t.Errorf("changed %#v: eventlog refuses it: %v", good, err)
		}
	}
}

// TestMalformedChangedIsSkipped: the projector skips an event whose
// changed list does not decode, as every other reader of the log refuses
// it, although the projector does not use that list.
func TestMalformedChangedIsSkipped(t *testing.T) {
	env := map[string]any{"format": 1, "id": "x", "type": "insert", "doctype": "Note", "name": "a",
		"version": 1, "doc": map[string]any{"name": "a"}, "user": "u", "time": 1, "tx": "t", "changed": 5}
	data, err := msgpack.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.TempDir(), Options{CacheSize: 1 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	skipped, err := s.Apply([]*eventlog.Msg{{Seq: 1, Subject: eventlog.DocSubject("Note", "a"), Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 {
		rec, _ := s.Get("Note", "a")
		t.Fatalf("skipped %d events; the document reads %+v", len(skipped), rec)
	}
}
