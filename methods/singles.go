package methods

import (
	"context"

	"docket/projections/meta"
)

// A Single doctype (issingle) has one document, named after the doctype
// ("System Settings/System Settings"), which exists from the start: until
// it is first saved it reads as the doctype's defaults.

// single returns a Single doctype's document.
func (tx *Tx) single(ctx context.Context, d *meta.DocType) (map[string]any, error) {
	doc, _, err := tx.read(ctx, d.Name, d.Name)
	if err != nil || doc != nil {
		return doc, err
	}
	doc = map[string]any{meta.FieldName: d.Name, meta.FieldDocstatus: int64(0), meta.FieldIdx: int64(0)}
	if err := tx.setDefaults(d, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// saveSingle saves values into a Single doctype's document, creating it
// on its first save.
func (tx *Tx) saveSingle(ctx context.Context, d *meta.DocType, in map[string]any) (map[string]any, error) {
	orig, head, err := tx.read(ctx, d.Name, d.Name)
	if err != nil {
		return nil, err
	}
	if orig != nil {
		return tx.update(ctx, d, d.Name, orig, head, in)
	}
	if err := tx.checkPrivileged(d, d.Name, nil, in, false); err != nil {
		return nil, err
	}
	if err := tx.can(ctx, d, PermWrite, nil); err != nil {
		return nil, err
	}
	if in, err = tx.keepUnwritable(ctx, d, nil, in); err != nil {
		return nil, err
	}
	doc := map[string]any{}
	if err := tx.setFields(d, doc, in, true); err != nil {
		return nil, err
	}
	if err := tx.setDefaults(d, doc); err != nil {
		return nil, err
	}
	now := tx.Now()
	doc[meta.FieldName] = d.Name
	doc[meta.FieldOwner] = tx.user
	doc[meta.FieldCreation] = now
	doc[meta.FieldModified] = now
	doc[meta.FieldModifiedBy] = tx.user
	doc[meta.FieldDocstatus] = int64(0)
	doc[meta.FieldIdx] = int64(0)
	if err := tx.prepareSave(ctx, d, nil, doc, d.Name, now, actionSave); err != nil {
		return nil, err
	}
	if err := tx.can(ctx, d, PermWrite, doc); err != nil {
		return nil, err // a Link value the user's User Permissions do not allow
	}
	if err := tx.put(d.Name, d.Name, "insert", nil, head, doc); err != nil {
		return nil, err
	}
	return doc, tx.afterSave(ctx, d.Name, doc, actionSave)
}
