package projections

import (
	"context"
	"sync"

	"docket/eventlog"
)

// waiter lets readers wait until the projector has applied a sequence.
type waiter struct {
	mu      sync.Mutex
	applied eventlog.Seq
	changed chan struct{} // closed and replaced on every advance
}

func newWaiter() *waiter { return &waiter{changed: make(chan struct{})} }

func (w *waiter) get() eventlog.Seq {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.applied
}

func (w *waiter) set(seq eventlog.Seq) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq <= w.applied {
		return
	}
	w.applied = seq
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *waiter) wait(ctx context.Context, seq eventlog.Seq) error {
	for {
		w.mu.Lock()
		applied, ch := w.applied, w.changed
		w.mu.Unlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFor blocks until the store has applied stream sequence seq (or ctx
// ends): a write's response waits for it, so the writer reads its write.
func (s *Store) WaitFor(ctx context.Context, seq eventlog.Seq) error {
	return s.waiter.wait(ctx, seq)
}
