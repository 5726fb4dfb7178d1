package api

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"docket/eventlog"
	"docket/methods"
	"docket/projections/meta"
)

// eventTime is how history and change feeds write an event's time:
// RFC 3339 in UTC with microseconds, unambiguous across time zones.
const eventTime = "2006-01-02T15:04:05.000000Z07:00"

// eventObject writes one version of a document as history and change
// feeds show it: the event's metadata, the changed fields and the
// document after the change (null after a delete), values as the
// resource endpoints write them.
func (s *Server) eventObject(d *meta.DocType, seq eventlog.Seq, hash []byte, ev *eventlog.Event) *Object {
	o := NewObject().
		Set("seq", uint64(seq)).
		Set("version", ev.Version).
		Set("type", string(ev.Type)).
		Set("doctype", ev.DocType).
		Set("name", ev.Name).
		Set("user", ev.User).
		Set("time", ev.Timestamp().Format(eventTime)).
		Set("tx", ev.Tx).
		Set("id", ev.ID).
		Set("hash", hex.EncodeToString(hash))
	if len(ev.Prev) > 0 {
		o.Set("prev", hex.EncodeToString(ev.Prev)).Set("prev_seq", uint64(ev.PrevSeq))
	}
	if ev.RenamedFrom != "" {
		o.Set("renamed_from", ev.RenamedFrom)
	}
	if ev.RenamedTo != "" {
		o.Set("renamed_to", ev.RenamedTo)
	}
	changed := make([]any, 0, len(ev.Changed))
	for _, c := range ev.Changed {
		ft, _ := d.FieldType(c.Field)
		changed = append(changed, []any{c.Field, meta.FormatValue(ft, c.Old), meta.FormatValue(ft, c.New)})
	}
	o.Set("changed", changed)
	if ev.Doc == nil {
		o.Set("doc", nil)
	} else {
		o.Set("doc", s.renderDoc(d, ev.Doc, false))
	}
	return o
}

// documentVersions serves GET /api/v2/document/{doctype}/{name}/versions:
// every version of the document, oldest first.
func (s *Server) documentVersions(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := r.PathValue("doctype"), r.PathValue("name")
	d, err := s.docs.Meta(doctype)
	if err != nil {
		return err
	}
	vs, err := s.docs.Reader(c.id.User).History(r.Context(), doctype, name)
	if err != nil {
		return err
	}
	out := make([]*Object, len(vs))
	for i, v := range vs {
		out[i] = s.eventObject(d, v.Seq, v.Hash, v.Event)
	}
	s.respond(w, c, http.StatusOK, "data", out)
	return nil
}

// documentProvenance serves GET
// /api/v2/document/{doctype}/{name}/provenance: for each field of the
// current version, the version that set its value.
func (s *Server) documentProvenance(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := r.PathValue("doctype"), r.PathValue("name")
	src, err := s.docs.Reader(c.id.User).Provenance(r.Context(), doctype, name)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for f, v := range src {
		out[f] = NewObject().
			Set("version", v.Version).
			Set("seq", uint64(v.Seq)).
			Set("type", string(v.Type)).
			Set("user", v.User).
			Set("time", v.Time.Format(eventTime))
	}
	s.respond(w, c, http.StatusOK, "data", out)
	return nil
}

// asOf reads the as_of_version, as_of_seq and as_of arguments of a
// document read; ok is false when none is given.
func (s *Server) asOf(args map[string]any) (at methods.AsOf, ok bool, err error) {
	if v := methods.StringArg(args, "as_of_version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return at, false, errorf("ValidationError", "as_of_version must be a version number (1, 2, …), not %q", v)
		}
		return methods.AsOf{Version: n}, true, nil
	}
	if v := methods.StringArg(args, "as_of_seq"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return at, false, errorf("ValidationError", "as_of_seq must be a stream sequence (1, 2, …), not %q", v)
		}
		return methods.AsOf{Seq: eventlog.Seq(n)}, true, nil
	}
	if v := methods.StringArg(args, "as_of"); v != "" {
		t, err := parseTime(v, s.docs.Location())
		if err != nil {
			return at, false, errorf("ValidationError", "as_of must be a date and time (2026-11-28 10:00:00, or RFC 3339), not %q", v)
		}
		return methods.AsOf{Time: t}, true, nil
	}
	return at, false, nil
}

// parseTime reads a time as RFC 3339 or as Frappe writes datetimes
// (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]], in the site's time zone).
func parseTime(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	var err error
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", "2006-01-02 15:04", "2006-01-02"} {
		var t time.Time
		if t, err = time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
