package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api/apitest"
	"docket/eventlog"
	"docket/methods"
	"docket/methods/webhooks"
)

// received is one request a receiver got.
type received struct {
	Method string
	Header http.Header
	Body   string
}

// receiver is a real HTTP server that records what it gets and answers
// with respond(n) for the n-th request (1-based; nil: 200).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	got     chan received
	respond func(n int) int
}

func newReceiver(t *testing.T, respond func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan received, 100), respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := received{Method: r.Method, Header: r.Header.Clone(), Body: string(body)}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, req)
		n := len(rc.reqs)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.respond != nil {
			status = rc.respond(n)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"ok": true}`)
		rc.got <- req
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the next request.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver got no request")
	}
	return received{}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

// startDelivery runs the delivery service of a node until the test ends.
func startDelivery(t *testing.T, n *apitest.Node, opts webhooks.Options) (stop func()) {
	t.Helper()
	if opts.Secrets == nil {
		opts.Secrets = n.Auth
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 5
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- webhooks.New(n.Docs, n.Log, opts).Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("webhooks: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func doctype(name string, fields ...map[string]any) map[string]any {
	fs := make([]any, len(fields))
	for i, f := range fields {
		fs[i] = f
	}
	return map[string]any{"name": name, "module": "Custom", "custom": 1, "autoname": "hash", "fields": fs}
}

func field(name, typ string, props ...any) map[string]any {
	f := map[string]any{"fieldname": name, "fieldtype": typ, "label": name}
	for i := 0; i+1 < len(props); i += 2 {
		f[props[i].(string)] = props[i+1]
	}
	return f
}

// insert creates a document and returns its name.
func insert(t *testing.T, c *apitest.Client, doctype string, doc map[string]any) string {
	t.Helper()
	var out struct{ Data map[string]any }
	c.Do(t, "POST", "/api/resource/"+doctype, doc, 200, &out)
	return out.Data["name"].(string)
}

// requestLogs lists a Webhook's Request Logs, by attempt.
func requestLogs(t *testing.T, c *apitest.Client, webhook string) []map[string]any {
	t.Helper()
	q := url.Values{}
	q.Set("fields", `["*"]`)
	q.Set("filters", `[["webhook", "=", "`+webhook+`"]]`)
	q.Set("order_by", "creation asc")
	q.Set("limit_page_length", "0")
	var out struct{ Data []map[string]any }
	c.Do(t, "GET", "/api/resource/Webhook Request Log?"+q.Encode(), nil, 200, &out)
	return out.Data
}

// waitLogs waits until a Webhook has n Request Logs, the last with status.
func waitLogs(t *testing.T, c *apitest.Client, webhook string, n int, status string) []map[string]any {
	t.Helper()
	var logs []map[string]any
	waitFor(t, func() bool {
		logs = requestLogs(t, c, webhook)
		return len(logs) >= n && logs[len(logs)-1]["status"] == status
	})
	return logs
}

// lastEvent returns the last event of a document.
func lastEvent(t *testing.T, n *apitest.Node, doctype, name string) (*eventlog.Msg, *eventlog.Event) {
	t.Helper()
	m, err := n.Log.Head(context.Background(), eventlog.DocSubject(doctype, name))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eventlog.DecodeEvent(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return m, ev
}

func TestDelivery(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	var attemptsMu sync.Mutex
	attempts := map[string]int{}
	counted := func() map[string]int {
		attemptsMu.Lock()
		defer attemptsMu.Unlock()
		return maps.Clone(attempts)
	}
	startDelivery(t, n, webhooks.Options{OnAttempt: func(status string) {
		attemptsMu.Lock()
		defer attemptsMu.Unlock()
		attempts[status]++
	}})

	t.Run("signed JSON body", func(t *testing.T) {
		rc := newReceiver(t, nil)
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Order",
			field("customer", "Data"), field("qty", "Int"), field("amount", "Float")), 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{
			"name": "orders", "webhook_doctype": "WH Order", "webhook_docevent": "after_insert",
			"request_url": rc.URL + "/hook", "request_structure": "JSON",
			"webhook_json":    `{"name": "{{ doc.name }}", "customer": {{ doc.customer | tojson }}, "qty": {{ doc.qty }}, "amount": {{ doc.amount }}}`,
			"webhook_headers": []any{map[string]any{"key": "X-Tenant", "value": "acme"}, map[string]any{"key": "Authorization", "value": "Bearer abc"}},
			"enable_security": 1, "webhook_secret": "s3cret-value",
		}, 200, nil)
		name := insert(t, c, "WH Order", map[string]any{"customer": `Café "Ltd"`, "qty": 3, "amount": 12.5})
		got := rc.next(t)
		want := `{"name": "` + name + `", "customer": "Caf\u00e9 \"Ltd\"", "qty": 3, "amount": 12.5}`
		if got.Method != "POST" || got.Body != want {
			t.Fatalf("got %s %s, want POST %s", got.Method, got.Body, want)
		}
		mac := hmac.New(sha256.New, []byte("s3cret-value"))
		mac.Write([]byte(got.Body))
		if sig := got.Header.Get(webhooks.SignatureHeader); sig != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Fatalf("signature %q does not match the body", sig)
		}
		_, ev := lastEvent(t, n, "WH Order", name)
		for k, v := range map[string]string{"Content-Type": "application/json", "X-Tenant": "acme",
			"Authorization": "Bearer abc", webhooks.EventHeader: ev.ID} {
			if got.Header.Get(k) != v {
				t.Errorf("header %s = %q, want %q", k, got.Header.Get(k), v)
			}
		}
		logs := waitLogs(t, c, "orders", 1, webhooks.StatusDelivered)
		l := logs[0]
		if l["attempt"] != float64(1) || l["status_code"] != float64(200) || l["reference_doctype"] != "WH Order" ||
			l["reference_document"] != name || l["user"] != methods.Administrator || l["event_id"] != ev.ID ||
			l["data"] != want || l["url"] != rc.URL+"/hook" || l["response"] != `{"ok": true}` {
			t.Fatalf("log %v", l)
		}
		if h := l["headers"].(string); strings.Contains(h, "Bearer abc") || !strings.Contains(h, `"X-Tenant": "acme"`) {
			t.Fatalf("logged headers %s", h)
		}
		// The secret is in no event, and only System Managers see Webhooks.
		m, wev := lastEvent(t, n, "Webhook", "orders")
		if strings.Contains(string(m.Data), "s3cret") || wev.Doc["webhook_secret"] != "********" {
			t.Fatalf("the Webhook event holds its secret: %v", wev.Doc)
		}
	})

	t.Run("condition filters, form body", func(t *testing.T) {
		rc := newReceiver(t, nil)
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Ticket",
			field("subject", "Data"), field("priority", "Select", "options", "Low\nHigh")), 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{
			"name": "urgent", "webhook_doctype": "WH Ticket", "webhook_docevent": "after_insert",
			"condition": `doc.priority == "High"`, "request_url": rc.URL, "request_method": "PUT",
			"request_structure": "Form URL-Encoded",
			"webhook_data": []any{map[string]any{"fieldname": "name", "key": "id"}, map[string]any{"fieldname": "subject", "key": "s"},
				map[string]any{"fieldname": "priority", "key": "p"}},
		}, 200, nil)
		insert(t, c, "WH Ticket", map[string]any{"subject": "low", "priority": "Low"})
		high := insert(t, c, "WH Ticket", map[string]any{"subject": "a & b", "priority": "High"})
		got := rc.next(t)
		if want := "id=" + high + "&s=a+%26+b&p=High"; got.Method != "PUT" || got.Body != want ||
			got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("got %s %s (%s), want PUT %s", got.Method, got.Body, got.Header.Get("Content-Type"), want)
		}
		// Changes are delivered in order: the Low one was seen first, and
		// left no request and no log.
		if k := rc.count(); k != 1 {
			t.Fatalf("%d requests", k)
		}
		if logs := waitLogs(t, c, "urgent", 1, webhooks.StatusDelivered); len(logs) != 1 {
			t.Fatalf("logs %v", logs)
		}
	})

	t.Run("retried until the receiver recovers", func(t *testing.T) {
		rc := newReceiver(t, func(n int) int {
			if n <= 3 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		before := counted()
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Retry", field("title", "Data")), 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "flaky", "webhook_doctype": "WH Retry",
			"webhook_docevent": "after_insert", "request_url": rc.URL, "request_structure": "JSON",
			"webhook_json": `{"title": {{ doc.title | tojson }}}`}, 200, nil)
		insert(t, c, "WH Retry", map[string]any{"title": "again"})
		logs := waitLogs(t, c, "flaky", 4, webhooks.StatusDelivered)
		if len(logs) != 4 {
			t.Fatalf("logs %v", logs)
		}
		for i, l := range logs {
			status, code := webhooks.StatusRetrying, float64(500)
			if i == 3 {
				status, code = webhooks.StatusDelivered, 200
			}
			if l["attempt"] != float64(i+1) || l["status"] != status || l["status_code"] != code {
				t.Fatalf("log %d: %v", i, l)
			}
		}
		// Each attempt was reported (for metrics) before its log was written.
		after := counted()
		if r, d := after[webhooks.StatusRetrying]-before[webhooks.StatusRetrying], after[webhooks.StatusDelivered]-before[webhooks.StatusDelivered]; r != 3 || d < 1 {
			t.Errorf("attempts reported meanwhile: %d retrying, %d delivered; want 3 and at least 1", r, d)
		}
		for range 4 {
			if got := rc.next(t); got.Body != `{"title": "again"}` {
				t.Fatalf("body %s", got.Body)
			}
		}
	})

	t.Run("4xx is not retried, errors are given up", func(t *testing.T) {
		rc := newReceiver(t, func(int) int { return http.StatusBadRequest })
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close() // nothing listens there
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Refused", field("title", "Data")), 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "refused", "webhook_doctype": "WH Refused",
			"webhook_docevent": "after_insert", "request_url": rc.URL}, 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "down", "webhook_doctype": "WH Refused",
			"webhook_docevent": "after_insert", "request_url": down.URL}, 200, nil)
		insert(t, c, "WH Refused", map[string]any{"title": "one"})
		insert(t, c, "WH Refused", map[string]any{"title": "two"})
		logs := waitLogs(t, c, "refused", 2, webhooks.StatusFailed)
		for _, l := range logs {
			if l["attempt"] != float64(1) || l["status_code"] != float64(400) || l["status"] != webhooks.StatusFailed {
				t.Fatalf("log %v", l)
			}
		}
		if k := rc.count(); k != 2 {
			t.Fatalf("%d requests, want one per change", k)
		}
		logs = waitLogs(t, c, "down", 10, webhooks.StatusFailed) // 5 attempts for each change
		for i, l := range logs {
			status := webhooks.StatusRetrying
			if i%5 == 4 {
				status = webhooks.StatusFailed
			}
			if l["attempt"] != float64(i%5+1) || l["status"] != status || l["status_code"] != float64(0) ||
				!strings.Contains(l["error"].(string), "refused") {
				t.Fatalf("log %d: %v", i, l)
			}
		}
	})

	t.Run("a slow receiver holds back only its own webhook", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer slow.Close()
		defer close(release)
		rc := newReceiver(t, nil)
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Slow", field("title", "Data")), 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "slow", "webhook_doctype": "WH Slow",
			"webhook_docevent": "after_insert", "request_url": slow.URL, "timeout": 120}, 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "quick", "webhook_doctype": "WH Slow",
			"webhook_docevent": "after_insert", "request_url": rc.URL,
			"webhook_data": []any{map[string]any{"fieldname": "name", "key": "name"}}}, 200, nil)
		for _, title := range []string{"one", "two"} {
			name := insert(t, c, "WH Slow", map[string]any{"title": title})
			if got := rc.next(t); !strings.Contains(got.Body, name) {
				t.Fatalf("quick got %s for %s", got.Body, name)
			}
		}
	})

	t.Run("doc events", func(t *testing.T) {
		rc := newReceiver(t, nil)
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Life", field("title", "Data")), 200, nil)
		body := `{"event": "%s", "title": {{ doc.title | tojson }}, "name": "{{ doc.name }}"}`
		for _, ev := range []string{"on_change", "on_trash", "on_update"} {
			c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "life " + ev, "webhook_doctype": "WH Life",
				"webhook_docevent": ev, "request_url": rc.URL + "/" + ev, "request_structure": "JSON",
				"webhook_json": strings.Replace(body, "%s", ev, 1)}, 200, nil)
		}
		name := insert(t, c, "WH Life", map[string]any{"title": "first"})
		c.Do(t, "PUT", "/api/resource/WH Life/"+name, map[string]any{"title": "second"}, 200, nil)
		c.Do(t, "DELETE", "/api/resource/WH Life/"+name, nil, 202, nil)
		got := map[string][]string{}
		for range 4 {
			r := rc.next(t)
			var b map[string]string
			if err := json.Unmarshal([]byte(r.Body), &b); err != nil || b["name"] != name {
				t.Fatalf("body %s", r.Body)
			}
			got[b["event"]] = append(got[b["event"]], b["title"])
		}
		// on_update: insert and update; on_change: the update only (not
		// the insert, as in Frappe); on_trash: the document as deleted.
		want := map[string][]string{"on_update": {"first", "second"}, "on_change": {"second"}, "on_trash": {"second"}}
		for ev, titles := range want {
			if strings.Join(got[ev], ",") != strings.Join(titles, ",") {
				t.Fatalf("%s got %v, want %v", ev, got[ev], titles)
			}
		}
	})

	t.Run("submit, update after submit, cancel", func(t *testing.T) {
		rc := newReceiver(t, nil)
		dt := doctype("WH Invoice", field("total", "Float"), field("note", "Data", "allow_on_submit", 1))
		dt["is_submittable"] = 1
		c.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
		events := []string{"on_update", "on_submit", "on_update_after_submit", "on_cancel"}
		for _, ev := range events {
			c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "invoice " + ev, "webhook_doctype": "WH Invoice",
				"webhook_docevent": ev, "request_url": rc.URL, "request_structure": "JSON",
				"webhook_json": `{"event": "` + ev + `", "ds": {{ doc.docstatus }}, "note": {{ doc.note | tojson }}}`}, 200, nil)
		}
		name := insert(t, c, "WH Invoice", map[string]any{"total": 10, "note": "draft"})
		c.Do(t, "PUT", "/api/resource/WH Invoice/"+name, map[string]any{"docstatus": 1, "note": "submitted"}, 200, nil)
		c.Do(t, "PUT", "/api/resource/WH Invoice/"+name, map[string]any{"note": "paid"}, 200, nil)
		c.Do(t, "PUT", "/api/resource/WH Invoice/"+name, map[string]any{"docstatus": 2}, 200, nil)
		got := map[string][]string{}
		for range 5 {
			var b struct {
				Event, Note string
				Ds          int
			}
			if r := rc.next(t); json.Unmarshal([]byte(r.Body), &b) != nil {
				t.Fatalf("body %s", r.Body)
			}
			got[b.Event] = append(got[b.Event], b.Note+"/"+string(rune('0'+b.Ds)))
		}
		want := map[string]string{"on_update": "draft/0,submitted/1", "on_submit": "submitted/1",
			"on_update_after_submit": "paid/1", "on_cancel": "paid/2"}
		for ev, w := range want {
			if strings.Join(got[ev], ",") != w {
				t.Fatalf("%s: got %v, want %s (all: %v)", ev, got[ev], w, got)
			}
		}
	})

	t.Run("disabled, then enabled", func(t *testing.T) {
		rc := newReceiver(t, nil)
		c.Do(t, "POST", "/api/resource/DocType", doctype("WH Toggle", field("title", "Data")), 200, nil)
		c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "toggle", "webhook_doctype": "WH Toggle",
			"webhook_docevent": "after_insert", "request_url": rc.URL, "enabled": 0,
			"webhook_data": []any{map[string]any{"fieldname": "name", "key": "name"}}}, 200, nil)
		insert(t, c, "WH Toggle", map[string]any{"title": "while disabled"})
		c.Do(t, "PUT", "/api/resource/Webhook/toggle", map[string]any{"enabled": 1}, 200, nil)
		after := insert(t, c, "WH Toggle", map[string]any{"title": "enabled"})
		if got := rc.next(t); !strings.Contains(got.Body, after) {
			t.Fatalf("first delivery %s, want %s", got.Body, after)
		}
		// Deleting a Webhook keeps its logs and ends its consumer.
		waitLogs(t, c, "toggle", 1, webhooks.StatusDelivered)
		before := consumers(t, n)
		c.Do(t, "DELETE", "/api/resource/Webhook/toggle", nil, 202, nil)
		waitFor(t, func() bool { return len(consumers(t, n)) == len(before)-1 })
		if logs := requestLogs(t, c, "toggle"); len(logs) != 1 {
			t.Fatalf("logs after delete: %v", logs)
		}
	})
}

// consumers lists the Webhook consumers.
func consumers(t *testing.T, n *apitest.Node) []string {
	t.Helper()
	names, err := n.Log.Subscribers(context.Background(), "docket-webhook-")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// waitFor waits until ok holds.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebhookDocuments: Webhooks are checked when saved, and only System
// Managers write or read them and their logs.
func TestWebhookDocuments(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	c.Do(t, "POST", "/api/resource/DocType", doctype("WH Plain", field("title", "Data")), 200, nil)
	valid := func(change map[string]any) map[string]any {
		doc := map[string]any{"name": "w", "webhook_doctype": "WH Plain", "webhook_docevent": "after_insert",
			"request_url": "https://example.com/hook"}
		for k, v := range change {
			doc[k] = v
		}
		return doc
	}
	for what, change := range map[string]map[string]any{
		"submit event of a doctype that is not submittable": {"webhook_docevent": "on_submit"},
		"condition that does not compile":                   {"condition": "doc.title =="},
		"URL without a host":                                {"request_url": "httpbin.org?post"},
		"security without a secret":                         {"enable_security": 1},
		"its own log":                                       {"webhook_doctype": "Webhook Request Log"},
		"a child table":                                     {"webhook_doctype": "Webhook Header"},
		"unknown filter":                                    {"request_structure": "JSON", "webhook_json": `{"a": {{ doc.title | nope }}}`},
		"template statements":                               {"request_structure": "JSON", "webhook_json": `{% for x in doc.items %}{% endfor %}`},
		"unknown data field":                                {"webhook_data": []any{map[string]any{"fieldname": "nope", "key": "k"}}},
		"repeated data field": {"webhook_data": []any{map[string]any{"fieldname": "title", "key": "a"},
			map[string]any{"fieldname": "title", "key": "b"}}},
	} {
		t.Run(what, func(t *testing.T) {
			c.Do(t, "POST", "/api/resource/Webhook", valid(change), 417, nil)
		})
	}
	// A JSON webhook keeps no field table, a form one no JSON body.
	var out struct{ Data map[string]any }
	c.Do(t, "POST", "/api/resource/Webhook", valid(map[string]any{"request_structure": "JSON", "webhook_json": `{"t": 1}`,
		"webhook_data": []any{map[string]any{"fieldname": "title", "key": "t"}}}), 200, &out)
	if rows, _ := out.Data["webhook_data"].([]any); len(rows) != 0 || out.Data["enabled"] != float64(1) || out.Data["timeout"] != float64(5) {
		t.Fatalf("saved %v", out.Data)
	}

	// A user who is not a System Manager can neither write nor read them,
	// whatever role permissions say.
	c.Do(t, "POST", "/api/resource/User", map[string]any{"email": "jane@example.com", "first_name": "Jane",
		"roles": []any{map[string]any{"role": "Desk User"}}}, 200, nil)
	jane := n.Client(t)
	jane.Header.Set("Authorization", n.NewToken(t, "jane@example.com"))
	jane.Do(t, "POST", "/api/resource/Webhook", valid(map[string]any{"name": "mine"}), 403, nil)
	jane.Do(t, "GET", "/api/resource/Webhook/w", nil, 403, nil)
	jane.Do(t, "GET", "/api/resource/Webhook Request Log", nil, 403, nil)
	var dt struct{ Data map[string]any }
	c.Do(t, "GET", "/api/resource/DocType/Webhook", nil, 200, &dt)
	perms := append(dt.Data["permissions"].([]any), map[string]any{"role": "All", "read": 1, "write": 1, "create": 1})
	c.Do(t, "PUT", "/api/resource/DocType/Webhook", map[string]any{"permissions": perms}, 200, nil)
	jane.Do(t, "POST", "/api/resource/Webhook", valid(map[string]any{"name": "mine"}), 403, nil)
}

// TestDeliveryResumesAfterRestart: a restarted node goes on after the
// last change each Webhook acknowledged; a Webhook created while delivery
// was off gets every change made since.
func TestDeliveryResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t, nil)
	n := apitest.Start(t, dir)
	c := n.Admin(t)
	c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "todos", "webhook_doctype": "ToDo",
		"webhook_docevent": "after_insert", "request_url": rc.URL + "/todos", "request_structure": "JSON",
		"webhook_json": `{"d": {{ doc.description | tojson }}}`}, 200, nil)
	stop := startDelivery(t, n, webhooks.Options{})
	insert(t, c, "ToDo", map[string]any{"description": "one"})
	if got := rc.next(t); got.Body != `{"d": "one"}` {
		t.Fatalf("got %s", got.Body)
	}
	waitLogs(t, c, "todos", 1, webhooks.StatusDelivered)
	stop()

	// While delivery is off: a change, and a new Webhook.
	c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "late", "webhook_doctype": "ToDo",
		"webhook_docevent": "after_insert", "request_url": rc.URL + "/late", "request_structure": "JSON",
		"webhook_json": `{"late": {{ doc.description | tojson }}}`}, 200, nil)
	insert(t, c, "ToDo", map[string]any{"description": "two"})
	n.Stop()

	n = apitest.Start(t, dir)
	c = n.Admin(t)
	startDelivery(t, n, webhooks.Options{})
	got := map[string]bool{rc.next(t).Body: true, rc.next(t).Body: true}
	if !got[`{"d": "two"}`] || !got[`{"late": "two"}`] {
		t.Fatalf("after the restart: %v", got)
	}
	insert(t, c, "ToDo", map[string]any{"description": "three"})
	got = map[string]bool{rc.next(t).Body: true, rc.next(t).Body: true}
	if !got[`{"d": "three"}`] || !got[`{"late": "three"}`] {
		t.Fatalf("then: %v", got)
	}
	// Each Webhook's changes come in order, so "one" coming again would
	// have come before "two": it did not.
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) != 5 {
		t.Fatalf("%d requests: %v", len(rc.reqs), rc.reqs)
	}
}

// TestConsumerLostAndFound: a Webhook whose consumer disappears (deleted
// by hand, or by another node) gets one again and goes on delivering.
func TestConsumerLostAndFound(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Admin(t)
	rc := newReceiver(t, nil)
	startDelivery(t, n, webhooks.Options{})
	c.Do(t, "POST", "/api/resource/Webhook", map[string]any{"name": "notes", "webhook_doctype": "Note",
		"webhook_docevent": "after_insert", "request_url": rc.URL,
		"webhook_data": []any{map[string]any{"fieldname": "title", "key": "title"}}}, 200, nil)
	insert(t, c, "Note", map[string]any{"title": "before"})
	if got := rc.next(t); got.Body != `{"title": "before"}` {
		t.Fatalf("got %s", got.Body)
	}
	waitLogs(t, c, "notes", 1, webhooks.StatusDelivered)
	names := consumers(t, n)
	if len(names) != 1 {
		t.Fatalf("consumers %v", names)
	}
	if err := n.Log.Unsubscribe(context.Background(), names[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(consumers(t, n)) == 1 })
	insert(t, c, "Note", map[string]any{"title": "after"})
	// The new consumer starts where the Webhook was enabled: "before"
	// comes again (at least once), then "after".
	if got := rc.next(t); got.Body != `{"title": "before"}` {
		t.Fatalf("got %s", got.Body)
	}
	if got := rc.next(t); got.Body != `{"title": "after"}` {
		t.Fatalf("got %s", got.Body)
	}
}
