package api_test

import (
	"fmt"
	"strings"
	"testing"

	"docket/api/apitest"
)

// Regression tests from a hostile review of file uploads: each case once
// let one user read or replace another user's file.

// TestFilesFollowRename: a renamed document keeps its attachments, so a
// new document that takes the old name inherits none of them.
func TestFilesFollowRename(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Case File", "prompt", field("title", "Data"), field("scan", "Attach"))
	dt["allow_rename"] = 1
	dt["permissions"] = []any{map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1, "delete": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	victim, web := w.clients[victimUser], w.clients[webUser]
	victim.Do(t, "POST", "/api/resource/Case%20File", map[string]any{"name": "Alpha", "title": "x"}, 200, nil)
	f := uploaded(t, victim, "medical.pdf", []byte("%PDF medical"), "is_private", "1", "doctype", "Case File", "docname", "Alpha", "fieldname", "scan")
	victim.Do(t, "POST", "/api/method/frappe.client.rename_doc", map[string]any{"doctype": "Case File", "old_name": "Alpha", "new_name": "Beta"}, 200, nil)
	var got struct{ Data map[string]any }
	victim.Do(t, "GET", "/api/resource/File/"+f["name"].(string), nil, 200, &got)
	if got.Data["attached_to_name"] != "Beta" {
		t.Fatalf("attachment after rename: %v", got.Data["attached_to_name"])
	}
	web.Do(t, "POST", "/api/resource/Case%20File", map[string]any{"name": "Alpha", "title": "mine"}, 200, nil)
	if d := download(t, web, f["file_url"].(string)); d.Status != 403 {
		t.Fatalf("the new Alpha's owner reads the old Alpha's file: %d %q", d.Status, d.Body)
	}
	if d := download(t, victim, f["file_url"].(string)); d.Status != 200 || string(d.Body) != "%PDF medical" {
		t.Fatalf("owner download after rename: %d", d.Status)
	}
}

// TestFilesPrivacyMovesField: making an attached file private moves the
// Attach field with it, so a later public upload of the same name cannot
// take the field's URL; replacing the attachment then releases it.
func TestFilesPrivacyMovesField(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Profile", "hash", field("title", "Data"), field("photo", "Attach Image"))
	dt["permissions"] = []any{map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1, "delete": 1},
		map[string]any{"role": "All", "read": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	victim, web := w.clients[victimUser], w.clients[webUser]
	var p struct{ Data map[string]any }
	victim.Do(t, "POST", "/api/resource/Profile", map[string]any{"title": "v"}, 200, &p)
	name := p.Data["name"].(string)
	f := uploaded(t, victim, "face.png", []byte("\x89PNG victim"), "doctype", "Profile", "docname", name, "fieldname", "photo")
	var moved struct{ Data map[string]any }
	victim.Do(t, "PUT", "/api/resource/File/"+f["name"].(string), map[string]any{"is_private": 1}, 200, &moved)
	victim.Do(t, "GET", "/api/resource/Profile/"+name, nil, 200, &p)
	if p.Data["photo"] != moved.Data["file_url"] || !strings.HasPrefix(fmt.Sprint(p.Data["photo"]), "/private/files/") {
		t.Fatalf("photo %v, file moved to %v", p.Data["photo"], moved.Data["file_url"])
	}
	uploaded(t, web, "face.png", []byte("\x89PNG attacker"))
	if d := download(t, victim, p.Data["photo"].(string)); string(d.Body) != "\x89PNG victim" {
		t.Fatalf("the victim's photo serves %d %q", d.Status, d.Body)
	}
	uploaded(t, victim, "face2.png", []byte("\x89PNG victim2"), "doctype", "Profile", "docname", name, "fieldname", "photo")
	victim.Do(t, "GET", "/api/resource/File/"+f["name"].(string), nil, 404, nil)
}

// TestFilesReleaseExactName: deleting a document releases only the files
// attached to exactly its name, not to a name that differs in case.
func TestFilesReleaseExactName(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Memo Two", "hash", field("title", "Data"))
	dt["allow_rename"] = 1
	dt["permissions"] = []any{map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1, "delete": 1}}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	victim, web := w.clients[victimUser], w.clients[webUser]
	var p struct{ Data map[string]any }
	victim.Do(t, "POST", "/api/resource/Memo%20Two", map[string]any{"title": "v"}, 200, &p)
	victim.Do(t, "POST", "/api/method/frappe.client.rename_doc", map[string]any{"doctype": "Memo Two", "old_name": p.Data["name"], "new_name": "Quarterly"}, 200, nil)
	f := uploaded(t, victim, "q.pdf", []byte("%PDF q"), "is_private", "1", "doctype", "Memo Two", "docname", "Quarterly")
	web.Do(t, "POST", "/api/resource/Memo%20Two", map[string]any{"title": "a"}, 200, &p)
	web.Do(t, "POST", "/api/method/frappe.client.rename_doc", map[string]any{"doctype": "Memo Two", "old_name": p.Data["name"], "new_name": "QUARTERLY"}, 200, nil)
	web.Do(t, "DELETE", "/api/resource/Memo%20Two/QUARTERLY", nil, 202, nil)
	victim.Do(t, "GET", "/api/resource/File/"+f["name"].(string), nil, 200, nil)
}

// TestFilesHostileNamesAndRanges: invisible characters that disguise a
// name are dropped; a request of many tiny ranges gets the whole file
// once, not the file read once per range; only media and plain documents
// are shown inline.
func TestFilesHostileNamesAndRanges(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	f := uploaded(t, admin, "invoice\u202efdp.exe", []byte("MZ"))
	if f["file_name"] != "invoicefdp.exe" {
		t.Fatalf("bidi override kept: %q", f["file_name"])
	}
	if f := uploaded(t, admin, "a\u200bb\ufeff\u200d.txt", []byte("zw")); f["file_name"] != "ab\u200d.txt" {
		t.Fatalf("zero-width characters: %q", f["file_name"])
	}
	content := randomBytes(t, 5<<20)
	big := uploaded(t, admin, "big.bin", content)
	var parts []string
	for i := 0; i < 200; i++ {
		parts = append(parts, fmt.Sprintf("%d-%d", i*20000, i*20000))
	}
	before := n.NATS().Stats().InBytes
	r := download(t, n.Client(t), big["file_url"].(string), "Range", "bytes="+strings.Join(parts, ","))
	read := n.NATS().Stats().InBytes - before
	if r.Status != 200 || sha(r.Body) != sha(content) {
		t.Fatalf("200 ranges: status %d, %d bytes", r.Status, len(r.Body))
	}
	if read > 2*uint64(len(content)) {
		t.Fatalf("200 ranges of one byte read %d bytes of a %d-byte file", read, len(content))
	}
	r = download(t, n.Client(t), big["file_url"].(string), "Range", "bytes=0-0,10-10")
	if r.Status != 206 || !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/byteranges") {
		t.Fatalf("two ranges: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	for name, disposition := range map[string]string{"a.xhtml": "attachment", "a.xsl": "attachment", "a.rdf": "attachment",
		"a.shtml": "attachment", "a.png": "", "a.pdf": "", "a.txt": "", "a.mp4": ""} {
		f := uploaded(t, admin, name, []byte("<x/>"))
		r := download(t, n.Client(t), f["file_url"].(string))
		if got, _, _ := strings.Cut(r.Header.Get("Content-Disposition"), ";"); got != disposition {
			t.Errorf("%s: Content-Disposition %q, want %q", name, got, disposition)
		}
	}
}
