// Package script runs Frappe "Server Scripts" inside docket.
//
// Frappe lets administrators write server scripts in a restricted Python;
// docket runs the same source as Starlark (go.starlark.net), with a
// predeclared frappe module shaped like the one Frappe's safe_exec offers,
// so that common scripts run with few or no changes.
//
// # Dialect
//
// Scripts are compiled with every Starlark option that brings the language
// closer to Python: if/for/while at top level, while loops, the set
// built-in, reassignment of globals and recursion. Before compiling, a small
// source rewrite (which keeps every line in place) accepts Python spellings
// Starlark lacks: "x is None" / "x is not None" (read as == and !=),
// f-strings (f"{a} {b!r} {c:,.2f}" becomes a str.format call, format specs
// going through Python's format mini-language) and the u"" prefix.
// Besides frappe, scripts see json (dumps, loads), _ (identity, for
// translations), _dict, as_json, and the Python built-ins Starlark lacks:
// sum, round, pow, format and isinstance; DocType Event scripts also see
// doc. Python features with no Starlark equivalent still fail to compile,
// with a hint in the message: try/except/raise, class, import, with, del,
// global, yield, the ** operator; "load" is a keyword, not a name.
//
// # Sandbox
//
// A script reaches the outside world only through the frappe module, which
// in turn only calls the [Env] it was given: there is no file, network,
// clock (beyond Env.Now), sleep or module loading; load statements are
// refused at compile time. Each run gets a fresh thread bounded by
// [Options.MaxSteps] Starlark steps and by [Options.Timeout] of wall clock
// time (or the end of the caller's context), both enforced by cancelling
// the thread, which stops even "while True: pass" within a few steps.
// The call stack is bounded by [MaxCallDepth], checked every few steps, so
// runaway recursion ends in a [ScriptError], not a crash, and a panic
// anywhere in a run (a built-in or the Env) is recovered into a
// ScriptError too.
//
// Steps and time are the only bounds. Memory is not bounded: Starlark's own
// operators allocate as asked ("x" * 10**9, [0] * 10**8, repeated big-int
// multiplication), and the cancellation is only noticed between steps, so
// a single long built-in operation (one huge multiplication, str of a list
// that shares its parts many times over) can overrun the time limit. The
// package's own built-ins cap what they build: format widths and
// precisions and json indents at 65536, json.dumps and as_json output at
// 64 MiB (and they stop when the time is up), str of a _dict at 16 MiB
// (cut short, ending in "..."), pow results at 4 Mbit, conversions of
// script values to data (frappe.response, documents, Env arguments) at 4M
// parts and 100 levels. Values that contain themselves print as {...} or
// [...] and are an error when converted or dumped. The sandbox is
// therefore a guard against mistakes, not against a hostile author: in
// docket only System Managers may write Server Scripts, and their scripts
// are to be treated as trusted code of an administrator.
package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Env is the document API a script reaches; docket's transaction
// implements it. Errors it returns are passed through to the caller of the
// IgnorePermissions is the GetList argument that lists without permission
// checks, as Frappe's get_all and frappe.db.* do.
const IgnorePermissions = "ignore_permissions"

// Run methods unchanged.
type Env interface {
	// User is the session user (frappe.session.user).
	User() string
	// Now is the current time in the site time zone.
	Now() time.Time
	// GetDoc returns a stored document with its child rows.
	GetDoc(ctx context.Context, doctype, name string) (map[string]any, error)
	// Exists reports whether a document exists.
	Exists(ctx context.Context, doctype, name string) (bool, error)
	// GetList runs Frappe's get_list with args keys: fields, filters,
	// or_filters, order_by, group_by, limit_start, limit_page_length (all
	// optional; values as a JSON client would send them: []any,
	// map[string]any, string, int64). Rows are maps. With
	// args[IgnorePermissions] true (frappe.get_all, frappe.db.*, an
	// explicit ignore_permissions=True) the list is not limited to what
	// the user may read.
	GetList(ctx context.Context, doctype string, args map[string]any) ([]map[string]any, error)
	// Count counts the documents matching filters (nil for all).
	Count(ctx context.Context, doctype string, filters any) (int64, error)
	// Insert saves a new document and returns it as saved (with its name).
	Insert(ctx context.Context, doctype string, doc map[string]any) (map[string]any, error)
	// Update applies patch to a stored document and returns it as saved.
	Update(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error)
	// SetValue sets fields of a stored document directly, as Frappe's
	// frappe.db.set_value and doc.db_set do: no hooks, no document
	// validation (values are still converted to the field types), and
	// modified advances. It returns the document as saved.
	SetValue(ctx context.Context, doctype, name string, values map[string]any) (map[string]any, error)
	// Delete deletes a stored document.
	Delete(ctx context.Context, doctype, name string) error
}

// ThrowError is raised by frappe.throw(msg, exc=None, title=None). Exc is
// the Frappe exception class name: "ValidationError" unless the script
// passed another class such as frappe.PermissionError.
type ThrowError struct{ Exc, Msg, Title string }

// Error returns the thrown message.
func (e *ThrowError) Error() string { return e.Msg }

// LimitError reports a script stopped for running too long, in steps or
// in time, or because the caller's context ended; Msg says which and the
// limit. When the context ended, errors.Is finds the context's error.
type LimitError struct {
	Script, Msg string
	cause       error
}

// Error returns Msg.
func (e *LimitError) Error() string { return e.Msg }

// Unwrap returns the context's error when the context stopped the script.
func (e *LimitError) Unwrap() error { return e.cause }

// ScriptError reports a script that failed to compile or raised a runtime
// error other than frappe.throw. Msg carries the Starlark error with its
// file:line:col position (the file being the script's name) and, for a
// runtime error, the innermost frame of the backtrace.
type ScriptError struct{ Script, Msg string }

// Error returns the script name and Msg.
func (e *ScriptError) Error() string { return "Server Script " + e.Script + ": " + e.Msg }

// Options bounds one run. Zero fields take the defaults.
type Options struct {
	MaxSteps uint64        // default 10_000_000 Starlark steps
	Timeout  time.Duration // default 5s of wall clock time
}

// Default limits used for zero [Options] fields.
const (
	DefaultMaxSteps = 10_000_000
	DefaultTimeout  = 5 * time.Second
)

// Program is a compiled script, reusable and safe for concurrent use.
type Program struct {
	name string
	prog *starlark.Program
}

// fileOptions enables every Starlark option that brings it closer to Python.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// predeclaredNames are the globals every script sees besides Starlark's
// universe.
var predeclaredNames = map[string]bool{
	"frappe": true, "json": true, "_": true, "_dict": true, "as_json": true,
	"doc": true, "sum": true, "round": true, "isinstance": true, "format": true, "pow": true,
	fstringFormat: true,
}

// Compile checks the script's syntax and compiles it once. It returns a
// *ScriptError for syntax errors, unknown names and load statements.
func Compile(name, src string) (prog *Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, internalError(name, r)
		}
	}()
	src = rewritePython(src)
	_, compiled, err := starlark.SourceProgramOptions(fileOptions, name, src, func(s string) bool { return predeclaredNames[s] })
	if err != nil {
		return nil, &ScriptError{Script: name, Msg: compileMessage(err)}
	}
	if compiled.NumLoads() > 0 {
		module, pos := compiled.Load(0)
		return nil, &ScriptError{Script: name, Msg: fmt.Sprintf("%s: load(%q) is not allowed: Server Scripts cannot load modules", pos, module)}
	}
	return &Program{name: name, prog: compiled}, nil
}

// internalError is the ScriptError for a recovered panic.
func internalError(script string, r any) *ScriptError {
	return &ScriptError{Script: script, Msg: fmt.Sprintf("internal error: %v", r)}
}

// compileMessage lists every position-carrying compile error, with a
// hint when the script used Python syntax Starlark lacks.
func compileMessage(err error) string {
	var list resolve.ErrorList
	if errors.As(err, &list) {
		msgs := make([]string, len(list))
		for i, e := range list {
			msgs[i] = e.Error()
		}
		return strings.Join(msgs, "\n")
	}
	msg := err.Error()
	for token, hint := range pythonHints {
		if strings.Contains(msg, "got "+token+",") {
			return msg + " (" + hint + ")"
		}
	}
	return msg
}

// pythonHints explain the Python syntax that Starlark rejects, by the
// token the parser reports.
var pythonHints = map[string]string{
	"try":      "Server Scripts run as Starlark, which has no exceptions: use frappe.throw to stop with an error",
	"except":   "Server Scripts run as Starlark, which has no exceptions: use frappe.throw to stop with an error",
	"finally":  "Server Scripts run as Starlark, which has no exceptions: use frappe.throw to stop with an error",
	"raise":    "Server Scripts run as Starlark, which has no exceptions: use frappe.throw to stop with an error",
	"import":   "Server Scripts cannot import modules: frappe, json and frappe.utils are already available",
	"from":     "Server Scripts cannot import modules: frappe, json and frappe.utils are already available",
	"class":    "Server Scripts run as Starlark, which has no classes: use functions and dicts",
	"global":   "Starlark functions cannot reassign globals: return the value instead",
	"nonlocal": "Starlark functions cannot reassign outer variables: return the value instead",
	"del":      "Starlark has no del statement: use dict.pop(key) or list.pop(index)",
	"with":     "Starlark has no with statement",
	"yield":    "Starlark has no generators: build and return a list",
	"'**'":     "Starlark has no ** operator: use pow(x, y)",
}

// RunAPI runs an API script: frappe.form_dict holds args and the result is
// frappe.response["message"] (nil if unset). msgs are the frappe.msgprint
// texts, in order. A panic during the run (in a built-in or the Env) is
// recovered and returned as a *ScriptError "internal error: ...".
func (p *Program) RunAPI(ctx context.Context, env Env, args map[string]any, opts Options) (result any, msgs []string, err error) {
	if env == nil {
		return nil, nil, errors.New("script: RunAPI needs an Env")
	}
	rt := &runtime{ctx: ctx, env: env, script: p.name}
	defer func() {
		if r := recover(); r != nil {
			result, msgs, err = nil, rt.msgs, internalError(p.name, r)
		}
	}()
	formDict, err := toStarlark(args)
	if err != nil {
		return nil, nil, fmt.Errorf("script %s: args: %w", p.name, err)
	}
	if args == nil {
		formDict = newAttrDict()
	}
	predeclared := rt.globals(formDict, starlark.None)
	if err := p.run(rt, predeclared, opts); err != nil {
		return nil, rt.msgs, err
	}
	msg, found, _ := rt.response.Get(starlark.String("message"))
	if !found {
		return nil, rt.msgs, nil
	}
	result, err = toGo(msg)
	if err != nil {
		return nil, rt.msgs, &ScriptError{Script: p.name, Msg: "frappe.response[\"message\"]: " + err.Error()}
	}
	return result, rt.msgs, nil
}

// RunDocEvent runs a DocType Event script with doc bound to the document.
// On success the fields the script changed (including child tables, as
// whole lists) are written back into doc; on any error doc is left as it
// was. A panic during the run is recovered and returned as a *ScriptError
// "internal error: ...".
func (p *Program) RunDocEvent(ctx context.Context, env Env, doctype string, doc map[string]any, opts Options) (msgs []string, err error) {
	if env == nil {
		return nil, errors.New("script: RunDocEvent needs an Env")
	}
	rt := &runtime{ctx: ctx, env: env, script: p.name}
	defer func() {
		if r := recover(); r != nil {
			msgs, err = rt.msgs, internalError(p.name, r)
		}
	}()
	d, err := docFromMap(doctype, doc, isNewMap(doc), false)
	if err != nil {
		return nil, fmt.Errorf("script %s: doc: %w", p.name, err)
	}
	baseline, err := d.fieldsMap()
	if err != nil {
		return nil, fmt.Errorf("script %s: doc: %w", p.name, err)
	}
	predeclared := rt.globals(newAttrDict(), d)
	if err := p.run(rt, predeclared, opts); err != nil {
		return rt.msgs, err
	}
	final, err := d.fieldsMap()
	if err != nil {
		return rt.msgs, &ScriptError{Script: p.name, Msg: "doc: " + err.Error()}
	}
	writeBack(doc, baseline, final)
	return rt.msgs, nil
}

// MaxCallDepth bounds the call stack of a script (Python's default
// recursion limit); deeper recursion fails with a ScriptError.
const MaxCallDepth = 1000

// stepChunk is how often, in steps, the call depth is checked.
const stepChunk = 1000

// stop reasons recorded before the thread is cancelled.
const (
	stopSteps = iota + 1
	stopTimeout
	stopContext
	stopRecursion
)

// run executes the program on a fresh, bounded thread and maps its error.
func (p *Program) run(rt *runtime, predeclared starlark.StringDict, opts Options) error {
	return rt.bounded(p.name, opts, func(thread *starlark.Thread) error {
		_, err := p.prog.Init(thread, predeclared)
		return err
	})
}

// bounded runs exec on a fresh thread bounded by opts (steps, time, the
// run's context and call depth) and maps its error: a *LimitError, a
// *ThrowError, the Env's own error, or a *ScriptError naming script.
func (rt *runtime) bounded(script string, opts Options, exec func(thread *starlark.Thread) error) error {
	if opts.MaxSteps == 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if rt.ctx == nil {
		rt.ctx = context.Background()
	}
	var reason atomic.Int32
	thread := &starlark.Thread{
		Name:  script,
		Print: func(*starlark.Thread, string) {},
		Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
			return nil, fmt.Errorf("load(%q) is not allowed: Server Scripts cannot load modules", module)
		},
	}
	// The interpreter calls OnMaxSteps on this goroutine whenever the
	// thread reaches its step budget. The budget is handed out in chunks so
	// that the call depth is checked every stepChunk steps; only when the
	// script's own limit is reached is the thread stopped for steps.
	thread.OnMaxSteps = func(t *starlark.Thread) {
		switch {
		case t.Steps >= opts.MaxSteps:
			reason.CompareAndSwap(0, stopSteps)
			t.Cancel("step limit")
		case t.CallStackDepth() > MaxCallDepth:
			reason.CompareAndSwap(0, stopRecursion)
			t.Cancel("recursion limit")
		default:
			t.SetMaxExecutionSteps(min(opts.MaxSteps, t.Steps+stepChunk))
		}
	}
	thread.SetMaxExecutionSteps(min(opts.MaxSteps, stepChunk))
	thread.SetLocal(runtimeKey, rt)
	rt.thread = thread

	if err := rt.ctx.Err(); err != nil {
		return limitError(script, stopContext, opts, err)
	}
	timer := time.AfterFunc(opts.Timeout, func() {
		reason.CompareAndSwap(0, stopTimeout)
		rt.stopped.Store(true)
		thread.Cancel("timeout")
	})
	defer timer.Stop()
	stopCtx := context.AfterFunc(rt.ctx, func() {
		reason.CompareAndSwap(0, stopContext)
		rt.stopped.Store(true)
		thread.Cancel("context done")
	})
	defer stopCtx()
	err := exec(thread)
	if err == nil {
		return nil
	}
	switch r := reason.Load(); r {
	case 0:
	case stopRecursion:
		msg := fmt.Sprintf("maximum recursion depth exceeded (%d calls)", MaxCallDepth)
		var ev *starlark.EvalError
		if errors.As(err, &ev) && len(ev.CallStack) > 0 {
			msg = fmt.Sprintf("%s: %s", ev.CallStack[len(ev.CallStack)-1].Pos, msg)
		}
		return &ScriptError{Script: script, Msg: msg}
	default:
		return limitError(script, int(r), opts, rt.ctx.Err())
	}
	return mapError(script, err)
}

// limitError builds the LimitError for a stop reason.
func limitError(script string, r int, opts Options, ctxErr error) error {
	e := &LimitError{Script: script}
	switch r {
	case stopSteps:
		e.Msg = fmt.Sprintf("Server Script %s stopped: it ran more than %d steps", script, opts.MaxSteps)
	case stopTimeout:
		e.Msg = fmt.Sprintf("Server Script %s stopped: it ran longer than %s", script, opts.Timeout)
	default:
		e.cause = ctxErr
		e.Msg = fmt.Sprintf("Server Script %s stopped: %v", script, ctxErr)
	}
	return e
}

// mapError turns a failed run's error into ThrowError, the Env's own error
// or a ScriptError.
func mapError(script string, err error) error {
	var te *ThrowError
	if errors.As(err, &te) {
		return te
	}
	var ee *envError
	if errors.As(err, &ee) {
		return ee.err
	}
	var ev *starlark.EvalError
	if errors.As(err, &ev) {
		return &ScriptError{Script: script, Msg: evalMessage(ev)}
	}
	return &ScriptError{Script: script, Msg: err.Error()}
}

// evalMessage renders a runtime error as "file:line:col: [in fn: ]msg",
// naming the innermost frame of the script and the built-in that failed.
func evalMessage(ev *starlark.EvalError) string {
	stack := ev.CallStack
	builtin := ""
	if n := len(stack); n > 0 && stack[n-1].Pos.Filename() == "<builtin>" {
		builtin = stack[n-1].Name
		stack = stack[:n-1]
	}
	if len(stack) == 0 {
		return ev.Msg
	}
	last := stack[len(stack)-1]
	where := ""
	if last.Name != "<toplevel>" {
		where = "in " + last.Name + ": "
	}
	msg := ev.Msg
	if builtin != "" && !strings.HasPrefix(msg, builtin+":") {
		where += builtin + ": "
	}
	if strings.Contains(msg, "Starlark stack overflow") {
		msg = "maximum recursion depth exceeded (Starlark stack overflow)"
	}
	return fmt.Sprintf("%s: %s%s", last.Pos, where, msg)
}

// envError marks an error returned by the Env so that it reaches the caller
// of the Run methods unchanged.
type envError struct{ err error }

func (e *envError) Error() string { return e.err.Error() }
func (e *envError) Unwrap() error { return e.err }

// runtimeKey is the thread-local key of the run's *runtime.
const runtimeKey = "docket.script.runtime"

// runtime is the state of one run, shared by the frappe module's built-ins.
type runtime struct {
	ctx      context.Context
	env      Env
	script   string
	thread   *starlark.Thread
	msgs     []string
	response *attrDict
	// stopped is set when the run is cancelled for time; the thread
	// notices only between steps, long built-ins poll this.
	stopped atomic.Bool
}

// rtOf returns the run state of thread.
func rtOf(thread *starlark.Thread) *runtime {
	rt, _ := thread.Local(runtimeKey).(*runtime)
	return rt
}

// wrap marks an Env error so that it passes through unchanged.
func (rt *runtime) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &envError{err: err}
}
