package api

import (
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"docket/auth"
	"docket/methods"
)

// secure reports whether the client reached docket over TLS (directly, or
// through a trusted proxy that says so): cookies are then Secure.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.opts.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// clientAddr is the client's IP address: the connection's peer, or behind
// a trusted proxy the address the proxy appended to X-Forwarded-For.
func (s *Server) clientAddr(r *http.Request) string {
	if s.opts.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(xff[len(xff)-1], ",")
			if ip := strings.TrimSpace(hops[len(hops)-1]); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// takeLoginAttempt admits a password check for an account (its limiter
// key, auth.LoginKey) from the request's address, counting it as a
// failure in advance (so that checks running at once cannot all pass the
// limit), or refuses it with 429 and Retry-After. done tells the outcome:
// a success gives the counts back.
func (s *Server) takeLoginAttempt(r *http.Request, key string) (done func(success bool), err error) {
	// The address first: a blocked address adds no account keys.
	addr := s.clientAddr(r)
	wait := s.addrFailures.Take(addr)
	if wait == 0 {
		if wait = s.userFailures.Take(key); wait > 0 {
			s.addrFailures.Forgive(addr)
		}
	}
	if wait > 0 {
		s.authFailed("rate_limited")
		secs := auth.RetryAfterSeconds(wait)
		return nil, &frappeError{Exc: "TooManyRequestsError", Title: "Too Many Requests",
			Msg:        "Too many failed login attempts. Try again in " + strconv.Itoa(secs) + " seconds.",
			RetryAfter: secs}
	}
	return func(success bool) {
		if success {
			s.userFailures.Reset(key)
			s.addrFailures.Forgive(addr)
		} else {
			s.authFailed(loginKind(key))
		}
	}, nil
}

// stateChanging are the verbs a CSRF token guards.
var stateChanging = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// checkCSRF refuses a state-changing request authenticated by a session
// cookie whose session has a CSRF token, unless the request carries it
// (X-Frappe-CSRF-Token, or a csrf_token argument), as Frappe does. Login
// itself is exempt: it starts a new session.
func checkCSRF(r *http.Request, c *call) error {
	if c.id == nil || c.id.Via != "session" || !slices.Contains(stateChanging, r.Method) {
		return nil
	}
	if r.URL.Path == "/api/method/login" || (r.URL.Path == "/" && methods.StringArg(c.args, "cmd") == "login") {
		return nil
	}
	return checkCSRFToken(r, c, methods.StringArg(c.args, "csrf_token"))
}

// checkCSRFToken checks a session's state-changing request for its CSRF
// token: the X-Frappe-CSRF-Token header, else arg (the csrf_token
// argument).
func checkCSRFToken(r *http.Request, c *call, arg string) error {
	if c.id == nil || c.id.Via != "session" || !slices.Contains(stateChanging, r.Method) {
		return nil
	}
	got := r.Header.Get("X-Frappe-CSRF-Token")
	if got == "" {
		got = arg
	}
	if auth.CheckCSRF(c.id.Session, got) {
		return nil
	}
	return &frappeError{Exc: "CSRFTokenError", Msg: "Invalid Request", Title: "Message"}
}

// csrfToken serves frappe.sessions.get_csrf_token (a docket addition: a
// Frappe desk page embeds the token; an application on docket asks for
// it). From then on the session's state-changing requests need it.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.id.Via != "session" || c.id.Session == nil {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted",
			Msg: "Not permitted: a CSRF token belongs to a login session (log in with /api/method/login)"}
	}
	tok, err := s.auth.CSRFToken(r.Context(), c.id.Session)
	if err != nil {
		return err
	}
	s.respond(w, c, http.StatusOK, "message", tok)
	return nil
}

// cors answers cross-origin requests from the allowed origins as Frappe's
// allow_cors does: the origin echoed, credentials allowed, and for a
// preflight the asked method and headers, cached five minutes.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.opts.AllowedOrigins) == 0 {
		return
	}
	if !slices.Contains(s.opts.AllowedOrigins, origin) && !slices.Contains(s.opts.AllowedOrigins, "*") {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		if m := r.Header.Get("Access-Control-Request-Method"); m != "" {
			h.Set("Access-Control-Allow-Methods", m)
		}
		if hdrs := r.Header.Get("Access-Control-Request-Headers"); hdrs != "" {
			h.Set("Access-Control-Allow-Headers", hdrs)
		}
		h.Set("Access-Control-Max-Age", "300")
	}
}

// updatePassword serves frappe.core.doctype.user.user.update_password
// (new_password, old_password, logout_all_sessions): the logged-in user
// changes its own password, proving the old one. Every session of the
// user ends and a new one starts for this client, as Frappe logs the user
// in again; the answer is the home page.
func (s *Server) updatePassword(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.Method != http.MethodPost {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted", Msg: "Not permitted: update_password takes POST"}
	}
	if c.id.User == auth.GuestUser {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted",
			Msg: "Not permitted: log in to change your password (reset links are not supported)"}
	}
	newPwd := methods.StringArg(c.args, "new_password")
	oldPwd := methods.StringArg(c.args, "old_password")
	switch {
	case newPwd == "":
		return errorf("ValidationError", "Argument new_password is required")
	case oldPwd == "":
		return errorf("ValidationError", "Argument old_password is required")
	case len(newPwd) > auth.MaxPasswordLength:
		return errorf("ValidationError", "Password size exceeded the maximum allowed size")
	}
	user := c.id.User
	done, err := s.takeLoginAttempt(r, "user:"+user)
	if err != nil {
		return err
	}
	_, err = s.auth.Login(r.Context(), user, oldPwd)
	done(err == nil)
	if err != nil {
		if errors.Is(err, auth.ErrInvalidLogin) || errors.Is(err, auth.ErrPasswordTooLong) {
			return &frappeError{Exc: "AuthenticationError", Msg: "Incorrect User or Password", Title: "Not Permitted"}
		}
		return err
	}
	if err := s.auth.SetPassword(r.Context(), user, newPwd); err != nil {
		return err
	}
	systemUser := true
	if c.id.Via == "session" {
		var err error
		if systemUser, _, err = s.startSession(r, c, user); err != nil {
			return err
		}
	} else if doc, err := s.docs.Get("User", user); err == nil {
		systemUser = doc["user_type"] != "Website User"
	}
	home := "/app"
	if !systemUser {
		home = "/me"
	}
	s.respond(w, c, http.StatusOK, "message", home)
	return nil
}
