package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/vmihailenco/msgpack/v5"

	"docket/projections"
)

// pebbleOptions are the options projections.Open gives Pebble (its block
// cache and memtable defaults, compaction thresholds, bloom filters and
// block size), so the ceilings are of the same engine docket runs.
func pebbleOptions(cache *pebble.Cache) *pebble.Options {
	o := &pebble.Options{
		FormatMajorVersion:          pebble.FormatNewest,
		Cache:                       cache,
		MemTableSize:                16 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       2,
		L0StopWritesThreshold:       1000,
		CompactionConcurrencyRange:  func() (int, int) { return 1, max(2, runtime.GOMAXPROCS(0)/2) },
		Logger:                      quietPebble{},
	}
	for i := range o.Levels {
		o.Levels[i].BlockSize = 32 << 10
		if i > 0 && i < len(o.Levels)-1 {
			o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		}
	}
	return o
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)         {}
func (quietPebble) Errorf(string, ...any)        {}
func (quietPebble) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// A rawWrite is one document as a read model stores it: the document
// under its name and six index keys (status, priority, allocated_to with
// modified, date, modified, creation). docket writes more per document
// (a reverse entry, a version key, counters): the difference is docket's
// own cost.
type rawWrite struct {
	name string
	keys [7][]byte
	val  []byte
}

func primaryKey(name string) []byte { return append([]byte("d\x00Bench ToDo\x00"), name...) }

func indexKey(field string, parts ...[]byte) []byte {
	k := append([]byte("i\x00Bench ToDo\x00"), field...)
	for _, p := range parts {
		k = append(append(k, 0), p...)
	}
	return k
}

// allocatedPrefix is the prefix of one user's entries in the
// (allocated_to, modified) index.
func allocatedPrefix(user string) []byte { return append(indexKey("allocated_to", []byte(user)), 0) }

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func newRawWrite(rng *rand.Rand, now time.Time) rawWrite {
	name := randomName(rng, 10)
	doc := rawDoc(rng, name, now)
	val, err := msgpack.Marshal(doc)
	if err != nil {
		panic(err) // plain values only
	}
	ts := be64(now.UnixNano())
	w := rawWrite{name: name, val: val}
	w.keys[0] = primaryKey(name)
	w.keys[1] = indexKey("status", []byte(doc["status"].(string)), []byte(name))
	w.keys[2] = indexKey("priority", []byte(doc["priority"].(string)), []byte(name))
	w.keys[3] = append(append(allocatedPrefix(doc["allocated_to"].(string)), ts...), name...)
	w.keys[4] = indexKey("date", []byte(doc["date"].(string)), []byte(name))
	w.keys[5] = indexKey("modified", ts, []byte(name))
	w.keys[6] = indexKey("creation", ts, []byte(name))
	return w
}

func (w *rawWrite) addTo(b *pebble.Batch) error {
	if err := b.Set(w.keys[0], w.val, nil); err != nil {
		return err
	}
	for _, k := range w.keys[1:] {
		if err := b.Set(k, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// pebbleCeilings measures Pebble, with docket's options, in dir: durable
// one-document writes, a bulk load of as many documents as the run loads
// (a rebuild's write side), then point gets and pages over them.
func pebbleCeilings(ctx context.Context, p ceilingPlan, dir string, set *ceilingSet) (err error) {
	cache := pebble.NewCache(projections.DefaultCacheSize)
	db, err := pebble.Open(dir, pebbleOptions(cache))
	cache.Unref() // the store holds its own reference
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	const docNote = "a document = its record (msgpack) and 6 index keys"

	if p.need[ceilPebbleSync] {
		s := measure(ctx, p.clients, p.warm, p.duration, func(i int) func(context.Context) error {
			rng := rand.New(rand.NewPCG(p.seed, uint64(1000+i)))
			return func(context.Context) error {
				w := newRawWrite(rng, time.Now())
				b := db.NewBatch()
				defer b.Close()
				if err := w.addTo(b); err != nil {
					return err
				}
				return b.Commit(pebble.Sync)
			}
		})
		if err := set.add(ceilPebbleSync, fmt.Sprintf("Pebble batch of 1 document, Sync, %d writers", p.clients), s, docNote); err != nil {
			return err
		}
	}

	// The bulk load is timed batch by batch (building and committing),
	// documents being made and encoded outside the timing.
	names := make([]string, 0, p.docs)
	const bulk = 1000
	rng := rand.New(rand.NewPCG(p.seed, 7))
	bulkSample := sample{hist: newHistogram()}
	start := time.Now().Add(-365 * 24 * time.Hour)
	for len(names) < p.docs && ctx.Err() == nil {
		ws := make([]rawWrite, min(bulk, p.docs-len(names)))
		for i := range ws {
			ws[i] = newRawWrite(rng, start.Add(time.Duration(len(names)+i)*time.Second))
		}
		cpu0, t0 := cpuTime(), time.Now()
		b := db.NewBatch()
		for i := range ws {
			if err := ws[i].addTo(b); err != nil {
				return err
			}
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return err
		}
		b.Close()
		took := time.Since(t0)
		bulkSample.hist.record(took)
		bulkSample.elapsed += took
		bulkSample.cpu += cpuTime() - cpu0
		for i := range ws {
			names = append(names, ws[i].name)
		}
	}
	bulkSample.ops = int64(len(names))
	if p.need[ceilBulk] {
		if err := set.add(ceilBulk, fmt.Sprintf("Pebble batches of %d documents, NoSync, 1 writer (%d documents)", bulk, len(names)), bulkSample,
			docNote+"; latency per batch"); err != nil {
			return err
		}
	}
	if err := db.Flush(); err != nil {
		return err
	}
	if !p.any(ceilGet, ceilPage) {
		return nil
	}
	if p.need[ceilGet] {
		s := measure(ctx, p.clients, p.warm, p.duration, func(i int) func(context.Context) error {
			rng := rand.New(rand.NewPCG(p.seed, uint64(2000+i)))
			return func(context.Context) error {
				v, closer, err := db.Get(primaryKey(names[rng.IntN(len(names))]))
				if err != nil {
					return err
				}
				_ = v
				return closer.Close()
			}
		})
		if err := set.add(ceilGet, fmt.Sprintf("Pebble point get of a document, %d readers, %d documents", p.clients, len(names)), s, "value not decoded"); err != nil {
			return err
		}
	}
	if p.need[ceilPage] {
		s := measure(ctx, p.clients, p.warm, p.duration, func(i int) func(context.Context) error {
			rng := rand.New(rand.NewPCG(p.seed, uint64(3000+i)))
			return func(context.Context) error { return rawPage(db, allocatedPrefix(randomUser(rng))) }
		})
		if err := set.add(ceilPage, fmt.Sprintf("Pebble page: 20 index keys in reverse + 20 gets, %d readers, %d documents", p.clients, len(names)), s,
			"one user's (allocated_to, modified) entries, newest first; values not decoded"); err != nil {
			return err
		}
	}
	return nil
}

// rawPage reads the 20 last entries under prefix and the document each
// names: a page a composite index answers without sorting.
func rawPage(db *pebble.DB, prefix []byte) error {
	upper := append(bytes.Clone(prefix), 0xff)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return err
	}
	n := 0
	for ok := it.Last(); ok && n < 20; ok = it.Prev() {
		k := it.Key()
		v, closer, err := db.Get(primaryKey(string(k[len(k)-10:])))
		if err != nil {
			it.Close()
			return err
		}
		_ = v
		closer.Close()
		n++
	}
	if err := it.Close(); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("empty page under %q", prefix)
	}
	return nil
}
