package script

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func orderDoc() map[string]any {
	return map[string]any{
		"name":     "SO-1",
		"status":   "Draft",
		"total":    10.5,
		"qty":      int64(3),
		"tags":     []any{"a", "b"},
		"meta":     map[string]any{"k": "v"},
		"customer": nil,
		"items": []any{
			map[string]any{"name": "row-1", "doctype": "Sales Order Item", "item": "A", "qty": int64(1), "idx": int64(1)},
		},
	}
}

func TestDocEventWritesBack(t *testing.T) {
	p, err := Compile("before_save", `
if doc.status == "Draft" and doc.get("total") > 10:
    doc.status = "To Approve"
doc.items[0].qty = 5
row = doc.append("items", {"item": "B", "qty": 2})
row.rate = 1.5
doc.set("remarks", "checked by " + frappe.session.user)
frappe.msgprint("{} rows".format(len(doc.items)))
`)
	if err != nil {
		t.Fatal(err)
	}
	doc := orderDoc()
	meta := doc["meta"]
	msgs, err := p.RunDocEvent(context.Background(), newFakeEnv(), "Sales Order", doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(msgs, []string{"2 rows"}) {
		t.Fatalf("msgs %#v", msgs)
	}
	want := orderDoc()
	want["status"] = "To Approve"
	want["remarks"] = "checked by alice@example.com"
	want["items"] = []any{
		map[string]any{"name": "row-1", "doctype": "Sales Order Item", "item": "A", "qty": int64(5), "idx": int64(1)},
		map[string]any{"doctype": "Sales Order Item", "parentfield": "items", "parenttype": "Sales Order",
			"idx": int64(2), "item": "B", "qty": int64(2), "rate": 1.5},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("doc\n%#v\nwant\n%#v", doc, want)
	}
	if reflect.ValueOf(doc["meta"]).Pointer() != reflect.ValueOf(meta).Pointer() {
		t.Fatal("an unchanged field was replaced")
	}
}

func TestDocEventThrowLeavesDocUnchanged(t *testing.T) {
	p, err := Compile("validate", `
doc.status = "Changed"
doc.append("items", {"item": "C"})
if not doc.customer:
    frappe.throw("Customer is mandatory", frappe.MandatoryError)
`)
	if err != nil {
		t.Fatal(err)
	}
	doc := orderDoc()
	_, err = p.RunDocEvent(context.Background(), newFakeEnv(), "Sales Order", doc, Options{})
	var te *ThrowError
	if !errors.As(err, &te) || te.Exc != "MandatoryError" || te.Msg != "Customer is mandatory" {
		t.Fatalf("got %v", err)
	}
	if !reflect.DeepEqual(doc, orderDoc()) {
		t.Fatalf("doc changed: %#v", doc)
	}
}

func TestDocMethods(t *testing.T) {
	p, err := Compile("methods", `
open_rows = doc.get("items", {"qty": ["<", 2]})
d = doc.as_dict()
doc.update({"status": "X"})
doc.items = [{"item": "Z", "qty": 7}]
doc.result = [
    doc.doctype, doc.name, len(open_rows), d["doctype"], d["items"][0]["item"], d.meta.k,
    doc.items[0].item, doc.items[0].parentfield, doc.flags.ignore_permissions, doc.is_new(),
    "status" in doc, doc["status"], str(doc),
]
`)
	if err != nil {
		t.Fatal(err)
	}
	doc := orderDoc()
	got, _, err := p.RunAPI(context.Background(), newFakeEnv(), nil, Options{})
	if err == nil {
		t.Fatalf("doc is None in API scripts, want an error, got %v", got)
	}
	_, err = p.RunDocEvent(context.Background(), newFakeEnv(), "Sales Order", doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc["status"] != "X" {
		t.Fatalf("status %v", doc["status"])
	}
	want := []any{"Sales Order", "SO-1", int64(1), "Sales Order", "A", "v", "Z", "items", nil, false, true, "X", "<Sales Order: SO-1>"}
	if !reflect.DeepEqual(doc["result"], want) {
		t.Fatalf("result %#v\nwant %#v", doc["result"], want)
	}
	rows := doc["items"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["item"] != "Z" || rows[0].(map[string]any)["parenttype"] != "Sales Order" {
		t.Fatalf("items %#v", rows)
	}
}

func TestDocMethodsResults(t *testing.T) {
	env := seeded()
	got := mustAPI(t, env, `
d = frappe.get_doc("ToDo", {"status": "Closed"})
rows = d.get("items") or []
d.append("items", {"item": "Q"})
d.save()
frappe.response["message"] = [d.name, d.items[0].item, d.items[0].idx, str(d), d.get("nope", "dflt"), d.flags.x]
`, nil)
	want := []any{"td-2", "Q", int64(1), "<ToDo: td-2>", "dflt", nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	items := env.docs["ToDo"]["td-2"]["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["parentfield"] != "items" {
		t.Fatalf("items %#v", items)
	}
	_, _, err := runAPI(t, env, `frappe.get_doc("ToDo", {"status": "Nope"})`, nil)
	var te *ThrowError
	if !errors.As(err, &te) || te.Exc != "DoesNotExistError" {
		t.Fatalf("got %v", err)
	}
}
