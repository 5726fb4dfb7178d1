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
// cookies, or 401 with "Invalid login credentials". Failed attempts are
// counted per login name and per client address; past the limit the
// answer is 429 with Retry-After, before any password is checked.
func (s *Server) login(w http.ResponseWriter, r *http.Request, c *call) error {
	usr := strings.TrimSpace(methods.StringArg(c.args, "usr"))
	pwd := methods.StringArg(c.args, "pwd")
	fail := func(msg string) error {
		return &frappeError{Exc: "AuthenticationError", Msg: msg, LoginMessage: msg, Title: "Not Permitted"}
	}
	if usr == "" || pwd == "" {
		return fail("Incomplete login details")
	}
	systemUser, fullName, err := s.passwordLogin(r, c, usr, pwd)
	if err != nil {
		return err
	}
	if systemUser {
		s.respond(w, c, http.StatusOK, "message", "Logged In", "home_page", "/app", "full_name", fullName)
	} else {
		s.respond(w, c, http.StatusOK, "message", "No App", "home_page", "/me", "full_name", fullName)
	}
	return nil
}

// maxLoginLength bounds a login name (an e-mail address is at most 320
// characters): longer ones are refused before anything is looked up or
// counted.
const maxLoginLength = 320

// passwordLogin checks a login name and password, within the login
// limits, and starts a session.
func (s *Server) passwordLogin(r *http.Request, c *call, usr, pwd string) (systemUser bool, fullName string, err error) {
	fail := func(msg string) error {
		return &frappeError{Exc: "AuthenticationError", Msg: msg, LoginMessage: msg, Title: "Not Permitted"}
	}
	if len(usr) > maxLoginLength {
		return false, "", fail("Invalid login credentials") // no user has such a name
	}
	key, err := s.auth.LoginKey(r.Context(), usr)
	if err != nil {
		return false, "", err
	}
	done, err := s.takeLoginAttempt(r, key)
	if err != nil {
		return false, "", err
	}
	user, err := s.auth.Login(r.Context(), usr, pwd)
	done(err == nil)
	switch {
	case errors.Is(err, auth.ErrInvalidLogin):
		return false, "", fail("Invalid login credentials")
	case errors.Is(err, auth.ErrDisabled):
		return false, "", fail("User disabled or missing")
	case errors.Is(err, auth.ErrPasswordTooLong):
		return false, "", fail("Password size exceeded the maximum allowed size")
	case err != nil:
		return false, "", err
	}
	return s.startSession(r, c, user)
}

// startSession starts a session for user and adds Frappe's login cookies
// to the response.
func (s *Server) startSession(r *http.Request, c *call, user string) (systemUser bool, fullName string, err error) {
	sess, err := s.auth.NewSession(r.Context(), user)
	if err != nil {
		return false, "", err
	}
	doc, err := s.docs.Get("User", user)
	if err != nil {
		return false, "", err
	}
	fullName, _ = doc["full_name"].(string)
	userImage, _ := doc["user_image"].(string)
	systemUser = doc["user_type"] != "Website User"
	secure := s.secure(r)
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
	return systemUser, fullName, nil
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
	c.cookies = append(c.cookies, s.expiredCookies(r)...)
	c.id = &auth.Identity{User: auth.GuestUser, Via: "guest"}
	s.respond(w, c, http.StatusOK, "message", nil)
	return nil
}

// expiredCookies clears the cookies login sets.
func (s *Server) expiredCookies(r *http.Request) []*http.Cookie {
	return clearedCookies(s.secure(r))
}

// expiredCookies clears the cookies login sets (Secure on TLS requests).
func expiredCookies(r *http.Request) []*http.Cookie { return clearedCookies(r.TLS != nil) }

func clearedCookies(secure bool) []*http.Cookie {
	var out []*http.Cookie
	for _, name := range []string{"sid", "system_user", "full_name", "user_id", "user_image"} {
		out = append(out, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
			Secure: secure, SameSite: http.SameSiteLaxMode, HttpOnly: name == "sid"})
	}
	return out
}
