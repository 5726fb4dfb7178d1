package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api/apitest"
)

// doctype returns a custom DocType document in Frappe's JSON shape.
func doctype(name, autoname string, fields ...map[string]any) map[string]any {
	fs := make([]any, len(fields))
	for i, f := range fields {
		fs[i] = f
	}
	return map[string]any{
		"name": name, "module": "Custom", "custom": 1, "autoname": autoname, "fields": fs,
		"permissions": []any{map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1, "submit": 1, "cancel": 1}},
	}
}

func field(name, typ string, props ...any) map[string]any {
	f := map[string]any{"fieldname": name, "fieldtype": typ, "label": strings.ToUpper(name[:1]) + name[1:]}
	for i := 0; i+1 < len(props); i += 2 {
		f[props[i].(string)] = props[i+1]
	}
	return f
}

// createDocTypes creates the doctypes the semantic tests use.
func createDocTypes(t *testing.T, c *apitest.Client) {
	t.Helper()
	c.Do(t, "POST", "/api/resource/DocType", map[string]any{
		"name": "Task Item", "module": "Custom", "custom": 1, "istable": 1,
		"fields": []any{field("item", "Data", "reqd", 1, "in_list_view", 1), field("qty", "Int"), field("owner_user", "Link", "options", "User")},
	}, 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Project Task", "hash",
		field("title", "Data", "reqd", 1),
		field("status", "Select", "options", "Open\nWorking\nDone", "default", "Open"),
		field("hours", "Float"), field("points", "Int"), field("due", "Date"), field("starts", "Datetime"),
		field("assignee", "Link", "options", "User"), field("done", "Check"),
		field("code", "Data", "unique", 1), field("email", "Data", "options", "Email"),
		field("items", "Table", "options", "Task Item"),
	), 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Series Doc", "SD-.YYYY.-.####", field("title", "Data")), 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Auto Doc", "autoincrement", field("title", "Data")), 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Field Doc", "field:code", field("code", "Data")), 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Format Doc", "format:FD-{code}-{###}", field("code", "Data")), 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Prompt Doc", "Prompt", field("title", "Data")), 200, nil)
	inv := doctype("Invoice Doc", "hash", field("amount", "Currency"), field("note", "Data", "allow_on_submit", 1))
	inv["is_submittable"] = 1
	c.Do(t, "POST", "/api/resource/DocType", inv, 200, nil)
}

type envelope struct {
	Data    map[string]any `json:"data"`
	ExcType string         `json:"exc_type"`
}

func TestDocumentSemantics(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	createDocTypes(t, c)
	year := time.Now().Format("2006")

	t.Run("naming rules", func(t *testing.T) {
		var e envelope
		c.Do(t, "POST", "/api/resource/Series Doc", map[string]any{"title": "a"}, 200, &e)
		if e.Data["name"] != "SD-"+year+"-0001" {
			t.Fatalf("series name %v", e.Data["name"])
		}
		c.Do(t, "POST", "/api/resource/Series Doc", map[string]any{"title": "b"}, 200, &e)
		if e.Data["name"] != "SD-"+year+"-0002" {
			t.Fatalf("series name %v", e.Data["name"])
		}
		c.Do(t, "POST", "/api/resource/Auto Doc", map[string]any{"title": "a", "name": "ignored"}, 200, &e)
		if e.Data["name"] != float64(1) {
			t.Fatalf("autoincrement name %#v", e.Data["name"])
		}
		c.Do(t, "POST", "/api/resource/Auto Doc", map[string]any{"title": "b"}, 200, &e)
		if e.Data["name"] != float64(2) {
			t.Fatalf("autoincrement name %#v", e.Data["name"])
		}
		c.Do(t, "GET", "/api/resource/Auto Doc/2", nil, 200, &e)
		c.Do(t, "POST", "/api/resource/Field Doc", map[string]any{"code": " ABC-1 "}, 200, &e)
		if e.Data["name"] != "ABC-1" {
			t.Fatalf("field name %v", e.Data["name"])
		}
		c.Do(t, "POST", "/api/resource/Field Doc", map[string]any{"code": "ABC-1"}, 409, &e)
		if e.ExcType != "DuplicateEntryError" {
			t.Fatalf("duplicate: %v", e.ExcType)
		}
		c.Do(t, "POST", "/api/resource/Field Doc", map[string]any{}, 417, &e)
		c.Do(t, "POST", "/api/resource/Format Doc", map[string]any{"code": "X"}, 200, &e)
		if e.Data["name"] != "FD-X-001" {
			t.Fatalf("format name %v", e.Data["name"])
		}
		c.Do(t, "POST", "/api/resource/Prompt Doc", map[string]any{"name": "chosen", "title": "t"}, 200, &e)
		if e.Data["name"] != "chosen" {
			t.Fatalf("prompt name %v", e.Data["name"])
		}
		c.Do(t, "POST", "/api/resource/Prompt Doc", map[string]any{"title": "t"}, 417, &e)
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "t", "name": "mine"}, 200, &e)
		if e.Data["name"] == "mine" || len(e.Data["name"].(string)) != 10 {
			t.Fatalf("hash naming must ignore a client name: %v", e.Data["name"])
		}
	})

	t.Run("field types are stored canonically", func(t *testing.T) {
		var e envelope
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{
			"title": "types", "hours": "2.5", "points": 3.0, "due": "2024-1-5", "starts": "2024-01-05T10:11:12Z",
			"done": true, "assignee": "Administrator",
		}, 200, &e)
		d := e.Data
		if d["hours"] != 2.5 || d["points"] != float64(3) || d["due"] != "2024-01-05" || d["done"] != float64(1) {
			t.Fatalf("coerced values %v", d)
		}
		if !strings.HasPrefix(d["starts"].(string), "2024-01-05 ") {
			t.Fatalf("datetime %v", d["starts"])
		}
		if d["status"] != "Open" {
			t.Fatalf("default status %v", d["status"])
		}
	})

	t.Run("validation errors", func(t *testing.T) {
		cases := []struct {
			body map[string]any
			exc  string
		}{
			{map[string]any{}, "MandatoryError"},
			{map[string]any{"title": "x", "status": "Nope"}, "ValidationError"},
			{map[string]any{"title": "x", "points": "many"}, "ValidationError"},
			{map[string]any{"title": "x", "assignee": "nobody@example.com"}, "LinkValidationError"},
			{map[string]any{"title": "x", "email": "not-an-email"}, "InvalidEmailAddressError"},
			{map[string]any{"title": strings.Repeat("x", 141)}, "CharacterLengthExceededError"},
			{map[string]any{"title": "x", "items": []any{map[string]any{"qty": 1}}}, "MandatoryError"},
			{map[string]any{"title": "x", "nosuchfield": 1}, "DataError"},
		}
		for _, tc := range cases {
			var e envelope
			c.Do(t, "POST", "/api/resource/Project Task", tc.body, 417, &e)
			if e.ExcType != tc.exc {
				t.Errorf("%v: exc_type %s, want %s", tc.body, e.ExcType, tc.exc)
			}
		}
	})

	t.Run("unique fields", func(t *testing.T) {
		var e envelope
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "u1", "code": "UNIQ"}, 200, &e)
		first := e.Data["name"].(string)
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "u2", "code": "uniq"}, 417, &e)
		if e.ExcType != "UniqueValidationError" {
			t.Fatalf("exc_type %s", e.ExcType)
		}
		// Releasing the value (update, then delete) frees it.
		c.Do(t, "PUT", "/api/resource/Project Task/"+first, map[string]any{"code": "OTHER"}, 200, nil)
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "u3", "code": "UNIQ"}, 200, &e)
		c.Do(t, "DELETE", "/api/resource/Project Task/"+first, nil, 202, nil)
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "u4", "code": "OTHER"}, 200, nil)
	})

	t.Run("child tables are replaced on PUT", func(t *testing.T) {
		var e envelope
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{
			"title": "with items", "items": []any{map[string]any{"item": "a", "qty": 1}, map[string]any{"item": "b", "qty": 2}},
		}, 200, &e)
		name := e.Data["name"].(string)
		rows := e.Data["items"].([]any)
		if len(rows) != 2 {
			t.Fatalf("rows %v", rows)
		}
		r0 := rows[0].(map[string]any)
		if r0["parent"] != name || r0["parenttype"] != "Project Task" || r0["parentfield"] != "items" ||
			r0["idx"] != float64(1) || r0["doctype"] != "Task Item" || r0["name"] == nil {
			t.Fatalf("child row standard fields %v", r0)
		}
		// Keep row a (by name) with a new qty, drop b, add c.
		c.Do(t, "PUT", "/api/resource/Project Task/"+name, map[string]any{
			"items": []any{map[string]any{"name": r0["name"], "item": "a", "qty": 5}, map[string]any{"item": "c"}},
		}, 200, &e)
		rows = e.Data["items"].([]any)
		if len(rows) != 2 || rows[0].(map[string]any)["name"] != r0["name"] || rows[0].(map[string]any)["qty"] != float64(5) ||
			rows[1].(map[string]any)["item"] != "c" || rows[0].(map[string]any)["creation"] != r0["creation"] {
			t.Fatalf("rows after PUT %v", rows)
		}
		// A PUT without the table keeps it.
		c.Do(t, "PUT", "/api/resource/Project Task/"+name, map[string]any{"hours": 1}, 200, &e)
		if len(e.Data["items"].([]any)) != 2 {
			t.Fatalf("rows dropped by a PUT without items: %v", e.Data["items"])
		}
		// List with a child field: one row per child row.
		var list struct{ Data []map[string]any }
		c.Do(t, "GET", "/api/resource/Project Task?fields="+q(`["name","items.item"]`)+"&filters="+q(`[["name","=","`+name+`"]]`)+"&order_by=items.item%20asc", nil, 200, &list)
		if len(list.Data) != 2 || list.Data[0]["item"] != "a" || list.Data[1]["item"] != "c" {
			t.Fatalf("child field list %v", list.Data)
		}
		c.Do(t, "GET", "/api/resource/Project Task?fields="+q(`["name"]`)+"&filters="+q(`[["Task Item","item","=","c"]]`), nil, 200, &list)
		if len(list.Data) != 1 || list.Data[0]["name"] != name {
			t.Fatalf("child filter list %v", list.Data)
		}
	})

	t.Run("submit, update after submit, cancel", func(t *testing.T) {
		var e envelope
		c.Do(t, "POST", "/api/resource/Invoice Doc", map[string]any{"amount": 10}, 200, &e)
		name := e.Data["name"].(string)
		c.Do(t, "PUT", "/api/resource/Invoice Doc/"+name, map[string]any{"docstatus": 1}, 200, &e)
		if e.Data["docstatus"] != float64(1) {
			t.Fatalf("docstatus %v", e.Data["docstatus"])
		}
		c.Do(t, "PUT", "/api/resource/Invoice Doc/"+name, map[string]any{"note": "allowed"}, 200, nil)
		c.Do(t, "PUT", "/api/resource/Invoice Doc/"+name, map[string]any{"amount": 11}, 417, &e)
		if e.ExcType != "UpdateAfterSubmitError" {
			t.Fatalf("exc_type %s", e.ExcType)
		}
		c.Do(t, "DELETE", "/api/resource/Invoice Doc/"+name, nil, 417, nil)
		c.Do(t, "PUT", "/api/resource/Invoice Doc/"+name, map[string]any{"docstatus": 0}, 417, &e)
		if e.ExcType != "DocstatusTransitionError" {
			t.Fatalf("exc_type %s", e.ExcType)
		}
		c.Do(t, "POST", "/api/resource/Invoice Doc/"+name, map[string]any{"run_method": "cancel"}, 200, &e)
		if e.Data["docstatus"] != float64(2) {
			t.Fatalf("docstatus %v", e.Data["docstatus"])
		}
		c.Do(t, "PUT", "/api/resource/Invoice Doc/"+name, map[string]any{"note": "x"}, 417, nil)
		c.Do(t, "POST", "/api/resource/Invoice Doc", map[string]any{"amount": 1, "docstatus": 1}, 200, &e)
		if e.Data["docstatus"] != float64(1) {
			t.Fatalf("insert+submit docstatus %v", e.Data["docstatus"])
		}
	})

	t.Run("links block deletes", func(t *testing.T) {
		var e envelope
		c.Do(t, "POST", "/api/resource/User", map[string]any{"email": "Jane@Example.com", "first_name": "Jane", "last_name": "Doe"}, 200, &e)
		if e.Data["name"] != "jane@example.com" || e.Data["full_name"] != "Jane Doe" {
			t.Fatalf("user %v", e.Data)
		}
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "linked", "assignee": "jane@example.com"}, 200, &e)
		task := e.Data["name"].(string)
		c.Do(t, "DELETE", "/api/resource/User/jane@example.com", nil, 417, &e)
		if e.ExcType != "LinkExistsError" {
			t.Fatalf("exc_type %s", e.ExcType)
		}
		c.Do(t, "DELETE", "/api/resource/Project Task/"+task, nil, 202, nil)
		c.Do(t, "DELETE", "/api/resource/User/jane@example.com", nil, 202, nil)
		// A deleted name can be used again.
		c.Do(t, "POST", "/api/resource/User", map[string]any{"email": "jane@example.com", "first_name": "Jane"}, 200, nil)
	})

	t.Run("a write is immediately visible to a list by the same client", func(t *testing.T) {
		for i := range 20 {
			var e envelope
			title := fmt.Sprintf("visible %d", i)
			c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": title}, 200, &e)
			var list struct{ Data []map[string]any }
			c.Do(t, "GET", "/api/resource/Project Task?fields="+q(`["title"]`)+"&limit=1", nil, 200, &list)
			if len(list.Data) != 1 || list.Data[0]["title"] != title {
				t.Fatalf("newest row %v, want %q", list.Data, title)
			}
			var count struct{ Message int }
			c.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=Project%20Task&filters="+q(`{"title":"`+title+`"}`), nil, 200, &count)
			if count.Message != 1 {
				t.Fatalf("count %d", count.Message)
			}
		}
	})
}

// TestConcurrentUpdatesLoseNothing has many clients update different
// fields of one document at once: every update must survive.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	fields := []map[string]any{}
	for i := range 16 {
		fields = append(fields, field(fmt.Sprintf("f%02d", i), "Int"))
	}
	c.Do(t, "POST", "/api/resource/DocType", doctype("Counter Doc", "hash", fields...), 200, nil)
	var e envelope
	c.Do(t, "POST", "/api/resource/Counter Doc", map[string]any{}, 200, &e)
	name := e.Data["name"].(string)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := n.Admin(t)
			for round := 1; round <= 3; round++ {
				cl.Do(t, "PUT", "/api/resource/Counter Doc/"+name, map[string]any{fmt.Sprintf("f%02d", i): round}, 200, nil)
			}
		}()
	}
	wg.Wait()
	c.Do(t, "GET", "/api/resource/Counter Doc/"+name, nil, 200, &e)
	for i := range 16 {
		if v := e.Data[fmt.Sprintf("f%02d", i)]; v != float64(3) {
			t.Errorf("f%02d = %v, want 3 (a lost update)", i, v)
		}
	}
	// 1 insert + 48 updates: version 49 at the head of the subject.
	rec, err := n.Store.Get("Counter Doc", name)
	if err != nil || rec.Version != 49 {
		t.Fatalf("version %d (%v), want 49", rec.Version, err)
	}
}

// TestRestartAndRebuild checks that a restart keeps everything and that
// an empty Pebble directory is rebuilt from the log with identical
// answers.
func TestRestartAndRebuild(t *testing.T) {
	dir := t.TempDir()
	n := apitest.Start(t, dir)
	c := n.Admin(t)
	createDocTypes(t, c)
	for i := range 40 {
		c.Do(t, "POST", "/api/resource/Project Task", map[string]any{
			"title": fmt.Sprintf("task %02d", i), "points": i % 7, "status": []string{"Open", "Working", "Done"}[i%3],
			"items": []any{map[string]any{"item": fmt.Sprintf("i%d", i%4)}},
		}, 200, nil)
	}
	var list struct{ Data []map[string]any }
	c.Do(t, "GET", "/api/resource/Project Task?limit=10", nil, 200, &list)
	for _, r := range list.Data[:5] {
		c.Do(t, "DELETE", "/api/resource/Project Task/"+r["name"].(string), nil, 202, nil)
	}
	for _, r := range list.Data[5:] {
		c.Do(t, "PUT", "/api/resource/Project Task/"+r["name"].(string), map[string]any{"status": "Done", "hours": 1.5}, 200, nil)
	}
	queries := []string{
		"/api/resource/Project Task?fields=" + q(`["*"]`) + "&limit=0",
		"/api/resource/Project Task?fields=" + q(`["name","title","status"]`) + "&filters=" + q(`{"status":"Done"}`) + "&order_by=title%20asc&limit=0",
		"/api/resource/Project Task?fields=" + q(`["status","count(name) as n","sum(points) as p"]`) + "&group_by=status&order_by=status%20asc",
		"/api/resource/Project Task?fields=" + q(`["name","items.item"]`) + "&filters=" + q(`[["points",">=",3]]`) + "&order_by=name%20asc&limit=0",
		"/api/method/frappe.client.get_count?doctype=Project%20Task&filters=" + q(`{"status":"Open"}`),
		"/api/resource/User?fields=" + q(`["name","full_name"]`) + "&order_by=name%20asc",
		"/api/resource/DocType?fields=" + q(`["name","istable"]`) + "&limit=0&order_by=name%20asc",
	}
	answers := func(c *apitest.Client) []string {
		var out []string
		for _, qq := range queries {
			out = append(out, string(c.Do(t, "GET", qq, nil, 200, nil).Body))
		}
		return out
	}
	before := answers(c)
	n.Stop()

	n2 := apitest.Start(t, dir)
	if got := answers(n2.Admin(t)); !reflect.DeepEqual(got, before) {
		t.Fatalf("answers changed across a restart:\n%v\n%v", before, got)
	}
	n2.Stop()

	if err := os.RemoveAll(filepath.Join(dir, "pebble")); err != nil {
		t.Fatal(err)
	}
	n3 := apitest.Start(t, dir)
	if got := answers(n3.Admin(t)); !reflect.DeepEqual(got, before) {
		t.Fatalf("answers changed after rebuilding Pebble from the log:\n%v\n%v", before, got)
	}
	last, _ := n3.Log.LastSeq(context.Background())
	if applied := n3.Store.Applied(); applied != last {
		t.Fatalf("applied %d of %d", applied, last)
	}
}

func q(s string) string { return url.QueryEscape(s) }

// TestChildTableList lists child rows through their parent, as
// GET /api/resource/{child doctype}?parent={parent doctype} does.
func TestChildTableList(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	createDocTypes(t, c)
	c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "a", "items": []any{
		map[string]any{"item": "x", "qty": 1}, map[string]any{"item": "y", "qty": 2}}}, 200, nil)
	c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "b", "items": []any{map[string]any{"item": "z", "qty": 3}}}, 200, nil)
	c.Do(t, "POST", "/api/resource/Project Task", map[string]any{"title": "empty"}, 200, nil)
	var list struct{ Data []map[string]any }
	c.Do(t, "GET", "/api/resource/Task Item?parent=Project%20Task&fields="+q(`["item","qty","parent","idx"]`)+"&order_by=item%20asc", nil, 200, &list)
	if len(list.Data) != 3 || list.Data[0]["item"] != "x" || list.Data[2]["item"] != "z" || list.Data[2]["qty"] != float64(3) {
		t.Fatalf("child rows %v", list.Data)
	}
	c.Do(t, "GET", "/api/resource/Task Item?parent=Project%20Task&filters="+q(`[["qty",">=",2]]`)+"&fields="+q(`["item"]`)+"&order_by=item%20asc", nil, 200, &list)
	if len(list.Data) != 2 || list.Data[0]["item"] != "y" {
		t.Fatalf("filtered child rows %v", list.Data)
	}
	var count struct{ Message int }
	c.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=Task%20Item&parent=Project%20Task", nil, 200, &count)
	if count.Message != 3 {
		t.Fatalf("count of child rows %d", count.Message)
	}
	var e envelope
	c.Do(t, "GET", "/api/resource/Task Item", nil, 403, &e)
	if e.ExcType != "PermissionError" {
		t.Fatalf("child list without parent: %s", e.ExcType)
	}
	c.Do(t, "GET", "/api/resource/Task Item?parent=ToDo", nil, 403, nil)
}

// TestDeletedUserLeavesNothingBehind: a new user of a deleted user's name
// inherits neither password, nor API key, nor sessions.
func TestDeletedUserLeavesNothingBehind(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "bob@example.com", "first_name": "Bob", "new_password": "bob-pass-1"}, 200, nil)
	bob := n.Client(t)
	bob.Login(t, "bob@example.com", "bob-pass-1")
	token := n.NewToken(t, "BOB@example.com") // another case: the stored name gets the key
	tok := n.Client(t)
	tok.Header.Set("Authorization", token)
	var who struct{ Message string }
	tok.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 200, &who)
	if who.Message != "bob@example.com" {
		t.Fatalf("token user %q", who.Message)
	}
	admin.Do(t, "DELETE", "/api/resource/User/bob@example.com", nil, 202, nil)
	admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "bob@example.com", "first_name": "Robert"}, 200, nil)
	bob.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 403, nil)
	tok.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 401, nil)
	n.Client(t).Do(t, "POST", "/api/method/login", map[string]any{"usr": "bob@example.com", "pwd": "bob-pass-1"}, 401, nil)
	// A password set later works, and a password change ends older sessions.
	admin.Do(t, "PUT", "/api/resource/User/bob@example.com", map[string]any{"new_password": "bob-pass-2"}, 200, nil)
	robert := n.Client(t)
	robert.Login(t, "bob@example.com", "bob-pass-2")
	robert.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 200, nil)
	admin.Do(t, "PUT", "/api/resource/User/bob@example.com", map[string]any{"new_password": "bob-pass-3"}, 200, nil)
	robert.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 403, nil)
}
