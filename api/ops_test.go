package api_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api"
	"docket/api/apitest"
)

// TestOpsEndpoints: /healthz and /readyz answer anyone; /metrics only a
// System Manager's credentials (an API key as a token or as Basic, as
// Prometheus sends them); every refused authentication is reported by
// kind.
func TestOpsEndpoints(t *testing.T) {
	var mu sync.Mutex
	var failures []string
	text := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) })
	}
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{
		LoginLimit: api.LoginLimit{PerUser: 2, PerAddress: 100, Window: time.Hour},
		Ops: api.Ops{Health: text("healthy"), Ready: text("ready"), Metrics: text("docket_up 1\n"),
			AuthFailure: func(kind string) { mu.Lock(); defer mu.Unlock(); failures = append(failures, kind) }},
	}})
	reported := func() []string {
		mu.Lock()
		defer mu.Unlock()
		f := failures
		failures = nil
		return f
	}
	reported()
	guest := n.Client(t)
	for path, want := range map[string]string{"/healthz": "healthy", "/readyz": "ready"} {
		if r := guest.Raw(t, "GET", path, "", nil); r.Status != 200 || string(r.Body) != want {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := guest.Raw(t, "GET", "/metrics", "", nil); r.Status != 403 {
		t.Errorf("/metrics as Guest: %d %s", r.Status, r.Body)
	}
	if r := n.Admin(t).Raw(t, "GET", "/metrics", "", nil); r.Status != 200 || string(r.Body) != "docket_up 1\n" {
		t.Errorf("/metrics with the Administrator's token: %d %s", r.Status, r.Body)
	}
	basic := n.Client(t)
	basic.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(n.AdminToken, "token "))))
	if r := basic.Raw(t, "GET", "/metrics", "", nil); r.Status != 200 {
		t.Errorf("/metrics with the Administrator's key as Basic: %d %s", r.Status, r.Body)
	}
	n.Admin(t).Do(t, "POST", "/api/resource/User", map[string]any{"email": "watcher@example.com", "first_name": "W", "new_password": "watcher-pass-1"}, 200, nil)
	user := n.Client(t)
	user.Header.Set("Authorization", n.NewToken(t, "watcher@example.com"))
	if r := user.Raw(t, "GET", "/metrics", "", nil); r.Status != 403 {
		t.Errorf("/metrics as a user who is no System Manager: %d %s", r.Status, r.Body)
	}
	if f := reported(); len(f) != 0 {
		t.Fatalf("failures reported for accepted credentials: %v", f)
	}

	bad := n.Client(t)
	bad.Header.Set("Authorization", n.AdminToken+"x")
	if r := bad.Raw(t, "GET", "/metrics", "", nil); r.Status != 401 {
		t.Errorf("/metrics with a wrong secret: %d %s", r.Status, r.Body)
	}
	for range 3 {
		guest.Do(t, "POST", "/api/method/login", map[string]any{"usr": "watcher@example.com", "pwd": "guess"}, 0, nil)
	}
	guest.Raw(t, "POST", "/api/method/frappe.integrations.oauth2.get_token", "application/x-www-form-urlencoded",
		[]byte("grant_type=client_credentials&client_id=nosuchclient&client_secret=guess"))
	want := []string{"credentials", "password", "password", "rate_limited", "oauth_client"}
	if f := reported(); !slices.Equal(f, want) {
		t.Errorf("failures reported: %v, want %v", f, want)
	}
}

// TestOpsEndpointsAreOptional: a server without them does not serve them.
func TestOpsEndpointsAreOptional(t *testing.T) {
	n := apitest.Start(t, "")
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := n.Admin(t).Raw(t, "GET", p, "", nil); r.Status != 404 {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
}
