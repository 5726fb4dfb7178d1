package projections

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
	"docket/projections/keys"
	"docket/projections/meta"
	"docket/projections/query"
)

// Key prefixes. Every key is one prefix byte followed by tuple-encoded
// components (package keys), so keys of one doctype are contiguous.
const (
	prefixDoc       = 'd' // d(doctype, name) → record of the current version
	prefixTombstone = 't' // t(doctype, name) → head of a deleted document
	prefixIndex     = 'i' // i(doctype, field, value, name) → empty
	prefixReverse   = 'r' // r(doctype, name) → the i and c keys the document holds
	prefixCount     = 'c' // c(doctype) and c(doctype, field, value) → int64 count
	prefixVersion   = 'v' // v(doctype, name, version) → stream sequence
	prefixMeta      = 'm' // m("checkpoint") → last applied stream sequence
)

var checkpointKey = keys.AppendString([]byte{prefixMeta}, "checkpoint")

// ErrNotFound: no such document.
var ErrNotFound = errors.New("projections: not found")

// Record is the projected current version of a document.
type Record struct {
	Seq     eventlog.Seq   `msgpack:"seq"`
	Version uint64         `msgpack:"version"`
	Hash    []byte         `msgpack:"hash"` // chain hash of the version's payload
	Doc     map[string]any `msgpack:"doc"`
}

// Head is what a writer needs to append the next version of a document.
type Head struct {
	Seq     eventlog.Seq
	Version uint64
	Hash    []byte
	Deleted bool
}

// Options configures a [Store]. The zero value works.
type Options struct {
	// CacheSize is Pebble's block cache in bytes; default
	// DefaultCacheSize.
	CacheSize int64
	// MemTableSize is Pebble's memtable size; default 16 MiB (point reads
	// search every memtable: 64 MiB ones made them 8 times slower).
	MemTableSize uint64
	// ReadOnly opens an existing store for reading only (docket verify
	// reads a stopped node's). Pebble still takes the directory's lock, so
	// it fails while a node has the store open.
	ReadOnly bool
	// Logger; nil discards.
	Logger *slog.Logger
}

// Store is the Pebble read model: documents, indexes, counters, history
// index and the projector checkpoint, plus the DocType registry.
type Store struct {
	db       *pebble.DB
	readOnly bool
	log      *slog.Logger
	registry *Registry
	waiter   *waiter
	// regMu makes a schema change atomic for queries: a batch that changes
	// the registry commits and publishes it under the write lock, and a
	// query reads the registry and takes its snapshot under the read lock,
	// so it never pairs one schema with the other's indexes.
	regMu sync.RWMutex
	// changes counts, per doctype, the commits that changed its
	// documents since this process opened the store.
	changes changeCounter
}

// changeCounter counts commits per doctype.
type changeCounter struct {
	mu sync.Mutex
	n  map[string]uint64
}

func (c *changeCounter) bump(doctypes map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]uint64{}
	}
	for dt := range doctypes {
		c.n[dt]++
	}
}

// Changes returns a number that grows whenever documents of doctype
// change (per process: caches compare it to know they are stale).
func (s *Store) Changes(doctype string) uint64 {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return s.changes.n[doctype]
}

// DefaultCacheSize is the block cache a store gets by default: at 1M
// ToDo-shaped documents a 128 MiB cache held too little of the documents
// for point reads (docs/benchmarks.md); the cache only grows as blocks are
// read.
const DefaultCacheSize = 512 << 20

// Open opens (or creates) the Pebble read model in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 16 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		FormatMajorVersion:          pebble.FormatNewest,
		Cache:                       cache,
		MemTableSize:                opts.MemTableSize,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       2,
		L0StopWritesThreshold:       1000,
		CompactionConcurrencyRange:  func() (int, int) { return 1, max(2, runtime.GOMAXPROCS(0)/2) },
		Logger:                      pebbleLogger{opts.Logger},
		ReadOnly:                    opts.ReadOnly,
	}
	for i := range po.Levels {
		po.Levels[i].BlockSize = 32 << 10
		if i > 0 && i < len(po.Levels)-1 {
			po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("projections: open pebble %s: %w", dir, err)
	}
	s := &Store{db: db, readOnly: opts.ReadOnly, log: opts.Logger, waiter: newWaiter()}
	cp, err := s.Checkpoint()
	if err != nil {
		db.Close()
		return nil, err
	}
	s.waiter.set(cp)
	reg, err := loadRegistry(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.registry = reg
	return s, nil
}

// Settle waits until Pebble has no compaction running or owed (after a
// bulk load it keeps compacting for a while, and reads compete with it
// for the CPU), or until ctx ends.
func (s *Store) Settle(ctx context.Context) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		m := s.db.Metrics()
		if m.Compact.NumInProgress == 0 && m.Compact.EstimatedDebt == 0 && m.Flush.NumInProgress == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close flushes the memtables and closes Pebble. Stop the projector
// first. The flush is what makes a restart quick: without it the next
// Open replays the whole write-ahead log (hundreds of MB after a load).
func (s *Store) Close() error {
	if !s.readOnly {
		if err := s.db.Flush(); err != nil {
			s.log.Warn("pebble flush on close", "err", err)
		}
	}
	return s.db.Close()
}

// Registry returns the DocType registry.
func (s *Store) Registry() *Registry { return s.registry }

// Checkpoint returns the last stream sequence the store has applied.
func (s *Store) Checkpoint() (eventlog.Seq, error) {
	v, closer, err := s.db.Get(checkpointKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: read checkpoint: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("projections: corrupt checkpoint")
	}
	return eventlog.Seq(binary.BigEndian.Uint64(v)), nil
}

// Applied returns the last applied sequence without touching Pebble.
func (s *Store) Applied() eventlog.Seq { return s.waiter.get() }

func docKey(doctype, name string) []byte {
	return keys.AppendString(keys.AppendString([]byte{prefixDoc}, doctype), name)
}

func tombstoneKey(doctype, name string) []byte {
	return keys.AppendString(keys.AppendString([]byte{prefixTombstone}, doctype), name)
}

func reverseKey(doctype, name string) []byte {
	return keys.AppendString(keys.AppendString([]byte{prefixReverse}, doctype), name)
}

func versionKey(doctype, name string, version uint64) []byte {
	k := keys.AppendString(keys.AppendString([]byte{prefixVersion}, doctype), name)
	return keys.AppendInt(k, int64(version))
}

func doctypePrefix(prefix byte, doctype string) []byte {
	return keys.AppendString([]byte{prefix}, doctype)
}

// reader is what both the DB, a snapshot and an indexed batch offer.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// getRecord reads and decodes a document record.
func getRecord(r reader, doctype, name string) (*Record, error) {
	return readRecord(r, docKey(doctype, name))
}

func readRecord(r reader, key []byte) (*Record, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("projections: get: %w", err)
	}
	defer closer.Close()
	return decodeRecord(v)
}

func decodeRecord(v []byte) (*Record, error) {
	if rec, err := decodeRecordFast(v); err == nil {
		return rec, nil
	}
	return decodeRecordSlow(v)
}

// decodeRecordSlow decodes a record with msgpack's reflection.
func decodeRecordSlow(v []byte) (*Record, error) {
	rec := new(Record)
	dec := msgpack.NewDecoder(bytes.NewReader(v))
	dec.UseLooseInterfaceDecoding(true)
	if err := dec.Decode(rec); err != nil {
		return nil, fmt.Errorf("projections: decode record: %w", err)
	}
	rec.Doc = normalizeDoc(rec.Doc)
	return rec, nil
}

func encodeRecord(rec *Record) ([]byte, error) {
	if v, err := encodeRecordFast(rec); err == nil {
		return v, nil
	}
	return encodeRecordSlow(rec)
}

// encodeRecordSlow encodes a record with msgpack's reflection.
func encodeRecordSlow(rec *Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.Encode(rec); err != nil {
		return nil, fmt.Errorf("projections: encode record: %w", err)
	}
	return buf.Bytes(), nil
}

// normalizeDoc turns msgpack's unsigned integers into int64.
func normalizeDoc(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = normalizeValue(v)
	}
	return m
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case uint64:
		return int64(x)
	case map[string]any:
		return normalizeDoc(x)
	case []any:
		for i := range x {
			x[i] = normalizeValue(x[i])
		}
	}
	return v
}

// Get returns the current version of a document, or ErrNotFound.
func (s *Store) Get(doctype, name string) (*Record, error) {
	return getRecord(s.db, doctype, name)
}

// Exists reports whether a live document exists.
func (s *Store) Exists(doctype, name string) (bool, error) {
	_, closer, err := s.db.Get(docKey(doctype, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("projections: get: %w", err)
	}
	closer.Close()
	return true, nil
}

// Head returns the head of a document's subject as this store last saw
// it: the live record, or the tombstone of a deleted document. A zero Head
// means the name was never used.
func (s *Store) Head(doctype, name string) (Head, error) {
	rec, err := getRecord(s.db, doctype, name)
	if err == nil {
		return Head{Seq: rec.Seq, Version: rec.Version, Hash: rec.Hash}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Head{}, err
	}
	rec, err = readRecord(s.db, tombstoneKey(doctype, name))
	if errors.Is(err, ErrNotFound) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, err
	}
	return Head{Seq: rec.Seq, Version: rec.Version, Hash: rec.Hash, Deleted: true}, nil
}

// VersionSeq returns the stream sequence of a document version.
func (s *Store) VersionSeq(doctype, name string, version uint64) (eventlog.Seq, error) {
	v, closer, err := s.db.Get(versionKey(doctype, name, version))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	return eventlog.Seq(binary.BigEndian.Uint64(v)), nil
}

func getCount(r reader, key []byte) (int64, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("projections: corrupt counter")
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// pebbleLogger sends Pebble's log to slog at debug level (errors as
// errors).
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	panic(fmt.Sprintf(format, args...))
}

// FindName finds the stored name of a document by its name compared
// without regard to case, through the name index.
func (s *Store) FindName(doctype, name string) (string, bool, error) {
	return findName(s.db, doctype, name)
}

func findName(r reader, doctype, name string) (string, bool, error) {
	prefix := appendIndexValue(indexPrefix(doctype, meta.FieldName), name)
	it, err := r.NewIter(prefixRange(prefix))
	if err != nil {
		return "", false, err
	}
	defer it.Close()
	base := len(indexPrefix(doctype, meta.FieldName))
	want := query.FoldKey(name)
	for it.First(); it.Valid(); it.Next() {
		_, stored, err := nameOfIndexKey(base, it.Key())
		if err != nil {
			return "", false, err
		}
		if query.FoldKey(stored) == want {
			return stored, true, nil
		}
	}
	return "", false, it.Error()
}
