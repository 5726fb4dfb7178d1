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
	"sync/atomic"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// maxIndent bounds json.dumps and as_json indents, and format widths and
// precisions.
const maxIndent = 1 << 16

// jsonEncoder writes Starlark values as Python's json.dumps does. The
// output is bounded by maxOutput bytes and containers that contain
// themselves are an error, as in Python.
type jsonEncoder struct {
	indent          string
	multiline       bool // indent is not None: one item a line
	sortKeys, ascii bool
	itemSep, keySep string
	buf             strings.Builder
	path            containerPath
	stop            *atomic.Bool // the run's stopped flag, or nil
	nodes           int
}

func newJSONEncoder(indent string, multiline, sortKeys, ascii bool) *jsonEncoder {
	e := &jsonEncoder{indent: indent, multiline: multiline, sortKeys: sortKeys, ascii: ascii, itemSep: ", ", keySep: ": "}
	if multiline {
		e.itemSep = ","
	}
	return e
}

// errTooLong reports output beyond maxOutput.
var errTooLong = fmt.Errorf("output longer than %d bytes", maxOutput)

// errStopped reports a run stopped for time while encoding.
var errStopped = errors.New("stopped: the script ran out of time")

func (e *jsonEncoder) check() error {
	if e.buf.Len() > maxOutput {
		return errTooLong
	}
	if e.nodes++; e.nodes&0x3ff == 0 && e.stop != nil && e.stop.Load() {
		return errStopped
	}
	return nil
}

func (e *jsonEncoder) newline(level int) error {
	if !e.multiline {
		return nil
	}
	if e.buf.Len()+1+len(e.indent)*level > maxOutput {
		return errTooLong
	}
	e.buf.WriteByte('\n')
	for range level {
		e.buf.WriteString(e.indent)
	}
	return nil
}

// enter records container x as being encoded, failing on a cycle.
func (e *jsonEncoder) enter(x starlark.Value) error {
	if !e.path.push(x) {
		return fmt.Errorf("circular reference detected")
	}
	return nil
}

func (e *jsonEncoder) encode(v starlark.Value, level int) error {
	if level > maxDepth {
		return fmt.Errorf("value nested more than %d levels deep", maxDepth)
	}
	if err := e.check(); err != nil {
		return err
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
		return e.quote(string(x))
	case *document:
		d, err := x.asDict()
		if err != nil {
			return err
		}
		return e.encode(d, level)
	case *attrDict:
		if err := e.enter(x.Dict); err != nil {
			return err
		}
		defer e.path.pop(x.Dict)
		return e.object(x.Items(), level)
	case *starlark.Dict:
		if err := e.enter(x); err != nil {
			return err
		}
		defer e.path.pop(x)
		return e.object(x.Items(), level)
	case starlark.IterableMapping:
		return e.object(x.Items(), level)
	case *starlark.List:
		if err := e.enter(x); err != nil {
			return err
		}
		defer e.path.pop(x)
		return e.array(x, level)
	case starlark.Iterable:
		return e.array(x, level)
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", v.Type())
	}
	return nil
}

func (e *jsonEncoder) array(x starlark.Iterable, level int) error {
	var next func(*starlark.Value) bool
	if l, ok := x.(starlark.Indexable); ok {
		i, n := 0, l.Len()
		next = func(p *starlark.Value) bool {
			if i >= n || i >= l.Len() {
				return false
			}
			*p = l.Index(i)
			i++
			return true
		}
	} else {
		iter := x.Iterate()
		defer iter.Done()
		next = iter.Next
	}
	var el starlark.Value
	n := 0
	e.buf.WriteByte('[')
	for ; next(&el); n++ {
		if n > 0 {
			e.buf.WriteString(e.itemSep)
		}
		if err := e.newline(level + 1); err != nil {
			return err
		}
		if err := e.encode(el, level+1); err != nil {
			return err
		}
	}
	if n > 0 {
		if err := e.newline(level); err != nil {
			return err
		}
	}
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
		if err := e.newline(level + 1); err != nil {
			return err
		}
		if err := e.quote(p.k); err != nil {
			return err
		}
		e.buf.WriteString(e.keySep)
		if err := e.encode(p.v, level+1); err != nil {
			return err
		}
	}
	if err := e.newline(level); err != nil {
		return err
	}
	e.buf.WriteByte('}')
	return nil
}

func (e *jsonEncoder) quote(s string) error {
	b := &e.buf
	b.WriteByte('"')
	start := 0
	// flush writes s[start:i], the characters that need no escape.
	flush := func(i int) error {
		if b.Len()+i-start > maxOutput {
			return errTooLong
		}
		b.WriteString(s[start:i])
		return e.check()
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && (c != 0x7f || !e.ascii) {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if c >= 0x80 && !e.ascii && (r != utf8.RuneError || size > 1) {
			i += size
			continue
		}
		if err := flush(i); err != nil {
			return err
		}
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
			if r > 0xffff {
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		}
		i += size
		start = i
	}
	if err := flush(len(s)); err != nil {
		return err
	}
	b.WriteByte('"')
	return nil
}

// jsonIndent reads an indent argument as Python's json does: None for a
// single line, an int for that many spaces (none if negative) or a string.
func jsonIndent(v starlark.Value) (indent string, multiline bool, err error) {
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return "", false, nil
	case starlark.String:
		if len(x) > maxIndent {
			return "", false, fmt.Errorf("indent longer than %d", maxIndent)
		}
		return string(x), true, nil
	}
	n, err := asInt64(v, 0)
	if err != nil {
		return "", false, err
	}
	if n > maxIndent {
		return "", false, fmt.Errorf("indent %d larger than %d", n, maxIndent)
	}
	return strings.Repeat(" ", int(max(n, 0))), true, nil
}

// dumps encodes v with the given indent argument (see jsonIndent).
func dumps(thread *starlark.Thread, fn string, v, indent starlark.Value, sortKeys, ascii bool) (starlark.Value, error) {
	ind, multiline, err := jsonIndent(indent)
	if err != nil {
		return nil, fmt.Errorf("%s: indent: %w", fn, err)
	}
	e := newJSONEncoder(ind, multiline, sortKeys, ascii)
	if rt := rtOf(thread); rt != nil {
		e.stop = &rt.stopped
	}
	if err := e.encode(v, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return starlark.String(e.buf.String()), nil
}

func jsonDumps(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, indent, def starlark.Value
	var sortKeys bool
	ascii := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "obj", &v, "indent?", &indent, "sort_keys?", &sortKeys,
		"ensure_ascii?", &ascii, "default?", &def); err != nil {
		return nil, err
	}
	return dumps(thread, b.Name(), v, indent, sortKeys, ascii)
}

// asJSON implements frappe.as_json(obj, indent=1): sorted keys.
func asJSON(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, indent, seps starlark.Value
	ascii := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "obj", &v, "indent?", &indent, "separators?", &seps,
		"ensure_ascii?", &ascii); err != nil {
		return nil, err
	}
	if indent == nil {
		indent = starlark.MakeInt(1)
	}
	return dumps(thread, b.Name(), v, indent, true, ascii)
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
