package methods

import (
	"context"
	"fmt"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// linkRef is a field that can name a document of some doctype: a Link
// field (of a document or of its child rows), or a Dynamic Link field
// whose doctype field names that doctype.
type linkRef struct {
	doctype   string // the doctype holding the field
	single    bool
	table     string // the child table field, "" for a document's own field
	field     string
	dynamicOn string // the field naming the doctype of a Dynamic Link
}

// linksTo lists every field that can name a document of target.
func (tx *Tx) linksTo(target string) []linkRef {
	var out []linkRef
	add := func(dt *meta.DocType, table string, fields []*meta.Field) {
		for _, f := range fields {
			switch {
			case f.Fieldtype == meta.Link && f.Options == target:
				out = append(out, linkRef{doctype: dt.Name, single: dt.IsSingle, table: table, field: f.Fieldname})
			case f.Fieldtype == meta.DynamicLink:
				out = append(out, linkRef{doctype: dt.Name, single: dt.IsSingle, table: table, field: f.Fieldname, dynamicOn: f.Options})
			}
		}
	}
	for _, dt := range tx.docs.store.Registry().All() {
		if dt.IsTable {
			continue
		}
		add(dt, "", dt.Fields)
		for _, tf := range dt.TableFields() {
			if cd := tx.docs.store.Registry().Get(tf.Options); cd != nil {
				add(dt, tf.Fieldname, cd.Fields)
			}
		}
	}
	return out
}

// holds reports whether a document or child row's field names target/name.
func (r linkRef) holds(row map[string]any, target, name string) bool {
	if r.dynamicOn != "" && row[r.dynamicOn] != target {
		return false
	}
	return row[r.field] == name
}

// linking returns the names of the documents whose ref field names
// target/name (exactly: list filters compare without regard to case).
func (tx *Tx) linking(ctx context.Context, r linkRef, target, name string) ([]string, error) {
	if r.single {
		doc, _, err := tx.read(ctx, r.doctype, r.doctype)
		if err != nil || doc == nil {
			return nil, err
		}
		if r.table == "" && r.holds(doc, target, name) {
			return []string{r.doctype}, nil
		}
		for _, row := range meta.Rows(doc[r.table]) {
			if r.table != "" && r.holds(row, target, name) {
				return []string{r.doctype}, nil
			}
		}
		return nil, nil
	}
	conds := []query.Condition{{Table: r.table, Field: r.field, Op: "=", Value: name}}
	if r.dynamicOn != "" {
		conds = append(conds, query.Condition{Table: r.table, Field: r.dynamicOn, Op: "=", Value: target})
	}
	res, err := tx.docs.store.List(ctx, projections.Query{DocType: r.doctype, Filters: conds, Fields: []query.Field{{Name: meta.FieldName}}})
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, row := range res.Rows {
		n := projections.NameString(row[0])
		if seen[n] {
			continue
		}
		seen[n] = true
		doc, _, err := tx.read(ctx, r.doctype, n)
		if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		if r.table == "" && r.holds(doc, target, name) {
			out = append(out, n)
			continue
		}
		for _, cr := range meta.Rows(doc[r.table]) {
			if r.table != "" && r.holds(cr, target, name) {
				out = append(out, n)
				break
			}
		}
	}
	return out, nil
}

// ignoreLinksOnDelete are the doctypes whose links never keep a document
// from being deleted (Frappe's ignore_links_on_delete hook): records of
// what happened to it.
var ignoreLinksOnDelete = map[string]bool{WebhookLogDocType: true}

// checkNotLinked raises LinkExistsError when another document's Link or
// Dynamic Link field (or one of its child rows') names this one.
func (tx *Tx) checkNotLinked(ctx context.Context, d *meta.DocType, name string) error {
	for _, r := range tx.linksTo(d.Name) {
		if r.doctype == "DocType" {
			continue // reference_type, attached_to_doctype … name doctypes, not documents
		}
		if ignoreLinksOnDelete[r.doctype] {
			continue
		}
		names, err := tx.linking(ctx, r, d.Name, name)
		if err != nil {
			return err
		}
		for _, n := range names {
			if r.doctype == d.Name && n == name {
				continue // a link to itself
			}
			return &Error{Exc: LinkExistsError, Title: "Cannot delete or cancel",
				Msg: fmt.Sprintf("Cannot delete or cancel because %s %s is linked with %s %s", d.Name, name, r.doctype, n)}
		}
	}
	return nil
}

// relink points every field that names oldName of doctype d at newName
// (the renamed document's own self-links included). The documents keep
// their modified time: a rename changes what they link to, not what they
// say.
func (tx *Tx) relink(ctx context.Context, d *meta.DocType, oldName, newName string) error {
	for _, r := range tx.linksTo(d.Name) {
		names, err := tx.linking(ctx, r, d.Name, oldName)
		if err != nil {
			return err
		}
		for _, n := range names {
			if r.doctype == d.Name && n == oldName {
				continue // its subject has ended
			}
			if err := tx.relinkDoc(ctx, r, n, d.Name, oldName, newName); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tx *Tx) relinkDoc(ctx context.Context, r linkRef, name, target, oldName, newName string) error {
	orig, head, err := tx.read(ctx, r.doctype, name)
	if err != nil || orig == nil {
		return err
	}
	doc := cloneDoc(orig)
	relinkIn(doc, r, target, oldName, newName)
	return tx.put(r.doctype, name, eventlog.Update, orig, head, doc)
}

// relinkIn points a document's ref field (or its child rows') at newName.
func relinkIn(doc map[string]any, r linkRef, target, oldName, newName string) {
	if r.table == "" {
		if r.holds(doc, target, oldName) {
			doc[r.field] = newName
		}
		return
	}
	for _, row := range meta.Rows(doc[r.table]) {
		if r.holds(row, target, oldName) {
			row[r.field] = newName
		}
	}
}
