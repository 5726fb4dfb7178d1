package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// spooled is an upload written to a temporary file and hashed.
type spooled struct {
	f    *os.File // open for reading and writing; the caller closes and removes it
	hash string
	size int64
}

// remove closes and removes the temporary file.
func (s *spooled) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// spool copies r into a new temporary file in dir, named prefix and a
// random suffix, while hashing it. It
// reads at most max+1 bytes (max <= 0: no limit), so an oversized body is
// never read to its end: more than max is ErrTooLarge. A read error is
// returned as it is; ctx is checked between reads. On any error the file
// is gone.
func spool(ctx context.Context, dir, prefix string, r io.Reader, max int64) (*spooled, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return nil, fmt.Errorf("blobs: spool: %w", err)
	}
	s := &spooled{f: f}
	if max > 0 {
		r = io.LimitReader(r, max+1)
	}
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			s.remove()
			return nil, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			s.size += int64(n)
			if max > 0 && s.size > max {
				s.remove()
				return nil, ErrTooLarge
			}
			h.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				s.remove()
				return nil, fmt.Errorf("blobs: spool: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.remove()
			return nil, rerr // a truncated upload: the caller's error, as it is
		}
	}
	s.hash = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// hashLocks serializes work on one hash within the process (so that
// concurrent Puts of one content store it once) while other hashes go on.
type hashLocks struct {
	mu sync.Mutex
	m  map[string]*hashLock
}

type hashLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks hash and returns its unlock.
func (l *hashLocks) lock(hash string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*hashLock)
	}
	e := l.m[hash]
	if e == nil {
		e = &hashLock{}
		l.m[hash] = e
	}
	e.refs++
	l.mu.Unlock()

	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, hash)
		}
		l.mu.Unlock()
	}
}

// staleAge is how old a spool file must be for removeStale to take it for
// the leftover of a crash.
const staleAge = 24 * time.Hour

// removeStale removes the spool files in dir, named prefix and more, that
// a crash left behind: those not written to for staleAge.
func removeStale(dir, prefix string) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range es {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleAge {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
