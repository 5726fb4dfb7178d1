package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// refreshAfter is how stale a session's last activity may get before a
// request writes it again (sliding expiry, as Frappe refreshes at most
// every 10 minutes).
const refreshAfter = 10 * time.Minute

// Session is a login session.
type Session struct {
	ID         string    `json:"-"`
	User       string    `json:"user"`
	Created    time.Time `json:"created"`
	LastActive time.Time `json:"last_active"`
	// CSRFToken, once the session has one (see CSRFToken), must come with
	// every state-changing request the session's cookie authenticates.
	CSRFToken string `json:"csrf_token,omitempty"`
}

// TTL is how long an idle session lives.
func (s *Service) TTL() time.Duration { return s.opts.SessionTTL }

// NewSession starts a session for user. Its id is 56 hex characters, as
// Frappe's sid.
func (s *Service) NewSession(ctx context.Context, user string) (*Session, error) {
	now := time.Now().UTC()
	sess := &Session{ID: randomHex(28), User: user, Created: now, LastActive: now}
	if err := s.putSession(ctx, sess); err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *Service) putSession(ctx context.Context, sess *Session) error {
	v, _ := json.Marshal(sess)
	k := sessionKey(sess.ID)
	s.sessionCache.drop(k)
	if _, err := s.sessions.Put(ctx, k, v); err != nil {
		return fmt.Errorf("auth: store session: %w", err)
	}
	s.sessionCache.put(k, v)
	return nil
}

func sessionKey(sid string) string {
	return "sid." + base64.RawURLEncoding.EncodeToString([]byte(sid))
}

// Session returns a live session, or ErrNoSession.
func (s *Service) Session(ctx context.Context, sid string) (*Session, error) {
	if sid == "" || len(sid) > 128 {
		return nil, ErrNoSession
	}
	k := sessionKey(sid)
	v, ok := s.sessionCache.get(k)
	if !ok {
		e, err := kvGet(ctx, s.sessions, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, ErrNoSession
		}
		if err != nil {
			return nil, fmt.Errorf("auth: read session: %w", err)
		}
		v = e.Value()
		s.sessionCache.put(k, v)
	}
	sess := &Session{ID: sid}
	if err := json.Unmarshal(v, sess); err != nil {
		return nil, ErrNoSession
	}
	if time.Since(sess.LastActive) > s.opts.SessionTTL {
		return nil, ErrNoSession // expired in the bucket (TTL), still cached
	}
	if time.Since(sess.LastActive) > refreshAfter {
		sess.LastActive = time.Now().UTC()
		if err := s.putSession(ctx, sess); err != nil {
			s.opts.Logger.Warn("session refresh failed", "err", err)
		}
	}
	return sess, nil
}

// sessionValid reports whether a session's user is enabled and the
// session started after the user's last password change or deletion.
func (s *Service) sessionValid(ctx context.Context, sess *Session) (bool, error) {
	st, err := s.users.User(ctx, sess.User)
	if err != nil || !st.Enabled {
		return false, err
	}
	rec, err := s.userRecord(ctx, sess.User, false)
	if err != nil {
		return false, err
	}
	return !sess.Created.Before(rec.ValidAfter), nil
}

// EndSession deletes a session.
func (s *Service) EndSession(ctx context.Context, sid string) error {
	if sid == "" {
		return nil
	}
	s.sessionCache.drop(sessionKey(sid))
	err := s.sessions.Purge(ctx, sessionKey(sid))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

// Identity is who a request acts as.
type Identity struct {
	User string
	// Via is how the user was recognised: "session", "token", "basic",
	// "bearer" (an OAuth 2.0 access token) or "guest".
	Via string
	// Session is the session of a "session" identity.
	Session *Session
	// SessionExpired is set when the request carried a session id that is
	// no longer valid (Frappe then answers session_expired: 1).
	SessionExpired bool
	// Scopes are a "bearer" identity's OAuth scopes.
	Scopes []string
}

// GuestUser is the user of unauthenticated requests.
const GuestUser = "Guest"

// Authenticate resolves a request from its session id (cookie or sid
// argument) and Authorization header. A session whose user is disabled
// counts as expired. An Authorization header that fails is refused with
// ErrBadCredentials (or ErrBadHeader) even when the session is valid; a
// valid one yields to a valid session, as in Frappe.
func (s *Service) Authenticate(ctx context.Context, sid, authorization string) (*Identity, error) {
	id := &Identity{User: GuestUser, Via: "guest"}
	if sid != "" && sid != GuestUser {
		sess, err := s.Session(ctx, sid)
		switch {
		case err == nil:
			ok, err := s.sessionValid(ctx, sess)
			if err != nil {
				return nil, err
			}
			if ok {
				id = &Identity{User: sess.User, Via: "session", Session: sess}
			} else {
				id.SessionExpired = true
			}
		case errors.Is(err, ErrNoSession):
			id.SessionExpired = true
		default:
			return nil, err
		}
	}
	if authorization == "" {
		return id, nil
	}
	scheme, cred, ok := strings.Cut(authorization, " ")
	if !ok || strings.Contains(cred, " ") || cred == "" {
		return id, nil // Frappe ignores a header that is not "<type> <credentials>"
	}
	var user, via string
	switch strings.ToLower(scheme) {
	case "token":
		k, secret, ok := strings.Cut(cred, ":")
		if !ok {
			return nil, ErrBadCredentials
		}
		u, err := s.CheckAPIKey(ctx, k, secret)
		if err != nil {
			return nil, err
		}
		user, via = u, "token"
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil, ErrBadHeader
		}
		k, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, ErrBadCredentials
		}
		u, err := s.CheckAPIKey(ctx, k, secret)
		if err != nil {
			return nil, err
		}
		user, via = u, "basic"
	case "bearer":
		// An OAuth 2.0 access token (see oauth.go): valid, unexpired,
		// unrevoked, its user enabled; otherwise 401 as for a wrong key.
		u, scopes, err := s.Bearer(ctx, cred)
		if err != nil {
			return nil, err
		}
		if id.Via == "session" {
			return id, nil
		}
		return &Identity{User: u, Via: "bearer", Scopes: scopes, SessionExpired: id.SessionExpired}, nil
	default:
		return id, nil
	}
	if id.Via == "session" {
		return id, nil
	}
	return &Identity{User: user, Via: via, SessionExpired: id.SessionExpired}, nil
}
