package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api/apitest"
	"docket/eventlog"
	"docket/methods"
)

// TestMethodsCommitOnPOST: a method's writes commit together on a
// successful POST, not at all when it fails, and a GET cannot write.
func TestMethodsCommitOnPOST(t *testing.T) {
	n := apitest.Start(t, "")
	n.Registry.Register("test.two_writes", methods.MethodOptions{Methods: []string{"GET", "POST"}},
		func(ctx context.Context, c *methods.Call) (any, error) {
			todo, err := c.Tx.Insert(ctx, "ToDo", map[string]any{"description": methods.StringArg(c.Args, "what")})
			if err != nil {
				return nil, err
			}
			// Reads inside the transaction see its own writes.
			if _, err := c.Tx.Get(ctx, "ToDo", todo["name"].(string)); err != nil {
				return nil, err
			}
			if _, err := c.Tx.Insert(ctx, "Note", map[string]any{"title": methods.StringArg(c.Args, "what")}); err != nil {
				return nil, err
			}
			if fail, _ := methods.BoolArg(c.Args, "fail", false); fail {
				return nil, &methods.Error{Exc: methods.ValidationError, Msg: "failing on purpose"}
			}
			return todo["name"], nil
		})
	c := n.Admin(t)
	count := func(doctype, what string) int {
		var out struct{ Message int }
		c.Do(t, "GET", "/api/method/frappe.client.get_count?doctype="+doctype+"&filters="+q(`{"`+map[string]string{"ToDo": "description", "Note": "title"}[doctype]+`":"`+what+`"}`), nil, 200, &out)
		return out.Message
	}
	var out struct{ Message string }
	c.Do(t, "POST", "/api/method/test.two_writes", map[string]any{"what": "kept"}, 200, &out)
	if count("ToDo", "kept") != 1 || count("Note", "kept") != 1 {
		t.Fatal("a successful POST did not commit both writes")
	}
	recs := map[eventlog.Seq]bool{}
	for _, dt := range []string{"ToDo", "Note"} {
		var list struct{ Data []map[string]any }
		c.Do(t, "GET", "/api/resource/"+dt+"?fields="+q(`["name"]`)+"&limit=1", nil, 200, &list)
		rec, _ := n.Store.Get(dt, list.Data[0]["name"].(string))
		recs[rec.Seq] = true
	}
	if len(recs) != 2 {
		t.Fatalf("two documents at %v", recs)
	}
	before, _ := n.Log.LastSeq(context.Background())
	var e struct {
		ExcType string `json:"exc_type"`
	}
	c.Do(t, "POST", "/api/method/test.two_writes", map[string]any{"what": "doomed", "fail": 1}, 417, &e)
	c.Do(t, "GET", "/api/method/test.two_writes?what=on-a-get", nil, 403, &e)
	if e.ExcType != "PermissionError" {
		t.Fatalf("GET write: %s", e.ExcType)
	}
	after, _ := n.Log.LastSeq(context.Background())
	if after != before || count("ToDo", "doomed") != 0 || count("Note", "on-a-get") != 0 {
		t.Fatalf("a failed call or a GET wrote: log %d → %d", before, after)
	}
}

// TestFrappeClientMethods calls the frappe.client built-ins with the
// argument shapes frappe-js-sdk and Frappe's own desk send.
func TestFrappeClientMethods(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	createDocTypes(t, c)
	c.Do(t, "POST", "/api/resource/DocType", map[string]any{"name": "Test Settings", "module": "Custom", "custom": 1, "issingle": 1,
		"fields": []any{field("site_title", "Data", "default", "Docket"), field("max_items", "Int")}}, 200, nil)
	type msg struct {
		Message any
		ExcType string `json:"exc_type"`
	}
	call := func(verb, method string, args map[string]any, status int) msg {
		t.Helper()
		var m msg
		if verb == "GET" {
			vals := url.Values{}
			for k, v := range args {
				vals.Set(k, fmt.Sprint(v))
			}
			c.Do(t, "GET", "/api/method/"+method+"?"+vals.Encode(), nil, status, &m)
		} else {
			c.Do(t, verb, "/api/method/"+method, args, status, &m)
		}
		return m
	}
	ins := call("POST", "frappe.client.insert", map[string]any{"doc": map[string]any{"doctype": "Project Task", "title": "alpha", "points": 3,
		"items": []any{map[string]any{"item": "a"}}}}, 200).Message.(map[string]any)
	name := ins["name"].(string)
	if ins["doctype"] != "Project Task" || ins["hours"] != 0.0 {
		t.Fatalf("insert %v", ins)
	}

	t.Run("get_value", func(t *testing.T) {
		m := call("GET", "frappe.client.get_value", map[string]any{"doctype": "Project Task", "fieldname": `["title","points"]`, "filters": `{"title":"alpha"}`}, 200)
		if v := m.Message.(map[string]any); v["title"] != "alpha" || v["points"] != float64(3) {
			t.Fatalf("get_value %v", m.Message)
		}
		m = call("GET", "frappe.client.get_value", map[string]any{"doctype": "Project Task", "fieldname": "[]", "filters": name}, 200)
		if v := m.Message.(map[string]any); v["name"] != name {
			t.Fatalf("get_value [] %v", m.Message)
		}
		m = call("GET", "frappe.client.get_value", map[string]any{"doctype": "Project Task", "fieldname": "title", "filters": name, "as_dict": "false"}, 200)
		if m.Message != "alpha" {
			t.Fatalf("get_value as_dict false %v", m.Message)
		}
		m = call("GET", "frappe.client.get_value", map[string]any{"doctype": "Project Task", "fieldname": "title", "filters": `{"title":"none"}`}, 200)
		if v, ok := m.Message.(map[string]any); !ok || len(v) != 0 {
			t.Fatalf("get_value of nothing %v", m.Message)
		}
	})

	t.Run("set_value, save, get", func(t *testing.T) {
		m := call("POST", "frappe.client.set_value", map[string]any{"doctype": "Project Task", "name": name, "fieldname": "points", "value": 5}, 200)
		doc := m.Message.(map[string]any)
		if doc["points"] != float64(5) || doc["due"] != nil {
			t.Fatalf("set_value %v", doc)
		}
		if _, hasNull := doc["due"]; !hasNull {
			t.Fatalf("frappe.client results keep nulls: %v", doc)
		}
		m = call("POST", "frappe.client.set_value", map[string]any{"doctype": "Project Task", "name": name, "fieldname": map[string]any{"hours": 2.5, "title": "alpha2"}}, 200)
		if d := m.Message.(map[string]any); d["hours"] != 2.5 || d["title"] != "alpha2" {
			t.Fatalf("set_value of an object %v", d)
		}
		if e := call("POST", "frappe.client.set_value", map[string]any{"doctype": "Project Task", "name": name, "fieldname": "owner", "value": "x"}, 417); e.ExcType != "ValidationError" {
			t.Fatalf("standard field %v", e)
		}
		call("GET", "frappe.client.set_value", map[string]any{"doctype": "Project Task", "name": name, "fieldname": "points", "value": 1}, 403)
		// A child row's value is set through its parent.
		row := doc["items"].([]any)[0].(map[string]any)
		m = call("POST", "frappe.client.set_value", map[string]any{"doctype": "Task Item", "name": row["name"], "fieldname": "qty", "value": 9}, 200)
		if d := m.Message.(map[string]any); d["name"] != name || d["items"].([]any)[0].(map[string]any)["qty"] != float64(9) {
			t.Fatalf("set_value of a child row %v", d)
		}
		got := call("GET", "frappe.client.get", map[string]any{"doctype": "Project Task", "name": name}, 200).Message.(map[string]any)
		got["title"] = "saved whole"
		m = call("POST", "frappe.client.save", map[string]any{"doc": got}, 200)
		if m.Message.(map[string]any)["title"] != "saved whole" {
			t.Fatalf("save %v", m.Message)
		}
		if e := call("POST", "frappe.client.save", map[string]any{"doc": got}, 417); e.ExcType != "TimestampMismatchError" {
			t.Fatalf("save of a stale document: %v", e)
		}
		if m := call("GET", "frappe.client.get", map[string]any{"doctype": "Project Task", "filters": `{"title":"saved whole"}`}, 200); m.Message.(map[string]any)["name"] != name {
			t.Fatalf("get by filters %v", m.Message)
		}
	})

	t.Run("Single doctypes", func(t *testing.T) {
		if m := call("GET", "frappe.client.get_single_value", map[string]any{"doctype": "Test Settings", "field": "site_title"}, 200); m.Message != "Docket" {
			t.Fatalf("default of a Single %v", m.Message)
		}
		c.Do(t, "PUT", "/api/resource/Test Settings/Test Settings", map[string]any{"max_items": 7}, 200, nil)
		if m := call("GET", "frappe.client.get_single_value", map[string]any{"doctype": "Test Settings", "field": "max_items"}, 200); m.Message != float64(7) {
			t.Fatalf("saved Single %v", m.Message)
		}
		var doc struct{ Data map[string]any }
		c.Do(t, "GET", "/api/resource/Test Settings/Test Settings", nil, 200, &doc)
		if doc.Data["site_title"] != "Docket" || doc.Data["max_items"] != float64(7) {
			t.Fatalf("Single document %v", doc.Data)
		}
	})

	t.Run("insert_many is all or nothing", func(t *testing.T) {
		m := call("POST", "frappe.client.insert_many", map[string]any{"docs": []any{
			map[string]any{"doctype": "Project Task", "title": "m1"}, map[string]any{"doctype": "Project Task", "title": "m2"}}}, 200)
		if names := m.Message.([]any); len(names) != 2 {
			t.Fatalf("insert_many %v", m.Message)
		}
		before, _ := n.Log.LastSeq(context.Background())
		call("POST", "frappe.client.insert_many", map[string]any{"docs": []any{
			map[string]any{"doctype": "Project Task", "title": "m3"}, map[string]any{"doctype": "Project Task"}}}, 417)
		many := make([]any, 201)
		for i := range many {
			many[i] = map[string]any{"doctype": "Project Task", "title": "x"}
		}
		if e := call("POST", "frappe.client.insert_many", map[string]any{"docs": many}, 417); e.ExcType != "ValidationError" {
			t.Fatalf("201 inserts: %v", e)
		}
		if after, _ := n.Log.LastSeq(context.Background()); after != before {
			t.Fatalf("refused insert_many wrote: %d → %d", before, after)
		}
	})

	t.Run("submit, cancel, amend", func(t *testing.T) {
		inv := call("POST", "frappe.client.insert", map[string]any{"doc": map[string]any{"doctype": "Invoice Doc", "amount": 10}}, 200).Message.(map[string]any)
		sub := call("POST", "frappe.client.submit", map[string]any{"doc": inv}, 200).Message.(map[string]any)
		if sub["docstatus"] != float64(1) {
			t.Fatalf("submit %v", sub)
		}
		can := call("POST", "frappe.client.cancel", map[string]any{"doctype": "Invoice Doc", "name": inv["name"]}, 200).Message.(map[string]any)
		if can["docstatus"] != float64(2) {
			t.Fatalf("cancel %v", can)
		}
		am := call("POST", "frappe.client.insert", map[string]any{"doc": map[string]any{"doctype": "Invoice Doc", "amount": 11, "amended_from": inv["name"]}}, 200).Message.(map[string]any)
		if am["name"] != inv["name"].(string)+"-1" || am["amended_from"] != inv["name"] {
			t.Fatalf("amendment %v", am)
		}
		call("POST", "frappe.client.insert", map[string]any{"doc": map[string]any{"doctype": "Invoice Doc", "amount": 1, "amended_from": am["name"]}}, 417)
	})

	t.Run("rename_doc", func(t *testing.T) {
		note := call("POST", "frappe.client.insert", map[string]any{"doc": map[string]any{"doctype": "Note", "title": "n"}}, 200).Message.(map[string]any)
		if m := call("POST", "frappe.client.rename_doc", map[string]any{"doctype": "Note", "old_name": note["name"], "new_name": "renamed-note"}, 200); m.Message != "renamed-note" {
			t.Fatalf("rename_doc %v", m.Message)
		}
		c.Do(t, "GET", "/api/resource/Note/"+note["name"].(string), nil, 404, nil)
		c.Do(t, "GET", "/api/resource/Note/renamed-note", nil, 200, nil)
		// Users keep their password and keys under their name: not renamed yet.
		call("POST", "frappe.client.rename_doc", map[string]any{"doctype": "User", "old_name": "Administrator", "new_name": "Root"}, 417)
		// (Links moved by a rename: TestReviewRegressions.)
	})

	t.Run("bulk_update, validate_link, delete", func(t *testing.T) {
		m := call("POST", "frappe.client.bulk_update", map[string]any{"docs": `[{"doctype":"Project Task","docname":"` + name + `","points":8},{"doctype":"Project Task","docname":"missing","points":1}]`}, 200)
		failed := m.Message.(map[string]any)["failed_docs"].([]any)
		if len(failed) != 1 {
			t.Fatalf("bulk_update %v", m.Message)
		}
		if v := call("GET", "frappe.client.get_value", map[string]any{"doctype": "Project Task", "fieldname": "points", "filters": name}, 200).Message.(map[string]any); v["points"] != float64(8) {
			t.Fatalf("bulk_update did not save the good document: %v", v)
		}
		if v := call("GET", "frappe.client.validate_link", map[string]any{"doctype": "User", "docname": "ADMINISTRATOR", "fields": `["full_name"]`}, 200).Message.(map[string]any); v["name"] != "Administrator" || v["full_name"] != "Administrator" {
			t.Fatalf("validate_link %v", v)
		}
		if v := call("GET", "frappe.client.validate_link", map[string]any{"doctype": "User", "docname": "nobody"}, 200).Message.(map[string]any); len(v) != 1 || v["name"] != nil {
			t.Fatalf("validate_link of nothing %v", v)
		}
		call("POST", "frappe.client.delete", map[string]any{"doctype": "Project Task", "name": name}, 200)
		call("GET", "frappe.client.get", map[string]any{"doctype": "Project Task", "name": name}, 404)
	})
}

// TestHooks: Go hooks run in the write path, can refuse a write and can
// write other documents in the same transaction.
func TestHooks(t *testing.T) {
	n := apitest.Start(t, "")
	n.Docs.On("ToDo", methods.Validate, func(ctx context.Context, tx methods.Transaction, doc map[string]any) error {
		if strings.Contains(fmt.Sprint(doc["description"]), "forbidden") {
			return &methods.Error{Exc: methods.ValidationError, Msg: "forbidden words"}
		}
		return nil
	})
	n.Docs.On("ToDo", methods.BeforeSave, func(ctx context.Context, tx methods.Transaction, doc map[string]any) error {
		if strings.Contains(fmt.Sprint(doc["description"]), "urgent") {
			doc["priority"] = "High"
		}
		return nil
	})
	n.Docs.On("ToDo", methods.AfterInsert, func(ctx context.Context, tx methods.Transaction, doc map[string]any) error {
		_, err := tx.Insert(ctx, "Note", map[string]any{"title": "about " + doc["name"].(string)})
		return err
	})
	c := n.Admin(t)
	var e struct {
		ExcType string `json:"exc_type"`
	}
	before, _ := n.Log.LastSeq(context.Background())
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "forbidden fruit"}, 417, &e)
	if after, _ := n.Log.LastSeq(context.Background()); after != before || e.ExcType != "ValidationError" {
		t.Fatalf("a refused write: %s, log %d → %d", e.ExcType, before, after)
	}
	var doc struct{ Data map[string]any }
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "urgent thing"}, 200, &doc)
	if doc.Data["priority"] != "High" {
		t.Fatalf("before_save did not change the document: %v", doc.Data)
	}
	var count struct{ Message int }
	c.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=Note&filters="+q(`{"title":"about `+doc.Data["name"].(string)+`"}`), nil, 200, &count)
	if count.Message != 1 {
		t.Fatalf("after_insert's Note: %d", count.Message)
	}
}

// TestServerScripts: an API script is a whitelisted method; a DocType
// Event script changes documents and can refuse them; a runaway script
// is stopped.
func TestServerScripts(t *testing.T) {
	old := methods.ScriptLimits
	methods.ScriptLimits.MaxSteps = 200_000
	methods.ScriptLimits.Timeout = 2 * time.Second
	t.Cleanup(func() { methods.ScriptLimits = old })
	n := apitest.Start(t, "")
	c := n.Admin(t)
	script := func(name string, fields map[string]any) {
		t.Helper()
		fields["name"] = name
		c.Do(t, "POST", "/api/resource/Server Script", fields, 200, nil)
	}
	script("Sum API", map[string]any{"script_type": "API", "api_method": "test.sum", "allow_guest": 1, "script": `
a = frappe.utils.cint(frappe.form_dict.get("a"))
b = frappe.utils.cint(frappe.form_dict.get("b"))
frappe.response["message"] = {"sum": a + b, "user": frappe.session.user}
`})
	script("Make Note", map[string]any{"script_type": "API", "api_method": "test.make_note", "script": `
note = frappe.get_doc({"doctype": "Note", "title": frappe.form_dict.title})
note.insert()
frappe.msgprint("made " + note.name)
frappe.response["message"] = note.name
`})
	script("ToDo Rules", map[string]any{"script_type": "DocType Event", "reference_doctype": "ToDo", "doctype_event": "Before Save", "script": `
if "secret" in (doc.description or ""):
    frappe.throw("No secrets in ToDos")
if doc.priority == "Low":
    doc.status = "Closed"
`})
	script("Runaway", map[string]any{"script_type": "API", "api_method": "test.runaway", "script": `
while True:
    pass
`})

	var out struct {
		Message        any
		ServerMessages string `json:"_server_messages"`
		ExcType        string `json:"exc_type"`
	}
	n.Client(t).Do(t, "GET", "/api/method/test.sum?a=2&b=40", nil, 200, &out)
	if m := out.Message.(map[string]any); m["sum"] != float64(42) || m["user"] != "Guest" {
		t.Fatalf("API script %v", out.Message)
	}
	c.Do(t, "POST", "/api/method/test.make_note", map[string]any{"title": "from a script"}, 200, &out)
	if !strings.Contains(out.ServerMessages, "made ") {
		t.Fatalf("msgprint %q", out.ServerMessages)
	}
	c.Do(t, "GET", "/api/resource/Note/"+out.Message.(string), nil, 200, nil)
	c.Do(t, "GET", "/api/method/test.make_note?title=on+a+get", nil, 403, nil)

	var doc struct{ Data map[string]any }
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "done later", "priority": "Low"}, 200, &doc)
	if doc.Data["status"] != "Closed" {
		t.Fatalf("DocType Event script did not change the document: %v", doc.Data)
	}
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "a secret plan"}, 417, &out)
	if out.ExcType != "ValidationError" {
		t.Fatalf("frappe.throw: %s", out.ExcType)
	}

	start := time.Now()
	c.Do(t, "GET", "/api/method/test.runaway", nil, 500, &out)
	if out.ExcType != "ServerScriptError" || time.Since(start) > 10*time.Second {
		t.Fatalf("runaway script: %s after %v", out.ExcType, time.Since(start))
	}
	// A script that does not compile is refused when saved.
	c.Do(t, "POST", "/api/resource/Server Script", map[string]any{"name": "Broken", "script_type": "API", "api_method": "test.broken", "script": "if :"}, 417, nil)
	// Disabling a script removes its method.
	c.Do(t, "PUT", "/api/resource/Server Script/Sum API", map[string]any{"disabled": 1}, 200, nil)
	c.Do(t, "GET", "/api/method/test.sum", nil, 404, nil)
}

// TestAfterCommit: subscribers see every committed change in order, at
// least once, and resume after a restart where they stopped.
func TestAfterCommit(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	var mu sync.Mutex
	var seen []string
	fails := 1
	got := make(chan struct{}, 100)
	// A new subscriber starts after what is in the log now.
	last, _ := n.Log.LastSeq(context.Background())
	subscribe := func(ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() {
			done <- methods.AfterCommit(ctx, n.Log, "test-subscriber", "ToDo", eventlog.ConsumeOptions{From: last + 1, RetryAfter: 10 * time.Millisecond},
				func(ctx context.Context, seq eventlog.Seq, ev *eventlog.Event) error {
					mu.Lock()
					defer mu.Unlock()
					if fails > 0 {
						fails-- // the first delivery fails: it must come again
						return errors.New("not now")
					}
					seen = append(seen, fmt.Sprintf("%s:%v", ev.Type, ev.Doc["description"]))
					got <- struct{}{}
					return nil
				})
		}()
		return done
	}
	wait := func(k int) {
		t.Helper()
		for range k {
			select {
			case <-got:
			case <-time.After(30 * time.Second):
				t.Fatalf("subscriber saw %v", seen)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := subscribe(ctx)
	var doc struct{ Data map[string]any }
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "one"}, 200, &doc)
	c.Do(t, "PUT", "/api/resource/ToDo/"+doc.Data["name"].(string), map[string]any{"description": "one, edited"}, 200, nil)
	c.Do(t, "POST", "/api/resource/Note", map[string]any{"title": "not a ToDo"}, 200, nil)
	wait(2)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "while stopped"}, 200, nil)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done = subscribe(ctx)
	wait(1)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"insert:one", "update:one, edited", "insert:while stopped"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("seen %v, want %v", seen, want)
	}
}

// TestMethodsNeverLoseUpdates: calls that read a document and write a
// value computed from it, at once; each lost race runs again on fresh
// reads, so every increment counts.
func TestMethodsNeverLoseUpdates(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Counter", "Prompt", field("hits", "Int")), 200, nil)
	c.Do(t, "POST", "/api/resource/Counter", map[string]any{"name": "c1"}, 200, nil)
	n.Registry.Register("test.hit", methods.MethodOptions{Methods: []string{"POST"}},
		func(ctx context.Context, call *methods.Call) (any, error) {
			doc, err := call.Tx.Get(ctx, "Counter", "c1")
			if err != nil {
				return nil, err
			}
			_, err = call.Tx.Update(ctx, "Counter", "c1", map[string]any{"hits": doc["hits"].(int64) + 1})
			return nil, err
		})
	var wg sync.WaitGroup
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Admin(t).Do(t, "POST", "/api/method/test.hit", map[string]any{}, 200, nil)
		}()
	}
	wg.Wait()
	var doc struct{ Data map[string]any }
	c.Do(t, "GET", "/api/resource/Counter/c1", nil, 200, &doc)
	if doc.Data["hits"] != float64(24) {
		t.Fatalf("hits = %v after 24 concurrent increments", doc.Data["hits"])
	}
}

// TestOnlySystemManagersWriteServerScripts: a script runs as whoever
// triggers it, so writing one is administration.
func TestOnlySystemManagersWriteServerScripts(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "eve@example.com", "first_name": "Eve"}, 200, nil)
	eve := n.Client(t)
	eve.Header.Set("Authorization", n.NewToken(t, "eve@example.com"))
	eve.Do(t, "POST", "/api/resource/Server Script", map[string]any{"name": "Escalate", "script_type": "DocType Event",
		"reference_doctype": "User", "doctype_event": "Before Save", "script": "doc.enabled = 1"}, 403, nil)
}

// TestReviewRegressions covers defects a review found in the first cut of
// methods: hooks that save their own document, renames and deletes that
// missed links, events merged wrongly within one transaction, set_value
// parsing its value.
func TestReviewRegressions(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Acct", "Prompt", field("title", "Data"), field("parent_acct", "Link", "options", "Acct")), 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", map[string]any{"name": "Transfer Line", "module": "Custom", "custom": 1, "istable": 1,
		"fields": []any{field("from_acct", "Link", "options", "Acct"), field("to_acct", "Link", "options", "Acct")}}, 200, nil)
	c.Do(t, "POST", "/api/resource/DocType", doctype("Transfer", "hash", field("lines", "Table", "options", "Transfer Line"),
		field("ref_type", "Link", "options", "DocType"), field("ref_name", "Dynamic Link", "options", "ref_type")), 200, nil)
	single := doctype("Acct Settings", "", field("default_acct", "Link", "options", "Acct"))
	single["issingle"] = 1
	c.Do(t, "POST", "/api/resource/DocType", single, 200, nil)
	for _, a := range []string{"A", "B", "C"} {
		c.Do(t, "POST", "/api/resource/Acct", map[string]any{"name": a, "title": a}, 200, nil)
	}

	t.Run("delete is refused through any link", func(t *testing.T) {
		var tr struct{ Data map[string]any }
		c.Do(t, "POST", "/api/resource/Transfer", map[string]any{"lines": []any{map[string]any{"from_acct": "B", "to_acct": "C"}}}, 200, &tr)
		var e struct {
			ExcType string `json:"exc_type"`
		}
		c.Do(t, "DELETE", "/api/resource/Acct/B", nil, 417, &e) // the first of two child Link fields
		if e.ExcType != "LinkExistsError" {
			t.Fatalf("exc_type %s", e.ExcType)
		}
		c.Do(t, "POST", "/api/resource/Transfer", map[string]any{"ref_type": "Acct", "ref_name": "C"}, 200, nil)
		c.Do(t, "PUT", "/api/resource/Acct Settings/Acct Settings", map[string]any{"default_acct": "C"}, 200, nil)
		c.Do(t, "DELETE", "/api/resource/Acct/C", nil, 417, nil)
	})

	t.Run("rename moves every link", func(t *testing.T) {
		var tr struct{ Data map[string]any }
		c.Do(t, "POST", "/api/resource/Transfer", map[string]any{"ref_type": "Acct", "ref_name": "A",
			"lines": []any{map[string]any{"from_acct": "A", "to_acct": "A"}}}, 200, &tr)
		c.Do(t, "PUT", "/api/resource/Acct/A", map[string]any{"parent_acct": "A"}, 200, nil) // a self-link
		c.Do(t, "PUT", "/api/resource/Acct Settings/Acct Settings", map[string]any{"default_acct": "A"}, 200, nil)
		c.Do(t, "POST", "/api/method/frappe.client.rename_doc", map[string]any{"doctype": "Acct", "old_name": "A", "new_name": "A2"}, 200, nil)
		var got struct{ Data map[string]any }
		c.Do(t, "GET", "/api/resource/Transfer/"+tr.Data["name"].(string), nil, 200, &got)
		line := got.Data["lines"].([]any)[0].(map[string]any)
		if line["from_acct"] != "A2" || line["to_acct"] != "A2" || got.Data["ref_name"] != "A2" {
			t.Fatalf("links after rename %v", got.Data)
		}
		c.Do(t, "GET", "/api/resource/Acct/A2", nil, 200, &got)
		if got.Data["parent_acct"] != "A2" {
			t.Fatalf("self-link after rename %v", got.Data)
		}
		c.Do(t, "GET", "/api/resource/Acct Settings/Acct Settings", nil, 200, &got)
		if got.Data["default_acct"] != "A2" {
			t.Fatalf("Single's link after rename %v", got.Data)
		}
	})

	t.Run("one transaction: insert then rename, rename then update", func(t *testing.T) {
		n.Registry.Register("test.insert_rename", methods.MethodOptions{Methods: []string{"POST"}}, func(ctx context.Context, call *methods.Call) (any, error) {
			if _, err := call.Tx.Insert(ctx, "Acct", map[string]any{"name": "N1", "title": "new"}); err != nil {
				return nil, err
			}
			if _, err := call.Tx.Rename(ctx, "Acct", "N1", "N2", false); err != nil {
				return nil, err
			}
			return call.Tx.Update(ctx, "Acct", "N2", map[string]any{"title": "renamed and edited"})
		})
		c.Do(t, "POST", "/api/method/test.insert_rename", map[string]any{}, 200, nil)
		c.Do(t, "GET", "/api/resource/Acct/N1", nil, 404, nil)
		var got struct{ Data map[string]any }
		c.Do(t, "GET", "/api/resource/Acct/N2", nil, 200, &got)
		if got.Data["title"] != "renamed and edited" {
			t.Fatalf("N2 %v", got.Data)
		}
		var list struct{ Data []map[string]any }
		c.Do(t, "GET", "/api/resource/Acct?limit=0", nil, 200, &list)
		for _, r := range list.Data {
			if r["name"] == "" || r["name"] == nil || r["name"] == "N1" {
				t.Fatalf("a phantom Acct: %v", list.Data)
			}
		}
		// The new subject's only event is the rename's arrival, edited.
		h, err := n.Log.Head(context.Background(), eventlog.DocSubject("Acct", "N2"))
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := eventlog.DecodeEvent(h.Data)
		if ev.Type != eventlog.Rename || ev.RenamedFrom != "N1" || ev.Version != 1 {
			t.Fatalf("N2's event: %s from %q v%d", ev.Type, ev.RenamedFrom, ev.Version)
		}
	})

	t.Run("hooks and scripts that save their own document", func(t *testing.T) {
		c.Do(t, "POST", "/api/resource/Server Script", map[string]any{"name": "Mark", "script_type": "DocType Event",
			"reference_doctype": "Acct", "doctype_event": "After Save",
			"script": `frappe.db.set_value("Acct", doc.name, "title", doc.title + "!")`}, 200, nil)
		var got struct{ Data map[string]any }
		c.Do(t, "PUT", "/api/resource/Acct/B", map[string]any{"title": "bee"}, 200, &got)
		c.Do(t, "GET", "/api/resource/Acct/B", nil, 200, &got)
		if got.Data["title"] != "bee!" {
			t.Fatalf("After Save db.set_value: %v", got.Data["title"])
		}
		c.Do(t, "PUT", "/api/resource/Server Script/Mark", map[string]any{"disabled": 1}, 200, nil)
		n.Docs.On("Acct", methods.OnUpdate, func(ctx context.Context, tx methods.Transaction, doc map[string]any) error {
			if doc["title"] != "loop" {
				return nil
			}
			_, err := tx.Update(ctx, "Acct", doc["name"].(string), map[string]any{"title": "loop"})
			return err
		})
		var e struct {
			ExcType string `json:"exc_type"`
		}
		c.Do(t, "PUT", "/api/resource/Acct/B", map[string]any{"title": "loop"}, 417, &e)
		if e.ExcType != "ValidationError" {
			t.Fatalf("a hook saving its own document: %s", e.ExcType)
		}
	})

	t.Run("set_value takes its value as sent", func(t *testing.T) {
		var m struct{ Message map[string]any }
		c.Do(t, "POST", "/api/method/frappe.client.set_value", map[string]any{"doctype": "Acct", "name": "C", "fieldname": "title", "value": "[draft] fix it"}, 200, &m)
		if m.Message["title"] != "[draft] fix it" {
			t.Fatalf("set_value %v", m.Message["title"])
		}
	})

	t.Run("get_value of a child row", func(t *testing.T) {
		var m struct{ Message map[string]any }
		c.Do(t, "GET", "/api/method/frappe.client.get_value?doctype=Transfer%20Line&parent=Transfer&fieldname=to_acct&filters="+q(`{"from_acct":"B"}`), nil, 200, &m)
		if m.Message["to_acct"] != "C" {
			t.Fatalf("get_value of a child row %v", m.Message)
		}
	})
}

// TestUsersSaveTheirOwnDocument: sending one's whole User document back
// unchanged in its privileged fields is not administration.
func TestUsersSaveTheirOwnDocument(t *testing.T) {
	n := apitest.Start(t, "")
	n.Admin(t).Do(t, "POST", "/api/resource/User", map[string]any{"email": "sam@example.com", "first_name": "Sam",
		"roles": []any{map[string]any{"role": "Desk User"}}}, 200, nil)
	sam := n.Client(t)
	sam.Header.Set("Authorization", n.NewToken(t, "sam@example.com"))
	var m struct{ Message map[string]any }
	sam.Do(t, "GET", "/api/method/frappe.client.get?doctype=User&name=sam@example.com", nil, 200, &m)
	doc := m.Message
	doc["bio"] = "hello"
	sam.Do(t, "POST", "/api/method/frappe.client.save", map[string]any{"doc": doc}, 200, &m)
	if m.Message["bio"] != "hello" {
		t.Fatalf("own save %v", m.Message)
	}
	doc = m.Message
	doc["roles"] = []any{map[string]any{"role": "System Manager"}}
	sam.Do(t, "POST", "/api/method/frappe.client.save", map[string]any{"doc": doc}, 403, nil)
}
