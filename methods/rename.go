package methods

import (
	"context"
	"fmt"
	"strings"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Rename renames a document, as frappe.client.rename_doc does: the old
// subject ends with a rename event (renamed_to), the new one starts with
// the document under its new name (renamed_from), and every Link field
// that named the old name (in documents and in child rows) is pointed at
// the new one, all in this transaction. With merge the document is folded
// into an existing one of the new name: the old one ends and the links
// move.
func (tx *Tx) Rename(ctx context.Context, doctype, oldName, newName string, merge bool) (string, error) {
	if err := tx.writable(); err != nil {
		return "", err
	}
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return "", err
	}
	switch {
	case d.IsTable, d.IsSingle, d.Core, doctype == "DocType":
		return "", newError(ValidationError, "%s documents cannot be renamed", doctype)
	case doctype == "User":
		// A user's password, keys and sessions are kept under its name.
		return "", newError(ValidationError, "Users cannot be renamed yet: create the new user and disable the old one")
	case !d.AllowRename:
		return "", newError(ValidationError, "%s does not allow renaming (allow_rename is off)", doctype)
	case d.Autoname == "autoincrement":
		return "", newError(ValidationError, "%s is named by autoincrement: its documents cannot be renamed", doctype)
	}
	newName = strings.TrimSpace(newName)
	if err := checkName(d, newName); err != nil {
		return "", err
	}
	if oldName, err = tx.resolveName(ctx, d, oldName); err != nil {
		return "", err
	}
	orig, oldHead, err := tx.read(ctx, doctype, oldName)
	if err != nil {
		return "", err
	}
	if orig == nil {
		return "", NotFound(doctype, oldName)
	}
	if err := tx.checkPrivileged(d, oldName, orig, orig, false); err != nil {
		return "", err
	}
	if err := tx.can(ctx, d, PermWrite, orig); err != nil {
		return "", err
	}
	if oldName == newName {
		return "", newError(ValidationError, "Please select a new name to rename")
	}
	target, newHead, err := tx.read(ctx, doctype, newName)
	if err != nil {
		return "", err
	}
	switch {
	case merge && target == nil:
		return "", newError(ValidationError, "%s %s does not exist: there is nothing to merge into", doctype, newName)
	case !merge && target != nil:
		return "", &Error{Exc: DuplicateEntryError, Title: "Duplicate Name",
			Msg: fmt.Sprintf("Another %s with name %s exists, select another name", doctype, newName)}
	case merge:
		if err := tx.can(ctx, d, PermWrite, target); err != nil {
			return "", err
		}
	}
	if claimsNames(d) {
		if err := tx.claim(ctx, d, nameField, query.FoldKey(oldName), oldName, true); err != nil {
			return "", err
		}
		if !merge {
			if err := tx.claim(ctx, d, nameField, query.FoldKey(newName), newName, false); err != nil {
				return "", err
			}
		}
	}
	if !merge {
		doc := cloneDoc(orig)
		doc[meta.FieldName] = newName
		for _, r := range tx.linksTo(d.Name) {
			if r.doctype == d.Name { // its own links to its old name
				relinkIn(doc, r, d.Name, oldName, newName)
			}
		}
		now := timestampAfter(tx.Now(), orig[meta.FieldModified])
		doc[meta.FieldModified] = now
		doc[meta.FieldModifiedBy] = tx.user
		tx.stampRows(d, doc, newName, now)
		// Unique values move to the new name: release, then claim.
		if err := tx.claimUniques(ctx, d, orig, nil, oldName); err != nil {
			return "", err
		}
		if err := tx.claimUniques(ctx, d, nil, doc, newName); err != nil {
			return "", err
		}
		if err := tx.putRename(doctype, newName, newHead, nil, doc, oldName, ""); err != nil {
			return "", err
		}
	} else if err := tx.claimUniques(ctx, d, orig, nil, oldName); err != nil {
		return "", err
	}
	if err := tx.putRename(doctype, oldName, oldHead, orig, nil, "", newName); err != nil {
		return "", err
	}
	if err := tx.moveAttachments(ctx, doctype, oldName, newName); err != nil {
		return "", err
	}
	return newName, tx.relink(ctx, d, oldName, newName)
}

// putRename stages one half of a rename: the new subject's first version
// (from set) or the old subject's end (to set).
func (tx *Tx) putRename(doctype, name string, head projections.Head, orig, doc map[string]any, from, to string) error {
	return tx.putEvent(doctype, name, eventlog.Rename, orig, head, doc, from, to)
}
