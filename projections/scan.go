package projections

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"docket/projections/keys"
	"docket/projections/meta"
)

// estimateCap bounds how many index keys the planner counts to estimate
// the size of an index range.
const estimateCap = 20000

// indexRange is a key range of one index.
type indexRange struct {
	lo, hi []byte
}

// candidates is an index access path: ranges whose keys name candidate
// documents, and the estimated number of keys.
type candidates struct {
	field  string // the index: a field, or a composite index's name
	ranges []indexRange
	est    int
	exact  bool // est is a count, not a capped estimate
	// An index key holds, after its first prefixLen bytes, values
	// encoded values and then the document name.
	prefixLen, values int
}

// composite is an access path on a composite index: one equality value
// for each of its first eq columns, and whether the next column is the
// query's first sort key (then the range is in the query's order).
type composite struct {
	name   string
	cols   []string
	eq     int
	prefix []byte // the index prefix and the equality values
	orders bool
	est    int  // keys in the range, counted up to a bound
	exact  bool // est is the count, not the bound
}

// run evaluates the query and returns the matching rows, sorted. For a
// count (countOnly) no row needs sorting.
func (ex *executor) run(ctx context.Context, countOnly bool) ([]*row, error) {
	total, err := getCount(ex.snap, countKey(ex.d.Name, "", nil))
	if err != nil {
		return nil, err
	}
	best, err := ex.bestCandidates()
	if err != nil {
		return nil, err
	}
	if ex.q.Start > 0 && int64(ex.q.Start) >= total && len(ex.joins) == 0 && len(ex.group) == 0 && !ex.aggregated() && !countOnly {
		ex.plan = append(ex.plan, fmt.Sprintf("limit_start %d is past the %d documents", ex.q.Start, total))
		return nil, nil
	}
	want := 0 // rows needed from an ordered scan; 0: all
	if ex.q.Limit > 0 && len(ex.group) == 0 && !ex.aggregated() && !ex.distinct() && !countOnly {
		want = ex.q.Start + ex.q.Limit
	}
	ordered := !countOnly && len(ex.order) > 0 && ex.order[0].alias < 0 && ex.order[0].src.table == nil &&
		ex.order[0].src.link == nil
	comps := ex.composites(ordered)
	for i := range comps {
		c := &comps[i]
		if c.orders && want > 0 && (best == nil || want <= best.est) {
			// It gives the order and the page is no bigger than the best
			// lookup: it wins without counting its range.
			c.est = want
			continue
		}
		cand := &candidates{field: c.name, ranges: []indexRange{{c.prefix, keys.PrefixEnd(c.prefix)}},
			prefixLen: len(c.prefix), values: len(c.cols) - c.eq}
		n, exact, err := ex.estimate(cand.ranges, ex.bound(best))
		if err != nil {
			return nil, err
		}
		cand.est, cand.exact, c.est, c.exact = n, exact, n, exact
		if best == nil || cand.est < best.est {
			best = cand
		}
	}
	ordered = ordered && slices.Contains(ex.d.IndexedFields(), ex.order[0].src.field)

	// Cost, in documents read: an index lookup reads its candidates; an
	// ordered scan reads about want/selectivity documents; a composite
	// index whose next column is the sort key reads about want, at most
	// its range.
	var inOrder *composite
	for i := range comps {
		if c := &comps[i]; c.orders && want > 0 && (inOrder == nil || c.eq > inOrder.eq) {
			inOrder = c
		}
	}
	useOrdered := false
	if ordered && want > 0 {
		scanCost := int64(want)
		if best != nil && best.est > 0 {
			scanCost = int64(want) * max(total, 1) / int64(best.est)
		}
		useOrdered = best == nil || scanCost < int64(best.est)
	}
	var rows []*row
	switch {
	case inOrder != nil && (best == nil || want <= best.est || inOrder.exact && inOrder.est <= best.est):
		rows, err = ex.orderedScan(ctx, want, inOrder.prefix, len(inOrder.cols)-inOrder.eq,
			fmt.Sprintf("ordered scan of composite index %s(%s) with %d equalities", ex.d.Name, inOrder.name, inOrder.eq))
	case useOrdered:
		k := ex.order[0]
		rows, err = ex.orderedScan(ctx, want, indexPrefix(ex.d.Name, k.src.field), 1,
			fmt.Sprintf("ordered scan of index %s.%s", ex.d.Name, k.src.field))
	case best != nil:
		rows, err = ex.lookup(ctx, best)
		if err == nil && !countOnly {
			ex.sortRows(rows)
		}
	default:
		rows, err = ex.fullScan(ctx)
		if err == nil && !countOnly {
			ex.sortRows(rows)
		}
	}
	if err != nil {
		return nil, err
	}
	ex.plan = append(ex.plan, fmt.Sprintf("examined %d documents of %d", ex.examined, total))
	return rows, nil
}

// bestCandidates picks the smallest index access path among the AND
// conditions with index hints on indexed main-document fields.
func (ex *executor) bestCandidates() (*candidates, error) {
	indexed := ex.d.IndexedFields()
	counted := ex.d.CountedFields()
	var best *candidates
	for _, c := range ex.and {
		if c.src.table != nil || c.src.link != nil || !slices.Contains(indexed, c.src.field) {
			continue
		}
		prefix := indexPrefix(ex.d.Name, c.src.field)
		cand := &candidates{field: c.src.field, prefixLen: len(prefix), values: 1}
		if vals := eqValues(c); len(vals) > 0 {
			for _, v := range vals {
				p := appendIndexValue(bytes.Clone(prefix), v)
				cand.ranges = append(cand.ranges, indexRange{p, keys.PrefixEnd(p)})
			}
		} else if c.pred.HasRange {
			lo, hi := prefix, keys.PrefixEnd(prefix)
			if c.pred.Lower != nil {
				lo = appendIndexValue(bytes.Clone(prefix), c.pred.Lower)
				if !c.pred.LowerIncl {
					lo = keys.PrefixEnd(lo)
				}
			} else {
				lo = keys.AppendNull(bytes.Clone(prefix))
				lo = keys.PrefixEnd(lo) // NULL never matches a range
			}
			if c.pred.Upper != nil {
				hi = appendIndexValue(bytes.Clone(prefix), c.pred.Upper)
				if c.pred.UpperIncl {
					hi = keys.PrefixEnd(hi)
				}
			}
			cand.ranges = []indexRange{{lo, hi}}
		} else {
			continue
		}
		var n int
		var exact bool
		var err error
		if vals := eqValues(c); len(vals) > 0 && slices.Contains(counted, c.src.field) {
			n, exact, err = ex.countValues(c.src.field, vals) // one counter per value, no scan
		} else {
			n, exact, err = ex.estimate(cand.ranges, ex.bound(best))
		}
		if err != nil {
			return nil, err
		}
		cand.est, cand.exact = n, exact
		if best == nil || cand.est < best.est {
			best = cand
		}
	}
	return best, nil
}

// bound is how far an estimate needs to count to beat the best path so
// far.
func (ex *executor) bound(best *candidates) int {
	if best == nil {
		return estimateCap
	}
	return min(best.est, estimateCap)
}

// countValues is the number of documents holding any of the values of a
// counted field, from its counters.
func (ex *executor) countValues(field string, vals []any) (int, bool, error) {
	n := int64(0)
	for _, v := range vals {
		c, err := getCount(ex.snap, countKey(ex.d.Name, field, v))
		if err != nil {
			return 0, false, err
		}
		n += c
	}
	return int(n), true, nil
}

// composites lists the composite indexes whose first columns have one
// equality value each among the AND conditions. ordered says whether the
// query's first sort key is a plain field (a composite index can give its
// order).
func (ex *executor) composites(ordered bool) []composite {
	var out []composite
	for _, cols := range ex.d.Indexes {
		c := composite{name: CompositeName(cols), cols: cols, prefix: indexPrefix(ex.d.Name, CompositeName(cols))}
		for _, col := range cols {
			v, ok := ex.equality(col)
			if !ok {
				break
			}
			c.prefix = appendIndexValue(c.prefix, v)
			c.eq++
		}
		if c.eq == 0 {
			continue
		}
		c.orders = ordered && c.eq < len(cols) && cols[c.eq] == ex.order[0].src.field
		out = append(out, c)
	}
	return out
}

// equality returns the one value an AND condition requires of a main
// document field, if there is such a condition.
func (ex *executor) equality(field string) (any, bool) {
	for _, c := range ex.and {
		if c.src.table != nil || c.src.link != nil || c.src.field != field {
			continue
		}
		if vals := eqValues(c); len(vals) == 1 {
			return vals[0], true
		}
	}
	return nil, false
}

// estimate counts the keys in the ranges, up to limit (then the count is
// not exact).
func (ex *executor) estimate(ranges []indexRange, limit int) (int, bool, error) {
	n := 0
	for _, r := range ranges {
		it, err := ex.snap.NewIter(&pebble.IterOptions{LowerBound: r.lo, UpperBound: r.hi})
		if err != nil {
			return 0, false, err
		}
		for it.First(); it.Valid(); it.Next() {
			n++
			if n >= limit {
				it.Close()
				return n, false, nil
			}
		}
		if err := it.Close(); err != nil {
			return 0, false, err
		}
	}
	return n, true, nil
}

// nameOfIndexKey decodes the value and the document name at the end of a
// field's index key.
func nameOfIndexKey(prefixLen int, k []byte) (value []byte, name string, err error) {
	return nameAfterValues(prefixLen, 1, k)
}

// nameAfterValues decodes an index key after its prefix: n values (the
// first returned, encoded) and the document name.
func nameAfterValues(prefixLen, n int, k []byte) (first []byte, name string, err error) {
	rest := k[prefixLen:]
	for i := 0; i < n; i++ {
		before := rest
		if _, rest, err = keys.DecodeOne(rest); err != nil {
			return nil, "", err
		}
		if i == 0 {
			first = before[:len(before)-len(rest)]
		}
	}
	v, _, err := keys.DecodeOne(rest)
	if err != nil {
		return nil, "", err
	}
	s, ok := v.(string)
	if !ok {
		return nil, "", fmt.Errorf("projections: index key without a name")
	}
	return first, s, nil
}

// lookup reads the documents an index access path names.
func (ex *executor) lookup(ctx context.Context, c *candidates) ([]*row, error) {
	ex.plan = append(ex.plan, fmt.Sprintf("index lookup %s.%s (%d keys)", ex.d.Name, c.field, c.est))
	seen := map[string]bool{}
	var rows []*row
	for _, r := range c.ranges {
		it, err := ex.snap.NewIter(&pebble.IterOptions{LowerBound: r.lo, UpperBound: r.hi})
		if err != nil {
			return nil, err
		}
		for it.First(); it.Valid(); it.Next() {
			_, name, err := nameAfterValues(c.prefixLen, c.values, it.Key())
			if err != nil {
				it.Close()
				return nil, err
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			matched, err := ex.match(name)
			if err != nil {
				it.Close()
				return nil, err
			}
			rows = append(rows, matched...)
		}
		if err := it.Close(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// orderedScan walks an index range whose keys are in the order of the
// first sort key (its value is the first of the values each key holds
// after the prefix) and stops once it has want rows and that value
// changes (the rows that tie on it are sorted by the remaining keys).
func (ex *executor) orderedScan(ctx context.Context, want int, prefix []byte, values int, what string) ([]*row, error) {
	k := ex.order[0]
	ex.plan = append(ex.plan, fmt.Sprintf("%s %s (want %d rows)", what, dir(k.desc), want))
	it, err := ex.snap.NewIter(prefixRange(prefix))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var rows []*row
	var groupStart int
	var lastValue []byte
	// With one sort key whose index values are exact, the index order
	// within a tie (by name) is the order sortRows gives it: a page need
	// not read the rest of its last tie (a bulk insert writes hundreds of
	// documents with one modified).
	exact := len(ex.order) == 1 && len(ex.joins) == 0 && exactInIndex(k.src.ftype)
	step := it.Next
	valid := it.First()
	if k.desc {
		step, valid = it.Prev, it.Last()
	}
	for ; valid; valid = step() {
		value, name, err := nameAfterValues(len(prefix), values, it.Key())
		if err != nil {
			return nil, err
		}
		if exact && len(rows) >= want {
			break
		}
		if !bytes.Equal(value, lastValue) {
			if len(rows) >= want {
				break
			}
			ex.sortTies(rows[groupStart:])
			groupStart = len(rows)
			lastValue = bytes.Clone(value)
		}
		matched, err := ex.match(name)
		if err != nil {
			return nil, err
		}
		rows = append(rows, matched...)
		if ex.examined%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	ex.sortTies(rows[groupStart:])
	return rows, it.Error()
}

// exactInIndex reports whether a field type's index values are its
// values (numbers, dates and times: never cut, nothing to fold).
func exactInIndex(ftype string) bool {
	switch ftype {
	case meta.Int, meta.Float, meta.Currency, meta.Percent, meta.Check, meta.Rating, meta.Duration,
		meta.Date, meta.Datetime, meta.Time:
		return true
	}
	return false
}

// sortTies orders rows whose index keys tie on the first sort key: by
// the full values (an index key holds at most maxIndexedString bytes of a
// string) and then by the remaining keys.
func (ex *executor) sortTies(rows []*row) {
	if len(rows) > 1 {
		ex.sortRows(rows)
	}
}

func dir(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// fullScan reads every document of the doctype.
func (ex *executor) fullScan(ctx context.Context) ([]*row, error) {
	ex.plan = append(ex.plan, "full scan of "+ex.d.Name)
	it, err := ex.snap.NewIter(prefixRange(doctypePrefix(prefixDoc, ex.d.Name)))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var rows []*row
	for it.First(); it.Valid(); it.Next() {
		rec, err := decodeRecord(it.Value())
		if err != nil {
			return nil, err
		}
		ex.examined++
		rows = append(rows, ex.filter(rec)...)
		if ex.examined%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	return rows, it.Error()
}

// match loads a document and returns its matching rows.
func (ex *executor) match(name string) ([]*row, error) {
	rec, err := getRecord(ex.snap, ex.d.Name, name)
	if err == ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ex.examined++
	return ex.filter(rec), nil
}

// filter expands a document into its joined rows and keeps those that
// satisfy every AND condition and at least one OR condition.
func (ex *executor) filter(rec *Record) []*row {
	if ex.q.Allow != nil && !ex.q.Allow(rec.Doc) {
		return nil
	}
	name := NameString(rec.Doc[meta.FieldName])
	base := &row{name: name, doc: rec.Doc, ex: ex}
	// Conditions on the main document decide before any join.
	for _, c := range ex.and {
		if c.src.table == nil && !c.pred.Match(c.src.read(base)) {
			return nil
		}
	}
	rows := []*row{base}
	for _, tf := range ex.joins {
		var next []*row
		for _, r := range rows {
			children := meta.Rows(rec.Doc[tf.Fieldname])
			if len(children) == 0 {
				children = []map[string]any{nil} // LEFT JOIN: one row of NULLs
			}
			for _, ch := range children {
				nr := &row{name: r.name, doc: r.doc, ex: ex, links: r.links, children: map[string]map[string]any{}}
				for k, v := range r.children {
					nr.children[k] = v
				}
				nr.children[tf.Fieldname] = ch
				next = append(next, nr)
			}
		}
		rows = next
	}
	out := rows[:0]
	for _, r := range rows {
		if ex.keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func (ex *executor) keep(r *row) bool {
	for _, c := range ex.and {
		if c.src.table != nil && !c.pred.Match(c.src.read(r)) {
			return false
		}
	}
	if len(ex.or) == 0 {
		return true
	}
	for _, c := range ex.or {
		if c.pred.Match(c.src.read(r)) {
			return true
		}
	}
	return false
}
