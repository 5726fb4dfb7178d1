package query

import (
	"encoding/json"
	"strings"
)

// Condition is one parsed filter condition.
type Condition struct {
	// DocType is the doctype given explicitly, by the 4-element form
	// [doctype, field, op, value] or by a "`tabX`.field" prefix; else "".
	DocType string
	// Field is the plain fieldname ("qty" for "items.qty").
	Field string
	// Table is "" or the prefix before a dot in the field: a table (or link)
	// fieldname ("items" from "items.qty") or, for "`tabSales Order Item`.qty",
	// the doctype (then DocType is set too).
	Table string
	// Op is the normalised operator: lower case, single spaces ("not in",
	// "descendants of (inclusive)"); an empty or null operator becomes "=".
	Op string
	// Value is the filter value as given. Values decoded from JSON text by
	// ParseFilters use json.Number for numbers.
	Value any
}

// ParseFilters parses a filters or or_filters parameter.
//
// raw may be nil or "" (no filters), JSON text (a string, []byte or
// json.RawMessage), or an already-decoded JSON value ([]any, map[string]any
// and similar Go shapes). A JSON null means no filters.
//
// Accepted forms, as in Frappe v15:
//   - the dict form {"status": "Open", "x": ["!=", "A"], "name": ["in", ["A", "B"]]}:
//     each key is a field; a list value is [operator, value] (extra elements
//     are ignored, fewer than two is an error), any other value means "=".
//     Conditions come in the order of the JSON text when raw is text, in
//     sorted key order when raw is an already-decoded map;
//   - the list form of [field, op, value] and [doctype, field, op, value]
//     lists (longer lists are truncated to 4 elements; shorter than 3 is an
//     error). A dict element of the list contributes only its first key, as in
//     Frappe (first in JSON order, or in sorted order for decoded maps).
//
// The field may be written "field", "table_field.field", "`tabDocType`.field"
// or "`tabDocType`.`field`" (see [Condition]). Whether the field exists — or,
// as Frappe does for 3-element filters, lives on a child table — is for the
// caller to resolve.
//
// Errors are *Error values: ValidationError for invalid JSON, malformed
// filters, unknown operators (Frappe's "Operator must be one of …") and plain
// string elements (Frappe's legacy raw SQL conditions, not supported);
// DataError ("Invalid field name …") for fields that are not identifiers.
// Values are not checked here; see [Compile].
func ParseFilters(raw any) ([]Condition, error) {
	v, err := decodeParam(raw, "filters")
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case object:
		out := make([]Condition, 0, len(x))
		for _, m := range x {
			c, err := dictCondition(m.key, m.val)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	case map[string]any:
		out := make([]Condition, 0, len(x))
		for _, k := range sortedKeys(x) {
			c, err := dictCondition(k, x[k])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	case []any:
		out := make([]Condition, 0, len(x))
		for _, f := range x {
			c, err := listElement(f)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	default:
		return nil, validationErr("filters must be a JSON list or object")
	}
}

// decodeParam turns raw into a JSON-like value: text is decoded (objects as
// object), Go values are normalised.
func decodeParam(raw any, what string) (any, error) {
	var text string
	switch x := raw.(type) {
	case nil:
		return nil, nil
	case string:
		text = x
	case []byte:
		text = string(x)
	case json.RawMessage:
		text = string(x)
	default:
		return normalise(raw, 0), nil
	}
	if text == "" {
		return nil, nil
	}
	v, err := decodeJSON(text)
	if err != nil {
		return nil, validationErr(what + " is not valid JSON: " + err.Error())
	}
	return v, nil
}

// dictCondition is Frappe's make_filter_tuple for one dict-form item.
func dictCondition(key string, val any) (Condition, error) {
	if list, ok := val.([]any); ok {
		if len(list) < 2 {
			return Condition{}, errFilterShape(append([]any{key}, list...))
		}
		return makeCondition(nil, key, list[0], list[1])
	}
	return makeCondition(nil, key, "=", val)
}

// listElement is Frappe's get_filter for one element of the list form.
func listElement(f any) (Condition, error) {
	switch x := f.(type) {
	case []any:
		switch {
		case len(x) == 3:
			return makeCondition(nil, x[0], x[1], x[2])
		case len(x) >= 4:
			return makeCondition(x[0], x[1], x[2], x[3])
		default:
			return Condition{}, errFilterShape(x)
		}
	case object:
		if len(x) == 0 {
			return Condition{}, validationErr("Filter must not be an empty object")
		}
		return dictCondition(x[0].key, x[0].val)
	case map[string]any:
		if len(x) == 0 {
			return Condition{}, validationErr("Filter must not be an empty object")
		}
		k := sortedKeys(x)[0]
		return dictCondition(k, x[k])
	case string:
		return Condition{}, validationErr("Raw SQL filter conditions are not supported: " + x)
	default:
		return Condition{}, validationErr("Filter must be a tuple or list (in a list)")
	}
}

func errFilterShape(f []any) error {
	return validationErr("Filter must have 4 values (doctype, fieldname, operator, value): " + pyRepr(f))
}

// makeCondition validates the parts of one filter.
func makeCondition(doctype, field, op, value any) (Condition, error) {
	var c Condition
	switch d := doctype.(type) {
	case nil:
	case string:
		if d != "" && !isDocTypeName(d) {
			return c, dataErr("Invalid DocType name " + d)
		}
		c.DocType = d
	default:
		return c, dataErr("Invalid DocType name " + pyStr(d))
	}

	name, ok := field.(string)
	if !ok {
		return c, errInvalidField(pyStr(field))
	}
	ref, ok := parseColRef(name)
	if !ok || ref.Name == "*" {
		return c, errInvalidField(name)
	}
	if ref.DocType != "" {
		if c.DocType != "" && c.DocType != ref.DocType {
			return c, errInvalidField(name)
		}
		c.DocType = ref.DocType
	}
	c.Table, c.Field = ref.Table, ref.Name

	switch o := op.(type) {
	case nil:
		c.Op = "="
	case string:
		n, err := normaliseOp(o)
		if err != nil {
			return c, err
		}
		c.Op = n
	default:
		return c, errUnknownOp()
	}
	c.Value = plain(value)
	return c, nil
}

// String renders c as a Frappe list-form filter, for logs and messages.
func (c Condition) String() string {
	field := c.Field
	switch {
	case c.Table != "" && c.Table == c.DocType:
		field = "`tab" + c.DocType + "`." + c.Field
	case c.Table != "":
		field = c.Table + "." + c.Field
	}
	parts := []string{pyQuote(field), pyQuote(c.Op), pyRepr(c.Value)}
	if c.DocType != "" && c.Table != c.DocType {
		parts = append([]string{pyQuote(c.DocType)}, parts...)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
