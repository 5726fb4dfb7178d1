package methods

import (
	"context"
	"time"

	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Transaction is the document API of a whitelisted method, a hook or a
// server script: reads see the transaction's own writes (lists and counts
// see committed documents); writes commit together, all or none, when the
// call succeeds on POST, PUT, PATCH or DELETE. On GET every write fails.
// *Tx implements it in the process that owns the transaction; a worker
// in another process gets a client of the same interface over NATS.
type Transaction interface {
	// User is who the transaction acts for.
	User() string
	// Get returns a document (DoesNotExistError when missing).
	Get(ctx context.Context, doctype, name string) (map[string]any, error)
	// Exists reports whether a document exists.
	Exists(ctx context.Context, doctype, name string) (bool, error)
	// List runs a list query with Frappe's get_list arguments (fields,
	// filters, or_filters, order_by, group_by, limit_start,
	// limit_page_length, parent).
	List(ctx context.Context, doctype string, args map[string]any) (*projections.Result, error)
	// Count counts with filters and or_filters.
	Count(ctx context.Context, doctype string, args map[string]any) (int64, error)
	// Insert creates a document and returns it as saved.
	Insert(ctx context.Context, doctype string, doc map[string]any) (map[string]any, error)
	// Update changes the fields in patch and returns the document saved.
	Update(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error)
	// SetValue sets fields directly (frappe.db.set_value): no hooks, no
	// document validation.
	SetValue(ctx context.Context, doctype, name string, values map[string]any) (map[string]any, error)
	// Delete deletes a document.
	Delete(ctx context.Context, doctype, name string) error
	// Rename renames a document (merge: into an existing one) and returns
	// the new name.
	Rename(ctx context.Context, doctype, oldName, newName string, merge bool) (string, error)
}

var _ Transaction = (*Tx)(nil)

// Get returns a document as this transaction sees it (a Single doctype's
// document when name is empty or the doctype's name), if the user may
// read it, without the fields of levels the user does not read.
func (tx *Tx) Get(ctx context.Context, doctype, name string) (map[string]any, error) {
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, err
	}
	doc, err := tx.getDoc(ctx, d, name)
	if err != nil {
		return nil, err
	}
	if err := tx.can(ctx, d, PermRead, doc); err != nil {
		return nil, err
	}
	return tx.hideFields(ctx, d, doc)
}

// getDoc reads a document without permission checks (names compare
// without regard to case where the doctype claims them).
func (tx *Tx) getDoc(ctx context.Context, d *meta.DocType, name string) (map[string]any, error) {
	if d.IsSingle {
		return tx.single(ctx, d)
	}
	if name == "" {
		return nil, newError(ValidationError, "Argument name is required: %s is not a Single DocType", d.Name)
	}
	name, err := tx.resolveName(ctx, d, name)
	if err != nil {
		return nil, err
	}
	return tx.GetDoc(ctx, d.Name, name)
}

// List runs a list query on the committed documents the user may read.
func (tx *Tx) List(ctx context.Context, doctype string, args map[string]any) (*projections.Result, error) {
	if _, err := tx.docs.Meta(doctype); err != nil {
		return nil, err
	}
	q, err := ListQuery(doctype, args, tx.docs.env(), false)
	if err != nil {
		return nil, err
	}
	return tx.Select(ctx, q)
}

// Select runs a prepared list query on the committed documents the user
// may read, showing the fields the user may read.
func (tx *Tx) Select(ctx context.Context, q projections.Query) (*projections.Result, error) {
	if err := tx.restrictQuery(ctx, &q); err != nil {
		return nil, err
	}
	return tx.docs.store.List(ctx, q)
}

// Count counts the committed documents the user may read that filters
// and or_filters select.
func (tx *Tx) Count(ctx context.Context, doctype string, args map[string]any) (int64, error) {
	if _, err := tx.docs.Meta(doctype); err != nil {
		return 0, err
	}
	q := projections.Query{DocType: doctype, Parent: StringArg(args, "parent"), Env: tx.docs.env()}
	var err error
	if q.Filters, err = query.ParseFilters(args["filters"]); err != nil {
		return 0, err
	}
	if q.OrFilters, err = query.ParseFilters(args["or_filters"]); err != nil {
		return 0, err
	}
	if err := tx.restrictQuery(ctx, &q); err != nil {
		return 0, err
	}
	n, _, err := tx.docs.store.Count(ctx, q)
	return n, err
}

// Reader returns a read-only transaction of user for reads outside a
// method call (the resource endpoints): it checks permissions as any
// transaction does and refuses writes.
func (d *Docs) Reader(user string) *Tx {
	tx := d.begin(user, false)
	tx.readOnly = true
	return tx
}

// env is what relative date filters need.
func (d *Docs) env() query.Env {
	return query.Env{Now: d.opts.Now(), Loc: d.opts.Location, WeekStart: time.Monday}
}

// writable refuses writes in a read-only (GET) transaction.
func (tx *Tx) writable() error {
	if tx.readOnly {
		return &Error{Exc: PermissionError, Title: "Not Permitted",
			Msg: "Not permitted: a GET request cannot write documents; send the call as POST"}
	}
	return nil
}
