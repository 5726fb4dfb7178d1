package eventlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
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
	// An ordered read waits for messages that may never come: start one
	// only when there is a message to read, at the first one.
	first, err := l.firstFrom(ctx, from, opts.Subjects)
	if err != nil || first == 0 || first > to {
		return err
	}
	r, err := l.Read(ctx, first, opts.Subjects...)
	if err != nil {
		return err
	}
	defer r.Close()
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

// firstFrom returns the sequence of the first message at or after from on
// subjects matching one of filters (any subject when there are none), or
// 0 when there is none.
func (l *Log) firstFrom(ctx context.Context, from Seq, filters []string) (Seq, error) {
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var first Seq
	for _, f := range filters {
		raw, err := l.stream.GetMsg(ctx, uint64(from), jetstream.WithGetMsgSubject(f))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("eventlog: first message on %s from %d: %w", f, from, err)
		}
		if s := Seq(raw.Sequence); first == 0 || s < first {
			first = s
		}
	}
	return first, nil
}
