package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumeOptions configures Consume. The zero value works.
type ConsumeOptions struct {
	// From is where a new subscription starts: 0 (the default) with the
	// next message written, 1 with the first message of the stream, N with
	// stream sequence N. An existing subscription resumes where it stopped.
	From Seq
	// RetryAfter is how long a message whose handler failed waits before
	// it is delivered again; default 1s.
	RetryAfter time.Duration
	// AckWait is how long JetStream waits for news of a delivery before
	// it gives the message again (Consume tells it the handler is still
	// at work every AckWait/3); default 1m. It applies when the
	// subscription is created.
	AckWait time.Duration
}

// Consume delivers the messages on subjects matching filter (e.g.
// "docs.ToDo.>") to fn, in stream order, at least once, through a durable
// JetStream consumer named name: after a restart it resumes after the last
// message fn handled. A message is acknowledged when fn returns nil; when
// fn fails it is given to fn again every RetryAfter, and nothing after it
// comes first. Consume returns when ctx ends (nil) or on a JetStream
// error.
func (l *Log) Consume(ctx context.Context, name, filter string, opts ConsumeOptions, fn func(ctx context.Context, m *Msg) error) error {
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.AckWait <= 0 {
		opts.AckWait = time.Minute
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "docket subscriber " + name,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		MaxAckPending: 1, // in order: the next message waits for this one
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	switch {
	case opts.From == 1:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case opts.From > 1:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = uint64(opts.From)
	}
	cons, err := l.stream.Consumer(ctx, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = l.stream.CreateConsumer(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("eventlog: subscriber %s: %w", name, err)
	}
	ackWait := cons.CachedInfo().Config.AckWait // an existing subscription keeps its own
	if ackWait <= 0 {
		ackWait = cfg.AckWait
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(16))
	if err != nil {
		return fmt.Errorf("eventlog: subscriber %s: %w", name, err)
	}
	// On the way out, hand back what was delivered but not handled (with
	// one message in flight, at most one): it comes again at once to the
	// next subscriber, instead of after AckWait.
	defer func() {
		it.Drain()
		for {
			m, err := it.Next()
			if err != nil {
				return
			}
			_ = m.Nak()
		}
	}()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("eventlog: subscriber %s: %w", name, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("eventlog: subscriber %s: %w", name, err)
		}
		msg := &Msg{Seq: Seq(md.Sequence.Stream), Subject: m.Subject(), Data: m.Data(), Header: m.Headers(),
			Time: md.Timestamp, Pending: md.NumPending}
		// Retry here until fn succeeds: a nak would let the next message
		// overtake this one. However long that takes, the delivery stays
		// ours: past AckWait JetStream would give the message again (to
		// this or another process) while fn still works on it.
		working := keepInProgress(m, ackWait/3)
		for fn(ctx, msg) != nil {
			select {
			case <-time.After(opts.RetryAfter):
			case <-ctx.Done():
				working()
				_ = m.Nak()
				return nil
			}
		}
		working()
		// Acknowledge even when ctx has just ended: fn did its work, and an
		// unacknowledged message would hold back the next ones until
		// AckWait passes.
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = m.DoubleAck(actx)
		cancel()
		if err != nil {
			return fmt.Errorf("eventlog: subscriber %s: ack %d: %w", name, msg.Seq, err)
		}
	}
}

// keepInProgress tells JetStream every interval that m is still being
// worked on, until the returned function is called.
func keepInProgress(m jetstream.Msg, every time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = m.InProgress()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// Subscribers returns the names of the durable subscribers (see
// [Log.Consume]) whose names start with prefix.
func (l *Log) Subscribers(ctx context.Context, prefix string) ([]string, error) {
	lister := l.stream.ConsumerNames(ctx)
	var names []string
	for name := range lister.Name() {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("eventlog: list subscribers: %w", err)
	}
	return names, nil
}

// Unsubscribe deletes a durable subscriber and the position it had
// reached; a subscriber that does not exist is not an error. A Consume
// running under that name ends with an error.
func (l *Log) Unsubscribe(ctx context.Context, name string) error {
	err := l.stream.DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("eventlog: delete subscriber %s: %w", name, err)
	}
	return nil
}
