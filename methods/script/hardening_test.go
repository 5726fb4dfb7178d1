package script

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// runErr runs an API script that must fail and returns its ScriptError
// message.
func runErr(t *testing.T, env Env, src string) string {
	t.Helper()
	_, _, err := runAPI(t, env, src, nil)
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %T %v, want a ScriptError", src, err, err)
	}
	return se.Msg
}

// An "After Save" script that calls frappe.db.set_value or doc.db_set on
// its own document must not run the save path (and its hooks) again.
func TestSetValueSkipsHooks(t *testing.T) {
	env := newFakeEnv()
	env.put("Ctr", map[string]any{"name": "c", "n": int64(0), "status": "Open"})
	hook, err := Compile("after_save", `
frappe.db.set_value(doc.doctype, doc.name, "n", doc.n + 1)
d = frappe.get_doc(doc.doctype, doc.name)
d.db_set("status", "Saved")
frappe.db.set_value(doc.doctype, {"status": "Saved"}, {"note": "by filters"})
frappe.db.set_value(doc.doctype, {"name": doc.name}, "other", d.modified)
`)
	if err != nil {
		t.Fatal(err)
	}
	depth, runs := 0, 0
	env.afterUpdate = func(ctx context.Context, doctype, name string) error {
		depth++
		defer func() { depth-- }()
		if depth > 3 {
			return errors.New("After Save hooks recursed")
		}
		runs++
		doc, err := env.GetDoc(ctx, doctype, name)
		if err != nil {
			return err
		}
		_, err = hook.RunDocEvent(ctx, env, doctype, doc, Options{})
		return err
	}
	got := mustAPI(t, env, `
d = frappe.get_doc("Ctr", "c")
d.status = "Changed"
d.save()
d.reload()
frappe.response["message"] = [d.n, d.status, d.note, d.modified]
`, nil)
	want := []any{int64(1), "Saved", "by filters", "2024-01-31 10:20:32.000000"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if runs != 1 || len(env.patches) != 1 || len(env.sets) != 4 {
		t.Fatalf("hook runs %d, patches %#v, sets %#v", runs, env.patches, env.sets)
	}
	wantSets := []setCall{
		{"Ctr", "c", map[string]any{"n": int64(1)}},
		{"Ctr", "c", map[string]any{"status": "Saved"}},
		{"Ctr", "c", map[string]any{"note": "by filters"}},
		{"Ctr", "c", map[string]any{"other": "2024-01-31 10:20:32.000000"}},
	}
	if !reflect.DeepEqual(env.sets, wantSets) {
		t.Fatalf("sets %#v", env.sets)
	}
}

// Reads by name go through Exists and GetDoc, which see the transaction's
// own writes, not through GetList, which sees only committed documents.
func TestReadsByNameUseGetDoc(t *testing.T) {
	env := newFakeEnv()
	env.uncommitted = true
	got := mustAPI(t, env, `
d = frappe.get_doc({"doctype": "Ctr", "n": 5, "items": [{"item": "A"}]}).insert()
v = frappe.db.get_value("Ctr", d.name, "n")
frappe.db.set_value("Ctr", d.name, "n", v + 1)
star = frappe.db.get_value("Ctr", d.name, "*")
frappe.response["message"] = [
    v,
    frappe.db.get_value("Ctr", d.name, "n"),
    frappe.db.get_value("Ctr", {"name": d.name}, ["n", "owner as who"]),
    frappe.db.get_value("Ctr", frappe._dict(name=d.name), ["n", "owner as who"], as_dict=True),
    [star.n, star.name, "items" in star],
    frappe.db.exists("Ctr", d.name),
    frappe.db.exists("Ctr", {"name": d.name}),
    frappe.db.exists({"doctype": "Ctr", "name": d.name}),
    frappe.get_doc("Ctr", {"name": d.name}).n,
    frappe.db.get_value("Ctr", "missing", "n"),
    frappe.db.get_value("Ctr", {"name": "missing"}, "n"),
    frappe.db.exists("Ctr", {"name": "missing"}),
]
`, nil)
	want := []any{
		int64(5), int64(6),
		[]any{int64(6), "alice@example.com"},
		map[string]any{"n": int64(6), "who": "alice@example.com"},
		[]any{int64(6), "Ctr-1", false},
		"Ctr-1", "Ctr-1", "Ctr-1",
		int64(6),
		nil, nil, nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if len(env.lists) != 0 {
		t.Fatalf("reads by name went through GetList: %#v", env.lists)
	}
	if len(env.gets) == 0 || env.gets[0] != "Ctr/Ctr-1" {
		t.Fatalf("gets %#v", env.gets)
	}
	// Real filters (and SQL expressions as fields) still use GetList,
	// which does not see the uncommitted document.
	got = mustAPI(t, env, `
frappe.response["message"] = [
    frappe.db.get_value("Ctr", {"n": 6}, "name"),
    frappe.db.get_value("Ctr", "Ctr-1", "sum(n) as total"),
    frappe.db.exists("Ctr", {"n": 6}),
]
`, nil)
	if !reflect.DeepEqual(got, []any{nil, nil, nil}) || len(env.lists) != 3 {
		t.Fatalf("got %#v, lists %#v", got, env.lists)
	}
	if _, _, err := runAPI(t, env, `frappe.get_doc("Ctr", {"n": 6})`, nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("get_doc by filters: %v", err)
	}
}

// Values that contain themselves print bounded and fail to convert,
// instead of overflowing the Go stack.
func TestCyclicValues(t *testing.T) {
	got := mustAPI(t, newFakeEnv(), `
d = frappe._dict()
d["x"] = d
l = [1]
e = frappe._dict(l=l)
l.append(e)
n = frappe.new_doc("ToDo")
n.me = n
n.name = "T-1"
deep = frappe._dict()
for i in range(500):
    deep = frappe._dict(a=deep)
s = str(deep)
frappe.response["message"] = [
    str(d), repr(d), "{}".format(d), f"{d}", f"{d!r}", f"{d:>3}", "%s" % d,
    str(l), str(e), str([d, d]), str(n), str({"n": n}),
    len(s) < 2000, "..." in s, d == d, d in [d], d != d,
]
`, nil)
	c := `{"x": {...}}`
	want := []any{c, c, c, c, c, c, c,
		`[1, {"l": [1, {...}]}]`, `{"l": [1, {...}]}`, "[" + c + ", " + c + "]", "<ToDo: T-1>", `{"n": <ToDo: T-1>}`,
		true, true, true, true, false}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	setup := "d = frappe._dict()\nd['x'] = [d]\nn = frappe.new_doc('ToDo')\nn.me = [n]\n"
	for _, expr := range []string{
		"json.dumps(d)", "frappe.as_json(d)", "json.dumps(n)", "frappe.as_json([n])", "n.as_dict()",
		"frappe.response.update(message=d)", "frappe.response.update(message=n)",
		"frappe.db.set_value('ToDo', 'x', 'f', d)", "frappe.get_doc({'doctype': 'ToDo', 'x': d})",
	} {
		if msg := runErr(t, newFakeEnv(), setup+expr); !strings.Contains(msg, "circular") {
			t.Errorf("%s: %s", expr, msg)
		}
	}
	if msg := runErr(t, newFakeEnv(), "x = []\nfor i in range(200):\n    x = [x]\njson.dumps(x)\n"); !strings.Contains(msg, "nested more than 100 levels") {
		t.Errorf("deep json: %s", msg)
	}
	// A DocType Event script that makes its doc contain itself fails and
	// leaves the doc as it was.
	p, err := Compile("cyc", "doc.me = doc\n")
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"name": "T-1", "status": "Open"}
	var se *ScriptError
	if _, err := p.RunDocEvent(context.Background(), newFakeEnv(), "ToDo", doc, Options{}); !errors.As(err, &se) || !strings.Contains(se.Msg, "circular") {
		t.Fatalf("got %v", err)
	}
	if !reflect.DeepEqual(doc, map[string]any{"name": "T-1", "status": "Open"}) {
		t.Fatalf("doc changed: %#v", doc)
	}
}

// A small value that shares its parts exponentially many times cannot
// expand without bound through json.dumps, str of a _dict or toGo, and
// json.dumps notices the time limit.
func TestSharedValuesBounded(t *testing.T) {
	setup := "x = [1]\nfor i in range(64):\n    x = [x, x]\n"
	run := func(src string, opts Options) (any, error) {
		p, err := Compile("dag", setup+src)
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := p.RunAPI(context.Background(), newFakeEnv(), nil, opts)
		return res, err
	}
	long := Options{Timeout: time.Minute}
	var se *ScriptError
	big := "big = 'x' * (1 << 20)\n"
	for _, expr := range []string{"json.dumps([big] * 100)", "frappe.as_json([big] * 100)", "json.dumps([1] * 2000, indent=65536)"} {
		if _, err := run(big+expr, long); !errors.As(err, &se) || !strings.Contains(se.Msg, "output longer than 67108864 bytes") {
			t.Errorf("%s: %v", expr, err)
		}
	}
	start := time.Now()
	var le *LimitError
	if _, err := run("json.dumps(x)", Options{Timeout: 50 * time.Millisecond}); !errors.As(err, &le) {
		t.Errorf("json with a short timeout: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("json.dumps ran %v past a 50ms limit", d)
	}
	if testing.Short() || raceEnabled {
		return // reaching the caps below takes seconds under the race detector
	}
	if _, err := run("frappe.response['message'] = x", long); !errors.As(err, &se) || !strings.Contains(se.Msg, "too large to convert") {
		t.Errorf("toGo: %v", err)
	}
	got, err := run("s = str(frappe._dict(x=x))\nfrappe.response['message'] = [len(s) <= (1 << 24) + 1000, s[-100:]]", long)
	if l, _ := got.([]any); err != nil || len(l) != 2 || l[0] != true || !strings.Contains(l[1].(string), "...") {
		t.Errorf("str: %#v %v", got, err)
	}
}

// Script-controlled sizes in format, json and pow are capped.
func TestHugeSizes(t *testing.T) {
	for src, want := range map[string]string{
		`format("", ">9000000000000000000")`:        "width 9000000000000000000 too large",
		`format("x", "99999999999999999999999")`:    "width 99999999999999999999999 too large",
		`format(1.5, ".99999999f")`:                 "precision 99999999 too large",
		`x = 1` + "\n" + `s = f"{x:>70000}"`:        "width 70000 too large",
		`format(0x110000, "c")`:                     "not in range(0x110000)",
		`json.dumps(1, indent=9000000000000000000)`: "indent 9000000000000000000 larger than 65536",
		`json.dumps([1], indent=70000)`:             "indent 70000 larger than 65536",
		`frappe.as_json([1], indent=1 << 40)`:       "larger than 65536",
		`pow(1 << 500, 10000)`:                      "pow: result too large",
	} {
		if msg := runErr(t, newFakeEnv(), src); !strings.Contains(msg, want) {
			t.Errorf("%s: got %q, want %q", src, msg, want)
		}
	}
	got := mustAPI(t, newFakeEnv(), `
frappe.response["message"] = [
    len(format("x", ">65536")), format("ab", "é^6"), format("ab", "*<4"),
    json.dumps([1], indent="\t"), json.dumps([1], indent=-1), json.dumps([], indent=2),
    round(1.5, 1000000000), round(1.5, -400), round(15, -400), len(str(pow(2, 10000))),
    frappe.utils.flt(1.25, 400), format("héllo", ".2"),
]
`, nil)
	want := []any{int64(65536), "ééabéé", "ab**", "[\n\t1\n]", "[\n1\n]", "[]", 1.5, 0.0, int64(0), int64(3011), 1.25, "hé"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

// A panic inside a run (here in the Env) ends that run with a
// ScriptError; the process survives.
func TestPanicRecovered(t *testing.T) {
	env := seeded()
	env.panicOn = "td-2"
	_, msgs, err := runAPI(t, env, "frappe.msgprint('before')\nfrappe.get_doc('ToDo', 'td-2')\n", nil)
	var se *ScriptError
	if !errors.As(err, &se) || se.Msg != "internal error: boom" || se.Script != "api" {
		t.Fatalf("got %T %v", err, err)
	}
	if !reflect.DeepEqual(msgs, []string{"before"}) {
		t.Fatalf("msgs %#v", msgs)
	}
	p, err := Compile("ev", "doc.status = 'Closed'\nfrappe.db.get_value('ToDo', 'td-2', 'status')\n")
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"name": "td-1", "status": "Open"}
	if _, err := p.RunDocEvent(context.Background(), env, "ToDo", doc, Options{}); !errors.As(err, &se) || se.Msg != "internal error: boom" {
		t.Fatalf("got %T %v", err, err)
	}
	if doc["status"] != "Open" {
		t.Fatalf("doc changed: %#v", doc)
	}
	// The Program still runs afterwards.
	env.panicOn = ""
	if _, err := p.RunDocEvent(context.Background(), env, "ToDo", doc, Options{}); err != nil || doc["status"] != "Closed" {
		t.Fatalf("after a panic: %v %#v", err, doc)
	}
}
