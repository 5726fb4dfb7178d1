package methods

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Call is one call of a whitelisted method.
type Call struct {
	// User is who calls.
	User string
	// HTTPMethod is the request's verb (GET, POST …).
	HTTPMethod string
	// Args are the request arguments (Frappe's form_dict).
	Args map[string]any
	// Tx is the call's transaction: its writes commit when the call
	// succeeds on POST, PUT, PATCH or DELETE; on GET they fail.
	Tx Transaction

	messages []string
}

// Msgprint adds a message for the user (Frappe's frappe.msgprint): it
// reaches the client in _server_messages.
func (c *Call) Msgprint(msg string) { c.messages = append(c.messages, msg) }

// Handler implements a whitelisted method; its result becomes the
// response's "message".
type Handler func(ctx context.Context, c *Call) (any, error)

// MethodOptions are a method's whitelist options (Frappe's
// @frappe.whitelist arguments).
type MethodOptions struct {
	// AllowGuest lets Guest call the method.
	AllowGuest bool
	// Methods are the HTTP verbs allowed; default GET, POST, PUT, DELETE.
	Methods []string
	// LocalOnly keeps the method off NATS: only this process's HTTP API
	// calls it (for methods that hold secrets, such as generate_keys).
	LocalOnly bool
}

// Method is a registered whitelisted method.
type Method struct {
	Name    string
	Options MethodOptions
	Handler Handler
}

// check refuses Guest on a method that does not allow guests, and verbs
// the method does not accept (Frappe's 403s).
func (m *Method) check(user, verb string) error {
	if !m.Options.AllowGuest && user == Guest {
		return &Error{Exc: PermissionError, Title: "Method Not Allowed",
			Msg: "<details><summary>You are not permitted to access this resource.</summary>Function <strong>" +
				m.Name + "</strong> is not whitelisted.</details>"}
	}
	if !m.Allows(verb) {
		return &Error{Exc: PermissionError, Title: "Not Permitted", Msg: "Not permitted: " + m.Name + " does not accept " + verb}
	}
	return nil
}

// Allows reports whether an HTTP verb may call the method.
func (m *Method) Allows(verb string) bool {
	allowed := m.Options.Methods
	if len(allowed) == 0 {
		allowed = []string{"GET", "POST", "PUT", "DELETE"}
	}
	return slices.Contains(allowed, strings.ToUpper(verb))
}

// Registry maps dotted method names to whitelisted methods.
type Registry struct {
	mu sync.RWMutex
	m  map[string]*Method
}

// NewRegistry returns an empty registry (a worker's); a docket node adds
// the built-ins with RegisterBuiltins.
func NewRegistry() *Registry {
	return &Registry{m: map[string]*Method{}}
}

// Register adds (or replaces) a method.
func (r *Registry) Register(name string, opts MethodOptions, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[name] = &Method{Name: name, Options: opts, Handler: h}
}

// Lookup finds a method by its dotted name.
func (r *Registry) Lookup(name string) (*Method, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.m[name]
	return m, ok
}

// Names lists the registered methods.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
