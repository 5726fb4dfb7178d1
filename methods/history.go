package methods

import (
	"context"
	"errors"
	"fmt"
	"time"

	"docket/eventlog"
	"docket/projections/meta"
)

// Version is one version of a document as its history shows it: the
// event and where it sits in the log.
type Version struct {
	Seq eventlog.Seq
	// Hash is the SHA-256 of the event's message body: the next version's
	// prev names it.
	Hash  []byte
	Event *eventlog.Event
}

// AsOf selects a point in a document's history: a version, a stream
// sequence or a time (the first one set counts).
type AsOf struct {
	Version uint64
	Seq     eventlog.Seq
	Time    time.Time
}

// FieldSource is the version that set a field's current value.
type FieldSource struct {
	Version uint64
	Seq     eventlog.Seq
	Type    eventlog.Type
	User    string
	Time    time.Time
}

// errStop ends a walk over a subject early.
var errStop = errors.New("stop")

// versions reads every version of a document from the log, oldest first.
func (tx *Tx) versions(ctx context.Context, d *meta.DocType, name string) ([]Version, error) {
	name, err := tx.resolveName(ctx, d, name)
	if err != nil {
		return nil, err
	}
	var out []Version
	err = tx.docs.log.SubjectMsgs(ctx, eventlog.DocSubject(d.Name, name), func(m *eventlog.Msg) error {
		ev, err := eventlog.DecodeEvent(m.Data)
		if err != nil {
			return fmt.Errorf("event at seq %d: %w", m.Seq, err)
		}
		out = append(out, Version{Seq: m.Seq, Hash: eventlog.Hash(m.Data), Event: ev})
		return nil
	})
	if errors.Is(err, eventlog.ErrNotFound) || err == nil && len(out) == 0 {
		return nil, NotFound(d.Name, name)
	}
	return out, err
}

// lastDoc is the last version of a history that held the document: what
// its readers are judged by once it is deleted.
func lastDoc(vs []Version) map[string]any {
	for i := len(vs) - 1; i >= 0; i-- {
		if doc := vs[i].Event.Doc; doc != nil {
			return doc
		}
	}
	return nil
}

// History returns every version of a document, oldest first, if the user
// may read it (as it is now, or as it last was when deleted): each with
// the document after the change and the changed fields, both without the
// fields of levels the user does not read.
func (tx *Tx) History(ctx context.Context, doctype, name string) ([]Version, error) {
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, err
	}
	if d.IsTable || d.IsSingle {
		return nil, newError(ValidationError, "%s has no per-document history: read its parent's", doctype)
	}
	vs, err := tx.versions(ctx, d, name)
	if err != nil {
		return nil, err
	}
	if err := tx.can(ctx, d, PermRead, lastDoc(vs)); err != nil {
		return nil, err
	}
	for i := range vs {
		ev := *vs[i].Event
		if ev.Doc, err = tx.hideFields(ctx, d, ev.Doc); err != nil {
			return nil, err
		}
		if ev.Changed, err = tx.hideChanges(ctx, d, ev.Changed); err != nil {
			return nil, err
		}
		vs[i].Event = &ev
	}
	return vs, nil
}

// hideChanges drops the changes of fields the user does not read.
func (tx *Tx) hideChanges(ctx context.Context, d *meta.DocType, changes []eventlog.Change) ([]eventlog.Change, error) {
	if tx.skipChecks() || len(changes) == 0 {
		return changes, nil
	}
	olds, news := map[string]any{}, map[string]any{}
	for _, c := range changes {
		olds[c.Field], news[c.Field] = c.Old, c.New
	}
	olds, err := tx.hideFields(ctx, d, olds)
	if err != nil {
		return nil, err
	}
	news, err = tx.hideFields(ctx, d, news)
	if err != nil {
		return nil, err
	}
	out := make([]eventlog.Change, 0, len(changes))
	for _, c := range changes {
		if _, ok := olds[c.Field]; ok {
			out = append(out, eventlog.Change{Field: c.Field, Old: olds[c.Field], New: news[c.Field]})
		}
	}
	return out, nil
}

// GetAsOf returns a document as it was at a point of its history, if the
// user may read it as it was then, with the version that was current.
func (tx *Tx) GetAsOf(ctx context.Context, doctype, name string, at AsOf) (map[string]any, *Version, error) {
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, nil, err
	}
	if d.IsTable || d.IsSingle {
		return nil, nil, newError(ValidationError, "%s has no per-document history: read its parent's", doctype)
	}
	name, err = tx.resolveName(ctx, d, name)
	if err != nil {
		return nil, nil, err
	}
	var found *Version
	err = tx.docs.log.SubjectMsgs(ctx, eventlog.DocSubject(d.Name, name), func(m *eventlog.Msg) error {
		ev, err := eventlog.DecodeEvent(m.Data)
		if err != nil {
			return fmt.Errorf("event at seq %d: %w", m.Seq, err)
		}
		switch {
		case at.Version > 0 && ev.Version > at.Version,
			at.Version == 0 && at.Seq > 0 && m.Seq > at.Seq,
			at.Version == 0 && at.Seq == 0 && ev.Timestamp().After(at.Time):
			return errStop
		}
		found = &Version{Seq: m.Seq, Hash: eventlog.Hash(m.Data), Event: ev}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) && !errors.Is(err, eventlog.ErrNotFound) {
		return nil, nil, err
	}
	if found == nil || found.Event.Doc == nil || at.Version > 0 && found.Event.Version != at.Version {
		return nil, nil, &Error{Exc: DoesNotExistError, Title: "Not Found",
			Msg: fmt.Sprintf("%s %s did not exist at %s", doctype, name, at)}
	}
	if err := tx.can(ctx, d, PermRead, found.Event.Doc); err != nil {
		return nil, nil, err
	}
	doc, err := tx.hideFields(ctx, d, found.Event.Doc)
	return doc, found, err
}

// String describes the point for messages.
func (at AsOf) String() string {
	switch {
	case at.Version > 0:
		return fmt.Sprintf("version %d", at.Version)
	case at.Seq > 0:
		return fmt.Sprintf("sequence %d", at.Seq)
	}
	return at.Time.UTC().Format(time.RFC3339Nano)
}

// Provenance returns, for each field of a document's current version the
// user may read, the version that set its value: the version that last
// changed it, or the one that (re)created the document.
func (tx *Tx) Provenance(ctx context.Context, doctype, name string) (map[string]FieldSource, error) {
	vs, err := tx.History(ctx, doctype, name)
	if err != nil {
		return nil, err
	}
	cur := vs[len(vs)-1].Event
	if cur.Doc == nil {
		return nil, NotFound(doctype, name)
	}
	src := map[string]FieldSource{}
	for i, v := range vs {
		ev := v.Event
		s := FieldSource{Version: ev.Version, Seq: v.Seq, Type: ev.Type, User: ev.User, Time: ev.Timestamp()}
		if ev.Doc == nil {
			continue
		}
		if i == 0 || vs[i-1].Event.Doc == nil || ev.RenamedFrom != "" {
			clear(src) // the document starts (again) here
			for f := range ev.Doc {
				src[f] = s
			}
			continue
		}
		prev := vs[i-1].Event.Doc
		for f, v := range ev.Doc {
			if !sameContent(prev[f], v) {
				src[f] = s
			}
		}
	}
	out := make(map[string]FieldSource, len(cur.Doc))
	for f := range cur.Doc {
		if s, ok := src[f]; ok {
			out[f] = s
		}
	}
	return out, nil
}

// sameContent compares two values of a field; child rows compare without
// their modified stamps, which every save of the parent renews.
func sameContent(a, b any) bool {
	isRows := func(v any) bool {
		switch v.(type) {
		case []any, []map[string]any:
			return true
		}
		return false
	}
	if !isRows(a) && !isRows(b) {
		return sameStored(a, b)
	}
	ra, rb := meta.Rows(a), meta.Rows(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		for _, row := range []map[string]any{ra[i], rb[i]} {
			for k := range row {
				if k == meta.FieldModified || k == meta.FieldModifiedBy {
					continue
				}
				if !sameStored(ra[i][k], rb[i][k]) {
					return false
				}
			}
		}
	}
	return true
}
