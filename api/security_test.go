package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"docket/api"
	"docket/api/apitest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestLoginBruteForce: a burst of wrong passwords meets 429 with
// Retry-After, for the user and for the client address; the right
// password works again once the window has passed.
func TestLoginBruteForce(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{
		LoginLimit: api.LoginLimit{PerUser: 5, PerAddress: 12, Window: time.Minute},
		Now:        clock.Now,
	}})
	admin := n.Admin(t)
	for _, u := range []string{"target@example.com", "other@example.com"} {
		admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": u, "first_name": "T", "new_password": "right-" + u}, 200, nil)
	}
	c := n.Client(t)
	login := func(usr, pwd string) *apitest.Response {
		return c.Do(t, "POST", "/api/method/login", map[string]any{"usr": usr, "pwd": pwd}, 0, nil)
	}
	for i := range 5 {
		if r := login("target@example.com", "guess-"+strconv.Itoa(i)); r.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := login("target@example.com", "guess-5")
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt: %d %v %s", r.Status, r.Header, r.Body)
	}
	if secs, _ := strconv.Atoi(r.Header.Get("Retry-After")); secs < 1 || secs > 60 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Blocked means blocked: the right password too, and a differently
	// written login name.
	if r := login("target@example.com", "right-target@example.com"); r.Status != 429 {
		t.Fatalf("right password while blocked: %d", r.Status)
	}
	if r := login(" TARGET@example.com", "guess"); r.Status != 429 {
		t.Fatalf("case variant while blocked: %d", r.Status)
	}
	// Another user from the same address is not blocked yet…
	if r := login("other@example.com", "right-other@example.com"); r.Status != 200 {
		t.Fatalf("other user: %d %s", r.Status, r.Body)
	}
	// …until the address has failed too often across users.
	for i := range 7 {
		login("nobody"+strconv.Itoa(i)+"@example.com", "x")
	}
	if r := login("other@example.com", "right-other@example.com"); r.Status != 429 {
		t.Fatalf("address limit: %d %s", r.Status, r.Body)
	}
	clock.Advance(61 * time.Second)
	if r := login("target@example.com", "right-target@example.com"); r.Status != 200 {
		t.Fatalf("after the window: %d %s", r.Status, r.Body)
	}
	// Wrong old passwords of update_password count as failures too.
	for range 5 {
		c.Do(t, "POST", "/api/method/frappe.core.doctype.user.user.update_password",
			map[string]any{"old_password": "nope", "new_password": "x"}, 401, nil)
	}
	c.Do(t, "POST", "/api/method/frappe.core.doctype.user.user.update_password",
		map[string]any{"old_password": "right-target@example.com", "new_password": "x"}, 429, nil)
}

// TestLoginNoEnumeration: an unknown user and a wrong password get the
// same answer.
func TestLoginNoEnumeration(t *testing.T) {
	n := apitest.Start(t, "")
	n.Admin(t).Do(t, "POST", "/api/resource/User", map[string]any{"email": "known@example.com", "first_name": "K", "new_password": "pw"}, 200, nil)
	a := n.Client(t).Do(t, "POST", "/api/method/login", map[string]any{"usr": "known@example.com", "pwd": "bad"}, 401, nil)
	b := n.Client(t).Do(t, "POST", "/api/method/login", map[string]any{"usr": "unknown@example.com", "pwd": "bad"}, 401, nil)
	strip := func(body []byte) string {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		delete(m, "_server_messages") // carries a random id
		out, _ := json.Marshal(m)
		return string(out)
	}
	if strip(a.Body) != strip(b.Body) {
		t.Fatalf("answers differ:\n%s\n%s", a.Body, b.Body)
	}
}

// TestCSRF: once a session has a CSRF token, its state-changing requests
// need it; reads, token requests and sessions without a token do not.
func TestCSRF(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Client(t)
	c.Login(t, "Administrator", apitest.AdminPassword)
	todo := map[string]any{"description": "x"}
	c.Do(t, "POST", "/api/resource/ToDo", todo, 200, nil) // no token yet: as a pure API session in Frappe
	var tok struct{ Message string }
	c.Do(t, "GET", "/api/method/frappe.sessions.get_csrf_token", nil, 200, &tok)
	if len(tok.Message) < 32 {
		t.Fatalf("token %q", tok.Message)
	}
	var body map[string]any
	c.Do(t, "POST", "/api/resource/ToDo", todo, 400, &body)
	if body["exc_type"] != "CSRFTokenError" {
		t.Fatalf("csrf refusal %v", body)
	}
	c.Header.Set("X-Frappe-CSRF-Token", "wrong")
	c.Do(t, "POST", "/api/resource/ToDo", todo, 400, nil)
	c.Header.Set("X-Frappe-CSRF-Token", tok.Message)
	c.Do(t, "POST", "/api/resource/ToDo", todo, 200, nil)
	c.Header.Del("X-Frappe-CSRF-Token")
	c.Do(t, "GET", "/api/resource/ToDo", nil, 200, nil)
	c.Do(t, "POST", "/api/method/frappe.client.insert", map[string]any{"doc": map[string]any{"doctype": "ToDo", "description": "y"}, "csrf_token": tok.Message}, 200, nil)
	n.Admin(t).Do(t, "POST", "/api/resource/ToDo", todo, 200, nil) // a token request has no session
	var again struct{ Message string }
	c.Do(t, "GET", "/api/method/frappe.sessions.get_csrf_token", nil, 200, &again)
	if again.Message != tok.Message {
		t.Fatal("the session's token changed")
	}
	n.Admin(t).Do(t, "GET", "/api/method/frappe.sessions.get_csrf_token", nil, 403, nil)
}

// TestCORS: allowed origins get credentialed CORS answers, others none.
func TestCORS(t *testing.T) {
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{AllowedOrigins: []string{"https://app.example.com"}}})
	c := n.Client(t)
	c.Header.Set("Origin", "https://app.example.com")
	c.Header.Set("Access-Control-Request-Method", "PUT")
	c.Header.Set("Access-Control-Request-Headers", "content-type,x-frappe-csrf-token")
	r := c.Do(t, "OPTIONS", "/api/resource/ToDo", nil, 200, nil)
	h := r.Header
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != "PUT" || h.Get("Access-Control-Allow-Headers") != "content-type,x-frappe-csrf-token" {
		t.Fatalf("preflight headers %v", h)
	}
	c.Header.Set("Origin", "https://evil.example.com")
	r = c.Do(t, "GET", "/api/method/ping", nil, 200, nil)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS for a foreign origin: %v", r.Header)
	}
}

// TestSecureCookiesBehindProxy: behind a trusted TLS proxy the session
// cookie is Secure; without trust the header is ignored.
func TestSecureCookiesBehindProxy(t *testing.T) {
	for _, trust := range []bool{true, false} {
		n := apitest.StartWith(t, "", apitest.Options{API: api.Options{TrustProxy: trust}})
		c := n.Client(t)
		c.Header.Set("X-Forwarded-Proto", "https")
		r := c.Do(t, "POST", "/api/method/login", map[string]any{"usr": "Administrator", "pwd": apitest.AdminPassword}, 200, nil)
		var sid *http.Cookie
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == "sid" {
				sid = ck
			}
		}
		if sid == nil || !sid.HttpOnly || sid.SameSite != http.SameSiteLaxMode || sid.Secure != trust {
			t.Fatalf("trust %v: sid cookie %+v", trust, sid)
		}
	}
}
