package methods

import (
	"context"

	"docket/eventlog"
)

// Log returns the event log the documents live in.
func (d *Docs) Log() *eventlog.Log { return d.log }

// FeedEvent returns an event as user may see it in a change feed: nil
// when the user may not read the document as the event left it (as it
// was before, for a delete or the old half of a rename: before reads
// it), else the event without the fields of levels the user does not
// read. Each call judges by the user's rights at that moment.
func (d *Docs) FeedEvent(ctx context.Context, user string, ev *eventlog.Event, before func() (map[string]any, error)) (*eventlog.Event, error) {
	dt, err := d.Meta(ev.DocType)
	if err != nil {
		return nil, nil // the doctype is gone: nobody reads its documents
	}
	doc := ev.Doc
	if doc == nil {
		if doc, err = before(); err != nil || doc == nil {
			return nil, err
		}
	}
	tx := d.Reader(user)
	if err := tx.can(ctx, dt, PermRead, doc); err != nil {
		if IsExc(err, PermissionError) {
			return nil, nil
		}
		return nil, err
	}
	out := *ev
	if out.Doc, err = tx.hideFields(ctx, dt, ev.Doc); err != nil {
		return nil, err
	}
	if out.Changed, err = tx.hideChanges(ctx, dt, ev.Changed); err != nil {
		return nil, err
	}
	return &out, nil
}
