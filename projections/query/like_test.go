package query

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLike(t *testing.T) {
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"", "", true},
		{"", "%", true},
		{"", "_", false},
		{"a", "", false},
		{"abc", "abc", true},
		{"ABC", "abc", true},
		{"abc", "ab", false},
		{"abc", "a%", true},
		{"abc", "%c", true},
		{"abc", "%b%", true},
		{"abc", "%d%", false},
		{"abc", "a_c", true},
		{"abc", "___", true},
		{"abc", "____", false},
		{"abc", "%%%", true},
		{"abc", "a%%c", true},
		{"aXbXc", "a%b%c", true},
		{"acb", "a%b%c", false},
		{"mississippi", "%iss%ipp%", true},
		{"mississippi", "m%s_s%i", true},
		{"été", "ÉTÉ", true},
		{"été", "_t_", true},
		{"straße", "STRASSE", false}, // simple folding only
		{`a\b`, `a\b`, true},
		{`a%b`, `a\%b`, false}, // backslash is literal
		{`a\xb`, `a\%b`, true},
		{`a_b`, `a\_b`, false},
		{"\xff", "_", true},
		{"\xff", "\xfe", false},
		{"\xff", "\xff", true},
	}
	for _, tt := range tests {
		if got := Like(tt.s, tt.pattern); got != tt.want {
			t.Errorf("Like(%q, %q) = %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}

func TestLikeLinearTime(t *testing.T) {
	// Patterns that make backtracking regex engines explode.
	s := strings.Repeat("a", 20000)
	p := strings.Repeat("%a", 30) + "b"
	if Like(s, p) {
		t.Fatal("unexpected match")
	}
	if !Like(s+"b", p) {
		t.Fatal("expected match")
	}
}

// likeRef is a direct recursive definition of LIKE, for short inputs.
func likeRef(s, p []rune) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch p[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeRef(s[i:], p[1:]) {
				return true
			}
		}
		return false
	case '_':
		return len(s) > 0 && likeRef(s[1:], p[1:])
	}
	return len(s) > 0 && s[0] == p[0] && likeRef(s[1:], p[1:])
}

func FuzzLike(f *testing.F) {
	for _, seed := range [][2]string{
		{"abc", "a%c"}, {"mississippi", "%iss%ipp%"}, {"ÉTÉ", "_t_"}, {"a\\b", "a\\%"},
		{"", "%"}, {"aaa", "%%a_"}, {"\xff\xfe", "_%"}, {"Kelvin \u212a", "%k"}, {"İstanbul", "i%"}, {"ſ", "S"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		got := Like(s, pattern)
		if len(s) > 24 || len(pattern) > 12 {
			return
		}
		if !utf8.ValidString(s) || !utf8.ValidString(pattern) {
			return
		}
		fold := func(x string) []rune {
			var out []rune
			for _, r := range x {
				out = append(out, foldRune(r))
			}
			return out
		}
		if want := likeRef(fold(s), fold(pattern)); got != want {
			t.Fatalf("Like(%q, %q) = %v, reference says %v", s, pattern, got, want)
		}
	})
}
