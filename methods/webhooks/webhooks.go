// Package webhooks delivers Frappe's Webhooks from the log.
//
// A Webhook is a document (doctype "Webhook", Frappe's fields): when a
// document of webhook_doctype goes through webhook_docevent and condition
// holds, an HTTP request goes to request_url. Delivery never runs in the
// request that wrote the document: each enabled Webhook has its own
// durable JetStream consumer of docs.<doctype>.> (eventlog.Log.Consume),
// so that
//
//   - every change committed while the Webhook is enabled is delivered at
//     least once, in commit order, and delivery resumes after a restart
//     after the last change it finished with;
//   - a slow or failing receiver holds back only its own Webhook: other
//     Webhooks go on at their own pace;
//   - a change is retried with exponential backoff while the receiver
//     fails (a connection error, a timeout, 5xx, 408, 429), up to
//     Options.MaxAttempts; then, or at once for any other 4xx, the
//     delivery is given up and the next change goes. Every attempt leaves
//     a "Webhook Request Log" document saying what happened.
//
// The consumer of a Webhook starts right after the version of the
// Webhook that enabled it (found by walking its history in the log), so
// a Webhook created while delivery was off still gets every change made
// since. Disabling or deleting a Webhook ends its consumer: changes it
// had not delivered yet are dropped. Each consumer is named after the
// Webhook and that version, so every node of a cluster agrees on it and
// each change goes to one node.
package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"docket/eventlog"
	"docket/methods"
	"docket/projections"
	"docket/projections/meta"
)

// WebhookDocType is the doctype of Webhooks.
const WebhookDocType = "Webhook"

// consumerPrefix starts the name of every Webhook's durable consumer:
// docket-webhook-<first sequence>-<hash of name, creation and doctype>.
const consumerPrefix = "docket-webhook-"

// Secrets reads a Password field's value (auth.Service does).
type Secrets interface {
	Secret(ctx context.Context, doctype, name, field string) (string, error)
}

// Options configures a [Service]. The zero value works, but a Webhook
// with enable_security needs Secrets.
type Options struct {
	// Secrets holds the Webhooks' webhook_secret values.
	Secrets Secrets
	// Client sends the requests; default: a client that follows up to 10
	// redirects, each request bounded by its Webhook's timeout.
	Client *http.Client
	// MaxAttempts bounds how often one change is sent to a failing
	// receiver; default 10.
	MaxAttempts int
	// Backoff is the wait before the second attempt, doubling for each
	// attempt after; default 1s.
	Backoff time.Duration
	// MaxBackoff caps one wait; default 5m. With the defaults a change is
	// given up about 8.5 minutes (plus request timeouts) after its first
	// attempt.
	MaxBackoff time.Duration
	// MaxLogBytes bounds the request body and the response kept in a
	// Webhook Request Log; default 64 KiB.
	MaxLogBytes int
	// Logger; nil discards.
	Logger *slog.Logger
	// OnAttempt, when set, is told the outcome of every delivery attempt
	// (StatusDelivered, StatusRetrying, StatusFailed), for metrics.
	OnAttempt func(status string)
}

// Service delivers the Webhooks. Run it on every node: the consumers are
// shared through JetStream.
type Service struct {
	docs  *methods.Docs
	store *projections.Store
	log   *eventlog.Log
	opts  Options

	mu      sync.Mutex
	hooks   map[string]*hook   // compiled Webhooks by name, as last loaded
	running map[string]*worker // by consumer name
	kick    chan struct{}      // a worker stopped: reconcile soon
}

// worker runs one Webhook's consumer.
type worker struct {
	consumer, webhook, doctype string
	start                      eventlog.Seq
	cancel                     context.CancelFunc
	done                       chan struct{}
}

// New returns the delivery service of docs' Webhooks.
func New(docs *methods.Docs, lg *eventlog.Log, opts Options) *Service {
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.MaxLogBytes <= 0 {
		opts.MaxLogBytes = 64 << 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{docs: docs, store: docs.Store(), log: lg, opts: opts,
		hooks: map[string]*hook{}, running: map[string]*worker{}, kick: make(chan struct{}, 1)}
}

// reconcileEvery is how often the consumers are checked even when no
// Webhook changed (a worker that stopped on an error is started again).
const reconcileEvery = 30 * time.Second

// Run delivers until ctx ends, then stops every consumer (a change being
// delivered is not acknowledged: it comes again after a restart) and
// returns nil.
func (s *Service) Run(ctx context.Context) error {
	defer s.stopAll()
	var seen uint64
	force := true // reconcile even if no Webhook changed
	for {
		changes := s.store.Changes(WebhookDocType)
		if force || changes != seen {
			if err := s.reconcile(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("webhooks: reconcile failed", "err", err)
			} else {
				seen, force = changes, false
			}
		}
		// Wake when the projections advance (a Webhook may have changed),
		// a worker stopped, or some time passed.
		wctx, cancel := context.WithTimeout(ctx, reconcileEvery)
		advanced := make(chan struct{})
		go func() {
			_ = s.store.WaitFor(wctx, s.store.Applied()+1)
			close(advanced)
		}()
		select {
		case <-advanced:
			if errors.Is(wctx.Err(), context.DeadlineExceeded) {
				force = true // the periodic check
			}
		case <-s.kick:
			force = true
		}
		cancel()
		<-advanced
		if ctx.Err() != nil {
			return nil
		}
	}
}

// stopAll stops every worker and waits for them.
func (s *Service) stopAll() {
	s.mu.Lock()
	ws := make([]*worker, 0, len(s.running))
	for _, w := range s.running {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.cancel()
		<-w.done
	}
}

// reconcile starts a consumer for every enabled Webhook that has none
// running, and stops and deletes the consumers no enabled Webhook owns.
func (s *Service) reconcile(ctx context.Context) error {
	if s.store.Registry().Get(WebhookDocType) == nil {
		return nil // not bootstrapped yet
	}
	applied := s.store.Applied()
	res, err := s.store.List(ctx, projections.Query{DocType: WebhookDocType})
	if err != nil {
		return err
	}
	want := map[string]*hook{}
	for _, row := range res.Rows {
		h, err := s.load(ctx, projections.NameString(row[0]))
		if err != nil {
			return err
		}
		if h != nil && h.enabled {
			want[h.consumer] = h
		}
	}
	s.mu.Lock()
	var stop []*worker
	for name, w := range s.running {
		select {
		case <-w.done:
			delete(s.running, name) // stopped on an error: start it again below
			continue
		default:
		}
		if want[name] == nil {
			stop = append(stop, w)
			delete(s.running, name)
		}
	}
	for name, h := range want {
		if s.running[name] == nil {
			s.running[name] = s.startWorker(ctx, h)
		}
	}
	s.mu.Unlock()
	for _, w := range stop {
		w.cancel()
		<-w.done
		if err := s.log.Unsubscribe(ctx, w.consumer); err != nil {
			return err
		}
		s.opts.Logger.Info("webhook consumer ended", "webhook", w.webhook, "consumer", w.consumer)
	}
	// Consumers of Webhooks deleted or disabled while no node watched, or
	// seen ended by another node. A consumer this node's projections do
	// not know yet (it starts after what they applied) is left alone.
	names, err := s.log.Subscribers(ctx, consumerPrefix)
	if err != nil {
		return err
	}
	for _, name := range names {
		start, ok := consumerStart(name)
		if !ok || want[name] != nil || start > applied+1 {
			continue
		}
		if err := s.log.Unsubscribe(ctx, name); err != nil {
			return err
		}
		s.opts.Logger.Info("webhook consumer deleted", "consumer", name)
	}
	return nil
}

// startWorker starts the consumer of a Webhook.
func (s *Service) startWorker(ctx context.Context, h *hook) *worker {
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{consumer: h.consumer, webhook: h.name, doctype: h.doctype, start: h.start, cancel: cancel, done: make(chan struct{})}
	go func() {
		restart := false
		// done is closed before reconcile is asked to run: a reconcile
		// that ran in between would see the worker still running and leave
		// it stopped until the next periodic check.
		defer func() {
			close(w.done)
			if restart {
				select {
				case s.kick <- struct{}{}:
				default:
				}
			}
		}()
		s.opts.Logger.Debug("webhook consumer started", "webhook", w.webhook, "consumer", w.consumer, "from", w.start)
		err := s.log.Consume(wctx, w.consumer, eventlog.DocTypeSubjects(w.doctype),
			eventlog.ConsumeOptions{From: w.start, RetryAfter: s.opts.Backoff},
			func(ctx context.Context, m *eventlog.Msg) error { return s.handle(ctx, w, m) })
		if err == nil || wctx.Err() != nil {
			return
		}
		// Its consumer was deleted by another node, or JetStream failed:
		// reconcile (after a pause) decides whether it should run again.
		s.opts.Logger.Warn("webhook consumer stopped", "webhook", w.webhook, "consumer", w.consumer, "err", err)
		select {
		case <-time.After(s.opts.Backoff):
		case <-wctx.Done():
			return
		}
		restart = s.catchUp(wctx) == nil
	}()
	return w
}

// catchUp waits until this node's projections show the whole log as it
// is now, so that what they say about Webhooks is current.
func (s *Service) catchUp(ctx context.Context) error {
	last, err := s.log.LastSeq(ctx)
	if err != nil {
		return err
	}
	return s.store.WaitFor(ctx, last)
}

// load returns the compiled current version of a Webhook (nil when it is
// gone), compiling it when it changed.
func (s *Service) load(ctx context.Context, name string) (*hook, error) {
	rec, err := s.store.Get(WebhookDocType, name)
	if errors.Is(err, projections.ErrNotFound) {
		s.mu.Lock()
		delete(s.hooks, name)
		s.mu.Unlock()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	h := s.hooks[name]
	s.mu.Unlock()
	if h != nil && h.seq == rec.Seq {
		return h, nil
	}
	h = compile(name, rec.Doc, rec.Seq)
	if h.enabled {
		if h.start, err = s.enabledSince(ctx, rec.Seq, rec.Doc); err != nil {
			return nil, err
		}
		h.consumer = consumerName(h)
	}
	s.mu.Lock()
	s.hooks[name] = h
	s.mu.Unlock()
	return h, nil
}

// maxWalk bounds how many versions of a Webhook enabledSince reads.
const maxWalk = 10_000

// enabledSince returns the first stream sequence a Webhook delivers: the
// one after the earliest version of its current run of versions that are
// enabled with the same doctype (the version that created or enabled it).
func (s *Service) enabledSince(ctx context.Context, seq eventlog.Seq, doc map[string]any) (eventlog.Seq, error) {
	id := identity(doc)
	for range maxWalk {
		ev, err := s.event(ctx, seq)
		if err != nil {
			return 0, err
		}
		if ev.PrevSeq == 0 || ev.RenamedFrom != "" {
			break
		}
		prev, err := s.event(ctx, ev.PrevSeq)
		if err != nil {
			return 0, err
		}
		if prev.Doc == nil || !flag(prev.Doc["enabled"]) || identity(prev.Doc) != id {
			break
		}
		seq = ev.PrevSeq
	}
	return seq + 1, nil
}

// event reads the event at a stream sequence.
func (s *Service) event(ctx context.Context, seq eventlog.Seq) (*eventlog.Event, error) {
	m, err := s.log.Get(ctx, seq)
	if err != nil {
		return nil, err
	}
	return eventlog.DecodeEvent(m.Data)
}

// identity is what makes a Webhook version deliver the same changes as
// another: the same document (its creation) watching the same doctype.
func identity(doc map[string]any) string {
	return str(doc[meta.FieldName]) + "\x00" + str(doc[meta.FieldCreation]) + "\x00" + str(doc["webhook_doctype"])
}

// consumerName names the durable consumer of a Webhook's enabled run.
func consumerName(h *hook) string {
	sum := sha256.Sum256([]byte(h.identity))
	return consumerPrefix + strconv.FormatUint(uint64(h.start), 10) + "-" + hex.EncodeToString(sum[:8])
}

// consumerStart reads the first sequence out of a consumer name.
func consumerStart(name string) (eventlog.Seq, bool) {
	rest, ok := strings.CutPrefix(name, consumerPrefix)
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, "-")
	seq, err := strconv.ParseUint(n, 10, 64)
	return eventlog.Seq(seq), err == nil
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func flag(v any) bool {
	switch x := v.(type) {
	case int64:
		return x != 0
	case bool:
		return x
	}
	return false
}
