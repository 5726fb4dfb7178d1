package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"docket/auth"
	"docket/eventlog/eventlogtest"
)

// directory is users plus OAuth clients, as methods.Users provides them.
type directory struct {
	users
	mu      sync.Mutex
	clients map[string]auth.OAuthClient
}

func (d *directory) OAuthClient(ctx context.Context, id string) (auth.OAuthClient, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.clients[id]
	return c, ok, nil
}

func (d *directory) setClient(c auth.OAuthClient) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clients[c.ID] = c
}

const (
	jane     = "jane@example.com"
	redirect = "https://app.example/callback"
)

// oauthEnv is a Service with a public client "pub", a confidential one
// "conf" (secret "conf-secret") and a client_credentials one "svc"
// (secret "svc-secret", acting as svc@example.com).
func oauthEnv(t *testing.T) (*auth.Service, *directory, jetstream.KeyValue) {
	t.Helper()
	ctx := context.Background()
	env := eventlogtest.Start(t, "")
	d := &directory{users: users{jane: {Exists: true, Enabled: true}, "svc@example.com": {Exists: true, Enabled: true}},
		clients: map[string]auth.OAuthClient{}}
	s, err := auth.New(ctx, env.Log.JetStream(), d, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{"all", "openid"}
	d.setClient(auth.OAuthClient{ID: "pub", AppName: "Public", Scopes: scopes, RedirectURIs: []string{redirect}, GrantType: auth.GrantAuthorizationCode})
	d.setClient(auth.OAuthClient{ID: "conf", AppName: "Conf", HasSecret: true, Scopes: scopes, RedirectURIs: []string{redirect, "https://app.example/other"}, GrantType: auth.GrantAuthorizationCode})
	d.setClient(auth.OAuthClient{ID: "svc", AppName: "Service", HasSecret: true, User: "svc@example.com", Scopes: []string{"all"}, GrantType: auth.GrantClientCredentials})
	for id, secret := range map[string]string{"conf": "conf-secret", "svc": "svc-secret"} {
		if err := s.SetSecret(ctx, auth.OAuthClientDocType, id, "client_secret", secret); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := env.Log.JetStream().KeyValue(ctx, auth.SecretsBucket)
	if err != nil {
		t.Fatal(err)
	}
	return s, d, kv
}

func oauthCode(t *testing.T, err error) string {
	t.Helper()
	var oe *auth.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an OAuthError", err)
	}
	return oe.Code
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// code runs an authorization request for jane and returns a code.
func code(t *testing.T, s *auth.Service, req auth.AuthRequest) string {
	t.Helper()
	a, err := s.CheckAuthRequest(context.Background(), req)
	if err != nil {
		t.Fatalf("authorize %+v: %v", req, err)
	}
	a.User = jane
	c, err := s.IssueCode(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const verifier = "a-verifier-of-enough-length-0123456789-abcdefghijk"

func TestOAuthAuthorizationRequestChecks(t *testing.T) {
	ctx := context.Background()
	s, _, _ := oauthEnv(t)
	ok := auth.AuthRequest{ClientID: "pub", RedirectURI: redirect, ResponseType: "code", Scope: "all openid",
		State: "st", CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256"}
	cases := []struct {
		name       string
		change     func(r *auth.AuthRequest)
		code       string
		redirectOK bool // the error may go back to the client
	}{
		{"unknown client", func(r *auth.AuthRequest) { r.ClientID = "nope" }, auth.OAuthInvalidRequest, false},
		{"unregistered redirect", func(r *auth.AuthRequest) { r.RedirectURI = "https://evil.example/cb" }, auth.OAuthInvalidRequest, false},
		{"redirect prefix", func(r *auth.AuthRequest) { r.RedirectURI = redirect + "/x" }, auth.OAuthInvalidRequest, false},
		{"token response", func(r *auth.AuthRequest) { r.ResponseType = "token" }, auth.OAuthUnsupportedResponseType, true},
		{"unknown scope", func(r *auth.AuthRequest) { r.Scope = "all admin" }, auth.OAuthInvalidScope, true},
		{"public without PKCE", func(r *auth.AuthRequest) { r.CodeChallenge, r.CodeChallengeMethod = "", "" }, auth.OAuthInvalidRequest, true},
		{"plain PKCE", func(r *auth.AuthRequest) { r.CodeChallengeMethod = "plain" }, auth.OAuthInvalidRequest, true},
		{"PKCE without method", func(r *auth.AuthRequest) { r.CodeChallengeMethod = "" }, auth.OAuthInvalidRequest, true},
		{"malformed challenge", func(r *auth.AuthRequest) { r.CodeChallenge = "short" }, auth.OAuthInvalidRequest, true},
	}
	for _, c := range cases {
		req := ok
		c.change(&req)
		a, err := s.CheckAuthRequest(ctx, req)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if got := oauthCode(t, err); got != c.code {
			t.Errorf("%s: %s, want %s", c.name, got, c.code)
		}
		if (a != nil) != c.redirectOK {
			t.Errorf("%s: redirectable = %v", c.name, a != nil)
		}
		if a != nil && (a.RedirectURI != redirect || a.State != "st") {
			t.Errorf("%s: error goes to %q state %q", c.name, a.RedirectURI, a.State)
		}
	}
	a, err := s.CheckAuthRequest(ctx, ok)
	if err != nil || a.RedirectURI != redirect || strings.Join(a.Scopes, " ") != "all openid" {
		t.Fatalf("good request: %+v %v", a, err)
	}
	// A confidential client may leave PKCE out; without a redirect_uri
	// it needs a default or a single registered one.
	if _, err := s.CheckAuthRequest(ctx, auth.AuthRequest{ClientID: "conf", RedirectURI: redirect, ResponseType: "code"}); err != nil {
		t.Errorf("confidential without PKCE: %v", err)
	}
	if a, err := s.CheckAuthRequest(ctx, auth.AuthRequest{ClientID: "conf", ResponseType: "code"}); err == nil || a != nil {
		t.Errorf("no redirect_uri with two registered: %+v %v", a, err)
	}
	// A client_credentials client cannot run the code flow.
	if _, err := s.CheckAuthRequest(ctx, auth.AuthRequest{ClientID: "svc", RedirectURI: "", ResponseType: "code"}); err == nil {
		t.Error("client_credentials client authorized a code")
	}
}

func TestOAuthCodeExchangeRefreshAndReplay(t *testing.T) {
	ctx := context.Background()
	s, _, kv := oauthEnv(t)
	pub, err := s.AuthenticateClient(ctx, "pub", "")
	if err != nil {
		t.Fatal(err)
	}
	req := auth.AuthRequest{ClientID: "pub", RedirectURI: redirect, ResponseType: "code", Scope: "all openid",
		CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256", Nonce: "n-1"}

	// Wrong verifier, missing verifier, wrong redirect_uri: refused, and the
	// code is used up.
	for name, try := range map[string]func(code string) error{
		"wrong verifier":   func(c string) error { _, err := s.ExchangeCode(ctx, pub, c, redirect, verifier+"x"); return err },
		"missing verifier": func(c string) error { _, err := s.ExchangeCode(ctx, pub, c, redirect, ""); return err },
		"wrong redirect": func(c string) error {
			_, err := s.ExchangeCode(ctx, pub, c, "https://app.example/other", verifier)
			return err
		},
	} {
		c := code(t, s, req)
		if err := try(c); err == nil || oauthCode(t, err) != auth.OAuthInvalidGrant {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := s.ExchangeCode(ctx, pub, c, redirect, verifier); err == nil {
			t.Errorf("%s: the code still works afterwards", name)
		}
	}

	c := code(t, s, req)
	g, err := s.ExchangeCode(ctx, pub, c, redirect, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if g.User != jane || g.Nonce != "n-1" || g.RefreshToken == "" || g.ExpiresIn != 3600 || len(g.AccessToken) < 43 {
		t.Fatalf("grant %+v", g)
	}
	id, err := s.Authenticate(ctx, "", "Bearer "+g.AccessToken)
	if err != nil || id.User != jane || id.Via != "bearer" {
		t.Fatalf("bearer: %+v %v", id, err)
	}
	// Neither the code nor the tokens are stored as such.
	assertNotStored(t, kv, c, g.AccessToken, g.RefreshToken)

	// Refresh rotates: a new pair, the old refresh token retired.
	g2, err := s.RefreshToken(ctx, pub, g.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if g2.AccessToken == g.AccessToken || g2.RefreshToken == g.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	if _, err := s.BearerUser(ctx, g2.AccessToken); err != nil {
		t.Fatalf("new access token: %v", err)
	}
	// The retired refresh token, replayed, is refused and revokes the
	// whole grant (the new tokens too).
	if _, err := s.RefreshToken(ctx, pub, g.RefreshToken, ""); err == nil || oauthCode(t, err) != auth.OAuthInvalidGrant {
		t.Fatalf("replayed refresh token: %v", err)
	}
	for _, tok := range []string{g.AccessToken, g2.AccessToken} {
		if _, err := s.BearerUser(ctx, tok); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("access token survives a refresh replay: %v", err)
		}
	}
	if _, err := s.RefreshToken(ctx, pub, g2.RefreshToken, ""); err == nil {
		t.Error("new refresh token survives a refresh replay")
	}

	// A replayed code is refused and revokes what it issued.
	c = code(t, s, req)
	g, err = s.ExchangeCode(ctx, pub, c, redirect, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExchangeCode(ctx, pub, c, redirect, verifier); err == nil || oauthCode(t, err) != auth.OAuthInvalidGrant {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := s.BearerUser(ctx, g.AccessToken); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("access token survives a code replay: %v", err)
	}
	if _, err := s.RefreshToken(ctx, pub, g.RefreshToken, ""); err == nil {
		t.Error("refresh token survives a code replay")
	}

	// A code is bound to its client.
	conf, err := s.AuthenticateClient(ctx, "conf", "conf-secret")
	if err != nil {
		t.Fatal(err)
	}
	c = code(t, s, req)
	if _, err := s.ExchangeCode(ctx, conf, c, redirect, verifier); err == nil {
		t.Error("another client redeemed the code")
	}
	// Refresh may narrow scopes, not widen them.
	g, err = s.ExchangeCode(ctx, pub, code(t, s, auth.AuthRequest{ClientID: "pub", RedirectURI: redirect, ResponseType: "code",
		Scope: "all", CodeChallenge: challenge(verifier), CodeChallengeMethod: "S256"}), redirect, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RefreshToken(ctx, pub, g.RefreshToken, "all openid"); err == nil || oauthCode(t, err) != auth.OAuthInvalidScope {
		t.Errorf("widening refresh: %v", err)
	}
}

func assertNotStored(t *testing.T, kv jetstream.KeyValue, secrets ...string) {
	t.Helper()
	ctx := context.Background()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for e := range w.Updates() {
		if e == nil {
			return
		}
		for _, s := range secrets {
			if strings.Contains(e.Key(), s) || strings.Contains(string(e.Value()), s) {
				t.Errorf("%s holds a token in plain", e.Key())
			}
		}
	}
}

func TestOAuthClientAuthentication(t *testing.T) {
	ctx := context.Background()
	s, _, _ := oauthEnv(t)
	for _, c := range []struct{ id, secret string }{{"conf", "wrong"}, {"conf", ""}, {"nope", ""}, {"", ""}, {"pub", "anything"}} {
		if _, err := s.AuthenticateClient(ctx, c.id, c.secret); err == nil || oauthCode(t, err) != auth.OAuthInvalidClient {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if c, err := s.AuthenticateClient(ctx, "conf", "conf-secret"); err != nil || !c.Confidential() {
		t.Errorf("right secret: %v", err)
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	ctx := context.Background()
	s, d, _ := oauthEnv(t)
	svc, err := s.AuthenticateClient(ctx, "svc", "svc-secret")
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.ClientCredentialsToken(ctx, svc, "")
	if err != nil {
		t.Fatal(err)
	}
	if g.RefreshToken != "" || g.User != "svc@example.com" {
		t.Fatalf("grant %+v", g)
	}
	if u, err := s.BearerUser(ctx, g.AccessToken); err != nil || u != "svc@example.com" {
		t.Fatalf("bearer %q %v", u, err)
	}
	// Pointing the client at another user ends its tokens.
	c := d.clients["svc"]
	c.User = jane
	d.setClient(c)
	if _, err := s.BearerUser(ctx, g.AccessToken); err == nil {
		t.Error("token kept acting as the client's former user")
	}
	for _, id := range []string{"pub", "conf"} {
		cl, _ := s.AuthenticateClient(ctx, id, map[string]string{"conf": "conf-secret"}[id])
		if _, err := s.ClientCredentialsToken(ctx, cl, ""); err == nil || oauthCode(t, err) != auth.OAuthUnauthorizedClient {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestOAuthRevocationIntrospectionAndUsers(t *testing.T) {
	ctx := context.Background()
	s, d, _ := oauthEnv(t)
	conf, _ := s.AuthenticateClient(ctx, "conf", "conf-secret")
	issue := func() *auth.TokenGrant {
		g, err := s.ExchangeCode(ctx, conf, code(t, s, auth.AuthRequest{ClientID: "conf", RedirectURI: redirect, ResponseType: "code"}), redirect, "")
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := issue()
	info, err := s.IntrospectToken(ctx, g.AccessToken, "")
	if err != nil || info == nil || info.User != jane || info.ClientID != "conf" || info.Type != "access_token" {
		t.Fatalf("introspect access: %+v %v", info, err)
	}
	if info, _ := s.IntrospectToken(ctx, g.RefreshToken, "refresh_token"); info == nil || info.Type != "refresh_token" {
		t.Fatalf("introspect refresh: %+v", info)
	}
	if info, _ := s.IntrospectToken(ctx, "nope", ""); info != nil {
		t.Fatalf("introspect unknown: %+v", info)
	}
	// Revoking the access token ends it alone.
	if err := s.RevokeToken(ctx, g.AccessToken, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BearerUser(ctx, g.AccessToken); err == nil {
		t.Error("revoked access token works")
	}
	g2, err := s.RefreshToken(ctx, conf, g.RefreshToken, "")
	if err != nil {
		t.Fatalf("refresh after revoking the access token: %v", err)
	}
	// Revoking a refresh token ends the grant.
	if err := s.RevokeToken(ctx, g2.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BearerUser(ctx, g2.AccessToken); err == nil {
		t.Error("access token survives its refresh token's revocation")
	}
	if err := s.RevokeToken(ctx, "unknown", ""); err != nil {
		t.Errorf("unknown token: %v", err)
	}

	// A disabled user's tokens stop at once; a password change ends them.
	g = issue()
	d.users[jane].Enabled = false
	if _, err := s.BearerUser(ctx, g.AccessToken); err == nil {
		t.Error("disabled user's token works")
	}
	d.users[jane].Enabled = true
	if _, err := s.BearerUser(ctx, g.AccessToken); err != nil {
		t.Errorf("re-enabled user's token: %v", err)
	}
	if err := s.SetPassword(ctx, jane, "new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BearerUser(ctx, g.AccessToken); err == nil {
		t.Error("token survives a password change")
	}
	// A deleted client's tokens stop.
	g = issue()
	d.mu.Lock()
	delete(d.clients, "conf")
	d.mu.Unlock()
	if _, err := s.BearerUser(ctx, g.AccessToken); err == nil {
		t.Error("a deleted client's token works")
	}
}

func TestOAuthExpiryAndSweep(t *testing.T) {
	ctx := context.Background()
	s, _, kv := oauthEnv(t)
	s.ConfigureOAuth(auth.OAuthOptions{CodeTTL: 300 * time.Millisecond, AccessTTL: 300 * time.Millisecond, RefreshTTL: 300 * time.Millisecond})
	conf, _ := s.AuthenticateClient(ctx, "conf", "conf-secret")
	req := auth.AuthRequest{ClientID: "conf", RedirectURI: redirect, ResponseType: "code"}
	stale := code(t, s, req) // issued first, so it expires first
	g, err := s.ExchangeCode(ctx, conf, code(t, s, req), redirect, "")
	if err != nil {
		t.Fatal(err)
	}
	if g.ExpiresIn != 1 {
		t.Errorf("expires_in %d", g.ExpiresIn)
	}
	if _, err := s.BearerUser(ctx, g.AccessToken); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	// Poll until the access token has expired; the refresh token (same
	// lifetime, issued with it) and the older code have then expired too.
	waitUntil(t, func() bool { _, err := s.BearerUser(ctx, g.AccessToken); return err != nil })
	if _, err := s.RefreshToken(ctx, conf, g.RefreshToken, ""); err == nil {
		t.Error("expired refresh token works")
	}
	if _, err := s.ExchangeCode(ctx, conf, stale, redirect, ""); err == nil {
		t.Error("expired code works")
	}
	n, err := s.PurgeExpiredOAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("sweep purged nothing")
	}
	keys, err := kv.ListKeysFiltered(ctx, "oauth.>")
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		t.Errorf("left after the sweep: %s", k)
	}
}

// waitUntil polls cond for up to 10 seconds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOAuthIDTokenAndApprovals(t *testing.T) {
	ctx := context.Background()
	s, _, _ := oauthEnv(t)
	conf, _ := s.OAuthClient(ctx, "conf")
	tok, err := s.SignIDToken(conf, map[string]any{"sub": jane, "aud": "conf"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("id token %q", tok)
	}
	mac := hmac.New(sha256.New, []byte("conf-secret"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Error("id token signature is not HS256 with the client secret")
	}
	var claims map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(raw, &claims) != nil || claims["sub"] != jane {
		t.Errorf("claims %s", raw)
	}
	pub, _ := s.OAuthClient(ctx, "pub")
	if tok, err := s.SignIDToken(pub, map[string]any{}); tok != "" || err != nil {
		t.Errorf("public client id token %q %v", tok, err)
	}

	// An approval is single use and belongs to its user.
	a, err := s.CheckAuthRequest(ctx, auth.AuthRequest{ClientID: "conf", RedirectURI: redirect, ResponseType: "code", State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	a.User = jane
	id, err := s.NewApproval(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeApproval(ctx, id, "mallory@example.com"); err == nil {
		t.Error("another user took the approval")
	}
	id, _ = s.NewApproval(ctx, a)
	got, err := s.TakeApproval(ctx, id, jane)
	if err != nil || got.State != "s" || got.RedirectURI != redirect || got.User != jane {
		t.Fatalf("take: %+v %v", got, err)
	}
	if _, err := s.TakeApproval(ctx, id, jane); err == nil {
		t.Error("approval taken twice")
	}
}
