package auth

import (
	"context"
	"crypto/subtle"
)

// CSRFToken returns the session's CSRF token, creating it on first use.
// As in Frappe, a session has none until a browser application asks for
// one; from then on every POST, PUT, PATCH and DELETE authenticated by the
// session's cookie must carry it (CheckCSRF).
func (s *Service) CSRFToken(ctx context.Context, sess *Session) (string, error) {
	if sess.CSRFToken != "" {
		return sess.CSRFToken, nil
	}
	sess.CSRFToken = randomHex(32)
	if err := s.putSession(ctx, sess); err != nil {
		sess.CSRFToken = ""
		return "", err
	}
	return sess.CSRFToken, nil
}

// CheckCSRF reports whether a request of the session may change state:
// the session has no token, or got the right one.
func CheckCSRF(sess *Session, got string) bool {
	if sess == nil || sess.CSRFToken == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1
}
