package methods

import (
	"math"
	"strconv"
	"strings"

	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Arguments arrive as Frappe's form_dict: strings from a query string or
// form, or JSON values from a JSON body. These helpers coerce them as
// Frappe's typed whitelisted functions do, with clear errors.

// BoolArg parses a boolean argument: true/1/yes and false/0/no/""
// (case-insensitive), JSON booleans and numbers; def when absent.
func BoolArg(args map[string]any, key string, def bool) (bool, error) {
	v, ok := args[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case float64:
		return x != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1", "yes", "on":
			return true, nil
		case "false", "0", "no", "off", "", "none", "null":
			return false, nil
		}
	}
	return false, newError(ValidationError, "Argument %s must be true or false", key)
}

// IntArg parses an integer argument; def (and given false) when absent
// or empty.
func IntArg(args map[string]any, key string, def int) (n int, given bool, err error) {
	v, ok := args[key]
	if !ok || v == nil {
		return def, false, nil
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return def, false, nil
	}
	if f, ok := v.(float64); ok && f != math.Trunc(f) {
		return 0, false, newError(ValidationError, "Argument %s must be an integer, not %v", key, f)
	}
	cv, cerr := meta.Coerce(meta.Int, v, nil)
	if cerr != nil {
		return 0, false, newError(ValidationError, "Argument %s must be an integer, not %v", key, v)
	}
	if s, ok := v.(string); ok {
		if _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err != nil {
			return 0, false, newError(ValidationError, "Argument %s must be an integer, not %q", key, s)
		}
	}
	return int(cv.(int64)), true, nil
}

// StringArg returns a text argument ("" when absent).
func StringArg(args map[string]any, key string) string {
	switch x := args[key].(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return meta.FormatFloat(x)
	}
	return ""
}

// DefaultPageLength is the page size of a list when none is asked for.
const DefaultPageLength = 20

// maxRows bounds offsets and page sizes (larger ones mean "past the end"
// and "all").
const maxRows = 1 << 40

// ListQuery builds a list query from Frappe's list arguments: fields,
// filters, or_filters, order_by, group_by, limit_start,
// limit_page_length (0: all) and its alias limit. v2 lists page by
// "limit" and may offset by "start".
func ListQuery(doctype string, args map[string]any, env query.Env, v2 bool) (projections.Query, error) {
	q := projections.Query{DocType: doctype, Parent: StringArg(args, "parent"), Env: env}
	var err error
	if q.Fields, err = query.ParseFields(args["fields"]); err != nil {
		return q, err
	}
	if q.Filters, err = query.ParseFilters(args["filters"]); err != nil {
		return q, err
	}
	if q.OrFilters, err = query.ParseFilters(args["or_filters"]); err != nil {
		return q, err
	}
	if q.OrderBy, err = query.ParseOrderBy(StringArg(args, "order_by")); err != nil {
		return q, err
	}
	if q.GroupBy, err = query.ParseGroupBy(StringArg(args, "group_by")); err != nil {
		return q, err
	}
	startKey := "limit_start"
	if _, ok := args["start"]; ok && v2 {
		startKey = "start"
	}
	if q.Start, _, err = IntArg(args, startKey, 0); err != nil {
		return q, err
	}
	page, given, err := IntArg(args, "limit_page_length", DefaultPageLength)
	if err != nil {
		return q, err
	}
	if !given || v2 {
		if page, _, err = IntArg(args, "limit", DefaultPageLength); err != nil {
			return q, err
		}
	}
	if q.Start < 0 || page < 0 {
		return q, newError(ValidationError, "limit_start and limit_page_length must not be negative")
	}
	// Offsets and pages beyond any real table are the same as these.
	q.Start = min(q.Start, maxRows)
	if page > maxRows {
		page = 0 // all
	}
	q.Limit = page
	return q, nil
}
