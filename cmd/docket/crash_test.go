package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"docket/eventlog"
	"docket/projections"
)

// TestKillNineLosesNothing kills a node (SIGKILL) while 64 clients write
// through it. After the restart every acknowledged write is there,
// exactly once, and the node's Pebble read model equals a full rebuild
// of the log into an empty directory.
func TestKillNineLosesNothing(t *testing.T) {
	p, auth := startSingle(t)
	c, dir := newClient(auth), p.dir

	ld := startLoad(auth, 64, func() []string { return []string{p.URL} }, false)
	ld.waitAcked(t, 600, 60*time.Second)
	p.kill() // with writes in flight
	ld.end()
	t.Logf("killed after %d acknowledged writes", ld.n.Load())

	p.start()
	t.Logf("restarted and caught up in %s", p.waitReady(60*time.Second))
	ld.checkExactlyOnce(t, todos(t, c, p.URL, ld.maxSeq))

	// One more write after the restart, then the read model against a
	// rebuild.
	if status, _, _, err := c.do("POST", p.URL+"/api/resource/ToDo", `{"description":"after the crash"}`); err != nil || status != 200 {
		t.Fatalf("write after the restart: %d %v", status, err)
	}
	p.stop()
	live := dumpPebble(t, filepath.Join(dir, "pebble"))
	rebuilt := dumpPebble(t, rebuild(t, filepath.Join(dir, "nats")))
	compareDumps(t, "the restarted node's read model", live, "a rebuild", rebuilt)
}

// TestDeletedPebbleIsRebuilt deletes the read model of a stopped node:
// it rebuilds it from the log on start and answers as before.
func TestDeletedPebbleIsRebuilt(t *testing.T) {
	p, auth := startSingle(t)
	c, dir := newClient(auth), p.dir
	must := func(method, path, body string) map[string]any {
		t.Helper()
		status, out, _, err := c.do(method, p.URL+path, body)
		if err != nil || status/100 != 2 {
			t.Fatalf("%s %s: %d %v %v", method, path, status, out, err)
		}
		return out
	}
	must("POST", "/api/resource/DocType", `{"name":"Gadget","module":"Custom","custom":1,"autoname":"G-.####",
		"fields":[{"fieldname":"label","fieldtype":"Data","label":"Label","unique":1},
		          {"fieldname":"kind","fieldtype":"Select","label":"Kind","options":"a\nb"},
		          {"fieldname":"weight","fieldtype":"Float","label":"Weight"}]}`)
	for i := range 30 {
		must("POST", "/api/resource/Gadget", fmt.Sprintf(`{"label":"g%d","kind":"%s","weight":%d.5}`, i, []string{"a", "b"}[i%2], i))
	}
	must("PUT", "/api/resource/Gadget/G-0003", `{"kind":"a","weight":99}`)
	must("DELETE", "/api/resource/Gadget/G-0004", "")
	must("POST", "/api/resource/ToDo", `{"description":"one","priority":"High"}`)
	queries := []string{
		`/api/resource/Gadget?fields=["*"]&limit_page_length=0&order_by=weight%20desc`,
		`/api/resource/Gadget?fields=["kind","count(name)%20as%20n"]&group_by=kind`,
		`/api/method/frappe.client.get_count?doctype=Gadget&filters={"kind":"a"}`,
		`/api/resource/ToDo?fields=["name","description","priority","modified"]&limit_page_length=0`,
		`/api/resource/DocType?fields=["name","modified"]&limit_page_length=0&order_by=name%20asc`,
		`/api/resource/User?fields=["name","enabled","api_key"]&limit_page_length=0`,
	}
	answer := func() []string {
		var out []string
		for _, q := range queries {
			b, err := json.Marshal(must("GET", q, ""))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		return out
	}
	before := answer()
	p.stop()
	live := dumpPebble(t, filepath.Join(dir, "pebble"))

	if err := os.RemoveAll(filepath.Join(dir, "pebble")); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Logf("rebuilt and ready in %s", p.waitReady(60*time.Second))
	for i, a := range answer() {
		if a != before[i] {
			t.Errorf("%s after the rebuild:\n%s\nbefore:\n%s", queries[i], a, before[i])
		}
	}
	p.stop()
	compareDumps(t, "the read model before", live, "after the rebuild", dumpPebble(t, filepath.Join(dir, "pebble")))
}

// startSingle starts a single node and returns it with an
// Administrator's Authorization header.
func startSingle(t testing.TB) (*proc, string) {
	t.Helper()
	p := newProc(t, "n1", filepath.Join(t.TempDir(), "n1"))
	p.start()
	p.waitReady(60 * time.Second)
	return p, adminToken(t, p.URL)
}

// kv is one Pebble entry.
type kv struct{ k, v []byte }

// dumpPebble reads every key and value of a stopped node's read model.
func dumpPebble(t testing.TB, dir string) []kv {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []kv
	for it.First(); it.Valid(); it.Next() {
		out = append(out, kv{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// quietPebble drops Pebble's log.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Errorf(string, ...any)          {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// compareDumps fails unless two read models hold the same entries.
func compareDumps(t testing.TB, aName string, a []kv, bName string, b []kv) {
	t.Helper()
	for i := range min(len(a), len(b)) {
		if !bytes.Equal(a[i].k, b[i].k) || !bytes.Equal(a[i].v, b[i].v) {
			t.Fatalf("%s and %s differ at entry %d: %q=%q vs %q=%q", aName, bName, i, a[i].k, a[i].v, b[i].k, b[i].v)
		}
	}
	if len(a) != len(b) {
		t.Fatalf("%s has %d entries, %s %d", aName, len(a), bName, len(b))
	}
	t.Logf("%s and %s: %d identical entries", aName, bName, len(a))
}

// rebuild replays a stopped single node's log (its NATS directory) from
// sequence 1 into a new Pebble directory, as a fresh node would, and
// returns that directory.
func rebuild(t *testing.T, natsDir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: natsDir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := eventlog.ConnectInProcess(ns, "rebuild")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	lg, err := eventlog.Open(ctx, nc, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	dir := filepath.Join(t.TempDir(), "rebuilt")
	store, err := projections.Open(dir, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- projections.NewProjector(store, lg, nil).Run(pctx) }()
	last, err := lg.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WaitFor(ctx, last); err != nil {
		t.Fatalf("rebuild to %d: %v", last, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt %s events", strconv.FormatUint(uint64(last), 10))
	return dir
}
