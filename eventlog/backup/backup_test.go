package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
	"docket/eventlog/backup"
	"docket/eventlog/eventlogtest"
)

// server starts an empty embedded JetStream (no DOCS stream).
func server(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := eventlog.ConnectInProcess(ns, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() })
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// source is a JetStream holding what a docket node holds: the log (with
// a transaction of three documents), a key-value bucket, the file store,
// a durable consumer part way; and a stream that is not docket's.
func source(t *testing.T, ctx context.Context) *eventlogtest.Env {
	t.Helper()
	env := eventlogtest.Start(t, "")
	var writes []eventlog.Write
	for i := range 5 {
		name := fmt.Sprintf("todo-%d", i)
		ev := &eventlog.Event{Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Insert, DocType: "ToDo", Name: name,
			Version: 1, Doc: map[string]any{"name": name}, User: "Administrator", Time: 1, Tx: "tx"}
		w, err := eventlog.EventWrite(ev, 0)
		if err != nil {
			t.Fatal(err)
		}
		writes = append(writes, w)
	}
	if _, err := env.Log.Append(ctx, writes[:2]...); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Log.Append(ctx, writes[2:]...); err != nil { // one atomic batch
		t.Fatal(err)
	}
	js := env.Log.JetStream()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "docket_secrets", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"old hash", "new hash"} {
		if _, err := kv.PutString(ctx, "password.jane", v); err != nil {
			t.Fatal(err)
		}
	}
	obs, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "docket_files"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, "abc123", bytes.Repeat([]byte("file bytes "), 100_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other.>"}}); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "feed", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	// A reader of the node's process, as its projector's: not restored.
	if _, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{}); err != nil {
		t.Fatal(err)
	}
	msgs, err := cons.Fetch(2)
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func stream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(context.Background(), eventlog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// messages reads every message of a stream: sequence, subject, headers
// (without the ones a get adds) and data.
func messages(t *testing.T, ctx context.Context, js jetstream.JetStream, name string) []string {
	t.Helper()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			if strings.Contains(err.Error(), "not found") {
				continue
			}
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %v %v %q", m.Sequence, m.Subject, m.Time.UnixNano(), m.Header[eventlog.HeaderID], m.Data))
	}
	return out
}

// TestBackupAndRestore: a backup holds docket's streams, DOCS first, and
// a restore into an empty JetStream brings back every message (sequence,
// time, headers, data), the buckets' values, the files' bytes and the
// consumers' positions; a restore over existing streams and a damaged
// archive are refused; a tar of the backup restores alike.
func TestBackupAndRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := source(t, ctx)
	dir := filepath.Join(t.TempDir(), "backup")
	var progress []string
	m, err := backup.Write(ctx, src.Conn, dir, backup.Options{Progress: func(s backup.Stream, _ time.Duration) { progress = append(progress, s.Name) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DOCS", "KV_docket_secrets", "OBJ_docket_files"}
	var names []string
	for _, s := range m.Streams {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, want) || !slices.Equal(progress, want) {
		t.Fatalf("streams %v, progress %v; want %v", names, progress, want)
	}
	if d := m.Streams[0]; d.Messages != 5 || d.LastSeq != 5 || d.Consumers != 2 {
		t.Errorf("DOCS in the manifest: %+v", d)
	}
	for _, f := range []string{"DOCS/backup.json", "DOCS/stream.arc.s2", backup.ManifestFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := backup.Write(ctx, src.Conn, dir, backup.Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second backup into the same directory: %v", err)
	}

	check := func(t *testing.T, dir string) {
		nc, js := server(t)
		if _, err := backup.Restore(ctx, nc, dir, backup.RestoreOptions{Replicas: 1}); err != nil {
			t.Fatal(err)
		}
		for i, name := range want {
			got, want := messages(t, ctx, js, name), messages(t, ctx, src.Log.JetStream(), name)
			if min := []int{5, 1, 2}[i]; len(want) < min {
				t.Fatalf("%s: %d messages in the source, want at least %d", name, len(want), min)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s restored:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		if _, err := js.Stream(ctx, "OTHER"); err == nil {
			t.Error("a stream that is not docket's was restored")
		}
		kv, err := js.KeyValue(ctx, "docket_secrets")
		if err != nil {
			t.Fatal(err)
		}
		if e, err := kv.Get(ctx, "password.jane"); err != nil || string(e.Value()) != "new hash" {
			t.Errorf("secret: %v %v", e, err)
		}
		obs, err := js.ObjectStore(ctx, "docket_files")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := obs.GetBytes(ctx, "abc123"); err != nil || !bytes.Equal(b, bytes.Repeat([]byte("file bytes "), 100_000)) {
			t.Errorf("file: %d bytes, %v", len(b), err)
		}
		cons, err := js.Consumer(ctx, eventlog.StreamName, "feed")
		if err != nil {
			t.Fatal(err)
		}
		if info, err := cons.Info(ctx); err != nil || info.AckFloor.Stream != 2 || info.NumPending != 3 {
			t.Errorf("consumer feed restored: %+v %v; want acked to 2, 3 pending", info, err)
		}
		var consumers []string
		for name := range stream(t, js).ConsumerNames(ctx).Name() {
			consumers = append(consumers, name)
		}
		if !slices.Equal(consumers, []string{"feed"}) {
			t.Errorf("consumers of DOCS restored: %v, want feed only", consumers)
		}
		if c := stream(t, js).CachedInfo().Config; !c.DenyDelete || !c.DenyPurge || !c.AllowAtomicPublish || c.MaxMsgsPerSubject != -1 {
			t.Errorf("DOCS settings restored: %+v", c)
		}
		if _, err := backup.Restore(ctx, nc, dir, backup.RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "exists already") {
			t.Errorf("a restore over restored streams: %v", err)
		}
	}
	t.Run("directory", func(t *testing.T) { check(t, dir) })
	t.Run("tar", func(t *testing.T) {
		var buf bytes.Buffer
		if err := backup.WriteTar(&buf, dir); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "extracted")
		if _, err := backup.ExtractTar(&buf, out); err != nil {
			t.Fatal(err)
		}
		check(t, out)
	})
	t.Run("damaged", func(t *testing.T) {
		archive := filepath.Join(dir, "OBJ_docket_files", "stream.arc.s2")
		b, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(archive, b, 0o640); err != nil {
			t.Fatal(err)
		}
		nc, js := server(t)
		if _, err := backup.Restore(ctx, nc, dir, backup.RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("restore of a damaged backup: %v", err)
		}
		if _, err := js.Stream(ctx, eventlog.StreamName); err == nil {
			t.Error("a damaged backup was partly restored")
		}
	})
}
