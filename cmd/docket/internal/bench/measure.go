package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A sample is what one measurement saw: the operations that succeeded
// (with their latencies), those that failed, the wall time measured and
// the CPU time the whole process used meanwhile (clients included).
type sample struct {
	ops, errors int64
	elapsed     time.Duration
	cpu         time.Duration
	hist        *histogram
	firstErr    error
}

func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ops) / s.elapsed.Seconds()
}

// errorOnce keeps the first error it is given.
type errorOnce struct {
	once sync.Once
	err  error
}

func (e *errorOnce) set(err error) { e.once.Do(func() { e.err = err }) }

const (
	warming = iota
	measuring
	stopping
)

// measure runs clients goroutines, each calling its own function (made by
// newFn) in a closed loop: for warm without counting, then for d. An
// operation counts when it ends inside the measured window, so the rate
// is operations per second of that window. It returns when every
// goroutine has finished its last call.
func measure(ctx context.Context, clients int, warm, d time.Duration, newFn func(i int) func(context.Context) error) sample {
	var phase atomic.Int32
	hists := make([]*histogram, clients)
	errs := make([]int64, clients)
	var first errorOnce
	var wg sync.WaitGroup
	for i := range clients {
		fn := newFn(i)
		hists[i] = newHistogram()
		h := hists[i]
		wg.Go(func() {
			for phase.Load() != stopping && ctx.Err() == nil {
				t0 := time.Now()
				err := fn(ctx)
				took := time.Since(t0)
				if err != nil {
					first.set(err)
				}
				if phase.Load() != measuring {
					continue
				}
				if err != nil {
					errs[i]++
					continue
				}
				h.record(took)
			}
		})
	}
	sleep(ctx, warm)
	cpu0, start := cpuTime(), time.Now()
	phase.Store(measuring)
	sleep(ctx, d)
	phase.Store(stopping)
	s := sample{elapsed: time.Since(start), cpu: cpuTime() - cpu0, hist: newHistogram()}
	wg.Wait()
	for i, h := range hists {
		s.hist.merge(h)
		s.errors += errs[i]
	}
	s.ops = int64(s.hist.n)
	s.firstErr = first.err
	if s.firstErr == nil && ctx.Err() != nil {
		s.firstErr = ctx.Err()
	}
	return s
}

// measureJobs runs jobs 0..n-1 on clients goroutines and times the whole;
// each job's latency is recorded. It stops at the first error.
func measureJobs(ctx context.Context, clients, n int, job func(ctx context.Context, i int) error) sample {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	hists := make([]*histogram, clients)
	var first errorOnce
	var failed atomic.Int64
	var wg sync.WaitGroup
	cpu0, start := cpuTime(), time.Now()
	for c := range clients {
		hists[c] = newHistogram()
		h := hists[c]
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := job(ctx, i); err != nil {
					failed.Add(1)
					first.set(err)
					cancel()
					return
				}
				h.record(time.Since(t0))
			}
		})
	}
	wg.Wait()
	s := sample{elapsed: time.Since(start), cpu: cpuTime() - cpu0, hist: newHistogram(), errors: failed.Load()}
	for _, h := range hists {
		s.hist.merge(h)
	}
	s.ops = int64(s.hist.n)
	s.firstErr = first.err
	return s
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
