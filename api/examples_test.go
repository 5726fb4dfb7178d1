package api_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"docket/api/apitest"
)

// TestRESTDocumentExamples plays every example of Frappe's REST API
// document (shared/reference/frappe-rest-api.txt) against docket.
func TestRESTDocumentExamples(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	// 25 ToDos, so that the default page of 20 is visible.
	for i := range 25 {
		prio := "Medium"
		if i%3 == 0 {
			prio = "High"
		}
		admin.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": fmt.Sprintf("todo %02d", i), "priority": prio}, 200, nil)
	}
	for _, title := range []string{"beta", "alpha", "gamma"} {
		admin.Do(t, "POST", "/api/resource/Note", map[string]any{"title": title}, 200, nil)
	}
	var created map[string]any

	apitest.Run(t, n, []apitest.Scenario{
		{
			Name: "token authentication: get_logged_user", Method: "GET",
			Path: "/api/method/frappe.auth.get_logged_user", WantStatus: 200,
			WantContains: []string{`{"message":"Administrator"}`},
		},
		{
			Name: "password login, then the cookie session", As: "guest", Method: "POST",
			Path: "/api/method/login", Body: `{ "usr" : "Administrator", "pwd": "` + apitest.AdminPassword + `" }`,
			Header: map[string]string{"Accept": "application/json"}, WantStatus: 200,
			WantContains: []string{`"message":"Logged In"`, `"home_page":"/app"`, `"full_name":"Administrator"`},
		},
		{
			Name: "cookie session: POST get_logged_user", As: "session", Method: "POST",
			Path: "/api/method/frappe.auth.get_logged_user", WantStatus: 200,
			WantContains: []string{`{"message":"Administrator"}`},
		},
		{
			Name: "list: 20 names by default", Method: "GET", Path: "/api/resource/ToDo", WantStatus: 200,
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				rows := body["data"].([]any)
				if len(rows) != 20 {
					t.Fatalf("%d rows, want 20", len(rows))
				}
				for _, r := range rows {
					if m := r.(map[string]any); len(m) != 1 || m["name"] == nil {
						t.Fatalf("row %v, want only name", m)
					}
				}
			},
		},
		{
			Name: "list: fields", Method: "GET", Path: "/api/resource/ToDo?fields=" + q(`["description", "name"]`), WantStatus: 200,
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				row := body["data"].([]any)[0].(map[string]any)
				if len(row) != 2 || row["description"] == nil {
					t.Fatalf("row %v", row)
				}
			},
		},
		{
			Name: "list: filters", Method: "GET",
			Path:       "/api/resource/ToDo?limit=100&fields=" + q(`["priority","status"]`) + "&filters=" + q(`[["priority", "=", "High"], ["status", "!=", "Closed"]]`),
			WantStatus: 200,
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				rows := body["data"].([]any)
				if len(rows) != 9 {
					t.Fatalf("%d rows, want 9 High", len(rows))
				}
				for _, r := range rows {
					if r.(map[string]any)["priority"] != "High" {
						t.Fatalf("row %v", r)
					}
				}
			},
		},
		{
			Name: "list: or_filters", Method: "GET",
			Path:       "/api/resource/ToDo?limit=100&or_filters=" + q(`[["description", "=", "todo 01"], ["description", "=", "todo 02"]]`),
			WantStatus: 200,
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				if rows := body["data"].([]any); len(rows) != 2 {
					t.Fatalf("%d rows, want 2", len(rows))
				}
			},
		},
		{
			Name: "list: order_by title desc", Method: "GET",
			Path:       "/api/resource/Note?fields=" + q(`["title"]`) + "&order_by=title%20desc",
			WantStatus: 200, WantContains: []string{`{"data":[{"title":"gamma"},{"title":"beta"},{"title":"alpha"}]}`},
		},
		{
			Name: "list: limit_start and limit_page_length", Method: "GET",
			Path: "/api/resource/ToDo?fields=" + q(`["description"]`) + "&order_by=description%20asc&limit_start=5&limit_page_length=10", WantStatus: 200,
			WantContains: []string{`{"data":[{"description":"todo 05"},`, `{"description":"todo 14"}]}`},
		},
		{
			Name: "list: limit is an alias of limit_page_length", Method: "GET",
			Path: "/api/resource/ToDo?fields=" + q(`["description"]`) + "&order_by=description%20asc&limit_start=5&limit=10", WantStatus: 200,
			WantContains: []string{`{"data":[{"description":"todo 05"},`, `{"description":"todo 14"}]}`},
		},
		{
			Name: "list: as_dict=False gives lists", Method: "GET",
			Path: "/api/resource/ToDo?fields=" + q(`["description"]`) + "&order_by=description%20asc&limit_start=5&limit=5&as_dict=False", WantStatus: 200,
			WantContains: []string{`{"data":[["todo 05"],["todo 06"],["todo 07"],["todo 08"],["todo 09"]]}`},
		},
		{
			Name: "list: debug=True adds the plan and time under exc", Method: "GET",
			Path: "/api/resource/ToDo?limit_start=10&limit=5&debug=True", WantStatus: 200,
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				if len(body["data"].([]any)) != 5 {
					t.Fatalf("rows %v", body["data"])
				}
				exc, _ := body["exc"].(string)
				if exc == "" || !strings.Contains(exc, "Execution time") || !strings.Contains(exc, "scan") {
					t.Fatalf("exc %q", exc)
				}
			},
		},
		{
			Name: "create", Method: "POST", Path: "/api/resource/ToDo",
			Header: map[string]string{"Accept": "application/json"},
			Body:   `{"description": "New ToDo"}`, WantStatus: 200,
			WantContains: []string{`"owner":"Administrator"`, `"modified_by":"Administrator"`, `"idx":0`, `"docstatus":0`,
				`"status":"Open"`, `"priority":"Medium"`, `"description":"New ToDo"`, `"doctype":"ToDo"}}`},
			WantNotContains: []string{`null`},
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				created = body["data"].(map[string]any)
				if len(created["name"].(string)) != 10 || created["creation"] != created["modified"] {
					t.Fatalf("created %v", created)
				}
			},
		},
		{
			Name: "read", Method: "GET", Path: "/api/resource/ToDo/{{name}}",
			Setup: func(t *testing.T, n *apitest.Node) map[string]string {
				return map[string]string{"name": created["name"].(string)}
			},
			WantStatus: 200, WantContains: []string{`"name":"{{name}}"`, `"description":"New ToDo"`, `"doctype":"ToDo"`},
		},
		{
			Name: "update: only the fields sent", Method: "PUT", Path: "/api/resource/ToDo/{{name}}",
			Setup: func(t *testing.T, n *apitest.Node) map[string]string {
				return map[string]string{"name": created["name"].(string)}
			},
			Body: `{"description": "New description"}`, WantStatus: 200,
			WantContains: []string{`"description":"New description"`, `"priority":"Medium"`, `"status":"Open"`},
			Check: func(t *testing.T, n *apitest.Node, body map[string]any) {
				doc := body["data"].(map[string]any)
				if doc["modified"] == created["modified"] || doc["creation"] != created["creation"] {
					t.Fatalf("modified not advanced or creation changed: %v", doc)
				}
			},
		},
		{
			Name: "delete", Method: "DELETE", Path: "/api/resource/ToDo/{{name}}",
			Setup: func(t *testing.T, n *apitest.Node) map[string]string {
				return map[string]string{"name": created["name"].(string)}
			},
			WantStatus: 202, WantContains: []string{`{"data":"ok"}`},
		},
		{
			Name: "deleted document is gone", Method: "GET", Path: "/api/resource/ToDo/{{name}}",
			Setup: func(t *testing.T, n *apitest.Node) map[string]string {
				return map[string]string{"name": created["name"].(string)}
			},
			WantStatus: 404, WantContains: []string{`"exc_type":"DoesNotExistError"`, `not found`},
		},
		{
			Name: "remote method call: GET get_logged_user", Method: "GET",
			Path: "/api/method/frappe.auth.get_logged_user", WantStatus: 200,
			WantContains: []string{`{"message":"Administrator"}`},
		},
		{
			Name: "Basic authentication with key:secret", As: "guest", Method: "GET",
			Path:   "/api/method/frappe.auth.get_logged_user",
			Header: map[string]string{"Authorization": basic(n.AdminToken)}, WantStatus: 200,
			WantContains: []string{`{"message":"Administrator"}`},
		},
	})
}

// basic turns "token key:secret" into "Basic base64(key:secret)".
func basic(token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(token, "token ")))
}
