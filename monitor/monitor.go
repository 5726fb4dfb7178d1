// Package monitor serves what operators watch on a docket node: /healthz
// (the process answers), /readyz (the node serves its API and its
// projections keep up with the log) and /metrics (Prometheus: HTTP
// requests by route, the projector, the JetStream streams, auth
// failures, webhook deliveries).
//
// A skipped bad event does not make a node unready: it is in the log for
// good, every node and every rebuild skips it alike, so the node answers
// as every other node does, and waiting cannot cure it. /readyz reports
// it and /metrics counts it, for an alert.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"docket/eventlog"
	"docket/projections"
)

// Log is the document log the projections follow.
type Log interface {
	StreamInfo(ctx context.Context) (*jetstream.StreamInfo, error)
	Get(ctx context.Context, seq eventlog.Seq) (*eventlog.Msg, error)
	JetStream() jetstream.JetStream
}

// Projector is the projector of this node's read model.
type Projector interface {
	Status() projections.ProjectorStatus
}

var (
	_ Log       = (*eventlog.Log)(nil)
	_ Projector = (*projections.Projector)(nil)
)

// Options configures a [Monitor]. The zero value works.
type Options struct {
	// MaxLag bounds how far the projections may trail the log while the
	// node is ready; default 1000 messages.
	MaxLag Lag
	// Logger; nil discards.
	Logger *slog.Logger
}

// Monitor watches one node. Make it when the projector starts; tell it
// when the API is served (Started) and when shutdown begins (Stopping).
type Monitor struct {
	log   Log
	proj  Projector
	opts  Options
	state atomic.Int32 // starting, serving, stopping
	reg   *prometheus.Registry
	http  httpMetrics
	auth  *prometheus.CounterVec
	hooks *prometheus.CounterVec

	mu       sync.Mutex // guards the cached stream info
	info     *jetstream.StreamInfo
	infoErr  error
	infoTime time.Time
}

const (
	starting int32 = iota
	serving
	stopping
)

// infoTTL is how long /readyz reuses the stream's state: probes from
// anywhere cost JetStream at most one request a second.
const infoTTL = time.Second

// New returns a monitor of a node whose projector p follows lg.
func New(lg Log, p Projector, opts Options) *Monitor {
	opts.MaxLag = opts.MaxLag.orDefault()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{log: lg, proj: p, opts: opts}
	m.register()
	return m
}

// Started says the node serves its API.
func (m *Monitor) Started() { m.state.CompareAndSwap(starting, serving) }

// Stopping says the node is shutting down: it is no longer ready.
func (m *Monitor) Stopping() { m.state.Store(stopping) }

// Readiness is what /readyz answers (200 when Ready, else 503).
type Readiness struct {
	Ready bool `json:"ready"`
	// Reasons say why the node is not ready.
	Reasons []string `json:"reasons,omitempty"`
	// Notes are worth knowing but do not make the node unready.
	Notes []string `json:"notes,omitempty"`
	// AppliedSeq is the projections' last applied stream sequence,
	// LastSeq the log's; Lag the difference, LagSeconds how long the
	// oldest message not applied yet has been in the log.
	AppliedSeq uint64  `json:"applied_seq"`
	LastSeq    uint64  `json:"last_seq"`
	Lag        uint64  `json:"lag"`
	LagSeconds float64 `json:"lag_seconds"`
	MaxLag     string  `json:"max_lag"`
	// Skipped counts the bad events the projector skipped, the latest at
	// LastSkippedSeq.
	Skipped        int64  `json:"skipped"`
	LastSkippedSeq uint64 `json:"last_skipped_seq,omitempty"`
}

// Check tells whether the node is ready, and why not.
func (m *Monitor) Check(ctx context.Context) Readiness {
	st := m.proj.Status()
	r := Readiness{AppliedSeq: uint64(st.Seq), MaxLag: m.opts.MaxLag.String(), Skipped: st.Skipped}
	switch m.state.Load() {
	case starting:
		r.Reasons = append(r.Reasons, "starting: the API is not served yet (the projections catch up with the log first)")
	case stopping:
		r.Reasons = append(r.Reasons, "shutting down")
	}
	switch {
	case st.Err != nil:
		r.Reasons = append(r.Reasons, "projector stopped: "+st.Err.Error())
	case !st.Running:
		r.Reasons = append(r.Reasons, "projector not running")
	}
	if st.LastSkipped != nil {
		r.LastSkippedSeq = uint64(st.LastSkipped.Seq)
		r.Notes = append(r.Notes, fmt.Sprintf("the projector skipped %s it cannot apply, the latest at seq %d "+
			"(every node skips it alike; docket replay --since-seq %d --until-seq %d shows it, the log says why)",
			plural(st.Skipped, "bad event"), st.LastSkipped.Seq, st.LastSkipped.Seq, st.LastSkipped.Seq))
	}
	info, err := m.streamInfo(ctx)
	if err != nil {
		r.Reasons = append(r.Reasons, "log unavailable: "+err.Error())
		return r
	}
	r.LastSeq = info.State.LastSeq
	if r.LastSeq > r.AppliedSeq {
		r.Lag = r.LastSeq - r.AppliedSeq
		r.LagSeconds = m.lagSeconds(ctx, st.Seq)
	}
	switch bound := m.opts.MaxLag; {
	case bound.Time > 0 && r.LagSeconds > bound.Time.Seconds():
		r.Reasons = append(r.Reasons, fmt.Sprintf("the projections trail the log by %.1fs (%s, bound %s)",
			r.LagSeconds, plural(int64(r.Lag), "message"), bound))
	case bound.Time <= 0 && r.Lag > bound.Messages:
		r.Reasons = append(r.Reasons, fmt.Sprintf("the projections trail the log by %s (bound %d)",
			plural(int64(r.Lag), "message"), bound.Messages))
	}
	r.Ready = len(r.Reasons) == 0
	return r
}

// lagSeconds is how long the first message after applied has been in
// the log (0 when it cannot be read).
func (m *Monitor) lagSeconds(ctx context.Context, applied eventlog.Seq) float64 {
	msg, err := m.log.Get(ctx, applied+1)
	if err != nil {
		return 0
	}
	return max(time.Since(msg.Time).Seconds(), 0)
}

// streamInfo returns the log's state, at most infoTTL old.
func (m *Monitor) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.infoTime.IsZero() || time.Since(m.infoTime) >= infoTTL {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		m.info, m.infoErr = m.log.StreamInfo(ctx)
		m.infoTime = time.Now()
		if errors.Is(m.infoErr, context.Canceled) {
			m.infoTime = time.Time{} // the prober went away: not an answer
		}
	}
	return m.info, m.infoErr
}

// Health answers 200 while the process serves HTTP.
func (m *Monitor) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready answers the readiness check: 200 when ready, 503 otherwise, with
// the Readiness as JSON either way.
func (m *Monitor) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd := m.Check(r.Context())
		status := http.StatusOK
		if !rd.Ready {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rd)
	})
}

// Handler serves /healthz, /readyz and /metrics, for a listener of its
// own (an internal address).
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", m.Health())
	mux.Handle("GET /readyz", m.Ready())
	mux.Handle("GET /metrics", m.Metrics())
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// plural writes "1 message", "2 messages".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
