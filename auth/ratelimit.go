package auth

import (
	"math"
	"sync"
	"time"
)

// Limiter counts failures per key (a login name, a client address) and
// blocks a key that failed max times within one window until that window
// ends. It lives in one process: each node of a cluster counts on its own.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	start time.Time // the window's start: the first failure in it
	n     int
}

// maxTrackedKeys bounds the limiter's memory: past it, expired keys are
// dropped, then arbitrary ones.
const maxTrackedKeys = 100_000

// NewLimiter returns a limiter of max failures per window; now nil means
// time.Now.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: max, window: window, now: now, keys: map[string]*failures{}}
}

// Blocked returns how long key must still wait (0: it may try now).
func (l *Limiter) Blocked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.keys[key]
	if f == nil {
		return 0
	}
	left := f.start.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.keys, key)
		return 0
	}
	if f.n < l.max {
		return 0
	}
	return left
}

// Take counts an attempt of key as a failure in advance, so that
// attempts running at once cannot all pass a check made before any of
// them failed: it returns how long key must wait (nothing is counted
// then), or 0 when the attempt may go ahead. A successful attempt gives
// its count back with Forgive or Reset.
func (l *Limiter) Take(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if f := l.keys[key]; f != nil && now.Sub(f.start) < l.window && f.n >= l.max {
		return f.start.Add(l.window).Sub(now)
	}
	l.fail(key, now)
	return 0
}

// Forgive gives back one attempt counted by Take.
func (l *Limiter) Forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.keys[key]; f != nil && f.n > 0 {
		f.n--
	}
}

// Fail counts a failure of key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail(key, l.now())
}

func (l *Limiter) fail(key string, now time.Time) {
	f := l.keys[key]
	if f == nil || now.Sub(f.start) >= l.window {
		if len(l.keys) >= maxTrackedKeys {
			l.prune(now)
		}
		f = &failures{start: now}
		l.keys[key] = f
	}
	f.n++
}

// Reset forgets key's failures (a successful login).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// prune drops expired keys, and arbitrary ones while too many remain.
func (l *Limiter) prune(now time.Time) {
	for k, f := range l.keys {
		if now.Sub(f.start) >= l.window {
			delete(l.keys, k)
		}
	}
	for k := range l.keys {
		if len(l.keys) < maxTrackedKeys {
			break
		}
		delete(l.keys, k)
	}
}

// RetryAfterSeconds is a wait as Retry-After states it: whole seconds,
// rounded up.
func RetryAfterSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
