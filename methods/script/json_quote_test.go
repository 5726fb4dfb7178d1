package script

import (
	"testing"

	"go.starlark.net/starlark"
)

// The JSON string escapes follow Python's json.dumps, with and without
// ensure_ascii.
func TestJSONQuote(t *testing.T) {
	for _, c := range []struct {
		in          string
		ascii, want string
	}{
		{"plain", `"plain"`, `"plain"`},
		{"a\"b\\c\n\r\t\b\f\x01", `"a\"b\\c\n\r\t\b\f\u0001"`, `"a\"b\\c\n\r\t\b\f\u0001"`},
		{"\x7f", `"\u007f"`, "\"\x7f\""},
		{"é€😀", `"\u00e9\u20ac\ud83d\ude00"`, `"é€😀"`},
		{"\xff" + "x", `"\ufffdx"`, `"\ufffdx"`},
		{"\uFFFD", `"\ufffd"`, "\"\uFFFD\""},
	} {
		for _, ascii := range []bool{true, false} {
			want := c.want
			if ascii {
				want = c.ascii
			}
			e := newJSONEncoder("", false, false, ascii)
			if err := e.encode(starlark.String(c.in), 0); err != nil || e.buf.String() != want {
				t.Errorf("%q ascii=%v: got %s %v, want %s", c.in, ascii, e.buf.String(), err, want)
			}
		}
	}
}
