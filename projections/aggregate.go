package projections

import ()

// aggregate groups rows by the group_by keys (one group of everything
// when there are none) and computes each column: an aggregate over the
// group, or the value of the group's first row.
func (ex *executor) aggregate(rows []*row) [][]any {
	type group struct {
		first *row
		aggs  []*accumulator
	}
	var order []string
	groups := map[string]*group{}
	for _, r := range rows {
		key := ""
		if len(ex.group) > 0 {
			vals := make([]any, len(ex.group))
			for i, g := range ex.group {
				vals[i] = IndexValue(g.ftype, g.read(r))
			}
			key = foldedKey(vals...)
		}
		g := groups[key]
		if g == nil {
			g = &group{first: r, aggs: make([]*accumulator, len(ex.cols))}
			for i, c := range ex.cols {
				if c.fn != "" {
					g.aggs[i] = &accumulator{fn: c.fn, distinct: c.distinct, seen: map[string]bool{}}
				}
			}
			groups[key] = g
			order = append(order, key)
		}
		for i, c := range ex.cols {
			if a := g.aggs[i]; a != nil {
				if c.star {
					a.add(int64(1), true)
				} else {
					a.add(c.src.read(r), false)
				}
			}
		}
	}
	if len(ex.group) == 0 && len(groups) == 0 {
		// An aggregate over no rows is still one row (count 0, sum NULL).
		out := make([]any, len(ex.cols))
		for i, c := range ex.cols {
			if c.fn == "count" {
				out[i] = int64(0)
			}
		}
		return [][]any{out}
	}
	out := make([][]any, 0, len(order))
	for _, k := range order {
		g := groups[k]
		vals := make([]any, len(ex.cols))
		for i, c := range ex.cols {
			if a := g.aggs[i]; a != nil {
				vals[i] = a.result()
			} else {
				vals[i] = c.src.read(g.first)
			}
		}
		out = append(out, vals)
	}
	return out
}

// accumulator computes one aggregate function.
type accumulator struct {
	fn       string
	distinct bool
	seen     map[string]bool
	count    int64
	sumI     int64
	sumF     float64
	isFloat  bool
	best     any
}

func (a *accumulator) add(v any, star bool) {
	if v == nil && !star {
		return // aggregates skip NULLs
	}
	if a.distinct {
		k := foldedKey(v)
		if a.seen[k] {
			return
		}
		a.seen[k] = true
	}
	a.count++
	switch a.fn {
	case "sum", "avg":
		switch x := v.(type) {
		case int64:
			a.sumI += x
			a.sumF += float64(x)
		case float64:
			a.isFloat = true
			a.sumF += x
		default:
			a.isFloat = true
			f, _ := IndexValue("Float", v).(float64)
			a.sumF += f
		}
	case "min":
		if a.best == nil || compareValues(v, a.best) < 0 {
			a.best = v
		}
	case "max":
		if a.best == nil || compareValues(v, a.best) > 0 {
			a.best = v
		}
	}
}

func (a *accumulator) result() any {
	switch a.fn {
	case "count":
		return a.count
	case "sum":
		if a.count == 0 {
			return nil
		}
		if a.isFloat {
			return a.sumF
		}
		return a.sumI
	case "avg":
		if a.count == 0 {
			return nil
		}
		return a.sumF / float64(a.count)
	}
	return a.best
}
