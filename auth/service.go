package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket names.
const (
	SecretsBucket  = "docket_secrets"
	SessionsBucket = "docket_sessions"
	// OAuthBucket holds OAuth codes, tokens, grants and pending approvals
	// (hashed), apart from the secrets so that it can never crowd out a
	// password.
	OAuthBucket = "docket_oauth"
)

// Errors callers branch on.
var (
	// ErrInvalidLogin: unknown user or wrong password (the two are not
	// told apart).
	ErrInvalidLogin = errors.New("auth: invalid login credentials")
	// ErrDisabled: the user exists but is disabled.
	ErrDisabled = errors.New("auth: user disabled or missing")
	// ErrPasswordTooLong: a password over MaxPasswordLength.
	ErrPasswordTooLong = errors.New("auth: password size exceeded the maximum allowed size")
	// ErrBadCredentials: an Authorization header whose key, secret or
	// token is wrong (401).
	ErrBadCredentials = errors.New("auth: invalid credentials")
	// ErrBadHeader: an Authorization header that cannot be decoded (400).
	ErrBadHeader = errors.New("auth: invalid authorization header")
	// ErrNoSession: no live session with that id.
	ErrNoSession = errors.New("auth: no such session")
)

// Users is what auth needs to know about User documents.
type Users interface {
	// LookupLogin resolves what a user types to log in (the user's name,
	// e-mail or username) to the user's name.
	LookupLogin(ctx context.Context, login string) (user string, found bool, err error)
	// User returns what auth needs of a User document.
	User(ctx context.Context, user string) (UserState, error)
}

// UserState is what auth needs of a User document.
type UserState struct {
	Exists  bool
	Enabled bool
	// APIKey is the User document's api_key: only that key authenticates.
	APIKey string
}

// Options configures a [Service]. The zero value works.
type Options struct {
	// SessionTTL is how long an idle session lives; default 170 hours
	// (Frappe's default session_expiry).
	SessionTTL time.Duration
	// Replicas of the buckets; default 1 (in a cluster, three). Replicated
	// buckets are read through their leader, never a lagging replica.
	Replicas int
	// Logger; nil discards.
	Logger *slog.Logger
	// OAuthMaxBytes bounds the OAuth bucket; default 256 MiB. When it is
	// full, new codes and tokens are refused until expired ones are swept.
	OAuthMaxBytes int64
	// CacheTTL is how long secrets and sessions read from their buckets
	// are reused: a write made on another node (a logout, a replaced API
	// secret) takes effect here within it; this node's own writes at once.
	// Default 1 s; negative: no cache.
	CacheTTL time.Duration
}

// Service stores secrets and sessions and authenticates requests.
type Service struct {
	secrets  jetstream.KeyValue
	sessions jetstream.KeyValue
	users    Users
	opts     Options
	dummy    string // a hash to check when the user is unknown
	// hashSlots bounds the argon2 checks running at once (each takes
	// 19 MiB), so a flood of logins cannot exhaust memory.
	hashSlots chan struct{}
	oauth     *oauthState
	oauthKV   jetstream.KeyValue
	// Recently read secrets and sessions, by bucket key.
	secretCache, sessionCache *cache
}

// New opens (creating if needed) the secrets and sessions buckets.
func New(ctx context.Context, js jetstream.JetStream, users Users, opts Options) (*Service, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 170 * time.Hour
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = time.Second
	}
	if opts.OAuthMaxBytes <= 0 {
		opts.OAuthMaxBytes = 256 << 20
	}
	kvs, err := openBuckets(ctx, js, []jetstream.KeyValueConfig{{
		Bucket: SecretsBucket, Description: "docket password hashes, API secret hashes and Password field values",
		Storage: jetstream.FileStorage, Replicas: opts.Replicas, History: 1,
	}, {
		Bucket: SessionsBucket, Description: "docket login sessions",
		Storage: jetstream.FileStorage, Replicas: opts.Replicas, History: 1, TTL: opts.SessionTTL,
	}, {
		Bucket: OAuthBucket, Description: "docket OAuth 2.0 codes, tokens and grants (SHA-256 of each)",
		Storage: jetstream.FileStorage, Replicas: opts.Replicas, History: 1, MaxBytes: opts.OAuthMaxBytes,
	}})
	if err != nil {
		return nil, err
	}
	secrets, sessions, oauthKV := kvs[0], kvs[1], kvs[2]
	dummy, err := HashPassword(randomHex(16))
	if err != nil {
		return nil, err
	}
	return &Service{secrets: secrets, sessions: sessions, users: users, opts: opts, dummy: dummy,
		hashSlots: make(chan struct{}, runtime.NumCPU()), oauth: newOAuthState(), oauthKV: oauthKV,
		secretCache: newCache(opts.CacheTTL), sessionCache: newCache(opts.CacheTTL)}, nil
}

// key makes a bucket key from parts (base64url keeps any text valid).
func key(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteByte('.')
		b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(p)))
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (s *Service) get(ctx context.Context, k string) ([]byte, error) {
	if v, ok := s.secretCache.get(k); ok {
		return v, nil
	}
	return s.getFresh(ctx, k)
}

// getFresh reads a secrets-bucket key from the bucket, not the cache.
func (s *Service) getFresh(ctx context.Context, k string) ([]byte, error) {
	e, err := kvGet(ctx, s.secrets, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read secret: %w", err)
	}
	s.secretCache.put(k, e.Value())
	return e.Value(), nil
}

// putSecret writes a secrets-bucket key through the cache.
func (s *Service) putSecret(ctx context.Context, k string, v []byte) error {
	s.secretCache.drop(k)
	if _, err := s.secrets.Put(ctx, k, v); err != nil {
		return err
	}
	s.secretCache.put(k, v)
	return nil
}

// userRecord is what the secrets bucket holds per user.
type userRecord struct {
	// Password is the argon2id hash ("" when none).
	Password string `json:"password,omitempty"`
	// ValidAfter ends every session started before it (a password change,
	// a deleted user).
	ValidAfter time.Time `json:"valid_after"`
}

// userRecord reads a user's record, from the cache unless fresh (a
// read-modify-write, a password check).
func (s *Service) userRecord(ctx context.Context, user string, fresh bool) (userRecord, error) {
	var rec userRecord
	get := s.get
	if fresh {
		get = s.getFresh
	}
	v, err := get(ctx, key("user", user))
	if err != nil || v == nil {
		return rec, err
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("auth: user record of %s: %w", user, err)
	}
	return rec, nil
}

func (s *Service) putUserRecord(ctx context.Context, user string, rec userRecord) error {
	v, _ := json.Marshal(rec)
	if err := s.putSecret(ctx, key("user", user), v); err != nil {
		return fmt.Errorf("auth: store user record: %w", err)
	}
	return nil
}

// SetPassword stores a user's new password hash and ends the user's
// sessions started before it (as Frappe's "log out all sessions on
// password change" does).
func (s *Service) SetPassword(ctx context.Context, user, password string) error {
	if len(password) > MaxPasswordLength {
		return ErrPasswordTooLong
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.putUserRecord(ctx, user, userRecord{Password: h, ValidAfter: time.Now().UTC()})
}

// hash hashes a password in one of the bounded slots.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	select {
	case s.hashSlots <- struct{}{}:
		defer func() { <-s.hashSlots }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return HashPassword(password)
}

// check checks a password against a hash in one of the bounded slots.
func (s *Service) check(ctx context.Context, hash, password string) (bool, error) {
	select {
	case s.hashSlots <- struct{}{}:
		defer func() { <-s.hashSlots }()
	case <-ctx.Done():
		return false, ctx.Err()
	}
	return CheckPassword(hash, password)
}

// SetSecret stores a Password field's value ("" removes it); a User's
// new_password becomes the user's password hash.
func (s *Service) SetSecret(ctx context.Context, doctype, name, field, value string) error {
	if doctype == "User" && field == "new_password" {
		return s.SetPassword(ctx, name, value)
	}
	if value == "" {
		return s.purge(ctx, key("field", doctype, name, field))
	}
	if err := s.putSecret(ctx, key("field", doctype, name, field), []byte(value)); err != nil {
		return fmt.Errorf("auth: store secret: %w", err)
	}
	return nil
}

// ForgetSecrets removes what a deleted document leaves behind: a Password
// field's value; for a User also the password, the API key and (through
// ValidAfter) every session, so that a later user of the same name
// inherits nothing.
func (s *Service) ForgetSecrets(ctx context.Context, doctype, name string, fields []string, apiKeyID string) error {
	for _, f := range fields {
		if err := s.purge(ctx, key("field", doctype, name, f)); err != nil {
			return err
		}
	}
	if doctype != "User" {
		return nil
	}
	if apiKeyID != "" {
		if err := s.purge(ctx, key("apikey", apiKeyID)); err != nil {
			return err
		}
	}
	return s.putUserRecord(ctx, name, userRecord{ValidAfter: time.Now().UTC()})
}

// EndSessions ends every session a user started so far (the user was
// disabled; enabling it again does not bring them back). The password
// stays.
func (s *Service) EndSessions(ctx context.Context, user string) error {
	rec, err := s.userRecord(ctx, user, true)
	if err != nil {
		return err
	}
	rec.ValidAfter = time.Now().UTC()
	return s.putUserRecord(ctx, user, rec)
}

func (s *Service) purge(ctx context.Context, k string) error {
	s.secretCache.drop(k)
	err := s.secrets.Purge(ctx, k)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("auth: remove secret: %w", err)
	}
	return nil
}

// Secret returns a Password field's value ("" when none).
func (s *Service) Secret(ctx context.Context, doctype, name, field string) (string, error) {
	v, err := s.get(ctx, key("field", doctype, name, field))
	return string(v), err
}

// Login checks a login id and password and returns the user's name. An
// unknown user costs the same hash check as a wrong password.
func (s *Service) Login(ctx context.Context, login, password string) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", ErrPasswordTooLong
	}
	user, found, err := s.users.LookupLogin(ctx, login)
	if err != nil {
		return "", err
	}
	hash := s.dummy
	if found {
		rec, err := s.userRecord(ctx, user, true)
		if err != nil {
			return "", err
		}
		if rec.Password != "" {
			hash = rec.Password
		}
	}
	ok, err := s.check(ctx, hash, password)
	if err != nil {
		return "", err
	}
	if !ok || !found || hash == s.dummy {
		return "", ErrInvalidLogin
	}
	st, err := s.users.User(ctx, user)
	if err != nil {
		return "", err
	}
	if !st.Enabled {
		return "", ErrDisabled
	}
	return user, nil
}

// LoginKey names the account a login id means, for counting failed
// logins: every spelling of one user (its name, e-mail, username, in any
// case) counts together; an id that names no user stands for itself.
func (s *Service) LoginKey(ctx context.Context, login string) (string, error) {
	user, found, err := s.users.LookupLogin(ctx, login)
	if err != nil {
		return "", err
	}
	if found {
		return "user:" + user, nil
	}
	return "login:" + strings.ToLower(strings.TrimSpace(login)), nil
}

// apiKey is the stored form of an API key.
type apiKey struct {
	User   string `json:"user"`
	Secret string `json:"secret_sha256"` // hex SHA-256 of the secret
}

// NewAPIKey returns a new random API key (15 hex characters, as
// Frappe's).
func NewAPIKey() string { return randomHex(8)[:15] }

// SetAPISecret gives an API key a new random secret for user and returns
// the secret; only its SHA-256 is stored (the secret is random, so a fast
// hash protects it). The previous secret of the key stops working.
func (s *Service) SetAPISecret(ctx context.Context, apiKeyID, user string) (string, error) {
	secret := randomHex(16)
	sum := sha256.Sum256([]byte(secret))
	v, _ := json.Marshal(apiKey{User: user, Secret: hex.EncodeToString(sum[:])})
	if err := s.putSecret(ctx, key("apikey", apiKeyID), v); err != nil {
		return "", fmt.Errorf("auth: store api key: %w", err)
	}
	return secret, nil
}

// maxAPIKeyLen bounds an API key from a request: keys are 15 characters;
// anything long is refused before it reaches the key-value store.
const maxAPIKeyLen = 64

// storedKey reads an API key's record (from the bucket when fresh). A
// missing key reads as a record no secret matches.
func (s *Service) storedKey(ctx context.Context, k string, fresh bool) (apiKey, error) {
	get := s.get
	if fresh {
		get = s.getFresh
	}
	v, err := get(ctx, key("apikey", k))
	if err != nil {
		return apiKey{}, err
	}
	var stored apiKey
	if v == nil || json.Unmarshal(v, &stored) != nil {
		stored.Secret = strings.Repeat("0", sha256.Size*2) // compare anyway: same time
	}
	return stored, nil
}

// CheckAPIKey returns the user of an API key and secret.
func (s *Service) CheckAPIKey(ctx context.Context, k, secret string) (string, error) {
	if k == "" || secret == "" || len(k) > maxAPIKeyLen || len(secret) > 512 {
		return "", ErrBadCredentials
	}
	sum := sha256.Sum256([]byte(secret))
	got := hex.EncodeToString(sum[:])
	stored, err := s.storedKey(ctx, k, false)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(stored.Secret)) != 1 {
		// The cached secret may be one replaced on another node: ask the
		// bucket before refusing.
		if stored, err = s.storedKey(ctx, k, true); err != nil {
			return "", err
		}
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(stored.Secret)) != 1 || stored.User == "" {
		return "", ErrBadCredentials
	}
	st, err := s.users.User(ctx, stored.User)
	if err != nil {
		return "", err
	}
	// The key must still be the user's: clearing or replacing api_key on
	// the User document revokes it.
	if !st.Enabled || st.APIKey != k {
		return "", ErrBadCredentials
	}
	return stored.User, nil
}
