package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// openBuckets opens buckets at once: in a cluster each is a Raft group
// to create, and the nodes starting together all try.
func openBuckets(ctx context.Context, js jetstream.JetStream, cfgs []jetstream.KeyValueConfig) ([]jetstream.KeyValue, error) {
	kvs := make([]jetstream.KeyValue, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if kvs[i], errs[i] = openBucket(ctx, js, cfg); errs[i] != nil {
				errs[i] = fmt.Errorf("auth: bucket %s: %w", cfg.Bucket, errs[i])
			}
		}()
	}
	wg.Wait()
	return kvs, errors.Join(errs...)
}

// openBucket creates or updates a key-value bucket and binds it.
//
// A replicated bucket is made without direct gets: a direct get may be
// answered by a replica that has not applied the newest writes yet (most
// often the node's own), so a session created through one node could be
// missing, or a session ended or a password changed still valid, when
// the next request reaches another node. Without direct gets every read
// goes to the bucket's leader, which has every acknowledged write: what
// auth decides is never older than what it wrote. (nats.go always makes
// buckets with direct gets, so the bucket's stream is made here, as
// nats.go makes it otherwise.) A single-server bucket is consistent
// either way and is made by nats.go.
func openBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if cfg.Replicas <= 1 {
		return js.CreateOrUpdateKeyValue(ctx, cfg)
	}
	if _, err := js.CreateOrUpdateStream(ctx, bucketStream(cfg)); err != nil {
		return nil, err
	}
	// Just after nodes starting together created it, a node may not know
	// the bucket's stream yet: ask again for a while.
	deadline := time.Now().Add(15 * time.Second)
	for {
		kv, err := js.KeyValue(ctx, cfg.Bucket)
		if !errors.Is(err, jetstream.ErrBucketNotFound) || time.Now().After(deadline) {
			return kv, err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// bucketStream is the stream of a key-value bucket as nats.go's
// CreateKeyValue configures it (ADR-8), without direct gets.
func bucketStream(cfg jetstream.KeyValueConfig) jetstream.StreamConfig {
	history := int64(max(cfg.History, 1))
	maxBytes := cfg.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	dupes := 2 * time.Minute
	if cfg.TTL > 0 && cfg.TTL < dupes {
		dupes = cfg.TTL
	}
	return jetstream.StreamConfig{
		Name:              "KV_" + cfg.Bucket,
		Description:       cfg.Description,
		Subjects:          []string{fmt.Sprintf("$KV.%s.>", cfg.Bucket)},
		MaxMsgsPerSubject: history,
		MaxBytes:          maxBytes,
		MaxAge:            cfg.TTL,
		MaxMsgSize:        -1,
		Storage:           cfg.Storage,
		Replicas:          cfg.Replicas,
		AllowRollup:       true,
		DenyDelete:        true,
		Duplicates:        dupes,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		AllowDirect:       false,
		Discard:           jetstream.DiscardNew,
	}
}

// leaderWait bounds how long kvGet waits out a leader election.
const leaderWait = 15 * time.Second

// kvGet reads a key. A replicated bucket is read through its leader:
// when the node holding it is lost, reads go unanswered until the others
// have elected a new one (4 to 9 s in NATS). kvGet tries again meanwhile
// (each try with its own 2 s deadline, within ctx and leaderWait), so a
// request waits out the loss of a node instead of failing.
func kvGet(ctx context.Context, kv jetstream.KeyValue, key string) (jetstream.KeyValueEntry, error) {
	deadline := time.Now().Add(leaderWait)
	pause := 50 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		e, err := kv.Get(tctx, key)
		cancel()
		if err == nil || !leaderless(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return e, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, err
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// leaderless reports whether err is what a read gets while a bucket has
// no leader: no answer, or JetStream's "temporarily unavailable".
func leaderless(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}
