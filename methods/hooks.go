package methods

import (
	"context"
	"errors"
	"sync"

	"docket/eventlog"
)

// Event names a point of a document's write path where hooks run
// (Frappe's controller methods and doc_events).
type Event string

// Document events, in the order a write passes them.
const (
	BeforeInsert            Event = "before_insert"              // a new document, before it is named
	BeforeValidate          Event = "before_validate"            // every save, before validation
	Validate                Event = "validate"                   // every save, after validation
	BeforeSave              Event = "before_save"                // every save of a draft, last chance to change it
	BeforeSubmit            Event = "before_submit"              // docstatus 0 → 1
	BeforeCancel            Event = "before_cancel"              // docstatus 1 → 2
	BeforeUpdateAfterSubmit Event = "before_update_after_submit" // a submitted document changes
	AfterInsert             Event = "after_insert"               // a new document, staged
	OnUpdate                Event = "on_update"                  // every save of a draft, staged
	OnSubmit                Event = "on_submit"                  // staged as submitted
	OnCancel                Event = "on_cancel"                  // staged as cancelled
	OnUpdateAfterSubmit     Event = "on_update_after_submit"     // a submitted document's change, staged
	OnTrash                 Event = "on_trash"                   // before a delete
	AfterDelete             Event = "after_delete"               // a delete, staged
)

// maxHookDepth bounds how deep hooks may nest (a hook's save runs hooks).
const maxHookDepth = 8

// Hook runs at one event of one doctype's write path, inside the
// transaction: it may change doc (before the document is staged), read
// and write other documents through tx (they commit together), or refuse
// the write by returning an error (an *Error, such as a ValidationError;
// other errors are reported as ValidationError too). For on_trash and
// after_delete, doc is the document being deleted.
type Hook func(ctx context.Context, tx Transaction, doc map[string]any) error

// hooks is the table of hooks by doctype and event.
type hooks struct {
	mu sync.RWMutex
	m  map[string]map[Event][]Hook
}

// On registers a hook for a doctype's event ("*" for every doctype).
// Hooks run in the process that commits the transaction, in the order they
// were registered; "*" hooks after the doctype's own.
func (d *Docs) On(doctype string, event Event, h Hook) {
	d.hooks.mu.Lock()
	defer d.hooks.mu.Unlock()
	if d.hooks.m == nil {
		d.hooks.m = map[string]map[Event][]Hook{}
	}
	if d.hooks.m[doctype] == nil {
		d.hooks.m[doctype] = map[Event][]Hook{}
	}
	d.hooks.m[doctype][event] = append(d.hooks.m[doctype][event], h)
}

// run runs the Go hooks and then the server scripts registered for an
// event of a doctype.
func (tx *Tx) run(ctx context.Context, doctype string, event Event, doc map[string]any) error {
	if tx.system {
		return nil
	}
	// A hook that saves documents runs hooks in turn; one that saves its
	// own document would never end.
	if tx.hookDepth >= maxHookDepth {
		return newError(ValidationError, "Hooks of %s nest more than %d deep: a hook or script keeps saving documents whose hooks save again (use frappe.db.set_value, which runs no hooks)", doctype, maxHookDepth)
	}
	tx.hookDepth++
	defer func() { tx.hookDepth-- }()
	tx.docs.hooks.mu.RLock()
	list := append(append([]Hook(nil), tx.docs.hooks.m[doctype][event]...), tx.docs.hooks.m["*"][event]...)
	tx.docs.hooks.mu.RUnlock()
	for _, h := range list {
		if err := h(ctx, tx, doc); err != nil {
			return asFrappeError(err)
		}
	}
	return tx.docs.runScripts(ctx, tx, doctype, event, doc)
}

// asFrappeError reports a hook's plain error as a ValidationError;
// Frappe errors, lost races and cancellations pass unchanged.
func asFrappeError(err error) error {
	var fe *Error
	if errors.As(err, &fe) || errors.Is(err, eventlog.ErrConflict) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Exc: ValidationError, Msg: err.Error()}
}
