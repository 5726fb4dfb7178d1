package script_test

import (
	"context"
	"fmt"
	"time"

	"docket/methods/script"
)

// exampleEnv is a tiny Env holding one Customer, enough for the example.
type exampleEnv struct{ script.Env }

func (exampleEnv) User() string   { return "admin@example.com" }
func (exampleEnv) Now() time.Time { return time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC) }
func (exampleEnv) Exists(_ context.Context, doctype, name string) (bool, error) {
	return doctype == "Customer" && name == "CUST-1", nil
}
func (exampleEnv) GetDoc(_ context.Context, doctype, name string) (map[string]any, error) {
	return map[string]any{"doctype": "Customer", "name": "CUST-1", "customer_name": "ACME", "credit_limit": 5000.0}, nil
}

func Example() {
	prog, err := script.Compile("credit_check", `
name = frappe.form_dict.customer
limit = frappe.db.get_value("Customer", name, "credit_limit")
if limit is None:
    frappe.throw(_("Unknown customer {0}").format(name))
frappe.msgprint(f"Checked {name} on {frappe.utils.nowdate()}")
frappe.response["message"] = {"customer": name, "available": limit - frappe.form_dict.amount}
`)
	if err != nil {
		panic(err)
	}
	result, msgs, err := prog.RunAPI(context.Background(), exampleEnv{}, map[string]any{"customer": "CUST-1", "amount": int64(1200)}, script.Options{})
	fmt.Println(result, msgs, err)
	// Output: map[available:3800 customer:CUST-1] [Checked CUST-1 on 2024-03-01] <nil>
}

// A Webhook's condition and JSON body: an expression and a template
// evaluated against the document that changed.
func ExampleCompileTemplate() {
	doc := map[string]any{"name": "SO-0001", "customer": `ACME "Intl"`, "grand_total": 1250.0, "status": "To Deliver"}
	cond, err := script.CompileExpr("condition", `doc.status != "Draft" and doc.grand_total > 1000`)
	if err != nil {
		panic(err)
	}
	ok, err := cond.Truth(context.Background(), exampleEnv{}, "Sales Order", doc, script.Options{})
	fmt.Println(ok, err)
	body, err := script.CompileTemplate("webhook_json",
		`{"order": "{{ doc.name }}", "customer": {{ doc.customer | tojson }}, "total": {{ doc.grand_total }}, "on": "{{ utils.nowdate() }}"}`)
	if err != nil {
		panic(err)
	}
	text, err := body.Render(context.Background(), exampleEnv{}, "Sales Order", doc, script.Options{})
	fmt.Println(text, err)
	// Output:
	// true <nil>
	// {"order": "SO-0001", "customer": "ACME \"Intl\"", "total": 1250.0, "on": "2024-03-01"} <nil>
}
