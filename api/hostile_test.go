package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"docket/api/apitest"
	"docket/eventlog"
)

// These tests attack the HTTP API from the outside with bad and hostile
// input. Every refused request must get a Frappe-style JSON error (an
// object with exc_type, and the status Frappe uses for that exception
// class) and must write nothing: the DOCS log's last sequence is the same
// before and after. At the end of each test the documents created at its
// start must read back byte for byte as they did.

const (
	hostileGadgetPath = "/api/resource/Hostile%20Gadget"
	hostileOrderPath  = "/api/resource/Hostile%20Order"

	// hostileAnyRefusal accepts any 4xx status with a Frappe error body.
	hostileAnyRefusal = -1
	// hostileNoCrash accepts 200 or a 4xx with a Frappe error body: for inputs
	// where a clean answer or a clean refusal are both fine, but a 5xx, a
	// non-JSON body or a write are not.
	hostileNoCrash = -2
)

// hostileDocTypes are created over HTTP in Frappe's JSON shape.
var hostileDocTypes = []string{
	`{"name": "Hostile Line", "module": "Custom", "custom": 1, "istable": 1,
	  "fields": [
		{"fieldname": "qty", "fieldtype": "Int", "label": "Qty"},
		{"fieldname": "note", "fieldtype": "Data", "label": "Note"}]}`,
	`{"name": "Hostile Gadget", "module": "Custom", "custom": 1, "autoname": "Prompt",
	  "fields": [
		{"fieldname": "title", "fieldtype": "Data", "label": "Title"},
		{"fieldname": "qty", "fieldtype": "Int", "label": "Qty"},
		{"fieldname": "price", "fieldtype": "Float", "label": "Price"},
		{"fieldname": "due", "fieldtype": "Date", "label": "Due"},
		{"fieldname": "seen_at", "fieldtype": "Datetime", "label": "Seen At"},
		{"fieldname": "starts", "fieldtype": "Time", "label": "Starts"},
		{"fieldname": "active", "fieldtype": "Check", "label": "Active"},
		{"fieldname": "colour", "fieldtype": "Select", "label": "Colour", "options": "Red\nGreen\nBlue"},
		{"fieldname": "code", "fieldtype": "Data", "label": "Code", "unique": 1},
		{"fieldname": "payload", "fieldtype": "JSON", "label": "Payload"},
		{"fieldname": "owner_user", "fieldtype": "Link", "label": "Owner User", "options": "User"},
		{"fieldname": "lines", "fieldtype": "Table", "label": "Lines", "options": "Hostile Line"}],
	  "permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}]}`,
	`{"name": "Hostile Order", "module": "Custom", "custom": 1, "autoname": "hash", "is_submittable": 1,
	  "fields": [
		{"fieldname": "title", "fieldtype": "Data", "label": "Title"},
		{"fieldname": "remark", "fieldtype": "Data", "label": "Remark", "allow_on_submit": 1},
		{"fieldname": "amount", "fieldtype": "Currency", "label": "Amount"}],
	  "permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1,
		"submit": 1, "cancel": 1, "amend": 1}]}`,
}

// hostileGuardGadget is the good document every test creates first.
const hostileGuardGadget = `{"name": "guard-1", "title": "Guard", "qty": 7, "price": 2.5, "due": "2024-02-29",
	"seen_at": "2024-02-29 13:14:15.123456", "starts": "09:05:03", "active": 1, "colour": "Green",
	"code": "G-1", "payload": {"k": [1, 2]},
	"lines": [{"qty": 1, "note": "first"}, {"qty": 2, "note": "second"}]}`

// hostile is one node with the hostile doctypes and the good documents.
type hostile struct {
	n     *apitest.Node
	admin *apitest.Client
	// guards maps a GET path to the body it answered at the start.
	guards map[string][]byte
	// gadgets is how many Hostile Gadget documents should exist.
	gadgets int
	// Hostile Order documents in each docstatus.
	draft, submitted, cancelled string
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	n := apitest.Start(t, "")
	h := &hostile{n: n, admin: n.Admin(t), guards: map[string][]byte{}}
	for _, dt := range hostileDocTypes {
		h.admin.Do(t, "POST", "/api/resource/DocType", json.RawMessage(dt), 200, nil)
	}
	h.admin.Do(t, "POST", hostileGadgetPath, json.RawMessage(hostileGuardGadget), 200, nil)
	h.gadgets = 1
	var todo struct{ Data map[string]any }
	h.admin.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "guard todo", "priority": "High"}, 200, &todo)
	h.draft = h.newOrder(t, "draft order", 0)
	h.submitted = h.newOrder(t, "submitted order", 1)
	h.cancelled = h.newOrder(t, "cancelled order", 1)
	h.admin.Do(t, "PUT", hostileOrderPath+"/"+h.cancelled, map[string]any{"docstatus": 2}, 200, nil)
	for _, p := range []string{
		hostileGadgetPath + "/guard-1",
		"/api/resource/ToDo/" + todo.Data["name"].(string),
		hostileOrderPath + "/" + h.draft,
		hostileOrderPath + "/" + h.submitted,
		hostileOrderPath + "/" + h.cancelled,
		"/api/resource/DocType/Hostile%20Gadget",
		"/api/resource/DocType/Hostile%20Line",
	} {
		h.guards[p] = h.admin.Do(t, "GET", p, nil, 200, nil).Body
	}
	return h
}

func (h *hostile) newOrder(t *testing.T, title string, docstatus int) string {
	t.Helper()
	var out struct{ Data map[string]any }
	h.admin.Do(t, "POST", hostileOrderPath, map[string]any{"title": title, "remark": "r", "amount": 10, "docstatus": docstatus}, 200, &out)
	return out.Data["name"].(string)
}

// seq is the DOCS log's last sequence.
func (h *hostile) seq(t *testing.T) eventlog.Seq {
	t.Helper()
	s, err := h.n.Log.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// intact checks that the good documents read back as they did at the
// start, that no Hostile Gadget appeared or vanished, and that the node
// still serves reads and writes.
func (h *hostile) intact(t *testing.T) {
	t.Helper()
	t.Run("good data intact", func(t *testing.T) {
		for p, want := range h.guards {
			got := h.admin.Raw(t, "GET", p, "", nil)
			if got.Status != 200 || !bytes.Equal(got.Body, want) {
				t.Errorf("GET %s changed:\n got %d %s\nwant 200 %s", p, got.Status, got.Body, want)
			}
		}
		var count struct{ Message int }
		h.admin.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=Hostile%20Gadget", nil, 200, &count)
		if count.Message != h.gadgets {
			t.Errorf("%d Hostile Gadget documents, want %d", count.Message, h.gadgets)
		}
		h.admin.Do(t, "GET", "/api/method/ping", nil, 200, nil)
		var todo struct{ Data map[string]any }
		h.admin.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "still writable"}, 200, &todo)
		h.admin.Do(t, "DELETE", "/api/resource/ToDo/"+todo.Data["name"].(string), nil, 202, nil)
	})
}

// hostileAttack is one hostile request and the answer it must get.
type hostileAttack struct {
	name string
	// as is "" (the Administrator's token), "guest", or a raw
	// Authorization header value.
	as     string
	method string
	path   string
	ct     string // default application/json when body is set
	body   string
	header map[string]string
	// status is the wanted status, or anyRefusal or noCrash.
	status int
	// exc is the wanted exc_type ("" accepts any non-empty one).
	exc string
	// check inspects the decoded body.
	check func(t *testing.T, body map[string]any)
	// mayWrite allows a 200 answer to write (inputs Frappe accepts).
	mayWrite bool
}

// run sends each attack as a subtest and checks its answer and that the
// log did not grow.
func (h *hostile) run(t *testing.T, attacks []hostileAttack) {
	t.Helper()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			before := h.seq(t)
			c := h.n.Client(t)
			// An API answers; it does not send the client elsewhere.
			c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			switch a.as {
			case "":
				c.Header.Set("Authorization", h.n.AdminToken)
			case "guest":
			default:
				c.Header.Set("Authorization", a.as)
			}
			for k, v := range a.header {
				c.Header.Set(k, v)
			}
			ct := a.ct
			if ct == "" && a.body != "" {
				ct = "application/json"
			}
			resp := c.Raw(t, a.method, a.path, ct, []byte(a.body))
			after, err := h.n.Log.LastSeq(context.Background())
			t.Logf("%s %s -> %d %s", a.method, hostileShort(a.path), resp.Status, hostileShort(string(resp.Body)))
			hostileCheck(t, a, resp)
			if err != nil {
				t.Fatalf("%s %s: the log is unreadable after the request: %v", a.method, hostileShort(a.path), err)
			}
			if after != before && !(a.mayWrite && resp.Status == 200) {
				t.Errorf("%s %s wrote to the log: last sequence %d -> %d (status %d)",
					a.method, hostileShort(a.path), before, after, resp.Status)
			}
		})
	}
}

func hostileCheck(t *testing.T, a hostileAttack, resp *apitest.Response) {
	t.Helper()
	what := fmt.Sprintf("%s %s", a.method, hostileShort(a.path))
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json (status %d, Location %q, body %s)",
			what, ct, resp.Status, resp.Header.Get("Location"), hostileShort(string(resp.Body)))
	}
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Errorf("%s: status %d, body is not a JSON object: %s", what, resp.Status, hostileShort(string(resp.Body)))
	}
	isErr := resp.Status >= 400
	switch a.status {
	case hostileAnyRefusal:
		if resp.Status < 400 || resp.Status >= 500 {
			t.Errorf("%s: status %d, want a 4xx refusal; body %s", what, resp.Status, hostileShort(string(resp.Body)))
		}
	case hostileNoCrash:
		if resp.Status != 200 && (resp.Status < 400 || resp.Status >= 500) {
			t.Errorf("%s: status %d, want 200 or a 4xx; body %s", what, resp.Status, hostileShort(string(resp.Body)))
		}
	default:
		if resp.Status != a.status {
			t.Errorf("%s: status %d, want %d; body %s", what, resp.Status, a.status, hostileShort(string(resp.Body)))
		}
	}
	if body == nil {
		return
	}
	if isErr {
		exc, _ := body["exc_type"].(string)
		if strings.HasPrefix(a.path, "/api/v2/") { // v2: {"errors": [{"type": …}]}
			exc = ""
			if errs, _ := body["errors"].([]any); len(errs) > 0 {
				e, _ := errs[0].(map[string]any)
				exc, _ = e["type"].(string)
			}
		}
		switch {
		case exc == "":
			t.Errorf("%s: error body without exc_type (v2: errors[0].type): %s", what, hostileShort(string(resp.Body)))
		case a.exc != "" && exc != a.exc && a.status > 0:
			t.Errorf("%s: exc_type %q, want %q; body %s", what, exc, a.exc, hostileShort(string(resp.Body)))
		}
		if _, ok := body["data"]; ok {
			t.Errorf("%s: error body carries data: %s", what, hostileShort(string(resp.Body)))
		}
	}
	if a.check != nil && (!isErr || a.status > 0) {
		a.check(t, body)
	}
}

func hostileShort(s string) string {
	if len(s) > 400 {
		return s[:400] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

// hostileJSON encodes v as JSON text.
func hostileJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// hostileRows checks a 200 list answer has n rows.
func hostileRows(n int) func(t *testing.T, body map[string]any) {
	return func(t *testing.T, body map[string]any) {
		t.Helper()
		rows, ok := body["data"].([]any)
		if !ok || len(rows) != n {
			t.Errorf("data %v, want a list of %d rows", body["data"], n)
		}
	}
}

// hostileDoc returns a create body for a Hostile Gadget named name with extra
// fields.
func hostileDoc(name any, extra map[string]any) string {
	m := map[string]any{"name": name, "title": "hostile"}
	for k, v := range extra {
		m[k] = v
	}
	return hostileJSON(m)
}

// TestHostileBodies sends broken, oversized and ill-typed request bodies
// to the create endpoint (and a few others).
func TestHostileBodies(t *testing.T) {
	h := newHostile(t)
	big := strings.Repeat("a", 1<<20)
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	nested := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	post := func(name, body string, status int, exc string) hostileAttack {
		return hostileAttack{name: name, method: "POST", path: hostileGadgetPath, body: body, status: status, exc: exc}
	}
	h.run(t, []hostileAttack{
		// Malformed JSON.
		post("malformed JSON: truncated object", `{"name": "m1", "title": `, 417, "ValidationError"),
		post("malformed JSON: two values", `{"name": "m2"} {"name": "m3"}`, 417, "ValidationError"),
		post("malformed JSON: single quotes", `{'name': 'm4'}`, 417, "ValidationError"),
		post("malformed JSON: trailing comma", `{"name": "m5",}`, 417, "ValidationError"),
		post("malformed JSON: NaN", `{"name": "m6", "price": NaN}`, 417, "ValidationError"),
		post("malformed JSON: unterminated string", `{"name": "m7`, 417, "ValidationError"),
		post("malformed JSON: lone brace", `}`, 417, "ValidationError"),
		{name: "malformed JSON sent as text/plain", method: "POST", path: hostileGadgetPath, ct: "text/plain",
			body: `{"name": "m8", "title": `, status: 417, exc: "ValidationError"},
		{name: "form field data that is not JSON", method: "POST", path: hostileGadgetPath, ct: "application/x-www-form-urlencoded",
			body: "data=" + url.QueryEscape(`{"name": "m9"`), status: 417, exc: "ValidationError"},
		{name: "form field data that is a JSON list", method: "POST", path: hostileGadgetPath, ct: "application/x-www-form-urlencoded",
			body: "data=" + url.QueryEscape(`[{"name": "m10"}]`), status: 417, exc: "ValidationError"},
		post("malformed JSON: byte order mark", "\xef\xbb\xbf"+`{"name": "m13", "title": "x"}`, 417, "ValidationError"),
		{name: "multipart body without a boundary", method: "POST", path: hostileGadgetPath, ct: "multipart/form-data",
			body: "name=m14", status: 417, exc: "ValidationError"},
		{name: "multipart body that is not multipart", method: "POST", path: hostileGadgetPath, ct: "multipart/form-data; boundary=xyz",
			body: "--abc\r\nnot a part", status: 417, exc: "ValidationError"},
		{name: "XML body", method: "POST", path: hostileGadgetPath, ct: "application/xml",
			body: `<doc><name>m15</name></doc>`, status: 417, exc: "ValidationError"},
		post("JSON nested 20000 deep", `{"name": "m11", "title": `+deep+`}`, 417, "ValidationError"),
		post("JSON nested 5000 deep in a Data field", `{"name": "m12", "title": `+nested+`}`, 417, "ValidationError"),

		// Not an object.
		post("JSON array body", `[{"name": "a1", "title": "x"}]`, 417, "ValidationError"),
		post("empty JSON array body", `[]`, 417, "ValidationError"),
		post("JSON number body", `42`, 417, "ValidationError"),
		post("JSON string body", `"a1"`, 417, "ValidationError"),
		post("JSON true body", `true`, 417, "ValidationError"),
		post("JSON null body", `null`, 417, "ValidationError"),
		post("empty body on a Prompt doctype", ``, 417, "ValidationError"),

		// Unknown doctypes.
		{name: "create on an unknown doctype", method: "POST", path: "/api/resource/No%20Such%20DocType",
			body: `{"title": "x"}`, status: 404, exc: "DoesNotExistError"},
		{name: "list an unknown doctype", method: "GET", path: "/api/resource/No%20Such%20DocType", status: 404, exc: "DoesNotExistError"},
		{name: "read from an unknown doctype", method: "GET", path: "/api/resource/No%20Such%20DocType/x", status: 404, exc: "DoesNotExistError"},
		{name: "update in an unknown doctype", method: "PUT", path: "/api/resource/No%20Such%20DocType/x",
			body: `{"title": "x"}`, status: 404, exc: "DoesNotExistError"},
		{name: "delete from an unknown doctype", method: "DELETE", path: "/api/resource/No%20Such%20DocType/x", status: 404, exc: "DoesNotExistError"},
		{name: "create on a doctype named by SQL", method: "POST", path: "/api/resource/" + url.PathEscape("ToDo`; DROP TABLE `tabToDo"),
			body: `{"description": "x"}`, status: 404, exc: "DoesNotExistError"},
		{name: "create on a doctype path with an encoded traversal", method: "POST", path: "/api/resource/..%2F..%2FUser",
			body: `{"name": "x"}`, status: 404, exc: "DoesNotExistError"},
		{name: "create a child table row on its own", method: "POST", path: "/api/resource/Hostile%20Line",
			body: `{"qty": 1}`, status: 417, exc: "ValidationError"},

		// Unknown fields.
		post("unknown field", hostileDoc("u1", map[string]any{"no_such_field": "x"}), 417, "DataError"),
		post("unknown field named like SQL", hostileDoc("u2", map[string]any{"title`; DROP TABLE x; --": "x"}), 417, "DataError"),
		post("unknown field in a child row", hostileDoc("u3", map[string]any{"lines": []any{map[string]any{"qty": 1, "bogus": 2}}}), 417, "DataError"),

		// Wrong value types.
		post("text in an Int field", hostileDoc("t1", map[string]any{"qty": "abc"}), 417, "ValidationError"),
		post("number-ish text in an Int field", hostileDoc("t2", map[string]any{"qty": "12abc"}), 417, "ValidationError"),
		post("object in an Int field", hostileDoc("t3", map[string]any{"qty": map[string]any{"$gt": 1}}), 417, "ValidationError"),
		post("list in an Int field", hostileDoc("t4", map[string]any{"qty": []any{1}}), 417, "ValidationError"),
		post("1e400 in an Int field", `{"name": "t5", "qty": 1e400}`, 417, "ValidationError"),
		post("2^63 in an Int field", `{"name": "t6", "qty": 9223372036854775808}`, 417, "ValidationError"),
		post("-2^63-1 in an Int field", `{"name": "t7", "qty": -9223372036854775809}`, 417, "ValidationError"),
		post("text 1e30 in an Int field", hostileDoc("t8", map[string]any{"qty": "1e30"}), 417, "ValidationError"),
		post("text in a Float field", hostileDoc("t9", map[string]any{"price": "cheap"}), 417, "ValidationError"),
		post("1.2.3 in a Float field", hostileDoc("t10", map[string]any{"price": "1.2.3"}), 417, "ValidationError"),
		post("NaN text in a Float field", hostileDoc("t11", map[string]any{"price": "NaN"}), 417, "ValidationError"),
		post("Infinity text in a Float field", hostileDoc("t12", map[string]any{"price": "Infinity"}), 417, "ValidationError"),
		post("1e400 in a Float field", `{"name": "t13", "price": 1e400}`, 417, "ValidationError"),
		post("object in a Float field", hostileDoc("t14", map[string]any{"price": map[string]any{"a": 1}}), 417, "ValidationError"),
		post("text in a Date field", hostileDoc("t15", map[string]any{"due": "next tuesday"}), 417, "ValidationError"),
		post("February 30th in a Date field", hostileDoc("t16", map[string]any{"due": "2024-02-30"}), 417, "ValidationError"),
		post("month 13 in a Date field", hostileDoc("t17", map[string]any{"due": "2024-13-01"}), 417, "ValidationError"),
		post("number in a Date field", hostileDoc("t18", map[string]any{"due": 20240101}), 417, "ValidationError"),
		post("year 99999 in a Date field", hostileDoc("t19", map[string]any{"due": "99999-01-01"}), 417, "ValidationError"),
		post("SQL after a date", hostileDoc("t20", map[string]any{"due": "2024-01-01'; DROP TABLE x; --"}), 417, "ValidationError"),
		post("list in a Date field", hostileDoc("t21", map[string]any{"due": []any{"2024-01-01"}}), 417, "ValidationError"),
		post("hour 25 in a Datetime field", hostileDoc("t22", map[string]any{"seen_at": "2024-01-01 25:00:00"}), 417, "ValidationError"),
		post("text in a Datetime field", hostileDoc("t23", map[string]any{"seen_at": "yesterday"}), 417, "ValidationError"),
		post("text in a Time field", hostileDoc("t24", map[string]any{"starts": "noon"}), 417, "ValidationError"),
		post("25:61 in a Time field", hostileDoc("t25", map[string]any{"starts": "25:61"}), 417, "ValidationError"),
		post("unknown Select option", hostileDoc("t26", map[string]any{"colour": "Purple"}), 417, "ValidationError"),
		post("object in a Data field", hostileDoc("t27", map[string]any{"title": map[string]any{"a": 1}}), 417, "ValidationError"),
		post("list in a Data field", hostileDoc("t28", map[string]any{"code": []any{"x"}}), 417, "ValidationError"),
		post("141 characters in a Data field", hostileDoc("t29", map[string]any{"title": strings.Repeat("x", 141)}), 417, "CharacterLengthExceededError"),
		post("invalid JSON text in a JSON field", hostileDoc("t30", map[string]any{"payload": "{not json"}), 417, "ValidationError"),
		post("Link to a missing document", hostileDoc("t31", map[string]any{"owner_user": "nobody@example.com"}), 417, "LinkValidationError"),
		post("text in a Table field", hostileDoc("t32", map[string]any{"lines": "many"}), 417, "ValidationError"),
		post("object in a Table field", hostileDoc("t33", map[string]any{"lines": map[string]any{"qty": 1}}), 417, "ValidationError"),
		post("numbers as Table rows", hostileDoc("t34", map[string]any{"lines": []any{1, 2}}), 417, "ValidationError"),
		post("text in an Int field of a child row", hostileDoc("t35", map[string]any{"lines": []any{map[string]any{"qty": "abc"}}}), 417, "ValidationError"),
		post("unique value taken", hostileDoc("t36", map[string]any{"code": "G-1"}), 417, "UniqueValidationError"),
		post("unique value taken, other case", hostileDoc("t37", map[string]any{"code": "g-1"}), 417, "UniqueValidationError"),
		post("docstatus 2 on insert", hostileDoc("t38", map[string]any{"docstatus": 2}), 417, ""),
		post("docstatus 1 on a doctype that is not submittable", hostileDoc("t39", map[string]any{"docstatus": 1}), 417, ""),
		post("docstatus 7", hostileDoc("t40", map[string]any{"docstatus": 7}), 417, ""),
		post("docstatus as text", hostileDoc("t41", map[string]any{"docstatus": "submitted"}), 417, ""),
		{name: "docstatus 2 on insert of a submittable doctype", method: "POST", path: hostileOrderPath,
			body: `{"title": "x", "docstatus": 2}`, status: 417},

		// Bodies over the 1 MiB limit.
		post("JSON body over 1 MiB", `{"name": "big1", "title": "`+big+`"}`, 413, "RequestEntityTooLarge"),
		{name: "form body over 1 MiB", method: "POST", path: hostileGadgetPath, ct: "application/x-www-form-urlencoded",
			body: "name=big2&title=" + big, status: 413, exc: "RequestEntityTooLarge"},
		{name: "text/plain body over 1 MiB", method: "POST", path: hostileGadgetPath, ct: "text/plain",
			body: `{"name": "big3", "title": "` + big + `"}`, status: 413, exc: "RequestEntityTooLarge"},
		{name: "PUT body over 1 MiB", method: "PUT", path: hostileGadgetPath + "/guard-1",
			body: `{"title": "` + big + `"}`, status: 413, exc: "RequestEntityTooLarge"},
		{name: "method body over 1 MiB", method: "POST", path: "/api/method/frappe.client.get_count",
			body: `{"doctype": "ToDo", "x": "` + big + `"}`, status: 413, exc: "RequestEntityTooLarge"},
		{name: "guest body over 1 MiB", as: "guest", method: "POST", path: hostileGadgetPath,
			body: `{"name": "big4", "title": "` + big + `"}`, status: hostileAnyRefusal},

		// Hostile DocType definitions.
		{name: "DocType whose name starts with a digit", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "1Bad", "module": "Custom", "custom": 1}`, status: 417},
		{name: "DocType whose name has a slash", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad/Slash", "module": "Custom", "custom": 1}`, status: 409, exc: "NameError"},
		{name: "DocType whose name has SQL", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad` + "`" + `; DROP TABLE x", "module": "Custom", "custom": 1}`, status: 417},
		{name: "DocType whose name is 62 characters", method: "POST", path: "/api/resource/DocType",
			body: hostileJSON(map[string]any{"name": "D" + strings.Repeat("x", 61), "module": "Custom", "custom": 1}), status: 417},
		{name: "DocType named like an existing one", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "ToDo", "module": "Custom", "custom": 1}`, status: 409, exc: "DuplicateEntryError"},
		{name: "DocType named like a core one", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "DocField", "module": "Custom", "custom": 1}`, status: 409, exc: "DuplicateEntryError"},
		{name: "DocType with a Table field on a normal doctype", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad Table", "module": "Custom", "custom": 1, "fields": [{"fieldname": "t", "fieldtype": "Table", "label": "T", "options": "User"}]}`, status: 417},
		{name: "DocType with a Link to a missing doctype", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad Link", "module": "Custom", "custom": 1, "fields": [{"fieldname": "l", "fieldtype": "Link", "label": "L", "options": "Nope"}]}`, status: 417},
		{name: "DocType with a repeated fieldname", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad Repeat", "module": "Custom", "custom": 1, "fields": [{"fieldname": "a", "fieldtype": "Data", "label": "A"}, {"fieldname": "a", "fieldtype": "Int", "label": "A2"}]}`, status: 417},
		{name: "DocType with a fieldname that is SQL", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad Fieldname", "module": "Custom", "custom": 1, "fields": [{"fieldname": "a; DROP TABLE x", "fieldtype": "Data", "label": "A"}]}`, status: 417},
		{name: "DocType with a field called name", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad Std", "module": "Custom", "custom": 1, "fields": [{"fieldname": "name", "fieldtype": "Data", "label": "Name"}]}`, status: 417},
		{name: "DocType with an unknown fieldtype", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Bad Type", "module": "Custom", "custom": 1, "fields": [{"fieldname": "a", "fieldtype": "Bogus", "label": "A"}]}`, status: 417},
		{name: "DocType as a list body", method: "POST", path: "/api/resource/DocType",
			body: `[{"name": "Bad List", "module": "Custom"}]`, status: 417, exc: "ValidationError"},
		{name: "change the core DocType DocType", method: "PUT", path: "/api/resource/DocType/DocType",
			body: `{"autoname": "hash"}`, status: 403, exc: "PermissionError"},
		{name: "delete the core DocType DocField", method: "DELETE", path: "/api/resource/DocType/DocField", status: 403, exc: "PermissionError"},
		{name: "delete a DocType that still has documents", method: "DELETE", path: "/api/resource/DocType/Hostile%20Gadget", status: 417},
		{name: "delete a child DocType still in use", method: "DELETE", path: "/api/resource/DocType/Hostile%20Line", status: 417},
		{name: "write a DocField row directly", method: "POST", path: "/api/resource/DocField",
			body: `{"fieldname": "x", "fieldtype": "Data", "parent": "ToDo"}`, status: hostileAnyRefusal},

		// Methods with bad arguments.
		{name: "get_count of an unknown doctype", method: "GET", path: "/api/method/frappe.client.get_count?doctype=Nope", status: 404, exc: "DoesNotExistError"},
		{name: "get_count without a doctype", method: "GET", path: "/api/method/frappe.client.get_count", status: 417, exc: "ValidationError"},
		{name: "get_count with broken filters", method: "GET",
			path: "/api/method/frappe.client.get_count?doctype=ToDo&filters=" + url.QueryEscape(`[["status","=",`), status: 417, exc: "ValidationError"},
		{name: "get_count with a doctype as a list", method: "POST", path: "/api/method/frappe.client.get_count",
			body: `{"doctype": ["ToDo"]}`, status: 417, exc: "ValidationError"},
		{name: "frappe.client.get without a name", method: "GET", path: "/api/method/frappe.client.get?doctype=ToDo", status: 417, exc: "ValidationError"},
		{name: "unknown method", method: "POST", path: "/api/method/frappe.no.such.method", body: `{}`, status: 404, exc: "DoesNotExistError"},
		{name: "legacy cmd naming an unknown method", method: "POST", path: "/", body: `{"cmd": "os.system", "arg": "rm -rf /"}`, status: 404, exc: "DoesNotExistError"},
		{name: "generate_keys for a missing user", method: "POST", path: "/api/method/frappe.core.doctype.user.user.generate_keys",
			body: `{"user": "nobody@example.com"}`, status: 404, exc: "DoesNotExistError"},
		{name: "generate_keys with a list as the user", method: "POST", path: "/api/method/frappe.core.doctype.user.user.generate_keys",
			body: `{"user": ["Administrator"]}`, status: 417, exc: "ValidationError"},
		{name: "unknown /api route", method: "POST", path: "/api/nothing/here", body: `{}`, status: 404, exc: "DoesNotExistError"},
	})
	h.intact(t)
}

// TestHostileNames sends names a client sets itself (autoname Prompt)
// that Frappe refuses or must not store as sent.
func TestHostileNames(t *testing.T) {
	h := newHostile(t)
	post := func(name string, docName any, status int, exc string) hostileAttack {
		return hostileAttack{name: name, method: "POST", path: hostileGadgetPath, body: hostileDoc(docName, nil), status: status, exc: exc}
	}
	h.run(t, []hostileAttack{
		post("slash", "a/b", 409, "NameError"),
		post("slash traversal", "../../etc/passwd", 409, "NameError"),
		post("only a slash", "/", 409, "NameError"),
		post("NUL", "a\x00b", 409, "NameError"),
		post("newline", "line\nbreak", 409, "NameError"),
		post("carriage return", "a\rb", 409, "NameError"),
		post("tab", "tab\there", 409, "NameError"),
		post("bell", "bell\a", 409, "NameError"),
		post("DEL", "del\x7f", 409, "NameError"),
		post("less-than", "a<b", 409, "NameError"),
		post("greater-than", "a>b", 409, "NameError"),
		post("script tag", "<script>alert(1)</script>", 409, "NameError"),
		post("141 ASCII characters", strings.Repeat("n", 141), 409, "NameError"),
		post("141 two-byte characters", strings.Repeat("é", 141), 409, "NameError"),
		post("10000 characters", strings.Repeat("n", 10000), 409, "NameError"),
		post("the doctype's own name", "Hostile Gadget", 409, "NameError"),
		post("starts with New <doctype>", "New Hostile Gadget 1", 409, "NameError"),
		post("only spaces", "   ", 417, "ValidationError"),
		post("empty", "", 417, "ValidationError"),
		post("integer name on a Prompt doctype", 42, 409, "NameError"),
		post("float name", 4.2, hostileAnyRefusal, ""),
		post("boolean name", true, hostileAnyRefusal, ""),
		post("list name", []any{"x"}, hostileAnyRefusal, ""),
		post("object name", map[string]any{"$ne": ""}, hostileAnyRefusal, ""),
		post("duplicate name", "guard-1", 409, "DuplicateEntryError"),
		post("duplicate name with spaces around", "  guard-1  ", 409, "DuplicateEntryError"),
		// MariaDB's utf8mb4_unicode_ci primary key: names differing only
		// in case are the same name in Frappe.
		post("duplicate name in another case", "GUARD-1", 409, "DuplicateEntryError"),
		{name: "duplicate name via __newname", method: "POST", path: hostileGadgetPath,
			body: `{"__newname": "guard-1", "title": "x"}`, status: 409, exc: "DuplicateEntryError"},
		{name: "DocType duplicate in another case", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "todo", "module": "Custom", "custom": 1}`, status: 409, exc: "DuplicateEntryError"},

		// Hostile names in the path never find (or remove) a document.
		{name: "GET a name with NUL", method: "GET", path: hostileGadgetPath + "/guard-1%00", status: 404, exc: "DoesNotExistError"},
		{name: "GET a 10000-character name", method: "GET", path: hostileGadgetPath + "/" + strings.Repeat("n", 10000), status: 404, exc: "DoesNotExistError"},
		{name: "DELETE with a traversal", method: "DELETE", path: hostileGadgetPath + "/..%2Fguard-1", status: 404, exc: "DoesNotExistError"},
		{name: "DELETE with a path suffix", method: "DELETE", path: hostileGadgetPath + "/guard-1/extra", status: 404, exc: "DoesNotExistError"},
		{name: "DELETE with SQL", method: "DELETE", path: hostileGadgetPath + "/" + url.PathEscape("x' OR '1'='1"), status: 404, exc: "DoesNotExistError"},
		{name: "PUT with a wildcard name", method: "PUT", path: hostileGadgetPath + "/%25", body: `{"title": "x"}`, status: 404, exc: "DoesNotExistError"},
		{name: "PUT with a NATS wildcard name", method: "PUT", path: hostileGadgetPath + "/%3E", body: `{"title": "x"}`, status: 404, exc: "DoesNotExistError"},
		{name: "DELETE with a NATS wildcard name", method: "DELETE", path: hostileGadgetPath + "/*", status: 404, exc: "DoesNotExistError"},
	})

	t.Run("spaces around a name are trimmed, as Frappe does", func(t *testing.T) {
		var out struct{ Data map[string]any }
		h.admin.Do(t, "POST", hostileGadgetPath, json.RawMessage(hostileDoc("  padded  ", nil)), 200, &out)
		h.gadgets++
		if out.Data["name"] != "padded" {
			t.Fatalf("name %q, want %q", out.Data["name"], "padded")
		}
		h.admin.Do(t, "GET", hostileGadgetPath+"/padded", nil, 200, nil)
	})
	t.Run("140 characters is still a name", func(t *testing.T) {
		name := strings.Repeat("é", 140)
		h.admin.Do(t, "POST", hostileGadgetPath, json.RawMessage(hostileDoc(name, nil)), 200, nil)
		h.gadgets++
		h.admin.Do(t, "GET", hostileGadgetPath+"/"+url.PathEscape(name), nil, 200, nil)
	})
	t.Run("a client name is ignored on a hash doctype", func(t *testing.T) {
		var out struct{ Data map[string]any }
		h.admin.Do(t, "POST", hostileOrderPath, map[string]any{"name": "../evil\x00<x>", "title": "x"}, 200, &out)
		if n, _ := out.Data["name"].(string); len(n) != 10 || strings.ContainsAny(n, "./<>\x00") {
			t.Fatalf("name %q, want a random 10-character name", n)
		}
	})
	h.intact(t)
}

// TestHostileListQueries sends fields, filters, order_by, group_by and
// paging built to break the list parser or to reach other tables.
func TestHostileListQueries(t *testing.T) {
	h := newHostile(t)
	list := func(name, params string, status int, exc string) hostileAttack {
		return hostileAttack{name: name, method: "GET", path: hostileGadgetPath + "?" + params, status: status, exc: exc}
	}
	fields := func(name, v string, status int, exc string) hostileAttack {
		return list("fields "+name, "fields="+hq(v), status, exc)
	}
	filters := func(name, v string, status int, exc string) hostileAttack {
		return list("filters "+name, "filters="+hq(v), status, exc)
	}
	empty := func(name, v string) hostileAttack {
		a := filters(name, v, 200, "")
		a.check = hostileRows(0)
		return a
	}
	deepList := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	h.run(t, []hostileAttack{
		// A baseline: the good document is found.
		{name: "baseline: the guard is listed", method: "GET", status: 200, check: hostileRows(1),
			path: hostileGadgetPath + "?filters=" + hq(`[["title","=","Guard"]]`)},

		// fields.
		fields("unknown field", `["name","no_such_field"]`, 417, "DataError"),
		fields("sub-query", `["(select name from tabUser)"]`, 417, "DataError"),
		fields("sub-query with alias", `["name","(select 1) as x"]`, 417, "DataError"),
		fields("sub-query in count", `["count((select 1))"]`, 417, "DataError"),
		fields("from clause", `["name from tabUser --"]`, 417, "DataError"),
		fields("union", `["name union select name from tabUser"]`, 417, "DataError"),
		fields("comment", `["name /* x */"]`, 417, "DataError"),
		fields("sleep", `["sleep(5)"]`, 417, "DataError"),
		fields("SLEEP with a space", `["SLEEP (5)"]`, 417, "DataError"),
		fields("benchmark", `["benchmark(100000000, md5(1))"]`, 417, "DataError"),
		fields("version()", `["version()"]`, 417, "DataError"),
		fields("concat", `["concat(name, title)"]`, 417, "DataError"),
		fields("semicolon", `["name; DROP TABLE tabUser"]`, 417, "DataError"),
		fields("quote", `["name'"]`, 417, "DataError"),
		fields("another doctype's column", "[\"`tabUser`.name\"]", 417, "DataError"),
		fields("another doctype's star", "[\"`tabUser`.*\"]", 417, "DataError"),
		fields("not a list of strings", `[1, 2]`, 417, "ValidationError"),
		fields("nested list", `[["name"]]`, 417, "ValidationError"),
		fields("object", `{"name": 1}`, 417, "ValidationError"),
		fields("unbalanced", `["name","title"`, 417, "DataError"),
		fields("nested 5000 deep", deepList, 417, ""),

		// filters: unknown fields and other tables.
		filters("unknown field", `[["no_such_field","=","x"]]`, 417, "DataError"),
		filters("unknown field, dict form", `{"no_such_field": "x"}`, 417, "DataError"),
		list("or_filters unknown field", "or_filters="+hq(`[["no_such_field","=","x"],["title","=","Guard"]]`), 417, "DataError"),
		filters("another doctype as 4-element filter", `[["User","name","=","Administrator"]]`, 417, "DataError"),
		filters("another doctype's column", "[[\"`tabUser`.name\",\"=\",\"Administrator\"]]", 417, "DataError"),
		filters("empty field", `[["","=","x"]]`, 417, "DataError"),
		filters("star field", `[["*","=","x"]]`, 417, "DataError"),
		filters("number as field", `[[1,"=","x"]]`, 417, "DataError"),
		filters("null as field", `[[null,"=","x"]]`, 417, "DataError"),
		filters("empty key, dict form", `{"": "x"}`, 417, "DataError"),

		// filters: SQL-looking text stays a value.
		empty("quote injection in a value", `[["title","=","x' OR '1'='1"]]`),
		empty("double-quote injection in a value", `[["title","=","Guard\" OR \"\"=\""]]`),
		empty("comment injection in a value", `{"title": "Guard' --"}`),
		empty("like injection in a value", `[["title","like","%' OR 1=1 --"]]`),
		empty("sleep( in a value", `[["title","=","sleep(5)"]]`),
		empty("sub-query in an in-list", `[["title","in",["(select title from tabUser)"]]]`),
		filters("SQL as the field", `[["title' OR '1'='1","=","x"]]`, 417, "DataError"),
		filters("parenthesis in the field", `[["title) or (1=1","=","x"]]`, 417, "DataError"),
		filters("sleep( as the field", `[["sleep(5)","=","x"]]`, 417, "DataError"),
		filters("raw SQL string element", `[["title","=","x"], "1=1"]`, 417, "ValidationError"),
		filters("a JSON string", `"1=1"`, 417, "ValidationError"),
		filters("not JSON", `title = 'x' OR 1=1`, 417, "ValidationError"),

		// filters: broken shapes.
		filters("unbalanced: missing bracket", `[["title","=","x"]`, 417, "ValidationError"),
		filters("unbalanced: extra bracket", `[["title","=","x"]]]`, 417, "ValidationError"),
		filters("unbalanced: open object", `{"title": "x"`, 417, "ValidationError"),
		filters("lone closing bracket", `]`, 417, "ValidationError"),
		filters("only opening brackets", `[[[`, 417, "ValidationError"),
		filters("unterminated string", `[["title","=","x]]`, 417, "ValidationError"),
		filters("nested 5000 deep", deepList, 417, "ValidationError"),
		filters("5000 opening brackets", strings.Repeat("[", 5000), 417, "ValidationError"),
		filters("value nested 3000 deep", `[["title","in",`+strings.Repeat("[", 3000)+`"x"`+strings.Repeat("]", 3000)+`]]`, 417, "ValidationError"),
		filters("two elements", `[["title","="]]`, 417, "ValidationError"),
		filters("one element", `[["title"]]`, 417, "ValidationError"),
		filters("empty element", `[[]]`, 417, "ValidationError"),
		filters("null element", `[null]`, 417, "ValidationError"),
		filters("number element", `[1]`, 417, "ValidationError"),
		filters("boolean element", `[true]`, 417, "ValidationError"),
		filters("empty object element", `[{}]`, 417, "ValidationError"),
		filters("dict form with an empty list", `{"title": []}`, 417, "ValidationError"),
		filters("dict form with a one-element list", `{"title": ["="]}`, 417, "ValidationError"),
		filters("a number", `42`, 417, "ValidationError"),

		// filters: huge numbers.
		filters("1e999 on an Int field", `[["qty",">",1e999]]`, hostileNoCrash, ""),
		filters("-1e999 on a Float field", `[["price","<",-1e999]]`, hostileNoCrash, ""),
		filters("30-digit integer on an Int field", `[["qty","=",123456789012345678901234567890]]`, hostileNoCrash, ""),
		filters("1e999 in an in-list", `[["qty","in",[1e999,-1e999]]]`, hostileNoCrash, ""),
		filters("1e999 on a Date field", `[["due",">",1e999]]`, hostileNoCrash, ""),
		filters("1e999 on the name", `[["name","=",1e999]]`, hostileNoCrash, ""),
		filters("1e999 between on an Int field", `[["qty","between",[-1e999,1e999]]]`, hostileNoCrash, ""),

		// filters: unknown operators.
		filters("operator <>", `[["title","<>","x"]]`, 417, "ValidationError"),
		filters("operator not between", `[["due","not between",["2024-01-01","2024-12-31"]]]`, 417, "ValidationError"),
		filters("operator regex", `[["title","regex",".*"]]`, 417, "ValidationError"),
		filters("operator ==", `[["title","==","x"]]`, 417, "ValidationError"),
		filters("operator with SQL", `[["title","= 'x' OR 1=1 --","x"]]`, 417, "ValidationError"),
		filters("operator LIKE BINARY", `[["title","like binary","x"]]`, 417, "ValidationError"),
		filters("operator is not", `[["title","is not","set"]]`, 417, "ValidationError"),
		filters("operator as a number", `[["title",5,"x"]]`, 417, "ValidationError"),
		filters("operator as a list", `[["title",["="],"x"]]`, 417, "ValidationError"),
		filters("operator as an object", `[["title",{"op":"="},"x"]]`, 417, "ValidationError"),
		filters("operator unknown, dict form", `{"title": ["~", "x"]}`, 417, "ValidationError"),
		filters("is with an unknown value", `[["title","is","maybe"]]`, 417, "ValidationError"),
		filters("timespan with an unknown period", `[["due","timespan","next century"]]`, 417, "ValidationError"),
		filters("previous on a Data field", `[["title","previous","1 week"]]`, 417, "ValidationError"),

		// filters: between with wrong shapes.
		filters("between with a string", `[["due","between","2024-01-01"]]`, 417, "ValidationError"),
		filters("between with an object", `[["due","between",{"from":"2024-01-01"}]]`, 417, "ValidationError"),
		filters("between with unparseable dates", `[["due","between",["soon","later"]]]`, 417, "ValidationError"),
		filters("between with SQL dates", `[["due","between",["2024-01-01' OR '1'='1","2024-12-31"]]]`, 417, "ValidationError"),
		filters("between with nested lists", `[["due","between",[["2024-01-01"],["2024-12-31"]]]]`, 417, "ValidationError"),
		filters("between with an empty list", `[["due","between",[]]]`, hostileNoCrash, ""),
		filters("between with one bound", `[["due","between",["2024-01-01"]]]`, hostileNoCrash, ""),
		filters("between with three bounds", `[["due","between",["2024-01-01","2024-06-01","2024-12-31"]]]`, hostileNoCrash, ""),
		filters("between with nulls", `[["due","between",[null,null]]]`, hostileNoCrash, ""),
		filters("between with bounds reversed", `[["due","between",["2024-12-31","2024-01-01"]]]`, 200, ""),
		filters("between on an Int field with text", `[["qty","between",[1,"x"]]]`, hostileNoCrash, ""),
		filters("between on an Int field with a string", `[["qty","between","1,10"]]`, 417, "ValidationError"),
		filters("between on a Data field", `[["title","between",["a","z"]]]`, hostileNoCrash, ""),
		filters("between spread over four elements", `[["due","between","2024-01-01","2024-12-31"]]`, 417, ""),

		// order_by and group_by.
		list("order_by with a statement", "order_by="+hq("title desc; DROP TABLE tabUser"), 417, "ValidationError"),
		list("order_by sub-query", "order_by="+hq("(select name from tabUser)"), 417, "ValidationError"),
		list("order_by sleep", "order_by="+hq("sleep(1)"), 417, "ValidationError"),
		list("order_by SLEEP after a column", "order_by="+hq("title, SLEEP (1)"), 417, "ValidationError"),
		list("order_by function", "order_by="+hq("if(1=1,title,name)"), 417, "ValidationError"),
		list("order_by with a limit", "order_by="+hq("title desc limit 1"), 417, "ValidationError"),
		list("order_by comment", "order_by="+hq("title -- x"), 417, "ValidationError"),
		list("order_by block comment", "order_by="+hq("title /* x */"), 417, "ValidationError"),
		list("order_by tab", "order_by="+hq("title\tdesc"), 417, "ValidationError"),
		list("order_by unknown field", "order_by="+hq("no_such_field desc"), 417, ""),
		list("order_by another doctype", "order_by="+hq("`tabUser`.name desc"), 417, ""),
		list("order_by twice desc", "order_by="+hq("title desc desc"), 417, "ValidationError"),
		list("order_by nulls last", "order_by="+hq("title asc nulls last"), 417, "ValidationError"),
		list("order_by a number", "order_by=1", 417, ""),
		list("order_by 10000 columns", "order_by="+hq(strings.Repeat("title,", 10000)+"title"), hostileNoCrash, ""),
		list("group_by with a statement", "group_by="+hq("title; DROP TABLE x"), 417, "ValidationError"),
		list("group_by sub-query", "group_by="+hq("(select 1 from tabUser)"), 417, "ValidationError"),
		list("group_by unknown field", "group_by=no_such_field", 417, ""),

		// Paging.
		list("negative limit_start", "limit_start=-1", 417, "ValidationError"),
		list("negative limit_page_length", "limit_page_length=-5", 417, "ValidationError"),
		list("negative limit", "limit=-1", 417, "ValidationError"),
		list("text limit_start", "limit_start=abc", 417, "ValidationError"),
		list("text limit_page_length", "limit_page_length=ten", 417, "ValidationError"),
		list("fractional limit_page_length", "limit_page_length=1.5", 417, "ValidationError"),
		list("SQL in limit_page_length", "limit_page_length="+hq("1; DROP TABLE x"), 417, "ValidationError"),
		list("limit_start beyond int64", "limit_start=99999999999999999999", hostileNoCrash, ""),
		{name: "limit_start at MaxInt64", method: "GET", status: 200, check: hostileRows(0),
			path: hostileGadgetPath + "?limit_start=9223372036854775807&limit_page_length=10"},
		{name: "limit_start and limit_page_length at MaxInt64", method: "GET", status: 200, check: hostileRows(0),
			path: hostileGadgetPath + "?limit_start=9223372036854775807&limit_page_length=9223372036854775807"},
		{name: "limit_page_length at MaxInt64", method: "GET", status: 200, check: hostileRows(1),
			path: hostileGadgetPath + "?limit_page_length=9223372036854775807"},
		list("as_dict not a boolean", "as_dict=maybe", 417, "ValidationError"),
		list("debug not a boolean", "debug=perhaps", 417, "ValidationError"),

		// The same through a JSON body (form_dict from the body).
		{name: "JSON body: unknown filter field", method: "GET", path: hostileGadgetPath,
			body: `{"filters": {"no_such_field": 1}}`, status: 417, exc: "DataError"},
		{name: "JSON body: negative limit_start", method: "GET", path: hostileGadgetPath,
			body: `{"limit_start": -5}`, status: 417, exc: "ValidationError"},
		{name: "JSON body: limit_start 1e300", method: "GET", path: hostileGadgetPath,
			body: `{"limit_start": 1e300}`, status: hostileNoCrash},
		{name: "JSON body: limit_page_length 1e400", method: "GET", path: hostileGadgetPath,
			body: `{"limit_page_length": 1e400}`, status: hostileNoCrash},
		{name: "JSON body: limit_start as a list", method: "GET", path: hostileGadgetPath,
			body: `{"limit_start": [1]}`, status: 417, exc: "ValidationError"},
		{name: "JSON body: fields as a number", method: "GET", path: hostileGadgetPath,
			body: `{"fields": 5}`, status: 417, exc: "ValidationError"},
		{name: "JSON body: order_by as a list", method: "GET", path: hostileGadgetPath,
			body: `{"order_by": ["title desc; DROP TABLE x"]}`, status: hostileNoCrash},
		{name: "JSON body: filters nested 5000 deep", method: "GET", path: hostileGadgetPath,
			body: `{"filters": ` + deepList + `}`, status: 417},
		{name: "get_list method: unknown field", method: "GET",
			path: "/api/method/frappe.client.get_list?doctype=Hostile%20Gadget&fields=" + hq(`["password"]`), status: 417, exc: "DataError"},
		{name: "v2 count: broken filters", method: "GET",
			path: "/api/v2/doctype/Hostile%20Gadget/count?filters=" + hq(`[["title","=`), status: 417, check: func(t *testing.T, body map[string]any) {
				if _, ok := body["errors"].([]any); !ok {
					t.Errorf("v2 error body without errors: %v", body)
				}
			}},
	})
	h.intact(t)
}

// TestHostileAuth sends requests without credentials, with wrong ones and
// with Authorization headers that cannot be decoded.
func TestHostileAuth(t *testing.T) {
	h := newHostile(t)
	key, secret, _ := strings.Cut(strings.TrimPrefix(h.n.AdminToken, "token "), ":")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	wrong := "token " + key + ":" + strings.Repeat("0", len(secret))
	guarded := hostileGadgetPath + "/guard-1"
	h.run(t, []hostileAttack{
		// Guest.
		{name: "guest lists", as: "guest", method: "GET", path: hostileGadgetPath, status: 403, exc: "PermissionError"},
		{name: "guest reads", as: "guest", method: "GET", path: guarded, status: 403, exc: "PermissionError"},
		{name: "guest creates", as: "guest", method: "POST", path: hostileGadgetPath, body: hostileDoc("g1", nil), status: 403, exc: "PermissionError"},
		{name: "guest updates", as: "guest", method: "PUT", path: guarded, body: `{"title": "pwned"}`, status: 403, exc: "PermissionError"},
		{name: "guest deletes", as: "guest", method: "DELETE", path: guarded, status: 403, exc: "PermissionError"},
		{name: "guest submits", as: "guest", method: "POST", path: hostileOrderPath + "/" + h.draft, body: `{"run_method": "submit"}`, status: 403, exc: "PermissionError"},
		{name: "guest creates a DocType", as: "guest", method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Guest Made", "module": "Custom", "custom": 1}`, status: 403, exc: "PermissionError"},
		{name: "guest v2 delete", as: "guest", method: "DELETE", path: "/api/v2/document/Hostile%20Gadget/guard-1", status: 403},
		{name: "guest counts", as: "guest", method: "GET", path: "/api/method/frappe.client.get_count?doctype=User", status: 403, exc: "PermissionError"},
		{name: "guest generates keys", as: "guest", method: "POST", path: "/api/method/frappe.core.doctype.user.user.generate_keys",
			body: `{"user": "Administrator"}`, status: 403, exc: "PermissionError"},
		{name: "guest legacy cmd", as: "guest", method: "POST", path: "/",
			body: `{"cmd": "frappe.client.get", "doctype": "User", "name": "Administrator"}`, status: 403, exc: "PermissionError"},
		{name: "guest with a one-part header", as: "token", method: "GET", path: hostileGadgetPath, status: 403, exc: "PermissionError"},
		{name: "guest with a three-part header", as: "token a:b c", method: "GET", path: hostileGadgetPath, status: 403, exc: "PermissionError"},
		{name: "guest with an unknown scheme", as: "Digest " + key, method: "DELETE", path: guarded, status: 403, exc: "PermissionError"},

		// Wrong credentials: 401.
		{name: "wrong secret: list", as: wrong, method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "wrong secret: create", as: wrong, method: "POST", path: hostileGadgetPath, body: hostileDoc("w1", nil), status: 401, exc: "AuthenticationError"},
		{name: "wrong secret: update", as: wrong, method: "PUT", path: guarded, body: `{"title": "pwned"}`, status: 401, exc: "AuthenticationError"},
		{name: "wrong secret: delete", as: wrong, method: "DELETE", path: guarded, status: 401, exc: "AuthenticationError"},
		{name: "wrong secret: ping is still refused", as: wrong, method: "GET", path: "/api/method/ping", status: 401, exc: "AuthenticationError"},
		{name: "secret with a suffix", as: h.n.AdminToken + "x", method: "DELETE", path: guarded, status: 401, exc: "AuthenticationError"},
		{name: "secret prefix only", as: "token " + key + ":" + secret[:len(secret)-1], method: "DELETE", path: guarded, status: 401, exc: "AuthenticationError"},
		{name: "unknown key", as: "token 0123456789abcde:" + secret, method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "token without a colon", as: "token " + key + secret, method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "token with an empty key", as: "token :" + secret, method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "token with an empty secret", as: "token " + key + ":", method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "token of only a colon", as: "token :", method: "DELETE", path: guarded, status: 401, exc: "AuthenticationError"},
		{name: "token key with NATS wildcards", as: "token *.>:" + secret, method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "token secret of 8 KiB", as: "token " + key + ":" + strings.Repeat("s", 8<<10), method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "Bearer token", as: "Bearer " + secret, method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "Basic with the wrong secret", as: "Basic " + b64(key+":wrong"), method: "DELETE", path: guarded, status: 401, exc: "AuthenticationError"},
		{name: "Basic without a colon", as: "Basic " + b64(key+secret), method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "Basic of only a colon", as: "Basic " + b64(":"), method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},
		{name: "Basic with an empty key", as: "Basic " + b64(":"+secret), method: "GET", path: hostileGadgetPath, status: 401, exc: "AuthenticationError"},

		// Undecodable Authorization: 400.
		{name: "Basic that is not base64", as: "Basic !!!not-base64!!!", method: "GET", path: hostileGadgetPath, status: 400, exc: "InvalidAuthorizationToken"},
		{name: "Basic of one character", as: "Basic a", method: "POST", path: hostileGadgetPath,
			body: hostileDoc("b1", nil), status: 400, exc: "InvalidAuthorizationToken"},
		{name: "Basic that is URL-safe base64", as: "Basic " + strings.NewReplacer("+", "-", "/", "_").Replace(b64("\xfb\xff:"+secret)), method: "DELETE", path: guarded,
			status: 400, exc: "InvalidAuthorizationToken"},

		// Dead sessions: Guest, session_expired.
		{name: "garbage sid cookie", as: "guest", method: "DELETE", path: guarded, header: map[string]string{"Cookie": "sid=deadbeef"},
			status: 403, exc: "PermissionError", check: hostileSessionExpired},
		{name: "garbage sid argument", as: "guest", method: "GET", path: hostileGadgetPath + "?sid=" + hq("*.>"), status: 403, exc: "PermissionError", check: hostileSessionExpired},
		{name: "sid argument in a JSON body", as: "guest", method: "POST", path: hostileGadgetPath, body: `{"sid": "x", "name": "s1"}`,
			status: 403, exc: "PermissionError", check: hostileSessionExpired},
		{name: "sid argument as an object", as: "guest", method: "POST", path: hostileGadgetPath, body: `{"sid": {"$ne": ""}, "name": "s2"}`,
			status: 403, exc: "PermissionError"},

		// Password login.
		{name: "login with a wrong password", as: "guest", method: "POST", path: "/api/method/login",
			body: `{"usr": "Administrator", "pwd": "wrong"}`, status: 401, exc: "AuthenticationError"},
		{name: "login with a password over 512 characters", as: "guest", method: "POST", path: "/api/method/login",
			body: hostileJSON(map[string]any{"usr": "Administrator", "pwd": strings.Repeat("p", 100000)}), status: 401, exc: "AuthenticationError"},
		{name: "login with objects", as: "guest", method: "POST", path: "/api/method/login",
			body: `{"usr": {"$ne": ""}, "pwd": {"$ne": ""}}`, status: 401, exc: "AuthenticationError"},
		{name: "login with a JSON array", as: "guest", method: "POST", path: "/api/method/login",
			body: `["Administrator", "` + apitest.AdminPassword + `"]`, status: 401, exc: "AuthenticationError"},
	})
	h.intact(t)
}

// hq escapes a query parameter value.
var hq = url.QueryEscape

// hostileSessionExpired checks an answer flags a dead session.
func hostileSessionExpired(t *testing.T, body map[string]any) {
	t.Helper()
	if v, _ := body["session_expired"].(float64); v != 1 {
		t.Errorf("session_expired %v, want 1", body["session_expired"])
	}
}

// TestHostileUpdates sends updates and deletes that must be refused:
// missing documents, stale versions, forbidden docstatus changes.
func TestHostileUpdates(t *testing.T) {
	h := newHostile(t)
	// A document edited since a client read it.
	var first, second struct{ Data map[string]any }
	h.admin.Do(t, "POST", hostileGadgetPath, json.RawMessage(hostileDoc("stale-1", nil)), 200, &first)
	h.admin.Do(t, "PUT", hostileGadgetPath+"/stale-1", map[string]any{"title": "edited"}, 200, &second)
	h.gadgets++
	h.guards[hostileGadgetPath+"/stale-1"] = h.admin.Do(t, "GET", hostileGadgetPath+"/stale-1", nil, 200, nil).Body
	stale := first.Data["modified"].(string)
	current := second.Data["modified"].(string)
	// A role a user holds: deleting it must be refused as linked.
	h.admin.Do(t, "POST", "/api/resource/Role", map[string]any{"role_name": "Hostile Keeper"}, 200, nil)
	h.admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "keeper@example.com", "first_name": "Keeper",
		"roles": []any{map[string]any{"role": "Hostile Keeper"}}}, 200, nil)

	guard := hostileGadgetPath + "/guard-1"
	put := func(name, path, body string, status int, exc string) hostileAttack {
		return hostileAttack{name: name, method: "PUT", path: path, body: body, status: status, exc: exc}
	}
	draft, submitted, cancelled := hostileOrderPath+"/"+h.draft, hostileOrderPath+"/"+h.submitted, hostileOrderPath+"/"+h.cancelled
	// Attacks that would move a document on if docket wrongly obeyed get
	// documents of their own, so that one wrong answer does not change
	// what the next attack meets.
	fresh := func(docstatus int) string {
		name := h.newOrder(t, "target", min(docstatus, 1))
		if docstatus == 2 {
			h.admin.Do(t, "PUT", hostileOrderPath+"/"+name, map[string]any{"docstatus": 2}, 200, nil)
		}
		return hostileOrderPath + "/" + name
	}
	h.run(t, []hostileAttack{
		// Missing documents.
		put("PUT a missing document", hostileGadgetPath+"/no-such-gadget", `{"title": "x"}`, 404, "DoesNotExistError"),
		{name: "DELETE a missing document", method: "DELETE", path: hostileGadgetPath + "/no-such-gadget", status: 404, exc: "DoesNotExistError"},
		{name: "DELETE a missing document twice over", method: "DELETE", path: "/api/resource/ToDo/0000000000", status: 404, exc: "DoesNotExistError"},
		{name: "submit a missing document", method: "POST", path: hostileOrderPath + "/no-such-order", body: `{"run_method": "submit"}`, status: 404, exc: "DoesNotExistError"},
		put("v2 PUT a missing document", "/api/v2/document/Hostile%20Gadget/no-such-gadget", `{"title": "x"}`, 404, ""),
		{name: "v2 DELETE a missing document", method: "DELETE", path: "/api/v2/document/Hostile%20Gadget/no-such-gadget", status: 404},
		put("PUT without a name", hostileGadgetPath+"/", `{"title": "x"}`, hostileAnyRefusal, ""),
		{name: "DELETE without a name", method: "DELETE", path: hostileGadgetPath + "/", status: hostileAnyRefusal},

		// Stale or bogus "modified".
		put("stale modified", hostileGadgetPath+"/stale-1", hostileJSON(map[string]any{"title": "overwritten", "modified": stale}), 417, "TimestampMismatchError"),
		put("modified in the future", hostileGadgetPath+"/stale-1", `{"title": "overwritten", "modified": "2999-01-01 00:00:00"}`, 417, "TimestampMismatchError"),
		put("modified as text", hostileGadgetPath+"/stale-1", `{"title": "overwritten", "modified": "yesterday"}`, 417, "TimestampMismatchError"),
		put("modified as a number", hostileGadgetPath+"/stale-1", `{"title": "overwritten", "modified": 12345}`, 417, "TimestampMismatchError"),
		put("modified as a list", hostileGadgetPath+"/stale-1", hostileJSON(map[string]any{"title": "overwritten", "modified": []any{current}}), 417, "TimestampMismatchError"),
		put("modified one microsecond off", hostileGadgetPath+"/stale-1", hostileJSON(map[string]any{"title": "overwritten", "modified": hostileBumpMicro(current)}), 417, "TimestampMismatchError"),
		{name: "submit with a stale modified", method: "PUT", path: fresh(0), body: `{"docstatus": 1, "modified": "2000-01-01 00:00:00"}`, status: 417, exc: "TimestampMismatchError"},

		// Bad bodies on update.
		put("unknown field", guard, `{"no_such_field": 1}`, 417, "DataError"),
		put("text in an Int field", guard, `{"qty": "many"}`, 417, "ValidationError"),
		put("2^63 in an Int field", guard, `{"qty": 9223372036854775808}`, 417, "ValidationError"),
		put("bad date", guard, `{"due": "2023-02-29"}`, 417, "ValidationError"),
		put("bad Select option", guard, `{"colour": "Mauve"}`, 417, "ValidationError"),
		put("text as the child table", guard, `{"lines": "none"}`, 417, "ValidationError"),
		put("bad child row", guard, `{"lines": [{"qty": "x"}]}`, 417, "ValidationError"),
		put("unique value of another document", hostileGadgetPath+"/stale-1", `{"code": "g-1"}`, 417, "UniqueValidationError"),
		put("Link to a missing document", guard, `{"owner_user": "ghost"}`, 417, "LinkValidationError"),
		put("malformed JSON", guard, `{"title": `, 417, "ValidationError"),
		put("JSON array", guard, `[{"title": "x"}]`, 417, "ValidationError"),
		put("JSON scalar", guard, `"x"`, 417, "ValidationError"),
		put("JSON null", guard, `null`, 417, "ValidationError"),

		// docstatus.
		put("docstatus 1 on a doctype that is not submittable", guard, `{"docstatus": 1}`, 417, ""),
		put("draft to cancelled", fresh(0), `{"docstatus": 2}`, 417, "DocstatusTransitionError"),
		put("docstatus 3", fresh(0), `{"docstatus": 3}`, 417, "ValidationError"),
		put("docstatus -1", fresh(0), `{"docstatus": -1}`, 417, "ValidationError"),
		put("docstatus as text", fresh(0), `{"docstatus": "submitted"}`, 417, "ValidationError"),
		put("docstatus 1.5", fresh(0), `{"docstatus": 1.5}`, 417, "ValidationError"),
		put("submitted to draft", fresh(1), `{"docstatus": 0}`, 417, "DocstatusTransitionError"),
		put("submitted: change a field not allowed on submit", fresh(1), `{"title": "changed"}`, 417, "UpdateAfterSubmitError"),
		put("submitted: change an allowed field and go back to draft", fresh(1), `{"remark": "x", "docstatus": 0}`, 417, "DocstatusTransitionError"),
		{name: "delete a submitted document", method: "DELETE", path: fresh(1), status: 417, exc: "ValidationError"},
		put("cancelled to submitted", fresh(2), `{"docstatus": 1}`, 417, "DocstatusTransitionError"),
		put("cancelled to draft", fresh(2), `{"docstatus": 0}`, 417, "DocstatusTransitionError"),
		put("cancelled stays cancelled but changes", fresh(2), `{"remark": "changed"}`, 417, "DocstatusTransitionError"),
		put("cancelled: empty update", cancelled, `{}`, 417, "DocstatusTransitionError"),
		put("the guard draft: draft to cancelled", draft, `{"docstatus": 2}`, 417, "DocstatusTransitionError"),
		put("the guard submitted: submitted to draft", submitted, `{"docstatus": 0}`, 417, "DocstatusTransitionError"),
		{name: "the guard submitted: delete", method: "DELETE", path: submitted, status: 417, exc: "ValidationError"},
		{name: "run_method submit on a cancelled document", method: "POST", path: fresh(2), body: `{"run_method": "submit"}`, status: 417, exc: "DocstatusTransitionError"},
		{name: "run_method cancel on a draft", method: "POST", path: fresh(0), body: `{"run_method": "cancel"}`, status: 417, exc: "DocstatusTransitionError"},
		{name: "run_method cancel on a doctype that is not submittable", method: "POST", path: guard, body: `{"run_method": "cancel"}`, status: 417},
		{name: "run_method that does not exist", method: "POST", path: fresh(0), body: `{"run_method": "delete"}`, status: hostileAnyRefusal},
		{name: "run_method with SQL", method: "POST", path: fresh(0), body: `{"run_method": "submit; DROP TABLE x"}`, status: hostileAnyRefusal},
		{name: "run_method missing", method: "POST", path: fresh(0), body: `{}`, status: hostileAnyRefusal},

		// Deleting what others depend on.
		{name: "delete a Role that users hold", method: "DELETE", path: "/api/resource/Role/Hostile%20Keeper", status: 417, exc: "LinkExistsError"},
		{name: "delete a standard Role", method: "DELETE", path: "/api/resource/Role/System%20Manager", status: 417, exc: "ValidationError"},
	})
	h.intact(t)
}

// hostileBumpMicro returns a Frappe timestamp one microsecond later.
func hostileBumpMicro(ts string) string {
	if !strings.Contains(ts, ".") {
		return ts + ".000001"
	}
	b := []byte(ts)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '.' {
			continue
		}
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return ts
}

// TestHostileStandardUsers tries to delete the users every site has.
// Frappe refuses ("User Administrator cannot be deleted", 417). It runs on
// its own node: if the Administrator goes, nothing else works.
func TestHostileStandardUsers(t *testing.T) {
	h := newHostile(t)
	admin := "/api/resource/User/Administrator"
	h.guards[admin] = h.admin.Do(t, "GET", admin, nil, 200, nil).Body
	h.guards["/api/resource/User/Guest"] = h.admin.Do(t, "GET", "/api/resource/User/Guest", nil, 200, nil).Body
	h.run(t, []hostileAttack{
		{name: "delete Guest", method: "DELETE", path: "/api/resource/User/Guest", status: 417},
		{name: "delete Administrator", method: "DELETE", path: admin, status: 417},
	})
	h.intact(t)
}

// hostileSubjectDocTypes are doctypes whose naming or unique values put
// client text into NATS subjects.
var hostileSubjectDocTypes = []string{
	`{"name": "Hostile Series", "module": "Custom", "custom": 1, "autoname": "naming_series:",
	  "fields": [
		{"fieldname": "naming_series", "fieldtype": "Select", "label": "Series", "options": "HS-.####"},
		{"fieldname": "title", "fieldtype": "Data", "label": "Title"}],
	  "permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}]}`,
	`{"name": "Hostile Memo", "module": "Custom", "custom": 1, "autoname": "hash",
	  "fields": [{"fieldname": "body", "fieldtype": "Small Text", "label": "Body", "unique": 1}],
	  "permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}]}`,
	`{"name": "Hostile Ticket", "module": "Custom", "custom": 1, "autoname": "format:T-{topic}-{###}",
	  "fields": [{"fieldname": "topic", "fieldtype": "Small Text", "label": "Topic"}],
	  "permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}]}`,
}

// TestHostileSubjectLength sends long client text that docket turns into
// NATS subjects (API keys, session ids, naming series, unique values).
// NATS refuses a protocol line over 4 KiB by closing the connection, and
// the node has one connection for everything. Each attack runs on a node
// of its own, which must still serve reads and writes afterwards.
func TestHostileSubjectLength(t *testing.T) {
	long := strings.Repeat("k", 8<<10)
	attacks := []hostileAttack{
		{name: "token key of 8 KiB", as: "token " + long + ":secret", method: "GET", path: hostileGadgetPath,
			status: 401, exc: "AuthenticationError"},
		{name: "Basic key of 8 KiB", as: "Basic " + base64.StdEncoding.EncodeToString([]byte(long+":secret")), method: "GET", path: hostileGadgetPath,
			status: 401, exc: "AuthenticationError"},
		{name: "sid cookie of 8 KiB", as: "guest", method: "GET", path: hostileGadgetPath, header: map[string]string{"Cookie": "sid=" + long},
			status: 403, exc: "PermissionError", check: hostileSessionExpired},
		{name: "sid argument of 8 KiB", as: "guest", method: "GET", path: hostileGadgetPath + "?sid=" + long,
			status: 403, exc: "PermissionError", check: hostileSessionExpired},
		{name: "login as an unknown user of 8 KiB", as: "guest", method: "POST", path: "/api/method/login",
			body: hostileJSON(map[string]any{"usr": long, "pwd": "x"}), status: 401, exc: "AuthenticationError"},
		{name: "naming series not among the options", method: "POST", path: "/api/resource/Hostile%20Series",
			body: `{"naming_series": "EVIL-.####", "title": "x"}`, status: 417, exc: "ValidationError"},
		{name: "naming series of 8 KiB", method: "POST", path: "/api/resource/Hostile%20Series",
			body: hostileJSON(map[string]any{"naming_series": long + ".####", "title": "x"}), status: 417, exc: "ValidationError"},
		{name: "unique Small Text value of 8 KiB", method: "POST", path: "/api/resource/Hostile%20Memo",
			body: hostileJSON(map[string]any{"body": long}), status: hostileNoCrash, mayWrite: true},
		{name: "format naming with a field of 8 KiB", method: "POST", path: "/api/resource/Hostile%20Ticket",
			body: hostileJSON(map[string]any{"topic": long}), status: hostileAnyRefusal},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			h := newHostile(t)
			for _, dt := range hostileSubjectDocTypes {
				h.admin.Do(t, "POST", "/api/resource/DocType", json.RawMessage(dt), 200, nil)
			}
			h.admin.Do(t, "POST", "/api/resource/Hostile%20Series", map[string]any{"title": "baseline"}, 200, nil)
			h.run(t, []hostileAttack{a})
			h.intact(t)
		})
	}
}

// TestHostileUnprivilegedUser sends writes as a logged-in Website User
// without roles. The hostile doctypes (like User and DocType) grant
// access to System Manager only, so Frappe answers 403 PermissionError
// and writes nothing.
func TestHostileUnprivilegedUser(t *testing.T) {
	h := newHostile(t)
	h.admin.Do(t, "POST", "/api/resource/User", map[string]any{
		"email": "web@example.com", "first_name": "Web", "user_type": "Website User", "enabled": 1}, 200, nil)
	web := h.n.NewToken(t, "web@example.com")
	h.guards["/api/resource/User/Administrator"] = h.admin.Do(t, "GET", "/api/resource/User/Administrator", nil, 200, nil).Body
	guarded := hostileGadgetPath + "/guard-1"
	t.Run("DocPerm rows", func(t *testing.T) {
		h.run(t, []hostileAttack{
			{name: "list", as: web, method: "GET", path: hostileGadgetPath, status: 403, exc: "PermissionError"},
			{name: "read", as: web, method: "GET", path: guarded, status: 403, exc: "PermissionError"},
			{name: "create", as: web, method: "POST", path: hostileGadgetPath, body: hostileDoc("web-1", nil), status: 403, exc: "PermissionError"},
			{name: "update", as: web, method: "PUT", path: guarded, body: `{"title": "pwned"}`, status: 403, exc: "PermissionError"},
			{name: "delete", as: web, method: "DELETE", path: guarded, status: 403, exc: "PermissionError"},
			{name: "submit", as: web, method: "PUT", path: hostileOrderPath + "/" + h.draft, body: `{"docstatus": 1}`, status: 403, exc: "PermissionError"},
		})
	})
	// Administration needs the System Manager role already.
	h.run(t, []hostileAttack{
		{name: "create a DocType", as: web, method: "POST", path: "/api/resource/DocType",
			body: `{"name": "Web Made", "module": "Custom", "custom": 1}`, status: 403, exc: "PermissionError"},
		{name: "change the Administrator's password", as: web, method: "PUT", path: "/api/resource/User/Administrator",
			body: `{"new_password": "owned-by-web"}`, status: 403, exc: "PermissionError"},
		{name: "generate keys for the Administrator", as: web, method: "POST", path: "/api/method/frappe.core.doctype.user.user.generate_keys",
			body: `{"user": "Administrator"}`, status: 403, exc: "PermissionError"},
		{name: "delete the Administrator", as: web, method: "DELETE", path: "/api/resource/User/Administrator", status: 403, exc: "PermissionError"},
	})
	h.intact(t)
}
