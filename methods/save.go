package methods

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Docstatus values.
const (
	Draft     = 0
	Submitted = 1
	Cancelled = 2
)

// action is what a save does, as Frappe names it.
type action string

const (
	actionSave              action = "save"
	actionSubmit            action = "submit"
	actionCancel            action = "cancel"
	actionUpdateAfterSubmit action = "update_after_submit"
)

// Insert creates a document from client values, as POST
// /api/resource/{doctype} does: defaults, naming, validation, standard
// fields, hooks. A docstatus of 1 inserts and submits; amended_from names
// the cancelled document this one amends. A child doctype's row is
// inserted through its parent (parent, parenttype and parentfield given)
// and the parent is returned; a Single doctype's document is saved.
func (tx *Tx) Insert(ctx context.Context, doctype string, in map[string]any) (map[string]any, error) {
	doc, err := tx.insert(ctx, doctype, in)
	if err != nil {
		return nil, err
	}
	return tx.visible(ctx, doctype, doc)
}

// visible is a saved document as its writer may read it: a child row's
// parent, a document without the fields of levels the user does not read.
func (tx *Tx) visible(ctx context.Context, doctype string, doc map[string]any) (map[string]any, error) {
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, err
	}
	if d.IsTable {
		return doc, nil // the parent, already made visible by its Update
	}
	return tx.hideFields(ctx, d, doc)
}

func (tx *Tx) insert(ctx context.Context, doctype string, in map[string]any) (map[string]any, error) {
	if err := tx.writable(); err != nil {
		return nil, err
	}
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, err
	}
	switch {
	case d.IsTable:
		return tx.insertRow(ctx, d, in)
	case d.IsSingle:
		return tx.saveSingle(ctx, d, in)
	case d.Core && d.Name != "DocType" && !tx.system:
		return nil, newError(PermissionError, "%s rows are saved through their DocType", d.Name)
	}
	if err := tx.checkPrivileged(d, "", nil, in, false); err != nil {
		return nil, err
	}
	docstatus, err := docstatusOf(in[meta.FieldDocstatus], Draft)
	if err != nil {
		return nil, err
	}
	switch {
	case docstatus == Cancelled:
		return nil, newError(DocstatusTransitionError, "Cannot insert a cancelled document (docstatus 2)")
	case docstatus == Submitted && !d.IsSubmittable:
		return nil, newError(ValidationError, "%s is not submittable: docstatus must be 0", d.Name)
	}
	rights := []string{PermCreate}
	if docstatus == Submitted {
		rights = append(rights, PermSubmit)
	}
	if projections.NameString(in["amended_from"]) != "" && d.IsSubmittable {
		rights = append(rights, PermAmend)
	}
	for _, right := range rights {
		if err := tx.can(ctx, d, right, nil); err != nil {
			return nil, err
		}
	}
	if in, err = tx.keepUnwritable(ctx, d, nil, in); err != nil {
		return nil, err
	}
	if d.Name == "DocType" {
		in = withDefaultPerms(in)
	}
	secretsBefore := len(tx.secrets)
	doc := map[string]any{}
	if err := tx.setFields(d, doc, in, true); err != nil {
		return nil, err
	}
	if err := tx.setDefaults(d, doc); err != nil {
		return nil, err
	}
	if ctl := controllers[doctype]; ctl.beforeInsert != nil {
		ctl.beforeInsert(tx, doc)
	}
	if err := tx.run(ctx, doctype, BeforeInsert, doc); err != nil {
		return nil, err
	}
	name, head, err := tx.nameNew(ctx, d, doc, in)
	if err != nil {
		return nil, err
	}
	nameStr := projections.NameString(name)
	now := tx.Now()
	doc[meta.FieldName] = name
	doc[meta.FieldOwner] = tx.user
	doc[meta.FieldCreation] = now
	doc[meta.FieldModified] = now
	doc[meta.FieldModifiedBy] = tx.user
	doc[meta.FieldDocstatus] = int64(docstatus)
	doc[meta.FieldIdx] = int64(0)
	act := actionSave
	if docstatus == Submitted {
		act = actionSubmit
	}
	if err := tx.prepareSave(ctx, d, nil, doc, nameStr, now, act); err != nil {
		return nil, err
	}
	for _, right := range rights {
		if err := tx.can(ctx, d, right, doc); err != nil {
			return nil, err // a Link value the user's User Permissions do not allow
		}
	}
	if claimsNames(d) {
		if err := tx.claim(ctx, d, nameField, query.FoldKey(nameStr), nameStr, false); err != nil {
			return nil, err
		}
	}
	tx.nameSecrets(secretsBefore, nameStr)
	if err := tx.put(doctype, nameStr, eventlog.Insert, nil, head, doc); err != nil {
		return nil, err
	}
	if err := tx.run(ctx, doctype, AfterInsert, doc); err != nil {
		return nil, err
	}
	return doc, tx.afterSave(ctx, doctype, doc, act)
}

// nameNew names a new document: by its doctype's rule, by amendment, or
// (bootstrap) as given; a name in use is a DuplicateEntryError.
func (tx *Tx) nameNew(ctx context.Context, d *meta.DocType, doc, in map[string]any) (any, projections.Head, error) {
	for attempt := 0; ; attempt++ {
		clientName := in[meta.FieldName]
		if clientName == nil || clientName == "" {
			clientName = in["__newname"]
		}
		var name any
		var err error
		switch forced, ok := clientName.(string); {
		case ok && tx.system && forced != "":
			name = forced
		case doc["amended_from"] != nil && doc["amended_from"] != "":
			name, err = tx.amendedName(ctx, d, projections.NameString(doc["amended_from"]))
		default:
			name, err = tx.autoname(ctx, d, doc, clientName)
		}
		if err != nil {
			return nil, projections.Head{}, err
		}
		if err := checkName(d, name); err != nil {
			return nil, projections.Head{}, err
		}
		random := (d.Autoname == "" || d.Autoname == "hash") && (clientName == nil || clientName == "")
		if random && !tx.fresh && projections.NameString(doc["amended_from"]) == "" {
			// A fresh random name is new: no read. The append expects an
			// empty subject, so the rare collision is a conflict, and the
			// retry reads the log and draws again.
			return name, projections.Head{}, nil
		}
		existing, head, err := tx.read(ctx, d.Name, projections.NameString(name))
		if err != nil {
			return nil, projections.Head{}, err
		}
		if existing == nil {
			return name, head, nil
		}
		if random && attempt < 3 {
			continue // a random name collided: draw again
		}
		return nil, projections.Head{}, &Error{Exc: DuplicateEntryError, Title: "Duplicate Name",
			Msg: fmt.Sprintf("%s %s already exists", d.Name, projections.NameString(name))}
	}
}

// amendedName names an amendment as Frappe does: ORIG-1, then ORIG-2 for
// an amendment of ORIG-1, and so on. The amended document must be
// cancelled.
func (tx *Tx) amendedName(ctx context.Context, d *meta.DocType, from string) (string, error) {
	src, _, err := tx.read(ctx, d.Name, from)
	if err != nil {
		return "", err
	}
	if src == nil {
		return "", &Error{Exc: LinkValidationError, Msg: fmt.Sprintf("Could not find Amended From: %s", from)}
	}
	if status, _ := docstatusOf(src[meta.FieldDocstatus], Draft); status != Cancelled {
		return "", newError(ValidationError, "%s %s cannot be amended because it is not cancelled", d.Name, from)
	}
	prefix, n := from, int64(1)
	if prev, _ := src["amended_from"].(string); prev != "" {
		if i := strings.LastIndexByte(from, '-'); i > 0 {
			if k, err := strconv.ParseInt(from[i+1:], 10, 64); err == nil {
				prefix, n = from[:i], k+1
			}
		}
	}
	return fmt.Sprintf("%s-%d", prefix, n), nil
}

// Update applies a partial document to a stored one, as PUT
// /api/resource/{doctype}/{name} does: fields not sent keep their values,
// child tables sent are replaced, "modified" (when sent) must match, and
// a docstatus change submits or cancels. A Single doctype's document is
// created on its first save.
func (tx *Tx) Update(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error) {
	doc, err := tx.updateByName(ctx, doctype, name, patch)
	if err != nil {
		return nil, err
	}
	return tx.visible(ctx, doctype, doc)
}

func (tx *Tx) updateByName(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error) {
	if err := tx.writable(); err != nil {
		return nil, err
	}
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return nil, err
	}
	if d.IsSingle {
		return tx.saveSingle(ctx, d, patch)
	}
	if d.Core && d.Name != "DocType" {
		return nil, newError(PermissionError, "%s rows are saved through their DocType", d.Name)
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
	return tx.update(ctx, d, name, orig, head, patch)
}

// update saves a patched version of an existing document.
func (tx *Tx) update(ctx context.Context, d *meta.DocType, name string, orig map[string]any, head projections.Head, patch map[string]any) (map[string]any, error) {
	if d.Name == "DocType" && meta.IsCore(name) {
		return nil, newError(PermissionError, "The core DocType %s cannot be changed", name)
	}
	if err := tx.can(ctx, d, PermWrite, orig); err != nil {
		return nil, err
	}
	if err := tx.checkModified(orig, patch); err != nil {
		return nil, err
	}
	oldStatus, _ := docstatusOf(orig[meta.FieldDocstatus], Draft)
	newStatus, err := docstatusOf(patch[meta.FieldDocstatus], oldStatus)
	if err != nil {
		return nil, err
	}
	typ, err := transition(d, oldStatus, newStatus)
	if err != nil {
		return nil, err
	}
	act := actionSave
	var rights []string // beyond write, checked above
	switch {
	case typ == eventlog.Submit:
		act, rights = actionSubmit, append(rights, PermSubmit)
	case typ == eventlog.Cancel:
		act, rights = actionCancel, append(rights, PermCancel)
	case oldStatus == Submitted:
		act, rights = actionUpdateAfterSubmit, append(rights, PermSubmit)
	}
	for _, right := range rights {
		if err := tx.can(ctx, d, right, orig); err != nil {
			return nil, err
		}
	}
	if patch, err = tx.keepUnwritable(ctx, d, orig, patch); err != nil {
		return nil, err
	}
	if err := tx.checkPrivileged(d, name, orig, patch, false); err != nil {
		return nil, err
	}
	secretsBefore := len(tx.secrets)
	doc := cloneDoc(orig)
	if err := tx.setFields(d, doc, patch, false); err != nil {
		return nil, err
	}
	if err := tx.checkConstants(d, orig, doc, oldStatus, newStatus); err != nil {
		return nil, err
	}
	now := timestampAfter(tx.Now(), orig[meta.FieldModified])
	doc[meta.FieldModified] = now
	doc[meta.FieldModifiedBy] = tx.user
	doc[meta.FieldDocstatus] = int64(newStatus)
	if err := tx.prepareSave(ctx, d, orig, doc, name, now, act); err != nil {
		return nil, err
	}
	if err := tx.can(ctx, d, PermWrite, doc); err != nil {
		return nil, err // the change would take the document out of the user's reach
	}
	if d.Name == "User" && orig["enabled"] == int64(1) && doc["enabled"] != int64(1) {
		tx.ended = append(tx.ended, name)
	}
	tx.nameSecrets(secretsBefore, name)
	if err := tx.put(d.Name, name, typ, orig, head, doc); err != nil {
		return nil, err
	}
	if err := tx.releaseAttachments(ctx, d, orig, doc); err != nil {
		return nil, err
	}
	if err := tx.trackChanges(ctx, d, name, orig, doc); err != nil {
		return nil, err
	}
	return doc, tx.afterSave(ctx, d.Name, doc, act)
}

// Delete deletes a document, as DELETE /api/resource/{doctype}/{name}
// does: not when submitted, not when other documents link to it. A child
// table row is deleted through its parent.
func (tx *Tx) Delete(ctx context.Context, doctype, name string) error {
	if err := tx.writable(); err != nil {
		return err
	}
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return err
	}
	if d.IsTable {
		return tx.deleteRow(ctx, d, name)
	}
	if d.Core && d.Name != "DocType" {
		return newError(PermissionError, "%s rows are deleted through their DocType", d.Name)
	}
	if name, err = tx.resolveName(ctx, d, name); err != nil {
		return err
	}
	orig, head, err := tx.read(ctx, doctype, name)
	if err != nil {
		return err
	}
	if orig == nil {
		return NotFound(doctype, name)
	}
	if err := tx.checkPrivileged(d, name, orig, nil, true); err != nil {
		return err
	}
	if err := tx.can(ctx, d, PermDelete, orig); err != nil {
		return err
	}
	if ctl := controllers[doctype]; ctl.onTrash != nil {
		if err := ctl.onTrash(tx, name); err != nil {
			return err
		}
	}
	if status, _ := docstatusOf(orig[meta.FieldDocstatus], Draft); status == Submitted {
		return newError(ValidationError, "%s %s: Submitted Record cannot be deleted. You must Cancel it first.", doctype, name)
	}
	if err := tx.run(ctx, doctype, OnTrash, orig); err != nil {
		return err
	}
	if doctype == "DocType" {
		if err := tx.checkDocTypeDelete(name); err != nil {
			return err
		}
	}
	if err := tx.checkNotLinked(ctx, d, name); err != nil {
		return err
	}
	if err := tx.claimUniques(ctx, d, orig, nil, name); err != nil {
		return err
	}
	if claimsNames(d) {
		if err := tx.claim(ctx, d, nameField, query.FoldKey(name), name, true); err != nil {
			return err
		}
	}
	f := forget{doctype: doctype, name: name}
	for _, fd := range d.Fields {
		if fd.Fieldtype == meta.Password {
			f.fields = append(f.fields, fd.Fieldname)
		}
	}
	f.apiKey, _ = orig["api_key"].(string)
	if len(f.fields) > 0 || doctype == "User" {
		tx.forget = append(tx.forget, f)
	}
	if err := tx.put(doctype, name, eventlog.Delete, orig, head, nil); err != nil {
		return err
	}
	if err := tx.releaseAttachments(ctx, d, orig, nil); err != nil {
		return err
	}
	return tx.run(ctx, doctype, AfterDelete, orig)
}

// prepareSave finishes a document an insert (orig nil) or update is about
// to write: child rows stamped, the doctype's controller, hooks before the
// save, fetch_from, validation, DocType checks, unique claims.
func (tx *Tx) prepareSave(ctx context.Context, d *meta.DocType, orig, doc map[string]any, name, now string, act action) error {
	tx.stampRows(d, doc, name, now)
	if ctl := controllers[d.Name]; ctl.beforeValidate != nil {
		ctl.beforeValidate(tx, doc, orig)
	}
	before := []Event{BeforeValidate, Validate, BeforeSave}
	switch act {
	case actionSubmit:
		before = []Event{BeforeValidate, Validate, BeforeSubmit}
	case actionCancel:
		before = []Event{BeforeCancel}
	case actionUpdateAfterSubmit:
		before = []Event{BeforeUpdateAfterSubmit}
	}
	if before[0] == BeforeValidate {
		if err := tx.run(ctx, d.Name, BeforeValidate, doc); err != nil {
			return err
		}
		before = before[1:]
	}
	if err := tx.fetchFrom(ctx, d, doc); err != nil {
		return err
	}
	if err := tx.validate(ctx, d, doc, ""); err != nil {
		return err
	}
	for _, ev := range before {
		if err := tx.run(ctx, d.Name, ev, doc); err != nil {
			return err
		}
	}
	if len(before) > 0 {
		// Hooks may have changed the document: check it again.
		tx.stampRows(d, doc, name, now)
		if err := tx.validate(ctx, d, doc, ""); err != nil {
			return err
		}
	}
	if d.Name == "DocType" {
		if err := tx.checkDocType(doc); err != nil {
			return err
		}
	}
	if ctl := controllers[d.Name]; ctl.check != nil {
		if err := ctl.check(ctx, tx, doc, orig); err != nil {
			return err
		}
	}
	return tx.claimUniques(ctx, d, orig, doc, name)
}

// afterSave runs the hooks after a document is staged.
func (tx *Tx) afterSave(ctx context.Context, doctype string, doc map[string]any, act action) error {
	var after []Event
	switch act {
	case actionSave:
		after = []Event{OnUpdate}
	case actionSubmit:
		after = []Event{OnUpdate, OnSubmit}
	case actionCancel:
		after = []Event{OnCancel}
	case actionUpdateAfterSubmit:
		after = []Event{OnUpdateAfterSubmit}
	}
	for _, ev := range after {
		if err := tx.run(ctx, doctype, ev, doc); err != nil {
			return err
		}
	}
	return nil
}

func docstatusOf(v any, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	n, given, err := IntArg(map[string]any{meta.FieldDocstatus: v}, meta.FieldDocstatus, def)
	if err != nil || n < 0 || n > 2 {
		return 0, newError(ValidationError, "docstatus must be 0, 1 or 2, not %v", v)
	}
	if !given {
		return def, nil
	}
	return n, nil
}

// transition checks a docstatus change and returns the event type.
func transition(d *meta.DocType, from, to int) (eventlog.Type, error) {
	if !d.IsSubmittable && to != Draft {
		return "", newError(ValidationError, "%s is not submittable: docstatus must be 0", d.Name)
	}
	switch {
	case from == Cancelled:
		return "", newError(DocstatusTransitionError, "Cannot edit cancelled document")
	case from == Draft && to == Draft:
		return eventlog.Update, nil
	case from == Draft && to == Submitted:
		return eventlog.Submit, nil
	case from == Submitted && to == Submitted:
		return eventlog.Update, nil
	case from == Submitted && to == Cancelled:
		return eventlog.Cancel, nil
	case from == Submitted && to == Draft:
		return "", newError(DocstatusTransitionError, "Cannot change docstatus from 1 (Submitted) to 0 (Draft)")
	}
	return "", newError(DocstatusTransitionError, "Cannot change docstatus from 0 (Draft) to 2 (Cancelled)")
}

// checkModified enforces the optimistic lock a client asks for by
// sending the "modified" it read.
func (tx *Tx) checkModified(orig, patch map[string]any) error {
	sent, ok := patch[meta.FieldModified]
	if !ok || sent == nil || sent == "" {
		return nil
	}
	stored, _ := orig[meta.FieldModified].(string)
	want, err := meta.Coerce(meta.Datetime, sent, tx.docs.opts.Location)
	if err == nil && want == stored {
		return nil
	}
	return &Error{Exc: TimestampMismatchError, Title: "Timestamp Mismatch",
		Msg: fmt.Sprintf("Error: Document has been modified after you have opened it (%s, %v). Please refresh to get the latest document.",
			meta.FormatDatetime(stored), sent)}
}

// checkConstants rejects changes to set_only_once fields and, on a
// submitted document, to fields not marked allow_on_submit.
func (tx *Tx) checkConstants(d *meta.DocType, orig, doc map[string]any, from, to int) error {
	for _, c := range changes(orig, doc) {
		f := d.Field(c.Field)
		if f == nil {
			continue
		}
		if f.SetOnlyOnce && !isEmpty(c.Old, f) {
			return newError(CannotChangeConstant, "Value cannot be changed for %s", f.DisplayLabel())
		}
		if from == Submitted && to == Submitted && !f.AllowOnSubmit {
			return newError(UpdateAfterSubmitError, "Not allowed to change %s after submission", f.DisplayLabel())
		}
	}
	return nil
}

// stampRows sets the standard fields of every child row.
func (tx *Tx) stampRows(d *meta.DocType, doc map[string]any, name, now string) {
	for _, tf := range d.TableFields() {
		for _, r := range meta.Rows(doc[tf.Fieldname]) {
			r[meta.FieldParent] = name
			r[meta.FieldParentfield] = tf.Fieldname
			r[meta.FieldParenttype] = d.Name
			r[meta.FieldDocstatus] = doc[meta.FieldDocstatus]
			r[meta.FieldModified] = now
			r[meta.FieldModifiedBy] = tx.user
		}
	}
}

// nameSecrets names the secrets collected since from that have no name
// yet (child rows name theirs first).
func (tx *Tx) nameSecrets(from int, name string) {
	for i := from; i < len(tx.secrets); i++ {
		if tx.secrets[i].name == "" {
			tx.secrets[i].name = name
		}
	}
}

// claimUniques claims the values of unique fields a document now holds
// and releases the ones it no longer holds (doc nil: all released).
// Values compare case-insensitively, as MariaDB's unique keys do.
func (tx *Tx) claimUniques(ctx context.Context, d *meta.DocType, orig, doc map[string]any, name string) error {
	for _, f := range d.Fields {
		if !f.Unique || !meta.HasValue(f.Fieldtype) {
			continue
		}
		oldKey := uniqueKey(orig[f.Fieldname])
		newKey := uniqueKey(doc[f.Fieldname])
		if oldKey == newKey {
			continue
		}
		if newKey != "" {
			if err := tx.claim(ctx, d, f, newKey, name, false); err != nil {
				return err
			}
		}
		if oldKey != "" {
			if err := tx.claim(ctx, d, f, oldKey, name, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func uniqueKey(v any) string {
	if v == nil {
		return ""
	}
	return query.FoldKey(strings.TrimSpace(projections.NameString(v)))
}

// checkDocType checks what a DocType document needs beyond its own
// fields: its child tables and links name existing doctypes.
func (tx *Tx) checkDocType(doc map[string]any) error {
	d, err := meta.Parse(doc)
	if err != nil {
		return newError(ValidationError, "%s", err.Error())
	}
	if meta.IsCore(d.Name) && !tx.system {
		return newError(PermissionError, "The core DocType %s cannot be changed", d.Name)
	}
	for _, f := range d.Fields {
		switch {
		case f.Kind() == meta.KindTable:
			cd := tx.metaOf(f.Options)
			if cd == nil || !cd.IsTable {
				return newError(ValidationError, "Options of the Table field %s must be a child table DocType (istable), not %q", f.Fieldname, f.Options)
			}
		case f.Fieldtype == meta.Link:
			if f.Options != d.Name && tx.metaOf(f.Options) == nil && !tx.system {
				return newError(ValidationError, "Options of the Link field %s must be an existing DocType, not %q", f.Fieldname, f.Options)
			}
		}
	}
	if d.IsTable {
		for _, f := range d.Fields {
			if f.Kind() == meta.KindTable {
				return newError(ValidationError, "A child table cannot have Table fields (%s)", f.Fieldname)
			}
		}
	}
	return nil
}

// checkDocTypeDelete refuses to delete a core DocType or one that still
// has documents.
func (tx *Tx) checkDocTypeDelete(name string) error {
	if meta.IsCore(name) {
		return newError(PermissionError, "The core DocType %s cannot be deleted", name)
	}
	if d := tx.docs.store.Registry().Get(name); d != nil && !d.IsTable {
		// (Rows of a child table live in their parents, checked below.)
		n, _, err := tx.docs.store.Count(context.Background(), projections.Query{DocType: name})
		if err != nil {
			return err
		}
		if n > 0 {
			return newError(ValidationError, "Cannot delete DocType %s: it still has %d documents", name, n)
		}
	}
	for _, other := range tx.docs.store.Registry().All() {
		for _, f := range other.Fields {
			if (f.Kind() == meta.KindTable || f.Fieldtype == meta.Link) && f.Options == name && other.Name != name {
				return &Error{Exc: LinkExistsError, Msg: fmt.Sprintf("Cannot delete DocType %s: field %s of %s refers to it", name, f.Fieldname, other.Name)}
			}
		}
	}
	return nil
}

// nameField stands for the name in name claims.
var nameField = &meta.Field{Fieldname: meta.FieldName, Label: "Name"}

// claimsNames reports whether a doctype's names come from users or data
// (Prompt, field:, format:, series): such names are claimed case-folded,
// so that "ACME" and "acme" cannot both exist, as on Frappe's MariaDB.
// Random and autoincrement names cannot differ only by case.
func claimsNames(d *meta.DocType) bool {
	switch d.Autoname {
	case "", "hash", "autoincrement":
		return false
	}
	return true
}

// resolveName returns the stored name of a document named without regard
// to case ("acme" finds "ACME"), as Frappe's MariaDB lookups do; a name
// that exists as given, or has no match, comes back unchanged.
func (tx *Tx) resolveName(ctx context.Context, d *meta.DocType, name string) (string, error) {
	if !claimsNames(d) {
		return name, nil
	}
	if _, ok := tx.staged[docRef{d.Name, name}]; ok {
		return name, nil
	}
	if ok, err := tx.docs.store.Exists(d.Name, name); err != nil || ok {
		return name, err
	}
	if stored, ok, err := tx.docs.store.FindName(d.Name, name); err != nil || ok {
		return stored, err
	}
	return name, nil
}
