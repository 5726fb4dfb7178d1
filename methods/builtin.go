package methods

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"docket/projections"
	"docket/projections/meta"
)

// Document is a method result the API renders as a full document with
// nulls kept (as frappe.client.* returns them).
type Document struct {
	DocType string
	Doc     map[string]any
}

// writeVerbs are the verbs of Frappe's writing client methods.
var writeVerbs = []string{"POST", "PUT"}

// RegisterBuiltins adds the built-in methods every Frappe client uses,
// with Frappe's arguments, verbs and results (frappe/client.py).
func RegisterBuiltins(r *Registry) {
	r.Register("ping", MethodOptions{AllowGuest: true}, func(ctx context.Context, c *Call) (any, error) {
		return "pong", nil
	})
	r.Register("frappe.auth.get_logged_user", MethodOptions{}, func(ctx context.Context, c *Call) (any, error) {
		return c.User, nil
	})
	r.Register("frappe.client.get_list", MethodOptions{}, getList)
	r.Register("frappe.client.get_count", MethodOptions{}, getCount)
	r.Register("frappe.client.get", MethodOptions{}, get)
	r.Register("frappe.client.get_value", MethodOptions{}, getValue)
	r.Register("frappe.client.get_single_value", MethodOptions{}, getSingleValue)
	r.Register("frappe.client.set_value", MethodOptions{Methods: writeVerbs}, setValue)
	r.Register("frappe.client.insert", MethodOptions{Methods: writeVerbs}, insert)
	r.Register("frappe.client.insert_many", MethodOptions{Methods: writeVerbs}, insertMany)
	r.Register("frappe.client.save", MethodOptions{Methods: writeVerbs}, save)
	r.Register("frappe.client.delete", MethodOptions{Methods: []string{"POST", "DELETE"}}, deleteDoc)
	r.Register("frappe.client.submit", MethodOptions{Methods: writeVerbs}, submit)
	r.Register("frappe.client.cancel", MethodOptions{Methods: writeVerbs}, cancel)
	r.Register("frappe.client.rename_doc", MethodOptions{Methods: writeVerbs}, renameDoc)
	r.Register("frappe.client.bulk_update", MethodOptions{Methods: writeVerbs}, bulkUpdate)
	r.Register("frappe.client.validate_link", MethodOptions{}, validateLink)
	r.Register("frappe.client.has_permission", MethodOptions{}, hasPermission)
	r.Register("frappe.client.get_doc_permissions", MethodOptions{}, getDocPermissions)
	r.Register(DigestMethod, MethodOptions{Methods: []string{"GET"}, LocalOnly: true}, digest)
}

// hasPermission is frappe.client.has_permission(doctype, docname,
// perm_type): {"has_permission": bool} for the calling user.
func hasPermission(ctx context.Context, c *Call) (any, error) {
	tx, err := localTx(c)
	if err != nil {
		return nil, err
	}
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	right := StringArg(c.Args, "perm_type")
	if right == "" {
		right = PermRead
	}
	if !slices.Contains(Rights, right) {
		return nil, newError(ValidationError, "Unknown permission type %q", right)
	}
	ok, err := tx.Can(ctx, dt, StringArg(c.Args, "docname"), right)
	if err != nil {
		return nil, err
	}
	return map[string]any{"has_permission": ok}, nil
}

// getDocPermissions is frappe.client.get_doc_permissions(doctype,
// docname): {"permissions": {"read": 1, …}} for the calling user.
func getDocPermissions(ctx context.Context, c *Call) (any, error) {
	tx, err := localTx(c)
	if err != nil {
		return nil, err
	}
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	name, err := required(c.Args, "docname")
	if err != nil {
		return nil, err
	}
	if _, err := tx.Get(ctx, dt, name); err != nil {
		return nil, err // Frappe reads the document first: no read, no answer
	}
	perms, err := tx.DocPermissions(ctx, dt, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(perms))
	for k, v := range perms {
		out[k] = int64(v)
	}
	return map[string]any{"permissions": out}, nil
}

// localTx is the call's transaction when it runs in this process (the
// built-in methods always do).
func localTx(c *Call) (*Tx, error) {
	tx, ok := c.Tx.(*Tx)
	if !ok {
		return nil, internalError("method needs a local transaction")
	}
	return tx, nil
}

// required returns a text argument or a ValidationError naming it.
func required(args map[string]any, key string) (string, error) {
	if s := StringArg(args, key); s != "" {
		return s, nil
	}
	return "", newError(ValidationError, "Argument %s is required", key)
}

// jsonArg returns an argument that may arrive as JSON text (from a query
// string or form) or as a JSON value (from a JSON body).
func jsonArg(args map[string]any, key string) (any, error) {
	v, ok := args[key]
	if !ok {
		return nil, nil
	}
	s, isText := v.(string)
	t := strings.TrimSpace(s)
	if !isText || t == "" || (t[0] != '{' && t[0] != '[') {
		return v, nil
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, newError(ValidationError, "Argument %s is not valid JSON: %v", key, err)
	}
	return meta.FromJSON(out), nil
}

// docArg returns a document argument (an object, or JSON text of one).
func docArg(args map[string]any, key string) (map[string]any, error) {
	v, err := jsonArg(args, key)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, newError(ValidationError, "Argument %s must be a document (a JSON object)", key)
	}
	return m, nil
}

// rowsOf turns a list result into objects (nulls kept) with wire values.
func rowsOf(res *projections.Result, asDict bool) []any {
	out := make([]any, 0, len(res.Rows))
	for _, row := range res.Rows {
		if asDict {
			m := make(map[string]any, len(row))
			for i, col := range res.Columns {
				m[col] = meta.FormatValue(res.Types[i], row[i])
			}
			out = append(out, m)
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

// getList is frappe.client.get_list: the list endpoint's parameters
// (without its limit alias), rows as objects unless as_dict is false.
func getList(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	args := c.Args
	if _, ok := args["limit_page_length"]; !ok {
		if _, ok := args["limit"]; ok {
			args = cloneArgs(args)
			delete(args, "limit") // get_list has no limit alias
		}
	}
	asDict, err := BoolArg(c.Args, "as_dict", true)
	if err != nil {
		return nil, err
	}
	res, err := c.Tx.List(ctx, dt, args)
	if err != nil {
		return nil, err
	}
	return rowsOf(res, asDict), nil
}

// getCount is frappe.client.get_count(doctype, filters).
func getCount(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	return c.Tx.Count(ctx, dt, c.Args)
}

// firstMatch returns the name of the first document filters select.
func firstMatch(ctx context.Context, tx Transaction, doctype string, filters any) (string, bool, error) {
	res, err := tx.List(ctx, doctype, map[string]any{"filters": filters, "limit_page_length": int64(1)})
	if err != nil || len(res.Rows) == 0 {
		return "", false, err
	}
	return projections.NameString(res.Rows[0][0]), true, nil
}

// get is frappe.client.get(doctype, name, filters): a document with
// nulls; without name or filters a Single doctype's document.
func get(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	name := StringArg(c.Args, "name")
	filters, err := jsonArg(c.Args, "filters")
	if err != nil {
		return nil, err
	}
	if name == "" && filters != nil {
		var ok bool
		if name, ok, err = firstMatch(ctx, c.Tx, dt, filters); err != nil {
			return nil, err
		} else if !ok {
			return nil, NotFound(dt, fmt.Sprint(filters))
		}
	}
	doc, err := c.Tx.Get(ctx, dt, name)
	if err != nil {
		return nil, err
	}
	return Document{DocType: dt, Doc: doc}, nil
}

// getValue is frappe.client.get_value(doctype, fieldname, filters,
// as_dict): the values of the first document the filters (or a name)
// select; {} when none.
func getValue(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	fv, err := jsonArg(c.Args, "fieldname")
	if err != nil {
		return nil, err
	}
	var fields []any
	switch x := fv.(type) {
	case nil:
		fields = []any{meta.FieldName}
	case string:
		fields = []any{x}
	case []any:
		fields = x
		if len(fields) == 0 {
			fields = []any{meta.FieldName}
		}
	default:
		return nil, newError(ValidationError, "Argument fieldname must be a field name or a list of them")
	}
	filters, err := jsonArg(c.Args, "filters")
	if err != nil {
		return nil, err
	}
	if s, ok := filters.(string); ok {
		filters = map[string]any{meta.FieldName: s} // a document name
	}
	asDict, err := BoolArg(c.Args, "as_dict", true)
	if err != nil {
		return nil, err
	}
	res, err := c.Tx.List(ctx, dt, map[string]any{"fields": fields, "filters": filters, "limit_page_length": int64(1),
		"parent": c.Args["parent"]})
	if err != nil {
		return nil, err
	}
	if len(res.Rows) == 0 {
		if asDict {
			return map[string]any{}, nil
		}
		return nil, nil
	}
	row := rowsOf(res, true)[0].(map[string]any)
	if asDict {
		return row, nil
	}
	if len(res.Columns) == 1 {
		return row[res.Columns[0]], nil
	}
	vals := make([]any, len(res.Columns))
	for i, col := range res.Columns {
		vals[i] = row[col]
	}
	return vals, nil
}

// getSingleValue is frappe.client.get_single_value(doctype, field).
func getSingleValue(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	field, err := required(c.Args, "field")
	if err != nil {
		return nil, err
	}
	doc, err := c.Tx.Get(ctx, dt, dt)
	if err != nil {
		return nil, err
	}
	return doc[field], nil
}

// standardFieldNames may not be set through set_value.
var standardFieldNames = []string{"name", "owner", "creation", "modified", "modified_by", "docstatus", "idx",
	"doctype", "parent", "parentfield", "parenttype"}

// setValue is frappe.client.set_value(doctype, name, fieldname, value):
// fieldname is a field (with value) or an object of fields.
func setValue(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	name, err := required(c.Args, "name")
	if err != nil {
		return nil, err
	}
	fv, err := jsonArg(c.Args, "fieldname")
	if err != nil {
		return nil, err
	}
	patch := map[string]any{}
	switch x := fv.(type) {
	case map[string]any:
		patch = x
	case string:
		if x == "" {
			return nil, newError(ValidationError, "Argument fieldname is required")
		}
		patch[x] = c.Args["value"] // taken as sent: Frappe never parses it
	default:
		return nil, newError(ValidationError, "Argument fieldname must be a field name or an object of fields")
	}
	for k := range patch {
		for _, std := range standardFieldNames {
			if k == std {
				return nil, newError(ValidationError, "Cannot edit standard fields")
			}
		}
	}
	return updateAny(ctx, c.Tx, dt, name, patch)
}

// updateAny updates a document, or a child row through its parent (the
// parent is returned).
func updateAny(ctx context.Context, t Transaction, doctype, name string, patch map[string]any) (any, error) {
	if tx, ok := t.(*Tx); ok {
		if d, err := tx.docs.Meta(doctype); err == nil && d.IsTable {
			parentType, doc, err := tx.updateRow(ctx, d, name, patch)
			if err != nil {
				return nil, err
			}
			return Document{DocType: parentType, Doc: doc}, nil
		}
	}
	doc, err := t.Update(ctx, doctype, name, patch)
	if err != nil {
		return nil, err
	}
	return Document{DocType: doctype, Doc: doc}, nil
}

// insert is frappe.client.insert(doc): doc carries its doctype; a child
// row (with parent, parenttype, parentfield) returns its parent.
func insert(ctx context.Context, c *Call) (any, error) {
	doc, err := docArg(c.Args, "doc")
	if err != nil {
		return nil, err
	}
	return insertOne(ctx, c.Tx, doc)
}

func insertOne(ctx context.Context, tx Transaction, doc map[string]any) (any, error) {
	dt, _ := doc["doctype"].(string)
	if dt == "" {
		return nil, newError(ValidationError, "The document has no doctype")
	}
	saved, err := tx.Insert(ctx, dt, doc)
	if err != nil {
		return nil, err
	}
	if pt, _ := doc[meta.FieldParenttype].(string); pt != "" && saved[meta.FieldName] == doc[meta.FieldParent] {
		return Document{DocType: pt, Doc: saved}, nil // a child row: its parent, saved
	}
	return Document{DocType: dt, Doc: saved}, nil
}

// insertMany is frappe.client.insert_many(docs): all or none, at most 200,
// returning the names.
func insertMany(ctx context.Context, c *Call) (any, error) {
	v, err := jsonArg(c.Args, "docs")
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, newError(ValidationError, "Argument docs must be a list of documents")
	}
	if len(list) > 200 {
		return nil, newError(ValidationError, "Only 200 inserts allowed in one request")
	}
	names := make([]any, 0, len(list))
	for _, x := range list {
		doc, ok := x.(map[string]any)
		if !ok {
			return nil, newError(ValidationError, "Argument docs must be a list of documents")
		}
		res, err := insertOne(ctx, c.Tx, doc)
		if err != nil {
			return nil, err
		}
		names = append(names, res.(Document).Doc[meta.FieldName])
	}
	return names, nil
}

// save is frappe.client.save(doc): the document as sent, which must carry
// the modified it was read at.
func save(ctx context.Context, c *Call) (any, error) {
	doc, err := docArg(c.Args, "doc")
	if err != nil {
		return nil, err
	}
	return saveWhole(ctx, c.Tx, doc, nil)
}

// saveWhole saves a whole document sent by a client (save, submit):
// without modified, or with a stale one, it is a TimestampMismatchError.
func saveWhole(ctx context.Context, tx Transaction, doc map[string]any, docstatus any) (any, error) {
	dt, _ := doc["doctype"].(string)
	name := projections.NameString(doc[meta.FieldName])
	if dt == "" || name == "" {
		return nil, newError(ValidationError, "The document needs its doctype and name")
	}
	if doc[meta.FieldModified] == nil || doc[meta.FieldModified] == "" {
		return nil, &Error{Exc: TimestampMismatchError, Title: "Timestamp Mismatch",
			Msg: "Error: Document has been modified after you have opened it. Please refresh to get the latest document."}
	}
	doc = cloneDoc(doc)
	if docstatus != nil {
		doc[meta.FieldDocstatus] = docstatus
	}
	if t, ok := tx.(*Tx); ok {
		// The document as sent replaces the stored one: fields it leaves
		// out are cleared, as Frappe's save writes every column.
		if d, err := t.docs.Meta(dt); err == nil {
			for _, f := range d.Fields {
				if _, sent := doc[f.Fieldname]; !sent && meta.HasValue(f.Fieldtype) && f.Fieldtype != meta.Password && !f.ReadOnly {
					doc[f.Fieldname] = nil
				}
			}
		}
	}
	return updateAny(ctx, tx, dt, name, doc)
}

// deleteDoc is frappe.client.delete(doctype, name).
func deleteDoc(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	name, err := required(c.Args, "name")
	if err != nil {
		return nil, err
	}
	return nil, c.Tx.Delete(ctx, dt, name)
}

// submit is frappe.client.submit(doc): the whole document, submitted.
func submit(ctx context.Context, c *Call) (any, error) {
	doc, err := docArg(c.Args, "doc")
	if err != nil {
		return nil, err
	}
	return saveWhole(ctx, c.Tx, doc, int64(Submitted))
}

// cancel is frappe.client.cancel(doctype, name).
func cancel(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	name, err := required(c.Args, "name")
	if err != nil {
		return nil, err
	}
	return updateAny(ctx, c.Tx, dt, name, map[string]any{meta.FieldDocstatus: int64(Cancelled)})
}

// renameDoc is frappe.client.rename_doc(doctype, old_name, new_name,
// merge): the new name.
func renameDoc(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	oldName, err := required(c.Args, "old_name")
	if err != nil {
		return nil, err
	}
	newName, err := required(c.Args, "new_name")
	if err != nil {
		return nil, err
	}
	merge, err := BoolArg(c.Args, "merge", false)
	if err != nil {
		return nil, err
	}
	return c.Tx.Rename(ctx, dt, oldName, newName, merge)
}

// bulkUpdate is frappe.client.bulk_update(docs): each document (with
// doctype and docname) is updated on its own; the ones that fail are
// reported, the others saved.
func bulkUpdate(ctx context.Context, c *Call) (any, error) {
	v, err := jsonArg(c.Args, "docs")
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, newError(ValidationError, "Argument docs must be a list of documents")
	}
	failed := []any{}
	for _, x := range list {
		doc, ok := x.(map[string]any)
		if !ok {
			failed = append(failed, map[string]any{"doc": x, "exc": "not a document"})
			continue
		}
		patch := cloneDoc(doc)
		dt, _ := patch["doctype"].(string)
		name := projections.NameString(patch["docname"])
		delete(patch, "doctype")
		delete(patch, "docname")
		err := savepoint(c.Tx, func() error {
			_, err := c.Tx.Update(ctx, dt, name, patch)
			return err
		})
		if err != nil {
			failed = append(failed, map[string]any{"doc": doc, "exc": err.Error()})
		}
	}
	return map[string]any{"failed_docs": failed}, nil
}

// validateLink is frappe.client.validate_link(doctype, docname, fields):
// the name (as stored) and the fields asked for, or {} when there is no
// such document.
func validateLink(ctx context.Context, c *Call) (any, error) {
	dt, err := required(c.Args, "doctype")
	if err != nil {
		return nil, err
	}
	name := StringArg(c.Args, "docname")
	if name == "" {
		return map[string]any{"name": nil}, nil
	}
	doc, err := c.Tx.Get(ctx, dt, name)
	if IsExc(err, DoesNotExistError) {
		return map[string]any{"name": nil}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{meta.FieldName: doc[meta.FieldName]}
	fv, err := jsonArg(c.Args, "fields")
	if err != nil {
		return nil, err
	}
	if fields, ok := fv.([]any); ok {
		for _, f := range fields {
			if s, ok := f.(string); ok {
				out[s] = doc[s]
			}
		}
	}
	return out, nil
}

func cloneArgs(a map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}
