package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"docket/auth"
	"docket/blobs"
	"docket/eventlog"
	"docket/methods"
)

// Options configures a [Server]. The zero value works.
type Options struct {
	// MaxBodyBytes bounds request bodies; default 25 MiB (Frappe's
	// default max_file_size).
	MaxBodyBytes int64
	// Logger; nil discards.
	Logger *slog.Logger
	// Blobs stores uploaded files; nil refuses uploads.
	Blobs blobs.Store
	// MaxFileSize bounds an uploaded file; default 25 MiB (Frappe's
	// default max_file_size).
	MaxFileSize int64
	// LoginLimit bounds failed logins; the zero value means 10 failures
	// per user and 100 per client address within 60 seconds.
	LoginLimit LoginLimit
	// AllowedOrigins are the browser origins (https://app.example.com)
	// whose cross-origin requests may carry credentials (CORS); "*" allows
	// every origin. None by default.
	AllowedOrigins []string
	// TrustProxy takes the client address from X-Forwarded-For and the
	// scheme from X-Forwarded-Proto, as set by a reverse proxy in front
	// (never set it without one: clients could forge both).
	TrustProxy bool
	// Now is the clock of login limits; nil means time.Now.
	Now func() time.Time
	// Ops are the health, readiness and metrics endpoints (none by
	// default) and what the API reports to them.
	Ops Ops
	// MinSeqWait bounds how long a request carrying X-Docket-Min-Seq waits
	// for this node's projections; default 10 s.
	MinSeqWait time.Duration
}

// LoginLimit bounds failed password checks (login, update_password) per
// user and per client address: past the limit, attempts get 429 with
// Retry-After until the window ends.
type LoginLimit struct {
	PerUser, PerAddress int
	Window              time.Duration
}

// Server serves the Frappe REST API.
type Server struct {
	docs     *methods.Docs
	auth     *auth.Service
	methods  *methods.Dispatcher
	log      *slog.Logger
	opts     Options
	inflight sync.WaitGroup
	// closing ends long-lived responses (change feeds) at shutdown.
	closing   chan struct{}
	closeOnce sync.Once
	// Failed password checks by login name and by client address.
	userFailures, addrFailures *auth.Limiter
}

// Drain waits until every request being handled has been answered.
func (s *Server) Drain() { s.inflight.Wait() }

// StopStreams ends the long-lived responses (change feeds), which would
// otherwise keep a graceful shutdown waiting; their clients reconnect
// to another node or after the restart. Call it when shutdown begins
// (http.Server.RegisterOnShutdown).
func (s *Server) StopStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// New returns a server over the command side, the auth service and the
// dispatcher of whitelisted methods; it registers the methods that need
// the auth service (generate_keys) in the dispatcher's registry.
func New(docs *methods.Docs, authSvc *auth.Service, disp *methods.Dispatcher, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 25 << 20
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 25 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	lim := &opts.LoginLimit
	if lim.PerUser <= 0 {
		lim.PerUser = 10
	}
	if lim.PerAddress <= 0 {
		lim.PerAddress = 100
	}
	if lim.Window <= 0 {
		lim.Window = time.Minute
	}
	if opts.MinSeqWait <= 0 {
		opts.MinSeqWait = 10 * time.Second
	}
	s := &Server{docs: docs, auth: authSvc, methods: disp, log: opts.Logger, opts: opts, closing: make(chan struct{}),
		userFailures: auth.NewLimiter(lim.PerUser, lim.Window, opts.Now),
		addrFailures: auth.NewLimiter(lim.PerAddress, lim.Window, opts.Now)}
	s.registerMethods()
	return s
}

// call is one request's state, handed to every handler.
type call struct {
	id       *auth.Identity
	args     map[string]any
	body     []byte
	v2       bool
	cookies  []*http.Cookie // cookies to set (login, logout, expiry)
	messages []string       // user-facing messages of a successful call
	seq      eventlog.Seq   // the last stream sequence the call wrote
}

// handler serves one route; it writes its response or returns an error
// that the adapter writes in Frappe's shape.
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// route options.
type access int

const (
	loggedIn access = iota // Guest gets 403
	guestOK                // anyone
	// streamed: anyone; the handler reads the body itself (only the query
	// string is parsed first) and checks the CSRF token itself.
	streamed
)

// adapt wraps a handler: body limit, request arguments, authentication,
// the Guest check, and error writing.
func (s *Server) adapt(h handler, acc access, v2 bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		start := time.Now()
		c := &call{v2: v2}
		w = &seqWriter{ResponseWriter: w, s: s, c: c}
		defer func() {
			// A bug must cost one request, not the process or a bare EOF.
			if p := recover(); p != nil {
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				s.writeError(w, r, c, fmt.Errorf("panic: %v", p))
			}
		}()
		err := s.serve(w, r, c, h, acc)
		if err != nil {
			s.setCookies(w, c)
			s.writeError(w, r, c, err)
		}
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "user", userOf(c), "took", time.Since(start))
	})
}

func userOf(c *call) string {
	if c.id == nil {
		return ""
	}
	return c.id.User
}

// readArgs reads the body (within the limit) and builds the request
// arguments.
func (s *Server) readArgs(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	c.body = body
	c.args, err = formDict(r, body)
	return err
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, c *call, h handler, acc access) error {
	if err := s.waitMinSeq(r); err != nil {
		return err
	}
	if acc == streamed {
		c.args = map[string]any{}
		for k, vs := range r.URL.Query() {
			c.args[k] = vs[0]
		}
	} else if err := s.readArgs(w, r, c); err != nil {
		return err
	}
	if err := s.authenticate(r, c); err != nil {
		return err
	}
	if acc != streamed {
		if err := checkCSRF(r, c); err != nil {
			return err
		}
	}
	if c.id.Via == "bearer" && !slices.Contains(c.id.Scopes, auth.ScopeAll) {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted",
			Msg: "Not permitted: this OAuth token's scopes (" + strings.Join(c.id.Scopes, " ") + ") do not include \"all\", which API calls need"}
	}
	if acc == loggedIn && c.id.User == auth.GuestUser {
		return &frappeError{Exc: "PermissionError", Msg: "Not permitted: log in, or send an API key (Authorization: token key:secret)",
			Title: "Not Permitted", ErrorMessage: "Not permitted"}
	}
	return h(w, r, c)
}

// authenticate resolves who the request is; a dead session id makes the
// request Guest, clears the auth cookies and adds session_expired.
func (s *Server) authenticate(r *http.Request, c *call) error {
	id, err := s.auth.Authenticate(r.Context(), sessionID(r, c), r.Header.Get("Authorization"))
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrBadHeader) {
			s.authFailed("credentials")
		}
		c.id = &auth.Identity{User: auth.GuestUser, Via: "guest"}
		c.cookies = append(c.cookies, s.expiredCookies(r)...)
		return err
	}
	c.id = id
	if id.SessionExpired {
		c.cookies = append(c.cookies, s.expiredCookies(r)...)
	}
	return nil
}

// sessionID is the request's session id: the sid argument, else the sid
// cookie.
func sessionID(r *http.Request, c *call) string {
	if v, ok := c.args["sid"].(string); ok && v != "" {
		return v
	}
	if ck, err := r.Cookie("sid"); err == nil {
		return ck.Value
	}
	return ""
}

func (s *Server) setCookies(w http.ResponseWriter, c *call) {
	for _, ck := range c.cookies {
		http.SetCookie(w, ck)
	}
	c.cookies = nil
}

// respond writes a successful response: {"data": v} on resource routes
// and v2, {"message": v} on v1 methods (no key when v is nil), and the
// messages hooks and scripts printed.
func (s *Server) respond(w http.ResponseWriter, c *call, status int, key string, v any, extra ...any) {
	s.setCookies(w, c)
	body := NewObject()
	if c.v2 {
		key = "data"
	}
	if v != nil || key == "data" {
		body.Set(key, v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		body.Set(extra[i].(string), extra[i+1])
	}
	if len(c.messages) > 0 {
		if c.v2 {
			list := make([]any, len(c.messages))
			for i, m := range c.messages {
				list[i] = NewObject().Set("message", m).Set("title", "Message")
			}
			body.Set("messages", list)
		} else {
			body.Set("_server_messages", infoMessages(c.messages))
		}
	}
	if c.id != nil && c.id.SessionExpired {
		body.Set("session_expired", 1)
	}
	writeBody(w, status, body)
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.cors(w, r)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		// Trailing slashes are optional everywhere.
		if len(r.URL.Path) > 1 && strings.HasSuffix(r.URL.Path, "/") && strings.HasPrefix(r.URL.Path, "/api/") {
			r.URL.Path = strings.TrimRight(r.URL.Path, "/")
			r.URL.RawPath = ""
		}
		mux.ServeHTTP(w, r)
	})
}
