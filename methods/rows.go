package methods

import (
	"context"
	"fmt"

	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Child table rows have no documents of their own: they are written,
// changed and deleted through their parent, which is saved.

// insertRow appends a row to its parent (parent, parenttype and
// parentfield in the row) and returns the parent as saved.
func (tx *Tx) insertRow(ctx context.Context, child *meta.DocType, in map[string]any) (map[string]any, error) {
	parentType, _ := in[meta.FieldParenttype].(string)
	parent, _ := in[meta.FieldParent].(string)
	field, _ := in[meta.FieldParentfield].(string)
	if parentType == "" || parent == "" || field == "" {
		return nil, newError(ValidationError, "Parent, Parent Type and Parent Field are required to insert a %s row", child.Name)
	}
	pd, err := tx.docs.Meta(parentType)
	if err != nil {
		return nil, err
	}
	if tf := pd.Field(field); tf == nil || tf.Kind() != meta.KindTable || tf.Options != child.Name {
		return nil, newError(ValidationError, "%s has no table %s of %s", parentType, field, child.Name)
	}
	doc, err := tx.getDoc(ctx, pd, parent)
	if err != nil {
		return nil, err
	}
	row := map[string]any{}
	for k, v := range in {
		switch k {
		case meta.FieldParent, meta.FieldParenttype, meta.FieldParentfield, meta.FieldDoctype:
		default:
			row[k] = v
		}
	}
	rows := append(anyRows(doc[field]), row)
	return tx.Update(ctx, parentType, projections.NameString(doc[meta.FieldName]), map[string]any{field: rows})
}

// anyRows copies a child table for a patch.
func anyRows(v any) []any {
	var out []any
	for _, r := range meta.Rows(v) {
		out = append(out, cloneDoc(r))
	}
	return out
}

// findRow finds the parent of a child row by the row's name.
func (tx *Tx) findRow(ctx context.Context, child *meta.DocType, name string) (parentType, parent, field string, err error) {
	for _, pd := range tx.docs.store.Registry().All() {
		for _, tf := range pd.TableFields() {
			if tf.Options != child.Name {
				continue
			}
			res, err := tx.docs.store.List(ctx, projections.Query{
				DocType: pd.Name,
				Fields:  []query.Field{{Name: meta.FieldName}},
				Filters: []query.Condition{{Table: tf.Fieldname, Field: meta.FieldName, Op: "=", Value: name}},
				Limit:   1,
			})
			if err != nil {
				return "", "", "", err
			}
			if len(res.Rows) > 0 {
				return pd.Name, projections.NameString(res.Rows[0][0]), tf.Fieldname, nil
			}
		}
	}
	return "", "", "", NotFound(child.Name, name)
}

// updateRow changes one child row (found by name) and saves its parent,
// which it returns with its doctype.
func (tx *Tx) updateRow(ctx context.Context, child *meta.DocType, name string, patch map[string]any) (string, map[string]any, error) {
	parentType, parent, field, err := tx.findRow(ctx, child, name)
	if err != nil {
		return "", nil, err
	}
	doc, err := tx.GetDoc(ctx, parentType, parent)
	if err != nil {
		return "", nil, err
	}
	rows := anyRows(doc[field])
	found := false
	for _, r := range rows {
		row := r.(map[string]any)
		if projections.NameString(row[meta.FieldName]) == name {
			for k, v := range patch {
				row[k] = v
			}
			found = true
		}
	}
	if !found {
		return "", nil, NotFound(child.Name, name)
	}
	saved, err := tx.Update(ctx, parentType, parent, map[string]any{field: rows})
	return parentType, saved, err
}

// deleteRow removes one child row (found by name) and saves its parent.
func (tx *Tx) deleteRow(ctx context.Context, child *meta.DocType, name string) error {
	parentType, parent, field, err := tx.findRow(ctx, child, name)
	if err != nil {
		return err
	}
	doc, err := tx.GetDoc(ctx, parentType, parent)
	if err != nil {
		return err
	}
	var rows []any
	for _, r := range anyRows(doc[field]) {
		if projections.NameString(r.(map[string]any)[meta.FieldName]) != name {
			rows = append(rows, r)
		}
	}
	if rows == nil {
		rows = []any{}
	}
	_, err = tx.Update(ctx, parentType, parent, map[string]any{field: rows})
	if err != nil {
		return fmt.Errorf("delete %s row %s: %w", child.Name, name, err)
	}
	return nil
}
