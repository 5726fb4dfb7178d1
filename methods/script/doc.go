package script

import (
	"fmt"
	"reflect"
	"sort"

	"go.starlark.net/starlark"
)

// document is a Frappe Document as a script sees it: fields read and
// written as attributes (doc.status, doc.status = "Closed"), child tables as
// lists of child documents, and the usual methods (get, set, append, save,
// insert, delete, as_dict, db_set, reload, ...). Fields shadow methods of
// the same name, as instance attributes do in Python; unknown fields read
// as None.
type document struct {
	doctype string
	keys    []string
	vals    map[string]starlark.Value
	orig    map[string]any // fields as last loaded or saved (nil when new)
	isNew   bool
	child   bool
	flags   *attrDict
	frozen  bool
}

var (
	_ starlark.HasSetField = (*document)(nil)
	_ starlark.HasSetKey   = (*document)(nil)
)

// newDocument returns an empty document.
func newDocument(doctype string, isNew, child bool) *document {
	return &document{doctype: doctype, vals: map[string]starlark.Value{}, isNew: isNew, child: child, flags: newAttrDict()}
}

// docFromMap builds a document from a Go map; lists of maps become child
// documents.
func docFromMap(doctype string, m map[string]any, isNew, child bool) (*document, error) {
	if dt, ok := m["doctype"].(string); ok && dt != "" {
		doctype = dt
	}
	d := newDocument(doctype, isNew, child)
	if err := d.load(m); err != nil {
		return nil, err
	}
	return d, nil
}

// isNewMap reports whether a document map has no name yet.
func isNewMap(m map[string]any) bool {
	name, _ := m["name"].(string)
	return name == ""
}

// load replaces the fields with those of m (keeping known fields in their
// order) and records m as the stored state.
func (d *document) load(m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	order := make([]string, 0, len(m))
	for _, k := range d.keys {
		if _, ok := m[k]; ok {
			order = append(order, k)
		}
	}
	vals := make(map[string]starlark.Value, len(m))
	for _, k := range order {
		vals[k] = nil
	}
	for _, k := range keys {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		v, err := d.convertField(k, m[k])
		if err != nil {
			return fmt.Errorf("field %s: %w", k, err)
		}
		vals[k] = v
	}
	d.keys, d.vals = order, vals
	if dt, ok := m["doctype"].(string); ok && dt != "" {
		d.doctype = dt
	}
	if !d.isNew {
		orig, err := d.fieldsMap()
		if err != nil {
			return err
		}
		d.orig = orig
	}
	return nil
}

// convertField converts a Go field value; a non-empty list of maps is a
// child table.
func (d *document) convertField(field string, v any) (starlark.Value, error) {
	rows, ok := v.([]any)
	if !ok || len(rows) == 0 {
		return toStarlark(v)
	}
	for _, r := range rows {
		if _, ok := r.(map[string]any); !ok {
			return toStarlark(v)
		}
	}
	elems := make([]starlark.Value, len(rows))
	for i, r := range rows {
		c, err := docFromMap("", r.(map[string]any), false, true)
		if err != nil {
			return nil, err
		}
		elems[i] = c
	}
	return starlark.NewList(elems), nil
}

// setField stores a value, turning dicts in a list into child documents.
func (d *document) setField(name string, v starlark.Value) error {
	if d.frozen {
		return fmt.Errorf("cannot set %s of frozen %s", name, d.doctype)
	}
	if l, ok := v.(*starlark.List); ok {
		for i := 0; i < l.Len(); i++ {
			switch e := l.Index(i).(type) {
			case *starlark.Dict, *attrDict:
				c, err := childFromValue(d, name, e, i+1)
				if err != nil {
					return err
				}
				if err := l.SetIndex(i, c); err != nil {
					return err
				}
			}
		}
	}
	if _, ok := d.vals[name]; !ok {
		d.keys = append(d.keys, name)
	}
	d.vals[name] = v
	return nil
}

// childFromValue makes a child row of parent's table field from a dict.
func childFromValue(parent *document, field string, v starlark.Value, idx int) (*document, error) {
	g, err := toGo(v)
	if err != nil {
		return nil, err
	}
	m, ok := g.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a row of %s must be a dict, not %s", field, v.Type())
	}
	if _, ok := m["doctype"]; !ok {
		if dt := parent.childDoctype(field); dt != "" {
			m["doctype"] = dt
		}
	}
	if _, ok := m["parentfield"]; !ok {
		m["parentfield"] = field
	}
	if _, ok := m["parenttype"]; !ok && parent.doctype != "" {
		m["parenttype"] = parent.doctype
	}
	if _, ok := m["idx"]; !ok {
		m["idx"] = int64(idx)
	}
	return docFromMap("", m, true, true)
}

// childDoctype guesses a table's child doctype from its existing rows.
func (d *document) childDoctype(field string) string {
	if l, ok := d.vals[field].(*starlark.List); ok {
		for i := 0; i < l.Len(); i++ {
			if c, ok := l.Index(i).(*document); ok && c.doctype != "" {
				return c.doctype
			}
		}
	}
	return ""
}

// fieldsMap returns the fields as plain Go values.
func (d *document) fieldsMap() (map[string]any, error) { return new(goConv).document(d, 0, false) }

// changed returns the fields that differ from the stored state.
func (d *document) changed() (map[string]any, error) {
	cur, err := d.fieldsMap()
	if err != nil {
		return nil, err
	}
	patch := map[string]any{}
	for k, v := range cur {
		if o, ok := d.orig[k]; !ok || !reflect.DeepEqual(o, v) {
			patch[k] = v
		}
	}
	return patch, nil
}

// writeBack stores into doc the fields of final that differ from baseline.
func writeBack(doc, baseline, final map[string]any) {
	for k, v := range final {
		if o, ok := baseline[k]; !ok || !reflect.DeepEqual(o, v) {
			doc[k] = v
		}
	}
	for k := range baseline {
		if _, ok := final[k]; !ok {
			delete(doc, k)
		}
	}
}

// name returns the document's name, or "" if it has none.
func (d *document) name() string {
	s, _ := starlark.AsString(d.vals["name"])
	return s
}

func (d *document) String() string {
	if n := d.name(); n != "" {
		return fmt.Sprintf("<%s: %s>", d.doctype, n)
	}
	return fmt.Sprintf("<%s: unsaved>", d.doctype)
}

func (d *document) Type() string         { return "Document" }
func (d *document) Truth() starlark.Bool { return true }
func (d *document) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: Document")
}

func (d *document) Freeze() {
	if d.frozen {
		return
	}
	d.frozen = true
	for _, v := range d.vals {
		if v != nil {
			v.Freeze()
		}
	}
	d.flags.Freeze()
}

func (d *document) Attr(name string) (starlark.Value, error) {
	if v, ok := d.vals[name]; ok {
		return v, nil
	}
	switch name {
	case "doctype":
		return starlark.String(d.doctype), nil
	case "flags":
		return d.flags, nil
	}
	if m, ok := docMethods[name]; ok {
		return starlark.NewBuiltin(name, m).BindReceiver(d), nil
	}
	return starlark.None, nil
}

func (d *document) AttrNames() []string {
	names := append([]string{"doctype", "flags"}, d.keys...)
	for m := range docMethods {
		names = append(names, m)
	}
	sort.Strings(names)
	return names
}

func (d *document) SetField(name string, v starlark.Value) error { return d.setField(name, v) }

// Get and SetKey let scripts also write doc["field"].
func (d *document) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := starlark.AsString(k)
	if !ok {
		return nil, false, fmt.Errorf("Document key must be a string, not %s", k.Type())
	}
	v, found := d.vals[s]
	return v, found, nil
}

func (d *document) SetKey(k, v starlark.Value) error {
	s, ok := starlark.AsString(k)
	if !ok {
		return fmt.Errorf("Document key must be a string, not %s", k.Type())
	}
	return d.setField(s, v)
}

// asDict returns the document as a _dict, children as _dicts too.
func (d *document) asDict() (starlark.Value, error) {
	m, err := new(goConv).document(d, 0, true)
	if err != nil {
		return nil, err
	}
	return toStarlark(m)
}
