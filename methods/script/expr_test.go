package script

import (
	"context"
	"errors"
	"strings"
	"testing"
)

var exprDoc = map[string]any{
	"name": "SINV-0001", "status": "Open", "grand_total": 45000.5, "qty": int64(3), "customer": "Café <Ltd>",
	"email": "", "notes": nil,
	"items": []any{
		map[string]any{"name": "r1", "idx": int64(1), "item_code": "A", "rate": 1.0},
		map[string]any{"name": "r2", "idx": int64(2), "item_code": "B", "rate": 2.5},
	},
}

func TestExprTruth(t *testing.T) {
	cases := []struct {
		src  string
		want bool
	}{
		{`doc.status == "Open"`, true},
		{`doc.status=="Closed"`, false},
		{`doc.grand_total > 40000`, true},
		{`doc.email`, false},
		{`doc.name`, true},
		{`doc.notes is None`, true},
		{`doc.missing is not None`, false},
		{`len(doc.items) == 2 and doc.items[1].item_code == "B"`, true},
		{`doc.get("qty") >= 3`, true},
		{`utils.cint("7") + frappe.utils.flt("1.5") == 8.5`, true},
		{`utils.nowdate() == "2024-01-31"`, true},
		{`frappe.session.user == "alice@example.com"`, true},
		{`"A" in [r.item_code for r in doc.items]`, true},
	}
	for _, c := range cases {
		e, err := CompileExpr("cond", c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got, err := e.Truth(context.Background(), newFakeEnv(), "Sales Invoice", exprDoc, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestExprErrors(t *testing.T) {
	for _, src := range []string{`doc.status ==`, `undefined_name > 1`, `doc.x = 1`, `load("x")`} {
		var se *ScriptError
		if _, err := CompileExpr("cond", src); !errors.As(err, &se) {
			t.Errorf("CompileExpr(%q) = %v, want a ScriptError", src, err)
		}
	}
	run := func(src string, opts Options) error {
		e, err := CompileExpr("cond", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		_, err = e.Truth(context.Background(), newFakeEnv(), "Sales Invoice", exprDoc, opts)
		return err
	}
	var se *ScriptError
	if err := run(`doc.status > 1`, Options{}); !errors.As(err, &se) || !strings.Contains(se.Msg, "cond:1:") {
		t.Errorf("runtime error: %v", err)
	}
	if err := run(`doc.__setattr__("status", "x")`, Options{}); err == nil {
		t.Errorf("a condition changed the document")
	}
	var le *LimitError
	if err := run(`len([x for x in range(1000000)]) > 0`, Options{MaxSteps: 1000}); !errors.As(err, &le) {
		t.Errorf("step limit: %v", err)
	}
	var te *ThrowError
	if err := run(`frappe.throw("no")`, Options{}); !errors.As(err, &te) {
		t.Errorf("throw: %v", err)
	}
}

func TestTemplateRender(t *testing.T) {
	cases := []struct{ src, want string }{
		{`{"id": "{{ doc.name }}", "n": {{ doc.qty }}, "total": {{ doc.grand_total }}}`,
			`{"id": "SINV-0001", "n": 3, "total": 45000.5}`},
		{`{{ doc.items | tojson }}`,
			`[{"idx": 1, "item_code": "A", "name": "r1", "rate": 1.0}, {"idx": 2, "item_code": "B", "name": "r2", "rate": 2.5}]`},
		{`{{ doc.customer | tojson }}`, `"Caf\u00e9 \u003cLtd\u003e"`},
		{`{{ doc.notes }}|{{ doc.notes | default("-") }}|{{ doc.email | default("none", true) }}`, `None|-|none`},
		{`{{ doc.status | upper }} {{ doc.status|lower|length }} {{ "a b" | title }} {{ doc.grand_total | round }}`, `OPEN 4 A B 45001.0`},
		{`{{ [r.item_code for r in doc.items] | join(", ") }} {{ doc.items | length }} {{ doc.items[-1].rate | int }}`, `A, B 2 2`},
		{"a {# a comment #} b\n  {{- doc.qty -}}  \n c", "a  b3c"},
		{`{{ {"k": {"n": doc.qty}} | tojson }} {{ "}}" }}`, `{"k": {"n": 3}} }}`},
		{`{{ doc.qty | string | replace("3", "three") }} {{ doc.customer | e }}`, `three Café &lt;Ltd&gt;`},
		{`{{ f"{doc.qty:03d}" }} {{ doc.items | json }}`, "003 [\n {\n  \"idx\": 1,\n  \"item_code\": \"A\",\n  \"name\": \"r1\",\n  \"rate\": 1.0\n },\n {\n  \"idx\": 2,\n  \"item_code\": \"B\",\n  \"name\": \"r2\",\n  \"rate\": 2.5\n }\n]"},
		{`no fields, {"braces": {}}`, `no fields, {"braces": {}}`},
	}
	for _, c := range cases {
		tpl, err := CompileTemplate("body", c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got, err := tpl.Render(context.Background(), newFakeEnv(), "Sales Invoice", exprDoc, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.src, got, c.want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := map[string]string{
		`{% if doc.x %}1{% endif %}`: "statements",
		`{"a": "{{ doc.name }"}`:     "unexpected }",
		`{"a": "{{ doc.name `:        "not closed",
		`{{ doc.x | nosuch }}`:       "unknown filter",
		`{{ }}`:                      "empty",
		`{{ doc.x +  }}`:             "body:1:",
		`{# open`:                    "not closed",
		"x\n{{ nope }}":              "undefined: nope",
	}
	for src, want := range cases {
		_, err := CompileTemplate("body", src)
		var se *ScriptError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, want) {
			t.Errorf("CompileTemplate(%q) = %v, want an error with %q", src, err, want)
		}
	}
}

func TestPyJSON(t *testing.T) {
	got, err := ReformatJSON(`{"b": 1, "a": [1.0, 1e2, "é", null, true, {"z": 0, "y": -0.5}]}`)
	if want := `{"b": 1, "a": [1.0, 100.0, "\u00e9", null, true, {"z": 0, "y": -0.5}]}`; err != nil || got != want {
		t.Errorf("ReformatJSON = %s, %v; want %s", got, err, want)
	}
	if _, err := ReformatJSON(`{"a": 1} x`); err == nil {
		t.Errorf("ReformatJSON accepted trailing data")
	}
	got, err = PyJSON(map[string]any{"n": int64(1), "f": 2.0, "s": "ü", "l": []any{nil}})
	if want := `{"f": 2.0, "l": [null], "n": 1, "s": "\u00fc"}`; err != nil || got != want {
		t.Errorf("PyJSON = %s, %v; want %s", got, err, want)
	}
}
