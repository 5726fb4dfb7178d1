package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api"
	"docket/api/apitest"
	"docket/blobs"
	"docket/methods"
)

// upload sends a multipart upload_file request streamed from content
// (nil: no file part), with the text fields in order after the file, as
// frappe-js-sdk sends them.
func upload(t testing.TB, c *apitest.Client, fileName string, content io.Reader, fields ...string) (*http.Response, map[string]any) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if content != nil {
				fw, err := mw.CreateFormFile("file", fileName)
				if err != nil {
					return err
				}
				if _, err := io.Copy(fw, content); err != nil {
					return err
				}
			}
			for i := 0; i+1 < len(fields); i += 2 {
				if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest("POST", c.Base+"/api/method/upload_file", pr)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	if body == nil {
		body = map[string]any{"raw": string(raw)}
	}
	return resp, body
}

// uploaded uploads and expects success; it returns the File document.
func uploaded(t testing.TB, c *apitest.Client, fileName string, content []byte, fields ...string) map[string]any {
	t.Helper()
	resp, body := upload(t, c, fileName, bytes.NewReader(content), fields...)
	if resp.StatusCode != 200 {
		t.Fatalf("upload %s: %d %v", fileName, resp.StatusCode, body)
	}
	return body["message"].(map[string]any)
}

// download fetches a file URL (escaped as a browser would).
func download(t testing.TB, c *apitest.Client, fileURL string, header ...string) *apitest.Response {
	t.Helper()
	u := (&url.URL{Path: fileURL}).EscapedPath()
	for i := 0; i+1 < len(header); i += 2 {
		c.Header.Set(header[i], header[i+1])
	}
	defer func() {
		for i := 0; i+1 < len(header); i += 2 {
			c.Header.Del(header[i])
		}
	}()
	return c.Raw(t, "GET", u, "", nil)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func blobCount(t testing.TB, store blobs.Store) int {
	t.Helper()
	n := 0
	if err := store.List(context.Background(), func(blobs.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFilesRoundTrip: uploads come back byte for byte, the 0-byte and
// the 50 MiB one too, streamed both ways, with either blob store.
func TestFilesRoundTrip(t *testing.T) {
	for _, disk := range []bool{false, true} {
		t.Run(map[bool]string{false: "object store", true: "disk store"}[disk], func(t *testing.T) {
			testRoundTrip(t, apitest.StartWith(t, "", apitest.Options{API: api.Options{MaxFileSize: 64 << 20}, DiskFiles: disk}))
		})
	}
}

func testRoundTrip(t *testing.T, n *apitest.Node) {
	admin := n.Admin(t)
	for _, tc := range []struct {
		name string
		size int
	}{{"hello.txt", 13}, {"empty.bin", 0}, {"big.bin", 50 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			content := randomBytes(t, tc.size)
			f := uploaded(t, admin, tc.name, content)
			if f["file_url"] != "/files/"+tc.name || f["file_size"] != float64(tc.size) || f["content_hash"] != sha(content) ||
				f["file_name"] != tc.name || f["is_private"] != float64(0) || f["doctype"] != "File" || f["folder"] != "Home" {
				t.Fatalf("File %v", f)
			}
			got := download(t, n.Client(t), f["file_url"].(string)) // public: no credentials
			if got.Status != 200 || sha(got.Body) != sha(content) || len(got.Body) != tc.size {
				t.Fatalf("download: %d, %d bytes", got.Status, len(got.Body))
			}
			if got.Header.Get("ETag") != `"`+sha(content)+`"` || got.Header.Get("X-Content-Type-Options") != "nosniff" || got.Header.Get("Last-Modified") == "" {
				t.Fatalf("headers %v", got.Header)
			}
		})
	}
}

// TestFilesRangesAndValidators: Range, If-None-Match, HEAD.
func TestFilesRangesAndValidators(t *testing.T) {
	n := apitest.Start(t, "")
	content := randomBytes(t, 300<<10) // several object store chunks
	f := uploaded(t, n.Admin(t), "data.bin", content)
	c := n.Client(t)
	for _, tc := range []struct {
		rng        string
		start, end int // inclusive
	}{{"bytes=0-9", 0, 9}, {"bytes=131070-131080", 131070, 131080}, {"bytes=-5", len(content) - 5, len(content) - 1},
		{"bytes=200000-", 200000, len(content) - 1}} {
		r := download(t, c, f["file_url"].(string), "Range", tc.rng)
		if r.Status != 206 || !bytes.Equal(r.Body, content[tc.start:tc.end+1]) {
			t.Fatalf("%s: %d, %d bytes", tc.rng, r.Status, len(r.Body))
		}
	}
	if r := download(t, c, f["file_url"].(string), "Range", fmt.Sprintf("bytes=%d-", len(content)+10)); r.Status != 416 {
		t.Fatalf("range past the end: %d", r.Status)
	}
	if r := download(t, c, f["file_url"].(string), "If-None-Match", `"`+sha(content)+`"`); r.Status != 304 {
		t.Fatalf("If-None-Match: %d", r.Status)
	}
	if r := c.Raw(t, "HEAD", f["file_url"].(string), "", nil); r.Status != 200 || r.Header.Get("Content-Length") != fmt.Sprint(len(content)) || len(r.Body) != 0 {
		t.Fatalf("HEAD: %d %v", r.Status, r.Header)
	}
}

// TestFilesPrivate: a private file is served to its owner, to whoever may
// read the document it is attached to, and to nobody else.
func TestFilesPrivate(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	web, auditor := w.clients[webUser], w.clients[auditorUser]
	entry := w.createAs(t, webUser, "Ledger Entry", map[string]any{"title": "mine"})
	content := []byte("%PDF-1.4 private")
	f := uploaded(t, web, "statement.pdf", content, "is_private", "1", "doctype", "Ledger Entry", "docname", entry)
	url := f["file_url"].(string)
	if url != "/private/files/statement.pdf" || f["attached_to_name"] != entry {
		t.Fatalf("File %v", f)
	}
	if r := download(t, web, url); r.Status != 200 || !bytes.Equal(r.Body, content) {
		t.Fatalf("owner: %d", r.Status)
	}
	if r := download(t, auditor, url); r.Status != 200 { // Auditor reads every Ledger Entry
		t.Fatalf("reader of the attached document: %d %s", r.Status, r.Body)
	}
	if r := download(t, w.clients[victimUser], url); r.Status != 403 {
		t.Fatalf("another user: %d %s", r.Status, r.Body)
	}
	if r := download(t, w.clients[guestUser], url); r.Status != 403 {
		t.Fatalf("guest: %d", r.Status)
	}
	if r := download(t, w.clients[guestUser], "/files/statement.pdf"); r.Status != 404 {
		t.Fatalf("the private file under the public path: %d", r.Status)
	}
	// Upload to a document the user may not write: refused, no File.
	other := w.createAs(t, victimUser, "Ledger Entry", map[string]any{"title": "not yours"})
	resp, body := upload(t, web, "x.pdf", strings.NewReader("%PDF x"), "doctype", "Ledger Entry", "docname", other)
	if resp.StatusCode != 403 || body["exc_type"] != "PermissionError" {
		t.Fatalf("upload to another's document: %d %v", resp.StatusCode, body)
	}
	var cnt struct{ Message int64 }
	w.admin.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=File&filters="+q(`{"attached_to_name":"`+other+`"}`), nil, 200, &cnt)
	if cnt.Message != 0 {
		t.Fatal("a refused upload left a File")
	}
	// A Website User may not upload what a browser would run.
	if resp, body := upload(t, web, "page.html", strings.NewReader("<script>alert(1)</script>")); resp.StatusCode != 417 {
		t.Fatalf("website user html: %d %v", resp.StatusCode, body)
	}
	if resp, _ := upload(t, w.clients[guestUser], "a.txt", strings.NewReader("x")); resp.StatusCode != 403 {
		t.Fatalf("guest upload: %d", resp.StatusCode)
	}
}

// TestFilesNamesAndDedup: names are sanitized and kept unicode; identical
// content is stored once and shares its URL; another content under a
// taken name gets the end of its hash, as in Frappe.
func TestFilesNamesAndDedup(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	store := n.Blobs
	a := uploaded(t, admin, "../../etc/passwd", []byte("root:x:0:0"))
	if a["file_name"] != "passwd" || a["file_url"] != "/files/passwd" {
		t.Fatalf("traversal name: %v", a)
	}
	u := uploaded(t, admin, "résumé 2024 ☃.pdf", []byte("%PDF unicode"))
	if u["file_url"] != "/files/résumé 2024 ☃.pdf" {
		t.Fatalf("unicode name: %v", u)
	}
	if r := download(t, n.Client(t), u["file_url"].(string)); r.Status != 200 || string(r.Body) != "%PDF unicode" {
		t.Fatalf("unicode download: %d", r.Status)
	}
	// Control characters can only come RFC 2231-encoded (raw ones are a
	// malformed header).
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	pw, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="file"; filename*=UTF-8''ctl%01name%7F%0A.txt`}})
	pw.Write([]byte("c"))
	mw.Close()
	var c struct{ Message map[string]any }
	rr := admin.Raw(t, "POST", "/api/method/upload_file", mw.FormDataContentType(), buf.Bytes())
	if err := json.Unmarshal(rr.Body, &c); err != nil || c.Message["file_name"] != "ctlname.txt" {
		t.Fatalf("control characters: %d %s", rr.Status, rr.Body)
	}
	if r := upload2(t, admin, "ctl\x01raw.txt"); r != 417 {
		t.Fatalf("a raw control character in the header: %d", r)
	}
	before := blobCount(t, store)
	same := uploaded(t, admin, "copy-of-passwd", []byte("root:x:0:0"))
	if same["file_url"] != "/files/passwd" || same["content_hash"] != a["content_hash"] || blobCount(t, store) != before {
		t.Fatalf("identical content: %v (blobs %d → %d)", same, before, blobCount(t, store))
	}
	clash := uploaded(t, admin, "passwd", []byte("other content"))
	hash := sha([]byte("other content"))
	if clash["file_url"] != "/files/passwd"+hash[len(hash)-6:] {
		t.Fatalf("name clash: %v", clash)
	}
	if r := download(t, n.Client(t), "/files/passwd"); string(r.Body) != "root:x:0:0" {
		t.Fatal("the first file changed")
	}
	// Concurrent uploads of one content store it once.
	content := randomBytes(t, 200<<10)
	before = blobCount(t, store)
	var wg sync.WaitGroup
	urls := make([]string, 8)
	for i := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := uploaded(t, admin, fmt.Sprintf("same-%d.bin", i), content)
			urls[i] = f["file_url"].(string)
		}()
	}
	wg.Wait()
	if got := blobCount(t, store); got != before+1 {
		t.Fatalf("8 concurrent identical uploads stored %d blobs", got-before)
	}
	for _, u := range urls {
		if r := download(t, n.Client(t), u); sha(r.Body) != sha(content) {
			t.Fatalf("%s: wrong content", u)
		}
	}
	// Executable types are served as attachments.
	h := uploaded(t, admin, "page.html", []byte("<script>alert(1)</script>"))
	r := download(t, n.Client(t), h["file_url"].(string))
	if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("html served inline: %v", r.Header)
	}
	svg := uploaded(t, admin, "logo", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>`))
	if r := download(t, n.Client(t), svg["file_url"].(string)); !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("sniffed xml/svg served inline: %v", r.Header)
	}
}

// TestFilesBadInput: each bad upload is refused with a clear error and
// stores nothing.
func TestFilesBadInput(t *testing.T) {
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{MaxFileSize: 1 << 20}})
	admin := n.Admin(t)
	files := func() int64 {
		var cnt struct{ Message int64 }
		admin.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=File", nil, 200, &cnt)
		return cnt.Message
	}
	baseFiles, baseBlobs := files(), blobCount(t, n.Blobs)
	unchanged := func(what string) {
		t.Helper()
		if files() != baseFiles || blobCount(t, n.Blobs) != baseBlobs {
			t.Fatalf("%s stored something", what)
		}
	}
	post := func(ct string, body io.Reader, length int64) (int, map[string]any) {
		req, _ := http.NewRequest("POST", n.URL+"/api/method/upload_file", body)
		req.Header.Set("Authorization", n.AdminToken)
		req.Header.Set("Content-Type", ct)
		if length >= 0 {
			req.ContentLength = length
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	t.Run("no file", func(t *testing.T) {
		resp, body := upload(t, admin, "", nil, "is_private", "0")
		if resp.StatusCode != 417 || !strings.Contains(fmt.Sprint(body["_server_messages"]), "No file attached") {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		unchanged("no file")
	})
	t.Run("empty file input", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename=""`}
		h["Content-Type"] = []string{"application/octet-stream"}
		if _, err := mw.CreatePart(h); err != nil {
			t.Fatal(err)
		}
		mw.Close()
		if st, body := post(mw.FormDataContentType(), &buf, -1); st != 417 {
			t.Fatalf("%d %v", st, body)
		}
		unchanged("an empty file input")
	})
	t.Run("wrong boundary", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "a.txt")
		fw.Write([]byte("hello"))
		mw.Close()
		if st, body := post("multipart/form-data; boundary=not-the-boundary", &buf, -1); st != 417 {
			t.Fatalf("%d %v", st, body)
		}
		if st, body := post("multipart/form-data", strings.NewReader(buf.String()), -1); st != 417 {
			t.Fatalf("no boundary: %d %v", st, body)
		}
		unchanged("a wrong boundary")
	})
	t.Run("truncated", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "cut.bin")
		fw.Write(randomBytes(t, 100<<10))
		mw.Close()
		cut := buf.Bytes()[:buf.Len()/2]
		if st, body := post(mw.FormDataContentType(), bytes.NewReader(cut), -1); st != 417 {
			t.Fatalf("%d %v", st, body)
		}
		unchanged("a truncated upload")
	})
	t.Run("too large, announced", func(t *testing.T) {
		// Content-Length says 100 GiB: refused before the body is read.
		start := time.Now()
		st, body := post("multipart/form-data; boundary=x", io.LimitReader(zeros{}, 100<<30), 100<<30)
		if st != 413 || body["exc_type"] != "MaxFileSizeReachedError" {
			t.Fatalf("%d %v", st, body)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the server read the body")
		}
		unchanged("an announced huge upload")
	})
	t.Run("too large, streamed", func(t *testing.T) {
		resp, body := upload(t, admin, "big.bin", io.LimitReader(zeros{}, 3<<20))
		if resp.StatusCode != 413 {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		unchanged("a streamed huge upload")
	})
	t.Run("exactly the limit", func(t *testing.T) {
		f := uploaded(t, admin, "max.bin", make([]byte, 1<<20))
		if f["file_size"] != float64(1<<20) {
			t.Fatalf("%v", f)
		}
	})
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestFilesAttachAndCollect: fieldname sets the Attach field; replacing
// or deleting lets go of the old File, and its bytes are collected once
// nothing names them.
func TestFilesAttachAndCollect(t *testing.T) {
	n := apitest.Start(t, "")
	admin := n.Admin(t)
	admin.Do(t, "POST", "/api/resource/DocType", doctype("Profile", "hash", field("title", "Data"), field("photo", "Attach Image")), 200, nil)
	var p struct{ Data map[string]any }
	admin.Do(t, "POST", "/api/resource/Profile", map[string]any{"title": "me"}, 200, &p)
	name := p.Data["name"].(string)
	first := uploaded(t, admin, "one.png", []byte("\x89PNG one"), "doctype", "Profile", "docname", name, "fieldname", "photo")
	admin.Do(t, "GET", "/api/resource/Profile/"+name, nil, 200, &p)
	if p.Data["photo"] != first["file_url"] || first["attached_to_field"] != "photo" {
		t.Fatalf("attach field %v / %v", p.Data, first)
	}
	second := uploaded(t, admin, "two.png", []byte("\x89PNG two"), "doctype", "Profile", "docname", name, "fieldname", "photo")
	admin.Do(t, "GET", "/api/resource/File/"+first["name"].(string), nil, 404, nil) // replaced: its File is gone
	ctx := context.Background()
	removed, err := methods.CollectBlobs(ctx, n.Docs, n.Blobs, 0)
	if err != nil || removed != 1 {
		t.Fatalf("collected %d, %v", removed, err)
	}
	if r := download(t, n.Client(t), first["file_url"].(string)); r.Status != 404 {
		t.Fatalf("replaced file still served: %d", r.Status)
	}
	if r := download(t, n.Client(t), second["file_url"].(string)); r.Status != 200 {
		t.Fatalf("current file: %d", r.Status)
	}
	// Bytes another File still names stay.
	uploaded(t, admin, "shared.png", []byte("\x89PNG two"))
	admin.Do(t, "DELETE", "/api/resource/Profile/"+name, nil, 202, nil)
	admin.Do(t, "GET", "/api/resource/File/"+second["name"].(string), nil, 404, nil)
	if removed, err := methods.CollectBlobs(ctx, n.Docs, n.Blobs, 0); err != nil || removed != 0 {
		t.Fatalf("collected %d, %v: bytes still named by another File", removed, err)
	}
	// Young blobs wait for the grace period.
	resp, _ := upload(t, admin, "orphan.txt", strings.NewReader("orphan"), "doctype", "Nope")
	if resp.StatusCode == 200 {
		t.Fatal("upload to a missing doctype accepted")
	}
	if removed, _ := methods.CollectBlobs(ctx, n.Docs, n.Blobs, time.Hour); removed != 0 {
		t.Fatalf("a young blob was collected")
	}
	if removed, _ := methods.CollectBlobs(ctx, n.Docs, n.Blobs, 0); removed != 1 {
		t.Fatalf("the orphan was not collected: %d", removed)
	}
}

// upload2 uploads a one-byte file under a raw file name and returns the
// status.
func upload2(t *testing.T, c *apitest.Client, name string) int {
	t.Helper()
	resp, _ := upload(t, c, name, strings.NewReader("x"))
	return resp.StatusCode
}

// TestFilesCannotBeRepointed: a File names its content for good; only an
// upload may name stored content; privacy moves the URL.
func TestFilesCannotBeRepointed(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	web := w.clients[webUser]
	secret := uploaded(t, w.clients[smUser], "salaries.pdf", []byte("%PDF salaries"), "is_private", "1")
	mine := uploaded(t, web, "mine.pdf", []byte("%PDF mine"))
	path := "/api/resource/File/" + mine["name"].(string)
	for _, patch := range []map[string]any{
		{"content_hash": secret["content_hash"]},
		{"file_url": secret["file_url"]},
		{"file_size": 1},
	} {
		if r := web.Do(t, "PUT", path, patch, 0, nil); r.Status != 417 {
			t.Fatalf("PUT %v: %d %s", patch, r.Status, r.Body)
		}
	}
	if r := web.Do(t, "POST", "/api/resource/File", map[string]any{"file_name": "x.pdf", "file_url": secret["file_url"],
		"content_hash": secret["content_hash"], "is_private": 1}, 0, nil); r.Status != 417 {
		t.Fatalf("POST File naming stored content: %d %s", r.Status, r.Body)
	}
	if r := download(t, web, secret["file_url"].(string)); r.Status != 403 {
		t.Fatalf("the private file: %d", r.Status)
	}
	var moved struct{ Data map[string]any }
	web.Do(t, "PUT", path, map[string]any{"is_private": 1}, 200, &moved)
	if moved.Data["file_url"] != "/private/files/mine.pdf" {
		t.Fatalf("privacy did not move the URL: %v", moved.Data)
	}
	if r := download(t, w.clients[guestUser], "/private/files/mine.pdf"); r.Status != 403 {
		t.Fatalf("now private: %d", r.Status)
	}
	if r := download(t, w.clients[guestUser], "/files/mine.pdf"); r.Status != 404 {
		t.Fatalf("the public URL still serves: %d", r.Status)
	}
	web.Do(t, "POST", "/api/resource/File", map[string]any{"file_name": "link", "file_url": "https://example.com/a.pdf"}, 200, nil)
}
