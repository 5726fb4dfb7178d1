package api

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"docket/methods"
)

// loginPage serves /login, the page OAuth's authorize step sends a
// browser without a session to: GET shows a password form, POST logs in
// (with the limits of /api/method/login) and goes on to redirect-to, a
// path on this server.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, c *call) error {
	next := localPath(methods.StringArg(c.args, "redirect-to"))
	data := map[string]any{"Next": next}
	if r.Method == http.MethodPost {
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
			data["Error"] = "This form must be sent from this server's own page."
			return s.oauthPage(w, c, http.StatusForbidden, loginForm, data)
		}
		usr := strings.TrimSpace(methods.StringArg(c.args, "usr"))
		data["User"] = usr
		if _, _, err := s.passwordLogin(r, c, usr, methods.StringArg(c.args, "pwd")); err != nil {
			fe := toFrappe(err)
			data["Error"] = fe.Msg
			return s.oauthPage(w, c, fe.status(), loginForm, data)
		}
		s.setCookies(w, c)
		w.Header().Set("Location", next)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	return s.oauthPage(w, c, http.StatusOK, loginForm, data)
}

// localPath keeps a redirect on this server: a path starting with one
// slash, else "/api/method/frappe.auth.get_logged_user".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/api/method/frappe.auth.get_logged_user"
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return "/api/method/frappe.auth.get_logged_user"
	}
	return p
}

// sameOrigin reports whether an Origin header names this server as the
// request reached it.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in</title>` + pageStyle + `</head>
<body><div class="box">
<h1>Log in to docket</h1>
{{if .Error}}<p><strong>{{.Error}}</strong></p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="redirect-to" value="{{.Next}}">
<p><label>User<br><input name="usr" autocomplete="username" value="{{.User}}" required></label></p>
<p><label>Password<br><input name="pwd" type="password" autocomplete="current-password" required></label></p>
<button class="allow" type="submit">Log in</button>
</form></div></body></html>
`))
