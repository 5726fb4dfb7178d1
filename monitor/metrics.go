package monitor

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"docket/eventlog"
)

// Auth failure kinds (the kind label of docket_auth_failures_total).
const (
	// AuthPassword: a wrong login name or password (login,
	// update_password).
	AuthPassword = "password"
	// AuthCredentials: a request's API key, token, Basic or Bearer
	// credential refused.
	AuthCredentials = "credentials"
	// AuthOAuthClient: an OAuth client's id or secret refused.
	AuthOAuthClient = "oauth_client"
	// AuthRateLimited: a password check refused before it was made,
	// because of earlier failures (429).
	AuthRateLimited = "rate_limited"
)

// webhook attempt outcomes (the status label of
// docket_webhook_attempts_total), as Webhook Request Logs write them.
var webhookStatuses = []string{"Delivered", "Retrying", "Failed"}

// httpMetrics are the request metrics Instrument keeps.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// register makes the registry with every metric.
func (m *Monitor) register() {
	m.reg = prometheus.NewRegistry()
	m.http = httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "docket_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "docket_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method (a change feed: how long it stayed open).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "docket_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
	}
	m.auth = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "docket_auth_failures_total",
		Help: "Refused authentications: password (wrong login or password), credentials (API key, token, Basic or Bearer), oauth_client, rate_limited (refused unchecked after too many failures).",
	}, []string{"kind"})
	for _, k := range []string{AuthPassword, AuthCredentials, AuthOAuthClient, AuthRateLimited} {
		m.auth.WithLabelValues(k)
	}
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "docket_webhook_attempts_total",
		Help: "Webhook delivery attempts, by outcome: Delivered, Retrying (failed, another attempt follows), Failed (given up).",
	}, []string{"status"})
	for _, s := range webhookStatuses {
		m.hooks.WithLabelValues(s)
	}
	m.reg.MustRegister(m.http.requests, m.http.duration, m.http.inflight, m.auth, m.hooks, (*nodeCollector)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Metrics serves the metrics in Prometheus' text format.
func (m *Monitor) Metrics() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{m}, Timeout: 10 * time.Second})
}

// Registry is where the metrics are registered (to add a program's own).
func (m *Monitor) Registry() *prometheus.Registry { return m.reg }

// AuthFailure counts a refused authentication of a kind (AuthPassword …).
func (m *Monitor) AuthFailure(kind string) { m.auth.WithLabelValues(kind).Inc() }

// WebhookAttempt counts a webhook delivery attempt by its outcome.
func (m *Monitor) WebhookAttempt(status string) { m.hooks.WithLabelValues(status).Inc() }

// Instrument counts and times the requests h answers, by the route
// pattern that served them (the http.ServeMux pattern, so the labels stay
// few whatever the paths), method and status.
func (m *Monitor) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.http.inflight.Inc()
		defer m.http.inflight.Dec()
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		route, method := routeOf(r.Pattern), methodOf(r.Method)
		m.http.requests.WithLabelValues(route, method, strconv.Itoa(rec.code())).Inc()
		m.http.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// routeOf is a ServeMux pattern without its method ("GET /api/resource/{doctype}"
// is "/api/resource/{doctype}"); "none" when no route matched.
func routeOf(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimSpace(pattern[i+1:])
	}
	if pattern == "" {
		return "none"
	}
	return pattern
}

// methodOf keeps the label's values few: other verbs are OTHER.
func methodOf(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes of
// the change feed, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// nodeCollector collects the projector's and the streams' state when
// Prometheus scrapes.
type nodeCollector Monitor

var (
	descProjectorRunning = prometheus.NewDesc("docket_projector_running",
		"1 while the projector applies the log, 0 once it stopped.", nil, nil)
	descProjectorSeq = prometheus.NewDesc("docket_projector_applied_seq",
		"The last stream sequence the projections applied (their checkpoint).", nil, nil)
	descProjectorApplied = prometheus.NewDesc("docket_projector_messages_applied_total",
		"Stream messages the projector applied since the process started.", nil, nil)
	descProjectorSkipped = prometheus.NewDesc("docket_projector_events_skipped_total",
		"Bad events the projector could not apply and skipped since the process started (each is logged).", nil, nil)
	descProjectorLastSkipped = prometheus.NewDesc("docket_projector_last_skipped_seq",
		"The stream sequence of the latest skipped bad event (0: none).", nil, nil)
	descProjectorLag = prometheus.NewDesc("docket_projector_lag_messages",
		"Messages in the DOCS stream the projections have not applied yet (last sequence − applied).", nil, nil)
	descProjectorLagSeconds = prometheus.NewDesc("docket_projector_lag_seconds",
		"How long the oldest message not applied yet has been in the log (0 when caught up).", nil, nil)
	descReady = prometheus.NewDesc("docket_ready",
		"1 when /readyz answers 200, else 0.", nil, nil)
	descJetStreamUp = prometheus.NewDesc("docket_jetstream_up",
		"1 when the streams' state could be read from JetStream at this scrape, else 0.", nil, nil)
	streamLabels     = []string{"stream"}
	descStreamMsgs   = prometheus.NewDesc("docket_stream_messages", "Messages in a docket stream (DOCS, the KV buckets' KV_docket_*, the file store's OBJ_docket_files).", streamLabels, nil)
	descStreamBytes  = prometheus.NewDesc("docket_stream_bytes", "Bytes stored by a docket stream.", streamLabels, nil)
	descStreamFirst  = prometheus.NewDesc("docket_stream_first_seq", "A docket stream's first sequence.", streamLabels, nil)
	descStreamLast   = prometheus.NewDesc("docket_stream_last_seq", "A docket stream's last sequence.", streamLabels, nil)
	descStreamCons   = prometheus.NewDesc("docket_stream_consumers", "Consumers of a docket stream.", streamLabels, nil)
	nodeDescriptions = []*prometheus.Desc{descProjectorRunning, descProjectorSeq, descProjectorApplied, descProjectorSkipped,
		descProjectorLastSkipped, descProjectorLag, descProjectorLagSeconds, descReady, descJetStreamUp,
		descStreamMsgs, descStreamBytes, descStreamFirst, descStreamLast, descStreamCons}
)

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range nodeDescriptions {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	m := (*Monitor)(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st := m.proj.Status()
	gauge(descProjectorRunning, one(st.Running))
	gauge(descProjectorSeq, float64(st.Seq))
	ch <- prometheus.MustNewConstMetric(descProjectorApplied, prometheus.CounterValue, float64(st.Applied))
	ch <- prometheus.MustNewConstMetric(descProjectorSkipped, prometheus.CounterValue, float64(st.Skipped))
	lastSkipped := 0.0
	if st.LastSkipped != nil {
		lastSkipped = float64(st.LastSkipped.Seq)
	}
	gauge(descProjectorLastSkipped, lastSkipped)

	rd := m.Check(ctx)
	gauge(descReady, one(rd.Ready))
	if _, err := m.streamInfo(ctx); err == nil { // else the lag is unknown
		gauge(descProjectorLag, float64(rd.Lag))
		gauge(descProjectorLagSeconds, rd.LagSeconds)
	}

	streams := m.log.JetStream().ListStreams(ctx)
	for info := range streams.Info() {
		name := info.Config.Name
		if !docketStream(name) {
			continue
		}
		s := info.State
		gauge(descStreamMsgs, float64(s.Msgs), name)
		gauge(descStreamBytes, float64(s.Bytes), name)
		gauge(descStreamFirst, float64(s.FirstSeq), name)
		gauge(descStreamLast, float64(s.LastSeq), name)
		gauge(descStreamCons, float64(s.Consumers), name)
	}
	err := streams.Err()
	if err != nil {
		m.opts.Logger.Warn("metrics: listing the streams failed", "err", err)
	}
	gauge(descJetStreamUp, one(err == nil))
}

// one is 1 for true, 0 for false.
func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// docketStream tells docket's streams (the log, its KV buckets and its
// object store) from others an external NATS may hold.
func docketStream(name string) bool {
	return name == eventlog.StreamName || strings.HasPrefix(name, "KV_docket_") || strings.HasPrefix(name, "OBJ_docket_")
}

// slogPrinter sends promhttp's errors to the monitor's logger.
type slogPrinter struct{ m *Monitor }

func (p slogPrinter) Println(v ...any) { p.m.opts.Logger.Warn("metrics: " + fmt.Sprint(v...)) }
