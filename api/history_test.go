package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"time"

	"docket/api/apitest"
)

// historyWorld is the permission world with a tracked doctype: Clerks
// write Work Orders, Auditors read them (and their level-1 note), other
// users read none.
func historyWorld(t *testing.T) *permWorld {
	t.Helper()
	w := newPermWorld(t, apitest.Options{})
	w.admin.Do(t, "POST", "/api/resource/DocType", map[string]any{"name": "Work Order Item", "module": "Custom", "custom": 1, "istable": 1,
		"fields": []any{field("item", "Data"), field("qty", "Int")}}, 200, nil)
	dt := doctype("Work Order", "hash", field("title", "Data"), field("qty", "Int"),
		field("note", "Small Text", "permlevel", 1), field("items", "Table", "options", "Work Order Item"))
	dt["track_changes"] = 1
	dt["permissions"] = []any{
		map[string]any{"role": "Clerk", "read": 1, "write": 1, "create": 1, "delete": 1},
		map[string]any{"role": "Auditor", "read": 1},
		map[string]any{"role": "Auditor", "permlevel": 1, "read": 1},
		map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
		map[string]any{"role": "System Manager", "permlevel": 1, "read": 1, "write": 1},
	}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	return w
}

// versionData lists the data of a document's Version documents, oldest
// first, as user sees them.
func versionData(t *testing.T, c *apitest.Client, doctype, name string) []map[string]any {
	t.Helper()
	filters, _ := json.Marshal([][]any{{"ref_doctype", "=", doctype}, {"docname", "=", name}})
	var out struct{ Data []map[string]any }
	c.Do(t, "GET", "/api/resource/Version?fields=[\"data\",\"owner\"]&order_by=creation%20asc&limit_page_length=0&filters="+url.QueryEscape(string(filters)), nil, 200, &out)
	var res []map[string]any
	for _, v := range out.Data {
		var d map[string]any
		if err := json.Unmarshal([]byte(v["data"].(string)), &d); err != nil {
			t.Fatal(err)
		}
		d["owner"] = v["owner"]
		res = append(res, d)
	}
	return res
}

// jsonEqual compares a decoded JSON value with a Go literal through JSON.
func jsonEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	var g, w any
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	_ = json.Unmarshal(gb, &g)
	_ = json.Unmarshal(wb, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

// TestVersionDocuments: each update of a tracked doctype yields a Version
// whose data are exactly the field and row changes, with raw values; no
// change, no Version; nobody writes Versions; only the document's
// readers read them.
func TestVersionDocuments(t *testing.T) {
	w := historyWorld(t)
	clerk := w.clients[clerkUser]
	var doc struct{ Data map[string]any }
	clerk.Do(t, "POST", "/api/resource/Work%20Order", map[string]any{"title": "a", "qty": 1,
		"items": []any{map[string]any{"item": "x", "qty": 1}, map[string]any{"item": "y", "qty": 2}}}, 200, &doc)
	name := doc.Data["name"].(string)
	path := "/api/resource/Work%20Order/" + name
	if got := versionData(t, clerk, "Work Order", name); len(got) != 0 {
		t.Fatalf("an insert made Versions: %v", got)
	}
	clerk.Do(t, "PUT", path, map[string]any{"title": "b", "qty": 2}, 200, &doc)
	rows := doc.Data["items"].([]any)
	x, y := rows[0].(map[string]any), rows[1].(map[string]any)
	clerk.Do(t, "PUT", path, map[string]any{"title": "b"}, 200, nil) // no change
	clerk.Do(t, "PUT", path, map[string]any{"items": []any{
		map[string]any{"name": x["name"], "item": "x", "qty": 5}, map[string]any{"item": "z", "qty": 3}}}, 200, &doc)
	z := doc.Data["items"].([]any)[1].(map[string]any)

	got := versionData(t, clerk, "Work Order", name)
	if len(got) != 2 {
		t.Fatalf("%d Versions, want 2: %v", len(got), got)
	}
	jsonEqual(t, "first Version", got[0], map[string]any{
		"changed": [][]any{{"title", "a", "b"}, {"qty", 1, 2}}, "added": []any{}, "removed": []any{}, "row_changed": []any{},
		"data_import": nil, "updater_reference": nil, "owner": clerkUser})
	if got[1]["owner"] != clerkUser || len(got[1]["changed"].([]any)) != 0 {
		t.Errorf("second Version: %v", got[1])
	}
	jsonEqual(t, "rows added", got[1]["added"], [][]any{{"items", z}})
	removed := got[1]["removed"].([]any)
	if len(removed) != 1 || removed[0].([]any)[0] != "items" || removed[0].([]any)[1].(map[string]any)["name"] != y["name"] {
		t.Errorf("rows removed: %v", removed)
	}
	jsonEqual(t, "rows changed", got[1]["row_changed"], [][]any{{"items", 0, x["name"], [][]any{{"qty", 1, 5}}}})

	// Readers of the document read its Versions; others see none.
	if got := versionData(t, w.clients[auditorUser], "Work Order", name); len(got) != 2 {
		t.Errorf("auditor sees %d Versions, want 2", len(got))
	}
	for _, u := range []string{victimUser, webUser} {
		if got := versionData(t, w.clients[u], "Work Order", name); len(got) != 0 {
			t.Errorf("%s sees the Versions of a document it may not read", u)
		}
	}
	// Nobody forges a Version, not even the Administrator.
	w.admin.Do(t, "POST", "/api/resource/Version", map[string]any{"ref_doctype": "Work Order", "docname": name, "data": "{}"}, 403, nil)
}

// historyEntry is one entry of the versions endpoint.
type historyEntry struct {
	Seq         uint64
	Version     uint64
	Type        string
	Doctype     string
	Name        string
	User        string
	Time        string
	Tx          string
	ID          string
	Hash        string
	Prev        string
	PrevSeq     uint64 `json:"prev_seq"`
	Changed     [][]any
	Doc         map[string]any
	RenamedFrom string `json:"renamed_from"`
}

func versions(t *testing.T, c *apitest.Client, doctype, name string, status int) []historyEntry {
	t.Helper()
	var out struct{ Data []historyEntry }
	c.Do(t, "GET", "/api/v2/document/"+url.PathEscape(doctype)+"/"+url.PathEscape(name)+"/versions", nil, status, &out)
	return out.Data
}

// TestHistoryAndAsOf: the versions endpoint lists every version with its
// metadata and a checkable chain; as-of reads return the document as it
// was at a version, a sequence or a time; provenance names the version of
// each field; fields of levels a user does not read stay hidden.
func TestHistoryAndAsOf(t *testing.T) {
	w := historyWorld(t)
	clerk, auditor := w.clients[clerkUser], w.clients[auditorUser]
	var doc struct{ Data map[string]any }
	clerk.Do(t, "POST", "/api/resource/Work%20Order", map[string]any{"title": "a", "qty": 1}, 200, &doc)
	name := doc.Data["name"].(string)
	path := "/api/resource/Work%20Order/" + name
	clerk.Do(t, "PUT", path, map[string]any{"title": "b", "qty": 2}, 200, nil)
	clerk.Do(t, "PUT", path, map[string]any{"items": []any{map[string]any{"item": "x", "qty": 1}}}, 200, nil)
	w.clients[smUser].Do(t, "PUT", path, map[string]any{"note": "checked"}, 200, nil)

	vs := versions(t, clerk, "Work Order", name, 200)
	if len(vs) != 4 {
		t.Fatalf("%d versions, want 4", len(vs))
	}
	wantTitles := []string{"a", "b", "b", "b"}
	wantUsers := []string{clerkUser, clerkUser, clerkUser, smUser}
	for i, v := range vs {
		if v.Version != uint64(i+1) || v.Doctype != "Work Order" || v.Name != name || v.User != wantUsers[i] || v.Doc["title"] != wantTitles[i] {
			t.Errorf("version %d: %+v", i+1, v)
		}
		if _, err := time.Parse(time.RFC3339Nano, v.Time); err != nil || v.Tx == "" || v.ID == "" || len(v.Hash) != 64 {
			t.Errorf("version %d metadata: time %q tx %q id %q hash %q", i+1, v.Time, v.Tx, v.ID, v.Hash)
		}
		if v.Doc["note"] != nil {
			t.Errorf("version %d shows the clerk a level-1 field", i+1)
		}
		for _, c := range v.Changed {
			if c[0] == "note" {
				t.Errorf("version %d shows the clerk a level-1 change", i+1)
			}
		}
		if i == 0 {
			if v.Type != "insert" || v.Prev != "" || v.PrevSeq != 0 {
				t.Errorf("version 1: %+v", v)
			}
			continue
		}
		if v.Type != "update" || v.Prev != vs[i-1].Hash || v.PrevSeq != vs[i-1].Seq || v.Seq <= vs[i-1].Seq {
			t.Errorf("version %d does not chain to %d: prev %s/%d, before %s/%d", i+1, i, v.Prev, v.PrevSeq, vs[i-1].Hash, vs[i-1].Seq)
		}
	}
	jsonEqual(t, "changes of version 2", vs[1].Changed, [][]any{{"qty", 1, 2}, {"title", "a", "b"}})
	if av := versions(t, auditor, "Work Order", name, 200); av[3].Doc["note"] != "checked" {
		t.Errorf("the auditor reads level 1 but not in history: %v", av[3].Doc)
	}
	versions(t, w.clients[victimUser], "Work Order", name, 403)
	versions(t, clerk, "Work Order", "no-such-doc", 404)

	// As-of reads.
	asOf := func(c *apitest.Client, query string, status int) map[string]any {
		t.Helper()
		var out struct{ Data map[string]any }
		c.Do(t, "GET", path+"?"+query, nil, status, &out)
		return out.Data
	}
	if d := asOf(clerk, "as_of_version=1", 200); d["title"] != "a" || d["qty"] != float64(1) {
		t.Errorf("as_of_version=1: %v", d)
	}
	if d := asOf(clerk, fmt.Sprintf("as_of_seq=%d", vs[1].Seq), 200); d["title"] != "b" || d["items"] == nil || len(d["items"].([]any)) != 0 {
		t.Errorf("as_of_seq of version 2: %v", d)
	}
	if d := asOf(clerk, fmt.Sprintf("as_of_seq=%d", vs[1].Seq-1), 200); d["title"] != "a" {
		t.Errorf("as_of_seq just before version 2: %v", d)
	}
	if d := asOf(clerk, "as_of="+url.QueryEscape(vs[0].Time), 200); d["title"] != "a" {
		t.Errorf("as_of the time of version 1: %v", d)
	}
	t0, _ := time.Parse(time.RFC3339Nano, vs[0].Time)
	asOf(clerk, "as_of="+url.QueryEscape(t0.Add(-time.Second).Format(time.RFC3339Nano)), 404)
	asOf(clerk, "as_of_version=9", 404)
	asOf(clerk, "as_of_version=abc", 417)
	asOf(clerk, "as_of=yesterday", 417)
	asOf(w.clients[victimUser], "as_of_version=1", 403)
	if d := asOf(auditor, "as_of_version=4", 200); d["note"] != "checked" {
		t.Errorf("auditor as of version 4: %v", d)
	}
	var v2 struct{ Data map[string]any }
	clerk.Do(t, "GET", "/api/v2/document/Work%20Order/"+name+"?as_of_version=2", nil, 200, &v2)
	if v2.Data["title"] != "b" {
		t.Errorf("v2 as-of read: %v", v2.Data)
	}

	// Provenance: which version set each field.
	var prov struct {
		Data map[string]struct {
			Version uint64
			User    string
		}
	}
	auditor.Do(t, "GET", "/api/v2/document/Work%20Order/"+name+"/provenance", nil, 200, &prov)
	for f, want := range map[string]uint64{"title": 2, "qty": 2, "items": 3, "note": 4, "owner": 1, "creation": 1, "modified": 4} {
		if got := prov.Data[f].Version; got != want {
			t.Errorf("provenance of %s: version %d, want %d", f, got, want)
		}
	}
	if prov.Data["note"].User != smUser {
		t.Errorf("note set by %q", prov.Data["note"].User)
	}
	prov.Data = nil
	clerk.Do(t, "GET", "/api/v2/document/Work%20Order/"+name+"/provenance", nil, 200, &prov)
	if _, ok := prov.Data["note"]; ok {
		t.Error("provenance shows the clerk a level-1 field")
	}

	// A deleted document keeps its history and its past.
	clerk.Do(t, "DELETE", path, nil, 202, nil)
	clerk.Do(t, "GET", path, nil, 404, nil)
	if d := asOf(clerk, "as_of_version=4", 200); d["title"] != "b" {
		t.Errorf("as of before the delete: %v", d)
	}
	asOf(clerk, "as_of_version=5", 404)
	vs = versions(t, clerk, "Work Order", name, 200)
	if len(vs) != 5 || vs[4].Type != "delete" || vs[4].Doc != nil || vs[4].User != clerkUser {
		t.Errorf("history after the delete: %+v", vs[len(vs)-1])
	}
	versions(t, w.clients[victimUser], "Work Order", name, 403)
}
