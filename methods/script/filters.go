package script

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"unicode"

	"go.starlark.net/starlark"
)

// templateFilters are the Jinja filters templates support: Jinja's common
// ones and those Frappe adds (json, len, int, str, flt).
var templateFilters = map[string]builtinFn{
	"tojson":     filterToJSON,
	"json":       asJSON,
	"default":    filterDefault,
	"d":          filterDefault,
	"upper":      stringFilter(strings.ToUpper),
	"lower":      stringFilter(strings.ToLower),
	"title":      stringFilter(titleCase),
	"capitalize": stringFilter(capitalize),
	"trim":       stringFilter(strings.TrimSpace),
	"string":     stringFilter(func(s string) string { return s }),
	"str":        utilCstr,
	"int":        utilCint,
	"float":      utilFlt,
	"flt":        utilFlt,
	"round":      filterRound,
	"abs":        filterAbs,
	"length":     filterLength,
	"count":      filterLength,
	"len":        filterLength,
	"first":      filterEnd(false),
	"last":       filterEnd(true),
	"join":       filterJoin,
	"replace":    filterReplace,
	"safe":       filterSafe,
	"e":          filterEscape,
	"escape":     filterEscape,
}

// filterList names the supported filters, for error messages.
func filterList() string {
	names := make([]string, 0, len(templateFilters))
	for k := range templateFilters {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// htmlSafeJSON escapes what Jinja's tojson escapes, so that the text is
// safe inside HTML too.
var htmlSafeJSON = strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`)

// filterToJSON is Jinja's tojson: json.dumps with sorted keys, HTML-safe.
func filterToJSON(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, indent starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v, "indent?", &indent); err != nil {
		return nil, err
	}
	s, err := dumps(thread, b.Name(), v, indent, true, true)
	if err != nil {
		return nil, err
	}
	return starlark.String(htmlSafeJSON.Replace(string(s.(starlark.String)))), nil
}

// filterDefault is Jinja's default(value, default_value="", boolean=False).
// docket's documents read missing fields as None, so None takes the
// default too (Jinja: only an undefined value does).
func filterDefault(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	var def starlark.Value = starlark.String("")
	var boolean bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v, "default_value?", &def, "boolean?", &boolean); err != nil {
		return nil, err
	}
	if v == starlark.None || boolean && !bool(v.Truth()) {
		return def, nil
	}
	return v, nil
}

// stringFilter applies fn to str(value).
func stringFilter(fn func(string) string) builtinFn {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
			return nil, err
		}
		return starlark.String(fn(asString(v))), nil
	}
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		inWord := unicode.IsLetter(prev) || unicode.IsDigit(prev) || prev == '\''
		prev = r
		if inWord {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(strings.ToLower(s))
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// filterRound is Jinja's round(value, precision=0, method="common"): a
// float, halves away from zero ("common"), or "ceil" / "floor".
func filterRound(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	precision, method := 0, "common"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v, "precision?", &precision, "method?", &method); err != nil {
		return nil, err
	}
	f, ok := toFloat(v)
	if !ok {
		return nil, fmt.Errorf("round: want a number, got %s", v.Type())
	}
	if precision < -300 || precision > 300 {
		return nil, fmt.Errorf("round: precision %d out of range", precision)
	}
	m := math.Pow(10, float64(precision))
	switch method {
	case "common":
		f = math.Round(f*m) / m
	case "ceil":
		f = math.Ceil(f*m) / m
	case "floor":
		f = math.Floor(f*m) / m
	default:
		return nil, fmt.Errorf("round: method must be common, ceil or floor")
	}
	return starlark.Float(f), nil
}

func filterAbs(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case starlark.Int:
		if x.Sign() < 0 {
			return starlark.MakeInt(0).Sub(x), nil
		}
		return x, nil
	case starlark.Float:
		return starlark.Float(math.Abs(float64(x))), nil
	}
	return nil, fmt.Errorf("abs: want a number, got %s", v.Type())
}

func filterLength(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	if s, ok := v.(starlark.String); ok {
		return starlark.MakeInt(len([]rune(string(s)))), nil
	}
	n := starlark.Len(v)
	if n < 0 {
		return nil, fmt.Errorf("%s: %s has no length", b.Name(), v.Type())
	}
	return starlark.MakeInt(n), nil
}

// filterEnd is first or last: an element of a list or a character of a
// string (None when empty).
func filterEnd(last bool) builtinFn {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
			return nil, err
		}
		if s, ok := v.(starlark.String); ok {
			r := []rune(string(s))
			switch {
			case len(r) == 0:
				return starlark.None, nil
			case last:
				return starlark.String(r[len(r)-1]), nil
			}
			return starlark.String(r[0]), nil
		}
		x, ok := v.(starlark.Indexable)
		if !ok {
			return nil, fmt.Errorf("%s: %s is not a sequence", b.Name(), v.Type())
		}
		switch {
		case x.Len() == 0:
			return starlark.None, nil
		case last:
			return x.Index(x.Len() - 1), nil
		}
		return x.Index(0), nil
	}
}

// filterJoin is Jinja's join(value, d=""): str of each element.
func filterJoin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Iterable
	sep := ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &v, "d?", &sep); err != nil {
		return nil, err
	}
	var parts []string
	size := 0
	it := v.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		s := asString(x)
		if size += len(s) + len(sep); size > maxOutput {
			return nil, fmt.Errorf("join: %w", errTooLong)
		}
		parts = append(parts, s)
	}
	return starlark.String(strings.Join(parts, sep)), nil
}

// filterReplace is Jinja's replace(s, old, new, count=None).
func filterReplace(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	var old, repl string
	count := -1
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "s", &v, "old", &old, "new", &repl, "count?", &count); err != nil {
		return nil, err
	}
	s := asString(v)
	n := strings.Count(s, old)
	if count >= 0 && count < n {
		n = count
	}
	if len(s)+n*(len(repl)-len(old)) > maxOutput {
		return nil, fmt.Errorf("replace: %w", errTooLong)
	}
	return starlark.String(strings.Replace(s, old, repl, count)), nil
}

// filterSafe returns its value: templates are never HTML-escaped.
func filterSafe(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// filterEscape escapes & < > ' " as HTML, as Jinja's escape does.
func filterEscape(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	return starlark.String(html.EscapeString(asString(v))), nil
}

// PyJSON returns a Go value as Python's json.dumps(value) writes it
// (", " and ": " separators, non-ASCII escaped, floats with a decimal
// point); maps are written with sorted keys.
func PyJSON(v any) (string, error) {
	sv, err := toStarlark(v)
	if err != nil {
		return "", err
	}
	e := newJSONEncoder("", false, false, true)
	if err := e.encode(sv, 0); err != nil {
		return "", err
	}
	return e.buf.String(), nil
}

// ReformatJSON returns JSON text as Python's json.dumps(json.loads(text))
// writes it: object keys in their order, integers and floats as they were
// written (1 stays an int, 1.0 a float).
func ReformatJSON(text string) (string, error) {
	v, err := loads(text, false)
	if err != nil {
		return "", err
	}
	e := newJSONEncoder("", false, false, true)
	if err := e.encode(v, 0); err != nil {
		return "", err
	}
	return e.buf.String(), nil
}
