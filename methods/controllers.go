package methods

import (
	"strings"
)

// controller holds the Go rules of a built-in doctype, as a Frappe
// DocType's Python controller does.
type controller struct {
	// beforeInsert runs on a new document before it is named.
	beforeInsert func(tx *Tx, doc map[string]any)
	// beforeValidate runs on every save before validation.
	beforeValidate func(tx *Tx, doc, orig map[string]any)
	// onTrash runs before a delete and may refuse it.
	onTrash func(tx *Tx, name string) error
	// check runs after validation and may refuse the save.
	check func(tx *Tx, doc map[string]any) error
}

var controllers = map[string]controller{
	"User": {
		beforeInsert: func(tx *Tx, doc map[string]any) {
			if e, ok := doc["email"].(string); ok {
				doc["email"] = strings.ToLower(strings.TrimSpace(e))
			}
		},
		beforeValidate: func(tx *Tx, doc, orig map[string]any) {
			var parts []string
			for _, k := range []string{"first_name", "middle_name", "last_name"} {
				if s, _ := doc[k].(string); strings.TrimSpace(s) != "" {
					parts = append(parts, strings.TrimSpace(s))
				}
			}
			doc["full_name"] = strings.Join(parts, " ")
		},
		onTrash: func(tx *Tx, name string) error {
			if name == Administrator || name == Guest {
				return newError(ValidationError, "User %s cannot be deleted", name)
			}
			return nil
		},
	},
	"Server Script": {check: checkServerScript},
	"Role": {
		onTrash: func(tx *Tx, name string) error {
			if isStandardRole(name) {
				return newError(ValidationError, "Standard Role %s cannot be deleted", name)
			}
			return nil
		},
	},
}
