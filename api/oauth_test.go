package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"docket/api/apitest"
	"docket/auth"
)

const (
	oauthBase   = "/api/method/frappe.integrations.oauth2."
	janeUser    = "jane@example.com"
	janePass    = "jane-password-1"
	callbackURI = "https://app.example/callback"
)

// oauthNode is a node with user jane and OAuth clients created through
// the resource API as the Administrator.
type oauthNode struct {
	n       *apitest.Node
	admin   *apitest.Client
	spa     string // public, skip_authorization
	web     string // confidential (web-secret), consent page
	svc     string // confidential, client_credentials as svc@example.com
	pubSvc  string // public, client_credentials: refused
	browser *apitest.Client
}

func startOAuth(t *testing.T) *oauthNode {
	t.Helper()
	n := apitest.Start(t, "")
	o := &oauthNode{n: n, admin: n.Admin(t)}
	for _, u := range []map[string]any{
		{"email": janeUser, "first_name": "Jane", "last_name": "Doe", "new_password": janePass},
		{"email": "svc@example.com", "first_name": "Service"},
	} {
		o.admin.Do(t, "POST", "/api/resource/User", u, 200, nil)
	}
	newClient := func(doc map[string]any) string {
		var out struct {
			Data map[string]any `json:"data"`
		}
		o.admin.Do(t, "POST", "/api/resource/OAuth Client", doc, 200, &out)
		if s, _ := out.Data["client_secret"].(string); s != "" && s != "********" {
			t.Fatalf("client_secret shown: %v", out.Data)
		}
		return out.Data["name"].(string)
	}
	o.spa = newClient(map[string]any{"app_name": "Trusted SPA", "redirect_uris": callbackURI + "\nhttp://127.0.0.1:8080/cb", "skip_authorization": 1})
	o.web = newClient(map[string]any{"app_name": "<b>Web</b> & Co", "client_secret": webSecret, "redirect_uris": callbackURI})
	o.svc = newClient(map[string]any{"app_name": "Service", "client_secret": svcSecret, "grant_type": "Client Credentials", "user": "svc@example.com", "scopes": "all"})
	o.pubSvc = newClient(map[string]any{"app_name": "Public service", "grant_type": "Client Credentials", "user": "svc@example.com"})
	o.browser = o.login(t, janeUser, janePass)
	return o
}

// login returns a cookie-session client that does not follow redirects.
func (o *oauthNode) login(t *testing.T, user, pwd string) *apitest.Client {
	c := o.n.Client(t)
	c.Login(t, user, pwd)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func (o *oauthNode) config(clientID, secret string, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: callbackURI, Scopes: []string{"all", "openid"},
		Endpoint: oauth2.Endpoint{AuthURL: o.n.URL + oauthBase + "authorize", TokenURL: o.n.URL + oauthBase + "get_token", AuthStyle: style},
	}
}

// get fetches a URL of the node with c (no redirects followed).
func get(t *testing.T, c *apitest.Client, rawURL string) *apitest.Response {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return c.Raw(t, "GET", u.RequestURI(), "", nil)
}

// redirected checks a 302 to the callback and returns its query.
func redirected(t *testing.T, r *apitest.Response) url.Values {
	t.Helper()
	if r.Status != http.StatusFound {
		t.Fatalf("status %d, want 302; body %s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), callbackURI+"?") {
		t.Fatalf("redirect to %q", r.Header.Get("Location"))
	}
	return loc.Query()
}

// authorize runs the browser part for a skip_authorization client and
// returns the code.
func (o *oauthNode) authorize(t *testing.T, conf *oauth2.Config, state string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	q := redirected(t, get(t, o.browser, conf.AuthCodeURL(state, opts...)))
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	return q.Get("code")
}

var approvalRE = regexp.MustCompile(`name="approval_id" value="([^"]+)"`)

// consent runs the browser part for a client with a consent page: the
// page, then its form's answer.
func (o *oauthNode) consent(t *testing.T, c *apitest.Client, authURL, action string) (*apitest.Response, *apitest.Response) {
	t.Helper()
	page := get(t, c, authURL)
	if page.Status != 200 {
		t.Fatalf("consent page: %d %s", page.Status, page.Body)
	}
	m := approvalRE.FindSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no approval id in %s", page.Body)
	}
	form := url.Values{"approval_id": {string(m[1])}, "action": {action}}
	return page, c.Raw(t, "POST", oauthBase+"approve", "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// bearer calls get_logged_user with an access token.
func (o *oauthNode) bearer(t *testing.T, token string) (int, string) {
	t.Helper()
	c := o.n.Client(t)
	c.Header.Set("Authorization", "Bearer "+token)
	var out struct {
		Message string `json:"message"`
	}
	r := c.Raw(t, "GET", "/api/method/frappe.auth.get_logged_user", "", nil)
	_ = json.Unmarshal(r.Body, &out)
	return r.Status, out.Message
}

func oauthErrorCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a RetrieveError", err)
	}
	return re.ErrorCode
}

// postForm posts a form and decodes the answer into *out (a fresh map).
func postForm(t *testing.T, c *apitest.Client, path string, form url.Values, out *map[string]any) *apitest.Response {
	t.Helper()
	r := c.Raw(t, "POST", path, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if out != nil {
		*out = nil
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("%s: %s", path, r.Body)
		}
	}
	return r
}

// TestOAuthFlow: the whole authorization code flow with PKCE, driven by
// golang.org/x/oauth2: code, exchange, a Bearer call, refresh with
// rotation, replay of a retired refresh token, revocation, introspection,
// userinfo and discovery.
func TestOAuthFlow(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)

	verifier := oauth2.GenerateVerifier()
	code := o.authorize(t, conf, "state-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1"))
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("token %+v", tok)
	}
	if tok.Extra("scope") != "all openid" || tok.Extra("id_token") != nil {
		t.Errorf("scope %v, id_token %v (a public client gets none)", tok.Extra("scope"), tok.Extra("id_token"))
	}
	if st, user := o.bearer(t, tok.AccessToken); st != 200 || user != janeUser {
		t.Fatalf("bearer call: %d %q", st, user)
	}
	// The oauth2 package's own client works as well.
	resp, err := conf.Client(ctx, tok).Get(o.n.URL + "/api/resource/User/" + janeUser)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("oauth2 client: %v %v", resp, err)
	}
	resp.Body.Close()

	// Refresh rotates the pair; the retired refresh token, presented again,
	// is refused and revokes the new family as well.
	tok2, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == tok.RefreshToken || tok2.RefreshToken == "" {
		t.Fatalf("no rotation: %+v", tok2)
	}
	if st, user := o.bearer(t, tok2.AccessToken); st != 200 || user != janeUser {
		t.Fatalf("refreshed token: %d %q", st, user)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if code := oauthErrorCode(t, err); code != "invalid_grant" {
		t.Fatalf("replayed refresh token: %s", code)
	}
	for _, at := range []string{tok.AccessToken, tok2.AccessToken} {
		if st, _ := o.bearer(t, at); st != 401 {
			t.Errorf("access token after a refresh replay: %d", st)
		}
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err == nil {
		t.Error("the new refresh token survives a replay of the old one")
	}

	// A fresh grant: userinfo, introspection, revocation.
	verifier = oauth2.GenerateVerifier()
	code = o.authorize(t, conf, "state-2", oauth2.S256ChallengeOption(verifier))
	tok, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	c := o.n.Client(t)
	c.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var profile map[string]any
	c.Do(t, "GET", oauthBase+"openid_profile", nil, 200, &profile)
	if profile["sub"] != janeUser || profile["email"] != janeUser || profile["name"] != "Jane Doe" ||
		profile["given_name"] != "Jane" || profile["family_name"] != "Doe" || profile["iss"] != o.n.URL {
		t.Errorf("profile %v", profile)
	}
	if roles, _ := profile["roles"].([]any); len(roles) == 0 {
		t.Errorf("profile roles %v", profile["roles"])
	}
	if r := o.n.Client(t).Raw(t, "GET", oauthBase+"openid_profile", "", nil); r.Status != 401 || !strings.Contains(string(r.Body), "invalid_token") {
		t.Errorf("profile as Guest: %d %s", r.Status, r.Body)
	}

	// Introspection needs a confidential client (seeing its own tokens) or
	// a System Manager.
	var info map[string]any
	postForm(t, o.admin, oauthBase+"introspect_token", url.Values{"token": {tok.AccessToken}}, &info)
	if info["active"] != true || info["client_id"] != o.spa || info["sub"] != janeUser || info["username"] != janeUser ||
		info["scope"] != "all openid" || info["exp"] == nil {
		t.Errorf("introspect as System Manager: %v", info)
	}
	webClient := o.n.Client(t)
	webClient.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(o.web+":"+webSecret)))
	postForm(t, webClient, oauthBase+"introspect_token", url.Values{"token": {tok.AccessToken}}, &info)
	if info["active"] != false || len(info) != 1 {
		t.Errorf("another client introspects the token: %v", info)
	}
	if r := postForm(t, o.n.Client(t), oauthBase+"introspect_token", url.Values{"token": {tok.AccessToken}, "client_id": {o.spa}}, &info); r.Status != 401 || info["error"] != "invalid_client" {
		t.Errorf("introspect by a public client: %d %v", r.Status, info)
	}
	if r := postForm(t, o.browser, oauthBase+"introspect_token", url.Values{"token": {tok.AccessToken}}, &info); r.Status != 401 {
		t.Errorf("introspect by a user who is no System Manager: %d %v", r.Status, info)
	}

	// Revocation by the client the token was issued to: 200 {}; the token
	// then fails. Another client's request changes nothing.
	var empty map[string]any
	if r := postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {tok.AccessToken}}, &empty); r.Status != 401 {
		t.Fatalf("revoke without a client: %d %s", r.Status, r.Body)
	}
	if r := postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {tok.AccessToken}, "client_id": {o.web}, "client_secret": {webSecret}}, &empty); r.Status != 200 {
		t.Fatalf("revoke by another client: %d %s", r.Status, r.Body)
	}
	if st, _ := o.bearer(t, tok.AccessToken); st != 200 {
		t.Fatalf("another client revoked the token: %d", st)
	}
	if r := postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {tok.AccessToken}, "client_id": {o.spa}}, &empty); r.Status != 200 || len(empty) != 0 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if st, _ := o.bearer(t, tok.AccessToken); st != 401 {
		t.Errorf("revoked token: %d", st)
	}
	postForm(t, o.admin, oauthBase+"introspect_token", url.Values{"token": {tok.AccessToken}}, &info)
	if info["active"] != false {
		t.Errorf("revoked token introspects as %v", info)
	}
	if r := postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {"no-such-token"}, "client_id": {o.spa}}, nil); r.Status != 200 || string(r.Body) != "{}" {
		t.Errorf("revoke unknown: %d %s", r.Status, r.Body)
	}
	// Revoking the refresh token ends the grant.
	tok2, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh after revoking the access token: %v", err)
	}
	postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {tok2.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {o.spa}}, nil)
	if st, _ := o.bearer(t, tok2.AccessToken); st != 401 {
		t.Errorf("access token after its refresh token was revoked: %d", st)
	}

	// Discovery.
	var disc map[string]any
	o.n.Client(t).Do(t, "GET", "/.well-known/openid-configuration", nil, 200, &disc)
	if disc["issuer"] != o.n.URL || disc["token_endpoint"] != o.n.URL+oauthBase+"get_token" ||
		disc["authorization_endpoint"] != o.n.URL+oauthBase+"authorize" || disc["userinfo_endpoint"] != o.n.URL+oauthBase+"openid_profile" ||
		disc["revocation_endpoint"] != o.n.URL+oauthBase+"revoke_token" || disc["introspection_endpoint"] != o.n.URL+oauthBase+"introspect_token" {
		t.Errorf("discovery %v", disc)
	}
	for k, want := range map[string]string{"code_challenge_methods_supported": `["S256"]`, "response_types_supported": `["code"]`,
		"id_token_signing_alg_values_supported": `["HS256"]`,
		"token_endpoint_auth_methods_supported": `["client_secret_post","client_secret_basic","none"]`} {
		if got, _ := json.Marshal(disc[k]); string(got) != want {
			t.Errorf("discovery %s = %s", k, got)
		}
	}
	var disc2 map[string]any
	o.n.Client(t).Do(t, "GET", oauthBase+"openid_configuration", nil, 200, &disc2)
	if disc2["issuer"] != o.n.URL {
		t.Errorf("openid_configuration %v", disc2)
	}
}

// TestOAuthConsentAndConfidentialClient: the consent page (escaped, not
// frameable, one-time approval id bound to its user), deny, HTTP Basic
// client authentication and the HS256 ID token.
func TestOAuthConsentAndConfidentialClient(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	conf := o.config(o.web, webSecret, oauth2.AuthStyleInHeader)

	// A Guest is sent to the login page.
	guest := o.n.Client(t)
	guest.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	authURL := conf.AuthCodeURL("s1", oauth2.SetAuthURLParam("nonce", "nonce-1"))
	r := get(t, guest, authURL)
	if r.Status != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/login?redirect-to=") {
		t.Fatalf("guest: %d %q", r.Status, r.Header.Get("Location"))
	}
	// So is a request authenticated otherwise than by a login session.
	o.admin.HTTP.CheckRedirect = guest.HTTP.CheckRedirect
	if r := get(t, o.admin, authURL); r.Status != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		t.Errorf("authorize with an API key: %d %q", r.Status, r.Header.Get("Location"))
	}
	if back, _ := url.Parse(r.Header.Get("Location")); !strings.Contains(back.Query().Get("redirect-to"), "/api/method/frappe.integrations.oauth2.authorize?") {
		t.Errorf("login redirect-to %q", back.Query().Get("redirect-to"))
	}

	page, answer := o.consent(t, o.browser, authURL, "allow")
	body := string(page.Body)
	if !strings.Contains(body, "&lt;b&gt;Web&lt;/b&gt; &amp; Co") || strings.Contains(body, "<b>Web</b>") {
		t.Errorf("app name not escaped: %s", body)
	}
	if page.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("consent page may be framed: %v", page.Header)
	}
	if strings.Contains(body, "http://") && strings.Contains(body, "<script") {
		t.Errorf("consent page loads assets: %s", body)
	}
	q := redirected(t, answer)
	if q.Get("state") != "s1" || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if st, user := o.bearer(t, tok.AccessToken); st != 200 || user != janeUser {
		t.Fatalf("bearer: %d %q", st, user)
	}
	idToken, _ := tok.Extra("id_token").(string)
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", idToken)
	}
	mac := hmac.New(sha256.New, []byte(webSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Error("id_token is not signed with the client secret")
	}
	var claims map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &claims)
	if claims["iss"] != o.n.URL || claims["sub"] != janeUser || claims["aud"] != o.web || claims["nonce"] != "nonce-1" ||
		claims["email"] != janeUser || claims["name"] != "Jane Doe" || claims["exp"] == nil || claims["iat"] == nil {
		t.Errorf("id_token claims %v", claims)
	}

	// Deny sends access_denied back.
	_, answer = o.consent(t, o.browser, conf.AuthCodeURL("s2"), "deny")
	if q := redirected(t, answer); q.Get("error") != "access_denied" || q.Get("state") != "s2" || q.Get("code") != "" {
		t.Errorf("deny: %v", q)
	}

	// The approval id is single use and belongs to the user who saw it.
	page = get(t, o.browser, conf.AuthCodeURL("s3"))
	id := string(approvalRE.FindSubmatch(page.Body)[1])
	o.admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": "mallory@example.com", "first_name": "Mallory", "new_password": "mallory-pass-1"}, 200, nil)
	mallory := o.login(t, "mallory@example.com", "mallory-pass-1")
	form := url.Values{"approval_id": {id}, "action": {"allow"}}.Encode()
	if r := mallory.Raw(t, "POST", oauthBase+"approve", "application/x-www-form-urlencoded", []byte(form)); r.Status != 400 || r.Header.Get("Location") != "" {
		t.Errorf("another user's approval: %d %q", r.Status, r.Header.Get("Location"))
	}
	if r := o.browser.Raw(t, "POST", oauthBase+"approve", "application/x-www-form-urlencoded", []byte(form)); r.Status != 400 {
		t.Errorf("approval used twice: %d", r.Status)
	}
	form = url.Values{"approval_id": {"forged"}, "action": {"allow"}}.Encode()
	if r := o.browser.Raw(t, "POST", oauthBase+"approve", "application/x-www-form-urlencoded", []byte(form)); r.Status != 400 || r.Header.Get("Location") != "" {
		t.Errorf("forged approval: %d", r.Status)
	}
	if r := o.n.Client(t).Raw(t, "POST", oauthBase+"approve", "application/x-www-form-urlencoded", []byte(form)); r.Status == 302 {
		t.Errorf("guest approval redirected")
	}

	// Body credentials work too; a wrong secret is invalid_client (401).
	_, answer = o.consent(t, o.browser, conf.AuthCodeURL("s4"), "allow")
	bad := o.config(o.web, "wrong-secret", oauth2.AuthStyleInParams)
	_, err = bad.Exchange(ctx, redirected(t, answer).Get("code"))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Errorf("wrong client secret: %v", err)
	}
	_, answer = o.consent(t, o.browser, conf.AuthCodeURL("s5"), "allow")
	if _, err := o.config(o.web, webSecret, oauth2.AuthStyleInParams).Exchange(ctx, redirected(t, answer).Get("code")); err != nil {
		t.Errorf("client_secret_post: %v", err)
	}
}

// TestOAuthRefusals: stolen (replayed) codes, PKCE failures, an
// unregistered redirect_uri, unknown grant types, a disabled user.
func TestOAuthRefusals(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)

	// A replayed code is refused and revokes the tokens issued from it.
	verifier := oauth2.GenerateVerifier()
	code := o.authorize(t, conf, "a", oauth2.S256ChallengeOption(verifier))
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := o.bearer(t, tok.AccessToken); st != 200 {
		t.Fatalf("bearer: %d", st)
	}
	_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if c := oauthErrorCode(t, err); c != "invalid_grant" {
		t.Errorf("replayed code: %s", c)
	}
	if st, _ := o.bearer(t, tok.AccessToken); st != 401 {
		t.Errorf("tokens of a replayed code still work: %d", st)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("refresh token of a replayed code still works")
	}

	// A wrong verifier; no verifier for a PKCE code.
	code = o.authorize(t, conf, "b", oauth2.S256ChallengeOption(verifier))
	_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if c := oauthErrorCode(t, err); c != "invalid_grant" {
		t.Errorf("wrong verifier: %s", c)
	}
	code = o.authorize(t, conf, "c", oauth2.S256ChallengeOption(verifier))
	_, err = conf.Exchange(ctx, code)
	if c := oauthErrorCode(t, err); c != "invalid_grant" {
		t.Errorf("missing verifier: %s", c)
	}

	// A public client without PKCE, or with plain, is sent back an error.
	q := redirected(t, get(t, o.browser, conf.AuthCodeURL("d")))
	if q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("state") != "d" {
		t.Errorf("no PKCE: %v", q)
	}
	q = redirected(t, get(t, o.browser, conf.AuthCodeURL("e", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("code_challenge_method", "plain"))))
	if q.Get("error") != "invalid_request" {
		t.Errorf("plain PKCE: %v", q)
	}

	// An unregistered redirect_uri is answered here: no redirect at all.
	evil := *conf
	evil.RedirectURL = "https://evil.example/callback"
	for _, accept := range []string{"", "text/html"} {
		o.browser.Header.Set("Accept", accept)
		r := get(t, o.browser, evil.AuthCodeURL("f", oauth2.S256ChallengeOption(verifier)))
		if r.Status != 400 || r.Header.Get("Location") != "" || strings.Contains(string(r.Body), "code=") {
			t.Errorf("unregistered redirect_uri (Accept %q): %d %q %s", accept, r.Status, r.Header.Get("Location"), r.Body)
		}
	}
	o.browser.Header.Del("Accept")
	var e map[string]any
	if r := o.browser.Do(t, "GET", oauthBase+"authorize?client_id=nope&response_type=code&redirect_uri="+url.QueryEscape(callbackURI), nil, 400, &e); e["error"] != "invalid_request" || r.Header.Get("Location") != "" {
		t.Errorf("unknown client: %v", e)
	}

	// Grant types: unknown, password (not offered), missing.
	for gt, want := range map[string]string{"password": "unsupported_grant_type", "implicit": "unsupported_grant_type", "": "invalid_request"} {
		r := postForm(t, o.n.Client(t), oauthBase+"get_token", url.Values{"grant_type": {gt}, "client_id": {o.spa}, "username": {janeUser}, "password": {janePass}}, &e)
		if r.Status != 400 || e["error"] != want {
			t.Errorf("grant_type %q: %d %v", gt, r.Status, e)
		}
	}
	if r := o.n.Client(t).Raw(t, "GET", oauthBase+"get_token?grant_type=authorization_code", "", nil); r.Status != 400 {
		t.Errorf("GET get_token: %d", r.Status)
	}
	// A bad Bearer token is 401, as a wrong API key is.
	if st, _ := o.bearer(t, "not-a-token"); st != 401 {
		t.Errorf("unknown bearer: %d", st)
	}

	// Disabling the user stops its tokens at once.
	code = o.authorize(t, conf, "g", oauth2.S256ChallengeOption(verifier))
	tok, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	o.admin.Do(t, "PUT", "/api/resource/User/"+janeUser, map[string]any{"enabled": 0}, 200, nil)
	if st, _ := o.bearer(t, tok.AccessToken); st != 401 {
		t.Errorf("disabled user's token: %d", st)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("disabled user's refresh token works")
	}
}

// TestOAuthClientCredentials: a confidential client gets a token acting
// as its user; a public one is refused.
func TestOAuthClientCredentials(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	cc := &clientcredentials.Config{ClientID: o.svc, ClientSecret: svcSecret, TokenURL: o.n.URL + oauthBase + "get_token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" || tok.Extra("id_token") != nil || tok.Extra("scope") != "all" {
		t.Errorf("client_credentials token %+v", tok)
	}
	if st, user := o.bearer(t, tok.AccessToken); st != 200 || user != "svc@example.com" {
		t.Errorf("client_credentials bearer: %d %q", st, user)
	}
	cc.ClientSecret = "wrong"
	if _, err := cc.Token(ctx); oauthErrorCode(t, err) != "invalid_client" {
		t.Errorf("wrong secret: %v", err)
	}
	pub := &clientcredentials.Config{ClientID: o.pubSvc, TokenURL: o.n.URL + oauthBase + "get_token", AuthStyle: oauth2.AuthStyleInParams}
	if _, err := pub.Token(ctx); oauthErrorCode(t, err) != "unauthorized_client" {
		t.Errorf("public client_credentials: %v", err)
	}
	// An authorization code client cannot use client_credentials.
	web := &clientcredentials.Config{ClientID: o.web, ClientSecret: webSecret, TokenURL: o.n.URL + oauthBase + "get_token"}
	if _, err := web.Token(ctx); oauthErrorCode(t, err) != "unauthorized_client" {
		t.Errorf("code client with client_credentials: %v", err)
	}
}

// TestOAuthExpiry: with short lifetimes, an access token stops working
// once it expires (polled, not slept on).
func TestOAuthExpiry(t *testing.T) {
	o := startOAuth(t)
	o.n.Auth.ConfigureOAuth(auth.OAuthOptions{AccessTTL: 500 * time.Millisecond})
	ctx := context.Background()
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, o.authorize(t, conf, "x", oauth2.S256ChallengeOption(verifier)), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := o.bearer(t, tok.AccessToken); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := o.bearer(t, tok.AccessToken)
		if st == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token did not expire")
		}
		time.Sleep(25 * time.Millisecond)
	}
	// The refresh token (30 days) still gives a new one.
	tok2, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := o.bearer(t, tok2.AccessToken); st != 200 {
		t.Errorf("refreshed token: %d", st)
	}
}

// TestOAuthClientGuard: only System Managers write OAuth Clients (their
// redirect URIs decide where codes go); a refused rewrite changes nothing.
func TestOAuthClientGuard(t *testing.T) {
	o := startOAuth(t)
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	o.authorize(t, conf, "ok", oauth2.S256ChallengeOption(verifier))
	c := o.login(t, janeUser, janePass)
	r := c.Raw(t, "PUT", "/api/resource/OAuth Client/"+o.spa, "application/json", []byte(`{"redirect_uris": "https://evil.example/cb"}`))
	if r.Status != 403 {
		t.Fatalf("PUT OAuth Client by a user who is no System Manager: %d %s", r.Status, r.Body)
	}
	evil := *conf
	evil.RedirectURL = "https://evil.example/cb"
	if r := get(t, o.browser, evil.AuthCodeURL("x", oauth2.S256ChallengeOption(verifier))); r.Status != 400 || r.Header.Get("Location") != "" {
		t.Errorf("the refused redirect URI is used: %d %q", r.Status, r.Header.Get("Location"))
	}
	o.authorize(t, conf, "still ok", oauth2.S256ChallengeOption(verifier))
}

// TestOAuthScopes: a token without the "all" scope reaches the OpenID
// profile only.
func TestOAuthScopes(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)
	conf.Scopes = []string{"openid"}
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, o.authorize(t, conf, "s", oauth2.S256ChallengeOption(verifier)), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := o.bearer(t, tok.AccessToken); st != 403 {
		t.Fatalf("an openid-only token called the API: %d", st)
	}
	c := o.n.Client(t)
	c.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	c.Do(t, "GET", "/api/resource/ToDo", nil, 403, nil)
	var profile map[string]any
	c.Do(t, "GET", oauthBase+"openid_profile", nil, 200, &profile)
	if profile["sub"] != janeUser {
		t.Fatalf("profile %v", profile)
	}
}

// TestOAuthLoginPage: a browser without a session logs in on /login and
// comes back to the authorization it asked for; the page redirects only
// within the server.
func TestOAuthLoginPage(t *testing.T) {
	o := startOAuth(t)
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))
	b := o.n.Client(t)
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := get(t, b, authURL)
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Path != "/login" {
		t.Fatalf("authorize as guest: %d %q", r.Status, r.Header.Get("Location"))
	}
	page := b.Raw(t, "GET", loc.RequestURI(), "", nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), `name="pwd"`) || page.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("login page: %d %s", page.Status, page.Body)
	}
	next := loc.Query().Get("redirect-to")
	form := url.Values{"usr": {janeUser}, "pwd": {"wrong"}, "redirect-to": {next}}
	if r := b.Raw(t, "POST", "/login", "application/x-www-form-urlencoded", []byte(form.Encode())); r.Status != 401 || !strings.Contains(string(r.Body), "Invalid login credentials") {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	form.Set("pwd", janePass)
	r = b.Raw(t, "POST", "/login", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != next {
		t.Fatalf("login: %d %q", r.Status, r.Header.Get("Location"))
	}
	q := redirected(t, b.Raw(t, "GET", next, "", nil))
	if q.Get("code") == "" || q.Get("state") != "st" {
		t.Fatalf("callback %v", q)
	}
	// An off-site redirect-to is not followed.
	form.Set("redirect-to", "//evil.example/x")
	r = b.Raw(t, "POST", "/login", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/api/method/frappe.auth.get_logged_user" {
		t.Fatalf("off-site redirect: %d %q", r.Status, r.Header.Get("Location"))
	}
}

// Client secrets of the test clients (at least 32 characters).
const (
	webSecret = "web-secret-0123456789abcdefghijklmnop"
	svcSecret = "svc-secret-0123456789abcdefghijklmnop"
)
