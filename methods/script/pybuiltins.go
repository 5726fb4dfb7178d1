package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// pyBuiltins are Python built-ins that Starlark lacks and Frappe scripts
// use: sum, round, isinstance and format (also behind f-string specs).
func pyBuiltins() starlark.StringDict {
	return builtins(map[string]builtinFn{
		"sum":         sum,
		"round":       round,
		"isinstance":  isinstance,
		"format":      formatBuiltin,
		"pow":         pow,
		fstringFormat: formatBuiltin,
	})
}

func sum(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var it starlark.Iterable
	var acc starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "iterable", &it, "start?", &acc); err != nil {
		return nil, err
	}
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		var err error
		if acc, err = starlark.Binary(syntax.PLUS, acc, x); err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
	}
	return acc, nil
}

// round implements Python's round(number, ndigits=None), rounding half to
// even.
func round(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, nd starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	hasDigits := nd != nil && nd != starlark.None
	n, err := asInt64(nd, 0)
	if err != nil {
		return nil, fmt.Errorf("round: ndigits: %w", err)
	}
	switch v := x.(type) {
	case starlark.Int:
		if n >= 0 {
			return v, nil
		}
		p := math.Pow(10, float64(-n))
		if math.IsInf(p, 0) {
			return starlark.MakeInt(0), nil
		}
		f, _ := starlark.AsFloat(v)
		return starlark.NumberToInt(starlark.Float(math.RoundToEven(f/p) * p))
	case starlark.Float:
		f := float64(v)
		if !hasDigits {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("round: cannot convert %s to integer", v)
			}
			return starlark.NumberToInt(starlark.Float(math.RoundToEven(f)))
		}
		if n < 0 {
			p := math.Pow(10, float64(-n))
			if math.IsInf(p, 0) {
				return starlark.Float(math.Copysign(0, f)), nil
			}
			return starlark.Float(math.RoundToEven(f/p) * p), nil
		}
		return starlark.Float(roundHalfEven(f, int(n))), nil
	case starlark.Bool:
		if v {
			return starlark.MakeInt(1), nil
		}
		return starlark.MakeInt(0), nil
	}
	return nil, fmt.Errorf("round: want a number, got %s", x.Type())
}

// maxPowBits bounds the size of an int computed by pow.
const maxPowBits = 1 << 22

// pow implements pow(base, exp): an int for int operands and a
// non-negative exponent, a float otherwise.
func pow(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	xi, xInt := x.(starlark.Int)
	yi, yInt := y.(starlark.Int)
	if xInt && yInt && yi.Sign() >= 0 {
		n, ok := yi.Int64()
		if !ok || n > 10_000 {
			return nil, fmt.Errorf("pow: exponent too large")
		}
		if bits := int64(xi.BigInt().BitLen()); bits > 1 && bits*n > maxPowBits {
			return nil, fmt.Errorf("pow: result too large (more than %d bits)", maxPowBits)
		}
		acc := starlark.MakeInt(1)
		for base := xi; n > 0; n >>= 1 {
			if n&1 == 1 {
				acc = acc.Mul(base)
			}
			if n > 1 {
				base = base.Mul(base)
			}
		}
		return acc, nil
	}
	fx, ok1 := starlark.AsFloat(x)
	fy, ok2 := starlark.AsFloat(y)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pow: want numbers, got %s and %s", x.Type(), y.Type())
	}
	return starlark.Float(math.Pow(fx, fy)), nil
}

// isinstanceTypes maps the built-ins scripts pass to isinstance to the
// Starlark type names they stand for.
var isinstanceTypes = map[string][]string{
	"str":   {"string"},
	"int":   {"int", "bool"},
	"float": {"float"},
	"bool":  {"bool"},
	"list":  {"list"},
	"dict":  {"dict", "_dict"},
	"_dict": {"_dict"},
	"tuple": {"tuple"},
	"set":   {"set"},
	"bytes": {"bytes"},
}

func isinstance(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, classes starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &classes); err != nil {
		return nil, err
	}
	list := starlark.Tuple{classes}
	if t, ok := classes.(starlark.Tuple); ok {
		list = t
	}
	for _, c := range list {
		var names []string
		switch c := c.(type) {
		case *starlark.Builtin:
			names = isinstanceTypes[c.Name()]
		case starlark.String:
			names = []string{string(c)}
		}
		if names == nil {
			return nil, fmt.Errorf("isinstance: unsupported class %s", c)
		}
		for _, n := range names {
			if x.Type() == n {
				return starlark.True, nil
			}
		}
	}
	return starlark.False, nil
}

func formatBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	var spec string
	if err := starlark.UnpackPositionalArgs("format", args, kwargs, 1, &v, &spec); err != nil {
		return nil, err
	}
	s, err := formatValue(v, spec)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return starlark.String(s), nil
}

// fmtSpec is a parsed Python format specification.
type fmtSpec struct {
	fill             rune
	align, sign      byte
	width, precision int // precision -1: none
	group, typ       byte
}

// specNumber reads the digits of a width or precision, at most maxIndent.
func specNumber(what, digits string) (int, error) {
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxIndent {
		return 0, fmt.Errorf("format %s %s too large (at most %d)", what, digits, maxIndent)
	}
	return n, nil
}

func parseSpec(spec string) (fmtSpec, error) {
	s := fmtSpec{fill: ' ', precision: -1}
	i := 0
	isAlign := func(c byte) bool { return c == '<' || c == '>' || c == '=' || c == '^' }
	fill, size := utf8.DecodeRuneInString(spec)
	if len(spec) > size && isAlign(spec[size]) {
		s.fill, s.align, i = fill, spec[size], size+1
	} else if len(spec) >= 1 && isAlign(spec[0]) {
		s.align, i = spec[0], 1
	}
	if i < len(spec) && strings.IndexByte("+- ", spec[i]) >= 0 {
		s.sign = spec[i]
		i++
	}
	if i < len(spec) && spec[i] == '#' {
		i++
	}
	if i < len(spec) && spec[i] == '0' {
		if s.align == 0 {
			s.fill, s.align = '0', '='
		}
		i++
	}
	j := i
	for j < len(spec) && spec[j] >= '0' && spec[j] <= '9' {
		j++
	}
	if j > i {
		var err error
		if s.width, err = specNumber("width", spec[i:j]); err != nil {
			return s, err
		}
	}
	i = j
	if i < len(spec) && (spec[i] == ',' || spec[i] == '_') {
		s.group = spec[i]
		i++
	}
	if i < len(spec) && spec[i] == '.' {
		j = i + 1
		for j < len(spec) && spec[j] >= '0' && spec[j] <= '9' {
			j++
		}
		if j == i+1 {
			return s, fmt.Errorf("format specifier missing precision")
		}
		var err error
		if s.precision, err = specNumber("precision", spec[i+1:j]); err != nil {
			return s, err
		}
		i = j
	}
	if i < len(spec) {
		s.typ = spec[i]
		i++
	}
	if i != len(spec) || (s.typ != 0 && strings.IndexByte("bcdeEfFgGnosxX%", s.typ) < 0) {
		return s, fmt.Errorf("invalid format specifier %q", spec)
	}
	return s, nil
}

// formatValue formats v as Python's format(v, spec) does, for strings,
// ints, floats and bools (other values accept only an empty spec).
func formatValue(v starlark.Value, spec string) (string, error) {
	if spec == "" {
		return asString(v), nil
	}
	s, err := parseSpec(spec)
	if err != nil {
		return "", err
	}
	if b, ok := v.(starlark.Bool); ok && s.typ != 0 && s.typ != 's' {
		v = starlark.MakeInt(map[bool]int{true: 1, false: 0}[bool(b)])
	}
	var neg bool
	var digits string
	switch x := v.(type) {
	case starlark.Int:
		switch s.typ {
		case 0, 'd', 'n':
			digits = x.String()
		case 'b', 'o', 'x', 'X', 'c':
			i, ok := x.Int64()
			if !ok {
				return "", fmt.Errorf("int too large to format")
			}
			if s.typ == 'c' && (i < 0 || i > unicode.MaxRune) {
				return "", fmt.Errorf("%%c arg not in range(0x110000)")
			}
			digits = map[byte]string{'b': strconv.FormatInt(i, 2), 'o': strconv.FormatInt(i, 8),
				'x': strconv.FormatInt(i, 16), 'X': strings.ToUpper(strconv.FormatInt(i, 16)), 'c': string(rune(i))}[s.typ]
		case 's':
			return "", fmt.Errorf("unknown format code 's' for int")
		default:
			f, _ := starlark.AsFloat(x)
			return formatValue(starlark.Float(f), spec)
		}
		if strings.HasPrefix(digits, "-") {
			neg, digits = true, digits[1:]
		}
	case starlark.Float:
		f := float64(x)
		neg, f = math.Signbit(f), math.Abs(f)
		p := s.precision
		switch s.typ {
		case 'f', 'F':
			digits = strconv.FormatFloat(f, 'f', defaultPrec(p), 64)
		case 'e', 'E':
			digits = strconv.FormatFloat(f, byte(s.typ), defaultPrec(p), 64)
		case 'g', 'G', 'n':
			if p == 0 {
				p = 1
			}
			digits = strconv.FormatFloat(f, 'g', defaultPrec(p), 64)
		case '%':
			digits = strconv.FormatFloat(f*100, 'f', defaultPrec(p), 64) + "%"
		case 0:
			if p < 0 {
				digits = pyNumber(f)
			} else {
				digits = strconv.FormatFloat(f, 'g', max(p, 1), 64)
			}
		default:
			return "", fmt.Errorf("unknown format code '%c' for float", s.typ)
		}
	default:
		if s.typ != 0 && s.typ != 's' {
			return "", fmt.Errorf("unknown format code '%c' for %s", s.typ, v.Type())
		}
		str := asString(v)
		if s.precision >= 0 {
			str = truncateRunes(str, s.precision)
		}
		if s.align == 0 {
			s.align = '<'
		}
		return pad(s, "", str), nil
	}
	if s.group != 0 {
		digits = group(digits, s.group)
	}
	sign := ""
	switch {
	case neg:
		sign = "-"
	case s.sign == '+':
		sign = "+"
	case s.sign == ' ':
		sign = " "
	}
	if s.align == 0 {
		s.align = '>'
	}
	return pad(s, sign, digits), nil
}

func defaultPrec(p int) int {
	if p < 0 {
		return 6
	}
	return p
}

// group inserts sep every three digits of the integer part.
func group(digits string, sep byte) string {
	end := len(digits)
	for i, c := range digits {
		if c < '0' || c > '9' {
			end = i
			break
		}
	}
	var b strings.Builder
	for i := 0; i < end; i++ {
		if i > 0 && (end-i)%3 == 0 {
			b.WriteByte(sep)
		}
		b.WriteByte(digits[i])
	}
	return b.String() + digits[end:]
}

// truncateRunes returns the first n runes of str.
func truncateRunes(str string, n int) string {
	for i := range str {
		if n == 0 {
			return str[:i]
		}
		n--
	}
	return str
}

// pad applies width, fill and alignment; the width is at most maxIndent.
func pad(s fmtSpec, sign, body string) string {
	n := s.width - utf8.RuneCountInString(sign) - utf8.RuneCountInString(body)
	if n <= 0 {
		return sign + body
	}
	fill := string(s.fill)
	switch s.align {
	case '<':
		return sign + body + strings.Repeat(fill, n)
	case '^':
		return strings.Repeat(fill, n/2) + sign + body + strings.Repeat(fill, n-n/2)
	case '=':
		return sign + strings.Repeat(fill, n) + body
	}
	return strings.Repeat(fill, n) + sign + body
}
