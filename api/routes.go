package api

import (
	"net/http"
)

// routes binds every route. /api/... and /api/v1/... are the same API;
// /api/v2/... differs in envelopes ({"data"} everywhere, {"errors"}).
func (s *Server) routes(mux *http.ServeMux) {
	mux.Handle("POST /api/method/upload_file", s.adapt(s.uploadFile, streamed, false))
	mux.Handle("POST /api/v1/method/upload_file", s.adapt(s.uploadFile, streamed, false))
	mux.Handle("POST /api/v2/method/upload_file", s.adapt(s.uploadFile, streamed, true))
	mux.Handle("GET /files/{name...}", s.adapt(s.serveFile, guestOK, false))
	mux.Handle("GET /private/files/{name...}", s.adapt(s.serveFile, guestOK, false))
	for _, prefix := range []string{"/api", "/api/v1"} {
		mux.Handle("GET "+prefix+"/resource/{doctype}", s.adapt(s.listDocs, guestOK, false))
		mux.Handle("POST "+prefix+"/resource/{doctype}", s.adapt(s.createDoc, guestOK, false))
		mux.Handle("GET "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.getDoc, guestOK, false))
		mux.Handle("PUT "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.updateDoc, guestOK, false))
		mux.Handle("DELETE "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.deleteDoc, guestOK, false))
		mux.Handle("POST "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.runDocMethod, guestOK, false))
		mux.Handle(prefix+"/method/{method...}", s.adapt(s.callMethod, guestOK, false))
		// Without a name there is nothing to update or delete. Binding these
		// keeps ServeMux from redirecting to the {name...} routes.
		mux.Handle("PUT "+prefix+"/resource/{doctype}", s.adapt(s.notFound, loggedIn, false))
		mux.Handle("DELETE "+prefix+"/resource/{doctype}", s.adapt(s.notFound, loggedIn, false))
	}
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		mux.Handle(m+" /api/v2/document/{doctype}", s.adapt(s.notFound, loggedIn, true))
	}
	mux.Handle("GET /api/v2/document/{doctype}", s.adapt(s.listDocs, guestOK, true))
	mux.Handle("POST /api/v2/document/{doctype}", s.adapt(s.createDoc, guestOK, true))
	mux.Handle("GET /api/v2/document/{doctype}/{name}/versions", s.adapt(s.documentVersions, guestOK, true))
	mux.Handle("GET /api/v2/document/{doctype}/{name}/provenance", s.adapt(s.documentProvenance, guestOK, true))
	mux.Handle("GET /api/v2/document/{doctype}/{name...}", s.adapt(s.getDoc, guestOK, true))
	mux.Handle("GET /api/v2/changes", s.adapt(s.changes, loggedIn, true))
	mux.Handle("PUT /api/v2/document/{doctype}/{name...}", s.adapt(s.updateDoc, guestOK, true))
	mux.Handle("PATCH /api/v2/document/{doctype}/{name...}", s.adapt(s.updateDoc, guestOK, true))
	mux.Handle("DELETE /api/v2/document/{doctype}/{name...}", s.adapt(s.deleteDoc, guestOK, true))
	mux.Handle("GET /api/v2/doctype/{doctype}/meta", s.adapt(s.doctypeMeta, guestOK, true))
	mux.Handle("GET /api/v2/doctype/{doctype}/count", s.adapt(s.countDocs, guestOK, true))
	mux.Handle("/api/v2/method/{method...}", s.adapt(s.callMethod, guestOK, true))

	// The OAuth 2.0 provider (oauth.go), at Frappe's paths; these answer
	// OAuth's raw JSON, not Frappe's envelope.
	for _, prefix := range []string{"/api", "/api/v1"} {
		m := prefix + "/method/" + oauthMethod
		mux.Handle(m+"authorize", s.oauthRoute(s.oauthAuthorize, oauthUser))
		mux.Handle(m+"approve", s.oauthRoute(s.oauthApprove, oauthUser))
		mux.Handle(m+"get_token", s.oauthRoute(s.oauthToken, oauthClient))
		mux.Handle(m+"revoke_token", s.oauthRoute(s.oauthRevoke, oauthClient))
		mux.Handle(m+"introspect_token", s.oauthRoute(s.oauthIntrospect, oauthClient))
		mux.Handle(m+"openid_profile", s.oauthRoute(s.oauthProfile, oauthUser))
		mux.Handle(m+"openid_configuration", s.oauthRoute(s.oauthDiscovery, oauthNoAuth))
	}
	mux.Handle("GET /.well-known/openid-configuration", s.oauthRoute(s.oauthDiscovery, oauthNoAuth))
	mux.Handle("GET /login", s.oauthRoute(s.loginPage, oauthNoAuth))
	mux.Handle("POST /login", s.oauthRoute(s.loginPage, oauthNoAuth))

	// Operators' endpoints (ops.go), when the server has them.
	if s.opts.Ops.Health != nil {
		mux.Handle("GET /healthz", s.opts.Ops.Health)
	}
	if s.opts.Ops.Ready != nil {
		mux.Handle("GET /readyz", s.opts.Ops.Ready)
	}
	if s.opts.Ops.Metrics != nil {
		mux.Handle("GET /metrics", s.adapt(s.metrics, loggedIn, false))
	}

	mux.Handle("/api/", s.adapt(s.notFound, guestOK, false))
	// Legacy RPC: any request to / carrying a cmd argument runs that method.
	mux.Handle("/{$}", s.adapt(s.legacyCmd, guestOK, false))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, c *call) error {
	return &frappeError{Exc: "DoesNotExistError", Msg: ""}
}
