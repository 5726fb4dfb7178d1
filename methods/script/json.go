package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// jsonEncoder writes Starlark values as Python's json.dumps does.
type jsonEncoder struct {
	indent          int // < 0: single line
	sortKeys, ascii bool
	itemSep, keySep string
	buf             strings.Builder
}

func newJSONEncoder(indent int, sortKeys, ascii bool) *jsonEncoder {
	e := &jsonEncoder{indent: indent, sortKeys: sortKeys, ascii: ascii, itemSep: ", ", keySep: ": "}
	if indent >= 0 {
		e.itemSep = ","
	}
	return e
}

func (e *jsonEncoder) newline(level int) {
	if e.indent < 0 {
		return
	}
	e.buf.WriteByte('\n')
	e.buf.WriteString(strings.Repeat(" ", e.indent*level))
}

func (e *jsonEncoder) encode(v starlark.Value, level int) error {
	if level > maxDepth {
		return fmt.Errorf("value nested more than %d levels deep (or cyclic)", maxDepth)
	}
	switch x := v.(type) {
	case starlark.NoneType:
		e.buf.WriteString("null")
	case starlark.Bool:
		if x {
			e.buf.WriteString("true")
		} else {
			e.buf.WriteString("false")
		}
	case starlark.Int:
		e.buf.WriteString(x.String())
	case starlark.Float:
		e.buf.WriteString(pyNumber(float64(x)))
	case starlark.String:
		e.quote(string(x))
	case *document:
		d, err := x.asDict()
		if err != nil {
			return err
		}
		return e.encode(d, level)
	case starlark.IterableMapping:
		return e.object(x.Items(), level)
	case starlark.Iterable:
		var elems []starlark.Value
		iter := x.Iterate()
		var el starlark.Value
		for iter.Next(&el) {
			elems = append(elems, el)
		}
		iter.Done()
		return e.array(elems, level)
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", v.Type())
	}
	return nil
}

func (e *jsonEncoder) array(elems []starlark.Value, level int) error {
	if len(elems) == 0 {
		e.buf.WriteString("[]")
		return nil
	}
	e.buf.WriteByte('[')
	for i, el := range elems {
		if i > 0 {
			e.buf.WriteString(e.itemSep)
		}
		e.newline(level + 1)
		if err := e.encode(el, level+1); err != nil {
			return err
		}
	}
	e.newline(level)
	e.buf.WriteByte(']')
	return nil
}

func (e *jsonEncoder) object(items []starlark.Tuple, level int) error {
	if len(items) == 0 {
		e.buf.WriteString("{}")
		return nil
	}
	type kv struct {
		k string
		v starlark.Value
	}
	pairs := make([]kv, len(items))
	for i, it := range items {
		var k string
		switch key := it[0].(type) {
		case starlark.String:
			k = string(key)
		case starlark.Int:
			k = key.String()
		case starlark.Float:
			k = pyNumber(float64(key))
		case starlark.Bool:
			k = map[bool]string{true: "true", false: "false"}[bool(key)]
		case starlark.NoneType:
			k = "null"
		default:
			return fmt.Errorf("keys must be str, int, float, bool or None, not %s", key.Type())
		}
		pairs[i] = kv{k, it[1]}
	}
	if e.sortKeys {
		sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	}
	e.buf.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			e.buf.WriteString(e.itemSep)
		}
		e.newline(level + 1)
		e.quote(p.k)
		e.buf.WriteString(e.keySep)
		if err := e.encode(p.v, level+1); err != nil {
			return err
		}
	}
	e.newline(level)
	e.buf.WriteByte('}')
	return nil
}

func (e *jsonEncoder) quote(s string) {
	b := &e.buf
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (e.ascii && r > 0x7e && r <= 0xffff) || r == utf8.RuneError:
				fmt.Fprintf(b, `\u%04x`, r)
			case e.ascii && r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// dumps encodes v; indent < 0 means a single line.
func dumps(v starlark.Value, indent int, sortKeys, ascii bool) (starlark.Value, error) {
	e := newJSONEncoder(indent, sortKeys, ascii)
	if err := e.encode(v, 0); err != nil {
		return nil, err
	}
	return starlark.String(e.buf.String()), nil
}

func jsonDumps(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, indent, def starlark.Value
	var sortKeys bool
	ascii := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "obj", &v, "indent?", &indent, "sort_keys?", &sortKeys,
		"ensure_ascii?", &ascii, "default?", &def); err != nil {
		return nil, err
	}
	n, err := asInt64(indent, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: indent: %w", b.Name(), err)
	}
	return dumps(v, int(n), sortKeys, ascii)
}

// asJSON implements frappe.as_json(obj, indent=1): sorted keys.
func asJSON(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, indent, seps starlark.Value
	ascii := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "obj", &v, "indent?", &indent, "separators?", &seps,
		"ensure_ascii?", &ascii); err != nil {
		return nil, err
	}
	n, err := asInt64(indent, 1)
	if err != nil {
		return nil, fmt.Errorf("%s: indent: %w", b.Name(), err)
	}
	if indent == starlark.None {
		n = -1
	}
	return dumps(v, int(n), true, ascii)
}

// loads decodes JSON text, keeping object keys in order; objects become
// _dicts when attr is set, dicts otherwise.
func loads(s string, attr bool) (starlark.Value, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeValue(dec, attr, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("extra data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, attr bool, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("JSON nested more than %d levels deep", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("unexpected end of JSON input")
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(t), nil
	case string:
		return starlark.String(t), nil
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return starlark.MakeInt64(i), nil
			}
			if bi, ok := new(big.Int).SetString(s, 10); ok {
				return starlark.MakeBigInt(bi), nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %s", s)
		}
		return starlark.Float(f), nil
	case json.Delim:
		switch t {
		case '[':
			var elems []starlark.Value
			for dec.More() {
				v, err := decodeValue(dec, attr, depth+1)
				if err != nil {
					return nil, err
				}
				elems = append(elems, v)
			}
			_, err := dec.Token() // ]
			return starlark.NewList(elems), err
		case '{':
			d := starlark.NewDict(0)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec, attr, depth+1)
				if err != nil {
					return nil, err
				}
				_ = d.SetKey(starlark.String(kt.(string)), v)
			}
			if _, err := dec.Token(); err != nil { // }
				return nil, err
			}
			if attr {
				return &attrDict{d}, nil
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func jsonLoads(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	v, err := loads(s, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return v, nil
}

// parseJSON implements frappe.parse_json: strings are decoded (objects as
// _dicts), dicts become _dicts, anything else is returned as is.
func parseJSON(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case starlark.String:
		out, err := loads(string(x), true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return out, nil
	case *starlark.Dict:
		return &attrDict{x}, nil
	}
	return v, nil
}
