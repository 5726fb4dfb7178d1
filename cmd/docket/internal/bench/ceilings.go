package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The raw ceilings: what JetStream and Pebble do on this machine with no
// docket code, in the style of shared/tools/limits (written again here).
// Each docket result is printed as a ratio to its ceiling.
const (
	ceilPublish1   = "js-publish-1" // JetStream publish, sync always, 1 publisher
	ceilPublish    = "js-publish"   // JetStream publish, sync always, --clients publishers
	ceilBatch      = "js-batch"     // JetStream atomic batches of 200, sync always
	ceilRead       = "js-read"      // JetStream ordered consumer reading the stream
	ceilPebbleSync = "pebble-sync"  // Pebble 1-document batches, Sync
	ceilBulk       = "pebble-bulk"  // Pebble 1,000-document batches, NoSync
	ceilGet        = "pebble-get"   // Pebble point get
	ceilPage       = "pebble-page"  // Pebble page: 20 index keys in reverse + 20 gets
)

// Ceiling is one raw measurement.
type Ceiling struct {
	Key       string  `json:"key"`
	Title     string  `json:"title"`
	Count     int64   `json:"count"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms,omitempty"`
	P99ms     float64 `json:"p99_ms,omitempty"`
	Maxms     float64 `json:"max_ms,omitempty"`
	CPUCores  float64 `json:"cpu_cores"`
	Note      string  `json:"note,omitempty"`
}

func newCeiling(key, title string, s sample, note string) Ceiling {
	c := Ceiling{Key: key, Title: title, Count: s.ops, Seconds: s.elapsed.Seconds(), PerSecond: s.rate(), Note: note}
	if s.hist.n > 0 {
		c.P50ms, c.P99ms, c.Maxms = ms(s.hist.quantile(0.5)), ms(s.hist.quantile(0.99)), ms(s.hist.max)
	}
	if s.elapsed > 0 {
		c.CPUCores = s.cpu.Seconds() / s.elapsed.Seconds()
	}
	return c
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ceilingPlan says which ceilings a run needs and how to measure them.
type ceilingPlan struct {
	need     map[string]bool
	clients  int // publishers, writers and readers
	loaders  int // atomic batch publishers (as many as load clients)
	docs     int // documents in the Pebble store, messages read back
	warm     time.Duration
	duration time.Duration
	tmp      string
	seed     uint64
}

func (p ceilingPlan) any(keys ...string) bool {
	for _, k := range keys {
		if p.need[k] {
			return true
		}
	}
	return false
}

// runCeilings measures the ceilings the plan needs, JetStream first,
// each in a temporary directory of its own.
func runCeilings(ctx context.Context, p ceilingPlan, progress func(string, ...any)) ([]Ceiling, error) {
	set := &ceilingSet{progress: progress}
	if p.any(ceilPublish1, ceilPublish, ceilBatch, ceilRead) {
		err := inTempDir(p.tmp, "docket-bench-nats-*", func(dir string) error { return natsCeilings(ctx, p, dir, set) })
		if err != nil {
			return nil, fmt.Errorf("jetstream ceilings: %w", err)
		}
	}
	if p.any(ceilPebbleSync, ceilBulk, ceilGet, ceilPage) {
		err := inTempDir(p.tmp, "docket-bench-pebble-*", func(dir string) error { return pebbleCeilings(ctx, p, dir, set) })
		if err != nil {
			return nil, fmt.Errorf("pebble ceilings: %w", err)
		}
	}
	return set.list, nil
}

// A ceilingSet collects the ceilings measured, telling progress of each.
type ceilingSet struct {
	list     []Ceiling
	progress func(string, ...any)
}

// add adds a measurement, which must have measured something.
func (cs *ceilingSet) add(key, title string, s sample, note string) error {
	if s.ops == 0 {
		return fmt.Errorf("%s: nothing measured: %v", title, s.firstErr)
	}
	cs.list = append(cs.list, newCeiling(key, title, s, note))
	cs.progress("ceiling %s: %.0f/s", key, s.rate())
	return nil
}

// inTempDir runs fn in a new directory under parent, then removes the
// directory and flushes the disk, so the next measurement does not pay
// for this one's files.
func inTempDir(parent, pattern string, fn func(dir string) error) (err error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); err == nil {
			err = rerr
		}
		syncDisk()
	}()
	return fn(dir)
}

// rawDoc is a ToDo-shaped document with the standard fields, as a
// projection stores it and an event carries it.
func rawDoc(rng *rand.Rand, name string, now time.Time) map[string]any {
	d := newDoc(rng, "")
	ts := now.Format("2006-01-02 15:04:05.000000")
	return map[string]any{
		"name": name, "owner": benchUserEmail, "creation": ts, "modified": ts, "modified_by": benchUserEmail,
		"docstatus": 0, "idx": 0, "doctype": "Bench ToDo", "description": d.Description, "status": d.Status,
		"priority": d.Priority, "allocated_to": d.AllocatedTo, "date": d.Date,
	}
}

// rawEvent is a document event of about the size docket writes: an
// envelope with ids, user, time and the whole document.
func rawEvent(rng *rand.Rand, name string) []byte {
	now := time.Now()
	b, err := msgpack.Marshal(map[string]any{
		"format": 1, "id": randomName(rng, 26), "tx": randomName(rng, 26), "type": "insert",
		"doctype": "Bench ToDo", "name": name, "version": 1, "user": benchUserEmail, "time": now.UnixNano(),
		"prev_seq": 0, "doc": rawDoc(rng, name, now),
	})
	if err != nil {
		panic(err) // plain values only
	}
	return b
}

// randomName is n random characters of [0-9a-z], as docket's hash names.
func randomName(rng *rand.Rand, n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
