package script

import (
	"fmt"

	"go.starlark.net/starlark"
)

// dbGetValue implements frappe.db.get_value(doctype, filters=None,
// fieldname="name", as_dict=False, order_by=None). filters is a name or
// filters; fieldname a field, "*" or a list of fields (giving a tuple, or a
// _dict with as_dict). No matching document gives None. A name (or
// {"name": name}) reads the document through Env.Exists and Env.GetDoc,
// other filters go through Env.GetList.
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
	rt := rtOf(thread)
	var row map[string]any
	if name, ok := nameOf(filters); ok && byName(fields) {
		// A name reads the document itself, so that the script sees the
		// transaction's own writes and the version read is pinned.
		doc, found, err := rt.docByName(doctype, name)
		if err != nil || !found {
			return starlark.None, err
		}
		if single && fields[0] == "*" {
			row = withoutTables(doc)
		} else {
			row = make(map[string]any, len(fields))
			for _, f := range fields {
				src, _ := fieldSource(f)
				row[fieldKey(f)] = doc[src]
			}
		}
	} else {
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
		q[IgnorePermissions] = true // frappe.db reads as the database does
		rows, err := rt.env.GetList(rt.ctx, doctype, q)
		if err != nil {
			return nil, rt.wrap(err)
		}
		if len(rows) == 0 {
			return starlark.None, nil
		}
		row = rows[0]
	}
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

// nameOf returns the document name that filters designate by themselves:
// a string, or a dict whose only key is "name" with a string value.
func nameOf(filters starlark.Value) (string, bool) {
	switch x := filters.(type) {
	case starlark.String:
		return string(x), true
	case *starlark.Dict, *attrDict:
		items := x.(starlark.IterableMapping).Items()
		if len(items) != 1 {
			return "", false
		}
		if k, _ := starlark.AsString(items[0][0]); k != "name" {
			return "", false
		}
		if s, ok := items[0][1].(starlark.String); ok {
			return string(s), true
		}
	}
	return "", false
}

// docByName reads a document by name through Env.Exists and Env.GetDoc,
// which see the transaction's own writes (and pin the version read);
// found is false when there is no such document.
func (rt *runtime) docByName(doctype, name string) (doc map[string]any, found bool, err error) {
	ok, err := rt.env.Exists(rt.ctx, doctype, name)
	if err != nil {
		return nil, false, rt.wrap(err)
	}
	if !ok {
		return nil, false, nil
	}
	doc, err = rt.env.GetDoc(rt.ctx, doctype, name)
	if err != nil {
		return nil, false, rt.wrap(err)
	}
	return doc, true, nil
}

// byName reports whether every requested field can be read from the
// document itself: plain field names (with an optional alias) or a lone
// "*"; SQL expressions need GetList.
func byName(fields []string) bool {
	for _, f := range fields {
		if src, ok := fieldSource(f); !ok || (src == "*" && len(fields) > 1) {
			return false
		}
	}
	return true
}

// fieldSource returns the field a requested field reads ("a" for "a as
// b"), and whether it is a plain field name or "*".
func fieldSource(f string) (string, bool) {
	src := f
	if i := aliasAt(f); i >= 0 {
		src = f[:i]
	}
	src = trimQuotes(src)
	if src == "*" {
		return src, true
	}
	if src == "" || (src[0] >= '0' && src[0] <= '9') {
		return src, false
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return src, false
		}
	}
	return src, true
}

// withoutTables returns the document's own fields, without its child
// tables, as get_value("*") gives them.
func withoutTables(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if isTable(v) {
			continue
		}
		out[k] = v
	}
	return out
}

// isTable reports whether v is a list of child rows.
func isTable(v any) bool {
	switch l := v.(type) {
	case []map[string]any:
		return true
	case []any:
		if len(l) == 0 {
			return false
		}
		for _, r := range l {
			if _, ok := r.(map[string]any); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// fieldKey is the row key of a requested field: its alias after " as ".
func fieldKey(f string) string {
	if i := aliasAt(f); i >= 0 {
		return trimQuotes(f[i+4:])
	}
	return f
}

// aliasAt returns the index of the last " as " (in any case) in f, or -1.
func aliasAt(f string) int {
	for i := len(f) - 4; i > 0; i-- {
		if f[i] == ' ' && (f[i+1] == 'a' || f[i+1] == 'A') && (f[i+2] == 's' || f[i+2] == 'S') && f[i+3] == ' ' {
			return i
		}
	}
	return -1
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
// value=None) through Env.SetValue: fieldname may be a dict of values, name
// may be filters (all matching documents are updated).
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
	if n, ok := nameOf(name); ok {
		names = []string{n}
	} else if name == starlark.None {
		names = []string{doctype} // a single doctype
	} else {
		f, err := toGo(name)
		if err != nil {
			return nil, fmt.Errorf("%s: filters: %w", b.Name(), err)
		}
		rows, err := rt.env.GetList(rt.ctx, doctype, map[string]any{"filters": f, "fields": []any{"name"}, "limit_page_length": int64(0), IgnorePermissions: true})
		if err != nil {
			return nil, rt.wrap(err)
		}
		for _, r := range rows {
			if s, ok := r["name"].(string); ok {
				names = append(names, s)
			}
		}
	}
	// As in Frappe, set_value writes the values directly: no controller,
	// hooks or validation, so that a hook may call it on its own document.
	for _, n := range names {
		p := make(map[string]any, len(patch))
		for k, v := range patch {
			p[k] = v
		}
		if _, err := rt.env.SetValue(rt.ctx, doctype, n, p); err != nil {
			return nil, rt.wrap(err)
		}
	}
	return starlark.None, nil
}

// dbExists implements frappe.db.exists(doctype, name_or_filters) and
// frappe.db.exists({"doctype": ..., field: value}): the name of a matching
// document, or None. A name (or {"name": name}) is looked up with
// Env.Exists, other filters with Env.GetList.
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
	if name == nil || name == starlark.None {
		return starlark.None, nil
	}
	if n, ok := nameOf(name); ok {
		ok, err := rt.env.Exists(rt.ctx, doctype, n)
		if err != nil {
			return nil, rt.wrap(err)
		}
		if !ok {
			return starlark.None, nil
		}
		return starlark.String(n), nil
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
