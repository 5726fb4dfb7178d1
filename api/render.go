package api

import (
	"docket/projections"
	"docket/projections/meta"
)

// renderDoc writes a document as Frappe does: standard fields, then the
// doctype's fields in order, then "doctype"; child rows likewise. With
// omitNulls (the /api/resource form) null fields are left out.
func (s *Server) renderDoc(d *meta.DocType, doc map[string]any, omitNulls bool) *Object {
	o := newObjectSize(len(doc) + 1)
	put := func(k string, v any) {
		if v == nil && omitNulls {
			return
		}
		o.Set(k, v)
	}
	std := meta.StandardFields
	if d.IsTable {
		std = append(append([]string{}, std...), meta.ChildFields...)
	}
	for _, k := range std {
		v, ok := doc[k]
		if !ok && omitNulls {
			continue
		}
		ft, _ := d.FieldType(k)
		put(k, meta.FormatValue(ft, v))
	}
	for _, f := range d.Fields {
		kind := f.Kind()
		if kind == meta.KindNone || f.Fieldname == "" {
			continue
		}
		v, ok := doc[f.Fieldname]
		if kind == meta.KindTable {
			cd := s.docs.Store().Registry().Get(f.Options)
			rows := []any{}
			for _, r := range meta.Rows(v) {
				if cd == nil {
					rows = append(rows, r)
					continue
				}
				rows = append(rows, s.renderDoc(cd, r, omitNulls))
			}
			o.Set(f.Fieldname, rows)
			continue
		}
		if v == nil {
			v = projections.ZeroOf(f.Fieldtype) // numeric fields read 0, never null
			ok = ok || v != nil
		}
		if !ok && omitNulls {
			continue
		}
		put(f.Fieldname, meta.FormatValue(f.Fieldtype, v))
	}
	o.Set("doctype", d.Name)
	return o
}

// renderRows writes list rows as objects (as_dict) or arrays, keeping
// nulls, as Frappe's list endpoints do.
func renderRows(res *projections.Result, asDict bool) []any {
	out := make([]any, 0, len(res.Rows))
	for _, row := range res.Rows {
		if asDict {
			o := newObjectSize(len(res.Columns))
			for i, c := range res.Columns {
				o.Set(c, meta.FormatValue(res.Types[i], row[i]))
			}
			out = append(out, o)
			continue
		}
		vals := make([]any, len(row))
		for i, v := range row {
			vals[i] = meta.FormatValue(res.Types[i], v)
		}
		out = append(out, vals)
	}
	return out
}
