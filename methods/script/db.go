package script

import (
	"fmt"

	"go.starlark.net/starlark"
)

// dbGetValue implements frappe.db.get_value(doctype, filters=None,
// fieldname="name", as_dict=False, order_by=None). filters is a name or
// filters; fieldname a field, "*" or a list of fields (giving a tuple, or a
// _dict with as_dict). No matching document gives None.
func dbGetValue(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doctype string
	var filters, fieldname, orderBy starlark.Value
	var asDict bool
	var ignored [5]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &doctype, "filters?", &filters,
		"fieldname?", &fieldname, "ignore?", &ignored[0], "as_dict?", &asDict, "debug?", &ignored[1],
		"order_by?", &orderBy, "cache?", &ignored[2], "for_update?", &ignored[3], "pluck?", &ignored[4]); err != nil {
		return nil, err
	}
	if fieldname == nil || fieldname == starlark.None {
		fieldname = starlark.String("name")
	}
	var fields []string
	single := false
	if s, ok := starlark.AsString(fieldname); ok {
		fields, single = []string{s}, true
	} else if it, ok := fieldname.(starlark.Iterable); ok {
		iter := it.Iterate()
		defer iter.Done()
		var v starlark.Value
		for iter.Next(&v) {
			s, ok := starlark.AsString(v)
			if !ok {
				return nil, fmt.Errorf("%s: field names must be strings, not %s", b.Name(), v.Type())
			}
			fields = append(fields, s)
		}
	} else {
		return nil, fmt.Errorf("%s: fieldname must be a string or list, not %s", b.Name(), fieldname.Type())
	}
	q := map[string]any{"limit_page_length": int64(1)}
	fl := make([]any, len(fields))
	for i, f := range fields {
		fl[i] = f
	}
	q["fields"] = fl
	if filters != nil && filters != starlark.None {
		f, err := filtersOf(filters)
		if err != nil {
			return nil, fmt.Errorf("%s: filters: %w", b.Name(), err)
		}
		q["filters"] = f
	}
	if s, ok := starlark.AsString(orderBy); ok && s != "" {
		q["order_by"] = s
	}
	rt := rtOf(thread)
	rows, err := rt.env.GetList(rt.ctx, doctype, q)
	if err != nil {
		return nil, rt.wrap(err)
	}
	if len(rows) == 0 {
		return starlark.None, nil
	}
	row := rows[0]
	if asDict || (single && fields[0] == "*") {
		return toStarlark(row)
	}
	vals := make(starlark.Tuple, len(fields))
	for i, f := range fields {
		v, err := toStarlark(row[fieldKey(f)])
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if single {
		return vals[0], nil
	}
	return vals, nil
}

// fieldKey is the row key of a requested field: its alias after " as ".
func fieldKey(f string) string {
	for i := len(f) - 4; i > 0; i-- {
		if f[i] == ' ' && (f[i+1] == 'a' || f[i+1] == 'A') && (f[i+2] == 's' || f[i+2] == 'S') && f[i+3] == ' ' {
			return trimQuotes(f[i+4:])
		}
	}
	return f
}

func trimQuotes(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '`' || s[0] == '"' || s[0] == '\'') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '`' || s[len(s)-1] == '"' || s[len(s)-1] == '\'') {
		s = s[:len(s)-1]
	}
	return s
}

// dbSetValue implements frappe.db.set_value(doctype, name, fieldname,
// value=None): fieldname may be a dict of values, name may be filters (all
// matching documents are updated).
func dbSetValue(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doctype string
	var name, fieldname, value starlark.Value = nil, nil, starlark.None
	var ignored [4]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &doctype, "name", &name, "fieldname", &fieldname,
		"value?", &value, "modified?", &ignored[0], "modified_by?", &ignored[1], "update_modified?", &ignored[2],
		"debug?", &ignored[3]); err != nil {
		return nil, err
	}
	patch := map[string]any{}
	if m, ok := fieldname.(starlark.IterableMapping); ok {
		g, err := toGo(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		patch = g.(map[string]any)
	} else if f, ok := starlark.AsString(fieldname); ok {
		g, err := toGo(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		patch[f] = g
	} else {
		return nil, fmt.Errorf("%s: fieldname must be a string or dict, not %s", b.Name(), fieldname.Type())
	}
	rt := rtOf(thread)
	var names []string
	switch n := name.(type) {
	case starlark.String:
		names = []string{string(n)}
	case starlark.NoneType:
		names = []string{doctype} // a single doctype
	default:
		f, err := toGo(n)
		if err != nil {
			return nil, fmt.Errorf("%s: filters: %w", b.Name(), err)
		}
		rows, err := rt.env.GetList(rt.ctx, doctype, map[string]any{"filters": f, "fields": []any{"name"}, "limit_page_length": int64(0)})
		if err != nil {
			return nil, rt.wrap(err)
		}
		for _, r := range rows {
			if s, ok := r["name"].(string); ok {
				names = append(names, s)
			}
		}
	}
	for _, n := range names {
		p := make(map[string]any, len(patch))
		for k, v := range patch {
			p[k] = v
		}
		if _, err := rt.env.Update(rt.ctx, doctype, n, p); err != nil {
			return nil, rt.wrap(err)
		}
	}
	return starlark.None, nil
}

// dbExists implements frappe.db.exists(doctype, name_or_filters) and
// frappe.db.exists({"doctype": ..., field: value}): the name of a matching
// document, or None.
func dbExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var first, name, cache starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &first, "name?", &name, "cache?", &cache); err != nil {
		return nil, err
	}
	rt := rtOf(thread)
	var doctype string
	if m, ok := first.(starlark.IterableMapping); ok {
		filters := starlark.NewDict(0)
		for _, kv := range m.Items() {
			if k, _ := starlark.AsString(kv[0]); k == "doctype" {
				doctype, _ = starlark.AsString(kv[1])
				continue
			}
			_ = filters.SetKey(kv[0], kv[1])
		}
		if doctype == "" {
			return nil, fmt.Errorf("%s: the dict needs a \"doctype\" key", b.Name())
		}
		name = filters
	} else if s, ok := starlark.AsString(first); ok {
		doctype = s
	} else {
		return nil, fmt.Errorf("%s: doctype must be a string or dict, not %s", b.Name(), first.Type())
	}
	switch n := name.(type) {
	case nil, starlark.NoneType:
		return starlark.None, nil
	case starlark.String:
		ok, err := rt.env.Exists(rt.ctx, doctype, string(n))
		if err != nil {
			return nil, rt.wrap(err)
		}
		if !ok {
			return starlark.None, nil
		}
		return n, nil
	}
	found, err := rt.findName(doctype, name)
	if err != nil || found == "" {
		return starlark.None, err
	}
	return starlark.String(found), nil
}

// dbCount implements frappe.db.count(doctype, filters=None).
func dbCount(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doctype string
	var filters starlark.Value
	var ignored [3]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &doctype, "filters?", &filters,
		"debug?", &ignored[0], "cache?", &ignored[1], "distinct?", &ignored[2]); err != nil {
		return nil, err
	}
	var f any
	if filters != nil && filters != starlark.None {
		var err error
		if f, err = filtersOf(filters); err != nil {
			return nil, fmt.Errorf("%s: filters: %w", b.Name(), err)
		}
	}
	rt := rtOf(thread)
	n, err := rt.env.Count(rt.ctx, doctype, f)
	if err != nil {
		return nil, rt.wrap(err)
	}
	return starlark.MakeInt64(n), nil
}
