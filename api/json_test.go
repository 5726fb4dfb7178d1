package api

import (
	"strings"
	"testing"
)

func TestEncodeLikePython(t *testing.T) {
	o := NewObject().Set("b", 1.0).Set("a", "é😀\n\"<>&/").Set("n", nil).Set("l", []any{int64(1), 0.1, 1e-05, 1e16, true})
	got := string(Encode(o))
	want := `{"b":1.0,"a":"\u00e9\ud83d\ude00\n\"<>&/","n":null,"l":[1,0.1,1e-05,1e+16,true]}`
	if got != want {
		t.Fatalf("Encode = %s\nwant     %s", got, want)
	}
	if got := string(Encode(map[string]any{"z": 1, "a": []string{"x"}})); got != `{"a":["x"],"z":1}` {
		t.Fatalf("map keys not sorted: %s", got)
	}
}

func TestServerMessagesAreDoubleEncoded(t *testing.T) {
	got := serverMessages([]string{"Bad value"}, "Message")
	// A JSON string holding a list of JSON strings of message objects,
	// the inner ones with Python's ", " and ": " separators.
	if !strings.HasPrefix(got, `["{\"message\": \"Bad value\", \"title\": \"Message\", \"indicator\": \"red\", \"raise_exception\": 1, \"__frappe_exc_id\": \"`) {
		t.Fatalf("_server_messages = %s", got)
	}
}
