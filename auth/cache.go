package auth

import (
	"sync"
	"time"
)

// maxCached bounds a cache: past it, the cache starts over.
const maxCached = 100_000

// cache keeps values read from a bucket for a short time, so that
// authenticating a request costs no round trip to the bucket. A write
// made through this Service updates it at once; a write made on another
// node is seen within the cache's time to live. Only values are cached,
// never a missing key: a key written on another node a moment ago (a new
// API key, a new session) is found at once.
type cache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cached
}

type cached struct {
	v  []byte
	at time.Time
}

func newCache(ttl time.Duration) *cache { return &cache{ttl: ttl, m: map[string]cached{}} }

// get returns a value read less than ttl ago.
func (c *cache) get(k string) ([]byte, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Since(e.at) >= c.ttl {
		return nil, false
	}
	return e.v, true
}

// put remembers a value just read or written.
func (c *cache) put(k string, v []byte) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[k] = cached{v: v, at: time.Now()}
}

// drop forgets a key that was deleted or may have changed.
func (c *cache) drop(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}
