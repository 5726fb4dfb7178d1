package api_test

// Security review of the OAuth 2.0 provider (docs/oauth.md), written by
// a second engineer from the outside. Each test proved one weakness of
// the code as reviewed and passes since it was fixed: they stay as
// regression tests. The helpers (startOAuth, consent,
// authorize, bearer, postForm, ...) are oauth_test.go's.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"docket/api"
	"docket/api/apitest"
	"docket/auth"
)

// startOAuthWith is startOAuth on a node started with opts.
func startOAuthWith(t *testing.T, opts apitest.Options) *oauthNode {
	t.Helper()
	n := apitest.StartWith(t, "", opts)
	o := &oauthNode{n: n, admin: n.Admin(t)}
	o.admin.Do(t, "POST", "/api/resource/User", map[string]any{"email": janeUser, "first_name": "Jane", "last_name": "Doe", "new_password": janePass}, 200, nil)
	var out struct {
		Data map[string]any `json:"data"`
	}
	o.admin.Do(t, "POST", "/api/resource/OAuth Client", map[string]any{"app_name": "Trusted SPA", "redirect_uris": callbackURI, "skip_authorization": 1}, 200, &out)
	o.spa = out.Data["name"].(string)
	o.browser = o.login(t, janeUser, janePass)
	return o
}

// TestOAuthReviewPublicClientLockout: failed client authentications are
// counted per client_id (api/oauth.go authenticateClient, key
// "oauth-client:<id>"), whoever sends them. A public client has no secret
// to guess, yet anyone who knows its client_id (it is in every
// authorization URL) can send client_secret=x ten times a minute and
// every user of the application gets 429 at the token endpoint: no code
// exchange, no refresh. RFC 6749 §10.10 and RFC 6819 §4.4.1.11/§5.1.4.2.3
// ask for brute-force protection of credentials, not a denial of service
// of the client for all its users. Expected: an attacker's failures from
// one address do not stop the client's users at another (for a public
// client nothing needs counting per client at all).
func TestOAuthReviewPublicClientLockout(t *testing.T) {
	o := startOAuthWith(t, apitest.Options{API: api.Options{TrustProxy: true}})
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	code := o.authorize(t, conf, "st", oauth2.S256ChallengeOption(verifier))

	attacker := o.n.Client(t)
	attacker.Header.Set("X-Forwarded-For", "203.0.113.66")
	for range 15 {
		postForm(t, attacker, oauthBase+"get_token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {o.spa}, "client_secret": {"guess"}}, nil)
	}

	user := o.n.Client(t)
	user.Header.Set("X-Forwarded-For", "198.51.100.7")
	var tok map[string]any
	r := postForm(t, user, oauthBase+"get_token", url.Values{"grant_type": {"authorization_code"}, "client_id": {o.spa},
		"code": {code}, "redirect_uri": {callbackURI}, "code_verifier": {verifier}}, &tok)
	if r.Status != 200 || tok["access_token"] == nil {
		t.Fatalf("a user's code exchange from another address after an attacker's failures: %d %s", r.Status, r.Body)
	}
}

// TestOAuthReviewRevocationUnauthenticated: revoke_token (api/oauth.go
// oauthRevoke) neither authenticates the client nor checks that the token
// was issued to it, although discovery announces client_secret_basic and
// client_secret_post for it. RFC 7009 §2.1: "The authorization server
// first validates the client credentials (in case of a confidential
// client) and then verifies whether the token was issued to the client
// making the revocation request. If this validation fails, the request is
// refused." Whoever sees a confidential client's refresh token (without
// the secret it is useless at get_token) can end the user's whole grant,
// and any other client can revoke a token it never got. Expected: those
// requests are refused (or ignored) and the tokens keep working.
func TestOAuthReviewRevocationUnauthenticated(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	web := o.config(o.web, webSecret, oauth2.AuthStyleInHeader)
	_, answer := o.consent(t, o.browser, web.AuthCodeURL("s"), "allow")
	tok, err := web.Exchange(ctx, redirected(t, answer).Get("code"))
	if err != nil {
		t.Fatal(err)
	}

	// No client authentication at all, with the confidential client's
	// refresh token.
	postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, nil)
	if st, _ := o.bearer(t, tok.AccessToken); st != 200 {
		t.Errorf("an unauthenticated revoke_token ended a confidential client's grant: bearer %d", st)
	}

	// Another client (the public SPA, identified by its client_id) revokes
	// the web client's access token.
	_, answer = o.consent(t, o.browser, web.AuthCodeURL("s2"), "allow")
	tok2, err := web.Exchange(ctx, redirected(t, answer).Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	postForm(t, o.n.Client(t), oauthBase+"revoke_token", url.Values{"token": {tok2.AccessToken}, "client_id": {o.spa}}, nil)
	if st, _ := o.bearer(t, tok2.AccessToken); st != 200 {
		t.Errorf("a client revoked another client's access token: bearer %d", st)
	}
}

// TestOAuthReviewOpenIDTokenIntrospects: docs/oauth.md: a token without
// the scope "all" (only "openid") "reaches openid_profile and nothing
// else (403 elsewhere)". The OAuth endpoints (api/oauth.go oauthServe)
// skip that check, and introspect_token lets any System Manager identity
// in, bearer included: a System Manager's openid-only token, given to a
// client to learn who the user is, can introspect every client's tokens
// (user, client, scopes, expiry). RFC 6749 §3.3 (a token's scope bounds
// what it may do), RFC 7662 §4 (the endpoint must be protected).
// Expected: refused (403 or 401), never {"active": true}.
func TestOAuthReviewOpenIDTokenIntrospects(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)

	// Jane's token, the one to be looked at.
	v := oauth2.GenerateVerifier()
	janeTok, err := conf.Exchange(ctx, o.authorize(t, conf, "j", oauth2.S256ChallengeOption(v)), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	// The Administrator grants the SPA "openid" only.
	adminBrowser := o.login(t, "Administrator", apitest.AdminPassword)
	openid := *conf
	openid.Scopes = []string{"openid"}
	v = oauth2.GenerateVerifier()
	q := redirected(t, get(t, adminBrowser, openid.AuthCodeURL("a", oauth2.S256ChallengeOption(v))))
	adminTok, err := openid.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if adminTok.Extra("scope") != "openid" {
		t.Fatalf("scope %v", adminTok.Extra("scope"))
	}
	if st, _ := o.bearer(t, adminTok.AccessToken); st != 403 {
		t.Fatalf("the openid-only token called the API: %d", st)
	}

	c := o.n.Client(t)
	c.Header.Set("Authorization", "Bearer "+adminTok.AccessToken)
	var info map[string]any
	r := postForm(t, c, oauthBase+"introspect_token", url.Values{"token": {janeTok.AccessToken}}, &info)
	if info["active"] == true {
		t.Errorf("an openid-only token introspected another client's token: %d %s", r.Status, r.Body)
	}
}

// TestOAuthReviewClearedSecretStillWorks: docs/oauth.md: "clearing it
// ("") makes the client public". It does not: methods/validate.go
// setFields skips an empty Password value, so the document keeps
// "********" and auth keeps the old secret, which still authenticates.
// An administrator who clears a leaked secret (as the docs say) leaves the
// attacker able to mint client_credentials tokens or redeem codes and
// refresh tokens as the client. RFC 6749 §2.3.1/§10.1 (client
// credentials must be revocable by the server). Expected: after the
// secret is cleared, the old secret is refused (or the PUT is refused).
func TestOAuthReviewClearedSecretStillWorks(t *testing.T) {
	o := startOAuth(t)
	r := o.admin.Do(t, "PUT", "/api/resource/OAuth Client/"+o.svc, map[string]any{"client_secret": ""}, 0, nil)
	if r.Status != 200 {
		return // clearing refused outright: the administrator is not misled
	}
	cc := &clientcredentials.Config{ClientID: o.svc, ClientSecret: svcSecret, TokenURL: o.n.URL + oauthBase + "get_token"}
	if tok, err := cc.Token(context.Background()); err == nil {
		t.Errorf("the cleared client secret still gets tokens: %s…", tok.AccessToken[:8])
	}
}

// TestOAuthReviewShortSecretSignsIDToken: ID tokens are HS256 JWTs keyed
// with the client secret (auth/oauth.go SignIDToken), and any secret is
// accepted (the tests used 10-byte secrets). RFC 7518 §3.2: "A key
// of the same size as the hash output (for instance, 256 bits for
// "HS256") or larger MUST be used". An ID token is an offline oracle for
// the secret: whoever obtains one (the client's logs, a browser, a
// proxy) can brute-force a short secret without meeting the token
// endpoint's failed-login limit, then act as the client. Expected: a
// secret shorter than 32 bytes is refused when the client is saved, or no
// ID token is signed with it.
func TestOAuthReviewShortSecretSignsIDToken(t *testing.T) {
	o := startOAuth(t)
	const short = "short-secret"
	r := o.admin.Raw(t, "POST", "/api/resource/OAuth Client", "application/json",
		[]byte(`{"app_name": "Short", "client_secret": "`+short+`", "redirect_uris": "`+callbackURI+`"}`))
	if r.Status != 200 {
		return // refused: fine
	}
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	conf := o.config(out.Data["name"].(string), short, oauth2.AuthStyleInHeader)
	_, answer := o.consent(t, o.browser, conf.AuthCodeURL("s"), "allow")
	tok, err := conf.Exchange(context.Background(), redirected(t, answer).Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return // no ID token: fine
	}
	mac := hmac.New(sha256.New, []byte(short))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) == parts[2] {
		t.Errorf("an ID token is signed with a %d-byte client secret", len(short))
	}
}

// TestOAuthReviewPendingApprovalsUnbounded: every consent page a
// logged-in user loads stores an approval (auth/oauth.go NewApproval) in
// the docket_secrets bucket, which has no size limit and also holds the
// password hashes; nothing bounds them per user, and the sweep that
// removes expired ones runs only when tokens are issued. One account (or
// a page that keeps navigating a victim's browser to authorize) can grow
// the bucket without end: ~3 KiB per request with a 2048-byte state.
// RFC 6819 §4.6.1 / §5.1.5.x (resource exhaustion at the authorization
// server). Expected: the pending approvals of one user stay bounded
// (here: at most 100 after 300 consent pages).
func TestOAuthReviewPendingApprovalsUnbounded(t *testing.T) {
	o := startOAuth(t)
	conf := o.config(o.web, webSecret, oauth2.AuthStyleInHeader)
	state := strings.Repeat("s", 2048)
	for i := range 300 {
		r := get(t, o.browser, conf.AuthCodeURL(state))
		if r.Status != 200 {
			if i == 0 {
				t.Fatalf("consent page: %d %s", r.Status, r.Body)
			}
			break // refused once too many are pending: fine
		}
	}
	js, err := jetstream.New(o.n.NATS())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, auth.SecretsBucket)
	if err != nil {
		t.Fatal(err)
	}
	lister, err := kv.ListKeysFiltered(ctx, "oauth.approval.>")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range lister.Keys() {
		n++
	}
	if n > 100 {
		t.Errorf("%d pending approvals stored for one user", n)
	}
}

// TestOAuthReviewHugeClientIDRetained: get_token counts a failed client
// authentication under the key "oauth-client:"+client_id before the id is
// checked at all (api/oauth.go authenticateClient; auth.lookupClient's
// 140-character bound comes later). The limiter keeps every key until it
// holds 100,000 of them (auth/ratelimit.go), and still adds a key when the
// address is already over its limit. So each request with a large
// client_id pins that much memory: 100 requests of 1 MiB pin 100 MiB, for
// as long as the limiter is not full. RFC 6819 §4.4.1.11 / §5.1.4.2.3
// (brute-force protection), §3 (resource exhaustion). Expected: an
// over-long client_id is refused before it is counted (or the key is
// bounded, e.g. hashed), so the memory is given back.
func TestOAuthReviewHugeClientIDRetained(t *testing.T) {
	o := startOAuth(t)
	id := strings.Repeat("x", 1<<20-64)
	c := o.n.Client(t)
	measure := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := measure()
	for i := range 100 {
		// A new id each time (client_id last in the body).
		body := "grant_type=client_credentials&client_id=" + id + strconv.Itoa(i)
		if r := c.Raw(t, "POST", oauthBase+"get_token", "application/x-www-form-urlencoded", []byte(body)); r.Status == 200 {
			t.Fatalf("get_token with a huge client_id: %d", r.Status)
		}
	}
	after := measure()
	if after > before && after-before > 50<<20 {
		t.Errorf("100 requests with 1 MiB client_ids left %d MiB on the heap", (after-before)>>20)
	}
}

// TestOAuthReviewRefreshTokenInURL: get_token refuses client_secret in the
// URL, but takes the other credentials from the query string too
// (api/args.go formDict merges it): a refresh token (a public client's
// only credential for the grant, living 30 days and renewed on use), a
// code or a code_verifier sent as ?refresh_token=… is accepted and ends up
// in proxy and server access logs and browser history. RFC 6749 §3.2 and
// §6 (token request parameters go in the form-encoded POST body), RFC
// 6819 §4.5.1 / §5.1.6 (keep tokens out of URLs). Expected: 400
// invalid_request, as for client_secret, and the token not used up.
func TestOAuthReviewRefreshTokenInURL(t *testing.T) {
	o := startOAuth(t)
	ctx := context.Background()
	conf := o.config(o.spa, "", oauth2.AuthStyleInParams)
	v := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, o.authorize(t, conf, "s", oauth2.S256ChallengeOption(v)), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	var out map[string]any
	r := postForm(t, o.n.Client(t), oauthBase+"get_token?"+q.Encode(), url.Values{"client_id": {o.spa}}, &out)
	if r.Status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("refresh_token in the URL: %d %s", r.Status, r.Body)
	}
}
