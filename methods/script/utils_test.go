package script

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUtilsDates(t *testing.T) {
	env := newFakeEnv() // now: 2024-01-31 10:20:30.123456 +05:30
	got := mustAPI(t, env, `
u = frappe.utils
frappe.response["message"] = [
    u.now(), u.nowdate(), u.today(), u.nowtime(), u.now_datetime(),
    u.getdate("2024-02-10 11:00:00"), u.getdate(), u.get_datetime("2024-02-10"),
    u.add_days("2024-01-31", 1), u.add_days("2024-03-01", -1), u.add_days("2024-01-31 08:00:00", 2),
    u.add_months("2024-01-31", 1), u.add_months("2024-03-31", -13), u.add_years("2024-02-29", 1),
    u.add_to_date("2024-01-01", days=1, hours=12, as_datetime=True),
    u.date_diff("2024-03-01", "2024-02-01"), u.date_diff(u.today(), "2024-02-01 23:59:59"),
    u.time_diff_in_hours("2024-01-02 12:00:00", "2024-01-01 00:00:00"),
    u.get_first_day("2024-02-15"), u.get_last_day("2024-02-15"),
    u.getdate("2024-01-31") < u.getdate("2024-02-01"),
]
`, nil)
	want := []any{
		"2024-01-31 10:20:30.123456", "2024-01-31", "2024-01-31", "10:20:30.123456", "2024-01-31 10:20:30.123456",
		"2024-02-10", "2024-01-31", "2024-02-10 00:00:00",
		"2024-02-01", "2024-02-29", "2024-02-02 08:00:00.000000",
		"2024-02-29", "2023-02-28", "2025-02-28",
		"2024-01-02 12:00:00.000000",
		int64(29), int64(-1),
		36.0,
		"2024-02-01", "2024-02-29",
		true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	_, _, err := runAPI(t, env, `frappe.utils.getdate("not a date")`, nil)
	if te, ok := err.(*ThrowError); !ok || !strings.Contains(te.Msg, "not a valid date") {
		t.Fatalf("got %v", err)
	}
}

func TestUtilsNumbers(t *testing.T) {
	got := mustAPI(t, newFakeEnv(), `
u = frappe.utils
frappe.response["message"] = [
    u.flt("1,234.567", 2), u.flt(None), u.flt("abc"), u.flt(3), u.flt(2.675, 2), u.flt(0.5, 0), u.flt(1.5, 0),
    u.cint("12.9"), u.cint(None), u.cint("x", 5), u.cint(True), u.cint(-3.7),
    u.cstr(None), u.cstr(1.5), u.cstr("s"), u.rounded(2.5), u.rounded(1.005, 2),
]
`, nil)
	want := []any{
		1234.57, 0.0, 0.0, 3.0, 2.68, 0.0, 2.0,
		int64(12), int64(0), int64(5), int64(1), int64(-3),
		"", "1.5", "s", 2.0, 1.01,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestConversionRoundTrip(t *testing.T) {
	in := map[string]any{
		"int":    int64(-42),
		"big":    int64(1) << 62,
		"float":  3.25,
		"whole":  2.0,
		"str":    "héllo",
		"bool":   true,
		"none":   nil,
		"list":   []any{int64(1), "two", []any{3.5, nil}, map[string]any{"k": false}},
		"nested": map[string]any{"a": map[string]any{"b": []any{}}, "empty": map[string]any{}},
	}
	got := mustAPI(t, newFakeEnv(), `frappe.response["message"] = frappe.form_dict`, in)
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got  %#v\nwant %#v", got, in)
	}
	// Other Go types a caller may hold are accepted and normalized.
	v, err := toStarlark(map[string]any{
		"i": 7, "u": uint8(8), "f32": float32(0.5), "n": json.Number("12"), "nf": json.Number("1.5"),
		"ss": []string{"a"}, "rows": []map[string]any{{"x": int32(1)}},
		"t": time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	back, err := toGo(v)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i": int64(7), "u": int64(8), "f32": 0.5, "n": int64(12), "nf": 1.5,
		"ss": []any{"a"}, "rows": []any{map[string]any{"x": int64(1)}}, "t": "2024-05-06 07:08:09.000000",
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("got  %#v\nwant %#v", back, want)
	}
	if _, err := toStarlark(map[string]any{"c": make(chan int)}); err == nil {
		t.Fatal("channel converted")
	}
	// Tuples, sets and int keys become lists and strings; functions fail.
	got = mustAPI(t, newFakeEnv(), `frappe.response["message"] = [(1, 2), set([3]), {1: "x"}, frappe._dict(a=1)]`, nil)
	wantList := []any{[]any{int64(1), int64(2)}, []any{int64(3)}, map[string]any{"1": "x"}, map[string]any{"a": int64(1)}}
	if !reflect.DeepEqual(got, wantList) {
		t.Fatalf("got %#v", got)
	}
	_, _, err = runAPI(t, newFakeEnv(), `frappe.response["message"] = len`, nil)
	if _, ok := err.(*ScriptError); !ok {
		t.Fatalf("got %v", err)
	}
}

func TestRewritePython(t *testing.T) {
	cases := map[string]string{
		`x is None`:                    `x == None`,
		`x is  not None`:               `x !=      None`,
		`"a is b" # is not`:            `"a is b" # is not`,
		`this = island`:                `this = island`,
		`f"{a}-{b!r}"`:                 `"{}-{!r}".format((a), (b))`,
		`f"{d['k']} {{lit}}"`:          `"{} {{lit}}".format((d['k']))`,
		`f"""multi {x}` + "\n" + `"""`: `"""multi {}` + "\n" + `""".format((x))`,
		`f"{a != b}"`:                  `"{}".format((a != b))`,
		`f"bad }"`:                     `f"bad }"`,
	}
	cases[`f'{x:>5}' + rf"\d{y}"`] = `'{}'.format(__fstring_format((x), ">5")) + r"\d{}".format((y))`
	for in, want := range cases {
		if got := rewritePython(in); got != want {
			t.Errorf("rewritePython(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatSpec(t *testing.T) {
	cases := []struct {
		v    any
		spec string
		want string
	}{
		{1234567.891, ",.2f", "1,234,567.89"},
		{-3.5, "08.2f", "-0003.50"},
		{0.256, ".1%", "25.6%"},
		{int64(42), "x", "2a"},
		{int64(42), ">6", "    42"},
		{int64(-1234), ",", "-1,234"},
		{"ab", "*^6", "**ab**"},
		{"abcdef", ".3", "abc"},
		{12345.678, "e", "1.234568e+04"},
		{1.5, "", "1.5"},
	}
	for _, c := range cases {
		v, _ := toStarlark(c.v)
		got, err := formatValue(v, c.spec)
		if err != nil || got != c.want {
			t.Errorf("format(%v, %q) = %q, %v; want %q", c.v, c.spec, got, err, c.want)
		}
	}
}
