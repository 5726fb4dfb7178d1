package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"docket/projections/keys"
	"docket/projections/meta"
	"docket/projections/query"
)

// Query is a list query over one doctype, in the terms of Frappe's
// get_list: fields, filters (AND), or_filters (OR, then AND-ed with the
// filters), order_by, group_by and paging.
type Query struct {
	DocType string
	// Parent is the parent doctype when DocType is a child table: the
	// query then lists child rows of that parent's documents.
	Parent    string
	Fields    []query.Field     // nil: name only
	Filters   []query.Condition // AND
	OrFilters []query.Condition // OR
	OrderBy   []query.Order     // nil: the doctype's sort field and order
	GroupBy   []query.Order
	Start     int
	Limit     int // 0: no limit
	Env       query.Env
	// Allow, when set, decides which documents the query may see at all
	// (the permissions of the user asking); the filters, paging and counts
	// apply to those. For a child table's rows it gets the parent document.
	Allow func(doc map[string]any) bool
	// Readable, when set, says whether a field of a doctype (the queried
	// one, one of its child tables, a linked one) may be shown: columns it
	// refuses are left out ("*" skips them), conditions, sort keys and
	// groups on them are a DataError.
	Readable func(doctype, field string) bool
}

// Result is the answer to a [Query]: rows of values in column order.
// Values are stored values (canonical date-times, int64, float64 …);
// Types gives each column's field type for formatting.
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
	Plan    string
}

// ErrUnknownDocType is returned for a query on a doctype that does not
// exist.
var ErrUnknownDocType = errors.New("projections: unknown doctype")

// QueryError is a client error in a query: an unknown field, a table that
// is not a child of the doctype, a filter that cannot be compiled.
type QueryError = query.Error

func dataError(format string, args ...any) error {
	return &query.Error{Type: query.DataError, Msg: fmt.Sprintf(format, args...)}
}

// source says where a column, condition or sort key reads its value.
type source struct {
	table *meta.Field // nil: the main document; else a child table field
	link  *meta.Field // a Link field whose target document holds the value
	field string      // fieldname in the main doc, child row or linked doc
	ftype string      // field type
}

func (s source) read(r *row) any {
	var v any
	switch {
	case s.table != nil:
		child := r.children[s.table.Fieldname]
		if child == nil {
			return nil // LEFT JOIN: no child row
		}
		v = child[s.field]
	case s.link != nil:
		v = r.linked(s.link, s.field)
	default:
		v = fieldValue(r.doc, s.field, r.name)
	}
	if v == nil {
		return ZeroOf(s.ftype)
	}
	return v
}

// ZeroOf is what a missing value of a field type reads as: 0 for numeric
// types (Frappe's numeric columns are NOT NULL DEFAULT 0, so a field added
// to a DocType later reads 0 on older documents), NULL otherwise.
func ZeroOf(fieldtype string) any {
	switch k, _ := meta.KindOf(fieldtype); k {
	case meta.KindInt:
		return int64(0)
	case meta.KindFloat:
		return 0.0
	}
	return nil
}

// row is one candidate result row: a document, and for joins one row of
// each joined child table.
type row struct {
	name     string
	doc      map[string]any
	children map[string]map[string]any // table fieldname → child row
	links    map[string]map[string]any // link fieldname → target doc
	ex       *executor
}

func (r *row) linked(link *meta.Field, field string) any {
	d, ok := r.links[link.Fieldname]
	if !ok {
		if target := NameString(r.doc[link.Fieldname]); target != "" {
			d = r.ex.linkedDoc(link.Options, target)
		}
		if r.links == nil {
			r.links = map[string]map[string]any{}
		}
		r.links[link.Fieldname] = d
	}
	if d == nil {
		return nil
	}
	return fieldValue(d, field, NameString(d[meta.FieldName]))
}

type condition struct {
	src  source
	pred query.Predicate
}

type column struct {
	name     string // output key
	src      source
	fn       string // aggregate function or ""
	distinct bool
	star     bool // count(*)
}

type sortKey struct {
	src   source
	desc  bool
	alias int // index of an output column when ordering by an alias, else -1
}

// executor runs one query on one snapshot.
type executor struct {
	snap     *pebble.Snapshot
	reg      *Registry
	d        *meta.DocType
	q        Query
	cols     []column
	and      []condition
	or       []condition
	order    []sortKey
	group    []source
	joins    []*meta.Field // child tables to join, in field order
	linkDoc  map[string]map[string]any
	plan     []string
	examined int
	// childRows: the query lists rows of a child table (counted as rows,
	// not as parent documents).
	childRows bool
}

// List runs a list query.
func (s *Store) List(ctx context.Context, q Query) (*Result, error) {
	ex, err := s.prepare(q)
	if err != nil {
		return nil, err
	}
	defer ex.snap.Close()
	rows, err := ex.run(ctx, false)
	if err != nil {
		return nil, err
	}
	return ex.result(rows), nil
}

// Count counts the documents a query's filters select (joined child rows
// do not multiply the count). It answers from the counters when the
// filters allow: none, or one equality on a counted field.
func (s *Store) Count(ctx context.Context, q Query) (int64, string, error) {
	q.Fields, q.OrderBy, q.GroupBy, q.Start, q.Limit = nil, nil, nil, 0, 0
	ex, err := s.prepare(q)
	if err != nil {
		return 0, "", err
	}
	defer ex.snap.Close()
	if n, ok, err := ex.countFromCounters(); err != nil || ok {
		return n, strings.Join(ex.plan, "; "), err
	}
	rows, err := ex.run(ctx, true)
	if err != nil {
		return 0, "", err
	}
	if ex.childRows {
		return int64(len(rows)), strings.Join(ex.plan, "; "), nil
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.name] = true
	}
	return int64(len(seen)), strings.Join(ex.plan, "; "), nil
}

func (s *Store) prepare(q Query) (*executor, error) {
	s.regMu.RLock()
	defer s.regMu.RUnlock()
	d := s.registry.Get(q.DocType)
	if d == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDocType, q.DocType)
	}
	childRows := d.IsTable
	if childRows {
		var err error
		if d, q, err = s.childQuery(d, q); err != nil {
			return nil, err
		}
	}
	ex := &executor{reg: s.registry, d: d, q: q, linkDoc: map[string]map[string]any{}, childRows: childRows}
	if err := ex.resolve(); err != nil {
		return nil, err
	}
	ex.snap = s.db.NewSnapshot()
	return ex, nil
}

// ErrNoParent is returned for a list of a child table without a valid
// parent doctype.
var ErrNoParent = errors.New("projections: a child table is listed through its parent doctype")

// childQuery turns a list of child rows (doctype a child table, Parent
// its parent doctype) into a query over the parent joined with the table:
// every unqualified field, filter and sort key refers to the child row,
// and parents without rows drop out (an inner join).
func (s *Store) childQuery(child *meta.DocType, q Query) (*meta.DocType, Query, error) {
	parent := s.registry.Get(q.Parent)
	if parent == nil {
		return nil, q, fmt.Errorf("%w: %s needs a valid parent, not %q", ErrNoParent, child.Name, q.Parent)
	}
	var table string
	for _, tf := range parent.TableFields() {
		if tf.Options == child.Name {
			table = tf.Fieldname
			break
		}
	}
	if table == "" {
		return nil, q, fmt.Errorf("%w: %s has no table of %s", ErrNoParent, parent.Name, child.Name)
	}
	onChild := func(t, dt string) (string, string) {
		if (t == "" && dt == "") || dt == child.Name || t == child.Name {
			return table, ""
		}
		return t, dt
	}
	fields := q.Fields
	if len(fields) == 0 {
		fields = []query.Field{{Name: meta.FieldName}}
	}
	q.Fields = nil
	for _, f := range fields {
		if f.Name == "*" && f.Func == "" {
			for _, c := range starColumns(child) {
				q.Fields = append(q.Fields, query.Field{Table: table, Name: c})
			}
			continue
		}
		f.Table, _ = onChild(f.Table, "")
		q.Fields = append(q.Fields, f)
	}
	conds := func(in []query.Condition) []query.Condition {
		out := make([]query.Condition, len(in))
		for i, c := range in {
			c.Table, c.DocType = onChild(c.Table, c.DocType)
			out[i] = c
		}
		return out
	}
	q.Filters = append(conds(q.Filters), query.Condition{Table: table, Field: meta.FieldName, Op: "is", Value: "set"})
	q.OrFilters = conds(q.OrFilters)
	order := q.OrderBy
	if len(order) == 0 {
		order = []query.Order{{Field: meta.FieldIdx}}
	}
	q.OrderBy = nil
	for _, o := range order {
		o.Table, _ = onChild(o.Table, "")
		q.OrderBy = append(q.OrderBy, o)
	}
	for i := range q.GroupBy {
		q.GroupBy[i].Table, _ = onChild(q.GroupBy[i].Table, "")
	}
	q.DocType, q.Parent = parent.Name, ""
	return parent, q, nil
}

// resolveSource finds where table.field lives: the main doctype, one of
// its child tables (by table fieldname or child doctype name), or a
// linked doctype. A bare field missing from the doctype is looked up in
// the child tables, as Frappe does.
func (ex *executor) resolveSource(table, doctype, field string) (source, error) {
	d := ex.d
	if doctype == d.Name && (table == "" || table == d.Name) {
		table = ""
	}
	if table == d.Name {
		table = ""
	}
	if doctype != "" && doctype != d.Name && table == "" {
		table = doctype
	}
	if table == "" {
		if ft, ok := d.FieldType(field); ok {
			return source{field: field, ftype: ft}, nil
		}
		var found []source
		for _, tf := range d.TableFields() {
			if cd := ex.reg.Get(tf.Options); cd != nil {
				if ft, ok := cd.FieldType(field); ok && !cd.IsStandard(field) {
					found = append(found, source{table: tf, field: field, ftype: ft})
				}
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		return source{}, dataError("Field not permitted in query: %s", field)
	}
	for _, tf := range d.TableFields() {
		if tf.Fieldname == table || tf.Options == table {
			cd := ex.reg.Get(tf.Options)
			if cd == nil {
				break
			}
			ft, ok := cd.FieldType(field)
			if !ok {
				return source{}, dataError("Field not permitted in query: %s.%s", table, field)
			}
			return source{table: tf, field: field, ftype: ft}, nil
		}
	}
	if lf := d.Field(table); lf != nil && lf.Fieldtype == meta.Link {
		if td := ex.reg.Get(lf.Options); td != nil {
			if ft, ok := td.FieldType(field); ok {
				return source{link: lf, field: field, ftype: ft}, nil
			}
		}
		return source{}, dataError("Field not permitted in query: %s.%s", table, field)
	}
	return source{}, dataError("Field not permitted in query: %s.%s", table, field)
}

// readable reports whether the query may show a source's field.
func (ex *executor) readable(s source) bool {
	if ex.q.Readable == nil {
		return true
	}
	doctype := ex.d.Name
	switch {
	case s.table != nil:
		doctype = s.table.Options
	case s.link != nil:
		doctype = s.link.Options
	}
	return ex.q.Readable(doctype, s.field)
}

// resolveReadable is resolveSource for a condition, sort key or group:
// a field the user may not read is not permitted.
func (ex *executor) resolveReadable(table, doctype, field string) (source, error) {
	src, err := ex.resolveSource(table, doctype, field)
	if err == nil && !ex.readable(src) {
		return source{}, dataError("Field not permitted in query: %s", field)
	}
	return src, err
}

func (ex *executor) resolve() error {
	d, q := ex.d, ex.q
	fields := q.Fields
	if len(fields) == 0 {
		fields = []query.Field{{Name: meta.FieldName}}
	}
	for _, f := range fields {
		if f.Name == "*" && f.Func == "" {
			if f.Table != "" && f.Table != d.Name {
				return dataError("Field not permitted in query: %s.*", f.Table)
			}
			for _, name := range starColumns(d) {
				ft, _ := d.FieldType(name)
				if src := (source{field: name, ftype: ft}); ex.readable(src) {
					ex.cols = append(ex.cols, column{name: name, src: src})
				}
			}
			continue
		}
		c := column{fn: f.Func, distinct: f.Distinct, name: f.Alias}
		if f.Name == "*" {
			c.star = true
		} else {
			src, err := ex.resolveSource(f.Table, "", f.Name)
			if err != nil {
				return err
			}
			if src.table == nil && src.link == nil && src.ftype == meta.Password {
				return dataError("Field not permitted in query: %s", f.Name)
			}
			if !ex.readable(src) {
				continue // a field the user may not read is left out, as in Frappe
			}
			c.src = src
		}
		if c.name == "" {
			c.name = columnName(f)
		}
		ex.cols = append(ex.cols, c)
	}
	if len(ex.cols) == 0 {
		ex.cols = append(ex.cols, column{name: meta.FieldName, src: source{field: meta.FieldName, ftype: meta.Data}})
	}
	compile := func(conds []query.Condition) ([]condition, error) {
		out := make([]condition, 0, len(conds))
		for _, c := range conds {
			src, err := ex.resolveReadable(c.Table, c.DocType, c.Field)
			if err != nil {
				return nil, err
			}
			p, err := query.Compile(c, src.ftype, q.Env)
			if err != nil {
				return nil, err
			}
			out = append(out, condition{src: src, pred: p})
		}
		return out, nil
	}
	var err error
	if ex.and, err = compile(q.Filters); err != nil {
		return err
	}
	if ex.or, err = compile(q.OrFilters); err != nil {
		return err
	}
	order := q.OrderBy
	if len(order) == 0 && len(q.GroupBy) == 0 && !ex.aggregated() {
		f, desc := d.Sort()
		order = []query.Order{{Field: f, Desc: desc}}
	}
	for _, o := range order {
		k := sortKey{desc: o.Desc, alias: -1}
		if o.Table == "" {
			for i, c := range ex.cols {
				if c.name != o.Field || (c.fn == "" && c.src.field == o.Field) {
					continue
				}
				if c.fn != "" {
					k.alias = i // an aggregate's alias: sort the output rows
				} else {
					k.src = c.src // "x as y" ordered by y: sort by x
				}
			}
		}
		if k.alias < 0 && k.src.field == "" {
			src, err := ex.resolveReadable(o.Table, "", o.Field)
			if err != nil {
				return err
			}
			k.src = src
		}
		ex.order = append(ex.order, k)
	}
	for _, g := range q.GroupBy {
		src, err := ex.resolveReadable(g.Table, "", g.Field)
		if err != nil {
			return err
		}
		ex.group = append(ex.group, src)
	}
	// Join every child table that a column, condition or sort key reads.
	used := map[string]bool{}
	mark := func(s source) {
		if s.table != nil {
			used[s.table.Fieldname] = true
		}
	}
	for _, c := range ex.cols {
		mark(c.src)
	}
	for _, c := range append(slices.Clone(ex.and), ex.or...) {
		mark(c.src)
	}
	for _, k := range ex.order {
		mark(k.src)
	}
	for _, g := range ex.group {
		mark(g)
	}
	for _, tf := range d.TableFields() {
		if used[tf.Fieldname] {
			ex.joins = append(ex.joins, tf)
		}
	}
	return nil
}

// starColumns are the columns of fields=["*"]: the standard fields and
// every value field the doctype stores (child tables are never included).
func starColumns(d *meta.DocType) []string {
	out := slices.Clone(meta.StandardFields)
	if d.IsTable {
		out = append(out, meta.ChildFields...)
	}
	for _, f := range d.ValueFields() {
		if f.Fieldtype != meta.Password {
			out = append(out, f.Fieldname)
		}
	}
	return out
}

func columnName(f query.Field) string {
	name := f.Name
	if f.Table != "" && f.Func != "" {
		name = f.Table + "." + f.Name
	}
	if f.Func == "" {
		return f.Name
	}
	if f.Distinct {
		name = "distinct " + name
	}
	return f.Func + "(" + name + ")"
}

func (ex *executor) aggregated() bool {
	for _, c := range ex.cols {
		if c.fn != "" {
			return true
		}
	}
	return false
}

func (ex *executor) distinct() bool {
	for _, c := range ex.cols {
		if c.distinct && c.fn == "" {
			return true
		}
	}
	return false
}

// linkedDoc loads a linked document once per query.
func (ex *executor) linkedDoc(doctype, name string) map[string]any {
	k := doctype + "\x00" + name
	if d, ok := ex.linkDoc[k]; ok {
		return d
	}
	var doc map[string]any
	if rec, err := getRecord(ex.snap, doctype, name); err == nil {
		doc = rec.Doc
	} else if stored, ok, _ := findName(ex.snap, doctype, name); ok {
		if rec, err := getRecord(ex.snap, doctype, stored); err == nil {
			doc = rec.Doc // a link written in another case, as MariaDB finds it
		}
	}
	ex.linkDoc[k] = doc
	return doc
}

// countFromCounters answers a count from the projector's counters when
// the filters allow it.
func (ex *executor) countFromCounters() (int64, bool, error) {
	if len(ex.or) > 0 || len(ex.joins) > 0 || ex.q.Allow != nil {
		return 0, false, nil
	}
	switch len(ex.and) {
	case 0:
		n, err := getCount(ex.snap, countKey(ex.d.Name, "", nil))
		ex.plan = append(ex.plan, "count from counter "+ex.d.Name)
		return n, true, err
	case 1:
		c := ex.and[0]
		vals := eqValues(c)
		if c.src.table != nil || c.src.link != nil || len(vals) != 1 || !slices.Contains(ex.d.CountedFields(), c.src.field) {
			return 0, false, nil
		}
		n, err := getCount(ex.snap, countKey(ex.d.Name, c.src.field, vals[0]))
		ex.plan = append(ex.plan, fmt.Sprintf("count from counter %s.%s", ex.d.Name, c.src.field))
		return n, true, err
	}
	return 0, false, nil
}

// eqValues returns the index values an equality condition selects.
func eqValues(c condition) []any {
	if len(c.pred.Eq) > 0 {
		return c.pred.Eq
	}
	out := make([]any, len(c.pred.FoldEq))
	for i, s := range c.pred.FoldEq {
		out[i] = s
	}
	return out
}

// result projects, groups, sorts and pages the matching rows.
func (ex *executor) result(rows []*row) *Result {
	res := &Result{Plan: strings.Join(ex.plan, "; ")}
	for _, c := range ex.cols {
		res.Columns = append(res.Columns, c.name)
		t := c.src.ftype
		switch c.fn {
		case "count":
			t = meta.Int
		case "avg":
			t = meta.Float
		}
		res.Types = append(res.Types, t)
	}
	if len(ex.group) > 0 || ex.aggregated() {
		res.Rows = ex.aggregate(rows)
		ex.sortValues(res.Rows)
	} else {
		for _, r := range rows {
			out := make([]any, len(ex.cols))
			for i, c := range ex.cols {
				out[i] = c.src.read(r)
			}
			res.Rows = append(res.Rows, out)
		}
		if ex.distinct() {
			res.Rows = distinctRows(res.Rows)
		}
	}
	res.Rows = page(res.Rows, ex.q.Start, ex.q.Limit)
	return res
}

func page[T any](rows []T, start, limit int) []T {
	if start > 0 {
		if start >= len(rows) {
			return nil
		}
		rows = rows[start:]
	}
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

// foldedKey is a map key for values that compare as the indexes do
// (strings without regard to case, as MariaDB's GROUP BY and DISTINCT).
func foldedKey(vals ...any) string {
	folded := make([]any, len(vals))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			v = query.FoldKey(s)
		}
		folded[i] = v
	}
	return fmt.Sprintf("%#v", folded)
}

func distinctRows(rows [][]any) [][]any {
	seen := map[string]bool{}
	out := rows[:0]
	for _, r := range rows {
		k := foldedKey(r...)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// compareValues orders stored values as the indexes do: NULL first,
// numbers numerically, strings by their case-folded form.
func compareValues(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y)
		case float64:
			return cmp.Compare(float64(x), y)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, float64(y))
		case float64:
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(query.FoldKey(x), query.FoldKey(y))
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// sortRows orders rows by the sort keys; ties keep the order of names in
// the direction of the first key, as an index scan yields them.
func (ex *executor) sortRows(rows []*row) {
	if len(ex.order) == 0 {
		return
	}
	firstDesc := ex.order[0].desc
	slices.SortStableFunc(rows, func(a, b *row) int {
		for _, k := range ex.order {
			c := compareValues(IndexValue(k.src.ftype, k.src.read(a)), IndexValue(k.src.ftype, k.src.read(b)))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		c := strings.Compare(a.name, b.name)
		if firstDesc {
			c = -c
		}
		return c
	})
}

// sortValues orders aggregated rows by the sort keys that name columns.
func (ex *executor) sortValues(rows [][]any) {
	var keys []sortKey
	for _, k := range ex.order {
		if k.alias < 0 {
			for i, c := range ex.cols {
				if c.fn == "" && c.src == k.src {
					k.alias = i
				}
			}
		}
		if k.alias >= 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortStableFunc(rows, func(a, b []any) int {
		for _, k := range keys {
			c := compareValues(a[k.alias], b[k.alias])
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// prefixRange is the key range of every key with the given prefix.
func prefixRange(p []byte) *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: p, UpperBound: keys.PrefixEnd(p)}
}
