package script

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func runAPI(t *testing.T, env Env, src string, args map[string]any) (any, []string, error) {
	t.Helper()
	p, err := Compile("api", src)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p.RunAPI(context.Background(), env, args, Options{})
}

func mustAPI(t *testing.T, env Env, src string, args map[string]any) any {
	t.Helper()
	res, _, err := runAPI(t, env, src, args)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func seeded() *fakeEnv {
	env := newFakeEnv()
	env.put("ToDo", map[string]any{"name": "td-1", "status": "Open", "description": "first", "priority": int64(1)})
	env.put("ToDo", map[string]any{"name": "td-2", "status": "Closed", "description": "second", "priority": int64(2)})
	env.put("ToDo", map[string]any{"name": "td-3", "status": "Open", "description": "third", "priority": int64(3)})
	return env
}

func TestAPIResponseMessage(t *testing.T) {
	got := mustAPI(t, newFakeEnv(), `
def total(xs):
    t = 0
    for x in xs:
        t += x
    return t
frappe.response["message"] = {"sum": total([1, 2, 3]), "list": [1, 2.5, None, "x", True], "user": frappe.session.user}
`, nil)
	want := map[string]any{"sum": int64(6), "list": []any{int64(1), 2.5, nil, "x", true}, "user": "alice@example.com"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if got := mustAPI(t, newFakeEnv(), "x = 1", nil); got != nil {
		t.Fatalf("unset message: got %#v", got)
	}
}

func TestFormDict(t *testing.T) {
	got := mustAPI(t, newFakeEnv(), `
args = frappe.form_dict
frappe.response["message"] = [args.customer, args["qty"] * 2, args.get("missing", "dflt"), args.missing, args.nested.x]
`, map[string]any{"customer": "ACME", "qty": int64(21), "nested": map[string]any{"x": 1.5}})
	want := []any{"ACME", int64(42), "dflt", nil, 1.5}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestGetDocSave(t *testing.T) {
	env := seeded()
	got := mustAPI(t, env, `
d = frappe.get_doc("ToDo", "td-1")
before = [d.name, d.doctype, d.status, d.get("priority"), d.get("nope", 7), d.nope]
d.status = "Closed"
d.set("description", "done")
d.save()
frappe.response["message"] = before + [d.modified, d.as_dict()["status"]]
`, nil)
	want := []any{"td-1", "ToDo", "Open", int64(1), int64(7), nil, "2024-01-31 10:20:31.000000", "Closed"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if len(env.patches) != 1 || !reflect.DeepEqual(env.patches[0], map[string]any{"status": "Closed", "description": "done"}) {
		t.Fatalf("patches %#v", env.patches)
	}
	if env.docs["ToDo"]["td-1"]["status"] != "Closed" {
		t.Fatalf("not saved: %#v", env.docs["ToDo"]["td-1"])
	}
	// Unchanged documents are not written; db_set writes one field.
	mustAPI(t, env, `
d = frappe.get_doc("ToDo", "td-2")
d.save()
d.db_set("priority", 9)
frappe.db.set_value("ToDo", "td-3", {"status": "Closed", "priority": 4})
frappe.db.set_value("ToDo", "td-3", "description", "x")
`, nil)
	// db_set and db.set_value go through SetValue, not Update.
	if len(env.patches) != 1 || len(env.sets) != 3 || env.docs["ToDo"]["td-2"]["priority"] != int64(9) || env.docs["ToDo"]["td-3"]["priority"] != int64(4) {
		t.Fatalf("patches %#v sets %#v", env.patches, env.sets)
	}
}

func TestGetDocInsertAndDelete(t *testing.T) {
	env := newFakeEnv()
	got := mustAPI(t, env, `
d = frappe.get_doc({"doctype": "ToDo", "description": "new", "items": [{"item": "A"}]})
new_before = d.is_new()
d.insert(ignore_permissions=True)
n = frappe.new_doc("ToDo")
n.description = "other"
n.save()
frappe.response["message"] = [new_before, d.is_new(), d.name, d.owner, d.items[0].item, n.name]
`, nil)
	want := []any{true, false, "ToDo-1", "alice@example.com", "A", "ToDo-2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	stored := env.docs["ToDo"]["ToDo-1"]
	if stored["description"] != "new" || stored["doctype"] != "ToDo" {
		t.Fatalf("stored %#v", stored)
	}
	mustAPI(t, env, `
frappe.get_doc("ToDo", "ToDo-1").delete()
frappe.delete_doc("ToDo", "ToDo-2")
frappe.delete_doc("ToDo", "missing")  # ignore_missing defaults to True, as in Frappe
`, nil)
	if len(env.docs["ToDo"]) != 0 {
		t.Fatalf("not deleted: %#v", env.docs["ToDo"])
	}
}

func TestGetList(t *testing.T) {
	env := seeded()
	got := mustAPI(t, env, `
rows = frappe.get_list("ToDo", filters={"status": "Open"}, fields=["name", "priority"], order_by="name asc")
names = frappe.get_all("ToDo", filters=[["status", "=", "Open"]], pluck="name")
pos = frappe.get_all("ToDo", {"status": "Closed"}, ["name", "description"])
swapped = frappe.db.get_all("ToDo", ["name"], {"status": "Closed"})
limited = frappe.get_all("ToDo", fields="name, priority", limit=1, start=1)
frappe.response["message"] = {
    "rows": [[r.name, r.priority, r["priority"]] for r in rows],
    "names": names,
    "pos": pos,
    "swapped": swapped,
    "limited": limited,
}
`, nil)
	want := map[string]any{
		"rows":    []any{[]any{"td-1", int64(1), int64(1)}, []any{"td-3", int64(3), int64(3)}},
		"names":   []any{"td-1", "td-3"},
		"pos":     []any{map[string]any{"name": "td-2", "description": "second"}},
		"swapped": []any{map[string]any{"name": "td-2"}},
		"limited": []any{map[string]any{"name": "td-2", "priority": int64(2)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	first := env.lists[0]
	if first["order_by"] != "name asc" || first["limit_page_length"] != int64(0) {
		t.Fatalf("args %#v", first)
	}
}

func TestDBGetValueExistsCount(t *testing.T) {
	env := seeded()
	got := mustAPI(t, env, `
frappe.response["message"] = [
    frappe.db.get_value("ToDo", "td-2", "status"),
    frappe.db.get_value("ToDo", {"status": "Open"}, ["name", "priority"]),
    frappe.db.get_value("ToDo", "td-3", ["status", "priority"], as_dict=True),
    frappe.db.get_value("ToDo", "nope", "status"),
    frappe.db.get_value("ToDo", "td-1"),
    frappe.db.exists("ToDo", "td-1"),
    frappe.db.exists("ToDo", "nope"),
    frappe.db.exists("ToDo", {"status": "Closed"}),
    frappe.db.exists({"doctype": "ToDo", "status": "Cancelled"}),
    frappe.db.count("ToDo"),
    frappe.db.count("ToDo", {"status": "Open"}),
]
`, nil)
	want := []any{
		"Closed",
		[]any{"td-1", int64(1)},
		map[string]any{"status": "Open", "priority": int64(3)},
		nil,
		"td-1",
		"td-1", nil, "td-2", nil,
		int64(3), int64(2),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestThrow(t *testing.T) {
	_, _, err := runAPI(t, newFakeEnv(), `frappe.throw(_("Amount must be positive"))`, nil)
	var te *ThrowError
	if !errors.As(err, &te) || te.Exc != "ValidationError" || te.Msg != "Amount must be positive" {
		t.Fatalf("got %#v", err)
	}
	_, _, err = runAPI(t, newFakeEnv(), `
def check():
    frappe.throw("Not allowed", frappe.PermissionError, title="Nope")
check()`, nil)
	if !errors.As(err, &te) || te.Exc != "PermissionError" || te.Msg != "Not allowed" || te.Title != "Nope" {
		t.Fatalf("got %#v", err)
	}
	_, _, err = runAPI(t, newFakeEnv(), `frappe.msgprint("bad", raise_exception=frappe.DuplicateEntryError)`, nil)
	if !errors.As(err, &te) || te.Exc != "DuplicateEntryError" {
		t.Fatalf("got %#v", err)
	}
}

func TestMsgprint(t *testing.T) {
	_, msgs, err := runAPI(t, newFakeEnv(), `
frappe.msgprint("one")
frappe.msgprint(_("two {0}").format(2), title="T", indicator="green")
frappe.log_error("ignored")
print("also ignored")
`, nil)
	if err != nil || !reflect.DeepEqual(msgs, []string{"one", "two 2"}) {
		t.Fatalf("msgs %#v err %v", msgs, err)
	}
}

func TestEnvErrorPassesThrough(t *testing.T) {
	_, _, err := runAPI(t, newFakeEnv(), `
def fetch():
    return frappe.get_doc("ToDo", "missing")
fetch()`, nil)
	if !errors.Is(err, errNotFound) {
		t.Fatalf("got %T %v", err, err)
	}
	var se *ScriptError
	if errors.As(err, &se) {
		t.Fatalf("Env error wrapped as ScriptError: %v", err)
	}
}

func TestStepLimit(t *testing.T) {
	p, err := Compile("loop", "while True:\n    pass\n")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = p.RunAPI(context.Background(), newFakeEnv(), nil, Options{MaxSteps: 100_000})
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(le.Msg, "Server Script loop stopped: it ran more than 100000 steps") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestTimeout(t *testing.T) {
	p, err := Compile("spin", "x = 0\nwhile True:\n    x += 1\n")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = p.RunAPI(context.Background(), newFakeEnv(), nil, Options{MaxSteps: 1 << 62, Timeout: 50 * time.Millisecond})
	var le *LimitError
	if !errors.As(err, &le) || le.Msg != "Server Script spin stopped: it ran longer than 50ms" {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, _, err = p.RunAPI(ctx, newFakeEnv(), nil, Options{})
	if !errors.As(err, &le) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestDeepRecursion(t *testing.T) {
	p, err := Compile("rec", "def f(n):\n    return f(n + 1)\nf(0)\n")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.RunAPI(context.Background(), newFakeEnv(), nil, Options{})
	var se *ScriptError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "recursion") {
		t.Fatalf("got %v", err)
	}
	// Recursion itself is allowed.
	got := mustAPI(t, newFakeEnv(), "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nfrappe.response['message'] = fact(20)\n", nil)
	if got != int64(2432902008176640000) {
		t.Fatalf("got %v", got)
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile("bad", "x = 1\ny = 1 +* 2\n")
	var se *ScriptError
	if !errors.As(err, &se) || !strings.HasPrefix(se.Msg, "bad:2:") {
		t.Fatalf("got %v", err)
	}
	_, err = Compile("undef", "x = 1\ny = undefined_name\n")
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "undef:2:5: undefined: undefined_name") {
		t.Fatalf("got %v", err)
	}
	_, err = Compile("py", "try:\n    x = 1\nexcept:\n    pass\n")
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "py:1:1:") || !strings.Contains(se.Msg, "use frappe.throw") {
		t.Fatalf("got %v", err)
	}
	_, err = Compile("loader", `load("x", "y")`)
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "not allowed") || !strings.Contains(se.Msg, "loader:1:") {
		t.Fatalf("got %v", err)
	}
}

func TestRuntimeError(t *testing.T) {
	_, _, err := runAPI(t, newFakeEnv(), "x = 1\ny = None + x\n", nil)
	var se *ScriptError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "api:2:") || !strings.Contains(se.Msg, "NoneType + int") {
		t.Fatalf("got %v", err)
	}
	_, _, err = runAPI(t, newFakeEnv(), "def g(d):\n    return d['k']\ng({})\n", nil)
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "api:2:") || !strings.Contains(se.Msg, "in g") {
		t.Fatalf("got %v", err)
	}
	_, _, err = runAPI(t, newFakeEnv(), "rows = frappe.db.sql('select 1')\n", nil)
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "api:1:") || !strings.Contains(se.Msg, "frappe.db.sql is not available") {
		t.Fatalf("got %v", err)
	}
	_, _, err = runAPI(t, newFakeEnv(), "frappe.response['message'] = 1 << 70\n", nil)
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "64 bits") {
		t.Fatalf("got %v", err)
	}
}

func TestDialect(t *testing.T) {
	got := mustAPI(t, newFakeEnv(), `
total = 0
i = 0
while i < 5:
    i += 1
    if i == 2:
        continue
    total += i
seen = set([1, 2, 2])
total = total + len(seen)  # global reassignment
name = None
label = "none" if name is None else "some"
other = "x" if name is not None else "y"
amount = 1234.5
msg = f"{label}/{other} total={total} {amount:,.2f} {name!r} {{braces}}"
frappe.response["message"] = [msg, sum([1, 2.5]), round(2.5), round(2.675, 2), isinstance({}, dict), format(7, "03d")]
`, nil)
	want := []any{"none/y total=15 1,234.50 None {braces}", 3.5, int64(2), 2.67, true, "007"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestJSON(t *testing.T) {
	got := mustAPI(t, newFakeEnv(), `
s = json.dumps({"b": 1, "a": [1.0, None, True, "é"]})
back = json.loads('{"z": 1, "y": [1.5, null, "x"], "big": 12345678901234567890}')
p = frappe.parse_json('{"k": {"v": 2}}')
frappe.response["message"] = [s, list(back.keys()), back["y"], p.k.v, frappe.as_json({"b": 1, "a": 2})]
`, nil)
	want := []any{`{"b": 1, "a": [1.0, null, true, "\u00e9"]}`, []any{"z", "y", "big"}, []any{1.5, nil, "x"}, int64(2), "{\n \"a\": 2,\n \"b\": 1\n}"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestConcurrentRuns(t *testing.T) {
	p, err := Compile("conc", "frappe.response['message'] = frappe.form_dict.n * 2\n")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := p.RunAPI(context.Background(), newFakeEnv(), map[string]any{"n": int64(i)}, Options{})
			if err != nil || got != int64(2*i) {
				t.Errorf("run %d: %v %v", i, got, err)
			}
		}()
	}
	wg.Wait()
}
