package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"docket/auth"
	"docket/eventlog/eventlogtest"
)

// TestClusterSessionsAreReadThroughTheLeader starts the service on the
// nodes of a three-node cluster (R3 buckets): a session made through one
// node is live through the other the moment it was made, and a session
// ended through one is dead through the other at once. (A direct get can
// be answered by a replica that lags: that is why replicated buckets have
// none.) The cache is off here: with it, another node's end of a session
// applies within its TTL (TestCacheAcrossNodes).
func TestClusterSessionsAreReadThroughTheLeader(t *testing.T) {
	ctx := context.Background()
	envs := eventlogtest.StartCluster(t, 3)
	u := users{"jane@example.com": {Exists: true, Enabled: true}}
	var svcs []*auth.Service
	for _, e := range envs {
		s, err := auth.New(ctx, e.Log.JetStream(), u, auth.Options{Replicas: 3, CacheTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, s)
	}
	for _, b := range []string{auth.SecretsBucket, auth.SessionsBucket, auth.OAuthBucket} {
		st, err := envs[2].Log.JetStream().Stream(ctx, "KV_"+b)
		if err != nil {
			t.Fatal(err)
		}
		if c := st.CachedInfo().Config; c.Replicas != 3 || c.AllowDirect || c.MaxMsgsPerSubject != 1 {
			t.Errorf("%s: replicas %d, direct %v, history %d", b, c.Replicas, c.AllowDirect, c.MaxMsgsPerSubject)
		}
	}
	for i := range 100 {
		a, b := svcs[i%3], svcs[(i+1)%3]
		sess, err := a.NewSession(ctx, "jane@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.Session(ctx, sess.ID); err != nil || got.User != "jane@example.com" {
			t.Fatalf("session %d through the other node: %v %v", i, got, err)
		}
		if err := b.EndSession(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Session(ctx, sess.ID); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("ended session %d still live through the first node: %v", i, err)
		}
	}
	// The buckets work as nats.go's own: a KeyValue bound by nats.go reads them.
	kv, err := envs[2].Log.JetStream().KeyValue(ctx, auth.SessionsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "nope"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("get: %v", err)
	}
}
