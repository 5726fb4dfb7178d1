package api

import (
	"net/http"
)

// routes binds every route. /api/... and /api/v1/... are the same API;
// /api/v2/... differs in envelopes ({"data"} everywhere, {"errors"}).
func (s *Server) routes(mux *http.ServeMux) {
	for _, prefix := range []string{"/api", "/api/v1"} {
		mux.Handle("GET "+prefix+"/resource/{doctype}", s.adapt(s.listDocs, loggedIn, false))
		mux.Handle("POST "+prefix+"/resource/{doctype}", s.adapt(s.createDoc, loggedIn, false))
		mux.Handle("GET "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.getDoc, loggedIn, false))
		mux.Handle("PUT "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.updateDoc, loggedIn, false))
		mux.Handle("DELETE "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.deleteDoc, loggedIn, false))
		mux.Handle("POST "+prefix+"/resource/{doctype}/{name...}", s.adapt(s.runDocMethod, loggedIn, false))
		mux.Handle(prefix+"/method/{method...}", s.adapt(s.callMethod, guestOK, false))
		// Without a name there is nothing to update or delete. Binding these
		// keeps ServeMux from redirecting to the {name...} routes.
		mux.Handle("PUT "+prefix+"/resource/{doctype}", s.adapt(s.notFound, loggedIn, false))
		mux.Handle("DELETE "+prefix+"/resource/{doctype}", s.adapt(s.notFound, loggedIn, false))
	}
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		mux.Handle(m+" /api/v2/document/{doctype}", s.adapt(s.notFound, loggedIn, true))
	}
	mux.Handle("GET /api/v2/document/{doctype}", s.adapt(s.listDocs, loggedIn, true))
	mux.Handle("POST /api/v2/document/{doctype}", s.adapt(s.createDoc, loggedIn, true))
	mux.Handle("GET /api/v2/document/{doctype}/{name...}", s.adapt(s.getDoc, loggedIn, true))
	mux.Handle("PUT /api/v2/document/{doctype}/{name...}", s.adapt(s.updateDoc, loggedIn, true))
	mux.Handle("PATCH /api/v2/document/{doctype}/{name...}", s.adapt(s.updateDoc, loggedIn, true))
	mux.Handle("DELETE /api/v2/document/{doctype}/{name...}", s.adapt(s.deleteDoc, loggedIn, true))
	mux.Handle("GET /api/v2/doctype/{doctype}/meta", s.adapt(s.doctypeMeta, loggedIn, true))
	mux.Handle("GET /api/v2/doctype/{doctype}/count", s.adapt(s.countDocs, loggedIn, true))
	mux.Handle("/api/v2/method/{method...}", s.adapt(s.callMethod, guestOK, true))

	mux.Handle("/api/", s.adapt(s.notFound, guestOK, false))
	// Legacy RPC: any request to / carrying a cmd argument runs that method.
	mux.Handle("/{$}", s.adapt(s.legacyCmd, guestOK, false))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, c *call) error {
	return &frappeError{Exc: "DoesNotExistError", Msg: ""}
}
