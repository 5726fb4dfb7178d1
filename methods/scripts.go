package methods

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"docket/methods/script"
	"docket/projections"
	"docket/projections/meta"
)

// Server Scripts are documents of doctype "Server Script" (Frappe's
// fields), run in Starlark by package script: script_type "API" defines a
// whitelisted method at api_method; "DocType Event" runs on an event of
// reference_doctype (doctype_event, with Frappe's labels). Scripts are
// compiled once per version of the Server Script documents.

// eventOfLabel maps Frappe's doctype_event labels to document events.
var eventOfLabel = map[string]Event{
	"Before Insert":                    BeforeInsert,
	"Before Validate":                  BeforeValidate,
	"Before Save":                      Validate,
	"After Insert":                     AfterInsert,
	"After Save":                       OnUpdate,
	"Before Submit":                    BeforeSubmit,
	"After Submit":                     OnSubmit,
	"Before Cancel":                    BeforeCancel,
	"After Cancel":                     OnCancel,
	"Before Delete":                    OnTrash,
	"After Delete":                     AfterDelete,
	"Before Save (Submitted Document)": BeforeUpdateAfterSubmit,
	"After Save (Submitted Document)":  OnUpdateAfterSubmit,
}

// ScriptLimits bounds every server script run; change it before serving.
var ScriptLimits = script.Options{MaxSteps: 10_000_000, Timeout: 5 * time.Second}

// serverScript is a compiled Server Script.
type serverScript struct {
	name       string
	allowGuest bool
	prog       *script.Program
	err        error // the script does not compile
}

// scripts caches the compiled Server Scripts.
type scripts struct {
	mu      sync.Mutex
	loaded  bool
	version uint64
	api     map[string]*serverScript
	events  map[string]map[Event][]*serverScript
}

// load returns the compiled scripts, reloading them when Server Script
// documents changed.
func (d *Docs) loadScripts(ctx context.Context) (*scripts, error) {
	s := &d.scripts
	s.mu.Lock()
	defer s.mu.Unlock()
	version := d.store.Changes("Server Script")
	if s.loaded && s.version == version {
		return s, nil
	}
	if d.store.Registry().Get("Server Script") == nil {
		return s, nil // not bootstrapped yet
	}
	res, err := d.store.List(ctx, projections.Query{DocType: "Server Script", Fields: nil, Limit: 0})
	if err != nil {
		return nil, err
	}
	s.api = map[string]*serverScript{}
	s.events = map[string]map[Event][]*serverScript{}
	for _, row := range res.Rows {
		name := projections.NameString(row[0])
		rec, err := d.store.Get("Server Script", name)
		if err != nil {
			continue
		}
		doc := rec.Doc
		if flagOf(doc["disabled"]) {
			continue
		}
		ss := &serverScript{name: name, allowGuest: flagOf(doc["allow_guest"])}
		ss.prog, ss.err = script.Compile(name, stringOf(doc["script"]))
		switch stringOf(doc["script_type"]) {
		case "API":
			if m := stringOf(doc["api_method"]); m != "" {
				s.api[m] = ss
			}
		case "DocType Event":
			dt := stringOf(doc["reference_doctype"])
			ev, ok := eventOfLabel[stringOf(doc["doctype_event"])]
			if dt == "" || !ok {
				continue
			}
			if s.events[dt] == nil {
				s.events[dt] = map[Event][]*serverScript{}
			}
			s.events[dt][ev] = append(s.events[dt][ev], ss)
		}
	}
	for _, byEvent := range s.events {
		for _, list := range byEvent {
			sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
		}
	}
	s.loaded, s.version = true, version
	return s, nil
}

func flagOf(v any) bool {
	n, _ := v.(int64)
	return n != 0
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// apiScript finds the enabled API script serving a method name.
func (d *Docs) apiScript(ctx context.Context, method string) (*serverScript, bool, error) {
	s, err := d.loadScripts(ctx)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.api[method]
	return ss, ok, nil
}

// runAPIScript runs an API script as a method call.
func (d *Docs) runAPIScript(ctx context.Context, ss *serverScript, c *Call) (any, error) {
	if ss.err != nil {
		return nil, scriptError(ss.err)
	}
	res, msgs, err := ss.prog.RunAPI(ctx, scriptEnv{d: d, tx: c.Tx}, c.Args, ScriptLimits)
	c.messages = append(c.messages, msgs...)
	if err != nil {
		return nil, scriptError(err)
	}
	return res, nil
}

// runScripts runs the DocType Event scripts of an event.
func (d *Docs) runScripts(ctx context.Context, tx *Tx, doctype string, event Event, doc map[string]any) error {
	s, err := d.loadScripts(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	list := s.events[doctype][event]
	s.mu.Unlock()
	for _, ss := range list {
		if ss.err != nil {
			return scriptError(ss.err)
		}
		msgs, err := ss.prog.RunDocEvent(ctx, scriptEnv{d: d, tx: tx}, doctype, doc, ScriptLimits)
		tx.messages = append(tx.messages, msgs...)
		if err != nil {
			return scriptError(err)
		}
	}
	return nil
}

// scriptError reports a script's failure as a Frappe error: frappe.throw
// as the exception it names; a script that does not compile, fails, or
// runs too long as ServerScriptError with the script's message.
func scriptError(err error) error {
	var te *script.ThrowError
	var le *script.LimitError
	var se *script.ScriptError
	switch {
	case errors.As(err, &te):
		exc := te.Exc
		if exc == "" {
			exc = ValidationError
		}
		return &Error{Exc: exc, Msg: te.Msg, Title: te.Title}
	case errors.As(err, &le):
		return &Error{Exc: ServerScriptError, Msg: le.Msg, Title: "Server Script Stopped"}
	case errors.As(err, &se):
		return &Error{Exc: ServerScriptError, Msg: "Server Script " + se.Script + " failed: " + se.Msg, Title: "Server Script Error"}
	}
	return err // the transaction's own errors pass as they are
}

// checkServerScript validates a Server Script document before it is
// saved: its kind's fields are set and it compiles.
func checkServerScript(_ context.Context, tx *Tx, doc, _ map[string]any) error {
	switch stringOf(doc["script_type"]) {
	case "API":
		if strings.TrimSpace(stringOf(doc["api_method"])) == "" {
			return newError(MandatoryError, "Error: Value missing for Server Script: API Method")
		}
	case "DocType Event":
		if stringOf(doc["reference_doctype"]) == "" || stringOf(doc["doctype_event"]) == "" {
			return newError(MandatoryError, "Error: Value missing for Server Script: Reference Document Type, DocType Event")
		}
		if _, ok := eventOfLabel[stringOf(doc["doctype_event"])]; !ok {
			return newError(ValidationError, "DocType Event %q is not supported", stringOf(doc["doctype_event"]))
		}
	}
	if _, err := script.Compile(stringOf(doc[meta.FieldName]), stringOf(doc["script"])); err != nil {
		return &Error{Exc: ValidationError, Msg: err.Error(), Title: "Invalid Script"}
	}
	return nil
}

// ScriptEnv returns a transaction as scripts see it, for code that runs
// script expressions and templates outside a Server Script (webhook
// conditions and bodies): reads as a Server Script's, writes through tx.
func (d *Docs) ScriptEnv(tx Transaction) script.Env { return scriptEnv{d: d, tx: tx} }

// scriptEnv is a transaction as scripts see it.
type scriptEnv struct {
	d  *Docs
	tx Transaction
}

var _ script.Env = scriptEnv{}

func (e scriptEnv) User() string { return e.tx.User() }

func (e scriptEnv) Now() time.Time { return e.d.opts.Now().In(e.d.opts.Location) }

// Scripts read as Frappe's do in a Server Script: frappe.get_doc,
// frappe.get_all and frappe.db.* without permission checks (scripts are
// written by System Managers, who decide what they show), frappe.get_list
// only what the user may read; writes are checked for the user the script
// runs for, as doc.insert() and doc.save() are.
func (e scriptEnv) unchecked(fn func() error) error {
	if tx, ok := e.tx.(*Tx); ok {
		return tx.IgnorePermissions(fn)
	}
	return fn()
}

func (e scriptEnv) GetDoc(ctx context.Context, doctype, name string) (doc map[string]any, err error) {
	err = e.unchecked(func() error {
		doc, err = e.tx.Get(ctx, doctype, name)
		return err
	})
	return doc, err
}

func (e scriptEnv) Exists(ctx context.Context, doctype, name string) (bool, error) {
	return e.tx.Exists(ctx, doctype, name)
}

func (e scriptEnv) GetList(ctx context.Context, doctype string, args map[string]any) ([]map[string]any, error) {
	var res *projections.Result
	list := func() error {
		var err error
		res, err = e.tx.List(ctx, doctype, args)
		return err
	}
	var err error
	if ignore, _ := args[script.IgnorePermissions].(bool); ignore {
		err = e.unchecked(list)
	} else {
		err = list()
	}
	if err != nil {
		return nil, err
	}
	rows := rowsOf(res, true)
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = r.(map[string]any)
	}
	return out, nil
}

func (e scriptEnv) Count(ctx context.Context, doctype string, filters any) (n int64, err error) {
	err = e.unchecked(func() error {
		n, err = e.tx.Count(ctx, doctype, map[string]any{"filters": filters})
		return err
	})
	return n, err
}

func (e scriptEnv) Insert(ctx context.Context, doctype string, doc map[string]any) (map[string]any, error) {
	return e.tx.Insert(ctx, doctype, doc)
}

func (e scriptEnv) Update(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error) {
	return e.tx.Update(ctx, doctype, name, patch)
}

func (e scriptEnv) SetValue(ctx context.Context, doctype, name string, values map[string]any) (map[string]any, error) {
	return e.tx.SetValue(ctx, doctype, name, values)
}

func (e scriptEnv) Delete(ctx context.Context, doctype, name string) error {
	return e.tx.Delete(ctx, doctype, name)
}
