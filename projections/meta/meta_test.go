package meta

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestBuiltinsParse(t *testing.T) {
	seen := map[string]bool{}
	for _, doc := range Builtins() {
		d, err := Parse(doc)
		if err != nil {
			t.Fatalf("%v: %v", doc["name"], err)
		}
		seen[d.Name] = true
		// Every Table field names a child doctype defined before it.
		for _, f := range d.TableFields() {
			if !seen[f.Options] {
				t.Errorf("%s.%s: child %s not defined before it", d.Name, f.Fieldname, f.Options)
			}
		}
	}
	for _, want := range []string{"DocType", "DocField", "DocPerm", "User", "Role", "Has Role", "ToDo", "Note", "File", "Version"} {
		if !seen[want] {
			t.Errorf("built-in %s missing", want)
		}
	}
	todo, _ := Parse(Builtins()[6])
	for _, f := range []string{"status", "priority", "date", "allocated_to", "description", "reference_type", "reference_name", "role", "assigned_by"} {
		if todo.Field(f) == nil {
			t.Errorf("ToDo lacks Frappe's field %s", f)
		}
	}
	if f, desc := todo.Sort(); f != "modified" || !desc {
		t.Errorf("ToDo sorts by %s desc=%v", f, desc)
	}
	idx := todo.IndexedFields()
	for _, f := range []string{"name", "modified", "status", "priority", "date", "allocated_to"} {
		if !slices.Contains(idx, f) {
			t.Errorf("ToDo.%s not indexed: %v", f, idx)
		}
	}
	if slices.Contains(idx, "description") {
		t.Errorf("a Text Editor field without index flags is indexed")
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]map[string]any{
		"bad name":        {"name": "1abc"},
		"unknown type":    {"name": "X", "fields": []any{map[string]any{"fieldname": "a", "fieldtype": "Blob"}}},
		"reserved field":  {"name": "X", "fields": []any{map[string]any{"fieldname": "owner", "fieldtype": "Data"}}},
		"duplicate field": {"name": "X", "fields": []any{map[string]any{"fieldname": "a"}, map[string]any{"fieldname": "a"}}},
		"bad fieldname":   {"name": "X", "fields": []any{map[string]any{"fieldname": "a-b"}}},
		"table no option": {"name": "X", "fields": []any{map[string]any{"fieldname": "t", "fieldtype": "Table"}}},
		"link no option":  {"name": "X", "fields": []any{map[string]any{"fieldname": "l", "fieldtype": "Link"}}},
		"autoname field":  {"name": "X", "autoname": "field:missing"},
		"autoname junk":   {"name": "X", "autoname": "whatever"},
		"dynamic link":    {"name": "X", "fields": []any{map[string]any{"fieldname": "d", "fieldtype": "Dynamic Link", "options": "nope"}}},
		"sort order":      {"name": "X", "sort_order": "sideways"},
	}
	for name, doc := range cases {
		if _, err := Parse(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCoerce(t *testing.T) {
	loc := time.FixedZone("UTC+2", 2*3600)
	cases := []struct {
		ft   string
		in   any
		want any
	}{
		{Int, "42", int64(42)}, {Int, 3.9, int64(3)}, {Int, nil, int64(0)}, {Int, "", int64(0)}, {Int, true, int64(1)},
		{Check, int64(5), int64(1)}, {Check, "0", int64(0)},
		{Float, "2.5", 2.5}, {Currency, int64(3), 3.0}, {Float, "1,234.5", 1234.5},
		{Data, int64(7), "7"}, {Data, 1.5, "1.5"}, {Data, nil, nil}, {Link, "", nil},
		{Date, "2024-1-5", "2024-01-05"}, {Date, "2024-01-05 23:10:00", "2024-01-05"}, {Date, "", nil},
		{Datetime, "2024-01-05", "2024-01-05 00:00:00.000000"},
		{Datetime, "2024-01-05 10:11:12.5", "2024-01-05 10:11:12.500000"},
		{Datetime, "2024-01-05T10:11:12Z", "2024-01-05 12:11:12.000000"},
		{Time, "9:05", "09:05:00.000000"}, {Time, "23:59:59.123", "23:59:59.123000"},
		{JSON, map[string]any{"a": int64(1)}, `{"a":1}`}, {JSON, `[1]`, `[1]`},
	}
	for _, c := range cases {
		got, err := Coerce(c.ft, c.in, loc)
		if err != nil || got != c.want {
			t.Errorf("Coerce(%s, %#v) = %#v, %v; want %#v", c.ft, c.in, got, err, c.want)
		}
	}
	bad := []struct {
		ft string
		in any
	}{
		{Int, "abc"}, {Float, "x1"}, {Int, map[string]any{}}, {Data, []any{}}, {Date, "2024-13-01"},
		{Date, "2024-02-30"}, {Datetime, "yesterday"}, {Time, "25:00"}, {JSON, "{"}, {Table, "x"},
	}
	for _, c := range bad {
		if _, err := Coerce(c.ft, c.in, loc); err == nil || (c.ft != Table && !errors.Is(err, ErrType)) {
			t.Errorf("Coerce(%s, %#v) accepted or wrong error: %v", c.ft, c.in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	if got := FormatDatetime("2024-01-05 10:11:12.000000"); got != "2024-01-05 10:11:12" {
		t.Errorf("FormatDatetime = %q", got)
	}
	if got := FormatDatetime("2024-01-05 10:11:12.000100"); got != "2024-01-05 10:11:12.000100" {
		t.Errorf("FormatDatetime = %q", got)
	}
	if got := FormatTime("09:05:03.000000"); got != "9:05:03" {
		t.Errorf("FormatTime = %q", got)
	}
	if got := FormatTime("00:05:03.000000"); got != "0:05:03" {
		t.Errorf("FormatTime = %q", got)
	}
	if got := FormatFloat(3); got != "3.0" {
		t.Errorf("FormatFloat = %q", got)
	}
}
