package query

import (
	"strings"
)

// Field is one parsed entry of the fields parameter.
type Field struct {
	// Table is "" for the main doctype, the table (or link) fieldname
	// ("items" in "items.item_code"), or the doctype name written as
	// "`tabSales Order Item`.item_code". The caller tells them apart (Frappe
	// first looks the prefix up as a fieldname of the doctype).
	Table string
	// Name is the fieldname; "*" for all fields and inside count(*).
	Name string
	// Func is "", "count", "sum", "avg", "min" or "max".
	Func string
	// Distinct is set for "distinct status" and "count(distinct status)".
	Distinct bool
	// Alias is the name after AS ("x as y", case-insensitive), else "".
	Alias string
}

// aggregates are the only functions accepted in fields.
var aggregates = map[string]bool{"count": true, "sum": true, "avg": true, "min": true, "max": true}

// ParseFields parses the fields parameter.
//
// raw may be nil or "" (then the result is [{Name: "name"}], Frappe's
// default), JSON text, or an already-decoded list of strings. A string that is
// not JSON is accepted as one fieldname or a comma-separated list of them
// ("name" → [name], "name, status" → [name status]), as Frappe's
// DatabaseQuery does; Frappe's REST handler would fail with an internal error
// instead. A JSON string is one field; JSON null and [] mean the default.
// Empty and null entries are dropped; if nothing remains of a non-empty list
// the result is an empty, non-nil slice and, as in Frappe, the query returns
// no rows.
//
// Accepted entries: "field", "table_field.field", "`tabDocType`.field",
// "`tabDocType`.`field`", "*", "`tabDocType`.*", "distinct field",
// "count(*)", "count(field)", "count(distinct field)", sum/avg/min/max(field),
// each optionally followed by "as alias" (a plain or backquoted identifier).
// Fieldnames are identifiers ([A-Za-z0-9_]); DocType names inside backquotes
// may also contain spaces and '-'.
//
// Errors are *Error values with Type DataError: "Use of function X in field
// is restricted" for any function other than the aggregates, "Use of
// sub-query or function is restricted" for sub-queries, '@', quotes, commas
// and ';' inside an entry, "Illegal SQL Query" for comments and UNION, and
// "Invalid field name X" for anything else that does not parse. A list entry
// that is not a string is a ValidationError.
func ParseFields(raw any) ([]Field, error) {
	defaultFields := []Field{{Name: "name"}}
	var entries []any
	switch x := raw.(type) {
	case nil:
		return defaultFields, nil
	case []byte:
		return ParseFields(string(x))
	case string:
		if strings.TrimSpace(x) == "" {
			return defaultFields, nil
		}
		v, err := decodeJSON(x)
		if err != nil {
			// Not JSON: a comma-separated list of fields.
			for _, f := range strings.Split(x, ",") {
				entries = append(entries, f)
			}
			break
		}
		return fieldsFromValue(v, defaultFields)
	default:
		return fieldsFromValue(normalise(raw, 0), defaultFields)
	}
	return parseFieldEntries(entries)
}

func fieldsFromValue(v any, defaultFields []Field) ([]Field, error) {
	switch x := v.(type) {
	case nil:
		return defaultFields, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return defaultFields, nil
		}
		return parseFieldEntries([]any{x})
	case []any:
		if len(x) == 0 {
			return defaultFields, nil
		}
		return parseFieldEntries(x)
	default:
		return nil, validationErr("fields must be a JSON list of strings")
	}
}

func parseFieldEntries(entries []any) ([]Field, error) {
	out := make([]Field, 0, len(entries))
	for _, e := range entries {
		var s string
		switch x := e.(type) {
		case nil:
			continue
		case string:
			s = strings.TrimSpace(x)
		default:
			return nil, validationErr("fields must be a JSON list of strings, got " + pyRepr(x))
		}
		if s == "" {
			continue
		}
		f, err := parseField(s)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

var subQueryKeywords = []string{"select", "create", "insert", "delete", "drop", "update", "case", "show"}

// checkFieldSafety applies Frappe's sanitize_fields rejections, in Frappe's
// order, to a trimmed field entry.
func checkFieldSafety(s string) error {
	lower := strings.ToLower(s)
	if i := strings.IndexByte(lower, '('); i >= 0 {
		after := strings.TrimLeft(lower[i+1:], " \t\r\n")
		for _, kw := range subQueryKeywords {
			if strings.HasPrefix(after, kw) && (len(after) == len(kw) || !isIdent(after[len(kw):len(kw)+1])) {
				return errRestricted()
			}
		}
		fn := strings.TrimRight(lower[:i], " \t\r\n")
		if isIdent(fn) && !aggregates[fn] && fn != "distinct" {
			return dataErr("Use of function " + fn + " in field is restricted")
		}
	}
	if strings.ContainsAny(s, "@'\",;") {
		return errRestricted()
	}
	words := strings.Fields(lower)
	if len(words) > 0 {
		switch words[0] {
		case "select", "delete", "update", "drop", "create":
			if len(words) > 1 {
				return errRestricted()
			}
		}
	}
	padded := " " + strings.Join(words, " ") + " "
	for _, kw := range []string{" from ", " where ", " join ", " group by ", " order by "} {
		if strings.Contains(padded, kw) {
			return errRestricted()
		}
	}
	if strings.Contains(s, "/*") || strings.Contains(s, "--") {
		return dataErr("Illegal SQL Query")
	}
	for _, w := range words {
		if w == "union" {
			return dataErr("Illegal SQL Query")
		}
	}
	return nil
}

// parseField parses one trimmed, non-empty field entry.
func parseField(s string) (Field, error) {
	if err := checkFieldSafety(s); err != nil {
		return Field{}, err
	}
	bad := errInvalidField(s)
	sc := scanner{s: s}
	var f Field

	if sc.keyword("distinct") {
		f.Distinct = true
		sc.skipSpace()
		if sc.peek() == '(' { // distinct(status)
			sc.i++
			sc.skipSpace()
			ref, ok := sc.colRef(false)
			sc.skipSpace()
			if !ok || sc.peek() != ')' {
				return Field{}, bad
			}
			sc.i++
			f.Table, f.Name = ref.Table, ref.Name
		} else {
			ref, ok := sc.colRef(false)
			if !ok {
				return Field{}, bad
			}
			f.Table, f.Name = ref.Table, ref.Name
		}
	} else if fn, ok := sc.funcName(); ok {
		if !aggregates[fn] {
			return Field{}, dataErr("Use of function " + fn + " in field is restricted")
		}
		f.Func = fn
		sc.skipSpace()
		if sc.keyword("distinct") {
			if !sc.skipSpace() {
				return Field{}, bad
			}
			f.Distinct = true
		}
		ref, ok := sc.colRef(fn == "count" && !f.Distinct)
		sc.skipSpace()
		if !ok || sc.peek() != ')' || (ref.Name == "*" && ref.Table != "") {
			return Field{}, bad
		}
		sc.i++
		f.Table, f.Name = ref.Table, ref.Name
	} else {
		ref, ok := sc.colRef(true)
		if !ok {
			return Field{}, bad
		}
		f.Table, f.Name = ref.Table, ref.Name
	}

	if sc.skipSpace() && sc.keyword("as") {
		if !sc.skipSpace() {
			return Field{}, bad
		}
		alias, _, ok := sc.part()
		if !ok || !isIdent(alias) {
			return Field{}, bad
		}
		f.Alias = alias
		sc.skipSpace()
	}
	if !sc.eof() {
		return Field{}, bad
	}
	return f, nil
}

// funcName reads "name(" (white space allowed before the parenthesis) and
// returns the lower-cased name; otherwise it consumes nothing.
func (sc *scanner) funcName() (string, bool) {
	start := sc.i
	w := sc.word()
	sc.skipSpace()
	if w == "" || sc.peek() != '(' {
		sc.i = start
		return "", false
	}
	sc.i++
	return strings.ToLower(w), true
}

// String renders f in the syntax ParseFields accepts.
func (f Field) String() string {
	col := f.Name
	if f.Table != "" {
		if isIdent(f.Table) {
			col = f.Table + "." + f.Name
		} else {
			col = "`tab" + f.Table + "`." + f.Name
		}
	}
	if f.Distinct {
		col = "distinct " + col
	}
	if f.Func != "" {
		col = f.Func + "(" + col + ")"
	}
	if f.Alias != "" {
		col += " as " + f.Alias
	}
	return col
}
