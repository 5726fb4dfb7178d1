package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"docket/auth"
	"docket/eventlog/eventlogtest"
)

// users is a directory of users for tests: name → state.
type users map[string]*auth.UserState

func (u users) LookupLogin(ctx context.Context, login string) (string, bool, error) {
	_, ok := u[strings.ToLower(login)]
	return strings.ToLower(login), ok, nil
}

func (u users) User(ctx context.Context, user string) (auth.UserState, error) {
	if st := u[user]; st != nil {
		return *st, nil
	}
	return auth.UserState{}, nil
}

func newService(t *testing.T, dir string, u users) *auth.Service {
	t.Helper()
	env := eventlogtest.Start(t, dir)
	s, err := auth.New(context.Background(), env.Log.JetStream(), u, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := auth.HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if ok, err := auth.CheckPassword(h, pw); ok != want || err != nil {
			t.Errorf("CheckPassword(%q) = %v, %v", pw, ok, err)
		}
	}
	if _, err := auth.CheckPassword("$argon2id$junk", "x"); err == nil {
		t.Error("malformed hash accepted")
	}
}

func TestLoginSessionsAndKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	u := users{"jane@example.com": {Exists: true, Enabled: true}, "off@example.com": {Exists: true}}
	s := newService(t, dir, u)
	if err := s.SetSecret(ctx, "User", "jane@example.com", "new_password", "pw-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "off@example.com", "pw-2"); err != nil {
		t.Fatal(err)
	}
	if user, err := s.Login(ctx, "Jane@Example.com", "pw-1"); err != nil || user != "jane@example.com" {
		t.Fatalf("login: %q %v", user, err)
	}
	for _, c := range []struct{ login, pw string }{{"jane@example.com", "wrong"}, {"nobody@example.com", "pw-1"}} {
		if _, err := s.Login(ctx, c.login, c.pw); !errors.Is(err, auth.ErrInvalidLogin) {
			t.Errorf("login %v: %v, want ErrInvalidLogin", c, err)
		}
	}
	if _, err := s.Login(ctx, "off@example.com", "pw-2"); !errors.Is(err, auth.ErrDisabled) {
		t.Errorf("disabled login: %v", err)
	}
	if _, err := s.Login(ctx, "jane@example.com", strings.Repeat("x", 513)); !errors.Is(err, auth.ErrPasswordTooLong) {
		t.Errorf("long password: %v", err)
	}

	sess, err := s.NewSession(ctx, "jane@example.com")
	if err != nil || len(sess.ID) != 56 {
		t.Fatalf("session %+v %v", sess, err)
	}
	id, err := s.Authenticate(ctx, sess.ID, "")
	if err != nil || id.User != "jane@example.com" || id.Via != "session" {
		t.Fatalf("authenticate by session: %+v %v", id, err)
	}
	id, err = s.Authenticate(ctx, "deadbeef", "")
	if err != nil || id.User != auth.GuestUser || !id.SessionExpired {
		t.Fatalf("dead session: %+v %v", id, err)
	}

	key := auth.NewAPIKey()
	u["jane@example.com"].APIKey = key
	secret, err := s.SetAPISecret(ctx, key, "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"token " + key + ":" + secret, "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret)), "TOKEN " + key + ":" + secret} {
		id, err := s.Authenticate(ctx, "", h)
		if err != nil || id.User != "jane@example.com" {
			t.Errorf("%q: %+v %v", h, id, err)
		}
	}
	bad := map[string]error{
		"token " + key + ":wrong": auth.ErrBadCredentials,
		"token nokey:" + secret:   auth.ErrBadCredentials,
		"token " + key:            auth.ErrBadCredentials,
		"Basic %%%":               auth.ErrBadHeader,
		"Bearer sometoken":        auth.ErrBadCredentials,
	}
	for h, want := range bad {
		if _, err := s.Authenticate(ctx, sess.ID, h); !errors.Is(err, want) {
			t.Errorf("%q with a valid session: %v, want %v", h, err, want)
		}
	}
	// A header that is not "<type> <credentials>" is ignored, as in Frappe.
	if id, err := s.Authenticate(ctx, "", "token"); err != nil || id.User != auth.GuestUser {
		t.Errorf("malformed header: %+v %v", id, err)
	}
	// A new secret replaces the old one.
	secret2, _ := s.SetAPISecret(ctx, key, "jane@example.com")
	if _, err := s.Authenticate(ctx, "", "token "+key+":"+secret); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("old secret still works: %v", err)
	}
	if id, err := s.Authenticate(ctx, "", "token "+key+":"+secret2); err != nil || id.User != "jane@example.com" {
		t.Errorf("new secret: %v", err)
	}
	// Disabling the user stops its session and keys at once.
	u["jane@example.com"].Enabled = false
	if id, _ := s.Authenticate(ctx, sess.ID, ""); id.User != auth.GuestUser || !id.SessionExpired {
		t.Errorf("disabled user's session still works: %+v", id)
	}
	if _, err := s.Authenticate(ctx, "", "token "+key+":"+secret2); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("disabled user's key still works: %v", err)
	}
	u["jane@example.com"].Enabled = true
	// A key that is no longer the User document's api_key is revoked.
	u["jane@example.com"].APIKey = ""
	if _, err := s.Authenticate(ctx, "", "token "+key+":"+secret2); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a cleared api_key still works: %v", err)
	}
	u["jane@example.com"].APIKey = key
	if err := s.EndSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sess.ID); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("ended session: %v", err)
	}
	// Field secrets round-trip.
	if err := s.SetSecret(ctx, "Email Account", "main", "password", "p@ss"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Secret(ctx, "Email Account", "main", "password"); err != nil || v != "p@ss" {
		t.Errorf("secret %q %v", v, err)
	}
}

// TestPasswordChangeAndDeleteEndSessions: a new password ends the
// sessions started before it; a deleted user's password, key and sessions
// do not pass to a later user of the same name.
func TestPasswordChangeAndDeleteEndSessions(t *testing.T) {
	ctx := context.Background()
	u := users{"bob@example.com": {Exists: true, Enabled: true}}
	s := newService(t, "", u)
	if err := s.SetPassword(ctx, "bob@example.com", "first"); err != nil {
		t.Fatal(err)
	}
	old, _ := s.NewSession(ctx, "bob@example.com")
	if err := s.SetPassword(ctx, "bob@example.com", "second"); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.Authenticate(ctx, old.ID, ""); id.Via != "guest" || !id.SessionExpired {
		t.Fatalf("a session from before the password change: %+v", id)
	}
	cur, _ := s.NewSession(ctx, "bob@example.com")
	if id, _ := s.Authenticate(ctx, cur.ID, ""); id.User != "bob@example.com" {
		t.Fatalf("a session after the change: %+v", id)
	}
	key := auth.NewAPIKey()
	u["bob@example.com"].APIKey = key
	secret, _ := s.SetAPISecret(ctx, key, "bob@example.com")

	// Bob is deleted, and a new Bob arrives with the same name.
	if err := s.ForgetSecrets(ctx, "User", "bob@example.com", nil, key); err != nil {
		t.Fatal(err)
	}
	u["bob@example.com"] = &auth.UserState{Exists: true, Enabled: true, APIKey: key}
	if _, err := s.Login(ctx, "bob@example.com", "second"); !errors.Is(err, auth.ErrInvalidLogin) {
		t.Errorf("the old password logs in the new user: %v", err)
	}
	if _, err := s.Authenticate(ctx, "", "token "+key+":"+secret); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("the old key works for the new user: %v", err)
	}
	if id, _ := s.Authenticate(ctx, cur.ID, ""); id.Via != "guest" {
		t.Errorf("the old session works for the new user: %+v", id)
	}
}
