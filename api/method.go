package api

import (
	"context"
	"net/http"
	"strings"

	"docket/auth"
	"docket/methods"
	"docket/projections"
)

// callMethod serves /api/method/{dotted.path}: a whitelisted method, or
// one of the session methods (login, logout).
func (s *Server) callMethod(w http.ResponseWriter, r *http.Request, c *call) error {
	name, _, _ := strings.Cut(r.PathValue("method"), "/") // Frappe ignores what follows
	return s.dispatch(w, r, c, name)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, c *call, name string) error {
	switch name {
	case "login":
		// Only the exact path /api/method/login (or cmd=login) logs in.
		if c.v2 || strings.HasPrefix(r.URL.Path, "/api/v1/") {
			s.respond(w, c, http.StatusOK, "message", nil)
			return nil
		}
		return s.login(w, r, c)
	case "logout", "web_logout":
		return s.logout(w, r, c)
	case "frappe.core.doctype.user.user.update_password":
		return s.updatePassword(w, r, c)
	case "frappe.sessions.get_csrf_token":
		return s.csrfToken(w, r, c)
	case "frappe.core.doctype.file.file.download_file", "download_file":
		return s.downloadFile(w, r, c)
	}
	resp, err := s.methods.Call(r.Context(), methods.Request{Method: name, HTTPMethod: r.Method, User: c.id.User, Args: c.args})
	if err != nil {
		return err
	}
	c.wrote(resp.Seq)
	res := resp.Message
	if doc, ok := res.(methods.Document); ok {
		d, err := s.docs.Meta(doc.DocType)
		if err != nil {
			return err
		}
		res = s.renderDoc(d, doc.Doc, false)
	}
	c.messages = resp.Messages
	s.respond(w, c, http.StatusOK, "message", res)
	return nil
}

// legacyCmd serves requests to / that carry a cmd argument (Frappe's old
// RPC form, used by frappe-js-sdk's forgetPassword).
func (s *Server) legacyCmd(w http.ResponseWriter, r *http.Request, c *call) error {
	cmd := methods.StringArg(c.args, "cmd")
	if cmd == "" {
		s.respond(w, c, http.StatusOK, "message", "docket: a Frappe-compatible document server. The API is under /api/.")
		return nil
	}
	return s.dispatch(w, r, c, cmd)
}

// registerMethods adds the methods that need the auth service.
func (s *Server) registerMethods() {
	s.methods.Registry().Register("frappe.core.doctype.user.user.generate_keys",
		methods.MethodOptions{Methods: []string{"POST"}, LocalOnly: true}, s.generateKeys)
}

// generateKeys is frappe.core.doctype.user.user.generate_keys(user): a
// new API secret (and an API key if the user has none), shown once. The
// key is written to the User document before its secret is stored, so a
// failure leaves no secret without its key.
func (s *Server) generateKeys(ctx context.Context, c *methods.Call) (any, error) {
	user := methods.StringArg(c.Args, "user")
	if user == "" {
		return nil, errorf("ValidationError", "Argument user is required")
	}
	if ok, err := s.docs.HasRole(c.User, methods.SystemManager); err != nil {
		return nil, err
	} else if !ok {
		return nil, &frappeError{Exc: "PermissionError", Title: "Not Permitted", Msg: "Not permitted: only a System Manager may generate API keys"}
	}
	doc, err := s.docs.Get("User", user)
	if err != nil {
		return nil, err
	}
	user = projections.NameString(doc["name"]) // as stored, whatever case was asked
	// Keys are credentials of the user: the caller must be allowed to write
	// the user (a System Manager cannot mint the Administrator's).
	if ok, err := s.docs.Reader(c.User).Can(ctx, "User", user, methods.PermWrite); err != nil {
		return nil, err
	} else if !ok {
		return nil, &frappeError{Exc: "PermissionError", Title: "Not Permitted",
			Msg: "Not permitted: you may not generate API keys for " + user, ErrorMessage: "No permission for User"}
	}
	key, _ := doc["api_key"].(string)
	if key == "" {
		// The key is committed first, on its own: the secret below is
		// stored outside any transaction, and must never wait on one.
		key = auth.NewAPIKey()
		_, err := s.docs.Run(ctx, c.User, func(tx *methods.Tx) error {
			_, err := tx.Update(ctx, "User", user, map[string]any{"api_key": key})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	secret, err := s.auth.SetAPISecret(ctx, key, user)
	if err != nil {
		return nil, err
	}
	return map[string]any{"api_key": key, "api_secret": secret}, nil
}
