package methods

import (
	"context"
	"slices"

	"docket/eventlog"
	"docket/projections/meta"
)

// SetValue sets fields of a stored document directly, as Frappe's
// frappe.db.set_value and doc.db_set do: no hooks and no document
// validation (values are converted to their field types, and unique
// values stay claimed), and modified advances. It returns the document as
// saved. Child tables cannot be set this way.
func (tx *Tx) SetValue(ctx context.Context, doctype, name string, values map[string]any) (map[string]any, error) {
	if err := tx.writable(); err != nil {
		return nil, err
	}
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, err
	}
	if d.IsTable {
		_, doc, err := tx.updateRow(ctx, d, name, values)
		return doc, err
	}
	if d.IsSingle {
		name = d.Name
	}
	if d.Core {
		return nil, newError(PermissionError, "%s documents are saved through the DocType API", d.Name)
	}
	if name, err = tx.resolveName(ctx, d, name); err != nil {
		return nil, err
	}
	orig, head, err := tx.read(ctx, doctype, name)
	if err != nil {
		return nil, err
	}
	if orig == nil {
		return nil, NotFound(doctype, name)
	}
	if err := tx.checkPrivileged(d, name, orig, values, false); err != nil {
		return nil, err
	}
	doc := cloneDoc(orig)
	for _, k := range sortedKeys(values) {
		if slices.Contains(standardFieldNames, k) {
			return nil, newError(ValidationError, "Cannot edit standard fields")
		}
		f := d.Field(k)
		if f == nil || !meta.HasValue(f.Fieldtype) || f.Fieldtype == meta.Password {
			return nil, newError(DataError, "%s has no field %q that can be set directly", d.Name, k)
		}
		v, err := meta.Coerce(f.Fieldtype, values[k], tx.docs.opts.Location)
		if err != nil {
			return nil, typeError(d, f, values[k], err)
		}
		doc[k] = v
	}
	doc[meta.FieldModified] = timestampAfter(tx.Now(), orig[meta.FieldModified])
	doc[meta.FieldModifiedBy] = tx.user
	if err := tx.claimUniques(ctx, d, orig, doc, name); err != nil {
		return nil, err
	}
	if err := tx.put(doctype, name, eventlog.Update, orig, head, doc); err != nil {
		return nil, err
	}
	return doc, nil
}
