package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"docket/api/apitest"
)

// TestCompositeIndexes: a DocType declares composite indexes with
// "indexes"; declaring them on a DocType that has documents indexes
// those; a list with equalities on the first columns, ordered by the
// next, reads only the page it returns; bad declarations are refused.
func TestCompositeIndexes(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	dt := doctype("Job", "hash", field("status", "Select", "options", "Open\nClosed"),
		field("priority", "Select", "options", "Low\nHigh"), field("due", "Date"), field("notes", "Text"))
	admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	var docs []map[string]any
	for i := range 60 {
		d := map[string]any{"status": []string{"Open", "Closed"}[i%2], "priority": []string{"Low", "High"}[i/2%2],
			"due": fmt.Sprintf("2026-01-%02d", 1+i%28)}
		docs = append(docs, d)
		admin.Do(t, "POST", "/api/resource/Job", d, 200, nil)
	}
	list := func() ([]map[string]any, string) {
		t.Helper()
		var out struct {
			Data []map[string]any
			Exc  string
		}
		admin.Do(t, "GET", "/api/resource/Job?debug=True&limit_page_length=5&order_by=due%20desc&fields="+url.QueryEscape(`["name","due"]`)+
			"&filters="+url.QueryEscape(`[["status","=","Open"],["priority","=","High"]]`), nil, 200, &out)
		return out.Data, out.Exc
	}
	before, plan := list()
	if strings.Contains(plan, "composite") {
		t.Fatalf("a composite plan before any index was declared: %s", plan)
	}

	// Declare the index on the DocType that has documents.
	admin.Do(t, "PUT", "/api/resource/DocType/Job", map[string]any{"indexes": `[["status","priority","due"]]`}, 200, nil)
	after, plan := list()
	if !strings.Contains(plan, "ordered scan of composite index Job(status,priority,due) with 2 equalities desc") ||
		!strings.Contains(plan, "examined 5 documents") { // the page, no more
		t.Fatalf("plan with the index: %s", plan)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("rows differ:\nwithout the index %v\nwith it %v", before, after)
	}
	// An index given as a list works as well as its JSON text.
	admin.Do(t, "PUT", "/api/resource/DocType/Job", map[string]any{"indexes": []any{[]any{"priority", "status", "due"}}}, 200, nil)
	if _, plan := list(); !strings.Contains(plan, "composite index Job(priority,status,due)") {
		t.Fatalf("plan with the second index: %s", plan)
	}

	for _, bad := range []any{`[["status"]]`, `[["status","nope"]]`, `[["status","notes"]]`, `[["status","status"]]`, `{"a": 1}`, `not json`} {
		admin.Do(t, "PUT", "/api/resource/DocType/Job", map[string]any{"indexes": bad}, 417, nil)
	}
}
