// Package keys implements an order-preserving tuple encoding for Pebble keys.
//
// A key is a concatenation of encoded components. Each component starts with
// a type tag byte and is self-delimiting, so comparing two encoded tuples with
// bytes.Compare gives the same result as comparing the tuples component by
// component, and an encoded tuple prefix is a byte prefix of the key.
//
// Values of different types sort by type:
//
//	Null < false < true < Int < Float < String < Bytes
//
// Ints and floats use different tags and are not ordered numerically against
// each other; callers normalise a field's values to a single type before
// encoding.
//
// A component is made descending by inverting (ones' complement) all of its
// bytes, tag and terminator included; see [Invert] and [AppendValueDesc].
// Decoding recognises inverted components from their tag byte.
package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
)

// Ascending tag bytes. They lie in 0x01..0x0F so that inverted (descending)
// tags lie in 0xF0..0xFE and the two ranges never collide.
const (
	tagNull   byte = 0x01
	tagFalse  byte = 0x02
	tagTrue   byte = 0x03
	tagInt    byte = 0x04
	tagFloat  byte = 0x05
	tagString byte = 0x06
	tagBytes  byte = 0x07
)

// String and bytes framing: 0x00 is escaped as 0x00 0xFF and the value is
// terminated by 0x00 0x01.
const (
	escByte  byte = 0x00
	escCont  byte = 0xFF
	escTerm  byte = 0x01
	signFlip      = 1 << 63
)

var (
	errTruncated = errors.New("keys: truncated input")
	errEscape    = errors.New("keys: invalid escape sequence")
)

// AppendNull appends an encoded null to b.
func AppendNull(b []byte) []byte { return append(b, tagNull) }

// AppendBool appends an encoded bool to b; false sorts before true.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, tagTrue)
	}
	return append(b, tagFalse)
}

// AppendInt appends an encoded int64 to b: the tag followed by the big-endian
// bytes of v with the sign bit flipped.
func AppendInt(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tagInt), uint64(v)^signFlip)
}

// AppendFloat appends an encoded float64 to b. -0 is canonicalised to +0 and
// every NaN to the positive quiet NaN 0x7FF8000000000000, which sorts after
// +Inf; decoding therefore yields +0 for -0 and that NaN for any NaN.
func AppendFloat(b []byte, v float64) []byte {
	if v == 0 {
		v = 0
	}
	u := math.Float64bits(v)
	if v != v {
		u = 0x7FF8_0000_0000_0000 // canonical quiet NaN
	}
	if u&signFlip != 0 {
		u = ^u
	} else {
		u |= signFlip
	}
	return binary.BigEndian.AppendUint64(append(b, tagFloat), u)
}

// AppendString appends an encoded string to b. s may hold arbitrary bytes,
// including 0x00 and invalid UTF-8.
func AppendString(b []byte, s string) []byte { return appendEscaped(b, tagString, s) }

// AppendBytes appends an encoded byte slice to b. It is framed like
// AppendString but sorts after all strings.
func AppendBytes(b []byte, v []byte) []byte { return appendEscaped(b, tagBytes, v) }

// appendEscaped appends tag, s with every 0x00 escaped as 0x00 0xFF, and the
// terminator 0x00 0x01.
func appendEscaped[T string | []byte](b []byte, tag byte, s T) []byte {
	b = append(b, tag)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == escByte {
			b = append(append(b, s[start:i+1]...), escCont)
			start = i + 1
		}
	}
	return append(append(b, s[start:]...), escByte, escTerm)
}

// ErrUnsupported is returned (wrapped) by AppendValueErr for values it cannot
// encode.
var ErrUnsupported = errors.New("keys: unsupported value")

// AppendValue is like AppendValueErr but panics on error.
func AppendValue(b []byte, v any) []byte {
	b, err := AppendValueErr(b, v)
	if err != nil {
		panic(err)
	}
	return b
}

// AppendValueErr appends the encoding of v to b. Supported are nil, bool,
// every signed and unsigned integer kind (encoded as Int), float32 and
// float64 (encoded as Float), string and []byte, including named types with
// those underlying kinds. Unsigned values above math.MaxInt64 and
// unsupported types return an error wrapping ErrUnsupported; b is then
// returned unchanged.
func AppendValueErr(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return AppendNull(b), nil
	case bool:
		return AppendBool(b, x), nil
	case int:
		return AppendInt(b, int64(x)), nil
	case int64:
		return AppendInt(b, x), nil
	case int32:
		return AppendInt(b, int64(x)), nil
	case float64:
		return AppendFloat(b, x), nil
	case string:
		return AppendString(b, x), nil
	case []byte:
		return AppendBytes(b, x), nil
	}
	// Slow path: remaining integer kinds, float32 and named types.
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Bool:
		return AppendBool(b, r.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return AppendInt(b, r.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := r.Uint()
		if u > math.MaxInt64 {
			return b, fmt.Errorf("%w: %T %d overflows int64", ErrUnsupported, v, u)
		}
		return AppendInt(b, int64(u)), nil
	case reflect.Float32, reflect.Float64:
		return AppendFloat(b, r.Float()), nil
	case reflect.String:
		return AppendString(b, r.String()), nil
	case reflect.Slice:
		if r.Type().Elem().Kind() == reflect.Uint8 {
			return AppendBytes(b, r.Bytes()), nil
		}
	}
	return b, fmt.Errorf("%w: %T", ErrUnsupported, v)
}

// Invert replaces every byte of b[start:] with its ones' complement, turning
// ascending components into descending ones (and back).
func Invert(b []byte, start int) {
	for i := start; i < len(b); i++ {
		b[i] = ^b[i]
	}
}

// AppendValueDesc appends the descending encoding of v to b: AppendValue
// followed by Invert of the appended bytes. It panics like AppendValue.
func AppendValueDesc(b []byte, v any) []byte {
	n := len(b)
	b = AppendValue(b, v)
	Invert(b, n)
	return b
}

// DecodeOne decodes the first component of b, ascending or descending, and
// returns its value (nil, bool, int64, float64, string or []byte) and the
// remaining bytes. Malformed input yields an error, never a panic.
func DecodeOne(b []byte) (v any, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errTruncated
	}
	var mask byte // XOR mask: 0x00 for ascending, 0xFF for descending
	raw, tag := b[0], b[0]
	if tag >= 0xF0 {
		mask, tag = 0xFF, ^tag
	}
	b = b[1:]
	switch tag {
	case tagNull:
		return nil, b, nil
	case tagFalse, tagTrue:
		return tag == tagTrue, b, nil
	case tagInt, tagFloat:
		if len(b) < 8 {
			return nil, nil, errTruncated
		}
		u := binary.BigEndian.Uint64(b)
		if mask != 0 {
			u = ^u
		}
		if tag == tagInt {
			return int64(u ^ signFlip), b[8:], nil
		}
		if u&signFlip != 0 {
			u &^= signFlip
		} else {
			u = ^u
		}
		return math.Float64frombits(u), b[8:], nil
	case tagString, tagBytes:
		out, rest, err := decodeEscaped(b, mask)
		if err != nil {
			return nil, nil, err
		}
		if tag == tagString {
			return string(out), rest, nil
		}
		return out, rest, nil
	}
	return nil, nil, fmt.Errorf("keys: unknown tag byte 0x%02x", raw)
}

// decodeEscaped unescapes a string body (bytes XORed with mask) up to and
// including its terminator. It returns a fresh, non-nil slice.
func decodeEscaped(b []byte, mask byte) (out, rest []byte, err error) {
	// First pass: validate, find the terminator and the unescaped length.
	n, end := 0, -1
	for i := 0; i < len(b) && end < 0; i++ {
		n++
		if b[i]^mask != escByte {
			continue
		}
		if i++; i >= len(b) {
			return nil, nil, errTruncated
		}
		switch b[i] ^ mask {
		case escCont:
		case escTerm:
			n, end = n-1, i+1
		default:
			return nil, nil, errEscape
		}
	}
	if end < 0 {
		return nil, nil, errTruncated
	}
	out = make([]byte, 0, n)
	for i := 0; len(out) < n; i++ {
		out = append(out, b[i]^mask)
		if b[i]^mask == escByte {
			i++ // skip the escape continuation byte
		}
	}
	return out, b[end:], nil
}

// Decode decodes all components of b.
func Decode(b []byte) ([]any, error) {
	var vals []any
	for len(b) > 0 {
		v, rest, err := DecodeOne(b)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		b = rest
	}
	return vals, nil
}

// PrefixEnd returns the smallest key greater than every key that has prefix
// p, suitable as Pebble's exclusive UpperBound. It returns nil if no such key
// exists (p is empty or all 0xFF). p is not modified.
func PrefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			end := append([]byte(nil), p[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}
