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
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket names.
const (
	SecretsBucket  = "docket_secrets"
	SessionsBucket = "docket_sessions"
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
	// Enabled reports whether a user exists and is enabled.
	Enabled(ctx context.Context, user string) (bool, error)
}

// Options configures a [Service]. The zero value works.
type Options struct {
	// SessionTTL is how long an idle session lives; default 170 hours
	// (Frappe's default session_expiry).
	SessionTTL time.Duration
	// Replicas of the buckets; default 1.
	Replicas int
	// Logger; nil discards.
	Logger *slog.Logger
}

// Service stores secrets and sessions and authenticates requests.
type Service struct {
	secrets  jetstream.KeyValue
	sessions jetstream.KeyValue
	users    Users
	opts     Options
	dummy    string // a hash to check when the user is unknown
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
	secrets, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: SecretsBucket, Description: "docket password hashes, API secret hashes and Password field values",
		Storage: jetstream.FileStorage, Replicas: opts.Replicas, History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: secrets bucket: %w", err)
	}
	sessions, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: SessionsBucket, Description: "docket login sessions",
		Storage: jetstream.FileStorage, Replicas: opts.Replicas, History: 1, TTL: opts.SessionTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: sessions bucket: %w", err)
	}
	dummy, err := HashPassword(randomHex(16))
	if err != nil {
		return nil, err
	}
	return &Service{secrets: secrets, sessions: sessions, users: users, opts: opts, dummy: dummy}, nil
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
	e, err := s.secrets.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read secret: %w", err)
	}
	return e.Value(), nil
}

// SetPassword stores a user's new password hash.
func (s *Service) SetPassword(ctx context.Context, user, password string) error {
	if len(password) > MaxPasswordLength {
		return ErrPasswordTooLong
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := s.secrets.Put(ctx, key("pwd", user), []byte(h)); err != nil {
		return fmt.Errorf("auth: store password: %w", err)
	}
	return nil
}

// SetSecret stores a Password field's value; a User's new_password
// becomes the user's password hash.
func (s *Service) SetSecret(ctx context.Context, doctype, name, field, value string) error {
	if doctype == "User" && field == "new_password" {
		return s.SetPassword(ctx, name, value)
	}
	if _, err := s.secrets.Put(ctx, key("field", doctype, name, field), []byte(value)); err != nil {
		return fmt.Errorf("auth: store secret: %w", err)
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
		h, err := s.get(ctx, key("pwd", user))
		if err != nil {
			return "", err
		}
		if h != nil {
			hash = string(h)
		}
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return "", err
	}
	if !ok || !found || hash == s.dummy {
		return "", ErrInvalidLogin
	}
	enabled, err := s.users.Enabled(ctx, user)
	if err != nil {
		return "", err
	}
	if !enabled {
		return "", ErrDisabled
	}
	return user, nil
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
	if _, err := s.secrets.Put(ctx, key("apikey", apiKeyID), v); err != nil {
		return "", fmt.Errorf("auth: store api key: %w", err)
	}
	return secret, nil
}

// maxAPIKeyLen bounds an API key from a request: keys are 15 characters;
// anything long is refused before it reaches the key-value store.
const maxAPIKeyLen = 64

// CheckAPIKey returns the user of an API key and secret.
func (s *Service) CheckAPIKey(ctx context.Context, k, secret string) (string, error) {
	if k == "" || secret == "" || len(k) > maxAPIKeyLen || len(secret) > 512 {
		return "", ErrBadCredentials
	}
	v, err := s.get(ctx, key("apikey", k))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(secret))
	got := hex.EncodeToString(sum[:])
	var stored apiKey
	if v == nil || json.Unmarshal(v, &stored) != nil {
		stored.Secret = strings.Repeat("0", len(got)) // compare anyway: same time
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(stored.Secret)) != 1 || stored.User == "" {
		return "", ErrBadCredentials
	}
	enabled, err := s.users.Enabled(ctx, stored.User)
	if err != nil {
		return "", err
	}
	if !enabled {
		return "", ErrBadCredentials
	}
	return stored.User, nil
}
