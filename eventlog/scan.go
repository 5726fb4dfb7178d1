package eventlog

import (
	"context"
)

// ScanOptions bounds a [Log.Scan]. The zero value scans the whole stream.
type ScanOptions struct {
	// From is the first sequence; 0 means 1.
	From Seq
	// To is the last sequence; 0 (or beyond the end) means the stream's
	// last sequence when the scan starts.
	To Seq
	// Subjects are filter subjects (wildcards allowed: "docs.ToDo.*");
	// none means every subject.
	Subjects []string
}

// Scan calls fn with every message from From through To on the subjects,
// in stream order, and returns once it has delivered the last of them:
// messages written meanwhile beyond To are not delivered. It reads with
// a server-side filter, so scanning one document does not transfer the
// rest of the stream. It returns fn's first error, or ctx's.
func (l *Log) Scan(ctx context.Context, opts ScanOptions, fn func(*Msg) error) error {
	from := max(opts.From, 1)
	last, err := l.LastSeq(ctx)
	if err != nil {
		return err
	}
	to := opts.To
	if to == 0 || to > last {
		to = last
	}
	if from > to {
		return nil
	}
	r, err := l.Read(ctx, from, opts.Subjects...)
	if err != nil {
		return err
	}
	defer r.Close()
	// Next would wait for messages that may never come: the consumer's
	// creation says how many match (after from) when it was made.
	if r.startPending == 0 {
		return nil
	}
	for {
		m, err := r.Next(ctx)
		if err != nil {
			return err
		}
		if m.Seq > to {
			return nil
		}
		if err := fn(m); err != nil {
			return err
		}
		// Pending counts the matching messages after this one: none
		// means this was the last one up to To.
		if m.Seq == to || m.Pending == 0 {
			return nil
		}
	}
}
