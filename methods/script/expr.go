package script

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
)

// Expressions and templates are the small cousins of scripts that Frappe
// evaluates with safe_eval and render_template: a Webhook's condition
// (doc.status == "Open") and its JSON body ({"id": "{{ doc.name }}"}).
// They see what scripts see (frappe, json, the Python built-ins), doc
// (frozen: they cannot change it), utils (frappe.utils) and Jinja's
// true, false and none, and run with the same bounds.

// exprNames are the globals an expression or template field may name
// besides Starlark's universe.
var exprNames = func() map[string]bool {
	m := map[string]bool{"utils": true, "true": true, "false": true, "none": true}
	for k := range predeclaredNames {
		m[k] = true
	}
	for k := range templateFilters {
		m[filterPrefix+k] = true
	}
	return m
}()

// Expr is a compiled Python expression, reusable and safe for concurrent
// use.
type Expr struct {
	name, src string // src rewritten to Starlark
}

// CompileExpr checks a Python expression's syntax and the names it uses.
// It returns a *ScriptError naming the problem.
func CompileExpr(name, src string) (*Expr, error) {
	src = rewritePython(strings.TrimSpace(src))
	if err := checkExpr(name, src); err != nil {
		return nil, err
	}
	return &Expr{name: name, src: src}, nil
}

// checkExpr parses and resolves one (rewritten) expression.
func checkExpr(name, src string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = internalError(name, r)
		}
	}()
	expr, err := fileOptions.ParseExpr(name, src, 0)
	if err == nil {
		_, err = resolve.ExprOptions(fileOptions, expr, func(s string) bool { return exprNames[s] }, starlark.Universe.Has)
	}
	if err != nil {
		return &ScriptError{Script: name, Msg: compileMessage(err)}
	}
	return nil
}

// Truth evaluates the expression with doc bound to a frozen document of
// doctype and reports whether the result is true as Python sees it
// (None, 0, "" and empty containers are false). Errors are those of a
// script run: *ScriptError, *LimitError, *ThrowError or the Env's own.
func (e *Expr) Truth(ctx context.Context, env Env, doctype string, doc map[string]any, opts Options) (ok bool, err error) {
	err = evaluate(ctx, env, e.name, doctype, doc, opts, func(thread *starlark.Thread, g starlark.StringDict) error {
		v, err := starlark.EvalOptions(fileOptions, thread, e.name, e.src, g)
		if err == nil {
			ok = bool(v.Truth())
		}
		return err
	})
	return ok, err
}

// evaluate builds the globals of an expression run and runs fn bounded.
func evaluate(ctx context.Context, env Env, name, doctype string, doc map[string]any, opts Options,
	fn func(thread *starlark.Thread, g starlark.StringDict) error) (err error) {
	if env == nil {
		return errors.New("script: an expression needs an Env")
	}
	rt := &runtime{ctx: ctx, env: env, script: name}
	defer func() {
		if r := recover(); r != nil {
			err = internalError(name, r)
		}
	}()
	var dv starlark.Value = starlark.None
	if doc != nil {
		d, err := docFromMap(doctype, doc, isNewMap(doc), false)
		if err != nil {
			return fmt.Errorf("script %s: doc: %w", name, err)
		}
		d.Freeze()
		dv = d
	}
	g := rt.globals(newAttrDict(), dv)
	g["utils"] = utilsModule()
	// Jinja's spellings of the constants.
	g["true"], g["false"], g["none"] = starlark.True, starlark.False, starlark.None
	for k, f := range templateFilters {
		g[filterPrefix+k] = starlark.NewBuiltin(k, f)
	}
	return rt.bounded(name, opts, func(thread *starlark.Thread) error { return fn(thread, g) })
}

// Template is a compiled Jinja-style template: text with {{ expression }}
// fields, each an expression as [CompileExpr] takes it followed by
// optional filters (| tojson, | default("x"), ...), {# comments #}, and
// Jinja's whitespace control ({{- and -}}). Statements ({% if %},
// {% for %}) are not supported. A field renders as Python's str() of its
// value (None as "None"), without HTML escaping, as Frappe's
// render_template does.
type Template struct {
	name  string
	parts []templatePart
}

// templatePart is literal text or, when expr is set, one field.
type templatePart struct {
	text, expr string
}

// CompileTemplate parses a template and checks every field. It returns
// a *ScriptError naming the first problem.
func CompileTemplate(name, src string) (*Template, error) {
	parts, err := parseTemplate(src)
	if err != nil {
		return nil, &ScriptError{Script: name, Msg: err.Error()}
	}
	for i, p := range parts {
		if p.expr == "" {
			continue
		}
		src, err := applyFilters(p.expr)
		if err != nil {
			return nil, &ScriptError{Script: name, Msg: err.Error()}
		}
		src = rewritePython(src)
		if err := checkExpr(name, src); err != nil {
			return nil, err
		}
		parts[i].expr = src
	}
	return &Template{name: name, parts: parts}, nil
}

// Render renders the template with doc bound to a frozen document of
// doctype. Errors are those of [Expr.Truth].
func (t *Template) Render(ctx context.Context, env Env, doctype string, doc map[string]any, opts Options) (string, error) {
	var out strings.Builder
	err := evaluate(ctx, env, t.name, doctype, doc, opts, func(thread *starlark.Thread, g starlark.StringDict) error {
		for _, p := range t.parts {
			if p.expr == "" {
				out.WriteString(p.text)
				continue
			}
			v, err := starlark.EvalOptions(fileOptions, thread, t.name, p.expr, g)
			if err != nil {
				return err
			}
			out.WriteString(asString(v))
			if out.Len() > maxOutput {
				return errTooLong
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return out.String(), nil
}

// parseTemplate splits a template into text and fields.
func parseTemplate(src string) ([]templatePart, error) {
	var parts []templatePart
	var text strings.Builder
	trimNext := false
	for i := 0; i < len(src); {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			text.WriteString(src[i:])
			break
		}
		j += i
		kind := src[j+1]
		if kind != '{' && kind != '#' && kind != '%' {
			text.WriteString(src[i : j+2])
			i = j + 2
			continue
		}
		text.WriteString(src[i:j])
		if kind == '%' {
			return nil, fmt.Errorf("line %d: Jinja statements ({%% ... %%}) are not supported: use expressions, such as {{ doc.items | tojson }}", line(src, j))
		}
		start := j + 2
		if start < len(src) && src[start] == '-' { // {{- trims the text before
			start++
			trimmed := strings.TrimRight(text.String(), " \t\r\n")
			text.Reset()
			text.WriteString(trimmed)
		}
		var end, next int
		if kind == '#' {
			k := strings.Index(src[start:], "#}")
			if k < 0 {
				return nil, fmt.Errorf("line %d: comment {# is not closed", line(src, j))
			}
			end, next = start+k, start+k+2
		} else {
			k, err := fieldEnd(src, start)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line(src, j), err)
			}
			end, next = k, k+2
		}
		body := src[start:end]
		if strings.HasSuffix(body, "-") { // -}} trims the text after
			body = body[:len(body)-1]
			trimNext = true
		}
		if kind == '{' {
			if strings.TrimSpace(body) == "" {
				return nil, fmt.Errorf("line %d: empty {{ }}", line(src, j))
			}
			parts = appendText(parts, text.String())
			text.Reset()
			parts = append(parts, templatePart{expr: strings.TrimSpace(body)})
		}
		i = next
		if trimNext {
			for i < len(src) && strings.IndexByte(" \t\r\n", src[i]) >= 0 {
				i++
			}
			trimNext = false
		}
	}
	return appendText(parts, text.String()), nil
}

func appendText(parts []templatePart, s string) []templatePart {
	if s == "" {
		return parts
	}
	return append(parts, templatePart{text: s})
}

// line is the 1-based line of byte offset i.
func line(src string, i int) int { return strings.Count(src[:i], "\n") + 1 }

// fieldEnd finds the "}}" that closes a field starting at i: outside
// string literals and brackets (so {{ {"a": {"b": 1}} }} works).
func fieldEnd(src string, i int) (int, error) {
	depth := 0
	for i < len(src) {
		switch c := src[i]; c {
		case '\'', '"':
			i = scanString(src, i)
			continue
		case '(', '[', '{':
			depth++
		case ')', ']':
			depth--
		case '}':
			if depth == 0 {
				if i+1 < len(src) && src[i+1] == '}' {
					return i, nil
				}
				return 0, errors.New("unexpected } in {{ }}")
			}
			depth--
		}
		i++
	}
	return 0, errors.New("{{ is not closed")
}

// filterPrefix names the built-ins that filters become.
const filterPrefix = "__filter_"

// filterCall is one filter of a field: a name and optional arguments.
var filterCall = regexp.MustCompile(`(?s)^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$`)

// applyFilters rewrites "x | f | g(1)" as __filter_g(__filter_f((x)), 1).
func applyFilters(field string) (string, error) {
	segs := splitFilters(field)
	out := segs[0]
	for _, seg := range segs[1:] {
		m := filterCall.FindStringSubmatch(seg)
		if m == nil {
			return "", fmt.Errorf("bad filter %q in {{ %s }}", strings.TrimSpace(seg), field)
		}
		if _, ok := templateFilters[m[1]]; !ok {
			return "", fmt.Errorf("unknown filter %q (docket supports %s)", m[1], filterList())
		}
		call := filterPrefix + m[1] + "((" + out + ")"
		if strings.TrimSpace(m[2]) != "" {
			call += ", " + m[2]
		}
		out = call + ")"
	}
	return out, nil
}

// splitFilters splits a field at the | that are outside strings and
// brackets.
func splitFilters(field string) []string {
	var segs []string
	depth, start := 0, 0
	for i := 0; i < len(field); {
		switch field[i] {
		case '\'', '"':
			i = scanString(field, i)
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '|':
			if depth == 0 {
				segs = append(segs, field[start:i])
				start = i + 1
			}
		}
		i++
	}
	return append(segs, field[start:])
}
