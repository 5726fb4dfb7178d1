package query

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func num(s string) json.Number { return json.Number(s) }

func TestParseFiltersAccepted(t *testing.T) {
	tests := []struct {
		name string
		raw  any
		want []Condition
	}{
		{"nil", nil, nil},
		{"empty string", "", nil},
		{"json null", "null", nil},
		{"empty list", "[]", []Condition{}},
		{"empty dict", "{}", []Condition{}},
		{"dict equality", `{"status":"Open"}`,
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"dict keeps JSON order", `{"z":1,"a":["!=","A"],"name":["in",["A","B"]]}`,
			[]Condition{
				{Field: "z", Op: "=", Value: num("1")},
				{Field: "a", Op: "!=", Value: "A"},
				{Field: "name", Op: "in", Value: []any{"A", "B"}},
			}},
		{"dict repeated key: first position, last value", `{"a":1,"b":2,"a":3}`,
			[]Condition{{Field: "a", Op: "=", Value: num("3")}, {Field: "b", Op: "=", Value: num("2")}}},
		{"dict value list longer than 2", `{"x":[">", 5, "ignored"]}`,
			[]Condition{{Field: "x", Op: ">", Value: num("5")}}},
		{"dict value object is equality", `{"x":{"k":1}}`,
			[]Condition{{Field: "x", Op: "=", Value: map[string]any{"k": num("1")}}}},
		{"decoded map sorted", map[string]any{"b": "B", "a": []any{"like", "%x%"}},
			[]Condition{{Field: "a", Op: "like", Value: "%x%"}, {Field: "b", Op: "=", Value: "B"}}},
		{"3-element list", `[["status","=","Open"],["priority","in",["High","Low"]]]`,
			[]Condition{
				{Field: "status", Op: "=", Value: "Open"},
				{Field: "priority", Op: "in", Value: []any{"High", "Low"}},
			}},
		{"4-element list", `[["ToDo","status","!=","Closed"]]`,
			[]Condition{{DocType: "ToDo", Field: "status", Op: "!=", Value: "Closed"}}},
		{"child doctype", `[["Sales Order Item","item_code","=","X"]]`,
			[]Condition{{DocType: "Sales Order Item", Field: "item_code", Op: "=", Value: "X"}}},
		{"longer list truncated", `[["ToDo","status","=","Open","extra",1]]`,
			[]Condition{{DocType: "ToDo", Field: "status", Op: "=", Value: "Open"}}},
		{"null doctype", `[[null,"status","=","Open"]]`,
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"empty operator", `[["status","","Open"]]`,
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"null operator", `[["status",null,"Open"]]`,
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"operator normalised", `[["status","  NOT   In ",["A"]]]`,
			[]Condition{{Field: "status", Op: "not in", Value: []any{"A"}}}},
		{"nested set operator parses", `[["parent_x","Descendants Of (Inclusive)","A"]]`,
			[]Condition{{Field: "parent_x", Op: "descendants of (inclusive)", Value: "A"}}},
		{"table field", `[["items.qty",">",1]]`,
			[]Condition{{Table: "items", Field: "qty", Op: ">", Value: num("1")}}},
		{"tab doctype field", "[[\"`tabSales Order Item`.qty\",\">\",1]]",
			[]Condition{{DocType: "Sales Order Item", Table: "Sales Order Item", Field: "qty", Op: ">", Value: num("1")}}},
		{"tab doctype backquoted field", "[[\"`tabToDo`.`status`\",\"=\",\"Open\"]]",
			[]Condition{{DocType: "ToDo", Table: "ToDo", Field: "status", Op: "=", Value: "Open"}}},
		{"backquoted plain field", "[[\"`status`\",\"=\",\"Open\"]]",
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"unquoted tab prefix", `[["tabToDo.status","=","Open"]]`,
			[]Condition{{DocType: "ToDo", Table: "ToDo", Field: "status", Op: "=", Value: "Open"}}},
		{"dict element uses first key only", `[{"status":"Open","other":1}]`,
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"dict element with operator", `[{"status":["!=","Open"]}]`,
			[]Condition{{Field: "status", Op: "!=", Value: "Open"}}},
		{"decoded list", []any{[]any{"status", "=", "Open"}},
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"go native shapes", [][]string{{"status", "like", "%a%"}},
			[]Condition{{Field: "status", Op: "like", Value: "%a%"}}},
		{"bytes", []byte(`{"status":"Open"}`),
			[]Condition{{Field: "status", Op: "=", Value: "Open"}}},
		{"raw message", json.RawMessage(`[["idx",">=",2]]`),
			[]Condition{{Field: "idx", Op: ">=", Value: num("2")}}},
		{"null value", `[["x","=",null]]`,
			[]Condition{{Field: "x", Op: "=", Value: nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilters(tt.raw)
			if err != nil {
				t.Fatalf("ParseFilters(%v): %v", tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFilters(%v)\n got %#v\nwant %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseFiltersRejected(t *testing.T) {
	opMsg := "Operator must be one of =, !=, >, <, >=, <=, like, not like, in, not in, is, between, " +
		"timespan, previous, next, ancestors of, descendants of, not ancestors of, not descendants of, " +
		"descendants of (inclusive)"
	tests := []struct {
		name    string
		raw     any
		typ     string
		msgPart string
	}{
		{"invalid json", `[["status","=","Open"]`, ValidationError, "not valid JSON"},
		{"trailing data", `[] []`, ValidationError, "not valid JSON"},
		{"white space only", "  ", ValidationError, "not valid JSON"},
		{"scalar", `42`, ValidationError, "must be a JSON list or object"},
		{"json string", `"status"`, ValidationError, "must be a JSON list or object"},
		{"two elements", `[["status","="]]`, ValidationError,
			"Filter must have 4 values (doctype, fieldname, operator, value): ['status', '=']"},
		{"one element", `[["status"]]`, ValidationError, "Filter must have 4 values"},
		{"empty element", `[[]]`, ValidationError, "Filter must have 4 values"},
		{"dict value one element", `{"status":["="]}`, ValidationError, "Filter must have 4 values"},
		{"dict value empty list", `{"status":[]}`, ValidationError, "Filter must have 4 values"},
		{"unknown operator", `[["status","<>","Open"]]`, ValidationError, opMsg},
		{"not between", `[["status","not between",[1,2]]]`, ValidationError, opMsg},
		{"regex", `[["status","regex","a"]]`, ValidationError, opMsg},
		{"numeric operator", `[["status",1,"Open"]]`, ValidationError, opMsg},
		{"dict unknown operator", `{"status":["~","Open"]}`, ValidationError, opMsg},
		{"raw sql string", `["status = 'Open'"]`, ValidationError, "Raw SQL"},
		{"scalar element", `[1]`, ValidationError, "Filter must be a tuple or list (in a list)"},
		{"null element", `[null]`, ValidationError, "Filter must be a tuple or list"},
		{"empty dict element", `[{}]`, ValidationError, "empty object"},
		{"field with paren", `[["ifnull(status,'')","=",""]]`, DataError, "Invalid field name ifnull(status,'')"},
		{"field with semicolon", `[["status;drop","=",1]]`, DataError, "Invalid field name"},
		{"field with space", `[["sta tus","=",1]]`, DataError, "Invalid field name"},
		{"numeric field", `[[1,"=",1]]`, DataError, "Invalid field name 1"},
		{"empty field", `[["","=",1]]`, DataError, "Invalid field name"},
		{"star field", `[["*","=",1]]`, DataError, "Invalid field name"},
		{"bad doctype", "[[\"To`Do\",\"status\",\"=\",1]]", DataError, "Invalid DocType name"},
		{"numeric doctype", `[[5,"status","=",1]]`, DataError, "Invalid DocType name"},
		{"conflicting doctypes", "[[\"ToDo\",\"`tabNote`.title\",\"=\",1]]", DataError, "Invalid field name"},
		{"too deep", strings.Repeat("[", 2000) + strings.Repeat("]", 2000), ValidationError, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilters(tt.raw)
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("ParseFilters(%v) = %v, %v; want *Error", tt.raw, got, err)
			}
			if qe.Type != tt.typ || !strings.Contains(qe.Msg, tt.msgPart) {
				t.Errorf("ParseFilters(%v) error = %s %q; want %s containing %q", tt.raw, qe.Type, qe.Msg, tt.typ, tt.msgPart)
			}
		})
	}
}

func TestConditionString(t *testing.T) {
	conds, err := ParseFilters("[[\"ToDo\",\"status\",\"in\",[\"A\",1]],[\"`tabNote`.title\",\"like\",\"%x\"],[\"items.qty\",\">\",2.5]]")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`['ToDo', 'status', 'in', ['A', 1]]`,
		"['`tabNote`.title', 'like', '%x']",
		`['items.qty', '>', 2.5]`,
	}
	for i, c := range conds {
		if got := c.String(); got != want[i] {
			t.Errorf("String() = %s, want %s", got, want[i])
		}
	}
}

// FuzzParseFilters checks that arbitrary text never panics and that
// accepted filters compile, for several fieldtypes, without panicking.
func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{
		`{"status":"Open","x":["!=","A"],"name":["in",["A","B"]]}`,
		`[["status","=","Open"],["ToDo","modified",">","2024-01-01"]]`,
		`[["due","between",["2024-01-01","2024-02-01"]],["creation","timespan","last month"]]`,
		`[["x","is","set"],["y","not like","%a_b%"],["z","previous","6 months"]]`,
		"[[\"`tabSales Order Item`.qty\",\">=\",1.5],[\"items.rate\",\"<\",\"1e400\"]]",
		`[["t","in","09:00, 10:00:00.5,"],["n","not in",[]],["d","=",""]]`,
		`[["x"]]`, `[1]`, `{"a":[]}`, `["raw"]`, `[[null,null,null,null]]`, `[{"a":[">",{"b":1}]}]`,
	} {
		f.Add(s)
	}
	fieldtypes := []string{"Data", "Int", "Float", "Check", "Date", "Datetime", "Time", ""}
	env := testEnv
	values := []any{nil, "", "open", "Open", int64(0), int64(3), 1.5, "2024-02-29", "2024-02-29 10:00:00.000000", "10:00:00.000000"}
	f.Fuzz(func(t *testing.T, s string) {
		conds, err := ParseFilters(s)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || (qe.Type != ValidationError && qe.Type != DataError) || qe.Msg == "" {
				t.Fatalf("ParseFilters(%q) returned a non-client error %#v", s, err)
			}
			return
		}
		for _, c := range conds {
			if c.Op == "" || c.Field == "" {
				t.Fatalf("ParseFilters(%q) returned incomplete %#v", s, c)
			}
			for _, ft := range fieldtypes {
				p, err := Compile(c, ft, env)
				if err != nil {
					var qe *Error
					if !errors.As(err, &qe) {
						t.Fatalf("Compile(%v, %s) returned %#v", c, ft, err)
					}
					continue
				}
				for _, v := range values {
					p.Match(v)
				}
				checkHints(t, c, ft, p, sampleRows(ft, c))
			}
		}
	})
}
