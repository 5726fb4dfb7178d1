package api_test

import (
	"net/http"
	"strings"
	"testing"

	"docket/api/apitest"
)

// TestArgumentsAndSessions covers how requests carry arguments (query,
// form, multipart, a JSON body replacing the query string, the data form
// field) and the session life cycle (login cookies, sid argument, logout,
// expired sessions), plus the v2 envelopes.
func TestArgumentsAndSessions(t *testing.T) {
	n := apitest.Start(t, "")
	apitest.Run(t, n, []apitest.Scenario{
		{
			Name: "form-encoded create", Method: "POST", Path: "/api/resource/ToDo",
			ContentType: "application/x-www-form-urlencoded", Body: "description=from+a+form&priority=Low",
			WantStatus: 200, WantContains: []string{`"description":"from a form"`, `"priority":"Low"`},
		},
		{
			Name: "create from a data form field", Method: "POST", Path: "/api/resource/ToDo",
			ContentType: "application/x-www-form-urlencoded", Body: `data=%7B%22description%22%3A%22in+data%22%7D`,
			WantStatus: 200, WantContains: []string{`"description":"in data"`},
		},
		{
			Name: "create from multipart form fields", Method: "POST", Path: "/api/resource/ToDo",
			ContentType: "multipart/form-data; boundary=XYZ",
			Body:        "--XYZ\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nmultipart\r\n--XYZ--\r\n",
			WantStatus:  200, WantContains: []string{`"description":"multipart"`},
		},
		{
			Name: "a JSON body replaces the query string", Method: "GET",
			Path: "/api/method/frappe.client.get_count?doctype=Nope", Body: `{"doctype": "ToDo"}`,
			WantStatus: 200, WantContains: []string{`{"message":3}`},
		},
		{
			Name: "a JSON array body becomes data", Method: "POST", Path: "/api/method/frappe.client.get_count",
			Body: `[1,2]`, WantStatus: 417, WantContains: []string{`Argument doctype is required`},
		},
		{
			Name: "limit_page_length=0 returns everything", Method: "GET", Path: "/api/resource/ToDo?limit_page_length=0",
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				if rows := body["data"].([]any); len(rows) != 3 {
					t.Fatalf("%d rows, want 3", len(rows))
				}
			},
		},
		{
			Name: "v2 list and read use data, and keep nulls", Method: "GET",
			Path: "/api/v2/document/ToDo?fields=" + q(`["name","date"]`) + "&limit=1", WantStatus: 200,
			WantContains: []string{`{"data":[{"name":`, `"date":null}]}`},
		},
		{
			Name: "v2 method envelope", Method: "GET", Path: "/api/v2/method/frappe.auth.get_logged_user",
			WantStatus: 200, WantContains: []string{`{"data":"Administrator"}`},
		},
		{
			Name: "v2 errors", Method: "GET", Path: "/api/v2/document/ToDo/missing",
			WantStatus: 404, WantContains: []string{`{"errors":[{"type":"DoesNotExistError"`},
		},
		{
			Name: "v2 count", Method: "GET", Path: "/api/v2/doctype/ToDo/count?filters=" + q(`{"priority":"Low"}`),
			WantStatus: 200, WantContains: []string{`{"data":1}`},
		},
		{
			Name: "unknown method is 404", Method: "GET", Path: "/api/method/frappe.nope.nothing",
			WantStatus: 404, WantContains: []string{`"exc_type":"DoesNotExistError"`},
		},
		{
			Name: "Guest may ping", As: "guest", Method: "GET", Path: "/api/method/ping",
			WantStatus: 200, WantContains: []string{`{"message":"pong"}`},
		},
		{
			Name: "Guest may not call get_logged_user", As: "guest", Method: "GET", Path: "/api/method/frappe.auth.get_logged_user",
			WantStatus: 403, WantContains: []string{`"exc_type":"PermissionError"`, `is not whitelisted`},
		},
		{
			Name: "an unknown sid is Guest with session_expired", As: "guest", Method: "GET",
			Path: "/api/method/ping?sid=0123456789abcdef", WantStatus: 200,
			WantContains: []string{`"message":"pong"`, `"session_expired":1`},
		},
		{
			Name: "legacy cmd on /", As: "guest", Method: "POST", Path: "/", Body: `{"cmd": "ping"}`,
			WantStatus: 200, WantContains: []string{`{"message":"pong"}`},
		},
	})

	t.Run("login cookies, sid argument, logout", func(t *testing.T) {
		c := n.Client(t)
		resp := c.Raw(t, "POST", "/api/method/login", "application/json", []byte(`{"usr":"admin@example.com","pwd":"`+apitest.AdminPassword+`"}`))
		if resp.Status != 200 {
			t.Fatalf("login by e-mail: %d %s", resp.Status, resp.Body)
		}
		cookies := map[string]*http.Cookie{}
		for _, ck := range (&http.Response{Header: resp.Header}).Cookies() {
			cookies[ck.Name] = ck
		}
		for _, name := range []string{"sid", "system_user", "full_name", "user_id", "user_image"} {
			if cookies[name] == nil {
				t.Errorf("login did not set the %s cookie", name)
			}
		}
		if sid := cookies["sid"]; sid == nil || !sid.HttpOnly || sid.SameSite != http.SameSiteLaxMode || sid.MaxAge <= 0 {
			t.Fatalf("sid cookie %+v", sid)
		}
		if cookies["user_id"].Value != "Administrator" || cookies["system_user"].Value != "yes" {
			t.Errorf("cookies %v %v", cookies["user_id"], cookies["system_user"])
		}
		// The session id also works as an argument, without cookies.
		guest := n.Client(t)
		if r := guest.Raw(t, "GET", "/api/method/frappe.auth.get_logged_user?sid="+cookies["sid"].Value, "", nil); r.Status != 200 {
			t.Fatalf("sid argument: %d %s", r.Status, r.Body)
		}
		if r := c.Raw(t, "POST", "/api/method/logout", "application/json", []byte(`{}`)); r.Status != 200 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		r := guest.Raw(t, "GET", "/api/method/frappe.auth.get_logged_user?sid="+cookies["sid"].Value, "", nil)
		if r.Status != 403 || !strings.Contains(string(r.Body), `"session_expired":1`) {
			t.Fatalf("after logout: %d %s", r.Status, r.Body)
		}
	})
}
