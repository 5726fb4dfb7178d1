package query

// likePattern is a compiled SQL LIKE pattern as Frappe builds it: % matches
// any sequence of characters, _ exactly one, and every other character —
// backslash included, since Frappe doubles backslashes — matches itself,
// case-insensitively.
type likePattern struct {
	p []rune // folded characters; the wildcards are anyRun and anyOne
}

const (
	anyRun rune = -1 << 20 // '%'
	anyOne rune = -2 << 20 // '_'
)

func compileLike(pattern string) likePattern {
	p := foldedChars(pattern)
	out := p[:0]
	for _, r := range p {
		switch r {
		case '%':
			if len(out) > 0 && out[len(out)-1] == anyRun {
				continue // %% is %
			}
			out = append(out, anyRun)
		case '_':
			out = append(out, anyOne)
		default:
			out = append(out, r)
		}
	}
	return likePattern{p: out}
}

// match reports whether s matches. It is the iterative wildcard matcher
// that backtracks only to the most recent '%': O(len(s)·len(pattern)) in the
// worst case, no recursion, no exponential blow-up.
func (lp likePattern) match(s string) bool {
	t := foldedChars(s)
	p := lp.p
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == anyOne || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == anyRun:
			star, mark = pi, ti
			pi++
		case star >= 0:
			mark++
			pi, ti = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == anyRun {
		pi++
	}
	return pi == len(p)
}

// Like reports whether s matches the SQL LIKE pattern with Frappe's
// semantics on MariaDB: % matches any sequence, _ one character, comparison is
// case-insensitive (simple case folding), and backslash has no special
// meaning. Nothing is added around the pattern.
func Like(s, pattern string) bool { return compileLike(pattern).match(s) }
