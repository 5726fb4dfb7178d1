package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
func (p *Projector) Run(ctx context.Context) error {
	from := p.store.Applied() + 1
	r, err := p.log.Read(ctx, from)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer r.Close()
	p.logger.Info("projector started", "from", from)
	for {
		m, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		ab := p.store.newBatch()
		for {
			if m.Seq <= p.store.Applied() {
				// A redelivery after a consumer reset: already applied.
			} else if err := ab.applyMsg(m); err != nil {
				var bad *badEvent
				if !errors.As(err, &bad) {
					ab.b.Close()
					return fmt.Errorf("projections: apply seq %d: %w", m.Seq, err)
				}
				p.failed.Add(1)
				p.logger.Error("projector skipped an event it cannot apply", "seq", m.Seq, "subject", m.Subject, "err", err)
			}
			if m.Pending == 0 || ab.events >= maxBatchEvents {
				break
			}
			if m, err = r.Next(ctx); err != nil {
				ab.b.Close()
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
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
	s.changes.bump(ab.touched)
	s.waiter.set(ab.last)
	return nil
}

// ApplyMsgs applies messages directly (for tests and rebuild tools that
// read the log themselves); they must follow the checkpoint in order.
func (s *Store) ApplyMsgs(msgs []*eventlog.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	ab := s.newBatch()
	var errs []error
	for _, m := range msgs {
		if m.Seq <= s.Applied() {
			continue
		}
		if err := ab.applyMsg(m); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.commit(ab); err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("projections: %d events not applied: %w", len(errs), errors.Join(errs...))
	}
	return nil
}
