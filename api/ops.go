package api

import (
	"net/http"
	"strings"

	"docket/methods"
)

// Ops are the operators' endpoints served beside the API, and what the
// API tells them. Nil handlers are not served.
type Ops struct {
	// Health and Ready answer anyone at GET /healthz and GET /readyz.
	Health, Ready http.Handler
	// Metrics is served at GET /metrics to System Managers only (an API
	// key: Prometheus' basic_auth, or authorization with type token).
	// Leave it nil when the metrics have a listener of their own.
	Metrics http.Handler
	// AuthFailure, when set, is told of every refused authentication by
	// kind: "password" (a wrong login name or password), "credentials"
	// (an API key, token, Basic or Bearer credential), "oauth_client" (an
	// OAuth client's secret), "rate_limited" (a password check refused
	// unchecked after too many failures).
	AuthFailure func(kind string)
}

// metrics serves the metrics to a System Manager.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request, c *call) error {
	ok, err := s.docs.HasRole(c.id.User, methods.SystemManager)
	if err != nil {
		return err
	}
	if !ok {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted",
			Msg: "Not permitted: only a System Manager may read the metrics"}
	}
	s.opts.Ops.Metrics.ServeHTTP(w, r)
	return nil
}

// authFailed reports a refused authentication of a kind (see Ops).
func (s *Server) authFailed(kind string) {
	if s.opts.Ops.AuthFailure != nil {
		s.opts.Ops.AuthFailure(kind)
	}
}

// loginKind is the kind of failure a failed check of a login limiter key
// (takeLoginAttempt) is.
func loginKind(key string) string {
	if strings.HasPrefix(key, "oauth-client:") {
		return "oauth_client"
	}
	return "password"
}
