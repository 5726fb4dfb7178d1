package methods

import (
	"context"
	"encoding/json"
	"reflect"

	"docket/projections"
	"docket/projections/meta"
)

// versionDiff is the data of a Version document, as Frappe's get_diff
// writes it, with raw (not display-formatted) values.
type versionDiff struct {
	Changed          [][3]any `json:"changed"`
	Added            [][2]any `json:"added"`
	Removed          [][2]any `json:"removed"`
	RowChanged       [][4]any `json:"row_changed"`
	DataImport       any      `json:"data_import"`
	UpdaterReference any      `json:"updater_reference"`
}

func (v *versionDiff) empty() bool {
	return len(v.Changed)+len(v.Added)+len(v.Removed)+len(v.RowChanged) == 0
}

// diffDocs compares two versions of a document field by field, in the
// doctype's field order: child rows are matched by name (added, removed,
// changed), name and docstatus come last, as in Frappe.
func (tx *Tx) diffDocs(d *meta.DocType, old, doc map[string]any) *versionDiff {
	out := &versionDiff{Changed: [][3]any{}, Added: [][2]any{}, Removed: [][2]any{}, RowChanged: [][4]any{}}
	for _, f := range d.Fields {
		if f.Fieldtype == meta.Password {
			continue // only ever "********"
		}
		ov, nv := old[f.Fieldname], doc[f.Fieldname]
		if f.Kind() != meta.KindTable {
			if !sameStored(ov, nv) {
				out.Changed = append(out.Changed, [3]any{f.Fieldname, ov, nv})
			}
			continue
		}
		cd := tx.docs.store.Registry().Get(f.Options)
		oldRows := map[string]map[string]any{}
		for _, r := range meta.Rows(ov) {
			oldRows[projections.NameString(r[meta.FieldName])] = r
		}
		found := map[string]bool{}
		for i, r := range meta.Rows(nv) {
			rn := projections.NameString(r[meta.FieldName])
			o, ok := oldRows[rn]
			if !ok {
				out.Added = append(out.Added, [2]any{f.Fieldname, withDocType(r, f.Options)})
				continue
			}
			found[rn] = true
			var changes [][3]any
			if cd != nil {
				for _, cf := range cd.Fields {
					if cf.Fieldtype != meta.Password && !sameStored(o[cf.Fieldname], r[cf.Fieldname]) {
						changes = append(changes, [3]any{cf.Fieldname, o[cf.Fieldname], r[cf.Fieldname]})
					}
				}
			}
			if len(changes) > 0 {
				out.RowChanged = append(out.RowChanged, [4]any{f.Fieldname, i, rn, changes})
			}
		}
		for _, r := range meta.Rows(ov) {
			if !found[projections.NameString(r[meta.FieldName])] {
				out.Removed = append(out.Removed, [2]any{f.Fieldname, withDocType(r, f.Options)})
			}
		}
	}
	for _, k := range []string{meta.FieldName, meta.FieldDocstatus} {
		if !sameStored(old[k], doc[k]) {
			out.Changed = append(out.Changed, [3]any{k, old[k], doc[k]})
		}
	}
	return out
}

// withDocType is a child row as Frappe's as_dict writes it.
func withDocType(row map[string]any, doctype string) map[string]any {
	out := make(map[string]any, len(row)+1)
	for k, v := range row {
		out[k] = v
	}
	out["doctype"] = doctype
	return out
}

// sameStored compares two stored values; an unset value and an empty one
// are the same, as they are to Frappe.
func sameStored(a, b any) bool {
	if a == nil || a == "" {
		return b == nil || b == ""
	}
	return reflect.DeepEqual(a, b)
}

// trackChanges writes the Version document of an update of a doctype
// with track_changes, as Frappe does: who changed which fields from what
// to what. The log has every version anyway; Version documents are how
// Frappe clients list them.
func (tx *Tx) trackChanges(ctx context.Context, d *meta.DocType, name string, orig, doc map[string]any) error {
	if !d.TrackChanges || d.Name == "Version" || d.IsTable || d.IsSingle {
		return nil
	}
	diff := tx.diffDocs(d, orig, doc)
	if diff.empty() {
		return nil
	}
	data, err := json.Marshal(diff)
	if err != nil {
		return err
	}
	tx.versioning++
	defer func() { tx.versioning-- }()
	return tx.IgnorePermissions(func() error {
		_, err := tx.insert(ctx, "Version", map[string]any{"ref_doctype": d.Name, "docname": name, "data": string(data)})
		return err
	})
}

// checkVersion keeps Version documents the server's own record: no user
// writes one, not even a System Manager.
func checkVersion(ctx context.Context, tx *Tx, doc, orig map[string]any) error {
	if tx.system || tx.versioning > 0 {
		return nil
	}
	return newError(PermissionError, "Version documents are written by the server when a tracked document changes")
}

// versionRule is Version's own permission rule: a System Manager reads
// every Version, as in Frappe; anyone else reads the Versions of the
// documents they may read (Frappe shows those in the document's
// timeline).
func versionRule(a *access, d *meta.DocType, right string, r rule) rule {
	if (right != PermRead && right != PermSelect) || a.roles["System Manager"] || a.tx == nil {
		return r
	}
	tx := a.tx
	return rule{ok: true, only: func(doc map[string]any) bool {
		dt, _ := doc["ref_doctype"].(string)
		name, _ := doc["docname"].(string)
		td, err := tx.docs.Meta(dt)
		if err != nil || name == "" {
			return false
		}
		ctx := context.Background()
		target, err := tx.getDoc(ctx, td, name)
		if err != nil || target == nil {
			return false
		}
		return tx.can(ctx, td, PermRead, target) == nil
	}}
}

func init() { ownRules["Version"] = versionRule }
