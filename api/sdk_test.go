package api_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"docket/api/apitest"
)

// TestFrappeJSSDK drives docket with the npm package frappe-js-sdk,
// unchanged: login, CRUD, lists with filters, ordering, paging and
// grouping, counts, method calls and errors. It needs Node.js and the
// package installed by `npm ci --prefix api/testdata/sdk` (.ci/run does
// it); without them it is skipped.
func TestFrappeJSSDK(t *testing.T) {
	dir := filepath.Join("testdata", "sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "frappe-js-sdk")); err != nil {
		t.Skip("frappe-js-sdk not installed: run npm ci --prefix api/testdata/sdk")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found")
	}
	n := apitest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	token := strings.TrimPrefix(n.AdminToken, "token ")
	cmd := exec.CommandContext(ctx, node, "sdk.mjs", n.URL, token, apitest.AdminPassword)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("sdk.mjs: %v\n%s", err, raw)
	}
	var out struct {
		Login    map[string]any
		BadLogin map[string]any
		User     string
		Created  map[string]any
		Read     map[string]any
		Updated  map[string]any
		List     []map[string]any
		// listAsArrays: rows as arrays.
		ListAsArrays [][]any
		Grouped      []map[string]any
		Count        int
		CountAll     int
		Last         map[string]any
		Call         map[string]any
		Ping         map[string]any
		Missing      map[string]any
		Invalid      map[string]any
		Value        map[string]any
		SetValue     map[string]any
		SetValues    map[string]any
		Renamed      map[string]any
		Posted       map[string]any
		Deleted      map[string]any
		Uploaded     map[string]any
		Downloaded   map[string]any
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	check := func(what string, ok bool, got any) {
		t.Helper()
		if !ok {
			t.Errorf("%s: got %v", what, got)
		}
	}
	check("login", out.Login["message"] == "Logged In" && out.Login["full_name"] == "Administrator", out.Login)
	check("bad login", out.BadLogin["httpStatus"] == float64(401) && out.BadLogin["exception"] != "", out.BadLogin)
	check("getLoggedInUser", out.User == "Administrator", out.User)
	check("createDoc", out.Created["description"] == "from the sdk" && out.Created["status"] == "Open" && out.Created["doctype"] == "ToDo", out.Created)
	check("getDoc", out.Read["name"] == out.Created["name"] && out.Read["priority"] == "High", out.Read)
	check("updateDoc", out.Updated["status"] == "Closed" && out.Updated["description"] == "from the sdk", out.Updated)
	check("getDocList", len(out.List) == 2 && out.List[0]["description"] == "sdk 1" && out.List[1]["description"] == "sdk 2", out.List)
	check("getDocList asDict false", len(out.ListAsArrays) == 3 && len(out.ListAsArrays[0]) == 1 && out.ListAsArrays[0][0] == "sdk 2", out.ListAsArrays)
	check("getDocList groupBy", len(out.Grouped) == 2 && out.Grouped[0]["priority"] == "High" && out.Grouped[1]["n"] == float64(3), out.Grouped)
	check("getCount with filters", out.Count == 3, out.Count)
	check("getCount", out.CountAll == 4, out.CountAll)
	check("getLastDoc", out.Last["description"] == "sdk 2", out.Last)
	check("call.get", out.Call["message"] == "Administrator", out.Call)
	check("call.get ping", out.Ping["message"] == "pong", out.Ping)
	check("missing document", out.Missing["httpStatus"] == float64(404) && out.Missing["exception"] == "DoesNotExistError", out.Missing)
	check("invalid document", out.Invalid["httpStatus"] == float64(417) && out.Invalid["exception"] != "", out.Invalid)
	check("getValue", out.Value["message"].(map[string]any)["priority"] == "High", out.Value)
	check("setValue", out.SetValue["message"].(map[string]any)["priority"] == "Low", out.SetValue)
	check("setValue of several fields", out.SetValues["message"].(map[string]any)["color"] == "#ff0000", out.SetValues)
	check("renameDoc", out.Renamed["message"] == "renamed-by-sdk", out.Renamed)
	check("call.post", out.Posted["message"].(map[string]any)["title"] == "via call.post", out.Posted)
	check("deleteDoc", out.Deleted["data"] == "ok", out.Deleted)
	file, _ := out.Uploaded["message"].(map[string]any)
	check("uploadFile", file["file_url"] == "/private/files/sdk hello.txt" && file["attached_to_doctype"] == "ToDo" &&
		file["is_private"] == float64(1) && file["file_size"] == float64(1025), out.Uploaded)
	check("download of the upload", out.Downloaded["status"] == float64(200) && out.Downloaded["same"] == true, out.Downloaded)
}
