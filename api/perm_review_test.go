package api_test

// Security review of role permissions, login limits, CSRF and CORS,
// written by a second engineer from the outside. Each test failed on the
// code as first reviewed and passes since the hole it describes was
// closed: they stay as regression tests.

import (
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api"
	"docket/api/apitest"
)

// TestReviewLinkedFieldOfUnreadableDoctype: a list (or get_value) may
// read fields of a linked document ("allocated_to.phone"). The check asks
// only whether the user holds *some* read right on the linked doctype;
// every user holds one on User (its own document), so any user reads any
// other user's fields (here the victim's phone) through a ToDo it writes
// itself. Frappe checks read on the joined doctype at doctype level
// (§7.4 step 7): a user without a role that reads User gets 403
// "Insufficient Permission for User".
//
// Fixed during the review: readable() now needs read on every document of
// the linked doctype.
func TestReviewLinkedFieldOfUnreadableDoctype(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	w.admin.Do(t, "PUT", docPath("User", victimUser), map[string]any{"phone": "555-0100-SECRET"}, 200, nil)
	web := w.clients[webUser]
	web.Do(t, "GET", docPath("User", victimUser), nil, 403, nil) // no read on the victim's User document
	web.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "probe", "allocated_to": victimUser}, 200, nil)

	resp := web.Do(t, "GET", "/api/resource/ToDo?fields="+q(`["name","allocated_to.phone"]`), nil, 0, nil)
	if strings.Contains(string(resp.Body), "555-0100-SECRET") {
		t.Errorf("list leaks a User field the caller may not read: %d %s", resp.Status, resp.Body)
	}
	resp = web.Do(t, "GET", "/api/method/frappe.client.get_value?doctype=ToDo&fieldname="+q(`["allocated_to.phone"]`)+
		"&filters="+q(`{"description":"probe"}`), nil, 0, nil)
	if strings.Contains(string(resp.Body), "555-0100-SECRET") {
		t.Errorf("get_value leaks a User field the caller may not read: %d %s", resp.Status, resp.Body)
	}
}

// TestReviewSelectOnlyReadsChildRows: a role with only the "select" right
// lists names, title and search fields (docs/architecture.md, Departures;
// Frappe's get_permitted_fields for permission_type "select"). The
// restriction covers the listed doctype's own fields only: child-table
// columns ("lines.secret_amount", or parent= listing of the child table)
// and filters on them pass, so a select-only user reads every value of
// every child row. Frappe restricts joined child-table columns by the
// same permitted-fields rule, and refuses conditions on them.
//
// Fixed during the review: select-only users see main's own name, title
// and search fields only, and cannot list child rows.
func TestReviewSelectOnlyReadsChildRows(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	w.admin.Do(t, "POST", "/api/resource/DocType", map[string]any{
		"name": "Memo Line", "module": "Custom", "custom": 1, "istable": 1,
		"fields": []any{field("item", "Data"), field("secret_amount", "Currency")},
	}, 200, nil)
	vm := doctype("Vendor Memo", "hash", field("title", "Data"), field("internal", "Data"),
		field("lines", "Table", "options", "Memo Line"))
	vm["title_field"] = "title"
	vm["permissions"] = []any{
		map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
		map[string]any{"role": "Clerk", "select": 1},
	}
	w.admin.Do(t, "POST", "/api/resource/DocType", vm, 200, nil)
	w.admin.Do(t, "POST", "/api/resource/Vendor%20Memo", map[string]any{"title": "acme", "internal": "internal-only",
		"lines": []any{map[string]any{"item": "bribe", "secret_amount": 987654.5}}}, 200, nil)
	clerk := w.clients[clerkUser]

	// The contract holds for the doctype's own fields:
	resp := clerk.Do(t, "GET", "/api/resource/Vendor%20Memo?fields="+q(`["name","title","internal"]`)+"&order_by="+q("name asc"), nil, 200, nil)
	if strings.Contains(string(resp.Body), "internal-only") {
		t.Fatalf("select-only list shows a non-search field: %s", resp.Body)
	}
	// …but not for child rows.
	for _, path := range []string{
		"/api/resource/Vendor%20Memo?order_by=name&fields=" + q(`["name","lines.secret_amount"]`),
		"/api/resource/Memo%20Line?parent=Vendor%20Memo&fields=" + q(`["secret_amount"]`),
		"/api/method/frappe.client.get_value?doctype=Vendor%20Memo&fieldname=" + q(`["lines.secret_amount"]`) + "&filters=" + q(`{"title":"acme"}`),
	} {
		resp := clerk.Do(t, "GET", path, nil, 0, nil)
		if strings.Contains(string(resp.Body), "987654") {
			t.Errorf("select-only user reads a child-table value via %s: %d %s", path, resp.Status, resp.Body)
		}
	}
	// A filter on a child value is an oracle too.
	resp = clerk.Do(t, "GET", "/api/resource/Vendor%20Memo?order_by=name&filters="+q(`[["Memo Line","secret_amount",">",900000]]`), nil, 0, nil)
	if resp.Status == 200 && strings.Contains(string(resp.Body), `"name"`) {
		t.Errorf("select-only user filters on a child-table value: %s", resp.Body)
	}
}

// TestReviewDebugPlanCountsHiddenDocs: debug=1 on a list returns the
// query plan, whose "index lookup … (N keys)" and "examined N documents
// of M" count documents before the permission predicate (Query.Allow)
// runs. A user who may read only its own Ledger Entries (if_owner) thus
// counts other users' entries matching any filter on an indexed field
// (here: how many entries the victim booked on branch South), and the
// doctype's total. Frappe's debug output shows the SQL (with the
// permission conditions in its WHERE clause) and the time, never counts
// of rows the user cannot read.
//
// Fixed during the review: the plan is shown to System Managers only.
func TestReviewDebugPlanCountsHiddenDocs(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	for range 7 {
		w.createAs(t, victimUser, "Ledger Entry", map[string]any{"title": "hidden", "branch": "South"})
	}
	web := w.clients[webUser]
	var out struct {
		Data []map[string]any
		Exc  string
	}
	resp := web.Do(t, "GET", "/api/resource/Ledger%20Entry?debug=1&filters="+q(`[["branch","=","South"]]`), nil, 200, &out)
	if len(out.Data) != 0 {
		t.Fatalf("the web user lists the victim's entries: %s", resp.Body)
	}
	if strings.Contains(out.Exc, "7 keys") || strings.Contains(out.Exc, "examined 7") || strings.Contains(out.Exc, "of 7") {
		t.Errorf("debug output counts documents the user may not read: %s", resp.Body)
	}
}

// TestReviewCSRFLoginSuffix: the CSRF check exempts any path ending in
// "/method/login", but a method path ignores everything after its first
// "/" (callMethod: Frappe ignores what follows). So
// POST /api/method/frappe.client.insert/method/login runs
// frappe.client.insert without the session's CSRF token: a forged
// cross-site request (from a page the CORS list trusts, or a same-site
// sibling) writes as the victim. Frappe exempts only the login command
// itself (cmd == "login").
//
// Fixed during the review: only the exact login path (or cmd=login) is
// exempt.
func TestReviewCSRFLoginSuffix(t *testing.T) {
	n := apitest.Start(t, "")
	c := n.Client(t)
	c.Login(t, "Administrator", apitest.AdminPassword)
	c.Do(t, "GET", "/api/method/frappe.sessions.get_csrf_token", nil, 200, nil) // the session now has a token
	doc := map[string]any{"doc": map[string]any{"doctype": "ToDo", "description": "forged"}}
	c.Do(t, "POST", "/api/method/frappe.client.insert", doc, 400, nil) // refused without the token, as it should
	for _, path := range []string{
		"/api/method/frappe.client.insert/method/login",
		"/api/v2/method/frappe.client.insert/method/login",
	} {
		if r := c.Do(t, "POST", path, doc, 0, nil); r.Status != 400 || !strings.Contains(string(r.Body), "CSRFTokenError") {
			t.Errorf("%s without a CSRF token: %d %s", path, r.Status, r.Body)
		}
	}
}

// TestReviewLoginLimitPerSpelling: failed logins are counted per login
// *string* (lower-cased), but a user logs in by name, e-mail or username,
// and the e-mail lookup folds case as the index does (U+017F "ſ" folds to
// "s", which strings.ToLower keeps). Each spelling of the same account
// gets its own 10 guesses a minute, so an attacker multiplies the
// per-user limit by the number of spellings (username, e-mail, every "s"
// written as "ſ"…), and only the per-address limit remains. Frappe
// counts failures per user (LoginAttemptTracker keyed by the resolved
// user name).
//
// Fixed during the review: failures are counted per resolved account
// (auth.LoginKey).
func TestReviewLoginLimitPerSpelling(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{
		LoginLimit: api.LoginLimit{PerUser: 3, PerAddress: 1000, Window: time.Minute},
		Now:        clock.Now,
	}})
	n.Admin(t).Do(t, "POST", "/api/resource/User", map[string]any{"email": "sam@example.com", "first_name": "Sam",
		"username": "samuel", "new_password": "right-pw"}, 200, nil)
	c := n.Client(t)
	login := func(usr, pwd string) int {
		return c.Do(t, "POST", "/api/method/login", map[string]any{"usr": usr, "pwd": pwd}, 0, nil).Status
	}
	for i := range 3 {
		if s := login("sam@example.com", "guess"); s != 401 {
			t.Fatalf("attempt %d: %d", i, s)
		}
	}
	if s := login("sam@example.com", "right-pw"); s != 429 {
		t.Fatalf("the account is not blocked: %d", s)
	}
	// The account is blocked; other spellings of it must be too.
	for _, alias := range []string{"samuel", "ſam@example.com"} {
		if s := login(alias, "guess"); s != 429 {
			t.Errorf("login as %q while the account is blocked: %d, want 429", alias, s)
		}
	}
	if s := login("ſam@example.com", "right-pw"); s == 200 {
		t.Errorf("a blocked account logs in through another spelling of its name")
	}
}

// TestReviewScriptGetListIgnoresPermissions: in a Server Script
// frappe.get_list is docket's get_all: it runs without permission checks
// (scriptEnv.GetList wraps every list in IgnorePermissions, and
// methods/script maps get_list and get_all to the same function). In
// Frappe, frappe.get_list (and frappe.db.get_list) in a script apply the
// calling user's permissions; only get_all skips them. A System Manager
// who writes an API script that "lists what the caller may see" with
// get_list, as Frappe's documentation recommends, hands every caller
// every document.
//
// Fixed during the review: script get_list checks, get_all does not.
func TestReviewScriptGetListIgnoresPermissions(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	w.clients[smUser].Do(t, "POST", "/api/resource/Secret%20Memo", map[string]any{"title": "board-only"}, 200, nil)
	w.admin.Do(t, "POST", "/api/resource/Server%20Script", map[string]any{"name": "My Memos", "script_type": "API",
		"api_method": "memos.mine", "script": `frappe.response["message"] = frappe.get_list("Secret Memo", fields=["title"])`}, 200, nil)
	w.clients[webUser].Do(t, "GET", "/api/resource/Secret%20Memo", nil, 403, nil)
	resp := w.clients[webUser].Do(t, "GET", "/api/method/memos.mine", nil, 0, nil)
	if strings.Contains(string(resp.Body), "board-only") {
		t.Errorf("frappe.get_list in a script lists what the caller may not read: %d %s", resp.Status, resp.Body)
	}
}

// TestReviewLoginLimitConcurrent: the limit is check-then-act. A login
// asks Limiter.Blocked, then runs the (slow, semaphore-queued) argon2
// check, and only then records the failure. Requests sent at once all
// pass the Blocked check before the first failure is counted, so a
// burst of N parallel guesses gets N password checks whatever PerUser
// says: an attacker sets the rate by concurrency, not by the limit. A
// failure must be reserved (counted) before the password is checked,
// and given back on success.
func TestReviewLoginLimitConcurrent(t *testing.T) {
	const perUser, burst = 3, 24
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{
		LoginLimit: api.LoginLimit{PerUser: perUser, PerAddress: 1000, Window: time.Hour},
	}})
	n.Admin(t).Do(t, "POST", "/api/resource/User", map[string]any{"email": "target@example.com", "first_name": "T",
		"new_password": "right-pw"}, 200, nil)
	statuses := make([]int, burst)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range burst {
		done.Add(1)
		go func() {
			defer done.Done()
			c := n.Client(t)
			start.Wait()
			statuses[i] = c.Do(t, "POST", "/api/method/login", map[string]any{"usr": "target@example.com", "pwd": "guess"}, 0, nil).Status
		}()
	}
	start.Done()
	done.Wait()
	checked := 0
	for _, s := range statuses {
		if s == 401 {
			checked++ // a password was checked (and was wrong)
		}
	}
	if checked > perUser {
		t.Errorf("%d of %d parallel guesses were checked against the password; the limit is %d (statuses %v)", checked, burst, perUser, statuses)
	}
}

// TestReviewChildRowNameCollision: a new child row keeps the name the
// client sends (setRows), even when a row of that name already lives in
// another document, and a row is later found by name alone (findRow: the
// most recently modified parent wins). A user who can read a colleague's
// claim (here the Auditor role) but write only its own (if_owner) copies
// the colleague's row name into its own claim; a System Manager who then
// approves the colleague's row with frappe.client.set_value approves the
// attacker's row instead. In Frappe a child row's name is the primary key
// of its table: the insert fails with DuplicateEntryError.
func TestReviewChildRowNameCollision(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	w.admin.Do(t, "POST", "/api/resource/DocType", map[string]any{
		"name": "Claim Line", "module": "Custom", "custom": 1, "istable": 1,
		"fields": []any{field("item", "Data"), field("approved", "Check")},
	}, 200, nil)
	ec := doctype("Expense Claim", "hash", field("title", "Data"), field("lines", "Table", "options", "Claim Line"))
	ec["permissions"] = []any{
		map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
		map[string]any{"role": "Auditor", "read": 1},
		map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1},
	}
	w.admin.Do(t, "POST", "/api/resource/DocType", ec, 200, nil)
	var victim struct{ Data map[string]any }
	w.clients[victimUser].Do(t, "POST", "/api/resource/Expense%20Claim", map[string]any{"title": "victim",
		"lines": []any{map[string]any{"item": "taxi"}}}, 200, &victim)
	row := victim.Data["lines"].([]any)[0].(map[string]any)["name"].(string)

	auditor := w.clients[auditorUser]
	auditor.Do(t, "GET", docPath("Expense Claim", victim.Data["name"].(string)), nil, 200, nil) // reads the row name
	var own struct{ Data map[string]any }
	resp := auditor.Do(t, "POST", "/api/resource/Expense%20Claim", map[string]any{"title": "attacker",
		"lines": []any{map[string]any{"name": row, "item": "yacht"}}}, 0, &own)
	if resp.Status == 200 {
		if got := own.Data["lines"].([]any)[0].(map[string]any)["name"]; got == row {
			t.Errorf("a new row took the name of another document's row (%s)", row)
		}
	}
	w.clients[smUser].Do(t, "POST", "/api/method/frappe.client.set_value", map[string]any{"doctype": "Claim Line",
		"name": row, "fieldname": "approved", "value": 1}, 200, nil)
	w.admin.Do(t, "GET", docPath("Expense Claim", victim.Data["name"].(string)), nil, 200, &victim)
	if victim.Data["lines"].([]any)[0].(map[string]any)["approved"] != float64(1) {
		t.Errorf("set_value on the victim's row %s did not reach the victim's claim", row)
	}
}

// TestReviewSingleFirstSaveIgnoresUserPermissions: the first save of a
// Single doctype (saveSingle without a stored document) checks write on
// the doctype only, never on the new document, so a user restricted to
// Branch North stores South in a Link field; every later save and read by
// that user (and by everyone else restricted to North) is then refused.
// Update checks the document it writes (can(write, doc)); Frappe's save
// checks the document's User Permissions in both cases.
func TestReviewSingleFirstSaveIgnoresUserPermissions(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Branch Settings", "", field("default_branch", "Link", "options", "Branch"))
	dt["issingle"] = 1
	dt["permissions"] = []any{map[string]any{"role": "Clerk", "read": 1, "write": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	w.admin.Do(t, "POST", "/api/resource/User%20Permission", map[string]any{"user": clerkUser, "allow": "Branch", "for_value": "North"}, 200, nil)
	clerk := w.clients[clerkUser]
	clerk.Do(t, "POST", "/api/resource/Ledger%20Entry", map[string]any{"title": "x", "branch": "South"}, 403, nil) // as expected
	if r := clerk.Do(t, "PUT", "/api/resource/Branch%20Settings/Branch%20Settings", map[string]any{"default_branch": "South"}, 0, nil); r.Status != 403 {
		t.Errorf("first save of a Single with a Link value the user's User Permissions forbid: %d %s", r.Status, r.Body)
	}
}

// TestReviewAmendRightByNumber: inserting with amended_from needs the
// amend right, but the check looks for a string (in["amended_from"].(string));
// a JSON number skips it, and the field then converts the number to the
// name. On a doctype named by a number-like field, a user without amend
// amends a cancelled document. (Frappe v15 does not enforce amend on
// insert at all, so this is low; docket means to.)
func TestReviewAmendRightByNumber(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Voucher", "field:voucher_no", field("voucher_no", "Data"))
	dt["is_submittable"] = 1
	dt["permissions"] = []any{map[string]any{"role": "Clerk", "read": 1, "write": 1, "create": 1, "submit": 1, "cancel": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	clerk := w.clients[clerkUser]
	clerk.Do(t, "POST", "/api/resource/Voucher", map[string]any{"voucher_no": "1001", "docstatus": 1}, 200, nil)
	clerk.Do(t, "PUT", "/api/resource/Voucher/1001", map[string]any{"docstatus": 2}, 200, nil)
	clerk.Do(t, "POST", "/api/resource/Voucher", map[string]any{"voucher_no": "x", "amended_from": "1001"}, 403, nil) // no amend right
	if r := clerk.Do(t, "POST", "/api/resource/Voucher", map[string]any{"voucher_no": "y", "amended_from": 1001}, 0, nil); r.Status != 403 {
		t.Errorf("amend without the amend right, amended_from sent as a number: %d %s", r.Status, r.Body)
	}
}

// TestReviewGenerateKeysForAdministrator: a System Manager may call
// generate_keys for any user, and when the user already has an API key
// (the Administrator's, here), generate_keys stores a new secret without
// writing the User document, so the write check that protects the
// Administrator's document (only the Administrator sees and writes it)
// never runs. The System Manager gets working Administrator credentials:
// Administrator passes every permission check and every guard. Frappe's
// generate_keys saves the User document, which its has_permission hook
// refuses for the Administrator unless the caller is the Administrator.
func TestReviewGenerateKeysForAdministrator(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	sm := w.clients[smUser]
	sm.Do(t, "GET", docPath("User", "Administrator"), nil, 403, nil) // the document is out of reach…
	var out struct {
		Message struct {
			Key    string `json:"api_key"`
			Secret string `json:"api_secret"`
		}
	}
	r := sm.Do(t, "POST", "/api/method/frappe.core.doctype.user.user.generate_keys", map[string]any{"user": "Administrator"}, 0, &out)
	if r.Status == 200 && out.Message.Secret != "" {
		as := w.n.Client(t)
		as.Header.Set("Authorization", "token "+out.Message.Key+":"+out.Message.Secret)
		var who struct{ Message string }
		as.Do(t, "GET", "/api/method/frappe.auth.get_logged_user", nil, 0, &who)
		t.Errorf("a System Manager generated the Administrator's API secret (now acting as %q): %s", who.Message, r.Body)
	}
}

// TestReviewUniqueErrorNamesHiddenDoc: a unique-value clash answers
// "<Label> must be unique: <DocType> <name> already has the value …",
// naming the document that holds the value even when the caller may not
// read it (here a field-named document whose name is itself the secret:
// the patient a hidden record belongs to). That a value is taken is
// inherent to uniqueness (Frappe tells it too), but Frappe's
// UniqueValidationError says only "<Label> must be unique" and never
// names the other document.
func TestReviewUniqueErrorNamesHiddenDoc(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Case File", "field:patient", field("patient", "Data"), field("ssn", "Data", "unique", 1))
	dt["permissions"] = []any{map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	w.createAs(t, victimUser, "Case File", map[string]any{"patient": "Jane Roe (HIV clinic)", "ssn": "123-45-6789"})
	web := w.clients[webUser]
	resp := web.Do(t, "POST", "/api/resource/Case%20File", map[string]any{"patient": "probe", "ssn": "123-45-6789"}, 0, nil)
	if resp.Status == 200 {
		t.Fatalf("a duplicate unique value was accepted: %s", resp.Body)
	}
	if strings.Contains(string(resp.Body), "Jane Roe") {
		t.Errorf("the unique-value error names a document the caller may not read: %d %s", resp.Status, resp.Body)
	}
}
