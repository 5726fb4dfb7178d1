package methods

import (
	"context"
	"net/url"
	"strings"

	"docket/methods/script"
	"docket/projections/meta"
)

// Webhooks are documents of doctype "Webhook" (Frappe's fields); package
// methods/webhooks delivers them from the log. Here they are checked
// before they are saved, as Frappe's Webhook.validate does.

// WebhookLogDocType is the doctype of the record of each delivery
// attempt. Webhooks on it would feed themselves.
const WebhookLogDocType = "Webhook Request Log"

// submitEvents are the doc events that need a submittable doctype.
var submitEvents = map[string]bool{"on_submit": true, "on_cancel": true, "on_update_after_submit": true}

// webhookBeforeValidate keeps the one body the request structure uses,
// as Frappe does: a JSON webhook has no field table, a form one no JSON.
func webhookBeforeValidate(_ *Tx, doc, _ map[string]any) {
	switch stringOf(doc["request_structure"]) {
	case "Form URL-Encoded":
		delete(doc, "webhook_json")
	case "JSON":
		doc["webhook_data"] = []any{}
	}
	if u, ok := doc["request_url"].(string); ok {
		doc["request_url"] = strings.TrimSpace(u)
	}
}

// checkWebhook refuses a Webhook that could never be delivered.
func checkWebhook(_ context.Context, tx *Tx, doc, _ map[string]any) error {
	name := stringOf(doc[meta.FieldName])
	dt := stringOf(doc["webhook_doctype"])
	target := tx.metaOf(dt)
	switch {
	case target == nil:
		return newError(LinkValidationError, "Could not find DocType: %s", dt)
	case dt == WebhookLogDocType:
		return newError(ValidationError, "A Webhook cannot watch %s: every delivery would trigger another", dt)
	case target.IsTable:
		return newError(ValidationError, "%s is a child table: its rows change with their parent document; watch the parent's DocType", dt)
	case submitEvents[stringOf(doc["webhook_docevent"])] && !target.IsSubmittable:
		return newError(ValidationError, "DocType must be Submittable for the selected Doc Event")
	}
	if cond := strings.TrimSpace(stringOf(doc["condition"])); cond != "" {
		if _, err := script.CompileExpr("condition", cond); err != nil {
			return webhookError("Invalid Condition", err)
		}
	}
	rawURL := stringOf(doc["request_url"])
	if flagOf(doc["is_dynamic_url"]) {
		if _, err := script.CompileTemplate("request_url", rawURL); err != nil {
			return webhookError("Check Request URL", err)
		}
	} else if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return newError(ValidationError, "Check Request URL: %q is not an http or https URL", rawURL)
	}
	if t, _ := doc["timeout"].(int64); t < 0 {
		return newError(ValidationError, "Request Timeout cannot be negative")
	}
	if stringOf(doc["request_structure"]) == "JSON" {
		if _, err := script.CompileTemplate("webhook_json", stringOf(doc["webhook_json"])); err != nil {
			return webhookError("Invalid JSON Request Body", err)
		}
	}
	seen := map[string]bool{}
	for _, row := range meta.Rows(doc["webhook_data"]) {
		f := stringOf(row["fieldname"])
		if seen[f] {
			return newError(ValidationError, "Same Field is entered more than once")
		}
		seen[f] = true
		if target.Field(f) == nil && !target.IsStandard(f) {
			return newError(ValidationError, "Webhook Data: %s has no field %q", dt, f)
		}
	}
	if flagOf(doc["enable_security"]) && stringOf(doc["webhook_secret"]) == "" {
		return newError(ValidationError, "Enable Security needs a Webhook Secret (Webhook %s)", name)
	}
	return nil
}

// webhookError reports a condition or template that does not compile.
func webhookError(title string, err error) error {
	msg := err.Error()
	if se, ok := err.(*script.ScriptError); ok {
		msg = se.Msg
	}
	return &Error{Exc: ValidationError, Title: title, Msg: title + ": " + msg}
}
