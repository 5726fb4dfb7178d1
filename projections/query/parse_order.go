package query

import "strings"

// Order is one column of an order_by or group_by clause.
type Order struct {
	// Table is "" for the main doctype, a table (or link) fieldname, or the
	// doctype name written as "`tabToDo`.field" (see [Field.Table]).
	Table string
	// Field is the fieldname.
	Field string
	// Desc is set for DESC; always false for group_by.
	Desc bool
}

// ParseOrderBy parses an order_by parameter: a comma-separated list of
// column references ("modified", "`tabToDo`.`modified`", "items.idx"), each
// optionally followed by ASC or DESC (case-insensitive; ASC is the default).
// "" (or white space) gives nil.
//
// Frappe's checks come first, with its messages (all ValidationError):
// "Cannot use sub-query in order by" when the text contains both "select" and
// "from"; "Illegal SQL Query" for characters outside [a-z0-9-_ ,`'".()] (after
// lower-casing; tabs and newlines included); "Cannot use X in order/group by"
// when the part before "(" of an item contains "sleep". Frappe passes anything
// else to SQL verbatim; here expressions other than column references
// (functions, literals, NULLS LAST…) are rejected as "Illegal SQL Query".
func ParseOrderBy(s string) ([]Order, error) { return parseClause(s, true) }

// ParseGroupBy parses a group_by parameter: a comma-separated list of column
// references ("status", "status, owner", "`tabToDo`.`status`"), validated like
// [ParseOrderBy] but without ASC/DESC. Desc is always false.
func ParseGroupBy(s string) ([]Order, error) { return parseClause(s, false) }

func parseClause(s string, withDir bool) ([]Order, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "select") && strings.Contains(lower, "from") {
		return nil, validationErr("Cannot use sub-query in order by")
	}
	for i := 0; i < len(lower); i++ {
		if !orderChar(lower[i]) {
			return nil, errIllegalSQL()
		}
	}
	parts := strings.Split(s, ",")
	for _, p := range parts {
		fn, _, _ := strings.Cut(strings.TrimSpace(p), "(")
		fn = strings.ToLower(strings.TrimRight(fn, " "))
		if strings.Contains(fn, "sleep") {
			return nil, validationErr("Cannot use " + fn + " in order/group by")
		}
	}
	out := make([]Order, 0, len(parts))
	for _, p := range parts {
		o, ok := parseOrderItem(p, withDir)
		if !ok {
			return nil, errIllegalSQL()
		}
		out = append(out, o)
	}
	return out, nil
}

// orderChar reports whether c is allowed by Frappe's ORDER_GROUP_PATTERN
// (applied to the lower-cased clause).
func orderChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_ ,`'\".()", c) >= 0
}

func parseOrderItem(p string, withDir bool) (Order, bool) {
	sc := scanner{s: p}
	sc.skipSpace()
	ref, ok := sc.colRef(false)
	if !ok {
		return Order{}, false
	}
	o := Order{Table: ref.Table, Field: ref.Name}
	if sc.skipSpace() && withDir {
		switch {
		case sc.keyword("desc"):
			o.Desc = true
		case sc.keyword("asc"):
		}
		sc.skipSpace()
	}
	return o, sc.eof()
}

// String renders o in the syntax ParseOrderBy accepts.
func (o Order) String() string {
	col := o.Field
	if o.Table != "" {
		if isIdent(o.Table) {
			col = o.Table + "." + o.Field
		} else {
			col = "`tab" + o.Table + "`." + o.Field
		}
	}
	if o.Desc {
		return col + " desc"
	}
	return col
}
