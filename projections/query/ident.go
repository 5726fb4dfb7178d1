package query

import (
	"strings"
	"unicode"
)

// colRef is a column reference: "field", "`field`", "table.field",
// "`tabDoc Type`.field" or "`tabDoc Type`.`field`".
type colRef struct {
	Table   string // prefix before the dot: a table/link fieldname or a DocType name
	DocType string // the DocType when the prefix was written `tabX` (then Table == DocType)
	Name    string // fieldname, or "*"
}

// isIdent reports whether s is a plain identifier ([A-Za-z0-9_]+).
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// isDocTypeName reports whether s can be a DocType name: letters, digits,
// spaces, '_' and '-', not starting or ending with a space.
func isDocTypeName(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// scanner walks a field, order_by or group_by expression.
type scanner struct {
	s string
	i int
}

func (sc *scanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *scanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *scanner) skipSpace() bool {
	start := sc.i
	for !sc.eof() && isSpace(sc.s[sc.i]) {
		sc.i++
	}
	return sc.i > start
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// word reads a run of identifier characters.
func (sc *scanner) word() string {
	start := sc.i
	for !sc.eof() && isIdent(sc.s[sc.i:sc.i+1]) {
		sc.i++
	}
	return sc.s[start:sc.i]
}

// keyword consumes kw (case-insensitive) when it is followed by a non-word
// character.
func (sc *scanner) keyword(kw string) bool {
	end := sc.i + len(kw)
	if end > len(sc.s) || !strings.EqualFold(sc.s[sc.i:end], kw) {
		return false
	}
	if end < len(sc.s) && isIdent(sc.s[end:end+1]) {
		return false
	}
	sc.i = end
	return true
}

// part reads "`text`", "*" or a bare identifier.
func (sc *scanner) part() (text string, quoted, ok bool) {
	switch sc.peek() {
	case '`':
		end := strings.IndexByte(sc.s[sc.i+1:], '`')
		if end < 0 {
			return "", false, false
		}
		text = sc.s[sc.i+1 : sc.i+1+end]
		sc.i += end + 2
		return text, true, true
	case '*':
		sc.i++
		return "*", false, true
	}
	w := sc.word()
	return w, false, w != ""
}

// colRef reads a column reference; "*" is accepted as the column only when
// allowStar is set.
func (sc *scanner) colRef(allowStar bool) (colRef, bool) {
	p1, q1, ok := sc.part()
	if !ok {
		return colRef{}, false
	}
	if sc.peek() != '.' {
		if p1 == "*" && !q1 {
			return colRef{Name: "*"}, allowStar
		}
		return colRef{Name: p1}, isIdent(p1)
	}
	sc.i++ // '.'
	p2, q2, ok := sc.part()
	if !ok {
		return colRef{}, false
	}
	var ref colRef
	switch {
	case p1 == "*" && !q1:
		return colRef{}, false
	case q1 && strings.HasPrefix(p1, "tab"):
		ref.DocType = p1[3:]
		if !isDocTypeName(ref.DocType) {
			return colRef{}, false
		}
	case !q1 && len(p1) > 3 && strings.HasPrefix(p1, "tab") && 'A' <= p1[3] && p1[3] <= 'Z':
		// Unquoted tabToDo.status: Frappe reads the prefix as a table name.
		ref.DocType = p1[3:]
	default:
		if !isIdent(p1) {
			return colRef{}, false
		}
	}
	ref.Table = p1
	if ref.DocType != "" {
		ref.Table = ref.DocType
	}
	switch {
	case p2 == "*" && !q2:
		if !allowStar {
			return colRef{}, false
		}
		ref.Name = "*"
	case isIdent(p2):
		ref.Name = p2
	default:
		return colRef{}, false
	}
	return ref, true
}

// parseColRef parses s (surrounding white space allowed) as one column
// reference without "*".
func parseColRef(s string) (colRef, bool) {
	sc := scanner{s: s}
	sc.skipSpace()
	ref, ok := sc.colRef(false)
	sc.skipSpace()
	return ref, ok && sc.eof()
}
