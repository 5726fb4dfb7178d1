package projections

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"docket/eventlog"
)

// errSlowPath sends a record the fast decoder does not know to msgpack's
// own decoder.
var errSlowPath = errors.New("projections: not on the fast path")

// decodeRecordFast decodes a record as decodeRecord does, without
// reflection: a document read is mostly this decoding, so lists and gets
// go through here. A value of a kind a record never holds (an extension,
// a non-string map key) returns errSlowPath.
func decodeRecordFast(v []byte) (*Record, error) {
	d := fastDecoder{b: v, src: string(v)}
	n, err := d.mapLen()
	if err != nil {
		return nil, err
	}
	rec := new(Record)
	for range n {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		switch k {
		case "seq", "version":
			x, err := d.value()
			if err != nil {
				return nil, err
			}
			i, ok := x.(int64)
			if !ok || i < 0 {
				return nil, errSlowPath
			}
			if k == "seq" {
				rec.Seq = eventlog.Seq(i)
			} else {
				rec.Version = uint64(i)
			}
		case "hash":
			h, err := d.bin()
			if err != nil {
				return nil, err
			}
			rec.Hash = h
		case "doc":
			if rec.Doc, err = d.doc(); err != nil {
				return nil, err
			}
		default:
			return nil, errSlowPath
		}
	}
	if d.i != len(d.b) {
		return nil, errSlowPath
	}
	return rec, nil
}

// fastDecoder reads the msgpack a record holds: nil, booleans, integers
// (as int64, as normalizeValue makes them),
// floats (float64), strings, bytes (as strings), arrays and maps with
// string keys.
type fastDecoder struct {
	b []byte
	i int
	// src, when set, is b as a string: strings are then cut out of it
	// instead of copied one by one (one allocation per record, not one
	// per string). Each keeps the whole of src alive: a cache that keeps
	// a string of a record for long clones it (strings.Clone). Events are
	// decoded without: the projector keeps their doctype names.
	src string
	// hugeUintAsFloat reads an unsigned integer over MaxInt64 as a
	// float64, as eventlog's decoder does (a record never holds one).
	hugeUintAsFloat bool
}

func (d *fastDecoder) need(n int) ([]byte, error) {
	if n < 0 || d.i+n > len(d.b) {
		return nil, errSlowPath
	}
	p := d.b[d.i : d.i+n]
	d.i += n
	return p, nil
}

func (d *fastDecoder) byte1() (byte, error) {
	p, err := d.need(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// length reads a big-endian length of size bytes.
func (d *fastDecoder) length(size int) (int, error) {
	p, err := d.need(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return int(p[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(p)), nil
	}
	return int(binary.BigEndian.Uint32(p)), nil
}

func (d *fastDecoder) mapLen() (int, error) {
	c, err := d.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), nil
	case c == 0xde:
		return d.length(2)
	case c == 0xdf:
		return d.length(4)
	}
	return 0, errSlowPath
}

func (d *fastDecoder) str() (string, error) {
	c, err := d.byte1()
	if err != nil {
		return "", err
	}
	return d.strBody(c)
}

func (d *fastDecoder) strBody(c byte) (string, error) {
	var n int
	var err error
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9:
		n, err = d.length(1)
	case c == 0xda:
		n, err = d.length(2)
	case c == 0xdb:
		n, err = d.length(4)
	default:
		return "", errSlowPath
	}
	if err != nil {
		return "", err
	}
	start := d.i
	p, err := d.need(n)
	if err != nil || d.src == "" {
		return string(p), err
	}
	return d.src[start : start+n], nil
}

func (d *fastDecoder) value() (any, error) {
	c, err := d.byte1()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb:
		return d.strBody(c)
	case c >= 0x80 && c <= 0x8f:
		return d.mapBody(int(c & 0x0f))
	case c >= 0x90 && c <= 0x9f:
		return d.arrayBody(int(c & 0x0f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		p, err := d.need(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		var u uint64
		for _, x := range p {
			u = u<<8 | uint64(x)
		}
		if u > math.MaxInt64 && d.hugeUintAsFloat {
			return float64(u), nil
		}
		return int64(u), nil // as normalizeValue makes a uint64
	case 0xd0, 0xd1, 0xd2, 0xd3:
		p, err := d.need(1 << (c - 0xd0))
		if err != nil {
			return nil, err
		}
		switch len(p) {
		case 1:
			return int64(int8(p[0])), nil
		case 2:
			return int64(int16(binary.BigEndian.Uint16(p))), nil
		case 4:
			return int64(int32(binary.BigEndian.Uint32(p))), nil
		}
		return int64(binary.BigEndian.Uint64(p)), nil
	case 0xca:
		p, err := d.need(4)
		if err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(p))), nil
	case 0xcb:
		p, err := d.need(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
	case 0xc4, 0xc5, 0xc6:
		// Bytes inside a document read as a string, as msgpack's loose
		// decoding reads them.
		n, err := d.length(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		p, err := d.need(n)
		return string(p), err
	case 0xdc, 0xdd:
		n, err := d.length(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.arrayBody(n)
	case 0xde, 0xdf:
		n, err := d.length(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapBody(n)
	}
	return nil, errSlowPath
}

// doc reads a document: a map, or nil.
func (d *fastDecoder) doc() (map[string]any, error) {
	x, err := d.value()
	if err != nil {
		return nil, err
	}
	switch m := x.(type) {
	case map[string]any:
		return m, nil
	case nil:
		return nil, nil
	}
	return nil, errSlowPath
}

// skip passes over one value of the kinds value reads.
func (d *fastDecoder) skip() error {
	c, err := d.byte1()
	if err != nil {
		return err
	}
	n, items := 0, 0 // bytes to pass, then values to skip
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c >= 0x80 && c <= 0x8f:
		items = 2 * int(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		items = int(c & 0x0f)
	case c >= 0xcc && c <= 0xcf:
		n = 1 << (c - 0xcc)
	case c >= 0xd0 && c <= 0xd3:
		n = 1 << (c - 0xd0)
	case c == 0xca:
		n = 4
	case c == 0xcb:
		n = 8
	case c == 0xd9, c == 0xc4:
		n, err = d.length(1)
	case c == 0xda, c == 0xc5:
		n, err = d.length(2)
	case c == 0xdb, c == 0xc6:
		n, err = d.length(4)
	case c == 0xdc, c == 0xdd:
		items, err = d.length(2 << (c - 0xdc))
	case c == 0xde, c == 0xdf:
		items, err = d.length(2 << (c - 0xde))
		items *= 2
	default:
		return errSlowPath
	}
	if err != nil {
		return err
	}
	if _, err := d.need(n); err != nil {
		return err
	}
	if items > len(d.b)-d.i {
		return errSlowPath
	}
	for range items {
		if err := d.skip(); err != nil {
			return err
		}
	}
	return nil
}

// bin reads a byte string (or nil) into a []byte field.
func (d *fastDecoder) bin() ([]byte, error) {
	c, err := d.byte1()
	if err != nil {
		return nil, err
	}
	if c == 0xc0 {
		return nil, nil
	}
	p, err := d.binBody(c)
	return append([]byte{}, p...), err // empty, not nil, as msgpack reads it
}

// binBody reads the rest of a byte string whose first byte was c,
// sharing d's bytes.
func (d *fastDecoder) binBody(c byte) ([]byte, error) {
	if c < 0xc4 || c > 0xc6 {
		return nil, errSlowPath
	}
	n, err := d.length(1 << (c - 0xc4))
	if err != nil {
		return nil, err
	}
	return d.need(n)
}

// arrayLen reads an array header.
func (d *fastDecoder) arrayLen() (int, error) {
	c, err := d.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), nil
	case c == 0xdc, c == 0xdd:
		return d.length(2 << (c - 0xdc))
	}
	return 0, errSlowPath
}

// binArray reads an array of byte strings, sharing d's bytes.
func (d *fastDecoder) binArray() ([][]byte, error) {
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	if n > len(d.b)-d.i {
		return nil, errSlowPath
	}
	out := make([][]byte, n)
	for i := range out {
		c, err := d.byte1()
		if err != nil {
			return nil, err
		}
		if out[i], err = d.binBody(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *fastDecoder) arrayBody(n int) (any, error) {
	if n > len(d.b)-d.i {
		return nil, errSlowPath
	}
	out := make([]any, n)
	for i := range out {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (d *fastDecoder) mapBody(n int) (any, error) {
	if n > len(d.b)-d.i {
		return nil, errSlowPath
	}
	m := make(map[string]any, n)
	for range n {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// encodeRecordFast encodes a record to exactly the bytes encodeRecord's
// msgpack encoder writes (struct fields in order, map keys sorted,
// compact integers), without reflection: the projector writes a record
// per event. A value of a type a decoded document never holds returns
// errSlowPath.
func encodeRecordFast(rec *Record) ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, 0x84)
	b = appendStr(b, "seq")
	b = appendUint(b, uint64(rec.Seq))
	b = appendStr(b, "version")
	b = appendUint(b, rec.Version)
	b = appendStr(b, "hash")
	b = appendBin(b, rec.Hash)
	b = appendStr(b, "doc")
	if rec.Doc == nil {
		return append(b, 0xc0), nil
	}
	return appendMap(b, rec.Doc)
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

// appendLen writes a length header: fix (up to fixMax, or'ed into fix),
// then the 8-bit (when code8 is not 0), 16-bit and 32-bit forms.
func appendLen(b []byte, n int, fix byte, fixMax int, code8, code16, code32 byte) []byte {
	switch {
	case n <= fixMax:
		return append(b, fix|byte(n))
	case code8 != 0 && n <= math.MaxUint8:
		return append(b, code8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, code16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, code32), uint32(n))
}

func appendStr(b []byte, s string) []byte {
	return append(appendLen(b, len(s), 0xa0, 31, 0xd9, 0xda, 0xdb), s...)
}

func appendBin(b []byte, p []byte) []byte {
	if p == nil {
		return append(b, 0xc0)
	}
	return append(appendLen(b, len(p), 0xc4, -1, 0xc4, 0xc5, 0xc6), p...)
}

func appendMap(b []byte, m map[string]any) ([]byte, error) {
	b = appendLen(b, len(m), 0x80, 15, 0, 0xde, 0xdf)
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var err error
	for _, k := range ks {
		b = appendStr(b, k)
		if b, err = appendValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case int64:
		return appendInt(b, x), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(x)), nil
	case string:
		return appendStr(b, x), nil
	case []byte:
		return appendBin(b, x), nil
	case map[string]any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return appendMap(b, x)
	case []any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		b = appendLen(b, len(x), 0x90, 15, 0, 0xdc, 0xdd)
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, errSlowPath
}
