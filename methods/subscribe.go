package methods

import (
	"context"
	"strings"

	"docket/eventlog"
)

// AfterCommit runs fn for every committed change of a doctype's
// documents ("" or "*": every doctype), after the commit, at least once
// and in order, through a durable consumer named name: restarted, it
// resumes after the last event fn handled. This is where side effects go
// (webhooks, e-mail, notifications): a method's transaction may run more
// than once when it loses a race, but a committed event is delivered here
// until fn returns nil; fn should be idempotent (the event ID or stream
// sequence makes a good key). It returns when ctx ends.
func AfterCommit(ctx context.Context, lg *eventlog.Log, name, doctype string, opts eventlog.ConsumeOptions,
	fn func(ctx context.Context, seq eventlog.Seq, ev *eventlog.Event) error) error {
	filter := eventlog.DocsPrefix + ">"
	if doctype != "" && doctype != "*" {
		filter = eventlog.DocTypeSubjects(doctype)
	}
	return lg.Consume(ctx, name, filter, opts, func(ctx context.Context, m *eventlog.Msg) error {
		if !strings.HasPrefix(m.Subject, eventlog.DocsPrefix) {
			return nil
		}
		ev, err := eventlog.DecodeEvent(m.Data)
		if err != nil {
			return nil // not an event: nothing to do, and retrying would not help
		}
		return fn(ctx, m.Seq, ev)
	})
}
