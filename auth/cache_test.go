package auth_test

import (
	"context"
	"testing"
	"time"

	"docket/auth"
	"docket/eventlog/eventlogtest"
)

// TestCacheAcrossNodes: two services on one JetStream, as two nodes. A
// key or session written on one is usable on the other at once (nothing
// missing is cached); an end or a replacement on one takes effect on the
// other within the cache's time to live, and on its own node at once.
func TestCacheAcrossNodes(t *testing.T) {
	ctx := context.Background()
	env := eventlogtest.Start(t, "")
	u := users{"jane@example.com": {Exists: true, Enabled: true}}
	const ttl = 200 * time.Millisecond
	open := func() *auth.Service {
		s, err := auth.New(ctx, env.Log.JetStream(), u, auth.Options{CacheTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	user := "jane@example.com"

	// A new session and a new key on a are good on b at once.
	sess, err := a.NewSession(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := b.Authenticate(ctx, sess.ID, ""); err != nil || id.User != user {
		t.Fatalf("b, new session: %+v %v", id, err)
	}
	k := auth.NewAPIKey()
	u[user].APIKey = k
	secret1, err := a.SetAPISecret(ctx, k, user)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.CheckAPIKey(ctx, k, secret1); err != nil || got != user {
		t.Fatalf("b, new key: %q %v", got, err)
	}

	// Replaced on a: refused on a at once, on b within the TTL.
	secret2, err := a.SetAPISecret(ctx, k, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckAPIKey(ctx, k, secret1); err == nil {
		t.Fatal("a still takes the replaced secret")
	}
	if got, err := b.CheckAPIKey(ctx, k, secret2); err != nil || got != user {
		t.Fatalf("b, the new secret: %q %v", got, err) // a mismatch is not trusted to the cache
	}
	waitRefused(t, ttl, func() bool { _, err := b.CheckAPIKey(ctx, k, secret1); return err != nil })

	// Ended on a: over on a at once, on b within the TTL.
	if err := a.EndSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if id, _ := a.Authenticate(ctx, sess.ID, ""); id.User != auth.GuestUser {
		t.Fatal("a still knows the ended session")
	}
	waitRefused(t, ttl, func() bool { id, _ := b.Authenticate(ctx, sess.ID, ""); return id.User == auth.GuestUser })
}

// waitRefused waits until refused() holds; it must within a few TTLs.
func waitRefused(t *testing.T, ttl time.Duration, refused func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * ttl)
	for !refused() {
		if time.Now().After(deadline) {
			t.Fatalf("still accepted %v after the change", 10*ttl)
		}
		time.Sleep(ttl / 10)
	}
}
