package eventlog

import (
	"strings"
	"testing"
)

func TestEscapeToken(t *testing.T) {
	cases := map[string]string{
		"ToDo":          "ToDo",
		"Sales Invoice": "Sales_20Invoice",
		"SINV-0001":     "SINV-0001",
		"a_b":           "a__b",
		"a.b*c>d":       "a_2Eb_2Ac_3Ed",
		"":              "_",
		"é":             "_C3_A9",
		"x/y":           "x_2Fy",
	}
	for in, want := range cases {
		if got := EscapeToken(in); got != want {
			t.Errorf("EscapeToken(%q) = %q, want %q", in, got, want)
		}
		back, err := UnescapeToken(want)
		if err != nil || back != in {
			t.Errorf("UnescapeToken(%q) = %q, %v; want %q", want, back, err, in)
		}
	}
}

func TestUnescapeTokenRejectsNonCanonical(t *testing.T) {
	for _, tok := range []string{"a_", "a_4", "a_41", "a_5F", "a_zz", "a b", "a.b", "_2e"} {
		if _, err := UnescapeToken(tok); err == nil {
			t.Errorf("UnescapeToken(%q) accepted a non-canonical token", tok)
		}
	}
}

func TestDocSubject(t *testing.T) {
	s := DocSubject("Sales Invoice", "SINV/2024.001")
	if s != "docs.Sales_20Invoice.SINV_2F2024_2E001" {
		t.Fatalf("subject %q", s)
	}
	dt, name, err := ParseDocSubject(s)
	if err != nil || dt != "Sales Invoice" || name != "SINV/2024.001" {
		t.Fatalf("ParseDocSubject = %q %q %v", dt, name, err)
	}
}

// FuzzEscapeToken checks the escaping is reversible and always yields a
// valid subject token.
func FuzzEscapeToken(f *testing.F) {
	for _, s := range []string{"", "ToDo", "a b", "_", "__", "_5F", "\x00\xff", "日本", "a.b>*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := EscapeToken(s)
		if tok == "" || strings.ContainsAny(tok, " .*>\t\r\n\x00") {
			t.Fatalf("EscapeToken(%q) = %q is not a valid token", s, tok)
		}
		for i := 0; i < len(tok); i++ {
			if tok[i] >= 0x80 {
				t.Fatalf("EscapeToken(%q) = %q is not ASCII", s, tok)
			}
		}
		back, err := UnescapeToken(tok)
		if err != nil || back != s {
			t.Fatalf("round trip %q → %q → %q, %v", s, tok, back, err)
		}
		// Any token that unescapes must re-escape to itself (canonical).
		if u, err := UnescapeToken(s); err == nil && EscapeToken(u) != s {
			t.Fatalf("non-canonical token %q accepted as %q", s, u)
		}
	})
}
