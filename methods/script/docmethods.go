package script

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// docMethod is a built-in method of document.
type docMethod = func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// docMethods are the methods of document, by name.
var docMethods map[string]docMethod

func init() {
	docMethods = map[string]docMethod{
		"get":       docGet,
		"get_value": docGetValue,
		"set":       docSet,
		"append":    docAppend,
		"extend":    docExtend,
		"update":    docUpdate,
		"save":      docSave,
		"insert":    docInsert,
		"delete":    docDelete,
		"as_dict":   docAsDict,
		"db_set":    docDBSet,
		"reload":    docReload,
		"is_new":    docIsNew,
		"submit":    docSubmit,
		"cancel":    docCancel,
	}
}

// ignoredKwargs accepts and ignores the keyword arguments in names: flags
// such as ignore_permissions that docket's Env decides for itself.
func ignoredKwargs(fn string, args starlark.Tuple, kwargs []starlark.Tuple, names ...string) error {
	pairs := make([]any, 0, 2*len(names))
	sinks := make([]starlark.Value, len(names))
	for i, n := range names {
		pairs = append(pairs, n+"?", &sinks[i])
	}
	return starlark.UnpackArgs(fn, args, kwargs, pairs...)
}

func recv(b *starlark.Builtin) *document { return b.Receiver().(*document) }

// stored checks that a method that reaches the database is called on a
// saved, top-level document.
func (d *document) stored(method string) error {
	if d.child {
		return fmt.Errorf("%s: cannot %s a child row; save its parent document", method, method)
	}
	if d.isNew || d.name() == "" {
		return fmt.Errorf("%s: %s has not been inserted yet", method, d.doctype)
	}
	return nil
}

func docGet(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d := recv(b)
	var key string
	var filters, limit, def starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "filters?", &filters, "limit?", &limit, "default?", &def); err != nil {
		return nil, err
	}
	v, found := d.vals[key]
	if !found && key == "doctype" {
		v, found = starlark.String(d.doctype), true
	}
	switch f := filters.(type) {
	case nil, starlark.NoneType:
	case *starlark.Dict, *attrDict:
		rows, ok := v.(*starlark.List)
		if !ok {
			return starlark.NewList(nil), nil
		}
		out, err := filterRows(rows, f.(starlark.IterableMapping))
		if err != nil {
			return nil, err
		}
		v, found = out, true
	default:
		def = f
	}
	if !found {
		if def == nil {
			return starlark.None, nil
		}
		return def, nil
	}
	if n, err := asInt64(limit, 0); err == nil && n > 0 {
		if l, ok := v.(*starlark.List); ok && int64(l.Len()) > n {
			elems := make([]starlark.Value, n)
			for i := range elems {
				elems[i] = l.Index(i)
			}
			v = starlark.NewList(elems)
		}
	}
	return v, nil
}

// filterRows keeps the rows whose fields match every filter: a value to
// compare with ==, or a [operator, value] pair (=, !=, >, <, >=, <=, in,
// not in).
func filterRows(rows *starlark.List, filters starlark.IterableMapping) (*starlark.List, error) {
	var out []starlark.Value
	for i := 0; i < rows.Len(); i++ {
		row := rows.Index(i)
		ok := true
		for _, kv := range filters.Items() {
			field, _ := starlark.AsString(kv[0])
			got, err := rowField(row, field)
			if err != nil {
				return nil, err
			}
			match, err := matchFilter(got, kv[1])
			if err != nil {
				return nil, err
			}
			if !match {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, row)
		}
	}
	return starlark.NewList(out), nil
}

// rowField reads a field of a child row (a document or a dict).
func rowField(row starlark.Value, field string) (starlark.Value, error) {
	switch r := row.(type) {
	case *document:
		return r.Attr(field)
	case starlark.Mapping:
		v, found, err := r.Get(starlark.String(field))
		if err != nil || !found {
			return starlark.None, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("a row must be a document or dict, not %s", row.Type())
}

var filterOps = map[string]syntax.Token{
	"=": syntax.EQL, "==": syntax.EQL, "!=": syntax.NEQ, ">": syntax.GT,
	"<": syntax.LT, ">=": syntax.GE, "<=": syntax.LE,
}

func matchFilter(got, want starlark.Value) (bool, error) {
	if seq, ok := want.(starlark.Indexable); ok && seq.Len() == 2 {
		if _, isStr := want.(starlark.String); !isStr {
			if op, ok := starlark.AsString(seq.Index(0)); ok {
				arg := seq.Index(1)
				switch op {
				case "in", "not in":
					in, err := starlark.Binary(syntax.IN, got, arg)
					if err != nil {
						return false, err
					}
					return bool(in.Truth()) == (op == "in"), nil
				}
				if tok, ok := filterOps[op]; ok {
					if got == starlark.None && tok != syntax.EQL && tok != syntax.NEQ {
						return false, nil
					}
					return starlark.Compare(tok, got, arg)
				}
			}
		}
	}
	return starlark.Equal(got, want)
}

func docGetValue(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &key); err != nil {
		return nil, err
	}
	return recv(b).Attr(key)
}

func docSet(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "value", &v); err != nil {
		return nil, err
	}
	return starlark.None, recv(b).setField(key, v)
}

// appendRow adds a child row (a dict, a _dict, a child document or None)
// to the table field and returns it.
func (d *document) appendRow(field string, v starlark.Value) (*document, error) {
	if d.frozen {
		return nil, fmt.Errorf("append: cannot change frozen %s", d.doctype)
	}
	list, ok := d.vals[field].(*starlark.List)
	if !ok {
		if cur := d.vals[field]; cur != nil && cur != starlark.None {
			return nil, fmt.Errorf("append: %s is a %s, not a table", field, cur.Type())
		}
		list = starlark.NewList(nil)
		if err := d.setField(field, list); err != nil {
			return nil, err
		}
	}
	var row *document
	switch x := v.(type) {
	case *document:
		row = x
		row.child = true
	case nil, starlark.NoneType:
		var err error
		if row, err = childFromValue(d, field, newAttrDict(), list.Len()+1); err != nil {
			return nil, err
		}
	default:
		var err error
		if row, err = childFromValue(d, field, v, list.Len()+1); err != nil {
			return nil, err
		}
	}
	return row, list.Append(row)
}

func docAppend(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var field string
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &field, "value?", &v); err != nil {
		return nil, err
	}
	return recv(b).appendRow(field, v)
}

func docExtend(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var field string
	var rows starlark.Iterable
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &field, "value", &rows); err != nil {
		return nil, err
	}
	iter := rows.Iterate()
	defer iter.Done()
	var v starlark.Value
	for iter.Next(&v) {
		if _, err := recv(b).appendRow(field, v); err != nil {
			return nil, err
		}
	}
	return starlark.None, nil
}

func docUpdate(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var m starlark.IterableMapping
	if err := starlark.UnpackPositionalArgs(b.Name(), args, nil, 0, &m); err != nil {
		return nil, err
	}
	d := recv(b)
	if m != nil {
		for _, kv := range m.Items() {
			k, ok := starlark.AsString(kv[0])
			if !ok {
				return nil, fmt.Errorf("update: field names must be strings, not %s", kv[0].Type())
			}
			if err := d.setField(k, kv[1]); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range kwargs {
		if err := d.setField(string(kv[0].(starlark.String)), kv[1]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// insert stores a new document through Env.Insert and reloads it.
func (d *document) insert(rt *runtime) error {
	if d.child {
		return fmt.Errorf("insert: cannot insert a child row; save its parent document")
	}
	body, err := d.fieldsMap()
	if err != nil {
		return err
	}
	res, err := rt.env.Insert(rt.ctx, d.doctype, body)
	if err != nil {
		return rt.wrap(err)
	}
	d.isNew = false
	if res == nil {
		res = body
	}
	return d.load(res)
}

// save inserts a new document, or sends its changed fields to Env.Update
// and reloads it; it does nothing when no field changed.
func (d *document) save(rt *runtime) error {
	if d.isNew && !d.child {
		return d.insert(rt)
	}
	if err := d.stored("save"); err != nil {
		return err
	}
	patch, err := d.changed()
	if err != nil || len(patch) == 0 {
		return err
	}
	return d.update(rt, patch)
}

func (d *document) update(rt *runtime, patch map[string]any) error {
	res, err := rt.env.Update(rt.ctx, d.doctype, d.name(), patch)
	if err != nil {
		return rt.wrap(err)
	}
	if res == nil {
		if res, err = d.fieldsMap(); err != nil {
			return err
		}
	}
	return d.load(res)
}

func docSave(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := ignoredKwargs(b.Name(), args, kwargs, "ignore_permissions", "ignore_version"); err != nil {
		return nil, err
	}
	d := recv(b)
	return d, d.save(rtOf(thread))
}

func docInsert(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := ignoredKwargs(b.Name(), args, kwargs, "ignore_permissions", "ignore_links", "ignore_if_duplicate",
		"ignore_mandatory", "set_name", "set_child_names"); err != nil {
		return nil, err
	}
	d := recv(b)
	if !d.isNew {
		return nil, fmt.Errorf("insert: %s %s is already saved", d.doctype, d.name())
	}
	return d, d.insert(rtOf(thread))
}

func docDelete(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := ignoredKwargs(b.Name(), args, kwargs, "ignore_permissions", "force", "delete_permanently"); err != nil {
		return nil, err
	}
	d := recv(b)
	if err := d.stored("delete"); err != nil {
		return nil, err
	}
	rt := rtOf(thread)
	return starlark.None, rt.wrap(rt.env.Delete(rt.ctx, d.doctype, d.name()))
}

func docAsDict(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var noNulls starlark.Bool
	var a, c, e starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "no_nulls?", &noNulls, "no_default_fields?", &a,
		"convert_dates_to_str?", &c, "no_child_table_fields?", &e); err != nil {
		return nil, err
	}
	v, err := recv(b).asDict()
	if err != nil || !bool(noNulls) {
		return v, err
	}
	d := v.(*attrDict)
	for _, k := range d.Keys() {
		if x, _, _ := d.Get(k); x == starlark.None {
			_, _, _ = d.Delete(k)
		}
	}
	return d, nil
}

func docDBSet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var field, value, um, notify, commit starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fieldname", &field, "value?", &value,
		"update_modified?", &um, "notify?", &notify, "commit?", &commit); err != nil {
		return nil, err
	}
	d := recv(b)
	if err := d.stored("db_set"); err != nil {
		return nil, err
	}
	set := map[string]starlark.Value{}
	if m, ok := field.(starlark.IterableMapping); ok {
		for _, kv := range m.Items() {
			k, _ := starlark.AsString(kv[0])
			set[k] = kv[1]
		}
	} else if k, ok := starlark.AsString(field); ok {
		if value == nil {
			value = starlark.None
		}
		set[k] = value
	} else {
		return nil, fmt.Errorf("db_set: fieldname must be a string or dict, not %s", field.Type())
	}
	patch := map[string]any{}
	for k, v := range set {
		g, err := toGo(v)
		if err != nil {
			return nil, fmt.Errorf("db_set: %s: %w", k, err)
		}
		patch[k] = g
	}
	// As in Frappe, db_set writes the values directly: no controller,
	// hooks or validation, so that a hook may call it on its own document.
	rt := rtOf(thread)
	res, err := rt.env.SetValue(rt.ctx, d.doctype, d.name(), patch)
	if err != nil {
		return nil, rt.wrap(err)
	}
	// Keep other unsaved changes: only the set fields (and modified) are
	// now stored.
	for k, v := range set {
		if err := d.setField(k, v); err != nil {
			return nil, err
		}
		g, _ := toGo(v)
		d.orig[k] = g
	}
	if mod, ok := res["modified"]; ok {
		if sv, err := toStarlark(mod); err == nil {
			_ = d.setField("modified", sv)
			d.orig["modified"], _ = toGo(sv)
		}
	}
	return starlark.None, nil
}

func docReload(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	d := recv(b)
	if err := d.stored("reload"); err != nil {
		return nil, err
	}
	rt := rtOf(thread)
	m, err := rt.env.GetDoc(rt.ctx, d.doctype, d.name())
	if err != nil {
		return nil, rt.wrap(err)
	}
	return d, d.load(m)
}

func docIsNew(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.Bool(recv(b).isNew), nil
}

func docSubmit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	d := recv(b)
	if err := d.setField("docstatus", starlark.MakeInt(1)); err != nil {
		return nil, err
	}
	return d, d.save(rtOf(thread))
}

func docCancel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	d := recv(b)
	if err := d.stored("cancel"); err != nil {
		return nil, err
	}
	return d, d.update(rtOf(thread), map[string]any{"docstatus": int64(2)})
}
