package script

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// maxDepth bounds the nesting of converted values (and so cycles).
const maxDepth = 100

// attrDict is Frappe's frappe._dict: a dict whose string keys can also be
// read and written as attributes (row.name, row.name = "x"). A missing key
// reads as None, as in Frappe. Dict methods (get, items, keys, ...) take
// precedence over keys of the same name.
type attrDict struct{ *starlark.Dict }

var (
	_ starlark.HasSetField     = (*attrDict)(nil)
	_ starlark.IterableMapping = (*attrDict)(nil)
	_ starlark.HasSetKey       = (*attrDict)(nil)
	_ starlark.Comparable      = (*attrDict)(nil)
)

func newAttrDict() *attrDict { return &attrDict{starlark.NewDict(0)} }

// Type is "_dict": distinct from "dict" so that Starlark never compares the
// two as the same type.
func (d *attrDict) Type() string { return "_dict" }

// String renders the _dict as Starlark renders a dict. It follows nested
// values itself rather than through the embedded Dict.String, which would
// start cycle detection afresh at each nested _dict: a value that contains
// itself prints as {...} or [...], nesting deeper than maxDepth prints as
// ... too, and the text stops (ending in ...) past maxReprOutput bytes.
func (d *attrDict) String() string {
	var w reprWriter
	w.write(d, 0)
	return w.buf.String()
}

func (d *attrDict) Attr(name string) (starlark.Value, error) {
	if name == "copy" {
		return starlark.NewBuiltin("copy", attrDictCopy).BindReceiver(d), nil
	}
	if m, err := d.Dict.Attr(name); m != nil || err != nil {
		return m, err
	}
	v, found, err := d.Dict.Get(starlark.String(name))
	if err != nil || !found {
		return starlark.None, err
	}
	return v, nil
}

func (d *attrDict) AttrNames() []string {
	names := append([]string{"copy"}, d.Dict.AttrNames()...)
	for _, k := range d.Dict.Keys() {
		if s, ok := k.(starlark.String); ok {
			names = append(names, string(s))
		}
	}
	sort.Strings(names)
	return names
}

func (d *attrDict) SetField(name string, v starlark.Value) error {
	return d.Dict.SetKey(starlark.String(name), v)
}

// CompareSameType compares as dicts do; a _dict equals itself even when it
// contains itself, as in Python.
func (d *attrDict) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	yd := y.(*attrDict).Dict
	if yd == d.Dict && (op == syntax.EQL || op == syntax.NEQ) {
		return op == syntax.EQL, nil
	}
	return d.Dict.CompareSameType(op, yd, depth)
}

func attrDictCopy(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	src := b.Receiver().(*attrDict)
	out := newAttrDict()
	for _, kv := range src.Items() {
		_ = out.SetKey(kv[0], kv[1])
	}
	return out, nil
}

// toStarlark converts a Go value (nil, bool, ints, floats, string, slices,
// maps with string keys, json.Number, time.Time) to a Starlark value; maps
// become _dicts with their keys in sorted order.
func toStarlark(v any) (starlark.Value, error) { return toValue(v, 0) }

func toValue(v any, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return x, nil
	case bool:
		return starlark.Bool(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int8:
		return starlark.MakeInt64(int64(x)), nil
	case int16:
		return starlark.MakeInt64(int64(x)), nil
	case int32:
		return starlark.MakeInt64(int64(x)), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case uint:
		return starlark.MakeUint64(uint64(x)), nil
	case uint8:
		return starlark.MakeUint64(uint64(x)), nil
	case uint16:
		return starlark.MakeUint64(uint64(x)), nil
	case uint32:
		return starlark.MakeUint64(uint64(x)), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case float32:
		return starlark.Float(x), nil
	case float64:
		return starlark.Float(x), nil
	case string:
		return starlark.String(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return starlark.MakeInt64(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", string(x))
		}
		return starlark.Float(f), nil
	case time.Time:
		return starlark.String(formatDatetime(x, true)), nil
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := toValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := &attrDict{starlark.NewDict(len(x))}
		for _, k := range keys {
			sv, err := toValue(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			_ = d.SetKey(starlark.String(k), sv)
		}
		return d, nil
	}
	// Other slices and string-keyed maps (e.g. []string, []map[string]any).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		elems := make([]any, rv.Len())
		for i := range elems {
			elems[i] = rv.Index(i).Interface()
		}
		return toValue(elems, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[it.Key().String()] = it.Value().Interface()
			}
			return toValue(m, depth)
		}
	}
	return nil, fmt.Errorf("cannot convert Go value of type %T", v)
}

// maxNodes bounds how many values one conversion to Go may produce, so
// that a small value sharing its parts many times over (x = [x, x] in a
// loop) cannot expand into an unbounded tree.
const maxNodes = 1 << 22

// toGo converts a Starlark value to a plain Go value: nil, bool, int64,
// float64, string, []any or map[string]any. Ints outside int64, dicts with
// keys other than strings and ints, functions, values that contain
// themselves, values nested more than maxDepth levels and values expanding
// to more than maxNodes parts are errors.
func toGo(v starlark.Value) (any, error) { return new(goConv).value(v, 0) }

// goConv is the state of one conversion to Go: the containers being
// converted (to detect cycles) and the number of values produced.
type goConv struct {
	path  containerPath
	nodes int
}

// containerPath lists the containers being converted or written, by
// pointer, to detect values that contain themselves.
type containerPath struct {
	lists []*starlark.List
	dicts []*starlark.Dict
	docs  []*document
}

// push adds x (a *starlark.List, *starlark.Dict or *document) unless it is
// already on the path, reporting whether it did.
func (p *containerPath) push(x any) bool {
	switch x := x.(type) {
	case *starlark.List:
		if slices.Contains(p.lists, x) {
			return false
		}
		p.lists = append(p.lists, x)
	case *starlark.Dict:
		if slices.Contains(p.dicts, x) {
			return false
		}
		p.dicts = append(p.dicts, x)
	case *document:
		if slices.Contains(p.docs, x) {
			return false
		}
		p.docs = append(p.docs, x)
	}
	return true
}

// pop removes x, the last container of its kind pushed.
func (p *containerPath) pop(x any) {
	switch x.(type) {
	case *starlark.List:
		p.lists = p.lists[:len(p.lists)-1]
	case *starlark.Dict:
		p.dicts = p.dicts[:len(p.dicts)-1]
	case *document:
		p.docs = p.docs[:len(p.docs)-1]
	}
}

// enter records container x (a *starlark.List, *starlark.Dict or
// *document) as being converted, failing if it already is (a cycle) or if
// the value is too deep.
func (c *goConv) enter(x any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested more than %d levels deep", maxDepth)
	}
	if !c.path.push(x) {
		return fmt.Errorf("circular reference: a value contains itself")
	}
	return nil
}

func (c *goConv) value(v starlark.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep", maxDepth)
	}
	if c.nodes++; c.nodes > maxNodes {
		return nil, fmt.Errorf("value too large to convert (more than %d parts)", maxNodes)
	}
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("int %s does not fit in 64 bits", x)
		}
		return i, nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Bytes:
		return string(x), nil
	case *starlark.List:
		if err := c.enter(x, depth); err != nil {
			return nil, err
		}
		defer c.path.pop(x)
		return c.seq(x, x.Len(), depth)
	case starlark.Tuple:
		return c.seq(x, x.Len(), depth)
	case *starlark.Set:
		return c.seq(x, x.Len(), depth)
	case *starlark.Dict:
		if err := c.enter(x, depth); err != nil {
			return nil, err
		}
		defer c.path.pop(x)
		return c.mapping(x.Items(), depth)
	case *attrDict:
		if err := c.enter(x.Dict, depth); err != nil {
			return nil, err
		}
		defer c.path.pop(x.Dict)
		return c.mapping(x.Items(), depth)
	case *document:
		return c.document(x, depth, true)
	case excClass:
		return string(x), nil
	}
	return nil, fmt.Errorf("cannot convert %s value to data", v.Type())
}

func (c *goConv) seq(it starlark.Iterable, n, depth int) ([]any, error) {
	out := make([]any, 0, n)
	iter := it.Iterate()
	defer iter.Done()
	var e starlark.Value
	for iter.Next(&e) {
		g, err := c.value(e, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func (c *goConv) mapping(items []starlark.Tuple, depth int) (map[string]any, error) {
	out := make(map[string]any, len(items))
	for _, kv := range items {
		k, err := keyString(kv[0])
		if err != nil {
			return nil, err
		}
		g, err := c.value(kv[1], depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = g
	}
	return out, nil
}

// document converts a document's fields; withDoctype adds the doctype key
// as as_dict does.
func (c *goConv) document(d *document, depth int, withDoctype bool) (map[string]any, error) {
	if err := c.enter(d, depth); err != nil {
		return nil, err
	}
	defer c.path.pop(d)
	m := make(map[string]any, len(d.keys)+1)
	for _, k := range d.keys {
		g, err := c.value(d.vals[k], depth+1)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		m[k] = g
	}
	if _, ok := m["doctype"]; withDoctype && !ok && d.doctype != "" {
		m["doctype"] = d.doctype
	}
	return m, nil
}

// keyString accepts string keys and, as Python's json does, ints.
func keyString(k starlark.Value) (string, error) {
	switch k := k.(type) {
	case starlark.String:
		return string(k), nil
	case starlark.Int:
		return k.String(), nil
	}
	return "", fmt.Errorf("dict key must be a string, not %s", k.Type())
}

// pyNumber renders a float the way Python's repr does, for json.dumps and
// str().
func pyNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return starlark.Float(f).String()
}

// asString returns s for a Starlark string and str(v) otherwise.
func asString(v starlark.Value) string {
	if s, ok := starlark.AsString(v); ok {
		return s
	}
	if v == nil || v == starlark.None {
		return "None"
	}
	return v.String()
}

// asInt64 converts a Starlark int (or None → def) to int64.
func asInt64(v starlark.Value, def int64) (int64, error) {
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return def, nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return 0, fmt.Errorf("int %s out of range", x)
		}
		return i, nil
	case starlark.Float:
		return int64(x), nil
	case starlark.String:
		i, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want int, got %q", string(x))
		}
		return i, nil
	}
	return 0, fmt.Errorf("want int, got %s", v.Type())
}

// maxOutput bounds the text json.dumps and as_json build.
const maxOutput = 1 << 26

// maxReprOutput bounds the text of str of a _dict: String has no thread
// to notice the time limit by, so it is kept smaller.
const maxReprOutput = 1 << 24

// reprWriter renders values as Starlark's str does, with cycle detection
// that carries across _dicts, a depth bound and a size bound.
type reprWriter struct {
	buf  strings.Builder
	path containerPath
	cut  bool
}

// enter reports whether container x (a *starlark.List or *starlark.Dict)
// may be written: it is not already being written and not too deep.
func (w *reprWriter) enter(x starlark.Value, depth int) bool {
	if depth > maxDepth || !w.path.push(x) {
		w.buf.WriteString("...")
		return false
	}
	return true
}

// full reports whether the size bound is reached, marking the cut once.
func (w *reprWriter) full() bool {
	if w.buf.Len() < maxReprOutput {
		return false
	}
	if !w.cut {
		w.cut = true
		w.buf.WriteString("...")
	}
	return true
}

func (w *reprWriter) write(v starlark.Value, depth int) {
	if w.full() {
		return
	}
	switch x := v.(type) {
	case *attrDict:
		w.dict(x.Dict, depth)
	case *starlark.Dict:
		w.dict(x, depth)
	case *starlark.List:
		w.buf.WriteByte('[')
		if w.enter(x, depth) {
			for i := 0; i < x.Len() && !w.full(); i++ {
				if i > 0 {
					w.buf.WriteString(", ")
				}
				w.write(x.Index(i), depth+1)
			}
			w.path.pop(x)
		}
		w.buf.WriteByte(']')
	case starlark.Tuple:
		w.buf.WriteByte('(')
		if depth > maxDepth {
			w.buf.WriteString("...")
		} else {
			for i, e := range x {
				if i > 0 {
					w.buf.WriteString(", ")
				}
				if w.full() {
					break
				}
				w.write(e, depth+1)
			}
			if len(x) == 1 {
				w.buf.WriteByte(',')
			}
		}
		w.buf.WriteByte(')')
	case *starlark.Set:
		w.buf.WriteString("set([")
		if depth > maxDepth {
			w.buf.WriteString("...")
		} else {
			iter := x.Iterate()
			var e starlark.Value
			for i := 0; iter.Next(&e) && !w.full(); i++ {
				if i > 0 {
					w.buf.WriteString(", ")
				}
				w.write(e, depth+1)
			}
			iter.Done()
		}
		w.buf.WriteString("])")
	case nil:
		w.buf.WriteString("<nil>")
	default:
		// Every other value's String is flat: scalars, functions,
		// documents (<ToDo: name>), modules.
		w.buf.WriteString(x.String())
	}
}

func (w *reprWriter) dict(d *starlark.Dict, depth int) {
	w.buf.WriteByte('{')
	if w.enter(d, depth) {
		for i, kv := range d.Items() {
			if w.full() {
				break
			}
			if i > 0 {
				w.buf.WriteString(", ")
			}
			w.write(kv[0], depth+1)
			w.buf.WriteString(": ")
			w.write(kv[1], depth+1)
		}
		w.path.pop(d)
	}
	w.buf.WriteByte('}')
}
