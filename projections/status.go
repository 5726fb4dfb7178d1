package projections

import (
	"sync"

	"docket/eventlog"
)

// ProjectorStatus is what a [Projector] has done since it was made, for
// health checks and metrics.
type ProjectorStatus struct {
	// Running: Run is applying the log (it has read its checkpoint and
	// opened its reader, and has not returned).
	Running bool
	// Err is why Run stopped, when it stopped on an error (a storage
	// error, or the log gone); nil while running or after cancellation.
	Err error
	// Seq is the last stream sequence applied (the store's checkpoint).
	Seq eventlog.Seq
	// Applied counts the messages applied since the projector was made;
	// Skipped the events it could not use (logged and skipped).
	Applied, Skipped int64
	// LastSkipped is the latest skipped event (nil when none was).
	LastSkipped *BadEvent
}

// status is the part of a ProjectorStatus that Run records.
type status struct {
	mu          sync.Mutex
	running     bool
	err         error
	applied     int64
	lastSkipped *BadEvent
}

// Status returns what the projector has done so far.
func (p *Projector) Status() ProjectorStatus {
	p.status.mu.Lock()
	defer p.status.mu.Unlock()
	return ProjectorStatus{
		Running: p.status.running, Err: p.status.err, Seq: p.store.Applied(),
		Applied: p.status.applied, Skipped: p.failed.Load(), LastSkipped: p.status.lastSkipped,
	}
}

// run records that Run started or, with done, ended with err.
func (s *status) run(done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running, s.err = !done, err
}

// batch records a committed batch of n messages applied.
func (s *status) batch(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied += int64(n)
}

// skip records a skipped event.
func (s *status) skip(bad *BadEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSkipped = bad
}
