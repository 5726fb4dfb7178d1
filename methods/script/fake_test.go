package script

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// errNotFound is the fake Env's missing-document error.
var errNotFound = errors.New("not found")

// fakeEnv is an in-memory Env: doctype → name → document, new documents
// named doctype-N, equality filters only.
type fakeEnv struct {
	mu      sync.Mutex
	user    string
	now     time.Time
	docs    map[string]map[string]map[string]any
	seq     map[string]int
	patches []map[string]any // every Update patch, in order
	lists   []map[string]any // every GetList args, in order
	sets    []setCall        // every SetValue, in order
	gets    []string         // every GetDoc, as "doctype/name", in order

	// afterUpdate, when set, runs after every Update, as docket's save
	// path runs "After Save" scripts; SetValue does not run it.
	afterUpdate func(ctx context.Context, doctype, name string) error
	// uncommitted, when set, makes Insert keep new documents out of
	// GetList and Count (which see only committed documents in docket)
	// while GetDoc and Exists see them (they see the transaction's writes).
	uncommitted bool
	pending     map[string]bool // "doctype/name" of uncommitted documents
	// panicOn makes GetDoc of this name panic, standing for a bug.
	panicOn string
}

// setCall is one SetValue call.
type setCall struct {
	doctype, name string
	values        map[string]any
}

func newFakeEnv() *fakeEnv {
	return &fakeEnv{
		user: "alice@example.com",
		now:  time.Date(2024, 1, 31, 10, 20, 30, 123456000, time.FixedZone("IST", 5*3600+1800)),
		docs: map[string]map[string]map[string]any{},
		seq:  map[string]int{},
	}
}

func (f *fakeEnv) put(doctype string, doc map[string]any) {
	if f.docs[doctype] == nil {
		f.docs[doctype] = map[string]map[string]any{}
	}
	f.docs[doctype][doc["name"].(string)] = deepCopy(doc).(map[string]any)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

func (f *fakeEnv) User() string   { return f.user }
func (f *fakeEnv) Now() time.Time { return f.now }

func (f *fakeEnv) GetDoc(_ context.Context, doctype, name string) (map[string]any, error) {
	if f.panicOn != "" && name == f.panicOn {
		panic("boom")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, doctype+"/"+name)
	d, ok := f.docs[doctype][name]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", doctype, name, errNotFound)
	}
	return deepCopy(d).(map[string]any), nil
}

func (f *fakeEnv) Exists(_ context.Context, doctype, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.docs[doctype][name]
	return ok, nil
}

// match applies equality filters: a map, or a list of [field, "=", value].
func match(doc map[string]any, filters any) bool {
	switch fl := filters.(type) {
	case map[string]any:
		for k, v := range fl {
			if fmt.Sprint(doc[k]) != fmt.Sprint(v) {
				return false
			}
		}
	case []any:
		for _, e := range fl {
			c := e.([]any)
			if fmt.Sprint(doc[c[0].(string)]) != fmt.Sprint(c[len(c)-1]) {
				return false
			}
		}
	}
	return true
}

func (f *fakeEnv) matching(doctype string, filters any) []map[string]any {
	var names []string
	for n, d := range f.docs[doctype] {
		if match(d, filters) && !f.pending[doctype+"/"+n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = f.docs[doctype][n]
	}
	return out
}

func (f *fakeEnv) GetList(_ context.Context, doctype string, args map[string]any) ([]map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, deepCopy(args).(map[string]any))
	rows := f.matching(doctype, args["filters"])
	if s, _ := args["limit_start"].(int64); s > 0 {
		rows = rows[min(int(s), len(rows)):]
	}
	if n, _ := args["limit_page_length"].(int64); n > 0 && int(n) < len(rows) {
		rows = rows[:n]
	}
	fields, _ := args["fields"].([]any)
	if len(fields) == 0 {
		fields = []any{"name"}
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		row := map[string]any{}
		for _, fl := range fields {
			if fl == "*" {
				row = deepCopy(r).(map[string]any)
				continue
			}
			row[fl.(string)] = deepCopy(r[fl.(string)])
		}
		out[i] = row
	}
	return out, nil
}

func (f *fakeEnv) Count(_ context.Context, doctype string, filters any) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.matching(doctype, filters))), nil
}

func (f *fakeEnv) Insert(_ context.Context, doctype string, doc map[string]any) (map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := deepCopy(doc).(map[string]any)
	if n, _ := d["name"].(string); n == "" {
		f.seq[doctype]++
		d["name"] = fmt.Sprintf("%s-%d", doctype, f.seq[doctype])
	}
	d["owner"] = f.user
	if f.docs[doctype] == nil {
		f.docs[doctype] = map[string]map[string]any{}
	}
	f.docs[doctype][d["name"].(string)] = d
	if f.uncommitted {
		if f.pending == nil {
			f.pending = map[string]bool{}
		}
		f.pending[doctype+"/"+d["name"].(string)] = true
	}
	return deepCopy(d).(map[string]any), nil
}

func (f *fakeEnv) Update(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error) {
	res, err := f.write(doctype, name, patch, "2024-01-31 10:20:31.000000", &f.patches)
	if err == nil && f.afterUpdate != nil {
		if err := f.afterUpdate(ctx, doctype, name); err != nil {
			return nil, err
		}
	}
	return res, err
}

func (f *fakeEnv) SetValue(_ context.Context, doctype, name string, values map[string]any) (map[string]any, error) {
	f.mu.Lock()
	f.sets = append(f.sets, setCall{doctype, name, deepCopy(values).(map[string]any)})
	f.mu.Unlock()
	return f.write(doctype, name, values, "2024-01-31 10:20:32.000000", nil)
}

// write stores values into a document, logging them into log if not nil.
func (f *fakeEnv) write(doctype, name string, values map[string]any, modified string, log *[]map[string]any) (map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.docs[doctype][name]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", doctype, name, errNotFound)
	}
	if log != nil {
		*log = append(*log, deepCopy(values).(map[string]any))
	}
	for k, v := range values {
		d[k] = deepCopy(v)
	}
	d["modified"] = modified
	return deepCopy(d).(map[string]any), nil
}

func (f *fakeEnv) Delete(_ context.Context, doctype, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.docs[doctype][name]; !ok {
		return fmt.Errorf("%s %s: %w", doctype, name, errNotFound)
	}
	delete(f.docs[doctype], name)
	return nil
}
