package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"

	"docket/eventlog"
)

// maxBatchEvents bounds the events applied in one Pebble batch.
const maxBatchEvents = 1000

// Projector folds the log into a [Store]: an ordered read from the
// store's checkpoint + 1, applied in Pebble batches that carry the
// checkpoint, so that a crash at any point replays cleanly.
type Projector struct {
	store  *Store
	log    *eventlog.Log
	logger *slog.Logger
	failed atomic.Int64
	status status
}

// NewProjector returns a projector of lg into s; logger may be nil.
func NewProjector(s *Store, lg *eventlog.Log, logger *slog.Logger) *Projector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Projector{store: s, log: lg, logger: logger}
}

// Failed returns how many events could not be applied (each is logged
// and skipped; the rest of the log is still applied).
func (p *Projector) Failed() int64 { return p.failed.Load() }

// Run applies the log until ctx ends. It returns nil on cancellation.
func (p *Projector) Run(ctx context.Context) (err error) {
	defer func() { p.status.run(true, err) }()
	from := p.store.Applied() + 1
	r, err := p.log.Read(ctx, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer r.Close()
	p.status.run(false, nil)
	p.logger.Info("projector started", "from", from)
	var next *eventlog.Msg // read, and left for the next batch
	for {
		m := next
		if m == nil {
			if m, err = r.Next(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		next = nil
		ab := p.store.newBatch(needsIndexedBatch(m))
		skipped := 0
		for {
			bad, err := ab.add(p.store, m)
			if err != nil {
				ab.b.Close()
				return err
			}
			if bad != nil {
				skipped++
				p.failed.Add(1)
				p.status.skip(bad)
				p.logger.Error("projector skipped an event it cannot apply", "seq", m.Seq, "subject", m.Subject, "err", bad)
			}
			if m.Pending == 0 || ab.events >= maxBatchEvents || ab.indexed {
				break
			}
			if m, err = r.Next(ctx); err != nil {
				ab.b.Close()
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if needsIndexedBatch(m) {
				next = m
				break
			}
		}
		// The status counts the batch before readers can see its
		// checkpoint: whoever waited for a sequence reads a status that
		// includes it.
		applied := ab.events - skipped
		ab.committed = func() { p.status.batch(applied) }
		if err := p.store.commit(ab); err != nil {
			return err
		}
	}
}

// commit commits a batch, then publishes its registry changes and its
// checkpoint to readers, in that order.
func (s *Store) commit(ab *batch) error {
	if ab.events == 0 {
		return ab.b.Close()
	}
	if ab.regChanged {
		s.regMu.Lock()
		defer s.regMu.Unlock()
	}
	if err := ab.commit(); err != nil {
		return err
	}
	if ab.regChanged {
		s.registry.replace(ab.reg)
	}
	if ab.committed != nil {
		ab.committed()
	}
	s.changes.bump(ab.touched)
	s.waiter.set(ab.last)
	return nil
}

// add applies one message to the batch unless the store or the batch
// has it already (a redelivery after a consumer reset). An event the
// projector cannot use is not applied and comes back as bad; any other
// error is a storage error, after which the batch must be dropped.
func (ab *batch) add(s *Store, m *eventlog.Msg) (bad *BadEvent, err error) {
	if m.Seq <= max(s.Applied(), ab.last) {
		return nil, nil
	}
	if err := ab.applyMsg(m); err != nil {
		var be *BadEvent
		if errors.As(err, &be) {
			return be, nil
		}
		return nil, fmt.Errorf("projections: apply seq %d: %w", m.Seq, err)
	}
	return nil, nil
}

// Apply applies messages that follow the checkpoint, in stream order, in
// one Pebble batch with the checkpoint, as the projector does: messages
// the store has already applied are ignored, and an event the projector
// cannot use (it does not decode, names another document than its
// subject, …) is skipped and returned in skipped, each error naming its
// sequence. Any other error is a storage error, and nothing of the batch
// is written. Rebuild tools that read the log themselves use it.
func (s *Store) Apply(msgs []*eventlog.Msg) (skipped []*BadEvent, err error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	ab := s.newBatch(slices.ContainsFunc(msgs, needsIndexedBatch))
	for _, m := range msgs {
		bad, err := ab.add(s, m)
		if err != nil {
			ab.b.Close()
			return nil, err
		}
		if bad != nil {
			skipped = append(skipped, bad)
		}
	}
	return skipped, s.commit(ab)
}

// ApplyMsgs is Apply for tests: skipped events are an error too.
func (s *Store) ApplyMsgs(msgs []*eventlog.Msg) error {
	skipped, err := s.Apply(msgs)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		errs := make([]error, len(skipped))
		for i, e := range skipped {
			errs[i] = e
		}
		return fmt.Errorf("projections: %d events not applied: %w", len(skipped), errors.Join(errs...))
	}
	return nil
}
