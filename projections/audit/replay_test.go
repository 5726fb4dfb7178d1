package audit_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"docket/eventlog"
	"docket/projections/audit"
)

// replayed runs Replay and returns the sequences of the lines.
func replayed(t *testing.T, f *fixture, flt audit.Filter) ([]eventlog.Seq, []string) {
	t.Helper()
	var b bytes.Buffer
	n, err := audit.Replay(f.ctx, f.log(), flt, &b)
	if err != nil {
		t.Fatalf("replay %+v: %v", flt, err)
	}
	var seqs []eventlog.Seq
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var v struct{ Seq eventlog.Seq }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		seqs, out = append(seqs, v.Seq), append(out, line)
	}
	if n != len(seqs) {
		t.Fatalf("replay %+v says %d events, wrote %d", flt, n, len(seqs))
	}
	return seqs, out
}

// TestReplayFilters: each filter returns exactly the events it names.
func TestReplayFilters(t *testing.T) {
	f := newFixture(t)
	f.history()                                              // 1…9, claims at 5 and 6
	garbage := f.forge("docs.Note.x", []byte("not msgpack")) // 10
	minute := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	for _, c := range []struct {
		name string
		f    audit.Filter
		want []eventlog.Seq
	}{
		{"all", audit.Filter{}, []eventlog.Seq{1, 2, 3, 4, 7, 8, 9, garbage}},
		{"doctype", audit.Filter{DocType: "ToDo"}, []eventlog.Seq{1, 3, 4, 8, 9}},
		{"document", audit.Filter{DocType: "ToDo", Name: "b"}, []eventlog.Seq{4, 8, 9}},
		{"name alone", audit.Filter{Name: "SINV-0001"}, []eventlog.Seq{2, 7}},
		{"user", audit.Filter{User: "jane@example.com"}, []eventlog.Seq{2, 4, 7}},
		{"doctype and user", audit.Filter{DocType: "ToDo", User: "jane@example.com"}, []eventlog.Seq{4}},
		{"sequences", audit.Filter{SinceSeq: 3, UntilSeq: 8}, []eventlog.Seq{3, 4, 7, 8}},
		{"times", audit.Filter{Since: minute(2), Until: minute(5)}, []eventlog.Seq{3, 4, 7, 8}},
		{"since only", audit.Filter{DocType: "ToDo", Since: minute(5)}, []eventlog.Seq{8, 9}},
		{"unknown doctype", audit.Filter{DocType: "User"}, nil},
		{"garbage by doctype", audit.Filter{DocType: "Note"}, []eventlog.Seq{garbage}},
		{"beyond the end", audit.Filter{SinceSeq: 11}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, _ := replayed(t, f, c.f); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}

	// One line in full: sequence and subject first, then the envelope.
	_, out := replayed(t, f, audit.Filter{DocType: "ToDo", Name: "a", SinceSeq: 2})
	first, _ := f.log().Get(f.ctx, 1)
	if !strings.HasPrefix(out[0], `{"seq":3,"subject":"docs.ToDo.a","doc":{"description":"two","name":"a"},"doctype":"ToDo","format":1,"id":"`) {
		t.Fatalf("line %s", out[0])
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(out[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line["prev"] != hex.EncodeToString(eventlog.Hash(first.Data)) || line["prev_seq"] != 1.0 || line["version"] != 2.0 ||
		line["time"] != float64(minute(2).UnixMicro()) || line["type"] != "update" || line["user"] != "Administrator" {
		t.Fatalf("line %v", line)
	}
	_, out = replayed(t, f, audit.Filter{SinceSeq: garbage})
	if want := `{"seq":10,"subject":"docs.Note.x","error":"msgpack: unexpected code=6e decoding map length","data":"` + hex.EncodeToString([]byte("not msgpack")) + `"}`; out[0] != want {
		t.Fatalf("garbage line %s\nwant %s", out[0], want)
	}
}

func TestParseTime(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for in, want := range map[string]time.Time{
		"2026-03-01T09:30:00Z":       time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
		"2026-03-01T09:30:00+01:00":  time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC),
		"2026-03-01 09:30:00":        time.Date(2026, 3, 1, 9, 30, 0, 0, berlin),
		"2026-03-01 09:30:00.250000": time.Date(2026, 3, 1, 9, 30, 0, 250e6, berlin),
		"2026-03-01 09:30":           time.Date(2026, 3, 1, 9, 30, 0, 0, berlin),
		"2026-03-01":                 time.Date(2026, 3, 1, 0, 0, 0, 0, berlin),
	} {
		got, err := audit.ParseTime(in, berlin)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := audit.ParseTime("yesterday", berlin); err == nil {
		t.Error("ParseTime accepted yesterday")
	}
}
