package methods

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"time"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/meta"
)

// Tx is one transaction: reads see its own buffered writes, and its
// events, uniqueness claims and series counters commit together.
type Tx struct {
	docs       *Docs
	user       string
	id         string
	fresh      bool // read heads from the log, not the projections
	hookDepth  int  // hooks running now, nested
	system     bool // bootstrap: links unchecked, core doctypes and names settable, no hooks
	readOnly   bool // a GET call: every write fails
	sudo       int  // inside IgnorePermissions
	attaching  int  // inside AttachFile: a File may name stored content
	versioning int  // inside trackChanges: a Version may be written
	acc        *access
	now        time.Time

	writes []eventlog.Write
	staged map[docRef]*staged
	// seen holds the version of every document the transaction read: it
	// reads the same version again, and writes on top of it, so a write
	// computed from a read conflicts if the document moved in between.
	seen     map[docRef]seenDoc
	claims   map[string]*claimState
	counters map[string]*counterState
	secrets  []secret
	forget   []forget
	ended    []string // users disabled: their sessions end once committed
	messages []string // msgprint of hooks and scripts
}

// Messages are the user-facing messages hooks and scripts printed.
func (tx *Tx) Messages() []string { return tx.messages }

// forget is a deleted document whose secrets go once the delete commits.
type forget struct {
	doctype, name string
	fields        []string
	apiKey        string
}

type docRef struct{ doctype, name string }

// staged is a document this transaction wrote.
type staged struct {
	orig  map[string]any // before the transaction; nil if absent
	head  projections.Head
	doc   map[string]any // now; nil if deleted
	typ   eventlog.Type  // "" when the transaction leaves the subject as it found it
	write int            // index in Tx.writes
	// renamedFrom and renamedTo are the other name of a rename.
	renamedFrom, renamedTo string
}

type secret struct{ doctype, name, field, value string }

// User is the user the transaction acts for.
func (tx *Tx) User() string { return tx.user }

// Now is the transaction's timestamp in the site time zone.
func (tx *Tx) Now() string { return nowString(tx.now, tx.docs.opts.Location) }

// seenDoc is a document version a transaction read.
type seenDoc struct {
	doc  map[string]any
	head projections.Head
}

// read returns a document and its head: from this transaction's writes,
// else the version it read before, else from the projections, else
// (after a lost race) from the log.
func (tx *Tx) read(ctx context.Context, doctype, name string) (map[string]any, projections.Head, error) {
	ref := docRef{doctype, name}
	if s, ok := tx.staged[ref]; ok {
		return cloneDoc(s.doc), s.head, nil
	}
	if s, ok := tx.seen[ref]; ok {
		return cloneDoc(s.doc), s.head, nil
	}
	doc, head, err := tx.readFirst(ctx, doctype, name)
	if err != nil {
		return nil, head, err
	}
	if tx.seen == nil {
		tx.seen = map[docRef]seenDoc{}
	}
	tx.seen[ref] = seenDoc{doc: cloneDoc(doc), head: head}
	return doc, head, nil
}

func (tx *Tx) readFirst(ctx context.Context, doctype, name string) (map[string]any, projections.Head, error) {
	if tx.fresh {
		return tx.readLog(ctx, doctype, name)
	}
	rec, err := tx.docs.store.Get(doctype, name)
	if err == nil {
		return rec.Doc, projections.Head{Seq: rec.Seq, Version: rec.Version, Hash: rec.Hash}, nil
	}
	if !errors.Is(err, projections.ErrNotFound) {
		return nil, projections.Head{}, err
	}
	head, err := tx.docs.store.Head(doctype, name)
	return nil, head, err
}

// readLog reads a document's head straight from the log.
func (tx *Tx) readLog(ctx context.Context, doctype, name string) (map[string]any, projections.Head, error) {
	m, err := tx.docs.log.Head(ctx, eventlog.DocSubject(doctype, name))
	if errors.Is(err, eventlog.ErrNotFound) {
		return nil, projections.Head{}, nil
	}
	if err != nil {
		return nil, projections.Head{}, err
	}
	ev, err := eventlog.DecodeEvent(m.Data)
	if err != nil {
		return nil, projections.Head{}, err
	}
	head := projections.Head{Seq: m.Seq, Version: ev.Version, Hash: eventlog.Hash(m.Data), Deleted: ev.Deleted()}
	if head.Deleted {
		return nil, head, nil
	}
	return ev.Doc, head, nil
}

// Exists reports whether a live document exists, as this transaction
// sees it. A miss in the projections is checked against the log, so a
// document another node wrote a moment ago is found.
func (tx *Tx) Exists(ctx context.Context, doctype, name string) (bool, error) {
	if s, ok := tx.staged[docRef{doctype, name}]; ok {
		return s.doc != nil, nil
	}
	if !tx.fresh {
		if ok, err := tx.docs.store.Exists(doctype, name); err != nil || ok {
			return ok, err
		}
	}
	doc, _, err := tx.readLog(ctx, doctype, name)
	return doc != nil, err
}

// GetDoc returns a document as this transaction sees it.
func (tx *Tx) GetDoc(ctx context.Context, doctype, name string) (map[string]any, error) {
	if _, err := tx.docs.Meta(doctype); err != nil {
		return nil, err
	}
	doc, _, err := tx.read(ctx, doctype, name)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, NotFound(doctype, name)
	}
	return doc, nil
}

// put stages a new version of a document (nil doc: deleted).
func (tx *Tx) put(doctype, name string, typ eventlog.Type, orig map[string]any, head projections.Head, doc map[string]any) error {
	return tx.putEvent(doctype, name, typ, orig, head, doc, "", "")
}

// putEvent stages a version; from or to are the other name of a rename.
// A document written twice in one transaction gets one event that says
// what the transaction did to it: created (insert, or the new name of a
// rename) and then changed is still a creation; created and then deleted
// or renamed away leaves no event at all.
func (tx *Tx) putEvent(doctype, name string, typ eventlog.Type, orig map[string]any, head projections.Head, doc map[string]any, from, to string) error {
	ref := docRef{doctype, name}
	s, ok := tx.staged[ref]
	if !ok {
		s = &staged{orig: orig, head: head, write: len(tx.writes)}
		tx.staged[ref] = s
		tx.writes = append(tx.writes, eventlog.Write{})
	}
	created := s.orig == nil && (s.typ == eventlog.Insert || (s.typ == eventlog.Rename && s.renamedFrom != ""))
	switch {
	case created && doc == nil:
		// Born and gone within the transaction: nothing to write.
		s.doc, s.typ, s.renamedFrom, s.renamedTo = nil, "", "", ""
		tx.writes[s.write] = eventlog.Write{}
		return nil
	case created && typ == eventlog.Update:
		typ = s.typ // still the creation, with its rename origin
	}
	if from != "" || to != "" {
		s.renamedFrom, s.renamedTo = from, to
	} else if typ != eventlog.Rename {
		s.renamedFrom, s.renamedTo = "", ""
	}
	s.doc, s.typ = doc, typ
	ev := &eventlog.Event{
		Format:      eventlog.Format,
		ID:          eventlog.NewID(),
		Type:        typ,
		DocType:     doctype,
		Name:        name,
		Version:     s.head.Version + 1,
		Doc:         doc,
		Changed:     changes(s.orig, doc),
		User:        tx.user,
		Time:        tx.now.UnixMicro(),
		Tx:          tx.id,
		Prev:        s.head.Hash,
		PrevSeq:     s.head.Seq,
		RenamedFrom: s.renamedFrom,
		RenamedTo:   s.renamedTo,
	}
	w, err := eventlog.EventWrite(ev, s.head.Seq)
	if err != nil {
		return err
	}
	tx.writes[s.write] = w
	return nil
}

// metaOf returns a doctype's schema, including a DocType this
// transaction wrote itself.
func (tx *Tx) metaOf(doctype string) *meta.DocType {
	if s, ok := tx.staged[docRef{"DocType", doctype}]; ok && s.doc != nil {
		if d, err := meta.Parse(s.doc); err == nil {
			if meta.IsCore(d.Name) {
				d.Core = true
			}
			return d
		}
	}
	return tx.docs.store.Registry().Get(doctype)
}

// changes lists the top-level fields whose values differ.
func changes(old, cur map[string]any) []eventlog.Change {
	if cur == nil {
		return nil
	}
	var out []eventlog.Change
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		if k == meta.FieldModified {
			continue
		}
		ov := old[k]
		if !reflect.DeepEqual(ov, cur[k]) {
			out = append(out, eventlog.Change{Field: k, Old: ov, New: cur[k]})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := cur[k]; !ok && old[k] != nil {
			out = append(out, eventlog.Change{Field: k, Old: old[k], New: nil})
		}
	}
	return out
}

// claimState tracks one uniqueness claim subject.
type claimState struct {
	claim *eventlog.Claim
	write int
}

// claim makes doctype.field = value belong to name (release: free it). A
// value another document holds is a UniqueValidationError.
func (tx *Tx) claim(ctx context.Context, d *meta.DocType, f *meta.Field, key, name string, release bool) error {
	subject := eventlog.ClaimSubject(d.Name, f.Fieldname, key)
	st, ok := tx.claims[subject]
	var expect eventlog.Seq
	var holder string
	if ok {
		if !st.claim.Released {
			holder = st.claim.Name
		}
		expect = tx.writes[st.write].Expect
	} else {
		m, err := tx.docs.log.Head(ctx, subject)
		switch {
		case errors.Is(err, eventlog.ErrNotFound):
		case err != nil:
			return err
		default:
			var c eventlog.Claim
			if err := eventlog.Unmarshal(m.Data, &c); err != nil {
				return err
			}
			expect = m.Seq
			if !c.Released {
				holder = c.Name
			}
		}
	}
	switch {
	case release && holder != name:
		return nil // not ours to release
	case !release && holder == name:
		return nil // already ours
	case !release && holder != "" && f.Fieldname == meta.FieldName:
		return &Error{Exc: DuplicateEntryError, Title: "Duplicate Name",
			Msg: d.Name + " " + holder + " already exists (names are compared without regard to case)"}
	case !release && holder != "":
		// The holder may be a document the user cannot read: not named.
		return &Error{Exc: UniqueValidationError, Title: "Duplicate Entry",
			Msg: f.DisplayLabel() + " must be unique: another " + d.Name + " already has the value " + key}
	}
	c := &eventlog.Claim{Format: eventlog.Format, ID: eventlog.NewID(), DocType: d.Name, Field: f.Fieldname,
		Value: key, Name: name, Released: release, Tx: tx.id}
	w, err := eventlog.ClaimWrite(c, expect)
	if err != nil {
		return err
	}
	if ok {
		tx.writes[st.write] = w
		st.claim = c
	} else {
		tx.claims[subject] = &claimState{claim: c, write: len(tx.writes)}
		tx.writes = append(tx.writes, w)
	}
	return nil
}

// counterState tracks one naming-series counter.
type counterState struct {
	current int64
	write   int
}

// nextInSeries hands out the next number of a naming series (or raises
// the counter to at least min when min > 0: an autoincrement name given
// by the client).
func (tx *Tx) nextInSeries(ctx context.Context, key string, atLeast int64) (int64, error) {
	subject := eventlog.SeriesSubject(key)
	st, ok := tx.counters[subject]
	var expect eventlog.Seq
	var current int64
	if ok {
		current, expect = st.current, tx.writes[st.write].Expect
	} else {
		m, err := tx.docs.log.Head(ctx, subject)
		switch {
		case errors.Is(err, eventlog.ErrNotFound):
		case err != nil:
			return 0, err
		default:
			var c eventlog.Counter
			if err := eventlog.Unmarshal(m.Data, &c); err != nil {
				return 0, err
			}
			current, expect = c.Current, m.Seq
		}
	}
	next := current + 1
	if atLeast > 0 {
		if atLeast <= current {
			return atLeast, nil
		}
		next = atLeast
	}
	c := &eventlog.Counter{Format: eventlog.Format, ID: eventlog.NewID(), Key: key, Current: next, Tx: tx.id}
	w, err := eventlog.CounterWrite(c, expect)
	if err != nil {
		return 0, err
	}
	if ok {
		tx.writes[st.write] = w
		st.current = next
	} else {
		tx.counters[subject] = &counterState{current: next, write: len(tx.writes)}
		tx.writes = append(tx.writes, w)
	}
	return next, nil
}

// commit appends the transaction's writes atomically, waits until this
// node's projections show them, then stores the secrets it collected.
func (tx *Tx) commit(ctx context.Context) (eventlog.Seq, error) {
	writes := make([]eventlog.Write, 0, len(tx.writes))
	for _, w := range tx.writes {
		if w.Subject != "" { // a document created and gone again leaves none
			writes = append(writes, w)
		}
	}
	if len(writes) == 0 {
		return 0, nil
	}
	seqs, err := tx.docs.log.Append(ctx, writes...)
	if err != nil {
		return 0, err
	}
	last := slices.Max(seqs)
	tx.docs.waitApplied(ctx, last)
	// Secrets follow the commit: storing one for a write that failed could
	// overwrite the secret of the document that already has the name.
	store := tx.docs.opts.Secrets
	if store == nil && (len(tx.secrets) > 0 || len(tx.forget) > 0 || len(tx.ended) > 0) {
		return last, internalError("no secret store")
	}
	for _, user := range tx.ended {
		if err := store.EndSessions(ctx, user); err != nil {
			return last, err
		}
	}
	for _, s := range tx.secrets {
		if err := store.SetSecret(ctx, s.doctype, s.name, s.field, s.value); err != nil {
			return last, err
		}
	}
	for _, f := range tx.forget {
		if err := store.ForgetSecrets(ctx, f.doctype, f.name, f.fields, f.apiKey); err != nil {
			return last, err
		}
	}
	return last, nil
}

func cloneDoc(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneDoc(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// savepoint runs fn and, if it fails, undoes what it staged (a method can
// then go on, as Frappe's savepoints allow). A transaction served to
// another process has no savepoints: fn runs as it is.
func savepoint(t Transaction, fn func() error) error {
	tx, ok := t.(*Tx)
	if !ok {
		return fn()
	}
	saved := tx.mark()
	err := fn()
	if err != nil {
		tx.restore(saved)
	}
	return err
}

// txState is a copy of what a transaction has staged.
type txState struct {
	writes   []eventlog.Write
	staged   map[docRef]staged
	claims   map[string]claimState
	counters map[string]counterState
	secrets  int
	forget   int
	ended    int
}

func (tx *Tx) mark() txState {
	st := txState{
		writes:   slices.Clone(tx.writes),
		staged:   make(map[docRef]staged, len(tx.staged)),
		claims:   make(map[string]claimState, len(tx.claims)),
		counters: make(map[string]counterState, len(tx.counters)),
		secrets:  len(tx.secrets),
		forget:   len(tx.forget),
		ended:    len(tx.ended),
	}
	for k, v := range tx.staged {
		st.staged[k] = *v
	}
	for k, v := range tx.claims {
		st.claims[k] = *v
	}
	for k, v := range tx.counters {
		st.counters[k] = *v
	}
	return st
}

func (tx *Tx) restore(st txState) {
	tx.writes = st.writes
	tx.staged = make(map[docRef]*staged, len(st.staged))
	for k, v := range st.staged {
		tx.staged[k] = &v
	}
	tx.claims = make(map[string]*claimState, len(st.claims))
	for k, v := range st.claims {
		tx.claims[k] = &v
	}
	tx.counters = make(map[string]*counterState, len(st.counters))
	for k, v := range st.counters {
		tx.counters[k] = &v
	}
	tx.secrets = tx.secrets[:st.secrets]
	tx.forget = tx.forget[:st.forget]
	tx.ended = tx.ended[:st.ended]
}
