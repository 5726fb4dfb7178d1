package methods

import (
	"errors"
	"fmt"
	"slices"

	"docket/projections"
	"docket/projections/meta"
)

// SystemManager is the role that administers users, roles and DocTypes.
const SystemManager = "System Manager"

// HasRole reports whether user has role (the Administrator has every
// role).
func (d *Docs) HasRole(user, role string) (bool, error) {
	if user == Administrator {
		return true, nil
	}
	rec, err := d.store.Get("User", user)
	if errors.Is(err, projections.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range meta.Rows(rec.Doc["roles"]) {
		if r["role"] == role {
			return true, nil
		}
	}
	return false, nil
}

// privilegedUserFields are the User fields only a System Manager may
// change, even on their own User document.
// A user changes its own password with update_password, which asks for
// the old one: a stolen session alone must not be enough.
var privilegedUserFields = []string{"roles", "enabled", "user_type", "api_key", "email", "username", "role_profile_name", "new_password"}

// checkPrivileged guards what must not wait for role permissions: only a
// System Manager (or the Administrator) may write DocTypes, Roles, Server
// Scripts, Webhooks and other users' User documents, and change
// privileged fields of their own.
// This holds whatever DocPerm rows a System Manager grants: those rows
// decide everything else.
func (tx *Tx) checkPrivileged(d *meta.DocType, name string, orig, patch map[string]any, deleting bool) error {
	if tx.system || tx.user == Administrator {
		return nil
	}
	switch d.Name {
	case "DocType", "Role", "Server Script": // a script runs as whoever triggers it
	case "Webhook": // it sends documents anywhere
	case "User":
		if name == tx.user && !deleting && orig != nil {
			touches := false
			for _, k := range privilegedUserFields {
				if v, has := patch[k]; has && !sameValue(k, v, orig[k]) {
					touches = true
				}
			}
			if !touches {
				return nil
			}
		}
	default:
		return nil
	}
	ok, err := tx.docs.HasRole(tx.user, SystemManager)
	if err != nil || ok {
		return err
	}
	return &Error{Exc: PermissionError, Title: "Not Permitted",
		Msg: "Not permitted: only a System Manager may change " + d.Name + " documents" + whose(d.Name, name)}
}

func whose(doctype, name string) string {
	if name == "" || doctype != "User" {
		return ""
	}
	return " (" + name + ")"
}

// standardRoles cannot be deleted.
func isStandardRole(name string) bool { return slices.Contains(StandardRoles, name) }

// sameValue reports whether a patch value leaves a stored one as it is
// (a whole document sent back unchanged, as frappe.client.save does).
func sameValue(field string, patch, stored any) bool {
	if field == "roles" {
		var a, b []string
		for _, r := range meta.Rows(patch) {
			a = append(a, fmt.Sprint(r["role"]))
		}
		for _, r := range meta.Rows(stored) {
			b = append(b, fmt.Sprint(r["role"]))
		}
		return slices.Equal(a, b)
	}
	empty := func(v any) bool { return v == nil || v == "" || (field == "new_password" && v == passwordMask) }
	if empty(patch) && empty(stored) {
		return true
	}
	return fmt.Sprint(patch) == fmt.Sprint(stored)
}
