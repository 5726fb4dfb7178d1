package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startServe runs the serve command on a random port until the returned
// stop function is called; it returns the base URL.
func startServe(t *testing.T, dir string, env map[string]string, stdout io.Writer) (string, func()) {
	t.Helper()
	cfg, err := parseServeFlags([]string{"--data", dir, "--http", "127.0.0.1:0", "--log-level", "warn"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, stdout, io.Discard, ready) }()
	select {
	case addr := <-ready:
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
		t.Cleanup(stop)
		return "http://" + addr, stop
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve not ready after 60s")
	}
	return "", nil
}

// fetch sends a request (a JSON body, when not empty) with header pairs
// and returns the response's status, body and header.
func fetch(t *testing.T, method, url, body string, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// request is fetch for a JSON answer.
func request(t *testing.T, method, url, body string, header ...string) (int, map[string]any, http.Header) {
	t.Helper()
	status, raw, h := fetch(t, method, url, body, header...)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, raw)
	}
	return status, out, h
}

// TestServeKeepsDataAcrossRestarts runs the real serve command twice on
// one data directory.
func TestServeKeepsDataAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DOCKET_ADMIN_PASSWORD": "s3cret-pass"}
	var out bytes.Buffer
	base, stop := startServe(t, dir, env, &out)
	if strings.Contains(out.String(), "Administrator password") {
		t.Fatalf("printed a password it was given: %q", out.String())
	}
	status, body, header := request(t, "POST", base+"/api/method/login", `{"usr":"Administrator","pwd":"s3cret-pass"}`)
	if status != 200 || body["message"] != "Logged In" {
		t.Fatalf("login: %d %v", status, body)
	}
	cookie := header.Get("Set-Cookie")
	sid := regexp.MustCompile(`sid=([0-9a-f]+)`).FindStringSubmatch(cookie)
	if sid == nil || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Fatalf("sid cookie %q", cookie)
	}
	status, body, _ = request(t, "POST", base+"/api/resource/ToDo", `{"description":"survives"}`, "Cookie", "sid="+sid[1])
	if status != 200 {
		t.Fatalf("create: %d %v", status, body)
	}
	name := body["data"].(map[string]any)["name"].(string)
	stop()

	base, _ = startServe(t, dir, env, &out)
	// The session lives in JetStream: it survives the restart too.
	status, body, _ = request(t, "GET", base+"/api/resource/ToDo/"+name, "", "Cookie", "sid="+sid[1])
	if status != 200 || body["data"].(map[string]any)["description"] != "survives" {
		t.Fatalf("after restart: %d %v", status, body)
	}
}

// TestServePrintsAGeneratedPasswordOnce checks the first start prints
// the Administrator password it generated, and later starts do not.
func TestServePrintsAGeneratedPasswordOnce(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	base, stop := startServe(t, dir, nil, &out)
	m := regexp.MustCompile(`Administrator password \(shown once[^)]*\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed: %q", out.String())
	}
	status, body, _ := request(t, "POST", base+"/api/method/login", `{"usr":"Administrator","pwd":"`+m[1]+`"}`)
	if status != 200 {
		t.Fatalf("login with the printed password: %d %v", status, body)
	}
	stop()
	out.Reset()
	startServe(t, dir, nil, &out)
	if strings.Contains(out.String(), "password") {
		t.Fatalf("second start printed %q", out.String())
	}
}

func TestRunRejectsUnknownCommands(t *testing.T) {
	err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("err = %v", err)
	}
	if _, err := parseServeFlags([]string{"--nope"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
}
