package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FoldKey returns the key string comparisons of this package use for s: every
// rune is replaced by a canonical member (usually the lower case) of its
// Unicode simple case-folding orbit (so FoldKey(a) == FoldKey(b) exactly when strings.EqualFold(a, b) for
// valid UTF-8), and invalid UTF-8 bytes are kept as they are. String-like
// fields compare FoldKey values byte-wise; a planner that indexes FoldKey of
// the stored values can use [Predicate.FoldEq]. FoldKey is idempotent, and
// caseless strings (digits, dates…) are returned unchanged. Its output ends
// up in persisted indexes, so changing it requires re-indexing.
func FoldKey(s string) string {
	if isCaseless(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteByte(s[i])
		} else {
			b.WriteRune(foldRune(r))
		}
		i += size
	}
	return b.String()
}

// foldRune returns the canonical rune of r's case-folding orbit: the lower
// case of the orbit's smallest rune when that is in the orbit ('K', 'k' and
// the Kelvin sign all give 'k'), else the smallest rune.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	l := unicode.ToLower(m)
	if l == m {
		return m
	}
	for f := unicode.SimpleFold(m); f != m; f = unicode.SimpleFold(f) {
		if f == l {
			return l
		}
	}
	return m
}

// isCaseless reports whether no rune of s has other case variants, i.e.
// EqualFold(s, t) implies s == t. Invalid bytes count as caseless.
func isCaseless(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && size == 1) && unicode.SimpleFold(r) != r {
			return false
		}
		i += size
	}
	return true
}

// foldedChars splits s into folded characters for LIKE matching; an invalid
// UTF-8 byte is one character, kept distinct from every rune.
func foldedChars(s string) []rune {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, -1-rune(s[i]))
		} else {
			out = append(out, foldRune(r))
		}
		i += size
	}
	return out
}
