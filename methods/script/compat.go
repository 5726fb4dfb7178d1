package script

import (
	"strconv"
	"strings"
)

// fstringFormat is the predeclared name f-string rewrites call for fields
// with a format spec; scripts cannot shadow it by accident.
const fstringFormat = "__fstring_format"

// rewritePython turns two common Python spellings Starlark lacks into
// Starlark, leaving everything else (comments and other strings included)
// as it is and keeping every line where it was:
//
//   - "is not" and "is" become "!=" and "==" (padded to the same width);
//   - f-strings become str.format calls: f"{a} {b!r} {c:.2f}" becomes
//     "{} {!r} {}".format((a), (b), __fstring_format((c), ".2f"));
//   - the u"" prefix is dropped.
//
// An f-string it cannot rewrite (nested fields in a format spec, a lone
// "}") is left as it is, and Starlark reports the syntax error.
func rewritePython(src string) string {
	var out strings.Builder
	out.Grow(len(src))
	n := len(src)
	for i := 0; i < n; {
		c := src[i]
		switch {
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = n - i
			}
			out.WriteString(src[i : i+j])
			i += j
		case c == '\'' || c == '"':
			end := scanString(src, i)
			out.WriteString(src[i:end])
			i = end
		case c >= '0' && c <= '9':
			j := i
			for j < n && (isIdentByte(src[j]) || src[j] == '.') {
				j++
			}
			out.WriteString(src[i:j])
			i = j
		case isIdentByte(c):
			j := i
			for j < n && isIdentByte(src[j]) {
				j++
			}
			word := src[i:j]
			if j < n && (src[j] == '\'' || src[j] == '"') && isStringPrefix(word) {
				end := scanString(src, j)
				switch {
				case strings.ContainsAny(word, "fF"):
					out.WriteString(rewriteFString(word, src[j:end]))
				case word == "u" || word == "U":
					out.WriteString(src[j:end]) // Starlark strings are already Unicode
				default:
					out.WriteString(src[i:end])
				}
				i = end
				continue
			}
			if word == "is" && (i == 0 || src[i-1] != '.') {
				k := j
				for k < n && (src[k] == ' ' || src[k] == '\t') {
					k++
				}
				if k > j && strings.HasPrefix(src[k:], "not") && (k+3 == n || !isIdentByte(src[k+3])) {
					out.WriteString("!=")
					out.WriteString(strings.Repeat(" ", k+3-i-2))
					i = k + 3
					continue
				}
				out.WriteString("==")
				i = j
				continue
			}
			out.WriteString(word)
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// scanString returns the index just after the string literal whose
// opening quote is at src[q] (or the end of the line or file when it is not
// terminated, leaving the error to Starlark).
func scanString(src string, q int) int {
	quote := src[q]
	triple := strings.HasPrefix(src[q:], strings.Repeat(string(quote), 3))
	i := q + 1
	if triple {
		i = q + 3
	}
	for i < len(src) {
		switch c := src[i]; {
		case c == '\\':
			i += 2
			continue
		case c == '\n' && !triple:
			return i
		case c == quote:
			if !triple {
				return i + 1
			}
			if strings.HasPrefix(src[i:], strings.Repeat(string(quote), 3)) {
				return i + 3
			}
		}
		i++
	}
	return len(src)
}

// rewriteFString rewrites one f-string literal (prefix is its prefix, lit
// the quoted text) or returns it unchanged when it cannot.
func rewriteFString(prefix, lit string) string {
	orig := prefix + lit
	ql := 1
	if len(lit) >= 6 && lit[0] == lit[1] && lit[1] == lit[2] {
		ql = 3
	}
	if len(lit) < 2*ql || lit[len(lit)-ql:] != lit[:ql] {
		return orig // unterminated
	}
	raw := strings.ContainsAny(prefix, "rR")
	rest := strings.NewReplacer("f", "", "F", "").Replace(prefix)
	body := lit[ql : len(lit)-ql]
	var text strings.Builder
	var args []string
	for k := 0; k < len(body); {
		switch ch := body[k]; {
		case ch == '\\' && !raw && k+1 < len(body):
			text.WriteString(body[k : k+2])
			k += 2
		case ch == '{' && strings.HasPrefix(body[k:], "{{"):
			text.WriteString("{{")
			k += 2
		case ch == '}' && strings.HasPrefix(body[k:], "}}"):
			text.WriteString("}}")
			k += 2
		case ch == '}':
			return orig
		case ch == '{':
			field, arg, end, ok := fstringField(body, k+1)
			if !ok {
				return orig
			}
			text.WriteString(field)
			args = append(args, arg)
			k = end
		default:
			text.WriteByte(ch)
			k++
		}
	}
	q := lit[:ql]
	return rest + q + text.String() + q + ".format(" + strings.Join(args, ", ") + ")"
}

// fstringField parses the replacement field starting after its "{" at
// body[start]; it returns the str.format field, the argument expression
// and the index after the closing "}".
func fstringField(body string, start int) (field, arg string, end int, ok bool) {
	depth := 0
	m := start
scan:
	for ; m < len(body); m++ {
		switch c := body[m]; c {
		case '\'', '"':
			j := strings.IndexByte(body[m+1:], c)
			if j < 0 {
				return "", "", 0, false
			}
			m += j + 1
		case '(', '[', '{':
			depth++
		case ')', ']':
			depth--
		case '}':
			if depth == 0 {
				break scan
			}
			depth--
		case '!':
			if depth == 0 && (m+1 >= len(body) || body[m+1] != '=') {
				break scan
			}
		case ':':
			if depth == 0 {
				break scan
			}
		}
	}
	expr := strings.TrimSpace(body[start:m])
	if expr == "" || m >= len(body) {
		return "", "", 0, false
	}
	conv := byte(0)
	if body[m] == '!' {
		if m+2 >= len(body) {
			return "", "", 0, false
		}
		conv = body[m+1]
		if conv == 'a' {
			conv = 'r'
		}
		if conv != 'r' && conv != 's' {
			return "", "", 0, false
		}
		m += 2
	}
	spec := ""
	if body[m] == ':' {
		j := strings.IndexByte(body[m:], '}')
		if j < 0 {
			return "", "", 0, false
		}
		spec = body[m+1 : m+j]
		if strings.ContainsAny(spec, "{") {
			return "", "", 0, false
		}
		m += j
	}
	if m >= len(body) || body[m] != '}' {
		return "", "", 0, false
	}
	arg = "(" + rewritePython(expr) + ")"
	if spec == "" {
		if conv != 0 {
			return "{!" + string(conv) + "}", arg, m + 1, true
		}
		return "{}", arg, m + 1, true
	}
	switch conv {
	case 'r':
		arg = "repr" + arg
	case 's':
		arg = "str" + arg
	}
	return "{}", fstringFormat + "(" + arg + ", " + strconv.Quote(spec) + ")", m + 1, true
}
