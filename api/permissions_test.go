package api_test

import (
	"context"

	"fmt"
	"slices"
	"strings"
	"testing"

	"docket/api/apitest"
	"docket/methods"
	"docket/projections"
)

// permWorld is a node with roles, users and doctypes whose DocPerm rows
// differ, for permission tests.
type permWorld struct {
	n       *apitest.Node
	admin   *apitest.Client
	clients map[string]*apitest.Client // by user; "guest" has no credentials
}

// Users of the permission tests.
const (
	clerkUser   = "clerk@example.com"   // role Clerk
	auditorUser = "auditor@example.com" // role Auditor
	webUser     = "web@example.com"     // a Website User without roles
	smUser      = "sm@example.com"      // System Manager
	victimUser  = "victim@example.com"  // a System User without roles
	guestUser   = "guest"
)

func newPermWorld(t *testing.T, opts apitest.Options) *permWorld {
	t.Helper()
	n := apitest.StartWith(t, "", opts)
	w := &permWorld{n: n, admin: n.Admin(t), clients: map[string]*apitest.Client{}}
	for _, r := range []string{"Clerk", "Auditor"} {
		w.admin.Do(t, "POST", "/api/resource/Role", map[string]any{"role_name": r}, 200, nil)
	}
	w.admin.Do(t, "POST", "/api/resource/DocType", map[string]any{
		"name": "Branch", "module": "Custom", "custom": 1, "autoname": "field:branch_name",
		"fields": []any{field("branch_name", "Data", "reqd", 1)},
		"permissions": []any{
			map[string]any{"role": "All", "read": 1},
			map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
		},
	}, 200, nil)
	for _, b := range []string{"North", "South", "East"} {
		w.admin.Do(t, "POST", "/api/resource/Branch", map[string]any{"branch_name": b}, 200, nil)
	}
	le := doctype("Ledger Entry", "hash",
		field("title", "Data"),
		field("amount", "Currency"),
		field("branch", "Link", "options", "Branch"),
		field("audit_note", "Small Text", "permlevel", 1),
	)
	le["is_submittable"] = 1
	le["permissions"] = []any{
		map[string]any{"role": "Clerk", "read": 1, "write": 1, "create": 1, "delete": 1, "submit": 1, "cancel": 1},
		map[string]any{"role": "Auditor", "read": 1},
		map[string]any{"role": "Auditor", "permlevel": 1, "read": 1, "write": 1},
		map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1, "delete": 1},
	}
	w.admin.Do(t, "POST", "/api/resource/DocType", le, 200, nil)
	memo := doctype("Secret Memo", "hash", field("title", "Data"))
	memo["permissions"] = []any{map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", memo, 200, nil)

	users := []struct {
		email, typ string
		roles      []string
	}{
		{clerkUser, "System User", []string{"Clerk"}},
		{auditorUser, "System User", []string{"Auditor"}},
		{webUser, "Website User", nil},
		{smUser, "System User", []string{"System Manager"}},
		{victimUser, "System User", nil},
	}
	for _, u := range users {
		var roles []any
		for _, r := range u.roles {
			roles = append(roles, map[string]any{"role": r})
		}
		w.admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": u.email, "first_name": strings.Split(u.email, "@")[0],
			"user_type": u.typ, "roles": roles, "new_password": "pw-" + u.email}, 200, nil)
		c := n.Client(t)
		c.Header.Set("Authorization", n.NewToken(t, u.email))
		w.clients[u.email] = c
	}
	w.clients[guestUser] = n.Client(t)
	return w
}

// createAs inserts a document owned by user, whatever the user's rights
// (as a hook with ignore_permissions would), and returns its name.
func (w *permWorld) createAs(t *testing.T, user, doctype string, doc map[string]any) string {
	t.Helper()
	if user == guestUser {
		user = methods.Guest
	}
	var name string
	ctx := context.Background()
	_, err := w.n.Docs.Run(ctx, user, func(tx *methods.Tx) error {
		return tx.IgnorePermissions(func() error {
			saved, err := tx.Insert(ctx, doctype, doc)
			if err == nil {
				name = projections.NameString(saved["name"])
			}
			return err
		})
	})
	if err != nil {
		t.Fatalf("create %s as %s: %v", doctype, user, err)
	}
	return name
}

func docPath(doctype, name string) string {
	return "/api/resource/" + strings.ReplaceAll(doctype, " ", "%20") + "/" + name
}

// Outcomes of a matrix cell.
const (
	allow  = "allow"  // 200 (202 for delete), and the write happened
	deny   = "deny"   // 403 PermissionError, and nothing changed
	hidden = "hidden" // a list: 200 without the document
	na     = "-"      // does not apply
)

// TestAuthorizationMatrix asserts, through HTTP, every cell of roles ×
// doctypes × operations × (own document, another user's document).
func TestAuthorizationMatrix(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	type cell struct {
		user, doctype, op string
		own, other        string
	}
	matrix := []cell{
		// Ledger Entry: Clerk does everything, Auditor reads (and writes its
		// own through All's if_owner row), everyone else only their own.
		{clerkUser, "Ledger Entry", "read", allow, allow},
		{clerkUser, "Ledger Entry", "list", allow, allow},
		{clerkUser, "Ledger Entry", "create", allow, na},
		{clerkUser, "Ledger Entry", "update", allow, allow},
		{clerkUser, "Ledger Entry", "submit", allow, allow},
		{clerkUser, "Ledger Entry", "delete", allow, allow},
		{auditorUser, "Ledger Entry", "read", allow, allow},
		{auditorUser, "Ledger Entry", "list", allow, allow},
		{auditorUser, "Ledger Entry", "create", allow, na},
		{auditorUser, "Ledger Entry", "update", allow, deny},
		{auditorUser, "Ledger Entry", "submit", deny, deny},
		{auditorUser, "Ledger Entry", "delete", allow, deny},
		{webUser, "Ledger Entry", "read", allow, deny},
		{webUser, "Ledger Entry", "list", allow, hidden},
		{webUser, "Ledger Entry", "create", allow, na},
		{webUser, "Ledger Entry", "update", allow, deny},
		{webUser, "Ledger Entry", "submit", deny, deny},
		{webUser, "Ledger Entry", "delete", allow, deny},
		{smUser, "Ledger Entry", "read", allow, deny},
		{smUser, "Ledger Entry", "list", allow, hidden},
		{smUser, "Ledger Entry", "update", allow, deny},
		{smUser, "Ledger Entry", "delete", allow, deny},
		{guestUser, "Ledger Entry", "read", na, deny},
		{guestUser, "Ledger Entry", "list", na, deny},
		{guestUser, "Ledger Entry", "create", deny, na},
		{guestUser, "Ledger Entry", "update", na, deny},
		{guestUser, "Ledger Entry", "delete", na, deny},
		// Secret Memo: System Manager only; owning one gives nothing.
		{smUser, "Secret Memo", "read", allow, allow},
		{smUser, "Secret Memo", "list", allow, allow},
		{smUser, "Secret Memo", "create", allow, na},
		{smUser, "Secret Memo", "update", allow, allow},
		{smUser, "Secret Memo", "delete", allow, allow},
		{clerkUser, "Secret Memo", "read", deny, deny},
		{clerkUser, "Secret Memo", "list", deny, deny},
		{clerkUser, "Secret Memo", "create", deny, na},
		{clerkUser, "Secret Memo", "update", deny, deny},
		{clerkUser, "Secret Memo", "delete", deny, deny},
		{webUser, "Secret Memo", "read", deny, deny},
		{webUser, "Secret Memo", "list", deny, deny},
		{webUser, "Secret Memo", "create", deny, na},
		// ToDo: for whoever wrote it or has it assigned, unless a role
		// other than the automatic ones grants it (System Manager).
		{webUser, "ToDo", "read", allow, deny},
		{webUser, "ToDo", "list", allow, hidden},
		{webUser, "ToDo", "create", allow, na},
		{webUser, "ToDo", "update", allow, deny},
		{webUser, "ToDo", "delete", allow, deny},
		{clerkUser, "ToDo", "read", allow, deny},
		{clerkUser, "ToDo", "update", allow, deny},
		{smUser, "ToDo", "read", allow, allow},
		{smUser, "ToDo", "list", allow, allow},
		{smUser, "ToDo", "update", allow, allow},
		// User: one's own User document ("own") versus another user's.
		{webUser, "User", "read", allow, deny},
		{webUser, "User", "list", allow, hidden},
		{webUser, "User", "update", allow, deny},
		{webUser, "User", "delete", deny, deny},
		{clerkUser, "User", "read", allow, deny},
		{clerkUser, "User", "create", deny, na},
		{smUser, "User", "read", allow, allow},
		{smUser, "User", "list", allow, allow},
		{smUser, "User", "update", allow, allow},
		{smUser, "User", "create", allow, na},
	}
	seq := 0
	newDoc := func(doctype string) map[string]any {
		seq++
		switch doctype {
		case "ToDo":
			return map[string]any{"description": fmt.Sprintf("todo %d", seq)}
		case "User":
			return map[string]any{"email": fmt.Sprintf("made%d@example.com", seq), "first_name": "Made"}
		}
		return map[string]any{"title": fmt.Sprintf("doc %d", seq)}
	}
	// target returns a document for a cell: the user's own, or another
	// user's (the victim's).
	target := func(t *testing.T, c cell, own bool) string {
		if c.doctype == "User" {
			if own {
				return c.user
			}
			seq++
			email := fmt.Sprintf("other%d@example.com", seq)
			w.admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": email, "first_name": "Other"}, 200, nil)
			return email
		}
		owner := victimUser
		if own {
			owner = c.user
		}
		return w.createAs(t, owner, c.doctype, newDoc(c.doctype))
	}
	for _, c := range matrix {
		for _, own := range []bool{true, false} {
			want := c.other
			whose := "other's"
			if own {
				want, whose = c.own, "own"
			}
			if want == na {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s/%s/%s", c.user, c.doctype, c.op, whose), func(t *testing.T) {
				cl := w.clients[c.user]
				if c.op == "create" {
					checkCreate(t, w, cl, c.doctype, newDoc(c.doctype), want)
					return
				}
				name := target(t, c, own)
				path := docPath(c.doctype, name)
				before := w.admin.Do(t, "GET", path, nil, 200, nil).Body
				var resp *apitest.Response
				switch c.op {
				case "read":
					resp = cl.Do(t, "GET", path, nil, 0, nil)
				case "list":
					resp = cl.Do(t, "GET", "/api/resource/"+strings.ReplaceAll(c.doctype, " ", "%20")+"?limit_page_length=0", nil, 0, nil)
				case "update":
					patch := map[string]any{"title": "changed"}
					switch c.doctype {
					case "ToDo":
						patch = map[string]any{"description": "changed"}
					case "User":
						patch = map[string]any{"bio": "changed"}
					}
					resp = cl.Do(t, "PUT", path, patch, 0, nil)
				case "submit":
					resp = cl.Do(t, "PUT", path, map[string]any{"docstatus": 1}, 0, nil)
				case "delete":
					resp = cl.Do(t, "DELETE", path, nil, 0, nil)
				}
				switch want {
				case allow:
					if resp.Status != 200 && resp.Status != 202 {
						t.Fatalf("want allowed, got %d %s", resp.Status, resp.Body)
					}
					if c.op == "list" && !strings.Contains(string(resp.Body), `"`+name+`"`) {
						t.Fatalf("list lacks %s: %s", name, resp.Body)
					}
					after := w.admin.Do(t, "GET", path, nil, 0, nil)
					changed := string(after.Body) != string(before)
					if (c.op == "update" || c.op == "submit" || c.op == "delete") != changed {
						t.Fatalf("%s allowed but document changed=%v", c.op, changed)
					}
				case deny:
					if resp.Status != 403 || !strings.Contains(string(resp.Body), `"exc_type":"PermissionError"`) {
						t.Fatalf("want 403 PermissionError, got %d %s", resp.Status, resp.Body)
					}
					if after := w.admin.Do(t, "GET", path, nil, 200, nil).Body; string(after) != string(before) {
						t.Fatalf("a refused %s changed the document:\n%s\n%s", c.op, before, after)
					}
				case hidden:
					if resp.Status != 200 || strings.Contains(string(resp.Body), `"`+name+`"`) {
						t.Fatalf("want a list without %s, got %d %s", name, resp.Status, resp.Body)
					}
				}
			})
		}
	}
}

// checkCreate asserts a create cell: allowed creates exactly one document,
// refused creates none.
func checkCreate(t *testing.T, w *permWorld, cl *apitest.Client, doctype string, doc map[string]any, want string) {
	t.Helper()
	count := func() int64 {
		var out struct{ Message int64 }
		w.admin.Do(t, "GET", "/api/method/frappe.client.get_count?doctype="+q(doctype), nil, 200, &out)
		return out.Message
	}
	before := count()
	resp := cl.Do(t, "POST", "/api/resource/"+strings.ReplaceAll(doctype, " ", "%20"), doc, 0, nil)
	switch want {
	case allow:
		if resp.Status != 200 || count() != before+1 {
			t.Fatalf("want created, got %d %s", resp.Status, resp.Body)
		}
	case deny:
		if resp.Status != 403 || !strings.Contains(string(resp.Body), `"exc_type":"PermissionError"`) {
			t.Fatalf("want 403 PermissionError, got %d %s", resp.Status, resp.Body)
		}
		if count() != before {
			t.Fatal("a refused create wrote a document")
		}
	}
}

// TestListPermissionsPageAndCount: a user restricted by if_owner, or by
// User Permissions, lists exactly the documents it may read, with counts
// and pages that agree.
func TestListPermissionsPageAndCount(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	// 23 entries of the web user, 31 of the victim; by branch: the clerk's
	// restricted view below.
	var webOwn []string
	for i := range 23 {
		webOwn = append(webOwn, w.createAs(t, webUser, "Ledger Entry", map[string]any{"title": fmt.Sprintf("w%02d", i), "amount": float64(i)}))
	}
	branches := []string{"North", "South", "East", ""}
	byBranch := map[string][]string{}
	for i := range 31 {
		b := branches[i%len(branches)]
		doc := map[string]any{"title": fmt.Sprintf("v%02d", i), "amount": float64(100 + i)}
		if b != "" {
			doc["branch"] = b
		}
		byBranch[b] = append(byBranch[b], w.createAs(t, victimUser, "Ledger Entry", doc))
	}

	t.Run("if_owner", func(t *testing.T) {
		assertListed(t, w.clients[webUser], "Ledger Entry", "", webOwn)
	})
	t.Run("if_owner with filters", func(t *testing.T) {
		var want []string
		for i, name := range webOwn {
			if i >= 10 {
				want = append(want, name)
			}
		}
		assertListed(t, w.clients[webUser], "Ledger Entry", `[["amount",">=",10]]`, want)
	})

	// The clerk may see North and unset branches only (an empty link is
	// allowed, as in Frappe without strict user permissions). A second
	// permission for South applies to another doctype only.
	w.admin.Do(t, "POST", "/api/resource/User%20Permission", map[string]any{"user": clerkUser, "allow": "Branch", "for_value": "North"}, 200, nil)
	w.admin.Do(t, "POST", "/api/resource/User%20Permission", map[string]any{"user": clerkUser, "allow": "Branch", "for_value": "South",
		"apply_to_all_doctypes": 0, "applicable_for": "Secret Memo"}, 200, nil)
	clerk := w.clients[clerkUser]
	t.Run("user permissions", func(t *testing.T) {
		want := append(slices.Clone(byBranch["North"]), byBranch[""]...)
		want = append(want, webOwn...) // the web user's entries have no branch
		assertListed(t, clerk, "Ledger Entry", "", want)
		assertListed(t, clerk, "Ledger Entry", `[["branch","=","North"]]`, byBranch["North"])
		assertListed(t, clerk, "Ledger Entry", `[["branch","=","South"]]`, nil)
		assertListed(t, clerk, "Branch", "", []string{"North"})
	})
	t.Run("user permissions on documents", func(t *testing.T) {
		clerk.Do(t, "GET", docPath("Ledger Entry", byBranch["North"][0]), nil, 200, nil)
		clerk.Do(t, "GET", docPath("Ledger Entry", byBranch["South"][0]), nil, 403, nil)
		clerk.Do(t, "GET", docPath("Branch", "South"), nil, 403, nil)
		clerk.Do(t, "POST", "/api/resource/Ledger%20Entry", map[string]any{"title": "south", "branch": "South"}, 403, nil)
		var out struct{ Data map[string]any }
		clerk.Do(t, "POST", "/api/resource/Ledger%20Entry", map[string]any{"title": "north", "branch": "North"}, 200, &out)
		path := docPath("Ledger Entry", out.Data["name"].(string))
		clerk.Do(t, "PUT", path, map[string]any{"branch": "East"}, 403, nil)
		clerk.Do(t, "PUT", path, map[string]any{"title": "still north"}, 200, nil)
		var got struct{ Message map[string]any }
		clerk.Do(t, "GET", "/api/method/frappe.client.has_permission?doctype=Ledger%20Entry&docname="+byBranch["South"][0]+"&perm_type=read", nil, 200, &got)
		if got.Message["has_permission"] != false {
			t.Fatalf("has_permission %v", got.Message)
		}
		clerk.Do(t, "GET", "/api/method/frappe.client.get_doc_permissions?doctype=Ledger%20Entry&docname="+byBranch["North"][0], nil, 200, &got)
		perms, _ := got.Message["permissions"].(map[string]any)
		if perms["read"] != float64(1) || perms["submit"] != float64(1) || perms["export"] != float64(0) {
			t.Fatalf("get_doc_permissions %v", got.Message)
		}
	})
	t.Run("group by counts only what the user reads", func(t *testing.T) {
		var out struct{ Data []map[string]any }
		w.clients[webUser].Do(t, "GET", "/api/resource/Ledger%20Entry?fields="+q(`["owner","count(name) as n"]`)+"&group_by=owner", nil, 200, &out)
		if len(out.Data) != 1 || out.Data[0]["n"] != float64(23) {
			t.Fatalf("group by %v", out.Data)
		}
	})
}

// assertListed checks that a list with filters shows exactly want, in
// pages of 7 and in every count form.
func assertListed(t *testing.T, c *apitest.Client, doctype, filters string, want []string) {
	t.Helper()
	dt := strings.ReplaceAll(doctype, " ", "%20")
	f := ""
	if filters != "" {
		f = "&filters=" + q(filters)
	}
	var all []string
	for start := 0; ; start += 7 {
		var out struct{ Data []map[string]any }
		c.Do(t, "GET", fmt.Sprintf("/api/resource/%s?limit_page_length=7&limit_start=%d&order_by=%s%s", dt, start, q("creation asc"), f), nil, 200, &out)
		for _, row := range out.Data {
			all = append(all, row["name"].(string))
		}
		if len(out.Data) < 7 {
			break
		}
		if start > 1000 {
			t.Fatal("paging does not end")
		}
	}
	slices.Sort(all)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(all, sorted) {
		t.Fatalf("%s %s: listed %d %v, want %d %v", doctype, filters, len(all), all, len(sorted), sorted)
	}
	var cnt struct{ Message int64 }
	c.Do(t, "GET", "/api/method/frappe.client.get_count?doctype="+q(doctype)+f, nil, 200, &cnt)
	var v2 struct{ Data int64 }
	c.Do(t, "GET", "/api/v2/doctype/"+dt+"/count?"+strings.TrimPrefix(f, "&"), nil, 200, &v2)
	var agg struct{ Data []map[string]any }
	c.Do(t, "GET", "/api/resource/"+dt+"?fields="+q(`["count(name) as n"]`)+f, nil, 200, &agg)
	if cnt.Message != int64(len(want)) || v2.Data != int64(len(want)) || agg.Data[0]["n"] != float64(len(want)) {
		t.Fatalf("%s %s: counts %d, %d, %v; want %d", doctype, filters, cnt.Message, v2.Data, agg.Data, len(want))
	}
}

// TestFieldPermlevels: fields of a level the user does not read are left
// out of documents and lists; written values of a level the user does not
// write are ignored, as in Frappe.
func TestFieldPermlevels(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	clerk, auditor := w.clients[clerkUser], w.clients[auditorUser]
	var out struct{ Data map[string]any }
	clerk.Do(t, "POST", "/api/resource/Ledger%20Entry", map[string]any{"title": "t", "audit_note": "clerk wrote this"}, 200, &out)
	name := out.Data["name"].(string)
	if _, ok := out.Data["audit_note"]; ok {
		t.Fatalf("the clerk sees a level-1 field: %v", out.Data)
	}
	path := docPath("Ledger Entry", name)
	auditor.Do(t, "GET", path, nil, 200, &out)
	if out.Data["audit_note"] != nil {
		t.Fatalf("a level-1 value the clerk may not write was stored: %v", out.Data)
	}
	auditor.Do(t, "PUT", path, map[string]any{"audit_note": "checked"}, 403, nil) // level 0 write: Auditor has none
	ctx := context.Background()
	if _, err := w.n.Docs.Run(ctx, methods.Administrator, func(tx *methods.Tx) error {
		_, err := tx.Update(ctx, "Ledger Entry", name, map[string]any{"audit_note": "checked"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	clerk.Do(t, "PUT", path, map[string]any{"title": "t2", "audit_note": "overwritten"}, 200, &out)
	if _, ok := out.Data["audit_note"]; ok {
		t.Fatalf("update answer shows a level-1 field: %v", out.Data)
	}
	auditor.Do(t, "GET", path, nil, 200, &out)
	if out.Data["audit_note"] != "checked" || out.Data["title"] != "t2" {
		t.Fatalf("level-1 value not kept: %v", out.Data)
	}
	var list struct{ Data []map[string]any }
	clerk.Do(t, "GET", "/api/resource/Ledger%20Entry?fields="+q(`["*"]`), nil, 200, &list)
	clerk.Do(t, "GET", "/api/resource/Ledger%20Entry?fields="+q(`["name","audit_note"]`), nil, 200, &list)
	for _, row := range list.Data {
		if _, ok := row["audit_note"]; ok {
			t.Fatalf("list shows a level-1 field to the clerk: %v", row)
		}
	}
	clerk.Do(t, "GET", "/api/resource/Ledger%20Entry?filters="+q(`[["audit_note","=","checked"]]`), nil, 417, nil)
	auditor.Do(t, "GET", "/api/resource/Ledger%20Entry?fields="+q(`["name","audit_note"]`), nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0]["audit_note"] != "checked" {
		t.Fatalf("auditor's list %v", list.Data)
	}
}

// TestPermissionErrorShape: a refusal looks like Frappe's.
func TestPermissionErrorShape(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	var body map[string]any
	resp := w.clients[guestUser].Do(t, "GET", "/api/resource/ToDo", nil, 403, &body)
	if body["exc_type"] != "PermissionError" || body["_error_message"] != "No permission for ToDo" {
		t.Fatalf("guest list: %s", resp.Body)
	}
	var v2 struct {
		Errors []map[string]any
	}
	w.clients[webUser].Do(t, "GET", "/api/v2/document/Secret%20Memo", nil, 403, &v2)
	if len(v2.Errors) != 1 || v2.Errors[0]["type"] != "PermissionError" {
		t.Fatalf("v2 refusal %v", v2)
	}
	// A DocType created without permission rows gets System Manager's.
	w.admin.Do(t, "POST", "/api/resource/DocType", map[string]any{"name": "Bare", "module": "Custom", "custom": 1,
		"fields": []any{field("title", "Data")}}, 200, nil)
	w.clients[smUser].Do(t, "POST", "/api/resource/Bare", map[string]any{"title": "x"}, 200, nil)
	w.clients[clerkUser].Do(t, "GET", "/api/resource/Bare", nil, 403, nil)
	w.clients[clerkUser].Do(t, "GET", "/api/v2/doctype/Bare/meta", nil, 403, nil)
	w.clients[smUser].Do(t, "GET", "/api/v2/doctype/Bare/meta", nil, 200, nil)
}

// TestUserAdministration: passwords, roles and disabling, as a System
// Manager and as the user.
func TestUserAdministration(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	n := w.n
	// A user cannot set its own password through its User document, nor
	// give itself roles; a System Manager can.
	web := w.clients[webUser]
	web.Do(t, "PUT", docPath("User", webUser), map[string]any{"new_password": "mine-now"}, 403, nil)
	web.Do(t, "PUT", docPath("User", webUser), map[string]any{"roles": []any{map[string]any{"role": "System Manager"}}}, 403, nil)
	w.clients[smUser].Do(t, "PUT", docPath("User", webUser), map[string]any{"new_password": "set-by-sm"}, 200, nil)
	session := n.Client(t)
	session.Login(t, webUser, "set-by-sm")

	// update_password: the old password is required and checked.
	session.Do(t, "POST", "/api/method/frappe.core.doctype.user.user.update_password",
		map[string]any{"old_password": "wrong", "new_password": "newer"}, 401, nil)
	session.Do(t, "GET", "/api/method/frappe.core.doctype.user.user.update_password?old_password=set-by-sm&new_password=x", nil, 403, nil)
	other := n.Client(t)
	other.Login(t, webUser, "set-by-sm")
	var out struct{ Message string }
	session.Do(t, "POST", "/api/method/frappe.core.doctype.user.user.update_password",
		map[string]any{"old_password": "set-by-sm", "new_password": "newer"}, 200, &out)
	if out.Message != "/me" {
		t.Fatalf("update_password answered %q", out.Message)
	}
	session.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 200, nil) // logged in again
	other.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 403, nil)   // the other session ended
	n.Client(t).Do(t, "POST", "/api/method/login", map[string]any{"usr": webUser, "pwd": "set-by-sm"}, 401, nil)
	n.Client(t).Login(t, webUser, "newer")

	// Disabling ends sessions and stops keys at once; enabling again
	// brings the keys back but not the sessions.
	key := w.clients[webUser]
	key.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 200, nil)
	w.clients[smUser].Do(t, "PUT", docPath("User", webUser), map[string]any{"enabled": 0}, 200, nil)
	key.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 401, nil)
	session.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 403, nil)
	n.Client(t).Do(t, "POST", "/api/method/login", map[string]any{"usr": webUser, "pwd": "newer"}, 401, nil)
	w.clients[smUser].Do(t, "PUT", docPath("User", webUser), map[string]any{"enabled": 1}, 200, nil)
	key.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 200, nil)
	session.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 403, nil)

	// Roles are Role documents; a new role grants nothing until a DocPerm
	// row names it.
	w.admin.Do(t, "POST", "/api/resource/Role", map[string]any{"role_name": "Memo Reader"}, 200, nil)
	w.clients[smUser].Do(t, "PUT", docPath("User", victimUser), map[string]any{"roles": []any{map[string]any{"role": "Memo Reader"}}}, 200, nil)
	victim := n.Client(t)
	victim.Header.Set("Authorization", n.NewToken(t, victimUser))
	victim.Do(t, "GET", "/api/resource/Secret%20Memo", nil, 403, nil)
	var dt map[string]any
	w.admin.Do(t, "GET", "/api/resource/DocType/Secret%20Memo", nil, 200, &struct{ Data *map[string]any }{&dt})
	dt["permissions"] = append(dt["permissions"].([]any), map[string]any{"role": "Memo Reader", "read": 1})
	w.admin.Do(t, "PUT", "/api/resource/DocType/Secret%20Memo", map[string]any{"permissions": dt["permissions"]}, 200, nil)
	victim.Do(t, "GET", "/api/resource/Secret%20Memo", nil, 200, nil)
	victim.Do(t, "POST", "/api/resource/Secret%20Memo", map[string]any{"title": "no"}, 403, nil)

	// Automatic roles come from who a user is: a Has Role row naming
	// Administrator grants nothing.
	w.clients[smUser].Do(t, "PUT", docPath("User", victimUser), map[string]any{"roles": []any{map[string]any{"role": "Administrator"}}}, 200, nil)
	victim.Do(t, "GET", "/api/resource/DocType/ToDo", nil, 403, nil)
}
