package projections_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
	"docket/projections"
	"docket/projections/keys"
	"docket/projections/meta"
	"docket/projections/query"
)

// testUser writes every event of these tests.
const testUser = "Administrator"

// waitTimeout bounds every wait for the projector.
const waitTimeout = 15 * time.Second

// node is a real embedded JetStream, a Pebble store and its projector.
type node struct {
	t      testing.TB
	nats   *eventlogtest.Env
	log    *eventlog.Log
	dir    string
	store  *projections.Store
	proj   *projections.Projector
	cancel context.CancelFunc
	done   chan error
}

func newNode(t testing.TB) *node {
	t.Helper()
	env := eventlogtest.Start(t, "")
	n := &node{t: t, nats: env, log: env.Log}
	n.open(filepath.Join(t.TempDir(), "pebble"))
	t.Cleanup(n.shutdown) // runs before the server's cleanup
	return n
}

// open opens (or reopens) the store in dir.
func (n *node) open(dir string) {
	n.t.Helper()
	if n.store != nil {
		n.t.Fatal("open: a store is already open")
	}
	s, err := projections.Open(dir, projections.Options{CacheSize: 4 << 20, MemTableSize: 2 << 20})
	if err != nil {
		n.t.Fatal(err)
	}
	n.dir, n.store = dir, s
}

// start runs a projector on the open store.
func (n *node) start() {
	n.t.Helper()
	if n.cancel != nil {
		n.t.Fatal("start: the projector is already running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := projections.NewProjector(n.store, n.log, nil)
	done := make(chan error, 1)
	n.proj, n.cancel, n.done = p, cancel, done
	go func() { done <- p.Run(ctx) }()
}

// stop cancels the projector and waits for it to return. Run documents
// that it returns nil on cancellation; anything else fails the test
// unless the caller collects it (see stopErr).
func (n *node) stop() {
	n.t.Helper()
	if err := n.stopErr(); err != nil {
		n.t.Errorf("projector.Run returned %v on cancellation, want nil", err)
	}
}

// stopErr cancels the projector and returns what Run returned.
func (n *node) stopErr() error {
	if n.cancel == nil {
		return nil
	}
	n.cancel()
	err := <-n.done
	n.cancel, n.done = nil, nil
	return err
}

// closeStore stops the projector and closes the store.
func (n *node) closeStore() {
	n.t.Helper()
	n.stop()
	n.closeOnly()
}

// closeOnly closes the store of a stopped projector.
func (n *node) closeOnly() {
	n.t.Helper()
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.t.Errorf("close store: %v", err)
		}
		n.store = nil
	}
}

func (n *node) shutdown() { n.closeStore() }

// waitFor waits until the store has applied seq.
func (n *node) waitFor(seq eventlog.Seq) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.store.WaitFor(ctx, seq); err != nil {
		n.t.Fatalf("WaitFor(%d): %v (applied %d)", seq, err, n.store.Applied())
	}
}

// docKey names a document.
type docKey struct{ doctype, name string }

// version is one appended version of a document.
type version struct {
	seq  eventlog.Seq
	hash []byte
}

// docState is what the model knows of one document subject.
type docState struct {
	versions []version
	doc      map[string]any // nil when deleted
	deleted  bool
}

// model builds events the way the command side does (standard fields,
// coerced values, stamped child rows, version chain) and remembers what
// it appended, as the reference for dumps and invariants.
type model struct {
	t       testing.TB
	schemas map[string]*meta.DocType // parsed DocTypes (core and registered)
	dropped map[string]bool          // DocTypes that were deleted (their indexes are left as they were)
	docs    map[docKey]*docState
	order   []docKey // first-write order
	clock   time.Time
	rowSeq  int
	last    eventlog.Seq
}

func newModel(t testing.TB) *model {
	return &model{
		t:       t,
		schemas: meta.Core(),
		dropped: map[string]bool{},
		docs:    map[docKey]*docState{},
		clock:   time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// tick advances the clock by one second and returns the new time.
func (m *model) tick() string {
	m.clock = m.clock.Add(time.Second)
	return m.clock.Format(meta.DatetimeLayout)
}

// schema returns the schema of a doctype, or a bare one for a doctype that
// has no DocType (yet): the projector indexes only standard fields then.
func (m *model) schema(doctype string) *meta.DocType {
	if d := m.schemas[doctype]; d != nil {
		return d
	}
	return &meta.DocType{Name: doctype}
}

func (m *model) state(k docKey) *docState {
	st := m.docs[k]
	if st == nil {
		st = &docState{}
		m.docs[k] = st
		m.order = append(m.order, k)
	}
	return st
}

// live returns the live documents of a doctype in name order.
func (m *model) live(doctype string) []map[string]any {
	var names []string
	for k, st := range m.docs {
		if k.doctype == doctype && !st.deleted && st.doc != nil {
			names = append(names, k.name)
		}
	}
	slices.Sort(names)
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = m.docs[docKey{doctype, n}].doc
	}
	return out
}

// setFields applies input values to doc as the command side does: values
// coerced to their field type, tables replaced whole with stamped rows,
// unknown keys of core doctypes dropped. owner, creation, modified and
// docstatus may be given to shape test data.
func (m *model) setFields(d *meta.DocType, doc, in map[string]any, now string) {
	m.t.Helper()
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := in[k]
		switch k {
		case meta.FieldName, meta.FieldDoctype, meta.FieldParent, meta.FieldParentfield, meta.FieldParenttype, meta.FieldIdx:
			continue
		case meta.FieldOwner, meta.FieldModifiedBy:
			doc[k] = v
			continue
		case meta.FieldCreation, meta.FieldModified:
			cv, err := meta.Coerce(meta.Datetime, v, time.UTC)
			if err != nil {
				m.t.Fatalf("%s: %v", k, err)
			}
			doc[k] = cv
			continue
		case meta.FieldDocstatus:
			cv, err := meta.Coerce(meta.Int, v, time.UTC)
			if err != nil {
				m.t.Fatalf("%s: %v", k, err)
			}
			doc[k] = cv
			continue
		}
		f := d.Field(k)
		if f == nil {
			if d.Core || len(d.Fields) == 0 {
				if !d.Core {
					doc[k] = v // no schema yet: stored as given
				}
				continue
			}
			m.t.Fatalf("%s has no field %q", d.Name, k)
		}
		switch f.Kind() {
		case meta.KindNone:
		case meta.KindTable:
			doc[k] = m.rows(f, doc[k], v, now)
		default:
			cv, err := meta.Coerce(f.Fieldtype, v, time.UTC)
			if err != nil {
				m.t.Fatalf("%s.%s = %v: %v", d.Name, k, v, err)
			}
			doc[k] = cv
		}
	}
}

// rows builds a child table; rows that name an existing row keep its
// owner and creation.
func (m *model) rows(tf *meta.Field, old, v any, now string) []any {
	m.t.Helper()
	cd := m.schemas[tf.Options]
	if cd == nil {
		m.t.Fatalf("child doctype %s of %s is not registered", tf.Options, tf.Fieldname)
	}
	existing := map[string]map[string]any{}
	if list, ok := old.([]any); ok {
		for _, r := range list {
			row := r.(map[string]any)
			existing[row[meta.FieldName].(string)] = row
		}
	}
	list, _ := v.([]any)
	out := make([]any, 0, len(list))
	for i, item := range list {
		in, ok := item.(map[string]any)
		if !ok {
			m.t.Fatalf("row %d of %s is not an object", i+1, tf.Fieldname)
		}
		row := map[string]any{}
		name, _ := in[meta.FieldName].(string)
		if prev, ok := existing[name]; ok {
			row[meta.FieldOwner] = prev[meta.FieldOwner]
			row[meta.FieldCreation] = prev[meta.FieldCreation]
		} else {
			if name == "" {
				m.rowSeq++
				name = fmt.Sprintf("row-%04d", m.rowSeq)
			}
			row[meta.FieldOwner] = testUser
			row[meta.FieldCreation] = now
		}
		row[meta.FieldName] = name
		m.setFields(cd, row, in, now)
		row[meta.FieldIdx] = int64(i + 1)
		row[meta.FieldParentfield] = tf.Fieldname
		row[meta.FieldParenttype] = tf.Options // overwritten by stamp
		out = append(out, row)
	}
	return out
}

// stamp sets the standard fields of every child row.
func stamp(d *meta.DocType, doc map[string]any, name string) {
	for _, tf := range d.TableFields() {
		list, _ := doc[tf.Fieldname].([]any)
		for _, r := range list {
			row := r.(map[string]any)
			row[meta.FieldParent] = name
			row[meta.FieldParentfield] = tf.Fieldname
			row[meta.FieldParenttype] = d.Name
			row[meta.FieldDocstatus] = doc[meta.FieldDocstatus]
			row[meta.FieldModified] = doc[meta.FieldModified]
			row[meta.FieldModifiedBy] = doc[meta.FieldModifiedBy]
		}
	}
}

// docName is the stored name value: an integer for autoincrement doctypes.
func docName(d *meta.DocType, name string) any {
	if d.Autoname == "autoincrement" {
		n, err := strconv.ParseInt(name, 10, 64)
		if err == nil {
			return n
		}
	}
	return name
}

// newDoc builds the document of an insert.
func (m *model) newDoc(doctype, name string, in map[string]any) map[string]any {
	m.t.Helper()
	d := m.schema(doctype)
	now := m.tick()
	doc := map[string]any{
		meta.FieldName:       docName(d, name),
		meta.FieldOwner:      testUser,
		meta.FieldCreation:   now,
		meta.FieldModified:   now,
		meta.FieldModifiedBy: testUser,
		meta.FieldDocstatus:  int64(0),
		meta.FieldIdx:        int64(0),
	}
	m.setFields(d, doc, in, now)
	stamp(d, doc, name)
	return doc
}

// patchDoc builds the document of an update from the current version.
func (m *model) patchDoc(doctype, name string, in map[string]any) map[string]any {
	m.t.Helper()
	st := m.docs[docKey{doctype, name}]
	if st == nil || st.deleted {
		m.t.Fatalf("update of %s %s: no such document", doctype, name)
	}
	d := m.schema(doctype)
	now := m.tick()
	doc := deepCopy(st.doc).(map[string]any)
	doc[meta.FieldModified] = now
	doc[meta.FieldModifiedBy] = testUser
	m.setFields(d, doc, in, now)
	stamp(d, doc, name)
	return doc
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// pending is one event waiting to be appended.
type pending struct {
	key     docKey
	w       eventlog.Write
	doc     map[string]any
	deleted bool
}

// event builds the next event of a document subject. Events of one batch
// must name different documents.
func (m *model) event(typ eventlog.Type, doctype, name string, doc map[string]any, edit ...func(*eventlog.Event)) pending {
	m.t.Helper()
	k := docKey{doctype, name}
	st := m.state(k)
	var prev version
	if n := len(st.versions); n > 0 {
		prev = st.versions[n-1]
	}
	ev := &eventlog.Event{
		Format:  eventlog.Format,
		ID:      eventlog.NewID(),
		Type:    typ,
		DocType: doctype,
		Name:    name,
		Version: uint64(len(st.versions)) + 1,
		Doc:     doc,
		User:    testUser,
		Time:    m.clock.UnixMicro(),
		Tx:      eventlog.NewID(),
		Prev:    prev.hash,
		PrevSeq: prev.seq,
	}
	for _, e := range edit {
		e(ev)
	}
	w, err := eventlog.EventWrite(ev, prev.seq)
	if err != nil {
		m.t.Fatal(err)
	}
	return pending{key: k, w: w, doc: doc, deleted: ev.Deleted()}
}

func (m *model) insert(doctype, name string, in map[string]any) pending {
	m.t.Helper()
	return m.event(eventlog.Insert, doctype, name, m.newDoc(doctype, name, in))
}

func (m *model) update(doctype, name string, in map[string]any) pending {
	m.t.Helper()
	return m.event(eventlog.Update, doctype, name, m.patchDoc(doctype, name, in))
}

func (m *model) remove(doctype, name string) pending {
	m.t.Helper()
	if st := m.docs[docKey{doctype, name}]; st == nil || st.deleted {
		m.t.Fatalf("delete of %s %s: no such document", doctype, name)
	}
	m.tick()
	return m.event(eventlog.Delete, doctype, name, nil)
}

// rename moves a document to a new name: the old subject ends with a
// rename event that leaves it deleted, the new one starts with the
// document under its new name. Commit both together.
func (m *model) rename(doctype, from, to string) []pending {
	m.t.Helper()
	st := m.docs[docKey{doctype, from}]
	if st == nil || st.deleted {
		m.t.Fatalf("rename of %s %s: no such document", doctype, from)
	}
	if nst := m.docs[docKey{doctype, to}]; nst != nil && !nst.deleted {
		m.t.Fatalf("rename of %s %s: %s exists", doctype, from, to)
	}
	d := m.schema(doctype)
	now := m.tick()
	doc := deepCopy(st.doc).(map[string]any)
	doc[meta.FieldName] = docName(d, to)
	doc[meta.FieldModified] = now
	doc[meta.FieldModifiedBy] = testUser
	stamp(d, doc, to)
	old := m.event(eventlog.Rename, doctype, from, nil, func(e *eventlog.Event) { e.RenamedTo = to })
	nw := m.event(eventlog.Rename, doctype, to, doc, func(e *eventlog.Event) { e.RenamedFrom = from })
	return []pending{old, nw}
}

// commit appends the events in one Append call and records them.
func (m *model) commit(lg *eventlog.Log, ps ...pending) eventlog.Seq {
	m.t.Helper()
	if len(ps) == 0 {
		return m.last
	}
	seen := map[docKey]bool{}
	writes := make([]eventlog.Write, len(ps))
	for i, p := range ps {
		if seen[p.key] {
			m.t.Fatalf("two events of %v in one append", p.key)
		}
		seen[p.key] = true
		writes[i] = p.w
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	seqs, err := lg.Append(ctx, writes...)
	if err != nil {
		m.t.Fatalf("append: %v", err)
	}
	for i, p := range ps {
		m.record(p, seqs[i])
	}
	return m.last
}

// record remembers an appended event.
func (m *model) record(p pending, seq eventlog.Seq) {
	st := m.state(p.key)
	st.versions = append(st.versions, version{seq: seq, hash: eventlog.Hash(p.w.Data)})
	st.doc, st.deleted = p.doc, p.deleted
	if seq > m.last {
		m.last = seq
	}
	if p.key.doctype != "DocType" || meta.IsCore(p.key.name) {
		return
	}
	if p.deleted {
		delete(m.schemas, p.key.name)
		m.dropped[p.key.name] = true
		return
	}
	d, err := meta.Parse(p.doc)
	if err != nil {
		m.t.Fatalf("DocType %s: %v", p.key.name, err)
	}
	m.schemas[p.key.name] = d
	delete(m.dropped, p.key.name)
}

// appendRaw appends one message that is not built by the model (claims,
// counters, garbage) and records only its sequence.
func (m *model) appendRaw(lg *eventlog.Log, w eventlog.Write) eventlog.Seq {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	seqs, err := lg.Append(ctx, w)
	if err != nil {
		m.t.Fatalf("append %s: %v", w.Subject, err)
	}
	m.last = max(m.last, seqs[0])
	return seqs[0]
}

// ---- dump ----

// dumpStore renders every Pebble key and value of the store, in key
// order. With doctypes, only keys of those doctypes (and the checkpoint)
// are shown. Record hashes are checked against the log's messages.
func dumpStore(t testing.TB, n *node, doctypes ...string) string {
	t.Helper()
	db := projections.DBForTest(n.store)
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var b strings.Builder
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(doctypes) > 0 && k[0] != 'm' {
			vals, err := keys.Decode(k[1:])
			if err == nil && len(vals) > 0 && !slices.Contains(doctypes, fmt.Sprint(vals[0])) {
				continue
			}
		}
		b.WriteString(renderKey(k))
		b.WriteString(renderEntry(t, n, k[0], v))
		b.WriteByte('\n')
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func renderKey(k []byte) string {
	if len(k) == 0 {
		return "<empty key>"
	}
	vals, err := keys.Decode(k[1:])
	if err != nil {
		return fmt.Sprintf("%c <undecodable %x: %v>", k[0], k[1:], err)
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = renderValue(v)
	}
	return fmt.Sprintf("%c (%s)", k[0], strings.Join(parts, ", "))
}

func renderEntry(t testing.TB, n *node, prefix byte, v []byte) string {
	switch prefix {
	case 'i':
		if len(v) == 0 {
			return ""
		}
		return fmt.Sprintf(" = <unexpected value %x>", v)
	case 'c':
		if len(v) != 8 {
			return fmt.Sprintf(" = <bad counter %x>", v)
		}
		return fmt.Sprintf(" = %d", int64(binary.BigEndian.Uint64(v)))
	case 'v', 'm':
		if len(v) != 8 {
			return fmt.Sprintf(" = <bad sequence %x>", v)
		}
		return fmt.Sprintf(" = seq %d", binary.BigEndian.Uint64(v))
	case 'r':
		var held [][]byte
		if err := msgpack.Unmarshal(v, &held); err != nil {
			return fmt.Sprintf(" = <bad reverse entry %x: %v>", v, err)
		}
		var b strings.Builder
		for _, h := range held {
			b.WriteString("\n    ")
			b.WriteString(renderKey(h))
		}
		return b.String()
	case 'd', 't':
		return renderRecord(t, n, v)
	}
	return fmt.Sprintf(" = <unknown prefix, value %x>", v)
}

func renderRecord(t testing.TB, n *node, v []byte) string {
	var rec map[string]any
	if err := msgpack.Unmarshal(v, &rec); err != nil {
		return fmt.Sprintf(" = <bad record %x: %v>", v, err)
	}
	var b strings.Builder
	seq, _ := toInt64(rec["seq"])
	hashNote := "hash ok"
	hash, _ := rec["hash"].([]byte)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	msg, err := n.log.Get(ctx, eventlog.Seq(seq))
	switch {
	case err != nil:
		hashNote = "hash ? (" + err.Error() + ")"
	case !slices.Equal(hash, eventlog.Hash(msg.Data)):
		hashNote = "hash MISMATCH " + hex.EncodeToString(hash)
	}
	fmt.Fprintf(&b, "\n    seq %d, version %s, %s", seq, renderValue(rec["version"]), hashNote)
	for _, k := range slices.Sorted(maps.Keys(rec)) {
		switch k {
		case "seq", "version", "hash", "doc":
		default:
			fmt.Fprintf(&b, "\n    <unexpected %s: %s>", k, renderValue(rec[k]))
		}
	}
	doc, ok := rec["doc"].(map[string]any)
	if !ok {
		fmt.Fprintf(&b, "\n    doc %s", renderValue(rec["doc"]))
		return b.String()
	}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if list, ok := doc[k].([]any); ok && len(list) > 0 {
			fmt.Fprintf(&b, "\n    %s:", k)
			for _, r := range list {
				fmt.Fprintf(&b, "\n      - %s", renderValue(r))
			}
			continue
		}
		fmt.Fprintf(&b, "\n    %s: %s", k, renderValue(doc[k]))
	}
	return b.String()
}

func toInt64(v any) (int64, bool) {
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return r.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(r.Uint()), true
	}
	return 0, false
}

// renderValue writes a value with its type visible: integers bare,
// floats always with a point or exponent, strings quoted.
func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return meta.FormatFloat(x)
	case float32:
		return meta.FormatFloat(float64(x))
	case []byte:
		return "0x" + hex.EncodeToString(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = renderValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, k+": "+renderValue(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if n, ok := toInt64(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("<%T %v>", v, v)
}

// ---- invariants ----

// expIndexValue is the value an index or counter key holds for a stored
// value of a field type (DESIGN §4: one type per index, strings folded and
// cut to the indexed length).
func expIndexValue(t testing.TB, ft string, v any) any {
	t.Helper()
	if v == nil {
		return nil
	}
	k, _ := meta.KindOf(ft)
	switch k {
	case meta.KindInt:
		switch x := v.(type) {
		case int64:
			return x
		case float64:
			return int64(x)
		case string: // a field whose type changed: text indexed as a number
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
		}
	}
	t.Fatalf("unexpected %T value %v of a %s field", v, v, ft)
	return nil
}

func appendExpValue(k []byte, v any) []byte {
	if s, ok := v.(string); ok {
		s = query.FoldKey(s)
		if len(s) > projections.MaxIndexedStringForTest {
			s = s[:projections.MaxIndexedStringForTest]
		}
		return keys.AppendString(k, s)
	}
	return keys.AppendValue(k, v)
}

func tupleKey(prefix byte, parts ...any) []byte {
	k := []byte{prefix}
	for _, p := range parts {
		k = keys.AppendValue(k, p)
	}
	return k
}

// checkInvariants compares the store with the model: records, heads,
// tombstones, the version index, and for every doctype whose schema is
// known, exactly the index, counter and reverse entries its live documents
// must hold; then the checkpoint and the registry.
func checkInvariants(t testing.TB, n *node, m *model) {
	t.Helper()
	s := n.store
	for _, k := range m.order {
		st := m.docs[k]
		last := st.versions[len(st.versions)-1]
		for i, ver := range st.versions {
			seq, err := s.VersionSeq(k.doctype, k.name, uint64(i+1))
			if err != nil || seq != ver.seq {
				t.Errorf("VersionSeq(%v, %d) = %d, %v; want %d", k, i+1, seq, err, ver.seq)
			}
		}
		if _, err := s.VersionSeq(k.doctype, k.name, uint64(len(st.versions)+1)); !errors.Is(err, projections.ErrNotFound) {
			t.Errorf("VersionSeq(%v, %d) = %v; want ErrNotFound", k, len(st.versions)+1, err)
		}
		h, err := s.Head(k.doctype, k.name)
		want := projections.Head{Seq: last.seq, Version: uint64(len(st.versions)), Hash: last.hash, Deleted: st.deleted}
		if err != nil || !reflect.DeepEqual(h, want) {
			t.Errorf("Head(%v) = %+v, %v; want %+v", k, h, err, want)
		}
		rec, err := s.Get(k.doctype, k.name)
		if st.deleted {
			if !errors.Is(err, projections.ErrNotFound) {
				t.Errorf("Get(%v) of a deleted document = %v, %v", k, rec, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Get(%v): %v", k, err)
			continue
		}
		if rec.Seq != last.seq || rec.Version != uint64(len(st.versions)) || !slices.Equal(rec.Hash, last.hash) {
			t.Errorf("Get(%v) = seq %d version %d; want seq %d version %d", k, rec.Seq, rec.Version, last.seq, len(st.versions))
		}
		if !reflect.DeepEqual(rec.Doc, st.doc) {
			t.Errorf("Get(%v).Doc =\n  %s\nwant\n  %s\n(types: %s vs %s)", k, renderValue(rec.Doc), renderValue(st.doc), typesOf(rec.Doc), typesOf(st.doc))
		}
	}

	// Expected i, c and r entries of every doctype with a known schema.
	want := map[string]string{}
	counts := map[string]int64{}
	skip := map[string]bool{}
	for dt := range m.dropped {
		skip[dt] = true
	}
	for _, k := range m.order {
		st := m.docs[k]
		if st.deleted || skip[k.doctype] {
			continue
		}
		d := m.schema(k.doctype)
		var held []string
		for _, f := range d.IndexedFields() {
			ft, _ := d.FieldType(f)
			v := st.doc[f]
			if f == meta.FieldName && v == nil {
				v = k.name
			}
			key := appendExpValue(tupleKey('i', k.doctype, f), expIndexValue(t, ft, v))
			key = keys.AppendString(key, k.name)
			want[string(key)] = ""
			held = append(held, renderKey(key))
		}
		for _, cols := range d.Indexes {
			key := tupleKey('i', k.doctype, strings.Join(cols, ","))
			for _, f := range cols {
				ft, _ := d.FieldType(f)
				v := st.doc[f]
				if f == meta.FieldName && v == nil {
					v = k.name
				}
				key = appendExpValue(key, expIndexValue(t, ft, v))
			}
			key = keys.AppendString(key, k.name)
			want[string(key)] = ""
			held = append(held, renderKey(key))
		}
		for _, f := range d.CountedFields() {
			ft, _ := d.FieldType(f)
			key := appendExpValue(tupleKey('c', k.doctype, f), expIndexValue(t, ft, st.doc[f]))
			counts[string(key)]++
			held = append(held, renderKey(key))
		}
		counts[string(tupleKey('c', k.doctype))]++
		slices.Sort(held)
		want[string(tupleKey('r', k.doctype, k.name))] = strings.Join(held, "\n")
	}
	for k, c := range counts {
		want[k] = strconv.FormatInt(c, 10)
	}
	got := map[string]string{}
	db := projections.DBForTest(s)
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		switch k[0] {
		case 'i', 'c', 'r':
		default:
			continue
		}
		vals, err := keys.Decode(k[1:])
		if err != nil || len(vals) == 0 {
			t.Errorf("undecodable key %q", k)
			continue
		}
		if dt, _ := vals[0].(string); skip[dt] {
			continue
		}
		v := it.Value()
		switch k[0] {
		case 'i':
			got[string(k)] = string(v)
		case 'c':
			got[string(k)] = strconv.FormatInt(int64(binary.BigEndian.Uint64(v)), 10)
		case 'r':
			var held [][]byte
			if err := msgpack.Unmarshal(v, &held); err != nil {
				t.Errorf("reverse entry %s: %v", renderKey(k), err)
			}
			var rs []string
			for _, h := range held {
				rs = append(rs, renderKey(h))
			}
			slices.Sort(rs)
			got[string(k)] = strings.Join(rs, "\n")
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("missing %s (want %q)", renderKey([]byte(k)), want[k])
		case g != want[k]:
			t.Errorf("%s = %q, want %q", renderKey([]byte(k)), g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %q", renderKey([]byte(k)), got[k])
		}
	}

	cp, err := s.Checkpoint()
	if err != nil || cp != m.last {
		t.Errorf("Checkpoint() = %d, %v; want %d", cp, err, m.last)
	}
	if s.Applied() != m.last {
		t.Errorf("Applied() = %d, want %d", s.Applied(), m.last)
	}
	for name, d := range m.schemas {
		got := s.Registry().Get(name)
		if got == nil {
			t.Errorf("Registry().Get(%q) = nil", name)
			continue
		}
		if schemaSig(got) != schemaSig(d) {
			t.Errorf("Registry().Get(%q) = %s, want %s", name, schemaSig(got), schemaSig(d))
		}
	}
	for name := range m.dropped {
		if s.Registry().Get(name) != nil {
			t.Errorf("Registry().Get(%q) of a deleted DocType is not nil", name)
		}
	}
}

// schemaSig summarises what the projections depend on in a schema.
func schemaSig(d *meta.DocType) string {
	if d == nil {
		return "<nil>"
	}
	var fields []string
	for _, f := range d.Fields {
		fields = append(fields, f.Fieldname+":"+f.Fieldtype+":"+f.Options)
	}
	f, desc := d.Sort()
	return fmt.Sprintf("%s indexed=%v counted=%v composite=%v fields=%v sort=%s/%v autoname=%q table=%v",
		d.Name, d.IndexedFields(), d.CountedFields(), d.Indexes, fields, f, desc, d.Autoname, d.IsTable)
}

// registrySig summarises a whole registry.
func registrySig(r *projections.Registry) string {
	var b strings.Builder
	for _, d := range r.All() {
		b.WriteString(schemaSig(d))
		b.WriteByte('\n')
	}
	return b.String()
}

func typesOf(v any) string {
	switch x := v.(type) {
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, k+":"+typesOf(x[k]))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = typesOf(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("%T", v)
}
