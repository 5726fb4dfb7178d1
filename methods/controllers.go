package methods

import (
	"context"
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
	// check runs after validation (orig is nil for a new document) and
	// may refuse the save.
	check func(ctx context.Context, tx *Tx, doc, orig map[string]any) error
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
	"OAuth Client":  {check: checkOAuthClient},
	"File":          {check: checkFile},
	"Version":       {check: checkVersion},
	"Webhook":       {beforeValidate: webhookBeforeValidate, check: checkWebhook},
	"Role": {
		onTrash: func(tx *Tx, name string) error {
			if isStandardRole(name) {
				return newError(ValidationError, "Standard Role %s cannot be deleted", name)
			}
			return nil
		},
	},
}

// minClientSecret is the shortest OAuth client secret: it also signs the
// client's ID tokens (HS256), whose key must have at least 256 bits
// (RFC 7518 §3.2), and a signed token lets anyone guess it offline.
const minClientSecret = 32

// checkOAuthClient refuses a client secret too short to be a signing key.
func checkOAuthClient(_ context.Context, tx *Tx, _, _ map[string]any) error {
	for _, s := range tx.secrets {
		if s.doctype == "OAuth Client" && s.field == "client_secret" && s.value != "" && len(s.value) < minClientSecret {
			return newError(ValidationError, "App Client Secret must be at least %d characters (use a random one)", minClientSecret)
		}
	}
	return nil
}
