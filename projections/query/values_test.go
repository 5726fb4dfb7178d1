package query

import (
	"encoding/json"
	"math"
	"testing"
)

func TestPyStr(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"a'b", "a'b"},
		{true, "True"},
		{false, "False"},
		{json.Number("1"), "1"},
		{json.Number("-0"), "0"},
		{json.Number("1.0"), "1.0"},
		{json.Number("1.5"), "1.5"},
		{json.Number("1e3"), "1000.0"},
		{json.Number("1e16"), "1e+16"},
		{json.Number("0.0001"), "0.0001"},
		{json.Number("0.00001"), "1e-05"},
		{json.Number("123456789012345678901234"), "123456789012345678901234"},
		{1.0, "1"},
		{1.5, "1.5"},
		{1e22, "1e+22"},
		{math.Inf(1), "inf"},
		{int64(-7), "-7"},
		{[]any{"a", json.Number("1"), nil, true}, "['a', 1, None, True]"},
		{map[string]any{"b": 1.0, "a": "x"}, "{'a': 'x', 'b': 1}"},
		{object{{"z", "1"}, {"a", []any{}}}, "{'z': '1', 'a': []}"},
		{[]any{"it's", `say "hi"`, "both '\"", "\n\x01\\"}, `["it's", 'say "hi"', 'both \'"', '\n\x01\\']`},
	}
	for _, tt := range tests {
		if got := pyStr(tt.in); got != tt.want {
			t.Errorf("pyStr(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFlt(t *testing.T) {
	tests := []struct {
		in   any
		want float64
	}{
		{nil, 0}, {"", 0}, {"abc", 0}, {"12abc", 0}, {" 12 ", 12}, {"1,234.5", 1234.5},
		{"1e3", 1000}, {"0x10", 0}, {"1_000", 0}, {true, 1}, {false, 0}, {json.Number("2.5"), 2.5},
		{int64(3), 3}, {[]any{1}, 0}, {"-inf", math.Inf(-1)}, {"1e999", math.Inf(1)},
	}
	for _, tt := range tests {
		if got := flt(tt.in); got != tt.want {
			t.Errorf("flt(%#v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !math.IsNaN(flt("nan")) {
		t.Error("flt(nan) is not NaN")
	}
}

func TestTruthy(t *testing.T) {
	falsy := []any{nil, "", false, 0, 0.0, json.Number("0"), json.Number("0.0"), []any{}, map[string]any{}, object{}}
	for _, v := range falsy {
		if truthy(v) {
			t.Errorf("truthy(%#v) = true", v)
		}
	}
	for _, v := range []any{"0", " ", true, 1, json.Number("-1"), []any{nil}, map[string]any{"a": nil}} {
		if !truthy(v) {
			t.Errorf("truthy(%#v) = false", v)
		}
	}
}

func TestNormalise(t *testing.T) {
	type myString string
	got := normalise(map[string][]myString{"a": {"x"}}, 0)
	want := map[string]any{"a": []any{"x"}}
	if pyRepr(got) != pyRepr(want) {
		t.Errorf("normalise = %#v", got)
	}
	var nilSlice []string
	if normalise(nilSlice, 0) != nil {
		t.Error("nil slice should normalise to nil")
	}
	s := "x"
	if normalise(&s, 0) != "x" {
		t.Error("pointer should be followed")
	}
}
