package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseOrderByAccepted(t *testing.T) {
	tests := []struct {
		in   string
		want []Order
	}{
		{"", nil},
		{"   ", nil},
		{"modified desc", []Order{{Field: "modified", Desc: true}}},
		{"name", []Order{{Field: "name"}}},
		{"creation asc, name desc", []Order{{Field: "creation"}, {Field: "name", Desc: true}}},
		{"Modified DESC", []Order{{Field: "Modified", Desc: true}}},
		{"idx ASC", []Order{{Field: "idx"}}},
		{"`tabToDo`.`modified` desc", []Order{{Table: "ToDo", Field: "modified", Desc: true}}},
		{"`tabSales Order`.modified desc, `tabSales Order`.name", []Order{
			{Table: "Sales Order", Field: "modified", Desc: true}, {Table: "Sales Order", Field: "name"},
		}},
		{"items.idx desc", []Order{{Table: "items", Field: "idx", Desc: true}}},
		{"`status`", []Order{{Field: "status"}}},
		{"  modified   desc  ,  name  ", []Order{{Field: "modified", Desc: true}, {Field: "name"}}},
	}
	for _, tt := range tests {
		got, err := ParseOrderBy(tt.in)
		if err != nil {
			t.Errorf("ParseOrderBy(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOrderBy(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseOrderByRejected(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"(select name from tabUser)", "Cannot use sub-query in order by"},
		{"name; drop table x", "Illegal SQL Query"},
		{"name\tdesc", "Illegal SQL Query"},
		{"name\ndesc", "Illegal SQL Query"},
		{"name = 1", "Illegal SQL Query"},
		{"créé desc", "Illegal SQL Query"},
		{"name desc /* x */", "Illegal SQL Query"},
		{"sleep(10)", "Cannot use sleep in order/group by"},
		{"name, SLEEP (1)", "Cannot use sleep in order/group by"},
		{"sleep_hours desc", "Cannot use sleep_hours desc in order/group by"},
		{"field(name, 'a', 'b')", "Illegal SQL Query"},
		{"if(a, b, c) desc", "Illegal SQL Query"},
		{"name desc,", "Illegal SQL Query"},
		{",name", "Illegal SQL Query"},
		{"name desc desc", "Illegal SQL Query"},
		{"name descending", "Illegal SQL Query"},
		{"modified desc nulls last", "Illegal SQL Query"},
		{"'name'", "Illegal SQL Query"},
		{"1 desc", ""}, // a bare number is an identifier to this parser
	}
	for _, tt := range tests {
		got, err := ParseOrderBy(tt.in)
		if tt.msg == "" {
			if err != nil {
				t.Errorf("ParseOrderBy(%q): %v", tt.in, err)
			}
			continue
		}
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("ParseOrderBy(%q) = %v, %v; want error", tt.in, got, err)
			continue
		}
		if qe.Type != ValidationError || qe.Msg != tt.msg {
			t.Errorf("ParseOrderBy(%q) error = %s %q, want ValidationError %q", tt.in, qe.Type, qe.Msg, tt.msg)
		}
	}
}

func TestParseGroupBy(t *testing.T) {
	tests := []struct {
		in   string
		want []Order
		err  bool
	}{
		{"", nil, false},
		{"status", []Order{{Field: "status"}}, false},
		{"status, owner", []Order{{Field: "status"}, {Field: "owner"}}, false},
		{"`tabToDo`.`status`", []Order{{Table: "ToDo", Field: "status"}}, false},
		{"status desc", nil, true},
		{"status asc", nil, true},
		{"sleep(1)", nil, true},
		{"(select 1 from x)", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseGroupBy(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseGroupBy(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseGroupBy(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{
		"modified desc", "creation asc, name desc", "`tabToDo`.`modified` desc", "name",
		"sleep(1)", "(select 1 from x)", "items.idx DESC", "`tabSales Order`.name asc", "a,,b", "`",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, withDir := range []bool{true, false} {
			var orders []Order
			var err error
			if withDir {
				orders, err = ParseOrderBy(s)
			} else {
				orders, err = ParseGroupBy(s)
			}
			if err != nil {
				var qe *Error
				if !errors.As(err, &qe) || qe.Type != ValidationError {
					t.Fatalf("parse(%q) returned %#v", s, err)
				}
				continue
			}
			if strings.TrimSpace(s) != "" && len(orders) == 0 {
				t.Fatalf("parse(%q) accepted nothing", s)
			}
			for _, o := range orders {
				if !isIdent(o.Field) || (o.Desc && !withDir) {
					t.Fatalf("parse(%q) returned %#v", s, o)
				}
			}
			// Rendering and parsing again gives the same result.
			parts := make([]string, len(orders))
			for i, o := range orders {
				parts[i] = o.String()
			}
			again, err := parseClause(strings.Join(parts, ", "), withDir)
			if err != nil && !strings.Contains(strings.ToLower(s), "sleep") {
				t.Fatalf("re-parse of %q (%v): %v", s, parts, err)
			}
			if err == nil && !reflect.DeepEqual(again, orders) {
				t.Fatalf("re-parse of %q: %#v != %#v", s, again, orders)
			}
		}
	})
}
