package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"docket/eventlog"
)

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// upload uploads a public file and returns its URL.
func upload(t *testing.T, base, cookie, name string, content []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.WriteField("is_private", "0")
	mw.Close()
	req, err := http.NewRequest("POST", base+"/api/method/upload_file", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	return "/files/" + name
}

// TestBackupAndRestore backs up a node with documents, a user, a session
// and a file, while it runs (over NATS) and stopped (its data directory,
// as a tar), restores each into a new directory, and finds everything
// there: on a node started on the restore, and with docket verify.
func TestBackupAndRestore(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	natsAddr := freeAddr(t)
	env := map[string]string{"DOCKET_ADMIN_PASSWORD": "backup-pass-1", "DOCKET_NATS_LISTEN": natsAddr}
	base, stop := startServe(t, dir, env, io.Discard)
	cookie := login(t, base, "backup-pass-1")
	var names []string
	for _, d := range []string{"first", "second", "third"} {
		_, out, _ := request(t, "POST", base+"/api/resource/ToDo", `{"description":"`+d+`"}`, "Cookie", cookie)
		names = append(names, out["data"].(map[string]any)["name"].(string))
	}
	if status, out, _ := request(t, "POST", base+"/api/resource/User", `{"email":"jane@example.com","first_name":"Jane","new_password":"jane-secret-1"}`, "Cookie", cookie); status != 200 {
		t.Fatalf("user: %d %v", status, out)
	}
	content := bytes.Repeat([]byte("the bytes of a file that must come back\n"), 5000)
	fileURL := upload(t, base, cookie, "kept.txt", content)

	// While the node runs: over NATS, a consistent copy of each stream.
	running := filepath.Join(work, "running")
	if _, err := docket(t, "backup", "--data", dir, "--out", running); err == nil || !strings.Contains(err.Error(), "--nats-url") {
		t.Errorf("backup --data of a running node: %v; want it refused", err)
	}
	out, err := docket(t, "backup", "--nats-url", "nats://"+natsAddr, "--out", running)
	if err != nil {
		t.Fatalf("backup of a running node: %v", err)
	}
	for _, want := range []string{"DOCS: ", "KV_docket_secrets: ", "KV_docket_sessions: ", "OBJ_docket_files: ", "backup of 5 streams written to " + running} {
		if !strings.Contains(out, want) {
			t.Errorf("backup output lacks %q:\n%s", want, out)
		}
	}
	_, later, _ := request(t, "POST", base+"/api/resource/ToDo", `{"description":"after the first backup"}`, "Cookie", cookie)
	laterName := later["data"].(map[string]any)["name"].(string)
	stop()

	// Stopped: its data directory, as one tar file.
	tarFile := filepath.Join(work, "stopped.tar")
	if _, err := docket(t, "backup", "--data", dir, "--out", tarFile); err != nil {
		t.Fatalf("backup of a stopped node: %v", err)
	}

	restored := filepath.Join(work, "restored")
	out, err = docket(t, "restore", "--in", running, "--data", restored)
	if err != nil || !strings.Contains(out, "start docket with --data "+restored) {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if _, err := docket(t, "restore", "--in", running, "--data", restored); err == nil || !strings.Contains(err.Error(), "holds data already") {
		t.Errorf("a restore over a restored directory: %v", err)
	}
	base, stop = startServe(t, restored, map[string]string{"DOCKET_ADMIN_PASSWORD": "backup-pass-1"}, io.Discard)
	for i, d := range []string{"first", "second", "third"} {
		status, out, _ := request(t, "GET", base+"/api/resource/ToDo/"+names[i], "", "Cookie", cookie) // the session came back too
		if status != 200 || out["data"].(map[string]any)["description"] != d {
			t.Errorf("ToDo %s restored: %d %v", names[i], status, out)
		}
	}
	if status, _, _ := request(t, "GET", base+"/api/resource/ToDo/"+laterName, "", "Cookie", cookie); status != 404 {
		t.Errorf("a ToDo written after the backup: %d", status)
	}
	if status, out, _ := request(t, "POST", base+"/api/method/login", `{"usr":"jane@example.com","pwd":"jane-secret-1"}`); status != 200 {
		t.Errorf("Jane's login after the restore: %d %v", status, out)
	}
	if status, body, _ := fetch(t, "GET", base+fileURL, ""); status != 200 || !bytes.Equal(body, content) {
		t.Errorf("file after the restore: %d, %d bytes", status, len(body))
	}
	stop()
	if out, err := docket(t, "verify", "--data", restored); err != nil || !strings.Contains(out, "compared key by key") {
		t.Errorf("verify of the restored node: %v\n%s", err, out)
	}

	fromTar := filepath.Join(work, "from-tar")
	if _, err := docket(t, "restore", "--in", tarFile, "--data", fromTar); err != nil {
		t.Fatalf("restore of the tar: %v", err)
	}
	if out, err := docket(t, "verify", "--data", fromTar); err != nil || !strings.Contains(out, "every chain intact") {
		t.Errorf("verify of the restored tar: %v\n%s", err, out)
	}
	if seqs := replaySeqs(t, "--data", fromTar, "--doctype", "ToDo", "--name", laterName); len(seqs) != 1 {
		t.Errorf("the stopped node's backup holds %d events of the later ToDo, want 1", len(seqs))
	}
	if entries, _ := os.ReadDir(fromTar); len(entries) != 1 {
		t.Errorf("restore left %d entries in %s, want nats only", len(entries), fromTar)
	}

	// Into a running NATS (a new cluster's, say) without docket's streams.
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if _, err := docket(t, "restore", "--in", running, "--nats-url", ns.ClientURL(), "--replicas", "1"); err != nil {
		t.Fatalf("restore into a running NATS: %v", err)
	}
	if out, err := docket(t, "verify", "--nats-url", ns.ClientURL()); err != nil || !strings.Contains(out, "every chain intact") {
		t.Errorf("verify of the restored NATS: %v\n%s", err, out)
	}
	if _, err := docket(t, "restore", "--in", running, "--nats-url", ns.ClientURL()); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a second restore into the same NATS: %v", err)
	}
}
