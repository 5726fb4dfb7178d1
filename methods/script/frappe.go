package script

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// builtinFn is the Go signature of a Starlark built-in.
type builtinFn = func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// excClass stands for a Frappe exception class (frappe.PermissionError);
// scripts pass it to frappe.throw as exc.
type excClass string

func (e excClass) String() string        { return "<class 'frappe.exceptions." + string(e) + "'>" }
func (e excClass) Type() string          { return "exception_class" }
func (e excClass) Freeze()               {}
func (e excClass) Truth() starlark.Bool  { return true }
func (e excClass) Hash() (uint32, error) { return starlark.String(e).Hash() }

// exceptionNames are the Frappe exception classes scripts can name.
var exceptionNames = []string{
	"ValidationError", "PermissionError", "DoesNotExistError", "DuplicateEntryError",
	"MandatoryError", "LinkValidationError", "AuthenticationError", "InvalidStatusError",
	"TimestampMismatchError", "UniqueValidationError", "DataError", "LinkExistsError",
	"CharacterLengthExceededError", "InvalidEmailAddressError", "InvalidPhoneNumberError",
	"QueryTimeoutError", "OutgoingEmailError",
}

// namespace is a module-like value (frappe, frappe.db, json) whose missing
// attributes name what is not available.
type namespace struct {
	name    string
	members starlark.StringDict
}

func module(name string, members starlark.StringDict) *namespace {
	return &namespace{name: name, members: members}
}

func (n *namespace) String() string        { return "<module '" + n.name + "'>" }
func (n *namespace) Type() string          { return "module" }
func (n *namespace) Truth() starlark.Bool  { return true }
func (n *namespace) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: module") }
func (n *namespace) Freeze()               { n.members.Freeze() }
func (n *namespace) AttrNames() []string   { return n.members.Keys() }

func (n *namespace) Attr(name string) (starlark.Value, error) {
	if v, ok := n.members[name]; ok {
		return v, nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s.%s is not available in docket Server Scripts", n.name, name))
}

func builtins(fns map[string]builtinFn) starlark.StringDict {
	out := make(starlark.StringDict, len(fns))
	for name, fn := range fns {
		out[name] = starlark.NewBuiltin(name, fn)
	}
	return out
}

// globals builds the predeclared names of one run. formDict becomes
// frappe.form_dict and doc the global doc (None for API scripts).
func (rt *runtime) globals(formDict, doc starlark.Value) starlark.StringDict {
	rt.response = newAttrDict()
	user := starlark.String(rt.env.User())
	session := newAttrDict()
	_ = session.SetField("user", user)

	db := builtins(map[string]builtinFn{
		"get_value": dbGetValue,
		"set_value": dbSetValue,
		"exists":    dbExists,
		"count":     dbCount,
		"get_list":  getList,
		"get_all":   getList,
		"commit":    noop,
	})
	members := builtins(map[string]builtinFn{
		"get_doc":        getDoc,
		"get_cached_doc": getDoc,
		"new_doc":        newDoc,
		"get_list":       getList,
		"get_all":        getList,
		"delete_doc":     deleteDoc,
		"throw":          throw,
		"msgprint":       msgprint,
		"log_error":      noop,
		"log":            noop,
		"errprint":       noop,
		"as_json":        asJSON,
		"parse_json":     parseJSON,
		"_dict":          newDictBuiltin,
		"bold":           bold,
		"_":              translate,
	})
	for _, n := range exceptionNames {
		members[n] = excClass(n)
	}
	members["db"] = module("frappe.db", db)
	members["utils"] = utilsModule()
	members["form_dict"] = formDict
	members["response"] = rt.response
	members["session"] = session
	members["user"] = user
	members["flags"] = newAttrDict()

	g := pyBuiltins()
	for name, fn := range map[string]builtinFn{"_": translate, "_dict": newDictBuiltin, "as_json": asJSON} {
		g[name] = starlark.NewBuiltin(name, fn)
	}
	g["frappe"] = module("frappe", members)
	g["json"] = module("json", builtins(map[string]builtinFn{"dumps": jsonDumps, "loads": jsonLoads}))
	g["doc"] = doc
	return g
}

func noop(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return starlark.None, nil
}

func translate(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg, lang, context starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg, "lang?", &lang, "context?", &context); err != nil {
		return nil, err
	}
	return msg, nil
}

func bold(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &text); err != nil {
		return nil, err
	}
	return starlark.String("<strong>" + asString(text) + "</strong>"), nil
}

func newDictBuiltin(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := starlark.Call(thread, starlark.Universe["dict"], args, kwargs)
	if err != nil {
		return nil, err
	}
	return &attrDict{v.(*starlark.Dict)}, nil
}

// exceptionOf names the exception class a script passed (a class or its
// name), or def.
func exceptionOf(v starlark.Value, def string) string {
	switch x := v.(type) {
	case excClass:
		return string(x)
	case starlark.String:
		if x != "" {
			return string(x)
		}
	}
	return def
}

func throw(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg, exc, title, a, c, d, e starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg, "exc?", &exc, "title?", &title,
		"is_minimizable?", &a, "wide?", &c, "as_list?", &d, "primary_action?", &e); err != nil {
		return nil, err
	}
	t := ""
	if title != nil && title != starlark.None {
		t = asString(title)
	}
	return nil, &ThrowError{Exc: exceptionOf(exc, "ValidationError"), Msg: asString(msg), Title: t}
}

func msgprint(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg, title, raise starlark.Value
	var ignored [9]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg, "title?", &title, "raise_exception?", &raise,
		"as_table?", &ignored[0], "as_list?", &ignored[1], "indicator?", &ignored[2], "alert?", &ignored[3],
		"primary_action?", &ignored[4], "is_minimizable?", &ignored[5], "wide?", &ignored[6],
		"realtime?", &ignored[7], "sticky?", &ignored[8]); err != nil {
		return nil, err
	}
	if raise != nil && raise.Truth() {
		t := ""
		if title != nil && title != starlark.None {
			t = asString(title)
		}
		return nil, &ThrowError{Exc: exceptionOf(raise, "ValidationError"), Msg: asString(msg), Title: t}
	}
	rt := rtOf(thread)
	rt.msgs = append(rt.msgs, asString(msg))
	return starlark.None, nil
}

// getDoc implements frappe.get_doc(doctype, name), get_doc(doctype,
// filters), get_doc(single_doctype), get_doc({"doctype": ...}) and
// get_doc(doctype=..., field=...); the last two make new documents. A
// name, or filters {"name": name}, is read with Env.GetDoc directly; other
// filters find the name through Env.GetList first.
func getDoc(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	rt := rtOf(thread)
	var fields []starlark.Tuple
	for _, kv := range kwargs {
		if k := string(kv[0].(starlark.String)); k != "for_update" && k != "check_permission" {
			fields = append(fields, kv)
		}
	}
	if len(args) == 0 {
		if len(fields) == 0 {
			return nil, fmt.Errorf("%s: missing doctype", b.Name())
		}
		m := starlark.NewDict(len(fields))
		for _, kv := range fields {
			_ = m.SetKey(kv[0], kv[1])
		}
		return newDocFrom(b.Name(), m)
	}
	if len(args) > 2 || len(fields) > 0 {
		return nil, fmt.Errorf("%s: want (doctype, name) or a dict", b.Name())
	}
	if m, ok := args[0].(starlark.IterableMapping); ok {
		return newDocFrom(b.Name(), m)
	}
	doctype, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf("%s: doctype must be a string or dict, not %s", b.Name(), args[0].Type())
	}
	name := doctype // a single doctype's name is its doctype
	if len(args) == 2 {
		switch key := args[1].(type) {
		case starlark.String:
			name = string(key)
		case starlark.IterableMapping, *starlark.List, starlark.Tuple:
			if n, ok := nameOf(key); ok {
				name = n
				break
			}
			found, err := rt.findName(doctype, key)
			if err != nil {
				return nil, err
			}
			if found == "" {
				return nil, &ThrowError{Exc: "DoesNotExistError", Msg: fmt.Sprintf("%s matching %s not found", doctype, key), Title: "Not Found"}
			}
			name = found
		default:
			return nil, fmt.Errorf("%s: name must be a string or filters, not %s", b.Name(), key.Type())
		}
	}
	m, err := rt.env.GetDoc(rt.ctx, doctype, name)
	if err != nil {
		return nil, rt.wrap(err)
	}
	return docFromMap(doctype, m, false, false)
}

// newDocFrom makes an unsaved document from a dict with a doctype key.
func newDocFrom(fn string, m starlark.IterableMapping) (starlark.Value, error) {
	g, err := toGo(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	fields := g.(map[string]any)
	doctype, _ := fields["doctype"].(string)
	if doctype == "" {
		return nil, fmt.Errorf("%s: the dict needs a \"doctype\" key", fn)
	}
	return docFromMap(doctype, fields, true, false)
}

func newDoc(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doctype string
	var parent, parentfield starlark.Value
	var asDict bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &doctype, "parent_doc?", &parent,
		"parentfield?", &parentfield, "as_dict?", &asDict); err != nil {
		return nil, err
	}
	d := newDocument(doctype, true, false)
	_ = d.setField("doctype", starlark.String(doctype))
	if p, ok := parent.(*document); ok {
		field, _ := starlark.AsString(parentfield)
		if field == "" {
			return nil, fmt.Errorf("%s: parent_doc needs parentfield", b.Name())
		}
		return p.appendRow(field, starlark.NewDict(0))
	}
	if asDict {
		return d.asDict()
	}
	return d, nil
}

func deleteDoc(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doctype, name string
	ignoreMissing := true
	var ignored [6]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &doctype, "name", &name,
		"force?", &ignored[0], "ignore_doctypes?", &ignored[1], "for_reload?", &ignored[2],
		"ignore_permissions?", &ignored[3], "flags?", &ignored[4], "ignore_on_trash?", &ignored[5],
		"ignore_missing?", &ignoreMissing); err != nil {
		return nil, err
	}
	rt := rtOf(thread)
	if ignoreMissing {
		ok, err := rt.env.Exists(rt.ctx, doctype, name)
		if err != nil {
			return nil, rt.wrap(err)
		}
		if !ok {
			return starlark.None, nil
		}
	}
	return starlark.None, rt.wrap(rt.env.Delete(rt.ctx, doctype, name))
}

// isFilterLike reports whether v has the shape of filters: a dict or a
// list of [field, op, value] lists.
func isFilterLike(v starlark.Value) bool {
	switch x := v.(type) {
	case starlark.IterableMapping:
		return true
	case starlark.Indexable:
		if _, isStr := v.(starlark.String); isStr || x.Len() == 0 {
			return false
		}
		switch x.Index(0).(type) {
		case *starlark.List, starlark.Tuple:
			return true
		}
	}
	return false
}

// splitFields splits "a, sum(b) as c" at top-level commas.
func splitFields(s string) []any {
	var out []any
	depth, start := 0, 0
	for i, r := range s + "," {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ',' && depth == 0:
			if f := strings.TrimSpace(s[start:i]); f != "" {
				out = append(out, f)
			}
			start = i + 1
		}
	}
	return out
}

// fieldList converts a fields argument (string or list of strings).
func fieldList(v starlark.Value) ([]any, error) {
	if s, ok := starlark.AsString(v); ok {
		return splitFields(s), nil
	}
	g, err := toGo(v)
	if err != nil {
		return nil, err
	}
	l, ok := g.([]any)
	if !ok {
		return nil, fmt.Errorf("fields must be a list or string, not %s", v.Type())
	}
	return l, nil
}

// getList implements frappe.get_list, frappe.get_all and their frappe.db
// aliases. Like Frappe, a positional second argument that is not shaped
// like filters is taken as the fields.
func getList(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var doctype string
	var filters, fields, orderBy, limit, limitPageLength, limitStart, orFilters, groupBy, pluck, start, pageLength starlark.Value
	var ignored [3]starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "doctype", &doctype, "filters?", &filters, "fields?", &fields,
		"order_by?", &orderBy, "limit?", &limit, "limit_page_length?", &limitPageLength, "limit_start?", &limitStart,
		"or_filters?", &orFilters, "group_by?", &groupBy, "pluck?", &pluck, "start?", &start, "page_length?", &pageLength,
		"ignore_permissions?", &ignored[0], "debug?", &ignored[1], "parent_doctype?", &ignored[2]); err != nil {
		return nil, err
	}
	if len(args) >= 2 && filters != starlark.None && !isFilterLike(filters) {
		filters, fields = fields, filters
	}
	q := map[string]any{}
	set := func(key string, v starlark.Value) error {
		if v == nil || v == starlark.None {
			return nil
		}
		g, err := toGo(v)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", b.Name(), key, err)
		}
		q[key] = g
		return nil
	}
	for _, kv := range []struct {
		key string
		v   starlark.Value
	}{{"filters", filters}, {"or_filters", orFilters}, {"order_by", orderBy}, {"group_by", groupBy}} {
		if err := set(kv.key, kv.v); err != nil {
			return nil, err
		}
	}
	pluckField, _ := starlark.AsString(pluck)
	if pluckField != "" {
		q["fields"] = []any{pluckField}
	} else if fields != nil && fields != starlark.None {
		fl, err := fieldList(fields)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		q["fields"] = fl
	}
	n := int64(0)
	for _, v := range []starlark.Value{limit, limitPageLength, pageLength} {
		if v != nil && v != starlark.None {
			var err error
			if n, err = asInt64(v, 0); err != nil {
				return nil, fmt.Errorf("%s: limit: %w", b.Name(), err)
			}
			break
		}
	}
	q["limit_page_length"] = n
	for _, v := range []starlark.Value{limitStart, start} {
		if v != nil && v != starlark.None {
			s, err := asInt64(v, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: limit_start: %w", b.Name(), err)
			}
			q["limit_start"] = s
			break
		}
	}
	// frappe.get_list checks permissions; get_all, frappe.db.get_all and an
	// explicit ignore_permissions=True do not.
	if b.Name() == "get_all" || isTrue(ignored[0]) {
		q[IgnorePermissions] = true
	}
	rt := rtOf(thread)
	rows, err := rt.env.GetList(rt.ctx, doctype, q)
	if err != nil {
		return nil, rt.wrap(err)
	}
	out := make([]starlark.Value, len(rows))
	for i, row := range rows {
		if pluckField != "" {
			out[i], err = toStarlark(row[pluckField])
		} else {
			out[i], err = toStarlark(row)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	return starlark.NewList(out), nil
}

// findName returns the name of the first document matching filters, or "".
func (rt *runtime) findName(doctype string, filters starlark.Value) (string, error) {
	f, err := toGo(filters)
	if err != nil {
		return "", err
	}
	rows, err := rt.env.GetList(rt.ctx, doctype, map[string]any{
		"filters": f, "fields": []any{"name"}, "limit_page_length": int64(1), IgnorePermissions: true,
	})
	if err != nil {
		return "", rt.wrap(err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	name, _ := rows[0]["name"].(string)
	return name, nil
}

// filtersOf turns a name (string) or filters value into Env filters.
func filtersOf(v starlark.Value) (any, error) {
	if s, ok := v.(starlark.String); ok {
		return map[string]any{"name": string(s)}, nil
	}
	return toGo(v)
}

// isTrue reports whether an optional argument was given as true.
func isTrue(v starlark.Value) bool {
	return v != nil && v != starlark.None && bool(v.Truth())
}
