package webhooks

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"docket/eventlog"
	"docket/methods/script"
	"docket/projections/meta"
)

// hook is one version of a Webhook, compiled.
type hook struct {
	name, doctype, docevent string
	enabled                 bool
	identity                string
	seq                     eventlog.Seq // of this version
	start                   eventlog.Seq // the first change it delivers (enabled only)
	consumer                string       // its durable consumer (enabled only)

	condition *script.Expr     // nil: always
	url       string           // request_url, or its template's source
	urlTpl    *script.Template // is_dynamic_url
	method    string
	structure string           // "", "Form URL-Encoded" or "JSON"
	body      *script.Template // webhook_json
	data      []dataField      // webhook_data
	headers   [][2]string      // webhook_headers with a key and a value
	secured   bool
	timeout   time.Duration
	err       error // the stored version does not compile: every delivery fails with it
}

// dataField is a row of webhook_data: a document field sent under key.
type dataField struct{ fieldname, key string }

// defaultTimeout is Frappe's default request timeout; maxTimeout (in
// seconds) caps a Webhook's own.
const (
	defaultTimeout = 5 * time.Second
	maxTimeout     = 3600
)

// compile reads a Webhook document.
func compile(name string, doc map[string]any, seq eventlog.Seq) *hook {
	h := &hook{
		name: name, doctype: str(doc["webhook_doctype"]), docevent: str(doc["webhook_docevent"]),
		enabled: flag(doc["enabled"]), identity: identity(doc), seq: seq,
		url: strings.TrimSpace(str(doc["request_url"])), method: str(doc["request_method"]),
		structure: str(doc["request_structure"]), secured: flag(doc["enable_security"]), timeout: defaultTimeout,
	}
	if h.method == "" {
		h.method = "POST"
	}
	if t, _ := doc["timeout"].(int64); t > 0 {
		h.timeout = time.Duration(min(t, maxTimeout)) * time.Second
	}
	for _, r := range meta.Rows(doc["webhook_headers"]) {
		if k, v := strings.TrimSpace(str(r["key"])), str(r["value"]); k != "" && v != "" {
			h.headers = append(h.headers, [2]string{k, v})
		}
	}
	for _, r := range meta.Rows(doc["webhook_data"]) {
		h.data = append(h.data, dataField{fieldname: str(r["fieldname"]), key: str(r["key"])})
	}
	fail := func(what string, err error) {
		if h.err == nil {
			h.err = fmt.Errorf("%s: %s", what, scriptMessage(err))
		}
	}
	var err error
	if c := strings.TrimSpace(str(doc["condition"])); c != "" {
		if h.condition, err = script.CompileExpr("condition", c); err != nil {
			fail("condition", err)
		}
	}
	if flag(doc["is_dynamic_url"]) {
		if h.urlTpl, err = script.CompileTemplate("request_url", h.url); err != nil {
			fail("request_url", err)
		}
	}
	if j := str(doc["webhook_json"]); strings.TrimSpace(j) != "" && (h.structure == "JSON" || h.structure == "" && len(h.data) == 0) {
		if h.body, err = script.CompileTemplate("webhook_json", j); err != nil {
			fail("webhook_json", err)
		}
	}
	return h
}

// Frappe's doc events.
const (
	afterInsert         = "after_insert"
	onUpdate            = "on_update"
	onSubmit            = "on_submit"
	onCancel            = "on_cancel"
	onTrash             = "on_trash"
	onUpdateAfterSubmit = "on_update_after_submit"
	onChange            = "on_change"
)

// docEvents returns the Frappe doc events an event of the log stands for,
// as Frappe runs them on a save: an insert is after_insert and on_update
// (and on_submit when inserted submitted); a change of a draft on_update,
// of a submitted document on_update_after_submit; a submit on_update and
// on_submit; a cancel on_cancel; a delete on_trash. on_change is every
// change but an insert or a delete, as Frappe's webhooks see it, and the
// arrival of a renamed document under its new name.
func docEvents(ev *eventlog.Event) []string {
	ds, _ := ev.Doc[meta.FieldDocstatus].(int64)
	switch ev.Type {
	case eventlog.Insert:
		if ds == 1 {
			return []string{afterInsert, onUpdate, onSubmit}
		}
		return []string{afterInsert, onUpdate}
	case eventlog.Update:
		switch ds {
		case 0:
			return []string{onUpdate, onChange}
		case 1:
			return []string{onUpdateAfterSubmit, onChange}
		}
		return []string{onChange}
	case eventlog.Submit:
		return []string{onUpdate, onSubmit, onChange}
	case eventlog.Cancel:
		return []string{onCancel, onChange}
	case eventlog.Delete:
		return []string{onTrash}
	case eventlog.Rename:
		if ev.RenamedFrom != "" && ev.Doc != nil {
			return []string{onChange}
		}
	}
	return nil
}

// fires reports whether the Webhook's doc event is one of ev's.
func (h *hook) fires(ev *eventlog.Event) bool {
	return slices.Contains(docEvents(ev), h.docevent)
}

// scriptMessage is the message of a script error without its "Server
// Script" prefix.
func scriptMessage(err error) string {
	if se, ok := err.(*script.ScriptError); ok {
		return se.Msg
	}
	if le, ok := err.(*script.LimitError); ok {
		return strings.Replace(le.Msg, "Server Script ", "", 1)
	}
	return err.Error()
}
