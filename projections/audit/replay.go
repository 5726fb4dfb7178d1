package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
)

// Filter selects the events [Replay] writes. The zero value selects every
// document event.
type Filter struct {
	// DocType and Name select documents; either may be empty.
	DocType, Name string
	// User selects the events a user made.
	User string
	// SinceSeq and UntilSeq bound the stream sequences (inclusive; 0:
	// unbounded).
	SinceSeq, UntilSeq eventlog.Seq
	// Since and Until bound the events' times (inclusive; zero:
	// unbounded).
	Since, Until time.Time
}

// Subjects returns the subject filter that reads only the selected
// documents' subjects.
func (f Filter) Subjects() []string {
	switch {
	case f.DocType != "" && f.Name != "":
		return []string{eventlog.DocSubject(f.DocType, f.Name)}
	case f.DocType != "":
		return []string{eventlog.DocTypeSubjects(f.DocType)}
	case f.Name != "":
		return []string{eventlog.DocsPrefix + "*." + eventlog.EscapeToken(f.Name)}
	}
	return []string{eventlog.DocsPrefix + ">"}
}

// selects reports whether the filter keeps an event; a message that does
// not decode is kept unless the filter asks for a user or a time, which
// it cannot tell.
func (f Filter) selects(ev *eventlog.Event) bool {
	if ev == nil {
		return f.User == "" && f.Since.IsZero() && f.Until.IsZero()
	}
	switch {
	case f.User != "" && ev.User != f.User:
		return false
	case !f.Since.IsZero() && ev.Time < f.Since.UnixMicro():
		return false
	case !f.Until.IsZero() && ev.Time > f.Until.UnixMicro():
		return false
	}
	return true
}

// Replay writes the document events the filter selects to w, one JSON
// object a line, in stream order, and returns how many it wrote. Each
// line holds the stream sequence ("seq"), the subject, then the envelope
// as stored (docs/events.md), with bytes (the chain hash "prev") in hex.
// A message whose envelope does not decode is written with "error" and
// its body in hex ("data").
func Replay(ctx context.Context, lg *eventlog.Log, f Filter, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	n := 0
	err := lg.Scan(ctx, eventlog.ScanOptions{From: f.SinceSeq, To: f.UntilSeq, Subjects: f.Subjects()}, func(m *eventlog.Msg) error {
		ev, err := eventlog.DecodeEvent(m.Data)
		if err != nil {
			ev = nil
		}
		if !f.selects(ev) {
			return nil
		}
		n++
		_, werr := bw.Write(EventJSON(m))
		return werr
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// EventJSON renders one message as a line of Replay's output, newline
// included.
func EventJSON(m *eventlog.Msg) []byte {
	var b bytes.Buffer
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.FormatUint(uint64(m.Seq), 10))
	b.WriteString(`,"subject":`)
	writeJSON(&b, m.Subject)
	// Not eventlog.Unmarshal: its loose decoding reads bytes as text.
	var env map[string]any
	if err := msgpack.NewDecoder(bytes.NewReader(m.Data)).Decode(&env); err != nil {
		b.WriteString(`,"error":`)
		writeJSON(&b, err.Error())
		b.WriteString(`,"data":`)
		writeJSON(&b, hex.EncodeToString(m.Data))
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		b.WriteByte(',')
		writeJSON(&b, k)
		b.WriteByte(':')
		writeJSON(&b, plain(env[k]))
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(b, "%q", fmt.Sprint(v))
		return
	}
	b.Truncate(b.Len() - 1) // Encode's newline
}

// plain turns a decoded msgpack value into one JSON can hold: bytes as
// hex, non-finite floats as text, maps with other than string keys with
// their keys as text.
func plain(v any) any {
	switch x := v.(type) {
	case []byte:
		return hex.EncodeToString(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case float32:
		return plain(float64(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = plain(e)
		}
		return out
	}
	return v
}

// ParseTime reads a time as RFC 3339 ("2026-03-01T09:30:00Z") or as
// Frappe writes one ("2026-03-01 09:30:00", with or without a fraction,
// or a date alone) in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("audit: time %q: want RFC 3339 or YYYY-MM-DD HH:MM:SS", s)
}
