package projections

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
	"docket/projections/keys"
	"docket/projections/meta"
	"docket/projections/query"
)

// batch applies events to one Pebble batch, together with the
// checkpoint, and keeps the registry changes they make.
//
// The batch is a plain (write-only) one unless it holds a DocType event:
// an indexed batch keeps a skiplist of its keys so that reads see its own
// writes, which cost a sixth of the projector's time for the one read
// most events need, their reverse entry. A plain batch keeps the reverse
// entries it writes in a map instead and reads the rest from the store
// (the projector is its only writer). A DocType event may re-index a
// doctype, which reads documents the batch wrote, so it gets an indexed
// batch of its own.
type batch struct {
	b          *pebble.Batch
	db         *pebble.DB
	indexed    bool
	reverse    map[string][]byte        // plain batch: reverse entries written; nil value: deleted
	reg        map[string]*meta.DocType // copy-on-write registry
	regChanged bool
	last       eventlog.Seq
	events     int
	touched    map[string]bool // doctypes whose documents changed
	// counts holds the counter changes of the batch, written once each
	// at commit: a counter is read and written once per batch, not once
	// per event.
	counts map[string]int64
	plans  map[string]*indexPlan // by doctype; reset when the registry changes
	// committed, if set, runs after the batch is written and before its
	// checkpoint is published.
	committed func()
}

// indexPlan is what indexing a document of a doctype needs, worked out
// once per batch rather than per event: the fields with their types and
// the key prefixes of their index entries and counters.
type indexPlan struct {
	fields     []plannedField // single-field indexes
	composites []plannedComposite
	counted    []plannedField // counters (prefix: of the counter key)
}

type plannedField struct {
	name, ftype string
	prefix      []byte
}

type plannedComposite struct {
	prefix []byte
	cols   []plannedField // prefix unused
}

func (ab *batch) plan(d *meta.DocType) *indexPlan {
	if p := ab.plans[d.Name]; p != nil {
		return p
	}
	field := func(f string, prefix []byte) plannedField {
		ft, _ := d.FieldType(f)
		return plannedField{name: f, ftype: ft, prefix: prefix}
	}
	p := &indexPlan{}
	for _, f := range d.IndexedFields() {
		p.fields = append(p.fields, field(f, indexPrefix(d.Name, f)))
	}
	for _, cols := range d.Indexes {
		c := plannedComposite{prefix: indexPrefix(d.Name, CompositeName(cols))}
		for _, f := range cols {
			c.cols = append(c.cols, field(f, nil))
		}
		p.composites = append(p.composites, c)
	}
	for _, f := range d.CountedFields() {
		p.counted = append(p.counted, field(f, keys.AppendString(countKey(d.Name, "", nil), f)))
	}
	if ab.plans == nil {
		ab.plans = map[string]*indexPlan{}
	}
	ab.plans[d.Name] = p
	return p
}

func (s *Store) newBatch(indexed bool) *batch {
	ab := &batch{db: s.db, indexed: indexed, reg: s.registry.snapshot()}
	if indexed {
		ab.b = s.db.NewIndexedBatch()
	} else {
		ab.b = s.db.NewBatch()
		ab.reverse = map[string][]byte{}
	}
	return ab
}

// needsIndexedBatch reports whether a message must be applied in an
// indexed batch: whether it is an event of a DocType document.
func needsIndexedBatch(m *eventlog.Msg) bool {
	return strings.HasPrefix(m.Subject, docTypeSubjects)
}

var docTypeSubjects = strings.TrimSuffix(eventlog.DocTypeSubjects("DocType"), "*")

// setReverse writes (or, with v nil, deletes) a reverse entry.
func (ab *batch) setReverse(key, v []byte) error {
	if ab.reverse != nil {
		ab.reverse[string(key)] = v
	}
	if v == nil {
		return ab.b.Delete(key, nil)
	}
	return ab.b.Set(key, v, nil)
}

// getReverse reads a reverse entry as the batch would leave it; the
// value is the caller's.
func (ab *batch) getReverse(key []byte) ([]byte, error) {
	if v, ok := ab.reverse[string(key)]; ok {
		if v == nil {
			return nil, pebble.ErrNotFound
		}
		return v, nil
	}
	v, closer, err := ab.reader().Get(key)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// reader reads what the batch does not hold itself: the committed store
// for a plain batch; an indexed batch reads through itself (a re-index
// resets counters and reverse entries in it).
func (ab *batch) reader() reader {
	if ab.indexed {
		return ab.b
	}
	return ab.db
}

// BadEvent is an event the projector cannot apply (it does not decode,
// or contradicts its subject): it is skipped, unlike a storage error.
type BadEvent struct {
	Seq     eventlog.Seq
	Subject string
	Err     error
}

func (e *BadEvent) Error() string { return fmt.Sprintf("event at seq %d: %v", e.Seq, e.Err) }
func (e *BadEvent) Unwrap() error { return e.Err }

// applyMsg applies one stream message. Messages that are not document
// events (uniqueness claims, counters) only advance the checkpoint.
func (ab *batch) applyMsg(m *eventlog.Msg) error {
	ab.last = m.Seq
	ab.events++
	if !strings.HasPrefix(m.Subject, eventlog.DocsPrefix) {
		return nil
	}
	ev, err := decodeEvent(m.Data)
	if err != nil {
		return &BadEvent{m.Seq, m.Subject, err}
	}
	if err := ab.check(m, ev); err != nil {
		return &BadEvent{m.Seq, m.Subject, err}
	}
	return ab.applyEvent(m.Seq, m.Data, ev)
}

// check refuses an event before anything is written: an unknown format, a
// doctype and name that are not its subject's, a DocType document that
// does not parse.
func (ab *batch) check(m *eventlog.Msg, ev *eventlog.Event) error {
	if ev.Format < 1 || ev.Format > eventlog.Format {
		return fmt.Errorf("envelope format %d is not supported (at most %d)", ev.Format, eventlog.Format)
	}
	dt, name, err := eventlog.ParseDocSubject(m.Subject)
	if err != nil {
		return err
	}
	if dt != ev.DocType || name != ev.Name {
		return fmt.Errorf("envelope for %s %q on the subject of %s %q", ev.DocType, ev.Name, dt, name)
	}
	if dt == "DocType" && !ev.Deleted() && !meta.IsCore(name) {
		d, err := parseDocType(ev.Doc)
		if err != nil {
			return fmt.Errorf("DocType %s: %w", name, err)
		}
		if d.Name != name {
			return fmt.Errorf("DocType document %q names itself %q", name, d.Name)
		}
	}
	return nil
}

func (ab *batch) applyEvent(seq eventlog.Seq, payload []byte, ev *eventlog.Event) error {
	dt, name := ev.DocType, ev.Name
	if ab.touched == nil {
		ab.touched = map[string]bool{}
	}
	ab.touched[dt] = true
	// Version 1 starts a subject: there is nothing to unindex. Otherwise
	// the reverse entry, which every live document has, says whether a
	// version is live and holds its index entries.
	if ev.Version > 1 {
		existed, err := ab.unindex(dt, name)
		if err != nil {
			return err
		}
		if existed {
			ab.addCount(countKey(dt, "", nil), -1)
		}
	}
	var seqBuf [8]byte
	binary.BigEndian.PutUint64(seqBuf[:], uint64(seq))
	if err := ab.b.Set(versionKey(dt, name, ev.Version), seqBuf[:], nil); err != nil {
		return err
	}
	rec := &Record{Seq: seq, Version: ev.Version, Hash: eventlog.Hash(payload), Doc: ev.Doc}
	if ev.Deleted() {
		rec.Doc = nil
		if err := ab.put(tombstoneKey(dt, name), rec); err != nil {
			return err
		}
		if err := ab.b.Delete(docKey(dt, name), nil); err != nil {
			return err
		}
	} else {
		if rec.Doc == nil {
			rec.Doc = map[string]any{}
		}
		if err := ab.put(docKey(dt, name), rec); err != nil {
			return err
		}
		// Only a delete writes a tombstone, never before version 2.
		if ev.Version > 1 {
			if err := ab.b.Delete(tombstoneKey(dt, name), nil); err != nil {
				return err
			}
		}
		if err := ab.index(ab.reg[dt], dt, name, rec.Doc); err != nil {
			return err
		}
		ab.addCount(countKey(dt, "", nil), 1)
	}
	if dt == "DocType" && !meta.IsCore(name) {
		return ab.updateRegistry(name, rec.Doc, ev.Deleted())
	}
	return nil
}

// maxIndexedString bounds the bytes of a string value kept in an index
// key; longer values are cut (queries re-check and re-sort candidates).
const maxIndexedString = 512

func (ab *batch) put(key []byte, rec *Record) error {
	v, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	return ab.b.Set(key, v, nil)
}

// CompositeName names a composite index among a doctype's indexes: its
// fields joined by commas, which no field name contains.
func CompositeName(cols []string) string { return strings.Join(cols, ",") }

func indexPrefix(doctype, field string) []byte {
	return keys.AppendString(keys.AppendString([]byte{prefixIndex}, doctype), field)
}

// countKey builds c(doctype) when field is "", else c(doctype, field,
// value), with the whole case-folded value (never cut: counts are exact).
func countKey(doctype, field string, value any) []byte {
	k := keys.AppendString([]byte{prefixCount}, doctype)
	if field == "" {
		return k
	}
	return appendCountValue(keys.AppendString(k, field), value)
}

// appendCountValue ends a counter key with its value.
func appendCountValue(k []byte, value any) []byte {
	if s, ok := value.(string); ok {
		return keys.AppendString(k, query.FoldKey(s))
	}
	return appendIndexValue(k, value)
}

// appendIndexValue encodes a stored value for an index: strings are
// case-folded (query.FoldKey: MariaDB's default collation compares
// case-insensitively) and cut to maxIndexedString bytes.
func appendIndexValue(k []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return keys.AppendNull(k)
	case string:
		s := query.FoldKey(x)
		if len(s) > maxIndexedString {
			s = s[:maxIndexedString]
		}
		return keys.AppendString(k, s)
	case int64:
		return keys.AppendInt(k, x)
	case float64:
		return keys.AppendFloat(k, x)
	case bool:
		if x {
			return keys.AppendInt(k, 1)
		}
		return keys.AppendInt(k, 0)
	}
	return keys.AppendString(k, fmt.Sprint(v))
}

// IndexValue converts a stored value to the type the index of a field
// type holds, so that one index never mixes types.
func IndexValue(fieldtype string, v any) any {
	if v == nil {
		return nil
	}
	switch k, _ := meta.KindOf(fieldtype); k {
	case meta.KindInt:
		switch x := v.(type) {
		case int64:
			return x
		case float64:
			return int64(x)
		case string:
			n, _ := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			return n
		}
	case meta.KindFloat:
		switch x := v.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		case string:
			f, _ := strconv.ParseFloat(strings.TrimSpace(x), 64)
			return f
		}
	default:
		switch x := v.(type) {
		case string:
			return x
		case int64:
			return strconv.FormatInt(x, 10)
		case float64:
			return meta.FormatFloat(x)
		}
	}
	return nil
}

// NameString is the string form of a document name (autoincrement names
// are integers in documents).
func NameString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// index writes a document's index entries and counters, and remembers
// them in its reverse entry.
func (ab *batch) index(d *meta.DocType, doctype, name string, doc map[string]any) error {
	if d == nil {
		d = &meta.DocType{Name: doctype}
	}
	p := ab.plan(d)
	held := make([][]byte, 0, len(p.fields)+len(p.composites)+len(p.counted))
	// keyFrom starts a key with a copy of prefix, with room for the rest.
	keyFrom := func(prefix []byte) []byte {
		return append(make([]byte, 0, len(prefix)+len(name)+64), prefix...)
	}
	for _, f := range p.fields {
		k := appendIndexValue(keyFrom(f.prefix), IndexValue(f.ftype, fieldValue(doc, f.name, name)))
		k = keys.AppendString(k, name)
		if err := ab.b.Set(k, nil, nil); err != nil {
			return err
		}
		held = append(held, k)
	}
	for _, c := range p.composites {
		k := keyFrom(c.prefix)
		for _, f := range c.cols {
			k = appendIndexValue(k, IndexValue(f.ftype, fieldValue(doc, f.name, name)))
		}
		k = keys.AppendString(k, name)
		if err := ab.b.Set(k, nil, nil); err != nil {
			return err
		}
		held = append(held, k)
	}
	for _, f := range p.counted {
		k := appendCountValue(keyFrom(f.prefix), IndexValue(f.ftype, fieldValue(doc, f.name, name)))
		ab.addCount(k, 1)
		held = append(held, k)
	}
	return ab.setReverse(reverseKey(doctype, name), encodeReverse(held))
}

// fieldValue reads a field of a document for indexing.
func fieldValue(doc map[string]any, field, name string) any {
	if field == meta.FieldName {
		if v, ok := doc[field]; ok && v != nil {
			return v
		}
		return name
	}
	return doc[field]
}

// unindex removes the index entries and counts a document holds, and
// reports whether it held any (whether a version of it was live).
func (ab *batch) unindex(doctype, name string) (existed bool, err error) {
	rk := reverseKey(doctype, name)
	v, err := ab.getReverse(rk)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	held, err := decodeReverse(v)
	if err != nil {
		return false, fmt.Errorf("projections: reverse entry of %s %s: %w", doctype, name, err)
	}
	for _, k := range held {
		switch k[0] {
		case prefixIndex:
			if err := ab.b.Delete(k, nil); err != nil {
				return false, err
			}
		case prefixCount:
			ab.addCount(k, -1)
		}
	}
	return true, ab.setReverse(rk, nil)
}

// addCount changes a counter by delta, at commit.
func (ab *batch) addCount(key []byte, delta int64) {
	if ab.counts == nil {
		ab.counts = map[string]int64{}
	}
	ab.counts[string(key)] += delta
}

// writeCounts writes the batch's counter changes.
func (ab *batch) writeCounts() error {
	for key, delta := range ab.counts {
		if delta == 0 {
			continue
		}
		k := []byte(key)
		n, err := getCount(ab.reader(), k)
		if err != nil {
			return err
		}
		n += delta
		if n <= 0 {
			err = ab.b.Delete(k, nil)
		} else {
			var buf [8]byte
			binary.BigEndian.PutUint64(buf[:], uint64(n))
			err = ab.b.Set(k, buf[:], nil)
		}
		if err != nil {
			return err
		}
	}
	ab.counts = nil
	return nil
}

// updateRegistry applies a DocType document to the batch's registry and
// re-indexes the doctype's documents when its indexed fields changed.
func (ab *batch) updateRegistry(name string, doc map[string]any, deleted bool) error {
	old := ab.reg[name]
	var d *meta.DocType
	if !deleted {
		var err error
		if d, err = parseDocType(doc); err != nil {
			return fmt.Errorf("DocType %s: %w", name, err)
		}
	}
	if !ab.regChanged {
		ab.reg = maps.Clone(ab.reg)
		ab.regChanged = true
	}
	ab.plans = nil
	if d == nil {
		delete(ab.reg, name)
		return nil
	}
	ab.reg[name] = d
	if old != nil && slices.Equal(old.IndexedFields(), d.IndexedFields()) &&
		slices.Equal(old.CountedFields(), d.CountedFields()) && fieldTypesEqual(old, d) &&
		slices.EqualFunc(old.Indexes, d.Indexes, slices.Equal) {
		return nil
	}
	return ab.reindex(d)
}

func fieldTypesEqual(a, b *meta.DocType) bool {
	fields := a.IndexedFields()
	for _, cols := range a.Indexes {
		fields = append(fields, cols...)
	}
	for _, f := range fields {
		ta, _ := a.FieldType(f)
		tb, _ := b.FieldType(f)
		if ta != tb {
			return false
		}
	}
	return true
}

// reindex rebuilds every index entry and count of a doctype.
func (ab *batch) reindex(d *meta.DocType) error {
	type doc struct {
		name string
		doc  map[string]any
	}
	var docs []doc
	if !ab.indexed {
		return errors.New("projections: re-index in a plain batch")
	}
	prefix := doctypePrefix(prefixDoc, d.Name)
	it, err := ab.b.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keys.PrefixEnd(prefix)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		rec, err := decodeRecord(bytes.Clone(it.Value()))
		if err != nil {
			it.Close()
			return err
		}
		docs = append(docs, doc{NameString(rec.Doc[meta.FieldName]), rec.Doc})
	}
	if err := it.Close(); err != nil {
		return err
	}
	// Pending counter changes first: the range delete below then clears
	// them with the rest.
	if err := ab.writeCounts(); err != nil {
		return err
	}
	for _, p := range [][]byte{doctypePrefix(prefixIndex, d.Name), doctypePrefix(prefixCount, d.Name), doctypePrefix(prefixReverse, d.Name)} {
		if err := ab.b.DeleteRange(p, keys.PrefixEnd(p), nil); err != nil {
			return err
		}
	}
	for _, x := range docs {
		if err := ab.index(d, d.Name, x.name, x.doc); err != nil {
			return err
		}
	}
	if len(docs) > 0 {
		ab.addCount(countKey(d.Name, "", nil), int64(len(docs)))
	}
	return nil
}

// commit writes the checkpoint into the batch and commits it without
// fsync: the log is the durable copy, and a lost tail is re-applied.
func (ab *batch) commit() error {
	if err := ab.writeCounts(); err != nil {
		return err
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(ab.last))
	if err := ab.b.Set(checkpointKey, buf[:], nil); err != nil {
		return err
	}
	if err := ab.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("projections: commit: %w", err)
	}
	return ab.b.Close()
}

// encodeReverse writes a reverse entry as msgpack writes a [][]byte.
func encodeReverse(held [][]byte) []byte {
	if held == nil {
		return []byte{0xc0}
	}
	v := make([]byte, 0, 64*len(held))
	v = appendLen(v, len(held), 0x90, 15, 0, 0xdc, 0xdd)
	for _, k := range held {
		v = appendBin(v, k)
	}
	return v
}

// decodeReverse reads a reverse entry: a msgpack array of byte strings
// (index keys and counter keys).
func decodeReverse(v []byte) ([][]byte, error) {
	d := fastDecoder{b: v}
	held, err := d.binArray()
	if err == nil && d.i == len(v) {
		return held, nil
	}
	held = nil
	return held, msgpack.Unmarshal(v, &held)
}
