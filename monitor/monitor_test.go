package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
	"docket/monitor"
	"docket/projections"
)

// node is a real log, a real store and its projector, and a monitor
// served over loopback HTTP.
type node struct {
	t     *testing.T
	ctx   context.Context
	env   *eventlogtest.Env
	store *projections.Store
	proj  *projections.Projector
	mon   *monitor.Monitor
	url   string
}

func newNode(t *testing.T, opts monitor.Options) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	env := eventlogtest.Start(t, "")
	store, err := projections.Open(filepath.Join(t.TempDir(), "pebble"), projections.Options{CacheSize: 4 << 20, MemTableSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	proj := projections.NewProjector(store, env.Log, nil)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proj.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
		store.Close()
	})
	n := &node{t: t, ctx: ctx, env: env, store: store, proj: proj, mon: monitor.New(env.Log, proj, opts)}
	n.mon.Started()
	srv := httptest.NewServer(n.mon.Handler())
	t.Cleanup(srv.Close)
	n.url = srv.URL
	return n
}

// write appends version 1 of a ToDo, as docket writes it.
func (n *node) write(name string) eventlog.Seq {
	n.t.Helper()
	ev := &eventlog.Event{Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Insert, DocType: "ToDo", Name: name,
		Version: 1, Doc: map[string]any{"name": name, "description": "x"}, User: "Administrator",
		Time: time.Now().UnixMicro(), Tx: eventlog.NewID()}
	w, err := eventlog.EventWrite(ev, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	seqs, err := n.env.Log.Append(n.ctx, w)
	if err != nil {
		n.t.Fatal(err)
	}
	return seqs[0]
}

// forge publishes a body straight into the stream, past docket's writer,
// as anyone with access to NATS could.
func (n *node) forge(subject string, data []byte) eventlog.Seq {
	n.t.Helper()
	ack, err := n.env.Log.JetStream().PublishMsg(n.ctx, &nats.Msg{Subject: subject, Data: data})
	if err != nil {
		n.t.Fatal(err)
	}
	return eventlog.Seq(ack.Sequence)
}

func (n *node) waitFor(seq eventlog.Seq) {
	n.t.Helper()
	if err := n.store.WaitFor(n.ctx, seq); err != nil {
		n.t.Fatalf("WaitFor(%d): %v", seq, err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func (n *node) readyz() (int, monitor.Readiness) {
	n.t.Helper()
	status, body := get(n.t, n.url+"/readyz")
	var r monitor.Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		n.t.Fatalf("/readyz: %v: %s", err, body)
	}
	return status, r
}

// metric returns the value of one sample of the text format ("name" or
// `name{label="value"}`), failing when there is none.
func metric(t *testing.T, body, sample string) float64 {
	t.Helper()
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s in\n%s", sample, body)
	return 0
}

// TestBadEventIsVisible: an event the projector cannot apply, written
// straight into the stream, is skipped; the events after it are applied,
// the node stays ready, and both /readyz and /metrics show the skip.
func TestBadEventIsVisible(t *testing.T) {
	n := newNode(t, monitor.Options{})
	n.waitFor(n.write("before"))
	bad := n.forge(eventlog.DocSubject("ToDo", "garbage"), []byte("not msgpack \xc1"))
	last := n.write("after")
	n.waitFor(last)
	for _, name := range []string{"before", "after"} {
		if _, err := n.store.Get("ToDo", name); err != nil {
			t.Errorf("ToDo %s: %v", name, err)
		}
	}
	if _, err := n.store.Get("ToDo", "garbage"); err == nil {
		t.Error("the bad event was applied")
	}

	status, r := n.readyz()
	if status != http.StatusOK || !r.Ready || r.Skipped != 1 || r.LastSkippedSeq != uint64(bad) ||
		r.AppliedSeq != uint64(last) || r.LastSeq != uint64(last) || r.Lag != 0 {
		t.Errorf("/readyz = %d %+v; want 200, ready at seq %d, 1 skipped at seq %d", status, r, last, bad)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "1 bad event") || !strings.Contains(r.Notes[0], "seq "+strconv.Itoa(int(bad))) {
		t.Errorf("/readyz notes %q; want the skipped event named", r.Notes)
	}

	status, body := get(t, n.url+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	for sample, want := range map[string]float64{
		"docket_projector_events_skipped_total":       1,
		"docket_projector_last_skipped_seq":           float64(bad),
		"docket_projector_applied_seq":                float64(last),
		"docket_projector_messages_applied_total":     float64(last) - 1,
		"docket_projector_lag_messages":               0,
		"docket_projector_running":                    1,
		"docket_ready":                                1,
		"docket_jetstream_up":                         1,
		`docket_stream_last_seq{stream="DOCS"}`:       float64(last),
		`docket_stream_messages{stream="DOCS"}`:       float64(last),
		`docket_auth_failures_total{kind="password"}`: 0,
	} {
		if got := metric(t, body, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
}

// TestReadyzLag: the node is unready while the projections trail the
// log by more than the bound, in messages or in time.
func TestReadyzLag(t *testing.T) {
	env := eventlogtest.Start(t, "")
	n := &node{t: t, ctx: context.Background(), env: env}
	for i := range 3 {
		n.write("todo-" + strconv.Itoa(i))
	}
	behind := &fakeProjector{st: projections.ProjectorStatus{Running: true, Seq: 0}}
	for _, c := range []struct {
		bound  monitor.Lag
		ready  bool
		reason string
	}{
		{monitor.Lag{Messages: 3}, true, ""},
		{monitor.Lag{Messages: 2}, false, "trail the log by 3 messages (bound 2)"},
		{monitor.Lag{Time: time.Hour}, true, ""},
		{monitor.Lag{Time: time.Nanosecond}, false, "(3 messages, bound 1ns)"},
	} {
		m := monitor.New(env.Log, behind, monitor.Options{MaxLag: c.bound})
		m.Started()
		r := m.Check(context.Background())
		if r.Ready != c.ready || r.Lag != 3 || r.MaxLag != c.bound.String() || (c.reason != "" && (len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], c.reason))) {
			t.Errorf("bound %s: %+v; want ready %v, lag 3, reason %q", c.bound, r, c.ready, c.reason)
		}
	}
}

// TestReadyzReasons: starting, shutting down, a projector that stopped
// and a log out of reach each make the node unready, and say so.
func TestReadyzReasons(t *testing.T) {
	env := eventlogtest.Start(t, "")
	p := &fakeProjector{st: projections.ProjectorStatus{Running: true}}
	m := monitor.New(env.Log, p, monitor.Options{})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	n := &node{t: t, url: srv.URL}
	check := func(want string) {
		t.Helper()
		status, r := n.readyz()
		switch {
		case want == "" && (status != http.StatusOK || !r.Ready):
			t.Errorf("/readyz = %d %+v; want ready", status, r)
		case want != "" && (status != http.StatusServiceUnavailable || r.Ready || !strings.Contains(strings.Join(r.Reasons, "; "), want)):
			t.Errorf("/readyz = %d %+v; want 503 saying %q", status, r, want)
		}
	}
	check("starting")
	m.Started()
	check("")
	if r := m.Check(context.Background()); r.MaxLag != "1000" {
		t.Errorf("max lag %q, want the default 1000", r.MaxLag)
	}
	p.st = projections.ProjectorStatus{Err: errors.New("pebble: disk full")}
	check("projector stopped: pebble: disk full")
	p.st = projections.ProjectorStatus{Running: true}
	m.Stopping()
	check("shutting down")
	m = monitor.New(env.Log, p, monitor.Options{})
	m.Started()
	env.Stop()
	if r := m.Check(context.Background()); r.Ready || len(r.Reasons) != 1 || !strings.HasPrefix(r.Reasons[0], "log unavailable") {
		t.Errorf("without NATS: %+v; want unready, the log unavailable", r)
	}
	if status, _ := get(t, srv.URL+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz = %d", status)
	}
}

type fakeProjector struct{ st projections.ProjectorStatus }

func (f *fakeProjector) Status() projections.ProjectorStatus { return f.st }

// TestInstrumentLabelsByRoute: requests are counted by the route pattern
// that served them, not their path, so the series stay few; status codes
// are recorded, and the change feed's flushes still reach the client.
func TestInstrumentLabelsByRoute(t *testing.T) {
	env := eventlogtest.Start(t, "")
	m := monitor.New(env.Log, &fakeProjector{}, monitor.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/resource/{doctype}/{name...}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("doctype") == "Missing" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the instrumented writer: %v", err)
		}
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(m.Instrument(mux))
	defer srv.Close()
	for _, p := range []string{"/api/resource/ToDo/a", "/api/resource/ToDo/b", "/api/resource/Note/c/d", "/api/resource/Missing/x", "/elsewhere"} {
		get(t, srv.URL+p)
	}
	req, _ := http.NewRequest("BREW", srv.URL+"/api/resource/ToDo/a", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	metrics := httptest.NewServer(m.Metrics())
	defer metrics.Close()
	_, body := get(t, metrics.URL)
	for sample, want := range map[string]float64{
		`docket_http_requests_total{code="200",method="GET",route="/api/resource/{doctype}/{name...}"}`:      3,
		`docket_http_requests_total{code="404",method="GET",route="/api/resource/{doctype}/{name...}"}`:      1,
		`docket_http_requests_total{code="404",method="GET",route="none"}`:                                   1,
		`docket_http_requests_total{code="405",method="OTHER",route="none"}`:                                 1,
		`docket_http_request_duration_seconds_count{method="GET",route="/api/resource/{doctype}/{name...}"}`: 4,
		"docket_http_requests_in_flight": 0,
	} {
		if got := metric(t, body, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
	if n := strings.Count(body, "docket_http_requests_total{"); n != 4 {
		t.Errorf("%d request series, want 4:\n%s", n, body)
	}
}

func TestParseLag(t *testing.T) {
	for in, want := range map[string]monitor.Lag{"1000": {Messages: 1000}, " 5s": {Time: 5 * time.Second}, "1m30s": {Time: 90 * time.Second}} {
		if got, err := monitor.ParseLag(in); err != nil || got != want {
			t.Errorf("ParseLag(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "0s", "soon"} {
		if _, err := monitor.ParseLag(in); err == nil {
			t.Errorf("ParseLag(%q) accepted", in)
		}
	}
	if s := (monitor.Lag{}).String(); s != "" {
		t.Errorf("zero Lag reads %q", s)
	}
}
