package projections

import (
	"encoding/binary"
	"errors"
	"math"

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
	d := fastDecoder{b: v}
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
			x, err := d.value()
			if err != nil {
				return nil, err
			}
			switch m := x.(type) {
			case map[string]any:
				rec.Doc = m
			case nil:
			default:
				return nil, errSlowPath
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
	p, err := d.need(n)
	return string(p), err
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

// bin reads a byte string (or nil) into a []byte field.
func (d *fastDecoder) bin() ([]byte, error) {
	c, err := d.byte1()
	if err != nil {
		return nil, err
	}
	if c == 0xc0 {
		return nil, nil
	}
	if c < 0xc4 || c > 0xc6 {
		return nil, errSlowPath
	}
	n, err := d.length(1 << (c - 0xc4))
	if err != nil {
		return nil, err
	}
	p, err := d.need(n)
	return append([]byte(nil), p...), err
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
