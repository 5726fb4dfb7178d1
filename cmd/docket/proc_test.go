package main

// A harness for fault tests: docket nodes as real processes, built from
// this package with go build, on loopback ports, killed and restarted;
// a write load of many clients; and checks that wait for conditions.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"docket/eventlog/eventlogtest"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// docketBinary builds ./cmd/docket once per test run.
func docketBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "docket-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "docket")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// adminPassword is the Administrator's password on the test nodes.
const adminPassword = "fault-test-pass"

// proc is a docket node run as a process.
type proc struct {
	t    testing.TB
	name string
	dir  string // data directory
	args []string
	env  []string // more environment variables (NAME=value)
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how the process ended, once done is closed
}

// newProc describes a node storing in dir and serving HTTP on a free
// loopback port; extra are more serve flags.
func newProc(t testing.TB, name, dir string, extra ...string) *proc {
	port := eventlogtest.FreePorts(t, 1)[0]
	p := &proc{t: t, name: name, dir: dir, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.args = append([]string{"serve", "--data", dir, "--http", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "info"}, extra...)
	t.Cleanup(func() {
		if p.running() && t.Failed() {
			p.quit()
		}
		if p.running() {
			p.kill()
		}
		if t.Failed() {
			p.logTail(40)
			p.stacks()
		}
	})
	return p
}

func (p *proc) logFile() string { return p.dir + ".log" }

// start starts the process (its output appended to dir.log).
func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.logFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.StampMilli))
	p.cmd = exec.Command(docketBinary(p.t), p.args...)
	p.cmd.Env = append(os.Environ(), "DOCKET_ADMIN_PASSWORD="+adminPassword, "GOTRACEBACK=all")
	p.cmd.Env = append(p.cmd.Env, p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
}

func (p *proc) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL (kill -9).
func (p *proc) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// quit ends the process with SIGQUIT, which makes the Go runtime write
// every goroutine's stack to the log (see stacks).
func (p *proc) quit() {
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// stop ends the process with SIGTERM and waits for its clean exit.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Errorf("%s exited with %v", p.name, p.err)
		}
	case <-time.After(60 * time.Second):
		p.kill()
		p.t.Fatalf("%s did not stop within 60s of SIGTERM", p.name)
	}
}

// waitReady waits until the node answers /api/method/ping, failing when
// the process ends first or within the bound.
func (p *proc) waitReady(within time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	for {
		if resp, err := http.Get(p.URL + "/api/method/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		select {
		case <-p.done:
			p.logTail(30)
			p.t.Fatalf("%s ended before it was ready: %v", p.name, p.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > within {
			p.logTail(30)
			p.t.Fatalf("%s not ready after %s", p.name, within)
		}
	}
}

// waitLog waits until the node's log has a line containing s.
func (p *proc) waitLog(t testing.TB, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if b, _ := os.ReadFile(p.logFile()); strings.Contains(string(b), s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s logged no %q within %s", p.name, s, within)
		}
		time.Sleep(100 * time.Millisecond) // polling a file the node appends to
	}
}

// logTail logs the last n lines of the node's log, without the lines of
// a goroutine dump and without NATS's retries of a route to a node that
// is down (which would fill the tail of a node whose peer was killed).
func (p *proc) logTail(n int) {
	b, _ := os.ReadFile(p.logFile())
	log, _, _ := strings.Cut(string(b), "\nSIGQUIT: quit")
	var lines []string
	for l := range strings.SplitSeq(strings.TrimRight(log, "\n"), "\n") {
		if !strings.Contains(l, "Error trying to connect to route") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	p.t.Logf("--- %s log (last %d lines):\n%s", p.name, len(lines), strings.Join(lines, "\n"))
}

// stacks logs the goroutines of the node's last goroutine dump (see quit)
// that run docket's own code: where a node that stopped making progress
// waits.
func (p *proc) stacks() {
	b, _ := os.ReadFile(p.logFile())
	i := bytes.LastIndex(b, []byte("\nSIGQUIT: quit"))
	if i < 0 {
		return
	}
	var keep []string
	for g := range strings.SplitSeq(string(b[i:]), "\n\n") {
		if strings.Contains(g, "docket/") && !strings.Contains(g, "net/http.(*conn).serve") {
			keep = append(keep, g)
		}
	}
	p.t.Logf("--- %s goroutines running docket code at SIGQUIT (%d):\n%s", p.name, len(keep), strings.Join(keep, "\n\n"))
}

// client sends requests as one user.
type client struct {
	auth string // Authorization header
	http *http.Client
}

func newClient(auth string) *client {
	return &client{auth: auth, http: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
}

// do sends a request; header are extra header pairs. It returns the
// status, the decoded body and the response header; err only for a
// transport failure.
func (c *client) do(method, url, body string, header ...string) (int, map[string]any, http.Header, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return resp.StatusCode, nil, resp.Header, fmt.Errorf("%s %s: not JSON (%d): %.200s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header, nil
}

// adminToken logs in as the Administrator on base and returns an
// "Authorization: token key:secret" value.
func adminToken(t testing.TB, base string) string {
	t.Helper()
	c := newClient("")
	status, body, header, err := c.do("POST", base+"/api/method/login", `{"usr":"Administrator","pwd":"`+adminPassword+`"}`)
	if err != nil || status != 200 {
		t.Fatalf("login: %d %v %v", status, body, err)
	}
	sid := ""
	for _, ck := range (&http.Response{Header: header}).Cookies() {
		if ck.Name == "sid" {
			sid = ck.Value
		}
	}
	status, body, _, err = c.do("POST", base+"/api/method/frappe.core.doctype.user.user.generate_keys",
		`{"user":"Administrator"}`, "Cookie", "sid="+sid)
	if err != nil || status != 200 {
		t.Fatalf("generate_keys: %d %v %v", status, body, err)
	}
	m := body["message"].(map[string]any)
	return "token " + m["api_key"].(string) + ":" + m["api_secret"].(string)
}

// seqHeader reads X-Docket-Seq.
func seqHeader(h http.Header) uint64 {
	n, _ := strconv.ParseUint(h.Get("X-Docket-Seq"), 10, 64)
	return n
}

// load is a write load: clients inserting ToDos with unique
// descriptions, each sent once, never retried.
type load struct {
	mu     sync.Mutex
	acked  map[string]string // description → name, for 200 answers
	sent   map[string]bool   // every description sent
	maxSeq uint64            // the highest X-Docket-Seq answered
	n      atomic.Int64      // acknowledged writes
	failed atomic.Int64      // writes without an answer or with an error
	stop   chan struct{}
	wg     sync.WaitGroup
	// crossReads counts reads of a client's own write through another
	// node with X-Docket-Min-Seq; crossMissed those that did not find it
	// (missed says which), crossUnavailable those answered 5xx
	// (unavailable says which).
	crossReads, crossMissed, crossUnavailable atomic.Int64
	missed, unavailable                       []string
}

// startLoad starts clients; client i writes through targets()[i %
// len] and moves to the next target when a request fails. With
// crossRead, every fourth acknowledged write is read back through the
// next target, naming the write's sequence in X-Docket-Min-Seq.
func startLoad(auth string, clients int, targets func() []string, crossRead bool) *load {
	l := &load{acked: map[string]string{}, sent: map[string]bool{}, stop: make(chan struct{})}
	c := newClient(auth)
	for i := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			at := i
			for j := 0; ; j++ {
				select {
				case <-l.stop:
					return
				default:
				}
				urls := targets()
				base := urls[at%len(urls)]
				desc := fmt.Sprintf("load c%d w%d", i, j)
				l.mu.Lock()
				l.sent[desc] = true
				l.mu.Unlock()
				status, body, header, err := c.do("POST", base+"/api/resource/ToDo", `{"description":"`+desc+`"}`)
				if err != nil || status != 200 {
					l.failed.Add(1)
					at++ // this node may be down: try the next
					select {
					case <-l.stop:
						return
					case <-time.After(20 * time.Millisecond): // a client's back-off
					}
					continue
				}
				name := body["data"].(map[string]any)["name"].(string)
				seq := seqHeader(header)
				l.mu.Lock()
				l.acked[desc] = name
				l.maxSeq = max(l.maxSeq, seq)
				l.mu.Unlock()
				l.n.Add(1)
				if crossRead && j%4 == 0 && len(urls) > 1 {
					l.crossRead(c, urls[(at+1)%len(urls)], name, desc, seq)
				}
			}
		}()
	}
	return l
}

// crossRead reads a write back through another node.
func (l *load) crossRead(c *client, base, name, desc string, seq uint64) {
	status, body, _, err := c.do("GET", base+"/api/resource/ToDo/"+name, "", "X-Docket-Min-Seq", strconv.FormatUint(seq, 10))
	switch {
	case err != nil: // that node is down
		return
	case status >= 500: // that node has not caught up within the bound (503), or timed out
		l.crossUnavailable.Add(1)
		l.mu.Lock()
		l.unavailable = append(l.unavailable, fmt.Sprintf("%s at %d through %s: %d %v", name, seq, base, status, body["exc_type"]))
		l.mu.Unlock()
		return
	}
	l.crossReads.Add(1)
	if status != 200 || body["data"].(map[string]any)["description"] != desc {
		l.crossMissed.Add(1)
		l.mu.Lock()
		l.missed = append(l.missed, fmt.Sprintf("%s at %d through %s: %d %v", name, seq, base, status, body))
		l.mu.Unlock()
	}
}

// waitAcked waits until n more writes than before have been
// acknowledged, within a bound.
func (l *load) waitAcked(t testing.TB, n int64, within time.Duration) {
	t.Helper()
	target := l.n.Load() + n
	deadline := time.Now().Add(within)
	for l.n.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d writes acknowledged within %s (%d failed)", l.n.Load(), target, within, l.failed.Load())
		}
		time.Sleep(10 * time.Millisecond) // polling a counter the clients advance
	}
}

func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

// todos lists every ToDo through base: description → names.
func todos(t testing.TB, c *client, base string, minSeq uint64) map[string][]string {
	t.Helper()
	status, body, _, err := c.do("GET", base+`/api/resource/ToDo?fields=["name","description"]&limit_page_length=0&order_by=name%20asc`, "",
		"X-Docket-Min-Seq", strconv.FormatUint(minSeq, 10))
	if err != nil || status != 200 {
		t.Fatalf("list through %s: %d %v", base, status, err)
	}
	out := map[string][]string{}
	for _, r := range body["data"].([]any) {
		row := r.(map[string]any)
		d, _ := row["description"].(string)
		out[d] = append(out[d], row["name"].(string))
	}
	return out
}

// checkExactlyOnce checks that every acknowledged write is present once,
// under the name it was acknowledged with, and that no write is present
// twice or was never sent.
func (l *load) checkExactlyOnce(t testing.TB, got map[string][]string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, dup, strange := 0, 0, 0
	for desc, name := range l.acked {
		names := got[desc]
		if len(names) == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged write %q (%s) is missing", desc, name)
			}
		} else if names[0] != name {
			t.Errorf("acknowledged write %q is %v, not %s", desc, names, name)
		}
	}
	for desc, names := range got {
		if !strings.HasPrefix(desc, "load ") {
			continue
		}
		if len(names) > 1 {
			dup++
			t.Errorf("write %q is present %d times: %v", desc, len(names), names)
		}
		if !l.sent[desc] {
			strange++
			t.Errorf("write %q was never sent", desc)
		}
	}
	unacked := 0
	for desc := range got {
		if _, ok := l.acked[desc]; !ok && strings.HasPrefix(desc, "load ") {
			unacked++
		}
	}
	t.Logf("%d writes acknowledged, %d lost, %d duplicated; %d sent without an answer, %d of those were stored",
		len(l.acked), lost, dup, len(l.sent)-len(l.acked), unacked)
}

// sameAnswers compares the answers of several nodes.
func sameAnswers(t testing.TB, what string, answers map[string]map[string][]string) {
	t.Helper()
	var names []string
	for n := range answers {
		names = append(names, n)
	}
	sort.Strings(names)
	first, _ := json.Marshal(answers[names[0]])
	for _, n := range names[1:] {
		if b, _ := json.Marshal(answers[n]); !bytes.Equal(b, first) {
			t.Errorf("%s: %s answers differently from %s (%d vs %d descriptions)", what, n, names[0], len(answers[n]), len(answers[names[0]]))
		}
	}
}
