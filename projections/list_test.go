package projections_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"docket/projections"
	"docket/projections/query"
)

const (
	orderDT = "Sales Order"
	itemDT  = "Sales Order Item"
)

var orderItemDocType = map[string]any{
	"module": "Selling", "istable": int64(1), "autoname": "hash",
	"fields": []any{
		map[string]any{"fieldname": "item_code", "fieldtype": "Data", "label": "Item", "in_list_view": int64(1)},
		map[string]any{"fieldname": "item_qty", "fieldtype": "Int", "label": "Quantity"},
		map[string]any{"fieldname": "price", "fieldtype": "Float", "label": "Price"},
	},
}

var orderDocType = map[string]any{
	"module": "Selling", "autoname": "Prompt", "is_submittable": int64(1),
	"sort_field": "modified", "sort_order": "DESC",
	"indexes": `[["urgent", "customer", "due"], ["status", "title", "qty"]]`,
	"fields": []any{
		map[string]any{"fieldname": "status", "fieldtype": "Select", "options": "Draft\nOpen\nClosed"},
		map[string]any{"fieldname": "customer", "fieldtype": "Link", "options": "Customer"},
		map[string]any{"fieldname": "qty", "fieldtype": "Int"},
		map[string]any{"fieldname": "amount", "fieldtype": "Float"},
		map[string]any{"fieldname": "discount", "fieldtype": "Percent", "in_list_view": int64(1)},
		map[string]any{"fieldname": "due", "fieldtype": "Date"},
		map[string]any{"fieldname": "at", "fieldtype": "Datetime"},
		map[string]any{"fieldname": "urgent", "fieldtype": "Check"},
		map[string]any{"fieldname": "title", "fieldtype": "Data"},
		map[string]any{"fieldname": "code", "fieldtype": "Data", "search_index": int64(1)},
		map[string]any{"fieldname": "notes_section", "fieldtype": "Section Break"},
		map[string]any{"fieldname": "items", "fieldtype": "Table", "options": itemDT},
	},
	"permissions": []any{map[string]any{"role": "System Manager", "read": int64(1)}},
}

// orderData builds the Sales Order data set: documents with every kind
// of indexed and unindexed field, NULLs, ties, child rows (and none),
// then updates, deletes and a re-insert.
func orderData(t *testing.T) (*node, *model) {
	t.Helper()
	n := newNode(t)
	n.start()
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Customer", customerDocType))
	m.commit(n.log, m.insert("DocType", itemDT, orderItemDocType))
	m.commit(n.log, m.insert("DocType", orderDT, orderDocType))
	// Link targets; Umbrella has no document.
	m.commit(n.log,
		m.insert("Customer", "Acme", map[string]any{"territory": "North", "rank": 2}),
		m.insert("Customer", "Globex", map[string]any{"territory": "south", "rank": 1}),
		m.insert("Customer", "Initech", map[string]any{"rank": 3}),
	)

	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(vals ...any) any { return vals[rng.IntN(len(vals))] }
	var batch []pending
	for i := 1; i <= 48; i++ {
		in := map[string]any{
			"qty":    int64(rng.IntN(10)),
			"amount": float64(rng.IntN(100000)) / 100,
			"at":     fmt.Sprintf("2024-03-%02d %02d:%02d:00", 1+rng.IntN(20), rng.IntN(24), 15*rng.IntN(4)),
			"code":   fmt.Sprintf("C-%02d", i%17),
			// Pairs of documents share a modified time: ties.
			"modified": fmt.Sprintf("2024-04-01 10:00:%02d", i/2),
			"owner":    pick("Administrator", "alice@example.com", "bob@example.com"),
		}
		set := func(k string, v any) {
			if v != nil {
				in[k] = v
			}
		}
		set("status", pick("Draft", "Open", "Open", "Closed", nil))
		set("customer", pick("Acme", "Globex", "Initech", "Umbrella", nil))
		set("discount", pick(nil, 0.5, 1.0, 2.5, 5.0, 10.0, 12.5, 20.0))
		if rng.IntN(5) > 0 {
			in["due"] = fmt.Sprintf("2024-03-%02d", 1+rng.IntN(20))
		}
		set("urgent", pick(nil, int64(0), int64(1), int64(1)))
		set("title", pick(nil, "Red box", "Blue BOX", "green crate", "Small parcel", ""))
		set("docstatus", pick(int64(0), int64(0), int64(1), int64(2)))
		var items []any
		for j := rng.IntN(4); j > 0; j-- {
			items = append(items, map[string]any{
				"item_code": pick("A", "B", "C", "D"),
				"item_qty":  int64(1 + rng.IntN(5)),
				"price":     float64(rng.IntN(10000)) / 100,
			})
		}
		if items != nil {
			in["items"] = items
		}
		batch = append(batch, m.insert(orderDT, fmt.Sprintf("SO-%03d", i), in))
		if len(batch) == 12 {
			m.commit(n.log, batch...)
			batch = nil
		}
	}
	m.commit(n.log, batch...)
	// Changes: index entries and counters must follow.
	m.commit(n.log,
		m.update(orderDT, "SO-003", map[string]any{"status": "Closed", "discount": 7.5, "urgent": 1}),
		m.update(orderDT, "SO-010", map[string]any{"items": []any{map[string]any{"item_code": "B", "item_qty": 4, "price": 55.5}}}),
		m.update(orderDT, "SO-011", map[string]any{"items": []any{}, "customer": "Initech"}),
		m.update(orderDT, "SO-020", map[string]any{"due": nil, "title": "Red BOX"}),
		m.remove(orderDT, "SO-004"),
		m.remove(orderDT, "SO-017"),
		m.remove(orderDT, "SO-030"),
	)
	m.commit(n.log, m.insert(orderDT, "SO-017", map[string]any{
		"status": "Open", "customer": "Globex", "qty": 4, "amount": 99.99, "discount": 5,
		"due": "2024-03-09", "at": "2024-03-09 09:00", "urgent": 1, "title": "reborn", "code": "C-99",
		"items": []any{map[string]any{"item_code": "A", "item_qty": 2, "price": 10}},
	}))
	n.waitFor(m.last)
	checkInvariants(t, n, m)
	return n, m
}

var customerDocType = map[string]any{
	"module": "Selling", "autoname": "Prompt",
	"fields": []any{
		map[string]any{"fieldname": "territory", "fieldtype": "Data"},
		map[string]any{"fieldname": "rank", "fieldtype": "Int"},
	},
}

// linked reads a field of the Customer a Sales Order links to.
func linked(customers map[string]map[string]any, field string) func(refRow) any {
	return func(r refRow) any {
		c, _ := r.doc["customer"].(string)
		if d := customers[c]; d != nil {
			return orZero(field, d[field])
		}
		return nil
	}
}

// ---- the reference: brute force over the model's documents ----

// refRow is one row of the reference: a document and, when the query
// joins the child table, one of its rows (nil for a document without any:
// a LEFT JOIN row of NULLs).
type refRow struct {
	name  string
	doc   map[string]any
	child map[string]any
}

type refKey struct {
	get  func(refRow) any
	desc bool
}

// ref describes the expected answer of a query.
type ref struct {
	join     bool               // expand each document over its items
	where    func(refRow) bool  // nil: every row
	order    []refKey           // nil: the doctype's default, modified desc
	cols     []func(refRow) any // nil: name
	distinct bool
}

func f(field string) func(refRow) any {
	return func(r refRow) any { return orZero(field, r.doc[field]) }
}

func cf(field string) func(refRow) any {
	return func(r refRow) any {
		if r.child == nil {
			return nil // LEFT JOIN: no child row
		}
		return orZero(field, r.child[field])
	}
}

// zeroes are what missing numeric fields read as: Frappe's numeric
// columns are NOT NULL DEFAULT 0.
var zeroes = map[string]any{
	"qty": int64(0), "urgent": int64(0), "docstatus": int64(0), "idx": int64(0), "item_qty": int64(0), "rank": int64(0),
	"amount": 0.0, "discount": 0.0, "price": 0.0,
}

func orZero(field string, v any) any {
	if v == nil {
		return zeroes[field]
	}
	return v
}

// text is a string value as Frappe compares it: NULL as "", lower case
// (the data is ASCII).
func text(v any) string {
	s, _ := v.(string)
	return strings.ToLower(s)
}

// num is a numeric value; NULL is 0 (numeric columns are NOT NULL in Frappe).
func num(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// refCompare orders values: NULL first, numbers numerically, strings
// case-insensitively.
func refCompare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if sa, ok := a.(string); ok {
		return strings.Compare(strings.ToLower(sa), strings.ToLower(b.(string)))
	}
	return cmp.Compare(num(a), num(b))
}

func (rf ref) candidates(docs []map[string]any) []refRow {
	var out []refRow
	for _, d := range docs {
		name := projections.NameString(d["name"])
		if !rf.join {
			out = append(out, refRow{name: name, doc: d})
			continue
		}
		items, _ := d["items"].([]any)
		if len(items) == 0 {
			out = append(out, refRow{name: name, doc: d})
			continue
		}
		for _, it := range items {
			out = append(out, refRow{name: name, doc: d, child: it.(map[string]any)})
		}
	}
	return out
}

// matching returns the rows that satisfy the filters, sorted.
func (rf ref) matching(docs []map[string]any) []refRow {
	var rows []refRow
	for _, r := range rf.candidates(docs) {
		if rf.where == nil || rf.where(r) {
			rows = append(rows, r)
		}
	}
	order := rf.order
	if order == nil {
		order = []refKey{{f("modified"), true}}
	}
	if len(order) > 0 {
		// Ties keep the order of names in the direction of the first key;
		// rows of one document keep their child order.
		slices.SortStableFunc(rows, func(a, b refRow) int {
			for _, k := range order {
				c := refCompare(k.get(a), k.get(b))
				if k.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			c := strings.Compare(a.name, b.name)
			if order[0].desc {
				c = -c
			}
			return c
		})
	}
	return rows
}

func (rf ref) result(docs []map[string]any, start, limit int) [][]any {
	cols := rf.cols
	if cols == nil {
		cols = []func(refRow) any{f("name")}
	}
	var out [][]any
	seen := map[string]bool{}
	for _, r := range rf.matching(docs) {
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = c(r)
		}
		if rf.distinct {
			k := fmt.Sprintf("%#v", row)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, row)
	}
	return pageRows(out, start, limit)
}

func (rf ref) count(docs []map[string]any) int64 {
	names := map[string]bool{}
	for _, r := range rf.matching(docs) {
		names[r.name] = true
	}
	return int64(len(names))
}

func pageRows(rows [][]any, start, limit int) [][]any {
	if start >= len(rows) {
		return nil
	}
	rows = rows[start:]
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

// ---- building queries ----

type q struct {
	fields, filters, or, order, group string
	start, limit                      int
}

var testEnv = query.Env{Now: time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC), Loc: time.UTC, WeekStart: time.Monday}

func (x q) build(t testing.TB, doctype string) projections.Query {
	t.Helper()
	pq := projections.Query{DocType: doctype, Start: x.start, Limit: x.limit, Env: testEnv}
	var err error
	if x.fields != "" {
		if pq.Fields, err = query.ParseFields(x.fields); err != nil {
			t.Fatalf("fields %s: %v", x.fields, err)
		}
	}
	if pq.Filters, err = query.ParseFilters(x.filters); err != nil {
		t.Fatalf("filters %s: %v", x.filters, err)
	}
	if pq.OrFilters, err = query.ParseFilters(x.or); err != nil {
		t.Fatalf("or_filters %s: %v", x.or, err)
	}
	if pq.OrderBy, err = query.ParseOrderBy(x.order); err != nil {
		t.Fatalf("order_by %s: %v", x.order, err)
	}
	if pq.GroupBy, err = query.ParseGroupBy(x.group); err != nil {
		t.Fatalf("group_by %s: %v", x.group, err)
	}
	return pq
}

func rowsString(rows [][]any) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("\n    ")
		b.WriteString(renderValue(r))
	}
	if len(rows) == 0 {
		b.WriteString(" (none)")
	}
	return b.String()
}

type listCase struct {
	name string
	q    q
	ref  ref
	plan string // a substring the plan must hold
}

// starCols are the columns of fields ["*"] for Sales Order.
var starCols = []string{"name", "owner", "creation", "modified", "modified_by", "docstatus", "idx",
	"status", "customer", "qty", "amount", "discount", "due", "at", "urgent", "title", "code", "amended_from"}

func starGetters() []func(refRow) any {
	out := make([]func(refRow) any, len(starCols))
	for i, c := range starCols {
		out[i] = f(c)
	}
	return out
}

func cols(gs ...func(refRow) any) []func(refRow) any { return gs }

const (
	lookupStatus  = "index lookup Sales Order.status"
	fullScan      = "full scan of Sales Order"
	orderedScanOf = "ordered scan of index Sales Order."
)

func listCases(customers map[string]map[string]any) []listCase {
	isNil := func(v any) bool { return v == nil }
	territory := linked(customers, "territory")
	return []listCase{
		{name: "no filters, default order", q: q{},
			ref: ref{}, plan: fullScan},
		{name: "equality on a Select: index lookup",
			q:    q{fields: `["name","status","amount"]`, filters: `[["status","=","Open"]]`},
			ref:  ref{where: func(r refRow) bool { return text(r.doc["status"]) == "open" }, cols: cols(f("name"), f("status"), f("amount"))},
			plan: lookupStatus},
		{name: "equality ignores case",
			q:   q{filters: `{"status": "oPEN"}`},
			ref: ref{where: func(r refRow) bool { return text(r.doc["status"]) == "open" }}, plan: lookupStatus},
		{name: "equality on a Link",
			q:    q{fields: `["name","customer"]`, filters: `[["customer","=","acme"]]`},
			ref:  ref{where: func(r refRow) bool { return text(r.doc["customer"]) == "acme" }, cols: cols(f("name"), f("customer"))},
			plan: "index lookup Sales Order.customer"},
		{name: "equality on an indexed Data field",
			q:    q{fields: `["name","code"]`, filters: `[["code","=","c-05"]]`},
			ref:  ref{where: func(r refRow) bool { return text(r.doc["code"]) == "c-05" }, cols: cols(f("name"), f("code"))},
			plan: "index lookup Sales Order.code"},
		{name: "equality on name",
			q:   q{filters: `[["name","=","so-012"]]`},
			ref: ref{where: func(r refRow) bool { return r.name == "SO-012" }}, plan: "index lookup Sales Order.name"},
		{name: "in",
			q:    q{fields: `["name","status"]`, filters: `[["status","in",["Open","Closed"]]]`},
			ref:  ref{where: func(r refRow) bool { s := text(r.doc["status"]); return s == "open" || s == "closed" }, cols: cols(f("name"), f("status"))},
			plan: lookupStatus},
		{name: "in on a Check",
			q:    q{filters: `[["docstatus","in",[1,2]]]`},
			ref:  ref{where: func(r refRow) bool { n := num(r.doc["docstatus"]); return n == 1 || n == 2 }},
			plan: "index lookup Sales Order.docstatus"},
		{name: "not in matches NULL",
			q:    q{fields: `["name","status"]`, filters: `[["status","not in",["Open"]]]`},
			ref:  ref{where: func(r refRow) bool { return text(r.doc["status"]) != "open" }, cols: cols(f("name"), f("status"))},
			plan: fullScan},
		{name: "!= matches NULL",
			q:   q{filters: `[["customer","!=","Acme"]]`},
			ref: ref{where: func(r refRow) bool { return text(r.doc["customer"]) != "acme" }}, plan: fullScan},
		{name: "float range on an index",
			q:    q{fields: `["name","discount"]`, filters: `[["discount",">",4]]`},
			ref:  ref{where: func(r refRow) bool { return num(r.doc["discount"]) > 4 }, cols: cols(f("name"), f("discount"))},
			plan: "index lookup Sales Order.discount"},
		{name: "float range that NULL (0) satisfies is a scan",
			q:    q{fields: `["name","discount"]`, filters: `[["discount","<",3]]`},
			ref:  ref{where: func(r refRow) bool { return num(r.doc["discount"]) < 3 }, cols: cols(f("name"), f("discount"))},
			plan: fullScan},
		{name: "float between",
			q:    q{fields: `["name","discount"]`, filters: `[["discount","between",[1,10]]]`},
			ref:  ref{where: func(r refRow) bool { d := num(r.doc["discount"]); return d >= 1 && d <= 10 }, cols: cols(f("name"), f("discount"))},
			plan: "index lookup Sales Order.discount"},
		{name: "int range on an unindexed field",
			q:    q{fields: `["name","qty"]`, filters: `[["qty",">=",3],["qty","<",7]]`},
			ref:  ref{where: func(r refRow) bool { n := num(r.doc["qty"]); return n >= 3 && n < 7 }, cols: cols(f("name"), f("qty"))},
			plan: fullScan},
		{name: "date >=",
			q:    q{fields: `["name","due"]`, filters: `[["due",">=","2024-03-10"]]`},
			ref:  ref{where: func(r refRow) bool { return !isNil(r.doc["due"]) && r.doc["due"].(string) >= "2024-03-10" }, cols: cols(f("name"), f("due"))},
			plan: "index lookup Sales Order.due"},
		{name: "date < matches NULL (0001-01-01)",
			q:    q{fields: `["name","due"]`, filters: `[["due","<","2024-03-05"]]`},
			ref:  ref{where: func(r refRow) bool { d, _ := r.doc["due"].(string); return d < "2024-03-05" }, cols: cols(f("name"), f("due"))},
			plan: fullScan},
		{name: "date between",
			q: q{fields: `["name","due"]`, filters: `[["due","between",["2024-03-05","2024-03-12"]]]`},
			ref: ref{where: func(r refRow) bool {
				d, ok := r.doc["due"].(string)
				return ok && d >= "2024-03-05" && d <= "2024-03-12"
			}, cols: cols(f("name"), f("due"))},
			plan: "index lookup Sales Order.due"},
		{name: "datetime >",
			q:    q{fields: `["name","at"]`, filters: `[["at",">","2024-03-10 12:00"]]`},
			ref:  ref{where: func(r refRow) bool { return r.doc["at"].(string) > "2024-03-10 12:00:00.000000" }, cols: cols(f("name"), f("at"))},
			plan: "index lookup Sales Order.at"},
		{name: "check = 1",
			q:    q{fields: `["name","urgent"]`, filters: `[["urgent","=",1]]`},
			ref:  ref{where: func(r refRow) bool { return num(r.doc["urgent"]) == 1 }, cols: cols(f("name"), f("urgent"))},
			plan: "index lookup Sales Order.urgent"},
		{name: "check = 0 matches NULL",
			q:    q{fields: `["name","urgent"]`, filters: `[["urgent","=",0]]`},
			ref:  ref{where: func(r refRow) bool { return num(r.doc["urgent"]) == 0 }, cols: cols(f("name"), f("urgent"))},
			plan: fullScan},
		{name: "like",
			q:    q{fields: `["name","title"]`, filters: `[["title","like","%box%"]]`},
			ref:  ref{where: func(r refRow) bool { return strings.Contains(text(r.doc["title"]), "box") }, cols: cols(f("name"), f("title"))},
			plan: fullScan},
		{name: "not like matches NULL",
			q:   q{fields: `["name","title"]`, filters: `[["title","not like","%box%"]]`},
			ref: ref{where: func(r refRow) bool { return !strings.Contains(text(r.doc["title"]), "box") }, cols: cols(f("name"), f("title"))}},
		{name: "like with _ on name",
			q:   q{filters: `[["name","like","so-0_2"]]`},
			ref: ref{where: func(r refRow) bool { return len(r.name) == 6 && strings.HasPrefix(r.name, "SO-0") && r.name[5] == '2' }}},
		{name: "is set",
			q:   q{fields: `["name","title"]`, filters: `[["title","is","set"]]`},
			ref: ref{where: func(r refRow) bool { return text(r.doc["title"]) != "" }, cols: cols(f("name"), f("title"))}},
		{name: "is not set",
			q:   q{fields: `["name","due"]`, filters: `[["due","is","not set"]]`},
			ref: ref{where: func(r refRow) bool { return r.doc["due"] == nil }, cols: cols(f("name"), f("due"))}},
		{name: "or_filters and filters",
			q: q{fields: `["name","status","urgent","docstatus"]`, filters: `[["docstatus","!=",2]]`,
				or: `[["status","=","Closed"],["urgent","=",1]]`},
			ref: ref{where: func(r refRow) bool {
				return num(r.doc["docstatus"]) != 2 && (text(r.doc["status"]) == "closed" || num(r.doc["urgent"]) == 1)
			}, cols: cols(f("name"), f("status"), f("urgent"), f("docstatus"))}},
		{name: "two indexed equalities",
			q:    q{fields: `["name"]`, filters: `[["status","=","Open"],["urgent","=",1]]`},
			ref:  ref{where: func(r refRow) bool { return text(r.doc["status"]) == "open" && num(r.doc["urgent"]) == 1 }},
			plan: "index lookup Sales Order."},

		// Composite indexes.
		{name: "composite: two equalities ordered by the next column, paged",
			q: q{fields: `["name","urgent","customer","due"]`, filters: `[["urgent","=",1],["customer","=","ACME"]]`, order: "due desc", start: 1, limit: 3},
			ref: ref{where: func(r refRow) bool { return num(r.doc["urgent"]) == 1 && text(r.doc["customer"]) == "acme" },
				order: []refKey{{f("due"), true}}, cols: cols(f("name"), f("urgent"), f("customer"), f("due"))},
			plan: "ordered scan of composite index Sales Order(urgent,customer,due) with 2 equalities desc"},
		{name: "composite: one equality ordered by the next column, asc, with ties",
			q: q{fields: `["name","status","title"]`, filters: `[["status","=","Open"]]`, order: "title asc, name desc", limit: 4},
			ref: ref{where: func(r refRow) bool { return text(r.doc["status"]) == "open" },
				order: []refKey{{f("title"), false}, {f("name"), true}}, cols: cols(f("name"), f("status"), f("title"))},
			plan: "ordered scan of composite index Sales Order(status,title,qty) with 1 equalities asc"},
		{name: "composite: equalities and a further filter",
			q: q{fields: `["name"]`, filters: `[["urgent","=",1],["customer","=","Globex"],["qty",">",1]]`, order: "due asc", limit: 5},
			ref: ref{where: func(r refRow) bool {
				return num(r.doc["urgent"]) == 1 && text(r.doc["customer"]) == "globex" && num(r.doc["qty"]) > 1
			}, order: []refKey{{f("due"), false}}},
			plan: "ordered scan of composite index Sales Order(urgent,customer,due)"},
		{name: "composite: all columns equal, unordered lookup",
			q: q{fields: `["name","qty"]`, filters: `[["status","=","Closed"],["title","=","beta"],["qty","=",2]]`},
			ref: ref{where: func(r refRow) bool {
				return text(r.doc["status"]) == "closed" && text(r.doc["title"]) == "beta" && num(r.doc["qty"]) == 2
			}, cols: cols(f("name"), f("qty"))},
			plan: "index lookup Sales Order.status,title,qty"},

		// Ordering and paging.
		{name: "default order, paged: ordered scan of modified",
			q: q{start: 5, limit: 6}, ref: ref{}, plan: orderedScanOf + "modified desc"},
		{name: "indexed order asc with ties and NULLs, paged",
			q:    q{fields: `["name","status"]`, order: "status asc", start: 2, limit: 9},
			ref:  ref{order: []refKey{{f("status"), false}}, cols: cols(f("name"), f("status"))},
			plan: orderedScanOf + "status asc"},
		{name: "indexed order desc with ties, paged",
			q:    q{fields: `["name","status"]`, order: "status desc", limit: 12},
			ref:  ref{order: []refKey{{f("status"), true}}, cols: cols(f("name"), f("status"))},
			plan: orderedScanOf + "status desc"},
		{name: "two sort keys",
			q:    q{fields: `["name","status","amount"]`, order: "status asc, amount desc", limit: 14},
			ref:  ref{order: []refKey{{f("status"), false}, {f("amount"), true}}, cols: cols(f("name"), f("status"), f("amount"))},
			plan: orderedScanOf + "status asc"},
		{name: "date order with NULLs first",
			q:    q{fields: `["name","due"]`, order: "due asc", limit: 10},
			ref:  ref{order: []refKey{{f("due"), false}}, cols: cols(f("name"), f("due"))},
			plan: orderedScanOf + "due asc"},
		{name: "Link order ignores case",
			q:   q{fields: `["name","customer"]`, order: "customer desc", start: 3, limit: 10},
			ref: ref{order: []refKey{{f("customer"), true}}, cols: cols(f("name"), f("customer"))}},
		{name: "unindexed order with ties, paged",
			q:    q{fields: `["name","qty"]`, order: "qty desc", start: 3, limit: 8},
			ref:  ref{order: []refKey{{f("qty"), true}}, cols: cols(f("name"), f("qty"))},
			plan: fullScan},
		{name: "filter and order on different fields",
			q:   q{fields: `["name","amount"]`, filters: `[["urgent","=",1]]`, order: "amount asc", limit: 4},
			ref: ref{where: func(r refRow) bool { return num(r.doc["urgent"]) == 1 }, order: []refKey{{f("amount"), false}}, cols: cols(f("name"), f("amount"))}},
		{name: "filter on the order field, paged",
			q:   q{fields: `["name","discount"]`, filters: `[["discount",">=",2.5]]`, order: "discount desc", start: 1, limit: 5},
			ref: ref{where: func(r refRow) bool { return num(r.doc["discount"]) >= 2.5 }, order: []refKey{{f("discount"), true}}, cols: cols(f("name"), f("discount"))}},
		{name: "start past the end",
			q:   q{start: 500, limit: 5},
			ref: ref{}},
		{name: "limit beyond the rows",
			q:   q{filters: `[["status","=","Closed"]]`, order: "name asc", limit: 500},
			ref: ref{where: func(r refRow) bool { return text(r.doc["status"]) == "closed" }, order: []refKey{{f("name"), false}}}},

		// Columns.
		{name: "fields *",
			q:   q{fields: `["*"]`, filters: `[["status","=","Closed"]]`, order: "name asc"},
			ref: ref{where: func(r refRow) bool { return text(r.doc["status"]) == "closed" }, order: []refKey{{f("name"), false}}, cols: starGetters()}},
		{name: "distinct",
			q:   q{fields: `["distinct status"]`, order: "status asc"},
			ref: ref{order: []refKey{{f("status"), false}}, cols: cols(f("status")), distinct: true}},
		{name: "distinct over two columns",
			q: q{fields: `["distinct status","urgent"]`, filters: `[["docstatus","=",0]]`, order: "status desc, urgent asc"},
			ref: ref{where: func(r refRow) bool { return num(r.doc["docstatus"]) == 0 }, order: []refKey{{f("status"), true}, {f("urgent"), false}},
				cols: cols(f("status"), f("urgent")), distinct: true}},

		// Child tables.
		{name: "child fields: a row per child row, LEFT JOIN",
			q:   q{fields: `["name","items.item_code","items.item_qty","items.idx"]`, order: "name asc"},
			ref: ref{join: true, order: []refKey{{f("name"), false}}, cols: cols(f("name"), cf("item_code"), cf("item_qty"), cf("idx"))}},
		{name: "child fields with the default order, paged",
			q:   q{fields: `["name","items.price"]`, start: 4, limit: 7},
			ref: ref{join: true, cols: cols(f("name"), cf("price"))}},
		{name: "filter on a child field (doctype form)",
			q: q{fields: `["name","items.item_code","items.item_qty"]`, filters: `[["Sales Order Item","item_qty",">=",4]]`, order: "name asc"},
			ref: ref{join: true, where: func(r refRow) bool { return r.child != nil && num(r.child["item_qty"]) >= 4 }, order: []refKey{{f("name"), false}},
				cols: cols(f("name"), cf("item_code"), cf("item_qty"))}},
		{name: "filter on a child field by bare name",
			q: q{fields: `["name","item_qty"]`, filters: `[["item_code","=","b"]]`, order: "name desc"},
			ref: ref{join: true, where: func(r refRow) bool { return text(cf("item_code")(r)) == "b" }, order: []refKey{{f("name"), true}},
				cols: cols(f("name"), cf("item_qty"))}},
		{name: "child filter only, name column: a row per matching child row",
			q:   q{filters: `[["items.item_code","in",["A","C"]]]`, order: "name asc"},
			ref: ref{join: true, where: func(r refRow) bool { c := text(cf("item_code")(r)); return c == "a" || c == "c" }, order: []refKey{{f("name"), false}}}},
		{name: "child is not set: documents without rows",
			q:   q{filters: `[["items.item_code","is","not set"]]`, order: "name asc"},
			ref: ref{join: true, where: func(r refRow) bool { return text(cf("item_code")(r)) == "" }, order: []refKey{{f("name"), false}}}},
		{name: "main and child filters, ordered by a child field, paged",
			q: q{fields: `["name","items.price"]`, filters: `[["status","=","Open"],["items.price",">",20]]`,
				order: "items.price desc", limit: 5},
			ref: ref{join: true, where: func(r refRow) bool { return text(r.doc["status"]) == "open" && num(cf("price")(r)) > 20 },
				order: []refKey{{cf("price"), true}}, cols: cols(f("name"), cf("price"))}},
		{name: "or_filters across the child table and the document",
			q: q{fields: `["name","items.item_code","status"]`, or: `[["items.item_code","=","A"],["status","=","Draft"]]`, order: "name asc"},
			ref: ref{join: true, where: func(r refRow) bool { return text(cf("item_code")(r)) == "a" || text(r.doc["status"]) == "draft" },
				order: []refKey{{f("name"), false}}, cols: cols(f("name"), cf("item_code"), f("status"))}},
		{name: "ordered scan with a child filter and child columns",
			q: q{fields: `["name","due","items.item_code"]`, filters: `[["items.item_qty",">=",3]]`, order: "due asc", limit: 6},
			ref: ref{join: true, where: func(r refRow) bool { return num(cf("item_qty")(r)) >= 3 }, order: []refKey{{f("due"), false}},
				cols: cols(f("name"), f("due"), cf("item_code"))},
			plan: orderedScanOf + "due asc"},
		{name: "ordered scan desc with a second key asc",
			q:    q{fields: `["name","status","qty"]`, order: "status desc, qty asc", start: 4, limit: 10},
			ref:  ref{order: []refKey{{f("status"), true}, {f("qty"), false}}, cols: cols(f("name"), f("status"), f("qty"))},
			plan: orderedScanOf + "status desc"},
		{name: "ordered scan with a filter the index cannot serve",
			q:    q{fields: `["name","at"]`, filters: `[["title","like","%e%"]]`, order: "at desc", limit: 5},
			ref:  ref{where: func(r refRow) bool { return strings.Contains(text(r.doc["title"]), "e") }, order: []refKey{{f("at"), true}}, cols: cols(f("name"), f("at"))},
			plan: orderedScanOf + "at desc"},
		{name: "order by the alias of a plain column",
			q:   q{fields: `["name","amount as amt"]`, order: "amt desc", limit: 8},
			ref: ref{order: []refKey{{f("amount"), true}}, cols: cols(f("name"), f("amount"))}},
		{name: "distinct, paged",
			q:   q{fields: `["distinct status"]`, order: "status desc", start: 1, limit: 2},
			ref: ref{order: []refKey{{f("status"), true}}, cols: cols(f("status")), distinct: true}},
		{name: "a field of the linked document",
			q:   q{fields: `["name","customer","customer.territory"]`, order: "name asc"},
			ref: ref{order: []refKey{{f("name"), false}}, cols: cols(f("name"), f("customer"), territory)}},
		{name: "a filter on the linked document",
			q:   q{fields: `["name","customer"]`, filters: `[["customer.territory","=","SOUTH"]]`, order: "name desc"},
			ref: ref{where: func(r refRow) bool { return text(territory(r)) == "south" }, order: []refKey{{f("name"), true}}, cols: cols(f("name"), f("customer"))}},
		{name: "order by a field of the linked document",
			q:   q{fields: `["name","customer.rank"]`, order: "customer.rank desc", limit: 9},
			ref: ref{order: []refKey{{linked(customers, "rank"), true}}, cols: cols(f("name"), linked(customers, "rank"))}},
		{name: "distinct child values",
			q:   q{fields: `["distinct items.item_code"]`, order: "items.item_code asc"},
			ref: ref{join: true, order: []refKey{{cf("item_code"), false}}, cols: cols(cf("item_code")), distinct: true}},
	}
}

// TestList runs list queries over the Sales Order data set and compares
// each with the brute-force reference; the plans must use the indexes
// where they should, and the rows of an index lookup or ordered scan must
// be those of a full scan.
func TestList(t *testing.T) {
	n, m := orderData(t)
	ctx := context.Background()
	docs := m.live(orderDT)
	total := len(docs)
	customers := map[string]map[string]any{}
	for _, d := range m.live("Customer") {
		customers[d["name"].(string)] = d
	}
	for _, c := range listCases(customers) {
		t.Run(c.name, func(t *testing.T) {
			pq := c.q.build(t, orderDT)
			res, err := n.store.List(ctx, pq)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			want := c.ref.result(docs, c.q.start, c.q.limit)
			if !reflect.DeepEqual(res.Rows, want) && !(len(res.Rows) == 0 && len(want) == 0) {
				t.Errorf("rows (plan %q):%s\nwant:%s", res.Plan, rowsString(res.Rows), rowsString(want))
			}
			if c.plan != "" && !strings.Contains(res.Plan, c.plan) {
				t.Errorf("plan %q does not hold %q", res.Plan, c.plan)
			}
			if strings.Contains(res.Plan, "index lookup") || strings.Contains(res.Plan, "ordered scan") && c.q.start+c.q.limit < total/2 {
				if strings.Contains(res.Plan, fmt.Sprintf("examined %d documents", total)) {
					t.Errorf("plan %q reads every document", res.Plan)
				}
			}
			if c.q.fields == `["*"]` && !slices.Equal(res.Columns, starCols) {
				t.Errorf("columns %q, want %q", res.Columns, starCols)
			}
			if len(res.Columns) != len(res.Types) {
				t.Errorf("%d columns but %d types", len(res.Columns), len(res.Types))
			}

			// The same rows from a full scan: the single filter moved to
			// or_filters (one OR condition means the same), no paging.
			if scan, ok := fullScanVariant(c.q); ok {
				sres, err := n.store.List(ctx, scan.build(t, orderDT))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(sres.Plan, "full scan") {
					t.Fatalf("variant %+v is not a full scan: %q", scan, sres.Plan)
				}
				if got := pageRows(sres.Rows, c.q.start, c.q.limit); !reflect.DeepEqual(res.Rows, got) && !(len(res.Rows) == 0 && len(got) == 0) {
					t.Errorf("plan %q gave:%s\nfull scan %q gave:%s", res.Plan, rowsString(res.Rows), sres.Plan, rowsString(got))
				}
			}

			// Count: distinct documents matching the filters.
			cnt, plan, err := n.store.Count(ctx, pq)
			if err != nil {
				t.Fatalf("Count: %v", err)
			}
			if want := c.ref.count(docs); cnt != want {
				t.Errorf("Count = %d (plan %q), want %d", cnt, plan, want)
			}
		})
	}
}

// fullScanVariant rewrites a query so that no index can serve it: no
// paging, and its one filter (if any) as the only or_filter.
func fullScanVariant(x q) (q, bool) {
	if x.or != "" || (x.start == 0 && x.limit == 0 && x.filters == "") {
		return q{}, false
	}
	conds, err := query.ParseFilters(x.filters)
	if err != nil || len(conds) > 1 {
		return q{}, false
	}
	v := x
	v.start, v.limit = 0, 0
	if len(conds) == 1 {
		v.or, v.filters = x.filters, ""
	}
	return v, true
}

// aggregate references.

type aggCol struct {
	fn       string // "", count, sum, avg, min, max
	get      func(refRow) any
	star     bool
	distinct bool
}

type aggCase struct {
	name    string
	q       q
	join    bool
	where   func(refRow) bool
	group   []func(refRow) any
	cols    []aggCol
	columns []string // expected column names
	// sortedBy: the expected order is by these column indexes (asc unless
	// desc); a nil order compares rows as a multiset.
	sortedBy []int
	desc     []bool
	// exactOrder: the order of rows is fully determined by sortedBy.
	exactOrder bool
}

func (c aggCase) expected(docs []map[string]any) [][]any {
	rf := ref{join: c.join, where: c.where, order: []refKey{}}
	type group struct {
		rows []refRow
	}
	var keys []string
	groups := map[string]*group{}
	for _, r := range rf.matching(docs) {
		var kv []any
		for _, g := range c.group {
			kv = append(kv, g(r))
		}
		k := fmt.Sprintf("%#v", kv)
		if groups[k] == nil {
			groups[k] = &group{}
			keys = append(keys, k)
		}
		groups[k].rows = append(groups[k].rows, r)
	}
	if len(c.group) == 0 && len(keys) == 0 {
		keys, groups[""] = []string{""}, &group{}
	}
	var out [][]any
	for _, k := range keys {
		g := groups[k]
		row := make([]any, len(c.cols))
		for i, col := range c.cols {
			if col.fn == "" {
				row[i] = col.get(g.rows[0])
				continue
			}
			var vals []any
			seen := map[string]bool{}
			for _, r := range g.rows {
				var v any = int64(1)
				if !col.star {
					v = col.get(r)
				}
				if v == nil {
					continue
				}
				if col.distinct {
					if seen[fmt.Sprint(v)] {
						continue
					}
					seen[fmt.Sprint(v)] = true
				}
				vals = append(vals, v)
			}
			row[i] = aggregateOf(col.fn, vals)
		}
		out = append(out, row)
	}
	return out
}

func aggregateOf(fn string, vals []any) any {
	if fn == "count" {
		return int64(len(vals))
	}
	if len(vals) == 0 {
		return nil
	}
	switch fn {
	case "sum", "avg":
		var si int64
		var sf float64
		isFloat := false
		for _, v := range vals {
			switch x := v.(type) {
			case int64:
				si += x
				sf += float64(x)
			case float64:
				isFloat = true
				sf += x
			}
		}
		if fn == "avg" {
			return sf / float64(len(vals))
		}
		if isFloat {
			return sf
		}
		return si
	}
	best := vals[0]
	for _, v := range vals[1:] {
		c := refCompare(v, best)
		if fn == "min" && c < 0 || fn == "max" && c > 0 {
			best = v
		}
	}
	return best
}

// sameValue compares result values; floats within a relative 1e-9
// (sums may add in another order).
func sameValue(a, b any) bool {
	fa, aok := a.(float64)
	fb, bok := b.(float64)
	if aok && bok {
		return fa == fb || math.Abs(fa-fb) <= 1e-9*math.Max(math.Abs(fa), math.Abs(fb))
	}
	return reflect.DeepEqual(a, b)
}

func sameRow(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

func aggCases() []aggCase {
	status := f("status")
	return []aggCase{
		{name: "group by a Select with every aggregate, ordered by the group",
			q: q{fields: `["status","count(*) as n","sum(qty) as total_qty","avg(amount) as avg_amount","min(due) as first_due","max(amount)","sum(amount)"]`,
				group: "status", order: "status asc"},
			group: []func(refRow) any{status},
			cols: []aggCol{{get: status}, {fn: "count", star: true}, {fn: "sum", get: f("qty")}, {fn: "avg", get: f("amount")},
				{fn: "min", get: f("due")}, {fn: "max", get: f("amount")}, {fn: "sum", get: f("amount")}},
			columns:  []string{"status", "n", "total_qty", "avg_amount", "first_due", "max(amount)", "sum(amount)"},
			sortedBy: []int{0}, exactOrder: true},
		{name: "aggregates without group_by over an index lookup",
			q:     q{fields: `["count(*) as n","sum(amount)","min(amount) as lo","max(discount) as hi","avg(qty)"]`, filters: `[["urgent","=",1]]`},
			where: func(r refRow) bool { return num(r.doc["urgent"]) == 1 },
			cols: []aggCol{{fn: "count", star: true}, {fn: "sum", get: f("amount")}, {fn: "min", get: f("amount")},
				{fn: "max", get: f("discount")}, {fn: "avg", get: f("qty")}},
			columns: []string{"n", "sum(amount)", "lo", "hi", "avg(qty)"}},
		{name: "count distinct and count of a field skip NULLs",
			q:       q{fields: `["count(distinct status) as statuses","count(discount) as with_discount","count(due)"]`},
			cols:    []aggCol{{fn: "count", get: status, distinct: true}, {fn: "count", get: f("discount")}, {fn: "count", get: f("due")}},
			columns: []string{"statuses", "with_discount", "count(due)"}},
		{name: "group by owner ordered by an alias",
			q:        q{fields: `["owner","count(*) as n","sum(qty) as q"]`, group: "owner", order: "n desc", filters: `[["docstatus","!=",2]]`},
			where:    func(r refRow) bool { return num(r.doc["docstatus"]) != 2 },
			group:    []func(refRow) any{f("owner")},
			cols:     []aggCol{{get: f("owner")}, {fn: "count", star: true}, {fn: "sum", get: f("qty")}},
			columns:  []string{"owner", "n", "q"},
			sortedBy: []int{1}, desc: []bool{true}},
		{name: "group by a child field",
			q:        q{fields: `["items.item_code","sum(items.item_qty) as q","count(*) as n","max(items.price) as top"]`, group: "items.item_code", order: "items.item_code asc"},
			join:     true,
			group:    []func(refRow) any{cf("item_code")},
			cols:     []aggCol{{get: cf("item_code")}, {fn: "sum", get: cf("item_qty")}, {fn: "count", star: true}, {fn: "max", get: cf("price")}},
			columns:  []string{"item_code", "q", "n", "top"},
			sortedBy: []int{0}, exactOrder: true},
		{name: "aggregate over no rows",
			q:       q{fields: `["count(*) as n","sum(qty) as s","max(due)"]`, filters: `[["status","=","Nope"]]`},
			where:   func(refRow) bool { return false },
			cols:    []aggCol{{fn: "count", star: true}, {fn: "sum", get: f("qty")}, {fn: "max", get: f("due")}},
			columns: []string{"n", "s", "max(due)"}},
		{name: "group by two fields",
			q:        q{fields: `["status","urgent","count(*) as n","avg(discount) as d"]`, group: "status, urgent", order: "status asc, urgent desc"},
			group:    []func(refRow) any{status, f("urgent")},
			cols:     []aggCol{{get: status}, {get: f("urgent")}, {fn: "count", star: true}, {fn: "avg", get: f("discount")}},
			columns:  []string{"status", "urgent", "n", "d"},
			sortedBy: []int{0, 1}, desc: []bool{false, true}, exactOrder: true},
		{name: "group with a filter on the child table",
			q:        q{fields: `["status","count(*) as n"]`, filters: `[["items.item_code","=","D"]]`, group: "status", order: "status desc"},
			join:     true,
			where:    func(r refRow) bool { return text(cf("item_code")(r)) == "d" },
			group:    []func(refRow) any{status},
			cols:     []aggCol{{get: status}, {fn: "count", star: true}},
			columns:  []string{"status", "n"},
			sortedBy: []int{0}, desc: []bool{true}, exactOrder: true},
	}
}

// TestListAggregates checks group_by and aggregates against the
// reference.
func TestListAggregates(t *testing.T) {
	n, m := orderData(t)
	ctx := context.Background()
	docs := m.live(orderDT)
	for _, c := range aggCases() {
		t.Run(c.name, func(t *testing.T) {
			res, err := n.store.List(ctx, c.q.build(t, orderDT))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Columns, c.columns) {
				t.Errorf("columns %q, want %q", res.Columns, c.columns)
			}
			want := c.expected(docs)
			got := res.Rows
			less := func(a, b []any) int {
				for i, idx := range c.sortedBy {
					r := refCompare(a[idx], b[idx])
					if i < len(c.desc) && c.desc[i] {
						r = -r
					}
					if r != 0 {
						return r
					}
				}
				return 0
			}
			if c.sortedBy != nil && !slices.IsSortedFunc(got, less) {
				t.Errorf("rows not in order:%s", rowsString(got))
			}
			if c.exactOrder {
				slices.SortStableFunc(want, less)
			} else {
				// Compare as multisets.
				key := func(r []any) string { return renderValue(r) }
				got = slices.Clone(got)
				slices.SortFunc(got, func(a, b []any) int { return strings.Compare(key(a), key(b)) })
				slices.SortFunc(want, func(a, b []any) int { return strings.Compare(key(a), key(b)) })
			}
			ok := len(got) == len(want)
			for i := 0; ok && i < len(got); i++ {
				ok = sameRow(got[i], want[i])
			}
			if !ok {
				t.Errorf("rows (plan %q):%s\nwant:%s", res.Plan, rowsString(res.Rows), rowsString(want))
			}
		})
	}
}

// TestCountCountersAgreeWithScans counts with one equality on each
// counted field (answered from the counters), the same condition as an
// or_filter (answered by a scan) and the reference, for every value the
// data holds and a differently cased one.
func TestCountCountersAgreeWithScans(t *testing.T) {
	n, m := orderData(t)
	ctx := context.Background()
	docs := m.live(orderDT)

	c, plan, err := n.store.Count(ctx, projections.Query{DocType: orderDT})
	if err != nil || c != int64(len(docs)) || !strings.Contains(plan, "count from counter Sales Order") {
		t.Errorf("Count() = %d, %q, %v; want %d from the counter", c, plan, err, len(docs))
	}
	d := n.store.Registry().Get(orderDT)
	for _, field := range d.CountedFields() {
		values := map[string]any{}
		for _, doc := range docs {
			if v := doc[field]; v != nil {
				values[fmt.Sprint(v)] = v
				if s, ok := v.(string); ok {
					values[strings.ToUpper(s)] = strings.ToUpper(s)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(values)) {
			v := values[k]
			cond := []query.Condition{{Field: field, Op: "=", Value: v}}
			byCounter, plan, err := n.store.Count(ctx, projections.Query{DocType: orderDT, Filters: cond})
			if err != nil {
				t.Fatal(err)
			}
			byScan, splan, err := n.store.Count(ctx, projections.Query{DocType: orderDT, OrFilters: cond})
			if err != nil {
				t.Fatal(err)
			}
			var want int64
			for _, doc := range docs {
				if s, ok := v.(string); ok {
					if text(doc[field]) == strings.ToLower(s) {
						want++
					}
				} else if num(doc[field]) == num(v) {
					want++
				}
			}
			if byCounter != want || byScan != want {
				t.Errorf("%s = %#v: counter %d (%q), scan %d (%q), want %d", field, v, byCounter, plan, byScan, splan, want)
			}
			truthy := v != "" && v != int64(0)
			if truthy && !strings.Contains(plan, "count from counter Sales Order."+field) {
				t.Errorf("%s = %#v: plan %q does not use the counter", field, v, plan)
			}
			if strings.Contains(splan, "counter") {
				t.Errorf("%s = %#v: or_filters plan %q uses a counter", field, v, splan)
			}
		}
	}
}

// TestListUnknown covers the errors of List.
func TestListUnknown(t *testing.T) {
	n, _ := orderData(t)
	ctx := context.Background()
	if _, err := n.store.List(ctx, projections.Query{DocType: "Nope"}); err == nil || !strings.Contains(err.Error(), "unknown doctype") {
		t.Errorf("List of an unknown doctype: %v", err)
	}
	pq := q{filters: `[["nope","=",1]]`}.build(t, orderDT)
	if _, err := n.store.List(ctx, pq); err == nil {
		t.Error("List with an unknown field: no error")
	}
	pq = q{fields: `["items.nope"]`}.build(t, orderDT)
	if _, err := n.store.List(ctx, pq); err == nil {
		t.Error("List with an unknown child field: no error")
	}
}

// caseDocType is a doctype for the collation tests.
var caseDocType = map[string]any{
	"module": "Custom", "autoname": "Prompt",
	"fields": []any{
		map[string]any{"fieldname": "customer", "fieldtype": "Link", "options": "Customer"},
		map[string]any{"fieldname": "label", "fieldtype": "Data", "in_list_view": int64(1)},
		map[string]any{"fieldname": "amount", "fieldtype": "Float"},
	},
}

// TestListGroupingIgnoresCase: string comparisons are case-insensitive
// (MariaDB's default collation, which the filters and counters follow),
// so group_by and distinct must put "Acme" and "ACME" in one group, as
// Count with customer = "Acme" (from the counters) does.
func TestListGroupingIgnoresCase(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Deal", caseDocType))
	m.commit(n.log,
		m.insert("Deal", "D-1", map[string]any{"customer": "Acme", "amount": 1.0}),
		m.insert("Deal", "D-2", map[string]any{"customer": "ACME", "amount": 2.0}),
		m.insert("Deal", "D-3", map[string]any{"customer": "acme", "amount": 4.0}),
		m.insert("Deal", "D-4", map[string]any{"customer": "Globex", "amount": 8.0}),
	)
	n.waitFor(m.last)
	ctx := context.Background()

	res, err := n.store.List(ctx, q{fields: `["customer","count(*) as n","sum(amount) as total"]`, group: "customer"}.build(t, "Deal"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, r := range res.Rows {
		counts[strings.ToLower(r[0].(string))] += r[1].(int64)
	}
	if len(res.Rows) != 2 || counts["acme"] != 3 || counts["globex"] != 1 {
		t.Errorf("group_by customer gave %d groups:%s\nwant 2 groups: acme (any case) 3, Globex 1", len(res.Rows), rowsString(res.Rows))
	}
	for _, r := range res.Rows {
		c, _, err := n.store.Count(ctx, projections.Query{DocType: "Deal", Filters: []query.Condition{{Field: "customer", Op: "=", Value: r[0]}}})
		if err != nil {
			t.Fatal(err)
		}
		if c != r[1].(int64) {
			t.Errorf("group %q has count(*) %d but Count(customer = %q) = %d", r[0], r[1], r[0], c)
		}
	}
	res, err = n.store.List(ctx, q{fields: `["distinct customer"]`, order: "customer asc"}.build(t, "Deal"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 {
		t.Errorf("distinct customer gave %d rows:%s\nwant 2 (acme in any case, Globex)", len(res.Rows), rowsString(res.Rows))
	}
	res, err = n.store.List(ctx, q{fields: `["count(distinct customer) as n"]`}.build(t, "Deal"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || !reflect.DeepEqual(res.Rows[0][0], int64(2)) {
		t.Errorf("count(distinct customer) =%s, want 2", rowsString(res.Rows))
	}
}

// TestLongIndexedStrings: index and counter keys keep only the first
// bytes of a string (projections.MaxIndexedStringForTest); values that
// differ after that must still be told apart by lookups, counts and
// ordering. 101 Cyrillic letters are 202 bytes, well within a Link or
// Data field's 140 characters.
func TestLongIndexedStrings(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Deal", caseDocType))
	prefix := strings.Repeat("ж", projections.MaxIndexedStringForTest/2)
	// Names in the opposite order of the values.
	vals := map[string]string{"D-1": prefix + "в", "D-2": prefix + "б", "D-3": prefix + "а"}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		m.commit(n.log, m.insert("Deal", name, map[string]any{"customer": vals[name], "label": vals[name]}))
	}
	n.waitFor(m.last)
	ctx := context.Background()

	for _, name := range []string{"D-1", "D-2", "D-3"} {
		v := vals[name]
		res, err := n.store.List(ctx, projections.Query{DocType: "Deal", Filters: []query.Condition{{Field: "label", Op: "=", Value: v}}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Rows, [][]any{{name}}) {
			t.Errorf("label = value of %s: rows%s, want %s", name, rowsString(res.Rows), name)
		}
		c, plan, err := n.store.Count(ctx, projections.Query{DocType: "Deal", Filters: []query.Condition{{Field: "customer", Op: "=", Value: v}}})
		if err != nil {
			t.Fatal(err)
		}
		if c != 1 {
			t.Errorf("Count(customer = value of %s) = %d (plan %q), want 1", name, c, plan)
		}
	}
	// Ascending by value: D-3 (…а), D-2 (…б), D-1 (…в).
	for _, field := range []string{"label", "customer"} {
		for limit := 0; limit <= 2; limit++ {
			res, err := n.store.List(ctx, q{order: field + " asc", limit: limit}.build(t, "Deal"))
			if err != nil {
				t.Fatal(err)
			}
			want := pageRows([][]any{{"D-3"}, {"D-2"}, {"D-1"}}, 0, limit)
			if !reflect.DeepEqual(res.Rows, want) {
				t.Errorf("order by %s asc, limit %d (plan %q): rows%s\nwant%s", field, limit, res.Plan, rowsString(res.Rows), rowsString(want))
			}
		}
	}
}

// TestListAutoincrementNames: autoincrement names are integers; they
// filter and sort as numbers (10 after 9).
func TestListAutoincrementNames(t *testing.T) {
	n := newNode(t)
	n.start()
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Tick", map[string]any{"module": "Custom", "autoname": "autoincrement",
		"fields": []any{map[string]any{"fieldname": "label", "fieldtype": "Data"}}}))
	for _, name := range []string{"1", "2", "10", "9", "11"} {
		m.commit(n.log, m.insert("Tick", name, map[string]any{"label": "tick " + name}))
	}
	n.waitFor(m.last)
	checkInvariants(t, n, m)
	ctx := context.Background()
	for _, c := range []struct {
		q    q
		want [][]any
		plan string
	}{
		{q{order: "name asc", limit: 3}, [][]any{{int64(1)}, {int64(2)}, {int64(9)}}, "ordered scan of index Tick.name asc"},
		{q{order: "name desc"}, [][]any{{int64(11)}, {int64(10)}, {int64(9)}, {int64(2)}, {int64(1)}}, ""},
		{q{filters: `[["name",">",9]]`, order: "name asc"}, [][]any{{int64(10)}, {int64(11)}}, "index lookup Tick.name"},
		{q{fields: `["name","label"]`, filters: `[["name","=","10"]]`}, [][]any{{int64(10), "tick 10"}}, "index lookup Tick.name"},
	} {
		res, err := n.store.List(ctx, c.q.build(t, "Tick"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Rows, c.want) {
			t.Errorf("%+v: rows%s\nwant%s", c.q, rowsString(res.Rows), rowsString(c.want))
		}
		if !strings.Contains(res.Plan, c.plan) {
			t.Errorf("%+v: plan %q does not hold %q", c.q, res.Plan, c.plan)
		}
	}
}

// TestListGroupOrderedByAColumnNotSelected: ORDER BY may name a group_by
// field that is not among the fields (SELECT count(*) … GROUP BY status
// ORDER BY status DESC is valid SQL); the groups must come in that order.
func TestListGroupOrderedByAColumnNotSelected(t *testing.T) {
	n, m := orderData(t)
	docs := m.live(orderDT)
	// The reference with status as an extra first column, then dropped.
	c := aggCase{
		group: []func(refRow) any{f("status")},
		cols:  []aggCol{{get: f("status")}, {fn: "count", star: true}, {fn: "sum", get: f("qty")}},
	}
	full := c.expected(docs)
	slices.SortStableFunc(full, func(a, b []any) int { return -refCompare(a[0], b[0]) })
	var want [][]any
	for _, r := range full {
		want = append(want, r[1:])
	}
	res, err := n.store.List(context.Background(), q{fields: `["count(*) as n","sum(qty) as q"]`, group: "status", order: "status desc"}.build(t, orderDT))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows (plan %q):%s\nwant (groups by status desc):%s", res.Plan, rowsString(res.Rows), rowsString(want))
	}
}
