package api_test

import (
	"reflect"
	"testing"

	"docket/api/apitest"
	"docket/methods"
	"docket/projections"
)

// TestDigestMethod: docket.audit.digest gives a System Manager this
// node's projections digest, on GET only, and nobody else.
func TestDigestMethod(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	admin.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "counted"}, 200, nil)
	admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "eve@example.com", "first_name": "Eve"}, 200, nil)
	admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "sm@example.com", "first_name": "Sam",
		"roles": []map[string]any{{"role": methods.SystemManager}}}, 200, nil)
	eve := n.Client(t)
	eve.Header.Set("Authorization", n.NewToken(t, "eve@example.com"))
	sm := n.Client(t)
	sm.Header.Set("Authorization", n.NewToken(t, "sm@example.com"))

	path := "/api/method/" + methods.DigestMethod
	var out struct{ Message projections.Digest }
	sm.Do(t, "GET", path, nil, 200, &out)
	want, err := n.Store.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&out.Message, want) {
		t.Fatalf("digest over HTTP %+v\nwant %+v", out.Message, want)
	}
	if want.Checkpoint == 0 || want.Keys == 0 {
		t.Fatalf("digest %+v", want)
	}
	found := false
	for _, p := range out.Message.Parts {
		found = found || p.Kind == "documents" && p.DocType == "ToDo" && p.Keys == 1
	}
	if !found {
		t.Fatalf("no part for the ToDo: %+v", out.Message.Parts)
	}

	eve.Do(t, "GET", path, nil, 403, nil)
	n.Client(t).Do(t, "GET", path, nil, 403, nil)
	sm.Do(t, "POST", path, nil, 403, nil)
}
