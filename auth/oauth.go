package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// This file is docket's OAuth 2.0 authorization server (RFC 6749, PKCE RFC
// 7636, revocation RFC 7009, introspection RFC 7662, OpenID Connect ID
// tokens). Its state lives in the secrets bucket under "oauth." keys, each
// named by the SHA-256 of its token (a token itself is never stored):
//
//	oauth.code.<sha256>      an authorization code
//	oauth.access.<sha256>    an access token
//	oauth.refresh.<sha256>   a refresh token
//	oauth.approval.<sha256>  a consent page waiting for the user's answer
//	oauth.family.<id>        a grant: every code and token issued from one
//	                         authorization, revoked together
//
// Each record carries its expiry; an expired record reads as missing and
// is purged when read or by the periodic sweep.

// OAuth Client grant types: the options of the OAuth Client document's
// grant_type field.
const (
	GrantAuthorizationCode = "Authorization Code"
	GrantImplicit          = "Implicit"
	GrantClientCredentials = "Client Credentials"
)

// OAuthClientDocType is the doctype of OAuth clients; a confidential
// client's secret is its Password field client_secret, kept by
// [Service.SetSecret] under this doctype.
const OAuthClientDocType = "OAuth Client"

// OAuth 2.0 error codes (RFC 6749 §4.1.2.1 and §5.2).
const (
	OAuthInvalidRequest          = "invalid_request"
	OAuthInvalidClient           = "invalid_client"
	OAuthInvalidGrant            = "invalid_grant"
	OAuthUnauthorizedClient      = "unauthorized_client"
	OAuthUnsupportedGrantType    = "unsupported_grant_type"
	OAuthUnsupportedResponseType = "unsupported_response_type"
	OAuthInvalidScope            = "invalid_scope"
	OAuthAccessDenied            = "access_denied"
)

// OAuthError is an OAuth 2.0 error answer: Code is its "error" and
// Description its "error_description".
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return "auth: oauth " + e.Code + ": " + e.Description }

func oauthErr(code, format string, args ...any) *OAuthError {
	return &OAuthError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// OAuthClient is what auth needs of an OAuth Client document.
type OAuthClient struct {
	// ID is the client_id: the document's name.
	ID      string
	AppName string
	// HasSecret: the document's client_secret is set, which makes the
	// client confidential. The secret itself is a Password field value
	// kept by auth.
	HasSecret bool
	// User is who client_credentials tokens act as.
	User string
	// Scopes the client may ask for (default "all openid").
	Scopes []string
	// RedirectURIs registered for the client (redirect_uris, one a line).
	RedirectURIs       []string
	DefaultRedirectURI string
	// GrantType is the document's grant_type (see GrantAuthorizationCode).
	GrantType         string
	ResponseType      string
	SkipAuthorization bool

	secret string
}

// Confidential reports whether the client has a secret (RFC 6749 §2.1);
// a client without one is public and must use PKCE.
func (c *OAuthClient) Confidential() bool { return c.HasSecret }

// OAuthClients looks OAuth clients up. The [Users] given to [New] may
// implement it; when it does not, no OAuth client exists.
type OAuthClients interface {
	// OAuthClient returns the OAuth Client document named clientID.
	OAuthClient(ctx context.Context, clientID string) (client OAuthClient, found bool, err error)
}

// OAuthOptions configures a Service's OAuth 2.0 provider; zero fields
// take their defaults.
type OAuthOptions struct {
	// CodeTTL is how long an authorization code lives; default 10 minutes.
	CodeTTL time.Duration
	// AccessTTL is how long an access token lives; default 1 hour.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token lives; default 30 days.
	// Using one gives a new one with a full lifetime.
	RefreshTTL time.Duration
	// ApprovalTTL is how long a consent page waits for the user's answer;
	// default 10 minutes.
	ApprovalTTL time.Duration
	// SweepInterval is how often expired records are purged (in the
	// background, at most once per interval, when tokens are issued);
	// default 1 hour.
	SweepInterval time.Duration
}

func (o OAuthOptions) withDefaults() OAuthOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.CodeTTL, 10*time.Minute)
	def(&o.AccessTTL, time.Hour)
	def(&o.RefreshTTL, 30*24*time.Hour)
	def(&o.ApprovalTTL, 10*time.Minute)
	def(&o.SweepInterval, time.Hour)
	return o
}

// oauthState is a Service's OAuth configuration and sweep state.
type oauthState struct {
	mu        sync.RWMutex
	opts      OAuthOptions
	lastSweep atomic.Int64 // unix nanoseconds
	sweeping  atomic.Bool
}

func newOAuthState() *oauthState {
	st := &oauthState{opts: OAuthOptions{}.withDefaults()}
	st.lastSweep.Store(time.Now().UnixNano())
	return st
}

func (s *Service) oauthState() *oauthState { return s.oauth }

// ConfigureOAuth sets the OAuth lifetimes; call it before serving.
func (s *Service) ConfigureOAuth(opts OAuthOptions) {
	st := s.oauthState()
	st.mu.Lock()
	st.opts = opts.withDefaults()
	st.mu.Unlock()
}

// OAuthOptions returns the OAuth lifetimes in force.
func (s *Service) OAuthOptions() OAuthOptions {
	st := s.oauthState()
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.opts
}

// randomToken returns 32 random bytes, base64url without padding (43
// characters).
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxTokenLen bounds a token from a request; docket's tokens are 43
// characters.
const maxTokenLen = 512

func oauthKey(kind, token string) string {
	sum := sha256.Sum256([]byte(token))
	return "oauth." + kind + "." + hex.EncodeToString(sum[:])
}

// equalSecret compares two secrets in time independent of their content.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// Kinds of record.
const (
	kindCode     = "code"
	kindAccess   = "access"
	kindRefresh  = "refresh"
	kindApproval = "approval"
	kindPending  = "pending" // a user's pending approval of a client
)

// Grants a token can come from.
const (
	grantCode              = "authorization_code"
	grantClientCredentials = "client_credentials"
)

// grantRecord is a stored code, token or approval.
type grantRecord struct {
	ClientID string    `json:"client_id"`
	User     string    `json:"user"`
	Scopes   []string  `json:"scopes"`
	Grant    string    `json:"grant,omitempty"`
	Family   string    `json:"family,omitempty"`
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"expires"`
	// Used: a code exchanged, a refresh token rotated. They are kept until
	// they expire, to recognise a replay.
	Used bool `json:"used,omitempty"`
	// Authorization codes and approvals.
	RedirectURI          string `json:"redirect_uri,omitempty"`
	RequestedRedirectURI string `json:"requested_redirect_uri,omitempty"`
	State                string `json:"state,omitempty"`
	Challenge            string `json:"code_challenge,omitempty"`
	ChallengeMethod      string `json:"code_challenge_method,omitempty"`
	Nonce                string `json:"nonce,omitempty"`
}

// familyRecord is a grant's shared state.
type familyRecord struct {
	Revoked bool      `json:"revoked,omitempty"`
	Expires time.Time `json:"expires"`
}

// load reads a record; a missing, unreadable or expired one is nil (an
// expired one is purged).
func (s *Service) load(ctx context.Context, k string) (*grantRecord, uint64, error) {
	e, err := kvGet(ctx, s.oauthKV, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("auth: read oauth record: %w", err)
	}
	var rec grantRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		s.opts.Logger.Warn("unreadable oauth record", "key", k, "err", err)
		return nil, 0, nil
	}
	if !time.Now().Before(rec.Expires) {
		_ = s.oauthKV.Purge(ctx, k, jetstream.LastRevision(e.Revision()))
		return nil, 0, nil
	}
	return &rec, e.Revision(), nil
}

func (s *Service) store(ctx context.Context, k string, rec *grantRecord) error {
	v, _ := json.Marshal(rec)
	if _, err := s.oauthKV.Put(ctx, k, v); err != nil {
		return fmt.Errorf("auth: store oauth record: %w", err)
	}
	return nil
}

// markUsed marks a record used if it is still at revision rev; false
// when another request changed it first.
func (s *Service) markUsed(ctx context.Context, k string, rec *grantRecord, rev uint64) (bool, error) {
	rec.Used = true
	v, _ := json.Marshal(rec)
	_, err := s.oauthKV.Update(ctx, k, v, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: update oauth record: %w", err)
	}
	return true, nil
}

func familyKey(id string) string { return "oauth.family." + id }

// newFamily starts a grant living until expires.
func (s *Service) newFamily(ctx context.Context, expires time.Time) (string, error) {
	id := randomHex(16)
	v, _ := json.Marshal(familyRecord{Expires: expires})
	if _, err := s.oauthKV.Create(ctx, familyKey(id), v); err != nil {
		return "", fmt.Errorf("auth: store oauth grant: %w", err)
	}
	return id, nil
}

// updateFamily changes a grant's record (compare and swap, retried); it
// reports false when the grant is gone.
func (s *Service) updateFamily(ctx context.Context, id string, change func(*familyRecord)) (bool, error) {
	for range 16 {
		e, err := kvGet(ctx, s.oauthKV, familyKey(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("auth: read oauth grant: %w", err)
		}
		var f familyRecord
		if err := json.Unmarshal(e.Value(), &f); err != nil {
			return false, nil
		}
		change(&f)
		v, _ := json.Marshal(f)
		_, err = s.oauthKV.Update(ctx, familyKey(id), v, e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("auth: update oauth grant: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("auth: update oauth grant %s: too much contention", id)
}

// revokeFamily revokes every code and token of a grant.
func (s *Service) revokeFamily(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := s.updateFamily(ctx, id, func(f *familyRecord) { f.Revoked = true })
	return err
}

// refuseAndRevoke revokes a grant whose code or refresh token was
// replayed and returns the refusal; a failure to revoke is logged (the
// client is refused either way).
func (s *Service) refuseAndRevoke(ctx context.Context, family string, refusal error) error {
	if err := s.revokeFamily(ctx, family); err != nil {
		s.opts.Logger.Error("oauth: revoking a replayed grant failed", "err", err)
	}
	return refusal
}

// familyLive reports whether a grant exists and is not revoked.
func (s *Service) familyLive(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	e, err := kvGet(ctx, s.oauthKV, familyKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: read oauth grant: %w", err)
	}
	var f familyRecord
	if json.Unmarshal(e.Value(), &f) != nil {
		return false, nil
	}
	return !f.Revoked && time.Now().Before(f.Expires), nil
}

// lookupClient returns a client without its secret; nil when unknown.
func (s *Service) lookupClient(ctx context.Context, id string) (*OAuthClient, error) {
	cl, ok := s.users.(OAuthClients)
	if !ok || id == "" || len(id) > 140 {
		return nil, nil
	}
	c, found, err := cl.OAuthClient(ctx, id)
	if err != nil || !found {
		return nil, err
	}
	c.ID = id
	return &c, nil
}

// OAuthClient returns a client (with its secret, for auth's own use), or
// an invalid_client *OAuthError when there is none.
func (s *Service) OAuthClient(ctx context.Context, id string) (*OAuthClient, error) {
	c, err := s.lookupClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, oauthErr(OAuthInvalidClient, "Unknown client %q", id)
	}
	if c.HasSecret {
		if c.secret, err = s.Secret(ctx, OAuthClientDocType, c.ID, "client_secret"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// AuthenticateClient authenticates a client at the token endpoint (RFC
// 6749 §2.3): a confidential client by its secret (compared in constant
// time), a public client by its id alone (it must not send a secret).
// Failures are invalid_client *OAuthErrors.
func (s *Service) AuthenticateClient(ctx context.Context, clientID, secret string) (*OAuthClient, error) {
	if clientID == "" {
		return nil, oauthErr(OAuthInvalidClient, "Client authentication failed: no client_id")
	}
	c, err := s.OAuthClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if !c.Confidential() {
		if secret != "" {
			return nil, oauthErr(OAuthInvalidClient, "Client authentication failed: a public client has no secret")
		}
		return c, nil
	}
	if len(secret) > maxTokenLen || !equalSecret(secret, c.secret) || c.secret == "" {
		return nil, oauthErr(OAuthInvalidClient, "Client authentication failed")
	}
	return c, nil
}

// grantScopes checks requested scopes (space-separated; empty asks for
// all of allowed) against allowed.
func grantScopes(requested string, allowed []string) ([]string, error) {
	fields := strings.Fields(requested)
	if len(fields) == 0 {
		fields = allowed
	}
	var out []string
	for _, sc := range fields {
		if !slices.Contains(allowed, sc) {
			return nil, oauthErr(OAuthInvalidScope, "Scope %q is not allowed", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, oauthErr(OAuthInvalidScope, "No scope")
	}
	return out, nil
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// AuthRequest is an authorization request as the authorize endpoint
// received it (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect nonce).
type AuthRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
}

// Authorization is a checked authorization request, waiting for the
// user's consent or ready for a code.
type Authorization struct {
	Client *OAuthClient
	// User is who grants it (set by the caller once the user is known).
	User string
	// RedirectURI is where the answer goes; RequestedRedirectURI is the
	// redirect_uri parameter as sent ("" when it was left out), which the
	// token request must repeat.
	RedirectURI          string
	RequestedRedirectURI string
	Scopes               []string
	State                string
	CodeChallenge        string
	CodeChallengeMethod  string
	Nonce                string
}

// Bounds on what an authorization request may carry.
const (
	maxStateLen = 2048
	maxNonceLen = 512
)

// CheckAuthRequest checks an authorization request against its client.
// An error is an *OAuthError (or a storage error). When the returned
// Authorization is not nil, its RedirectURI has been checked and the
// error may be sent back to the client there (RFC 6749 §4.1.2.1); when it
// is nil the client or redirect URI is wrong and the user agent must not
// be redirected.
func (s *Service) CheckAuthRequest(ctx context.Context, req AuthRequest) (*Authorization, error) {
	c, err := s.lookupClient(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	if c == nil { // invalid_client belongs to the token endpoint (§5.2)
		return nil, oauthErr(OAuthInvalidRequest, "Unknown client %q", req.ClientID)
	}
	redirect := req.RedirectURI
	if redirect == "" {
		switch {
		case c.DefaultRedirectURI != "":
			redirect = c.DefaultRedirectURI
		case len(c.RedirectURIs) == 1:
			redirect = c.RedirectURIs[0]
		default:
			return nil, oauthErr(OAuthInvalidRequest, "redirect_uri is required")
		}
	} else if !slices.Contains(c.RedirectURIs, redirect) && redirect != c.DefaultRedirectURI {
		return nil, oauthErr(OAuthInvalidRequest, "redirect_uri is not registered for this client")
	}
	if u, err := url.Parse(redirect); err != nil || !u.IsAbs() || u.Fragment != "" || u.Opaque != "" {
		return nil, oauthErr(OAuthInvalidRequest, "The client's redirect_uri is not an absolute URL without a fragment")
	}
	a := &Authorization{Client: c, RedirectURI: redirect, RequestedRedirectURI: req.RedirectURI, State: req.State}
	if len(req.State) > maxStateLen {
		a.State = ""
		return a, oauthErr(OAuthInvalidRequest, "state is too long")
	}
	if req.ResponseType != "code" {
		return a, oauthErr(OAuthUnsupportedResponseType, "Only response_type=code is supported")
	}
	if c.GrantType != "" && c.GrantType != GrantAuthorizationCode {
		return a, oauthErr(OAuthUnauthorizedClient, "The client may not use the authorization code grant")
	}
	if a.Scopes, err = grantScopes(req.Scope, c.Scopes); err != nil {
		return a, err
	}
	switch {
	case req.CodeChallenge == "" && req.CodeChallengeMethod != "":
		return a, oauthErr(OAuthInvalidRequest, "code_challenge_method without code_challenge")
	case req.CodeChallenge == "" && !c.Confidential():
		return a, oauthErr(OAuthInvalidRequest, "A public client must use PKCE (code_challenge with code_challenge_method=S256)")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != "S256":
		return a, oauthErr(OAuthInvalidRequest, "code_challenge_method must be S256")
	case req.CodeChallenge != "" && !validChallenge(req.CodeChallenge):
		return a, oauthErr(OAuthInvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
	}
	if len(req.Nonce) > maxNonceLen {
		return a, oauthErr(OAuthInvalidRequest, "nonce is too long")
	}
	a.CodeChallenge, a.CodeChallengeMethod, a.Nonce = req.CodeChallenge, req.CodeChallengeMethod, req.Nonce
	return a, nil
}

// validChallenge: an S256 challenge is 32 bytes in base64url.
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size && len(c) == 43
}

// validVerifier: 43 to 128 unreserved characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, r := range v {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)
		if !ok {
			return false
		}
	}
	return true
}

func (a *Authorization) record(expires time.Time) *grantRecord {
	return &grantRecord{
		ClientID: a.Client.ID, User: a.User, Scopes: a.Scopes, Grant: grantCode,
		Issued: time.Now().UTC(), Expires: expires,
		RedirectURI: a.RedirectURI, RequestedRedirectURI: a.RequestedRedirectURI, State: a.State,
		Challenge: a.CodeChallenge, ChallengeMethod: a.CodeChallengeMethod, Nonce: a.Nonce,
	}
}

// NewApproval stores a checked authorization request (with its User) for
// the consent page and returns the one-time id the page's form carries,
// so that only the page the user saw can approve it.
//
// A user has at most one pending approval per client: a new one replaces
// the one before, so reloading a consent page cannot fill the bucket.
func (s *Service) NewApproval(ctx context.Context, a *Authorization) (string, error) {
	if a.User == "" || a.User == GuestUser {
		return "", errors.New("auth: an approval needs a user")
	}
	s.maybeSweep()
	id := randomToken()
	rec := a.record(time.Now().UTC().Add(s.OAuthOptions().ApprovalTTL))
	v, _ := json.Marshal(rec)
	if _, err := s.oauthKV.Create(ctx, oauthKey(kindApproval, id), v); err != nil {
		return "", fmt.Errorf("auth: store approval: %w", err)
	}
	type pendingRecord struct {
		ID      string    `json:"id"`
		Expires time.Time `json:"expires"` // for the sweep
	}
	pending := oauthKey(kindPending, a.User+"\x00"+a.Client.ID)
	if e, err := kvGet(ctx, s.oauthKV, pending); err == nil {
		var old pendingRecord
		if json.Unmarshal(e.Value(), &old) == nil && old.ID != "" {
			if err := s.oauthKV.Purge(ctx, oauthKey(kindApproval, old.ID)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return "", fmt.Errorf("auth: replace approval: %w", err)
			}
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", fmt.Errorf("auth: read approval: %w", err)
	}
	pv, _ := json.Marshal(pendingRecord{ID: id, Expires: rec.Expires})
	if _, err := s.oauthKV.Put(ctx, pending, pv); err != nil {
		return "", fmt.Errorf("auth: store approval: %w", err)
	}
	return id, nil
}

// TakeApproval returns and removes the authorization request of an
// approval id, which must belong to user. An unknown, expired, used or
// foreign id is an invalid_request *OAuthError.
func (s *Service) TakeApproval(ctx context.Context, id, user string) (*Authorization, error) {
	bad := oauthErr(OAuthInvalidRequest, "This authorization request has expired or was already answered; start again from the application")
	if id == "" || len(id) > maxTokenLen {
		return nil, bad
	}
	k := oauthKey(kindApproval, id)
	rec, rev, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, bad
	}
	err = s.oauthKV.Purge(ctx, k, jetstream.LastRevision(rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("auth: remove approval: %w", err)
	}
	if rec.User != user {
		return nil, bad
	}
	c, err := s.lookupClient(ctx, rec.ClientID)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, oauthErr(OAuthInvalidRequest, "The client no longer exists")
	}
	return &Authorization{Client: c, User: rec.User, RedirectURI: rec.RedirectURI, RequestedRedirectURI: rec.RequestedRedirectURI,
		Scopes: rec.Scopes, State: rec.State, CodeChallenge: rec.Challenge, CodeChallengeMethod: rec.ChallengeMethod, Nonce: rec.Nonce}, nil
}

// IssueCode issues an authorization code for an approved request (with
// its User). The code is single use and lives OAuthOptions.CodeTTL.
func (s *Service) IssueCode(ctx context.Context, a *Authorization) (string, error) {
	if a.User == "" || a.User == GuestUser {
		return "", errors.New("auth: a code needs a user")
	}
	s.maybeSweep()
	rec := a.record(time.Now().UTC().Add(s.OAuthOptions().CodeTTL))
	fam, err := s.newFamily(ctx, rec.Expires)
	if err != nil {
		return "", err
	}
	rec.Family = fam
	code := randomToken()
	if err := s.store(ctx, oauthKey(kindCode, code), rec); err != nil {
		return "", err
	}
	return code, nil
}

// TokenGrant is what the token endpoint answers.
type TokenGrant struct {
	AccessToken string
	// RefreshToken is "" when the grant has none (client credentials).
	RefreshToken string
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int
	Scopes    []string
	ClientID  string
	User      string
	// Nonce is the authorization request's OpenID nonce (code exchange
	// only).
	Nonce    string
	IssuedAt time.Time
	Expires  time.Time
	// Grant is "authorization_code" or "client_credentials".
	Grant string
}

// issue issues an access token (and a refresh token) in base's grant.
func (s *Service) issue(ctx context.Context, base grantRecord, withRefresh bool) (*TokenGrant, error) {
	o := s.OAuthOptions()
	now := time.Now().UTC()
	acc := grantRecord{ClientID: base.ClientID, User: base.User, Scopes: base.Scopes, Grant: base.Grant,
		Family: base.Family, Issued: now, Expires: now.Add(o.AccessTTL)}
	g := &TokenGrant{AccessToken: randomToken(), ExpiresIn: int((o.AccessTTL + time.Second - 1) / time.Second),
		Scopes: acc.Scopes, ClientID: acc.ClientID, User: acc.User, IssuedAt: now, Expires: acc.Expires, Grant: acc.Grant}
	until := acc.Expires
	var ref grantRecord
	if withRefresh {
		ref = acc
		ref.Expires = now.Add(o.RefreshTTL)
		g.RefreshToken = randomToken()
		if ref.Expires.After(until) {
			until = ref.Expires
		}
	}
	ok, err := s.updateFamily(ctx, base.Family, func(f *familyRecord) {
		if f.Expires.Before(until) {
			f.Expires = until
		}
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, oauthErr(OAuthInvalidGrant, "The grant was revoked")
	}
	if err := s.store(ctx, oauthKey(kindAccess, g.AccessToken), &acc); err != nil {
		return nil, err
	}
	if withRefresh {
		if err := s.store(ctx, oauthKey(kindRefresh, g.RefreshToken), &ref); err != nil {
			return nil, err
		}
	}
	s.maybeSweep()
	return g, nil
}

// userActive reports whether user exists, is enabled and has not changed
// password (or been deleted) since issued.
func (s *Service) userActive(ctx context.Context, user string, issued time.Time) (bool, error) {
	st, err := s.users.User(ctx, user)
	if err != nil || !st.Exists || !st.Enabled {
		return false, err
	}
	rec, err := s.userRecord(ctx, user, false)
	if err != nil {
		return false, err
	}
	return !issued.Before(rec.ValidAfter), nil
}

// presented loads the record of a code or token a client presented as
// argument arg: a missing one is an invalid request, an unknown or
// oversized one is bad.
func (s *Service) presented(ctx context.Context, kind, arg, token string, bad error) (string, *grantRecord, uint64, error) {
	if token == "" {
		return "", nil, 0, oauthErr(OAuthInvalidRequest, "%s is required", arg)
	}
	if len(token) > maxTokenLen {
		return "", nil, 0, bad
	}
	k := oauthKey(kind, token)
	rec, rev, err := s.load(ctx, k)
	if err == nil && rec == nil {
		err = bad
	}
	return k, rec, rev, err
}

// ExchangeCode redeems an authorization code (RFC 6749 §4.1.3) for an
// access and a refresh token. Any presentation uses the code up; a code
// presented again is refused and revokes every token issued from it (RFC
// 6749 §4.1.2). redirectURI must repeat the authorization request's, and
// verifier must match its PKCE challenge. Refusals are *OAuthErrors.
func (s *Service) ExchangeCode(ctx context.Context, c *OAuthClient, code, redirectURI, verifier string) (*TokenGrant, error) {
	bad := oauthErr(OAuthInvalidGrant, "The authorization code is invalid, expired or already used")
	k, rec, rev, err := s.presented(ctx, kindCode, "code", code, bad)
	if err != nil {
		return nil, err
	}
	if rec.Used {
		s.opts.Logger.Warn("oauth code replayed: revoking its tokens", "client", rec.ClientID, "user", rec.User)
		return nil, s.refuseAndRevoke(ctx, rec.Family, bad)
	}
	won, err := s.markUsed(ctx, k, rec, rev)
	if err != nil {
		return nil, err
	}
	if !won {
		return nil, s.refuseAndRevoke(ctx, rec.Family, bad)
	}
	if rec.ClientID != c.ID {
		return nil, oauthErr(OAuthInvalidGrant, "The authorization code was issued to another client")
	}
	if rec.RequestedRedirectURI != "" && redirectURI != rec.RequestedRedirectURI ||
		rec.RequestedRedirectURI == "" && redirectURI != "" && redirectURI != rec.RedirectURI {
		return nil, oauthErr(OAuthInvalidGrant, "redirect_uri does not match the authorization request")
	}
	switch {
	case rec.Challenge != "" && verifier == "":
		return nil, oauthErr(OAuthInvalidGrant, "code_verifier is required")
	case rec.Challenge != "" && !validVerifier(verifier):
		return nil, oauthErr(OAuthInvalidGrant, "code_verifier is malformed")
	case rec.Challenge != "":
		sum := sha256.Sum256([]byte(verifier))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(rec.Challenge)) != 1 {
			return nil, oauthErr(OAuthInvalidGrant, "code_verifier does not match the code_challenge")
		}
	case verifier != "":
		return nil, oauthErr(OAuthInvalidGrant, "code_verifier sent for a code issued without code_challenge")
	}
	if ok, err := s.userActive(ctx, rec.User, rec.Issued); err != nil {
		return nil, err
	} else if !ok {
		return nil, oauthErr(OAuthInvalidGrant, "The user is disabled or no longer exists")
	}
	g, err := s.issue(ctx, *rec, true)
	if err != nil {
		return nil, err
	}
	g.Nonce = rec.Nonce
	return g, nil
}

// RefreshToken uses a refresh token (RFC 6749 §6): it issues a new access
// and refresh token and retires the old refresh token. A retired refresh
// token presented again revokes every token of its grant. scope may
// narrow the grant's scopes. Refusals are *OAuthErrors.
func (s *Service) RefreshToken(ctx context.Context, c *OAuthClient, token, scope string) (*TokenGrant, error) {
	bad := oauthErr(OAuthInvalidGrant, "The refresh token is invalid, expired or revoked")
	k, rec, rev, err := s.presented(ctx, kindRefresh, "refresh_token", token, bad)
	if err != nil {
		return nil, err
	}
	if rec.ClientID != c.ID {
		return nil, bad
	}
	if live, err := s.familyLive(ctx, rec.Family); err != nil {
		return nil, err
	} else if !live {
		return nil, bad
	}
	if rec.Used {
		s.opts.Logger.Warn("oauth refresh token replayed: revoking its grant", "client", rec.ClientID, "user", rec.User)
		return nil, s.refuseAndRevoke(ctx, rec.Family, bad)
	}
	scopes := rec.Scopes
	if strings.TrimSpace(scope) != "" {
		if scopes, err = grantScopes(scope, rec.Scopes); err != nil {
			return nil, err
		}
	}
	won, err := s.markUsed(ctx, k, rec, rev)
	if err != nil {
		return nil, err
	}
	if !won {
		return nil, s.refuseAndRevoke(ctx, rec.Family, bad)
	}
	if ok, err := s.userActive(ctx, rec.User, rec.Issued); err != nil {
		return nil, err
	} else if !ok {
		return nil, bad
	}
	base := *rec
	base.Scopes = scopes
	return s.issue(ctx, base, true)
}

// ClientCredentialsToken issues an access token to a confidential client
// whose grant_type is Client Credentials (RFC 6749 §4.4); the token acts
// as the client's user. There is no refresh token.
func (s *Service) ClientCredentialsToken(ctx context.Context, c *OAuthClient, scope string) (*TokenGrant, error) {
	if !c.Confidential() {
		return nil, oauthErr(OAuthUnauthorizedClient, "Only a confidential client may use client_credentials")
	}
	if c.GrantType != GrantClientCredentials {
		return nil, oauthErr(OAuthUnauthorizedClient, "The client's grant type is not Client Credentials")
	}
	if c.User == "" {
		return nil, oauthErr(OAuthUnauthorizedClient, "The client has no user to act as")
	}
	if ok, err := s.userActive(ctx, c.User, time.Now().UTC()); err != nil {
		return nil, err
	} else if !ok {
		return nil, oauthErr(OAuthUnauthorizedClient, "The client's user is disabled or missing")
	}
	scopes, err := grantScopes(scope, c.Scopes)
	if err != nil {
		return nil, err
	}
	fam, err := s.newFamily(ctx, time.Now().UTC().Add(s.OAuthOptions().AccessTTL))
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, grantRecord{ClientID: c.ID, User: c.User, Scopes: scopes, Grant: grantClientCredentials, Family: fam}, false)
}

// liveAccess returns the record of a valid access token: not expired, its
// grant not revoked, its client still there (allowing its scopes, and for
// a client_credentials token still acting as that user), its user
// enabled and unchanged since. nil otherwise.
func (s *Service) liveAccess(ctx context.Context, token string) (*grantRecord, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, nil
	}
	rec, _, err := s.load(ctx, oauthKey(kindAccess, token))
	if err != nil || rec == nil {
		return nil, err
	}
	return s.checkGrant(ctx, rec)
}

// checkGrant checks what access and refresh tokens share.
func (s *Service) checkGrant(ctx context.Context, rec *grantRecord) (*grantRecord, error) {
	if live, err := s.familyLive(ctx, rec.Family); err != nil || !live {
		return nil, err
	}
	c, err := s.lookupClient(ctx, rec.ClientID)
	if err != nil || c == nil || !subset(rec.Scopes, c.Scopes) {
		return nil, err
	}
	if rec.Grant == grantClientCredentials && (c.GrantType != GrantClientCredentials || c.User != rec.User || !c.HasSecret) {
		return nil, nil
	}
	if ok, err := s.userActive(ctx, rec.User, rec.Issued); err != nil || !ok {
		return nil, err
	}
	return rec, nil
}

// BearerUser returns the user of a valid OAuth access token (see
// liveAccess), or ErrBadCredentials.
func (s *Service) BearerUser(ctx context.Context, token string) (string, error) {
	user, _, err := s.Bearer(ctx, token)
	return user, err
}

// Bearer returns the user and scopes of a valid OAuth access token, or
// ErrBadCredentials.
func (s *Service) Bearer(ctx context.Context, token string) (user string, scopes []string, err error) {
	rec, err := s.liveAccess(ctx, token)
	if err != nil {
		return "", nil, err
	}
	if rec == nil {
		return "", nil, ErrBadCredentials
	}
	return rec.User, rec.Scopes, nil
}

// ScopeAll is the OAuth scope that lets a token act with all its user's
// rights; a token without it (only "openid", say) reaches only the
// OpenID profile.
const ScopeAll = "all"

// TokenInfo describes an active token (RFC 7662).
type TokenInfo struct {
	// Type is "access_token" or "refresh_token".
	Type     string
	ClientID string
	User     string
	Scopes   []string
	IssuedAt time.Time
	Expires  time.Time
}

// order returns the record kinds to try for a token_type_hint.
func hintOrder(hint string) []string {
	if hint == "refresh_token" {
		return []string{kindRefresh, kindAccess}
	}
	return []string{kindAccess, kindRefresh}
}

// IntrospectToken describes a token, or returns nil when it is not active
// (unknown, expired, revoked, retired, or its user or client gone).
func (s *Service) IntrospectToken(ctx context.Context, token, hint string) (*TokenInfo, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, nil
	}
	for _, kind := range hintOrder(hint) {
		rec, _, err := s.load(ctx, oauthKey(kind, token))
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.Used {
			continue
		}
		if rec, err = s.checkGrant(ctx, rec); err != nil || rec == nil {
			return nil, err
		}
		return &TokenInfo{Type: kind + "_token", ClientID: rec.ClientID, User: rec.User, Scopes: rec.Scopes,
			IssuedAt: rec.Issued, Expires: rec.Expires}, nil
	}
	return nil, nil
}

// RevokeToken revokes a token (RFC 7009): an access token alone; a
// refresh token with its whole grant (every access and refresh token
// issued from the same authorization). An unknown token is no error.
func (s *Service) RevokeToken(ctx context.Context, token, hint string) error {
	return s.RevokeClientToken(ctx, "", token, hint)
}

// RevokeClientToken is RevokeToken for the client clientID: a token
// issued to another client is left alone (RFC 7009 §2.1). An empty
// clientID revokes any token.
func (s *Service) RevokeClientToken(ctx context.Context, clientID, token, hint string) error {
	if token == "" || len(token) > maxTokenLen {
		return nil
	}
	for _, kind := range hintOrder(hint) {
		k := oauthKey(kind, token)
		rec, rev, err := s.load(ctx, k)
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		if clientID != "" && rec.ClientID != clientID {
			return nil
		}
		if kind == kindRefresh {
			return s.revokeFamily(ctx, rec.Family)
		}
		err = s.oauthKV.Purge(ctx, k, jetstream.LastRevision(rev))
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("auth: revoke token: %w", err)
		}
		return nil
	}
	return nil
}

// SignIDToken signs OpenID Connect ID token claims as an HS256 JWT with
// the client's secret. A public client has no secret: the answer is "".
func (s *Service) SignIDToken(c *OAuthClient, claims any) (string, error) {
	if !c.Confidential() || c.secret == "" {
		return "", nil
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	msg := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(c.secret))
	mac.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// maybeSweep starts a background sweep when the last one is older than
// the sweep interval.
func (s *Service) maybeSweep() {
	st := s.oauthState()
	if time.Since(time.Unix(0, st.lastSweep.Load())) < s.OAuthOptions().SweepInterval || !st.sweeping.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer st.sweeping.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		n, err := s.PurgeExpiredOAuth(ctx)
		if err != nil {
			s.opts.Logger.Warn("oauth sweep failed", "err", err)
		} else {
			s.opts.Logger.Debug("oauth sweep", "purged", n)
		}
		st.lastSweep.Store(time.Now().UnixNano())
	}()
}

// PurgeExpiredOAuth removes expired codes, tokens, approvals and grants
// from the bucket (and the bucket's old delete markers) and returns how
// many records it removed.
func (s *Service) PurgeExpiredOAuth(ctx context.Context) (int, error) {
	w, err := s.oauthKV.WatchFiltered(ctx, []string{"oauth.>"}, jetstream.IgnoreDeletes())
	if err != nil {
		return 0, fmt.Errorf("auth: sweep: %w", err)
	}
	defer func() { _ = w.Stop() }()
	now := time.Now()
	n := 0
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return n, ctx.Err()
		}
		if e == nil {
			break // every current value seen
		}
		var rec struct {
			Expires time.Time `json:"expires"`
		}
		if json.Unmarshal(e.Value(), &rec) == nil && now.Before(rec.Expires) {
			continue
		}
		err := s.oauthKV.Purge(ctx, e.Key(), jetstream.LastRevision(e.Revision()))
		switch {
		case err == nil:
			n++
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
		default:
			return n, fmt.Errorf("auth: sweep: %w", err)
		}
	}
	if err := s.oauthKV.PurgeDeletes(ctx); err != nil {
		return n, fmt.Errorf("auth: sweep: %w", err)
	}
	return n, nil
}
