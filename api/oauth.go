package api

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"

	"docket/auth"
	"docket/methods"
	"docket/projections/meta"
)

// The OAuth 2.0 provider's endpoints, at Frappe's paths
// (/api/method/frappe.integrations.oauth2.*, routes.go). They answer
// OAuth's own bodies, not Frappe's envelope: raw JSON objects, errors as
// {"error", "error_description"} (RFC 6749 §5.2), redirects for the
// browser steps. The protocol itself (clients, codes, tokens, PKCE,
// rotation, revocation) is auth's (auth/oauth.go).

// oauthMethod is the dotted prefix of the OAuth endpoints.
const oauthMethod = "frappe.integrations.oauth2."

// oauthAuth is how an OAuth endpoint authenticates its request.
type oauthAuth int

const (
	// oauthNoAuth: nobody needs to be known (discovery).
	oauthNoAuth oauthAuth = iota
	// oauthUser: a session, API key or bearer token says who the user is
	// (authorize, approve, openid_profile).
	oauthUser
	// oauthClient: as oauthUser, but an HTTP Basic header carries the
	// client's credentials (RFC 6749 §2.3.1), not an API key (get_token,
	// revoke_token, introspect_token).
	oauthClient
)

// oauthInvalidToken is the error of a request whose credentials fail
// (RFC 6750 §3.1).
const oauthInvalidToken = "invalid_token"

// oauthInsufficientScope is the error of a token whose scopes do not
// cover the request (RFC 6750 §3.1).
const oauthInsufficientScope = "insufficient_scope"

// oauthRoute wraps an OAuth endpoint as adapt wraps the others (body
// limit, arguments, authentication, panics), but writes errors in
// OAuth's shape.
func (s *Server) oauthRoute(h handler, mode oauthAuth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		c := &call{}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				s.writeOAuthError(w, r, c, fmt.Errorf("panic: %v", p))
			}
		}()
		if err := s.oauthServe(w, r, c, h, mode); err != nil {
			s.writeOAuthError(w, r, c, err)
		}
	})
}

func (s *Server) oauthServe(w http.ResponseWriter, r *http.Request, c *call, h handler, mode oauthAuth) error {
	if err := s.readArgs(w, r, c); err != nil {
		return err
	}
	c.id = &auth.Identity{User: auth.GuestUser, Via: "guest"}
	if mode == oauthNoAuth {
		return h(w, r, c)
	}
	authorization := r.Header.Get("Authorization")
	if scheme, _, _ := strings.Cut(authorization, " "); mode == oauthClient && strings.EqualFold(scheme, "basic") {
		authorization = "" // the client's credentials, checked by the endpoint
	}
	id, err := s.auth.Authenticate(r.Context(), sessionID(r, c), authorization)
	if errors.Is(err, auth.ErrBadCredentials) || errors.Is(err, auth.ErrBadHeader) {
		s.authFailed("credentials")
		return &auth.OAuthError{Code: oauthInvalidToken, Description: "The access token or credentials are invalid, expired or revoked"}
	}
	if err != nil {
		return err
	}
	c.id = id
	if id.SessionExpired {
		c.cookies = append(c.cookies, s.expiredCookies(r)...)
	}
	if id.Via == "bearer" && !slices.Contains(id.Scopes, auth.ScopeAll) && !strings.HasSuffix(r.URL.Path, ".openid_profile") {
		return &auth.OAuthError{Code: oauthInsufficientScope, Description: "This token's scopes do not include \"all\""}
	}
	return h(w, r, c)
}

// oauthStatus is the HTTP status of an OAuth error code.
func oauthStatus(code string) int {
	switch code {
	case auth.OAuthInvalidClient, oauthInvalidToken:
		return http.StatusUnauthorized
	case oauthInsufficientScope:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// asOAuthError makes any error an OAuth error and its status.
func (s *Server) asOAuthError(r *http.Request, err error) (*auth.OAuthError, int) {
	var oe *auth.OAuthError
	if errors.As(err, &oe) {
		return oe, oauthStatus(oe.Code)
	}
	fe := toFrappe(err)
	status := fe.status()
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		return &auth.OAuthError{Code: "server_error", Description: fe.Msg}, status
	}
	return &auth.OAuthError{Code: auth.OAuthInvalidRequest, Description: fe.Msg}, status
}

// writeOAuthError writes {"error", "error_description"}.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	oe, status := s.asOAuthError(r, err)
	switch oe.Code {
	case auth.OAuthInvalidClient:
		w.Header().Set("WWW-Authenticate", `Basic realm="docket"`)
	case oauthInvalidToken:
		w.Header().Set("WWW-Authenticate", `Bearer realm="docket", error="invalid_token"`)
	}
	var fe *frappeError
	if errors.As(err, &fe) && fe.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(fe.RetryAfter))
	}
	s.setCookies(w, c)
	w.Header().Set("Pragma", "no-cache")
	writeBody(w, status, NewObject().Set("error", oe.Code).Set("error_description", oe.Description))
}

// maxClientID bounds a client_id from a request (ids are 10 characters).
const maxClientID = 140

// authenticateClient checks a client's credentials, counting failures as
// failed logins (per client id and per address), so a weak client secret
// cannot be guessed at speed.
func (s *Server) authenticateClient(r *http.Request, id, secret string) (*auth.OAuthClient, error) {
	if id == "" || len(id) > maxClientID {
		return nil, &auth.OAuthError{Code: auth.OAuthInvalidClient, Description: "Unknown client"}
	}
	// Counted per client and address: a client's users elsewhere are not
	// locked out by someone guessing from one address.
	done, err := s.takeLoginAttempt(r, "oauth-client:"+id+"@"+s.clientAddr(r))
	if err != nil {
		return nil, err
	}
	client, err := s.auth.AuthenticateClient(r.Context(), id, secret)
	var oe *auth.OAuthError
	done(!errors.As(err, &oe) || oe.Code != auth.OAuthInvalidClient)
	return client, err
}

// oauthJSON writes a successful OAuth answer.
func (s *Server) oauthJSON(w http.ResponseWriter, c *call, body *Object) {
	s.setCookies(w, c)
	w.Header().Set("Pragma", "no-cache")
	writeBody(w, http.StatusOK, body)
}

func oauthArg(c *call, k string) string { return methods.StringArg(c.args, k) }

// requireMethod refuses a request with another HTTP method.
func requireMethod(w http.ResponseWriter, r *http.Request, allowed ...string) error {
	if slices.Contains(allowed, r.Method) {
		return nil
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return &auth.OAuthError{Code: auth.OAuthInvalidRequest, Description: "Method " + r.Method + " is not allowed here"}
}

// issuer is the server's base URL as the request reached it (https when
// secure: over TLS, or through a trusted proxy that says so).
func (s *Server) issuer(r *http.Request) string {
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oauthAuthorize serves authorize (RFC 6749 §4.1.1): a request without a
// login session is sent to /login; a logged-in user gets the consent page, or at once a code when
// the client skips authorization. A wrong client or redirect_uri is
// answered here (400) and never redirected; other errors go back to the
// client's redirect_uri.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	a, err := s.auth.CheckAuthRequest(ctx, auth.AuthRequest{
		ClientID: oauthArg(c, "client_id"), RedirectURI: oauthArg(c, "redirect_uri"),
		ResponseType: oauthArg(c, "response_type"), Scope: oauthArg(c, "scope"), State: oauthArg(c, "state"),
		CodeChallenge: oauthArg(c, "code_challenge"), CodeChallengeMethod: oauthArg(c, "code_challenge_method"),
		Nonce: oauthArg(c, "nonce"),
	})
	var oe *auth.OAuthError
	switch {
	case err != nil && !errors.As(err, &oe):
		return err
	case err != nil && a == nil:
		return s.oauthErrorPage(w, r, c, err)
	case err != nil:
		return s.oauthRedirect(w, c, a, url.Values{"error": {oe.Code}, "error_description": {oe.Description}})
	}
	// Consent is the user's, in a browser: only a login session counts
	// (an API key or another client's token cannot obtain codes).
	if c.id.Via != "session" {
		s.setCookies(w, c)
		w.Header().Set("Location", "/login?"+url.Values{"redirect-to": {r.URL.RequestURI()}}.Encode())
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusFound)
		return nil
	}
	a.User = c.id.User
	if a.Client.SkipAuthorization {
		return s.oauthIssueCode(w, r, c, a)
	}
	id, err := s.auth.NewApproval(ctx, a)
	if err != nil {
		return err
	}
	var scopes []string
	for _, sc := range a.Scopes {
		scopes = append(scopes, scopeText(sc))
	}
	app := a.Client.AppName
	if app == "" {
		app = a.Client.ID
	}
	return s.oauthPage(w, c, http.StatusOK, consentPage, map[string]any{
		"App": app, "User": a.User, "Scopes": scopes, "Redirect": a.RedirectURI,
		"Action": "/api/method/" + oauthMethod + "approve", "ApprovalID": id,
	})
}

// scopeText explains a scope on the consent page.
func scopeText(scope string) string {
	switch scope {
	case "all":
		return "all: act as you, with everything your account may do"
	case "openid":
		return "openid: know who you are (your name, e-mail and roles)"
	}
	return scope
}

// oauthApprove serves approve: the consent page's answer (its one-time
// approval id), from the user who was asked.
func (s *Server) oauthApprove(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := requireMethod(w, r, http.MethodPost); err != nil {
		return s.oauthErrorPage(w, r, c, err)
	}
	if c.id.Via != "session" {
		return s.oauthErrorPage(w, r, c, &auth.OAuthError{Code: auth.OAuthAccessDenied, Description: "Log in first"})
	}
	a, err := s.auth.TakeApproval(r.Context(), oauthArg(c, "approval_id"), c.id.User)
	var oe *auth.OAuthError
	if errors.As(err, &oe) {
		return s.oauthErrorPage(w, r, c, err)
	}
	if err != nil {
		return err
	}
	if oauthArg(c, "action") != "allow" {
		return s.oauthRedirect(w, c, a, url.Values{"error": {auth.OAuthAccessDenied}, "error_description": {"The user denied the request"}})
	}
	return s.oauthIssueCode(w, r, c, a)
}

func (s *Server) oauthIssueCode(w http.ResponseWriter, r *http.Request, c *call, a *auth.Authorization) error {
	code, err := s.auth.IssueCode(r.Context(), a)
	if err != nil {
		return err
	}
	return s.oauthRedirect(w, c, a, url.Values{"code": {code}})
}

// oauthRedirect sends the user agent back to the client's checked
// redirect URI with params and the request's state.
func (s *Server) oauthRedirect(w http.ResponseWriter, c *call, a *auth.Authorization, params url.Values) error {
	u, err := url.Parse(a.RedirectURI)
	if err != nil {
		return err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if a.State != "" {
		q.Set("state", a.State)
	}
	u.RawQuery = q.Encode()
	s.setCookies(w, c)
	w.Header().Set("Location", u.String())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
	return nil
}

// oauthErrorPage answers an error the user (not the client) must see: an
// HTML page for a browser, OAuth's JSON otherwise.
func (s *Server) oauthErrorPage(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return err
	}
	oe, status := s.asOAuthError(r, err)
	return s.oauthPage(w, c, status, errorPage, map[string]any{"Code": oe.Code, "Description": oe.Description})
}

// oauthPage writes an HTML page that no other site may frame.
func (s *Server) oauthPage(w http.ResponseWriter, c *call, status int, t *template.Template, data any) error {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	s.setCookies(w, c)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
	return nil
}

const pageStyle = `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccc;border-radius:8px;padding:1.5rem}h1{font-size:1.4rem}code{word-break:break-all}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:6px;border:1px solid #888;background:#fff;cursor:pointer}
button.allow{background:#1d4ed8;border-color:#1d4ed8;color:#fff}</style>`

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {{.App}}</title>` + pageStyle + `</head>
<body><div class="box">
<h1>Authorize {{.App}}</h1>
<p><strong>{{.App}}</strong> asks for access to your account <strong>{{.User}}</strong>:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<p>If you allow it, you will go on to <code>{{.Redirect}}</code>.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="approval_id" value="{{.ApprovalID}}">
<button class="allow" type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form></div></body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorization failed</title>` + pageStyle + `</head>
<body><div class="box">
<h1>Authorization failed</h1>
<p>{{.Description}}</p>
<p><code>{{.Code}}</code></p>
</div></body></html>
`))

// clientCredentials reads the client's credentials from an HTTP Basic
// header (form-encoded id and secret, RFC 6749 §2.3.1) or the body's
// client_id and client_secret; using both is refused.
func clientCredentials(r *http.Request, c *call) (id, secret string, err error) {
	if _, inURL := r.URL.Query()["client_secret"]; inURL {
		return "", "", &auth.OAuthError{Code: auth.OAuthInvalidRequest, Description: "client_secret must not be sent in the URL"}
	}
	bid, bsecret, basic := r.BasicAuth()
	if !basic {
		return oauthArg(c, "client_id"), oauthArg(c, "client_secret"), nil
	}
	unescape := func(v string) string {
		if u, err := url.QueryUnescape(v); err == nil {
			return u
		}
		return v
	}
	id, secret = unescape(bid), unescape(bsecret)
	if oauthArg(c, "client_secret") != "" {
		return "", "", &auth.OAuthError{Code: auth.OAuthInvalidRequest, Description: "Send the client's credentials one way only (HTTP Basic or the body)"}
	}
	if body := oauthArg(c, "client_id"); body != "" && body != id {
		return "", "", &auth.OAuthError{Code: auth.OAuthInvalidClient, Description: "client_id does not match the HTTP Basic credentials"}
	}
	return id, secret, nil
}

// oauthToken serves get_token (RFC 6749 §3.2): grant_type
// authorization_code, refresh_token or client_credentials.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request, c *call) error {
	client, err := s.postingClient(w, r, c)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var g *auth.TokenGrant
	switch gt := oauthArg(c, "grant_type"); gt {
	case "authorization_code":
		g, err = s.auth.ExchangeCode(ctx, client, oauthArg(c, "code"), oauthArg(c, "redirect_uri"), oauthArg(c, "code_verifier"))
	case "refresh_token":
		g, err = s.auth.RefreshToken(ctx, client, oauthArg(c, "refresh_token"), oauthArg(c, "scope"))
	case "client_credentials":
		g, err = s.auth.ClientCredentialsToken(ctx, client, oauthArg(c, "scope"))
	case "":
		err = &auth.OAuthError{Code: auth.OAuthInvalidRequest, Description: "grant_type is required"}
	default:
		err = &auth.OAuthError{Code: auth.OAuthUnsupportedGrantType, Description: fmt.Sprintf("grant_type %q is not supported", gt)}
	}
	if err != nil {
		return err
	}
	body := NewObject().Set("access_token", g.AccessToken).Set("token_type", "Bearer").Set("expires_in", g.ExpiresIn)
	if g.RefreshToken != "" {
		body.Set("refresh_token", g.RefreshToken)
	}
	body.Set("scope", strings.Join(g.Scopes, " "))
	if g.Grant == "authorization_code" && slices.Contains(g.Scopes, "openid") {
		idToken, err := s.idToken(r, client, g)
		if err != nil {
			return err
		}
		if idToken != "" {
			body.Set("id_token", idToken)
		}
	}
	s.oauthJSON(w, c, body)
	return nil
}

// idToken is the OpenID Connect ID token of a grant: an HS256 JWT signed
// with the client's secret ("" for a public client, which has none).
func (s *Server) idToken(r *http.Request, client *auth.OAuthClient, g *auth.TokenGrant) (string, error) {
	doc, err := s.docs.Get("User", g.User)
	if err != nil {
		return "", err
	}
	claims := map[string]any{
		"iss": s.issuer(r), "sub": g.User, "aud": client.ID,
		"iat": g.IssuedAt.Unix(), "exp": g.Expires.Unix(),
		"email": doc["email"], "name": doc["full_name"],
	}
	if g.Nonce != "" {
		claims["nonce"] = g.Nonce
	}
	return s.auth.SignIDToken(client, claims)
}

// oauthRevoke serves revoke_token (RFC 7009): always 200 {} (an unknown
// token is no error); a refresh token revokes its whole grant.
func (s *Server) oauthRevoke(w http.ResponseWriter, r *http.Request, c *call) error {
	// RFC 7009 §2.1: the client authenticates (a public one names itself)
	// and may revoke only tokens issued to it; any other token is
	// answered as an unknown one (200, nothing revoked).
	client, err := s.postingClient(w, r, c)
	if err != nil {
		return err
	}
	if err := s.auth.RevokeClientToken(r.Context(), client.ID, oauthArg(c, "token"), oauthArg(c, "token_type_hint")); err != nil {
		return err
	}
	s.oauthJSON(w, c, NewObject())
	return nil
}

// postingClient checks what get_token and revoke_token share: a POST
// with no credentials in its URL, from an authenticated client.
func (s *Server) postingClient(w http.ResponseWriter, r *http.Request, c *call) (*auth.OAuthClient, error) {
	if err := requireMethod(w, r, http.MethodPost); err != nil {
		return nil, err
	}
	if err := tokensNotInURL(r); err != nil {
		return nil, err
	}
	id, secret, err := clientCredentials(r, c)
	if err != nil {
		return nil, err
	}
	return s.authenticateClient(r, id, secret)
}

// tokensNotInURL refuses credentials in the query string, where logs and
// browser history keep them (RFC 6749 §3.2, RFC 6819 §5.1.6).
func tokensNotInURL(r *http.Request) error {
	q := r.URL.Query()
	for _, k := range []string{"client_secret", "code", "code_verifier", "refresh_token", "token", "password"} {
		if _, ok := q[k]; ok {
			return &auth.OAuthError{Code: auth.OAuthInvalidRequest, Description: k + " must be sent in the request body, not the URL"}
		}
	}
	return nil
}

// oauthIntrospect serves introspect_token (RFC 7662). The caller is a
// confidential client (which sees its own tokens only) or a System
// Manager (any token).
func (s *Server) oauthIntrospect(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := requireMethod(w, r, http.MethodPost); err != nil {
		return err
	}
	if err := tokensNotInURL(r); err != nil {
		return err
	}
	ctx := r.Context()
	id, secret, err := clientCredentials(r, c)
	if err != nil {
		return err
	}
	only := ""
	if id != "" {
		client, err := s.authenticateClient(r, id, secret)
		if err != nil {
			return err
		}
		if !client.Confidential() {
			return &auth.OAuthError{Code: auth.OAuthInvalidClient, Description: "Introspection needs a confidential client"}
		}
		only = client.ID
	} else {
		ok := false
		if c.id.User != auth.GuestUser {
			if ok, err = s.docs.HasRole(c.id.User, methods.SystemManager); err != nil {
				return err
			}
		}
		if !ok {
			return &auth.OAuthError{Code: auth.OAuthInvalidClient, Description: "Introspection needs client authentication (or a System Manager)"}
		}
	}
	info, err := s.auth.IntrospectToken(ctx, oauthArg(c, "token"), oauthArg(c, "token_type_hint"))
	if err != nil {
		return err
	}
	if info == nil || only != "" && info.ClientID != only {
		s.oauthJSON(w, c, NewObject().Set("active", false))
		return nil
	}
	tokenType := "Bearer"
	if info.Type == "refresh_token" {
		tokenType = "refresh_token"
	}
	s.oauthJSON(w, c, NewObject().Set("active", true).Set("client_id", info.ClientID).
		Set("scope", strings.Join(info.Scopes, " ")).Set("token_type", tokenType).
		Set("exp", info.Expires.Unix()).Set("iat", info.IssuedAt.Unix()).
		Set("sub", info.User).Set("username", info.User).Set("aud", info.ClientID).Set("iss", s.issuer(r)))
	return nil
}

// oauthProfile serves openid_profile (OpenID Connect userinfo) for the
// request's user.
func (s *Server) oauthProfile(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.id.User == auth.GuestUser {
		return &auth.OAuthError{Code: oauthInvalidToken, Description: "An access token is required"}
	}
	doc, err := s.docs.Get("User", c.id.User)
	if err != nil {
		return err
	}
	roles := []string{}
	for _, row := range meta.Rows(doc["roles"]) {
		if role, _ := row["role"].(string); role != "" && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	for _, role := range []string{"All", "Guest"} {
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	var picture any
	if img, _ := doc["user_image"].(string); img != "" {
		if strings.HasPrefix(img, "/") {
			img = s.issuer(r) + img
		}
		picture = img
	}
	s.oauthJSON(w, c, NewObject().Set("sub", c.id.User).Set("name", doc["full_name"]).
		Set("given_name", doc["first_name"]).Set("family_name", doc["last_name"]).
		Set("email", doc["email"]).Set("picture", picture).Set("roles", roles).Set("iss", s.issuer(r)))
	return nil
}

// oauthDiscovery serves the OpenID Connect discovery document.
func (s *Server) oauthDiscovery(w http.ResponseWriter, r *http.Request, c *call) error {
	iss := s.issuer(r)
	ep := iss + "/api/method/" + oauthMethod
	s.oauthJSON(w, c, NewObject().Set("issuer", iss).
		Set("authorization_endpoint", ep+"authorize").
		Set("token_endpoint", ep+"get_token").
		Set("userinfo_endpoint", ep+"openid_profile").
		Set("revocation_endpoint", ep+"revoke_token").
		Set("introspection_endpoint", ep+"introspect_token").
		Set("response_types_supported", []string{"code"}).
		Set("response_modes_supported", []string{"query"}).
		Set("grant_types_supported", []string{"authorization_code", "refresh_token", "client_credentials"}).
		Set("code_challenge_methods_supported", []string{"S256"}).
		Set("scopes_supported", []string{"all", "openid"}).
		Set("subject_types_supported", []string{"public"}).
		Set("token_endpoint_auth_methods_supported", []string{"client_secret_post", "client_secret_basic", "none"}).
		Set("revocation_endpoint_auth_methods_supported", []string{"client_secret_post", "client_secret_basic", "none"}).
		Set("introspection_endpoint_auth_methods_supported", []string{"client_secret_post", "client_secret_basic"}).
		Set("id_token_signing_alg_values_supported", []string{"HS256"}).
		Set("claims_supported", []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "name", "given_name", "family_name", "picture", "roles"}))
	return nil
}
