package query

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestFoldKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc-123", "abc-123"},
		{"ABC", "abc"},
		{"ÉtÉ", "été"},
		{"\u212a", "k"}, // Kelvin sign folds with K and k
		{"K", "k"},
		{"ſ", "s"}, // long s folds with S and s
		{"ΣΑΣ", "σασ"},
		{"σας", "σασ"},
		{"ǅ", "ǆ"},
		{"a\xffB", "a\xffb"},
	}
	for _, tt := range tests {
		if got := FoldKey(tt.in); got != tt.want {
			t.Errorf("FoldKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := FoldKey(FoldKey(tt.in)); got != tt.want {
			t.Errorf("FoldKey is not idempotent on %q: %q", tt.in, got)
		}
	}
}

func TestFoldKeyAgreesWithEqualFold(t *testing.T) {
	words := []string{"a", "A", "k", "K", "\u212a", "s", "S", "ſ", "ß", "ẞ", "σ", "ς", "Σ", "é", "É", "1", "\xff", "Ǆ", "ǅ", "ǆ"}
	for _, a := range words {
		for _, b := range words {
			if !utf8.ValidString(a) || !utf8.ValidString(b) {
				continue
			}
			if got, want := FoldKey(a) == FoldKey(b), strings.EqualFold(a, b); got != want {
				t.Errorf("FoldKey(%q)==FoldKey(%q) is %v, EqualFold is %v", a, b, got, want)
			}
		}
	}
}

// TestFoldRuneCanonical checks every rune: foldRune is a member of the rune's
// orbit and the same for all members.
func TestFoldRuneCanonical(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		c := foldRune(r)
		inOrbit := c == r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			inOrbit = inOrbit || f == c
			if foldRune(f) != c {
				t.Fatalf("foldRune(%U) = %U but foldRune(%U) = %U", r, c, f, foldRune(f))
			}
		}
		if !inOrbit {
			t.Fatalf("foldRune(%U) = %U is not in its orbit", r, c)
		}
		if (unicode.SimpleFold(r) == r) != (c == r && isCaseless(string(r))) && utf8.ValidRune(r) {
			t.Fatalf("isCaseless disagrees for %U", r)
		}
	}
}

func TestIsCaseless(t *testing.T) {
	for _, s := range []string{"", "123", "2024-01-05", "a-b"[1:2], "中文", "\xff"} {
		if !isCaseless(s) {
			t.Errorf("isCaseless(%q) = false", s)
		}
	}
	for _, s := range []string{"a", "1A", "é", "ß", "\u212a"} {
		if isCaseless(s) {
			t.Errorf("isCaseless(%q) = true", s)
		}
	}
}
