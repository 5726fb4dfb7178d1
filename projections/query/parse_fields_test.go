package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFieldsAccepted(t *testing.T) {
	name := []Field{{Name: "name"}}
	tests := []struct {
		name string
		raw  any
		want []Field
	}{
		{"nil", nil, name},
		{"empty", "", name},
		{"blank", "  ", name},
		{"json null", "null", name},
		{"json empty list", "[]", name},
		{"decoded empty list", []any{}, name},
		{"only empty entries", `["", null]`, []Field{}},
		{"json list", `["name","status"]`, []Field{{Name: "name"}, {Name: "status"}}},
		{"json string", `"status"`, []Field{{Name: "status"}}},
		{"plain name", "name", name},
		{"plain star", "*", []Field{{Name: "*"}}},
		{"comma separated", "name, status ,owner", []Field{{Name: "name"}, {Name: "status"}, {Name: "owner"}}},
		{"decoded strings", []string{"name", "count(name) as c"},
			[]Field{{Name: "name"}, {Name: "name", Func: "count", Alias: "c"}}},
		{"star", `["*"]`, []Field{{Name: "*"}}},
		{"alias", `["status as s","name AS n","idx  As  ` + "`i`" + `"]`,
			[]Field{{Name: "status", Alias: "s"}, {Name: "name", Alias: "n"}, {Name: "idx", Alias: "i"}}},
		{"aggregates", `["count(name) as count","count(*)","COUNT( * ) AS total","sum(grand_total) as total","avg(x)","min(y)","max (z)"]`,
			[]Field{
				{Name: "name", Func: "count", Alias: "count"},
				{Name: "*", Func: "count"},
				{Name: "*", Func: "count", Alias: "total"},
				{Name: "grand_total", Func: "sum", Alias: "total"},
				{Name: "x", Func: "avg"},
				{Name: "y", Func: "min"},
				{Name: "z", Func: "max"},
			}},
		{"distinct", `["distinct status","DISTINCT ` + "`tabToDo`.status" + `","count(distinct owner) as owners","distinct(priority)"]`,
			[]Field{
				{Name: "status", Distinct: true},
				{Table: "ToDo", Name: "status", Distinct: true},
				{Name: "owner", Func: "count", Distinct: true, Alias: "owners"},
				{Name: "priority", Distinct: true},
			}},
		{"child and link fields", `["items.item_code","customer.customer_group as grp"]`,
			[]Field{{Table: "items", Name: "item_code"}, {Table: "customer", Name: "customer_group", Alias: "grp"}}},
		{"tab forms", "[\"`tabSales Order Item`.item_code\",\"`tabToDo`.`status`\",\"`tabToDo`.*\",\"sum(`tabSales Order Item`.`qty`)\"]",
			[]Field{
				{Table: "Sales Order Item", Name: "item_code"},
				{Table: "ToDo", Name: "status"},
				{Table: "ToDo", Name: "*"},
				{Table: "Sales Order Item", Name: "qty", Func: "sum"},
			}},
		{"backquoted field", "[\"`status`\"]", []Field{{Name: "status"}}},
		{"surrounding spaces", `["  status  "]`, []Field{{Name: "status"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFields(tt.raw)
			if err != nil {
				t.Fatalf("ParseFields(%v): %v", tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFields(%v)\n got %#v\nwant %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseFieldsRejected(t *testing.T) {
	restricted := "Use of sub-query or function is restricted"
	tests := []struct {
		field   string
		typ     string
		msgPart string
	}{
		{"concat(name, status)", DataError, "Use of function concat in field is restricted"},
		{"CONCAT_WS(name)", DataError, "Use of function concat_ws in field is restricted"},
		{"if(x)", DataError, "Use of function if in field is restricted"},
		{"ifnull(status)", DataError, "Use of function ifnull in field is restricted"},
		{"coalesce(a)", DataError, "Use of function coalesce in field is restricted"},
		{"version()", DataError, "Use of function version in field is restricted"},
		{"sleep(5)", DataError, "Use of function sleep in field is restricted"},
		{"upper(name)", DataError, "Use of function upper in field is restricted"},
		{"count(select name from tabUser)", DataError, restricted},
		{"(select name from tabUser)", DataError, restricted},
		{"@@version", DataError, restricted},
		{"name, version()", DataError, restricted},
		{"name'", DataError, restricted},
		{`name"`, DataError, restricted},
		{"name;drop table x", DataError, restricted},
		{"select name", DataError, restricted},
		{"name from tabUser", DataError, restricted},
		{"name /* x */", DataError, "Illegal SQL Query"},
		{"name -- x", DataError, "Illegal SQL Query"},
		{"name union all", DataError, "Illegal SQL Query"},
		{"sum(*)", DataError, "Invalid field name"},
		{"count(distinct *)", DataError, "Invalid field name"},
		{"count(`tabToDo`.*)", DataError, "Invalid field name"},
		{"distinct *", DataError, "Invalid field name"},
		{"distinct", DataError, "Invalid field name"},
		{"name desc", DataError, "Invalid field name"},
		{"name as", DataError, "Invalid field name"},
		{"name as a b", DataError, "Invalid field name"},
		{"status as *", DataError, "Invalid field name"},
		{"na-me", DataError, "Invalid field name"},
		{"name.", DataError, "Invalid field name"},
		{"a.b.c", DataError, "Invalid field name"},
		{"`tab`.name", DataError, "Invalid field name"},
		{"`tabTo``Do`.name", DataError, "Invalid field name"},
		{"`unclosed", DataError, "Invalid field name"},
		{"count(name", DataError, "Invalid field name"},
		{"count(name))", DataError, "Invalid field name"},
		{"`sta tus`", DataError, "Invalid field name"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, err := ParseFields([]any{tt.field})
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("ParseFields(%q) = %v, %v; want *Error", tt.field, got, err)
			}
			if qe.Type != tt.typ || !strings.Contains(qe.Msg, tt.msgPart) {
				t.Errorf("ParseFields(%q) error = %s %q; want %s containing %q", tt.field, qe.Type, qe.Msg, tt.typ, tt.msgPart)
			}
		})
	}

	for _, raw := range []any{`42`, `true`, `{"a":1}`, []any{1}, []any{[]any{"name"}}} {
		_, err := ParseFields(raw)
		var qe *Error
		if !errors.As(err, &qe) || qe.Type != ValidationError {
			t.Errorf("ParseFields(%v) error = %v; want ValidationError", raw, err)
		}
	}
}

func TestFieldStringRoundTrip(t *testing.T) {
	in := []any{"name", "count(*) as total", "sum(distinct items.qty) as q", "distinct status", "`tabSales Order Item`.item_code"}
	fields, err := ParseFields(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		again, err := ParseFields([]any{f.String()})
		if err != nil || len(again) != 1 || again[0] != f {
			t.Errorf("%#v → %q → %#v, %v", f, f.String(), again, err)
		}
	}
}

func FuzzParseFields(f *testing.F) {
	for _, s := range []string{
		`["name","status"]`, "name, status", "*", `["count(name) as count"]`,
		"[\"sum(`tabSales Order Item`.`qty`) AS q\"]", `["distinct status"]`, `["concat(a,b)"]`,
		`["(select 1)"]`, `["name /* */"]`, "`tabToDo`.*", `["count(distinct owner)"]`, `[null, ""]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fields, err := ParseFields(s)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Msg == "" {
				t.Fatalf("ParseFields(%q) returned %#v", s, err)
			}
			return
		}
		for _, f := range fields {
			if f.Name == "" || (f.Name != "*" && !isIdent(f.Name)) {
				t.Fatalf("ParseFields(%q) returned bad name %#v", s, f)
			}
			if f.Alias != "" && !isIdent(f.Alias) {
				t.Fatalf("ParseFields(%q) returned bad alias %#v", s, f)
			}
			if f.Func != "" && !aggregates[f.Func] {
				t.Fatalf("ParseFields(%q) returned bad func %#v", s, f)
			}
			again, err := ParseFields([]any{f.String()})
			if err != nil || len(again) != 1 || again[0] != f {
				t.Fatalf("round trip of %#v via %q: %#v, %v", f, f.String(), again, err)
			}
		}
	})
}
