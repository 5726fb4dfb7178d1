package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"docket/eventlog"
	"docket/methods"
	"docket/methods/script"
)

// Headers docket sets on every delivery.
const (
	// SignatureHeader is Frappe's: base64 of the HMAC-SHA256 of the body
	// with the Webhook's secret, when enable_security is set.
	SignatureHeader = "X-Frappe-Webhook-Signature"
	// EventHeader carries the ID (a ULID) of the change delivered: the
	// same on every retry and redelivery, so receivers can drop
	// duplicates.
	EventHeader = "X-Docket-Event-Id"
)

// Statuses of a Webhook Request Log.
const (
	StatusDelivered = "Delivered" // the receiver answered 2xx (or 3xx)
	StatusRetrying  = "Retrying"  // this attempt failed; another follows
	StatusFailed    = "Failed"    // given up: no attempt follows
)

// handle delivers one change of a Webhook's doctype. It fails only when
// ctx ends or the projections cannot be read: the change then comes again.
func (s *Service) handle(ctx context.Context, w *worker, m *eventlog.Msg) error {
	ev, err := eventlog.DecodeEvent(m.Data)
	if err != nil {
		return nil // not an event: nothing to deliver, and retrying would not help
	}
	// The projections must show at least this change: the Webhook as it
	// is when delivering, and whatever a template reads.
	if err := s.store.WaitFor(ctx, m.Seq); err != nil {
		return err
	}
	h, err := s.load(ctx, w.webhook)
	if err != nil {
		return err
	}
	if h == nil || !h.enabled || h.consumer != w.consumer || !h.fires(ev) {
		return nil // deleted, disabled or superseded, or another event
	}
	doc := ev.Doc
	if ev.Type == eventlog.Delete && ev.PrevSeq != 0 {
		// on_trash sees the document as it was.
		prev, err := s.event(ctx, ev.PrevSeq)
		if err != nil {
			return err
		}
		doc = prev.Doc
	}
	if doc == nil {
		return nil
	}
	return s.deliver(ctx, h, ev, doc)
}

// request is one Webhook request, ready to send.
type request struct {
	url     string
	body    []byte
	headers [][2]string // in the order they are set
}

// deliver checks the condition, builds the request and sends it until it
// is delivered, refused or out of attempts, logging every attempt.
func (s *Service) deliver(ctx context.Context, h *hook, ev *eventlog.Event, doc map[string]any) error {
	entry := logEntry{hook: h, ev: ev}
	if h.err != nil {
		s.record(ctx, entry, 0, nil, h.err)
		return nil
	}
	env := s.docs.ScriptEnv(s.docs.Reader(ev.User))
	if h.condition != nil {
		ok, err := h.condition.Truth(ctx, env, ev.DocType, doc, methods.ScriptLimits)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.record(ctx, entry, 0, nil, fmt.Errorf("condition: %s", scriptMessage(err)))
			return nil
		}
		if !ok {
			return nil
		}
	}
	req, err := s.build(ctx, h, ev, doc, env)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	entry.req = req
	if err != nil {
		s.record(ctx, entry, 0, nil, err)
		return nil
	}
	for attempt := 1; ; attempt++ {
		res, err := s.send(ctx, h, req)
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the change comes again after a restart
		}
		final := attempt >= s.opts.MaxAttempts
		switch {
		case err != nil:
		case res.status >= 200 && res.status < 400:
			s.record(ctx, entry, attempt, res, nil)
			return nil
		case res.status >= 500 || res.status == http.StatusRequestTimeout || res.status == http.StatusTooManyRequests:
			err = fmt.Errorf("%s %s: %s", h.method, req.url, http.StatusText(res.status))
		default:
			err = fmt.Errorf("%s %s: %s (not retried)", h.method, req.url, http.StatusText(res.status))
			final = true
		}
		entry.retrying = !final
		s.record(ctx, entry, attempt, res, err)
		if final {
			s.opts.Logger.Warn("webhook delivery failed", "webhook", h.name, "doctype", ev.DocType, "name", ev.Name, "attempts", attempt, "err", err)
			return nil
		}
		select {
		case <-time.After(s.backoff(attempt, res)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// backoff is the wait after a failed attempt: Backoff doubled for each
// attempt before, at least what a Retry-After header asks, at most
// MaxBackoff.
func (s *Service) backoff(attempt int, res *response) time.Duration {
	d := s.opts.Backoff
	for range attempt - 1 {
		if d *= 2; d >= s.opts.MaxBackoff {
			break
		}
	}
	if res != nil {
		if secs, err := strconv.Atoi(res.retryAfter); err == nil && time.Duration(secs)*time.Second > d {
			d = time.Duration(secs) * time.Second
		}
	}
	return min(d, s.opts.MaxBackoff)
}

// build renders the URL, body and headers of a delivery.
func (s *Service) build(ctx context.Context, h *hook, ev *eventlog.Event, doc map[string]any, env script.Env) (*request, error) {
	req := &request{url: h.url}
	if h.urlTpl != nil {
		u, err := h.urlTpl.Render(ctx, env, ev.DocType, doc, methods.ScriptLimits)
		if err != nil {
			return req, fmt.Errorf("request_url: %s", scriptMessage(err))
		}
		req.url = strings.TrimSpace(u)
	}
	if u, err := url.Parse(req.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return req, fmt.Errorf("request_url: %q is not an http or https URL", req.url)
	}
	contentType := "application/json"
	var err error
	switch {
	case h.structure == "Form URL-Encoded":
		contentType = "application/x-www-form-urlencoded"
		req.body, err = formBody(h.data, doc)
	case h.body != nil:
		var text string
		if text, err = h.body.Render(ctx, env, ev.DocType, doc, methods.ScriptLimits); err != nil {
			return req, fmt.Errorf("webhook_json: %s", scriptMessage(err))
		}
		if text, err = script.ReformatJSON(text); err != nil {
			req.body = []byte(text)
			return req, fmt.Errorf("webhook_json did not render to JSON: %v", err)
		}
		req.body = []byte(text)
	default:
		req.body, err = jsonBody(h.data, doc)
	}
	if err != nil {
		return req, err
	}
	req.headers = append(req.headers, [2]string{"Content-Type", contentType}, [2]string{EventHeader, ev.ID})
	req.headers = append(req.headers, h.headers...) // the Webhook's own win
	if h.secured {
		secret, err := s.secret(ctx, h.name)
		if err != nil {
			return req, err
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(req.body)
		req.headers = append(req.headers, [2]string{SignatureHeader, base64.StdEncoding.EncodeToString(mac.Sum(nil))})
	}
	return req, nil
}

// secret reads a Webhook's secret.
func (s *Service) secret(ctx context.Context, name string) (string, error) {
	if s.opts.Secrets == nil {
		return "", errors.New("enable_security: no secret store configured")
	}
	v, err := s.opts.Secrets.Secret(ctx, WebhookDocType, name, "webhook_secret")
	if err != nil {
		return "", fmt.Errorf("webhook_secret: %w", err)
	}
	if v == "" {
		return "", errors.New("enable_security is set but the Webhook has no webhook_secret")
	}
	return v, nil
}

// jsonBody is the body of a Webhook without a template: its fields as a
// JSON object in the order of webhook_data, as Frappe's json.dumps writes
// it ({} without fields).
func jsonBody(fields []dataField, doc map[string]any) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		k, err := script.PyJSON(f.key)
		if err != nil {
			return nil, err
		}
		v, err := script.PyJSON(doc[f.fieldname])
		if err != nil {
			return nil, fmt.Errorf("webhook_data %s: %w", f.fieldname, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + ": " + v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// formBody is an application/x-www-form-urlencoded body of webhook_data,
// in its order. Empty fields are left out (as Python's requests does with
// None); lists and maps are sent as JSON.
func formBody(fields []dataField, doc map[string]any) ([]byte, error) {
	var parts []string
	for _, f := range fields {
		var v string
		switch x := doc[f.fieldname].(type) {
		case nil:
			continue
		case string:
			v = x
		default:
			j, err := script.PyJSON(x)
			if err != nil {
				return nil, fmt.Errorf("webhook_data %s: %w", f.fieldname, err)
			}
			v = j
		}
		parts = append(parts, url.QueryEscape(f.key)+"="+url.QueryEscape(v))
	}
	return []byte(strings.Join(parts, "&")), nil
}

// response is what a receiver answered.
type response struct {
	status     int
	body       []byte
	retryAfter string
}

// send makes one attempt, bounded by the Webhook's timeout.
func (s *Service) send(ctx context.Context, h *hook, req *request) (*response, error) {
	rctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(rctx, h.method, req.url, bytes.NewReader(req.body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("User-Agent", "docket-webhooks")
	for _, kv := range req.headers {
		hr.Header.Set(kv[0], kv[1])
	}
	resp, err := s.opts.Client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(s.opts.MaxLogBytes)+1))
	// What is beyond the kept part is read and dropped (bounded), so the
	// connection can be used again.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	res := &response{status: resp.StatusCode, body: body, retryAfter: resp.Header.Get("Retry-After")}
	if err != nil && rctx.Err() == nil {
		err = nil // the status is what counts; the body is for the log
	}
	return res, err
}

// logEntry is what every Webhook Request Log of one delivery shares.
type logEntry struct {
	hook     *hook
	ev       *eventlog.Event
	req      *request
	retrying bool // another attempt follows this one
}

// sensitiveHeader matches header names whose values stay out of the log
// (it is a document, kept in the log forever).
var sensitiveHeader = regexp.MustCompile(`(?i)auth|token|secret|key|cookie|password|session`)

// record writes the Webhook Request Log of an attempt (0: none was made).
// It uses its own deadline, so that an attempt finished during shutdown
// is still recorded; a log that cannot be written is reported, not
// retried: the delivery it describes happened.
func (s *Service) record(ctx context.Context, e logEntry, attempt int, res *response, failure error) {
	status := StatusDelivered
	switch {
	case failure != nil && e.retrying:
		status = StatusRetrying
	case failure != nil:
		status = StatusFailed
	}
	if s.opts.OnAttempt != nil {
		s.opts.OnAttempt(status)
	}
	doc := map[string]any{
		"webhook": e.hook.name, "reference_doctype": e.ev.DocType, "reference_document": e.ev.Name,
		"user": e.ev.User, "event_id": e.ev.ID, "status": status, "attempt": int64(attempt),
	}
	if e.req != nil {
		doc["url"] = e.req.url
		doc["data"] = s.clip(e.req.body)
		h := map[string]string{}
		for _, kv := range e.req.headers {
			v := kv[1]
			if sensitiveHeader.MatchString(kv[0]) && !strings.EqualFold(kv[0], SignatureHeader) && !strings.EqualFold(kv[0], EventHeader) {
				v = "********"
			}
			h[kv[0]] = v
		}
		if j, err := script.PyJSON(h); err == nil {
			doc["headers"] = j
		}
	}
	if res != nil {
		doc["status_code"] = int64(res.status)
		doc["response"] = s.clip(res.body)
	}
	if failure != nil {
		doc["error"] = failure.Error()
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	insert := func() error {
		_, err := s.docs.Run(lctx, methods.Administrator, func(tx *methods.Tx) error {
			_, err := tx.Insert(lctx, methods.WebhookLogDocType, doc)
			return err
		})
		return err
	}
	err := insert()
	var fe *methods.Error
	if errors.As(err, &fe) && fe.Exc == methods.LinkValidationError {
		// The user or the Webhook was deleted meanwhile: keep the record.
		delete(doc, "user")
		delete(doc, "webhook")
		doc["error"] = strings.TrimSpace(str(doc["error"]) + "\n(webhook " + e.hook.name + ", user " + e.ev.User + ")")
		err = insert()
	}
	if err != nil {
		s.opts.Logger.Warn("webhook request log not written", "webhook", e.hook.name, "status", status, "err", err)
	}
}

// clip keeps the first MaxLogBytes of a body, as valid UTF-8 text.
func (s *Service) clip(b []byte) string {
	if len(b) <= s.opts.MaxLogBytes {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	n := s.opts.MaxLogBytes
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strings.ToValidUTF8(string(b[:n]), "\uFFFD") + "\n… (" + strconv.Itoa(len(b)-n) + " more bytes)"
}
