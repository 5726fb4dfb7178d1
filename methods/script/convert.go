package script

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
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

func (d *attrDict) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return d.Dict.CompareSameType(op, y.(*attrDict).Dict, depth)
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

// toGo converts a Starlark value to a plain Go value: nil, bool, int64,
// float64, string, []any or map[string]any. Ints outside int64, dicts with
// keys other than strings and ints, and functions are errors.
func toGo(v starlark.Value) (any, error) { return goValue(v, 0) }

func goValue(v starlark.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep (or cyclic)", maxDepth)
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
		return goSeq(x, x.Len(), depth)
	case starlark.Tuple:
		return goSeq(x, x.Len(), depth)
	case *starlark.Set:
		return goSeq(x, x.Len(), depth)
	case *starlark.Dict:
		return goMap(x.Items(), depth)
	case *attrDict:
		return goMap(x.Items(), depth)
	case *document:
		return x.toMap(depth, true)
	case excClass:
		return string(x), nil
	}
	return nil, fmt.Errorf("cannot convert %s value to data", v.Type())
}

func goSeq(it starlark.Iterable, n, depth int) ([]any, error) {
	out := make([]any, 0, n)
	iter := it.Iterate()
	defer iter.Done()
	var e starlark.Value
	for iter.Next(&e) {
		g, err := goValue(e, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func goMap(items []starlark.Tuple, depth int) (map[string]any, error) {
	out := make(map[string]any, len(items))
	for _, kv := range items {
		k, err := keyString(kv[0])
		if err != nil {
			return nil, err
		}
		g, err := goValue(kv[1], depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = g
	}
	return out, nil
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
