package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"docket/eventlog"
)

// waitUntil polls cond until it holds, failing the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getText gets a URL with header pairs and returns its status and body.
func getText(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	status, body, _ := fetch(t, "GET", url, "", header...)
	return status, string(body)
}

// sample returns the value of one sample in Prometheus' text format, or
// -1 when there is none.
func sample(body, name string) float64 {
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return -1
}

// login logs the Administrator in and returns its Cookie header value.
func login(t *testing.T, base, password string) string {
	t.Helper()
	status, body, header := request(t, "POST", base+"/api/method/login", `{"usr":"Administrator","pwd":"`+password+`"}`)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	sid := regexp.MustCompile(`sid=([0-9a-f]+)`).FindStringSubmatch(header.Get("Set-Cookie"))
	if sid == nil {
		t.Fatalf("no sid in %q", header.Get("Set-Cookie"))
	}
	return "sid=" + sid[1]
}

// TestServeOpsEndpoints: a node serves /healthz and /readyz to anyone,
// and /metrics on its HTTP address to a System Manager: requests by
// route, the projector, the streams, auth failures. Frappe's ping stays.
func TestServeOpsEndpoints(t *testing.T) {
	env := map[string]string{"DOCKET_ADMIN_PASSWORD": "ops-pass-1", "DOCKET_READY_MAX_LAG": "5s"}
	base, _ := startServe(t, t.TempDir(), env, io.Discard)
	if status, body := getText(t, base+"/healthz"); status != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", status, body)
	}
	status, body := getText(t, base+"/readyz")
	var r struct {
		Ready      bool
		AppliedSeq uint64 `json:"applied_seq"`
		MaxLag     string `json:"max_lag"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || status != 200 || !r.Ready || r.AppliedSeq == 0 || r.MaxLag != "5s" {
		t.Errorf("/readyz: %d %s", status, body)
	}
	if status, out, _ := request(t, "GET", base+"/api/method/ping", ""); status != 200 || out["message"] != "pong" {
		t.Errorf("ping: %d %v", status, out)
	}
	if status, _ := getText(t, base+"/metrics"); status != 403 {
		t.Errorf("/metrics as Guest: %d", status)
	}
	request(t, "POST", base+"/api/method/login", `{"usr":"Administrator","pwd":"wrong"}`)
	cookie := login(t, base, "ops-pass-1")
	request(t, "POST", base+"/api/resource/ToDo", `{"description":"counted"}`, "Cookie", cookie)
	status, body = getText(t, base+"/metrics", "Cookie", cookie)
	if status != 200 {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	for name, want := range map[string]float64{
		`docket_http_requests_total{code="200",method="POST",route="/api/resource/{doctype}"}`: 1,
		`docket_http_requests_total{code="200",method="GET",route="/readyz"}`:                  1,
		`docket_http_requests_total{code="401",method="POST",route="/api/method/{method...}"}`: 1,
		`docket_auth_failures_total{kind="password"}`:                                          1,
		"docket_projector_running":              1,
		"docket_projector_lag_messages":         0,
		"docket_projector_events_skipped_total": 0,
		"docket_ready":                          1,
		"docket_jetstream_up":                   1,
	} {
		if got := sample(body, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	seq := sample(body, "docket_projector_applied_seq")
	for _, stream := range []string{"DOCS", "KV_docket_secrets", "KV_docket_sessions", "KV_docket_oauth", "OBJ_docket_files"} {
		if sample(body, `docket_stream_messages{stream="`+stream+`"}`) < 0 {
			t.Errorf("no docket_stream_messages for %s", stream)
		}
	}
	if last := sample(body, `docket_stream_last_seq{stream="DOCS"}`); seq <= 0 || last != seq {
		t.Errorf("applied seq %v, DOCS last seq %v", seq, last)
	}
}

// stoppedLog opens a stopped node's log (read-only: raw publishes only)
// on an embedded server of its own; close stops the server.
func stoppedLog(t *testing.T, dir string) (lg *eventlog.Log, close func()) {
	t.Helper()
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := eventlog.ConnectInProcess(ns, "forger")
	if err != nil {
		ns.Shutdown()
		t.Fatal(err)
	}
	close = func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() }
	if lg, err = eventlog.Open(context.Background(), nc, eventlog.Options{ReadOnly: true}); err != nil {
		close()
		t.Fatal(err)
	}
	return lg, close
}

// publishRaw publishes a message straight into a stopped node's log, as
// anyone with access to NATS could, and returns its sequence.
func publishRaw(t *testing.T, dir, subject string, data []byte) eventlog.Seq {
	t.Helper()
	lg, close := stoppedLog(t, dir)
	defer close()
	ack, err := lg.JetStream().PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return eventlog.Seq(ack.Sequence)
}

// TestServeReportsABadEvent: an event the projector cannot apply, written
// straight into the stream, is skipped; what was written before and after
// it is served, the node stays ready, and /readyz and /metrics name it.
func TestServeReportsABadEvent(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DOCKET_ADMIN_PASSWORD": "ops-pass-1"}
	base, stop := startServe(t, dir, env, io.Discard)
	cookie := login(t, base, "ops-pass-1")
	_, out, _ := request(t, "POST", base+"/api/resource/ToDo", `{"description":"before"}`, "Cookie", cookie)
	before := out["data"].(map[string]any)["name"].(string)
	stop()
	bad := publishRaw(t, dir, eventlog.DocSubject("ToDo", "garbage"), []byte("not an event \xc1"))

	base, _ = startServe(t, dir, env, io.Discard)
	status, out, _ := request(t, "POST", base+"/api/resource/ToDo", `{"description":"after"}`, "Cookie", cookie)
	if status != 200 {
		t.Fatalf("write after the bad event: %d %v", status, out)
	}
	for _, path := range []string{"/api/resource/ToDo/" + before, "/api/resource/ToDo/" + out["data"].(map[string]any)["name"].(string)} {
		if status, out, _ := request(t, "GET", base+path, "", "Cookie", cookie); status != 200 {
			t.Errorf("GET %s: %d %v", path, status, out)
		}
	}
	status, body := getText(t, base+"/readyz")
	var r struct {
		Ready          bool
		Skipped        int
		LastSkippedSeq eventlog.Seq `json:"last_skipped_seq"`
		Notes          []string
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || status != 200 || !r.Ready || r.Skipped != 1 || r.LastSkippedSeq != bad ||
		len(r.Notes) != 1 || !strings.Contains(r.Notes[0], fmt.Sprintf("at seq %d", bad)) {
		t.Errorf("/readyz: %d %s; want ready, 1 skipped at seq %d", status, body, bad)
	}
	_, body = getText(t, base+"/metrics", "Cookie", cookie)
	if got := sample(body, "docket_projector_events_skipped_total"); got != 1 {
		t.Errorf("docket_projector_events_skipped_total = %v, want 1", got)
	}
	if got := sample(body, "docket_projector_last_skipped_seq"); got != float64(bad) {
		t.Errorf("docket_projector_last_skipped_seq = %v, want %d", got, bad)
	}
}

// TestOpsHelperProcess is not a test: it runs docket as its main does,
// for tests that need a real process (signals, exit codes).
func TestOpsHelperProcess(t *testing.T) {
	args := os.Getenv("DOCKET_TEST_HELPER_ARGS")
	if args == "" {
		t.Skip("runs docket for other tests")
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(mainCode(argv))
}

// process is docket running as a child process.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	seen chan struct{} // a log line arrived
}

// startProcess runs docket with args in a child process.
func startProcess(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpsHelperProcess$")
	cmd.Env = append(os.Environ(), "DOCKET_TEST_HELPER_ARGS="+string(argv))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, seen: make(chan struct{}, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.seen <- struct{}{}:
			default:
			}
		}
	}()
	return p
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// await waits for a log line matching re and returns its first group.
func (p *process) await(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(time.Minute)
	for {
		if m := rx.FindStringSubmatch(p.log()); m != nil {
			return m[1]
		}
		select {
		case <-p.seen:
		case <-timeout:
			t.Fatalf("no log line %s after a minute:\n%s", re, p.log())
		}
	}
}

// TestGracefulShutdown: SIGTERM while an upload is in flight: the node
// turns unready, refuses new connections, finishes the upload with 200,
// and exits 0. The metrics listener of its own serves throughout.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a process")
	}
	p := startProcess(t, map[string]string{"DOCKET_ADMIN_PASSWORD": "drain-pass-1"},
		"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--log-level", "info")
	metrics := "http://" + p.await(t, `msg="metrics served" addr=(\S+)`)
	addr := p.await(t, `msg="docket serving" http=(\S+)`)
	base := "http://" + addr
	cookie := login(t, base, "drain-pass-1")
	if status, body := getText(t, metrics+"/metrics"); status != 200 || sample(body, "docket_ready") != 1 {
		t.Fatalf("metrics listener: %d %s", status, body)
	}
	if status, _ := getText(t, base+"/metrics", "Cookie", cookie); status != 404 {
		t.Errorf("/metrics on the HTTP address while it has a listener of its own: %d", status)
	}

	// An upload whose body arrives slowly: in flight until we finish it.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequest("POST", base+"/api/method/upload_file", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", cookie)
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	part, err := mw.CreateFormFile("file", "slow.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(part, "the first half, ")
	waitUntil(t, "the upload in flight", func() bool {
		_, body := getText(t, metrics+"/metrics")
		return sample(body, "docket_http_requests_in_flight") == 1
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "new connections refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	status, body := getText(t, metrics+"/readyz")
	if status != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while draining: %d %s", status, body)
	}

	io.WriteString(part, "and the rest")
	mw.Close()
	pw.Close()
	res := <-done
	if res.err != nil || res.status != 200 || !strings.Contains(res.body, `"file_name":"slow.txt"`) {
		t.Fatalf("the upload in flight at SIGTERM: %d %s %v", res.status, res.body, res.err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.log())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if log := p.log(); strings.Contains(log, "level=ERROR") {
		t.Errorf("errors logged:\n%s", log)
	}
}

// TestHelpExitsZero: -h prints a command's flags and exits 0.
func TestHelpExitsZero(t *testing.T) {
	p := startProcess(t, nil, "serve", "-h")
	p.await(t, `(DOCKET_SHUTDOWN_TIMEOUT)`) // the usage is read before Wait closes the pipe
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve -h: %v\n%s", err, p.log())
	}
}
