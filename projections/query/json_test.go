package query

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`null`, nil},
		{`"x"`, "x"},
		{` 1.50 `, json.Number("1.50")},
		{`[1,"a",[true,null]]`, []any{json.Number("1"), "a", []any{true, nil}}},
		{`{"b":1,"a":{"y":2,"x":3}}`, object{{"b", json.Number("1")}, {"a", object{{"y", json.Number("2")}, {"x", json.Number("3")}}}}},
		{`{"a":1,"b":2,"a":3}`, object{{"a", json.Number("3")}, {"b", json.Number("2")}}},
		{`{}`, object{}},
		{`[]`, []any{}},
	}
	for _, tt := range tests {
		got, err := decodeJSON(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("decodeJSON(%s) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{``, ` `, `[`, `[1,]`, `{"a"}`, `{1:2}`, `[] x`, `1 2`, `nul`, `"\x"`,
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)} {
		if v, err := decodeJSON(bad); err == nil {
			t.Errorf("decodeJSON(%.40q) = %#v, want error", bad, v)
		}
	}
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := decodeJSON(deep); err != nil {
		t.Errorf("depth %d rejected: %v", maxDepth, err)
	}
}
