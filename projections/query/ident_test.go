package query

import "testing"

func TestParseColRef(t *testing.T) {
	tests := []struct {
		in   string
		want colRef
		ok   bool
	}{
		{"status", colRef{Name: "status"}, true},
		{" status ", colRef{Name: "status"}, true},
		{"`status`", colRef{Name: "status"}, true},
		{"items.qty", colRef{Table: "items", Name: "qty"}, true},
		{"`items`.`qty`", colRef{Table: "items", Name: "qty"}, true},
		{"`tabSales Order Item`.qty", colRef{Table: "Sales Order Item", DocType: "Sales Order Item", Name: "qty"}, true},
		{"`tabTo-Do`.`name`", colRef{Table: "To-Do", DocType: "To-Do", Name: "name"}, true},
		{"tabToDo.status", colRef{Table: "ToDo", DocType: "ToDo", Name: "status"}, true},
		{"tabs.status", colRef{Table: "tabs", Name: "status"}, true},
		{"*", colRef{}, false},
		{"items.*", colRef{}, false},
		{"", colRef{}, false},
		{"a b", colRef{}, false},
		{"a.", colRef{}, false},
		{".a", colRef{}, false},
		{"a.b.c", colRef{}, false},
		{"`tab`.a", colRef{}, false},
		{"`tab Sales`.a", colRef{}, false},
		{"`tabSales `.a", colRef{}, false},
		{"`it ems`.a", colRef{}, false},
		{"`a b`", colRef{}, false},
		{"`a", colRef{}, false},
		{"a`", colRef{}, false},
		{"é", colRef{}, false},
	}
	for _, tt := range tests {
		got, ok := parseColRef(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseColRef(%q) = %#v, %v; want %#v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsDocTypeName(t *testing.T) {
	for _, s := range []string{"ToDo", "Sales Order Item", "To-Do", "Über_Typ", "Note 2"} {
		if !isDocTypeName(s) {
			t.Errorf("isDocTypeName(%q) = false", s)
		}
	}
	for _, s := range []string{"", " ToDo", "ToDo ", "To`Do", "To.Do", "a;b", "a\nb"} {
		if isDocTypeName(s) {
			t.Errorf("isDocTypeName(%q) = true", s)
		}
	}
}
