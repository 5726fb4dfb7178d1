package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"docket/auth"
	"docket/methods"
)

// login serves POST /api/method/login {usr, pwd}: a session and Frappe's
// cookies, or 401 with "Invalid login credentials".
func (s *Server) login(w http.ResponseWriter, r *http.Request, c *call) error {
	usr := strings.TrimSpace(methods.StringArg(c.args, "usr"))
	pwd := methods.StringArg(c.args, "pwd")
	fail := func(msg string) error {
		return &frappeError{Exc: "AuthenticationError", Msg: msg, LoginMessage: msg, Title: "Not Permitted"}
	}
	if usr == "" || pwd == "" {
		return fail("Incomplete login details")
	}
	user, err := s.auth.Login(r.Context(), usr, pwd)
	switch {
	case errors.Is(err, auth.ErrInvalidLogin):
		return fail("Invalid login credentials")
	case errors.Is(err, auth.ErrDisabled):
		return fail("User disabled or missing")
	case errors.Is(err, auth.ErrPasswordTooLong):
		return fail("Password size exceeded the maximum allowed size")
	case err != nil:
		return err
	}
	sess, err := s.auth.NewSession(r.Context(), user)
	if err != nil {
		return err
	}
	doc, err := s.docs.Get("User", user)
	if err != nil {
		return err
	}
	fullName, _ := doc["full_name"].(string)
	userImage, _ := doc["user_image"].(string)
	systemUser := doc["user_type"] != "Website User"
	secure := r.TLS != nil
	c.id = &auth.Identity{User: user, Via: "session", Session: sess}
	c.cookies = append(c.cookies[:0], &http.Cookie{
		Name: "sid", Value: sess.ID, Path: "/", MaxAge: int(s.auth.TTL().Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	yes := "no"
	if systemUser {
		yes = "yes"
	}
	for _, kv := range [][2]string{{"system_user", yes}, {"full_name", fullName}, {"user_id", user}, {"user_image", userImage}} {
		c.cookies = append(c.cookies, &http.Cookie{
			Name: kv[0], Value: cookieValue(kv[1]), Path: "/", Secure: secure, SameSite: http.SameSiteLaxMode,
		})
	}
	if systemUser {
		s.respond(w, c, http.StatusOK, "message", "Logged In", "home_page", "/app", "full_name", fullName)
	} else {
		s.respond(w, c, http.StatusOK, "message", "No App", "home_page", "/me", "full_name", fullName)
	}
	return nil
}

// cookieValue percent-encodes a cookie value as Frappe does ('/' kept).
func cookieValue(v string) string {
	return strings.ReplaceAll(url.PathEscape(v), "%2F", "/")
}

// logout serves /api/method/logout: the session ends and the auth
// cookies expire.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.id.Session != nil {
		if err := s.auth.EndSession(r.Context(), c.id.Session.ID); err != nil {
			return err
		}
	}
	c.cookies = append(c.cookies, expiredCookies(r)...)
	c.id = &auth.Identity{User: auth.GuestUser, Via: "guest"}
	s.respond(w, c, http.StatusOK, "message", nil)
	return nil
}

// expiredCookies clears the cookies login sets.
func expiredCookies(r *http.Request) []*http.Cookie {
	var out []*http.Cookie
	for _, name := range []string{"sid", "system_user", "full_name", "user_id", "user_image"} {
		out = append(out, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
			Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, HttpOnly: name == "sid"})
	}
	return out
}
