package eventlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

// readerConsumers returns the names of the log readers' consumers and
// the server each one is on.
func readerConsumers(t *testing.T, nc *nats.Conn) map[string]string {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	list := stream.ListConsumers(ctx)
	for info := range list.Info() {
		if strings.HasPrefix(info.Name, "read-") {
			out[info.Name] = ""
			if info.Cluster != nil {
				out[info.Name] = info.Cluster.Leader
			}
		}
	}
	if err := list.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectSeqs reads the next messages and checks their sequences.
func expectSeqs(t *testing.T, r *eventlog.Reader, from, to eventlog.Seq) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for want := from; want <= to; want++ {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("reading seq %d: %v", want, err)
		}
		if m.Seq != want {
			t.Fatalf("got seq %d, want %d", m.Seq, want)
		}
	}
}

func appendNotes(t *testing.T, l *eventlog.Log, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if _, err := l.Append(ctx, mustWrite(t, newEvent("Note", fmt.Sprintf("%s-%d", prefix, i), 1, nil), 0)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReaderOutlivesItsConsumer deletes a reader's consumer under it: the
// reader goes on through a new one, from the message after the last one
// it returned, with nothing skipped or repeated; Close deletes the
// consumer.
func TestReaderOutlivesItsConsumer(t *testing.T) {
	env := eventlogtest.Start(t, "")
	appendNotes(t, env.Log, "a", 3)
	r, err := env.Log.Read(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	expectSeqs(t, r, 1, 2)
	cons := readerConsumers(t, env.Conn)
	if len(cons) != 1 {
		t.Fatalf("reader consumers: %v", cons)
	}
	for name := range cons {
		if err := env.Log.Unsubscribe(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	appendNotes(t, env.Log, "b", 2)
	expectSeqs(t, r, 3, 5)
	now := readerConsumers(t, env.Conn)
	for name := range cons {
		if _, ok := now[name]; ok || len(now) != 1 {
			t.Fatalf("reader consumers after the first was deleted: %v", now)
		}
	}
	r.Close()
	waitNoReaders(t, env.Conn)
	if _, err := r.Next(context.Background()); err == nil {
		t.Fatal("Next after Close returned no error")
	}
}

// TestClusterReaderSurvivesNodeLoss stops the server that holds a
// reader's consumer (not the one the reader is connected to): the reader
// goes on through the others, in order, with nothing lost or repeated.
func TestClusterReaderSurvivesNodeLoss(t *testing.T) {
	envs := eventlogtest.StartCluster(t, 3)
	appendNotes(t, envs[0].Log, "a", 3)
	// Readers on each node until one's consumer is on another node.
	var r *eventlog.Reader
	var reader, holder *eventlogtest.Env
	for i := 0; holder == nil; i++ {
		if i == 30 {
			t.Fatal("30 readers' consumers were all on their own node")
		}
		e := envs[i%3]
		rr, err := e.Log.Read(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, server := range readerConsumers(t, e.Conn) {
			if server != e.Server.Name() {
				for _, h := range envs {
					if h.Server.Name() == server {
						r, reader, holder = rr, e, h
					}
				}
			}
		}
		if holder == nil {
			rr.Close()
			waitNoReaders(t, e.Conn)
		}
	}
	defer r.Close()
	expectSeqs(t, r, 1, 2)
	holder.Stop()
	var writer *eventlogtest.Env
	for _, e := range envs {
		if e.Server != nil {
			writer = e
		}
	}
	start := time.Now()
	appendNotes(t, writer.Log, "b", 2)
	expectSeqs(t, r, 3, 5)
	t.Logf("the reader on %s read on %s after the node holding its consumer stopped", reader.Server.Name(),
		time.Since(start).Round(time.Millisecond))
}

// waitNoReaders waits until no reader consumer is left.
func waitNoReaders(t *testing.T, nc *nats.Conn) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(readerConsumers(t, nc)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("reader consumers left: %v", readerConsumers(t, nc))
		}
		time.Sleep(50 * time.Millisecond) // Close deletes in the background
	}
}

// TestReaderAfterReconnect reconnects a reader's connection (over TCP):
// deliveries sent while a connection is away are lost to a consumer
// without acknowledgements, so the reader goes on through a new
// consumer, in order.
func TestReaderAfterReconnect(t *testing.T) {
	port := eventlogtest.FreePorts(t, 1)[0]
	s, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: t.TempDir(), Listen: fmt.Sprintf("127.0.0.1:%d", port)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	l, err := eventlog.Open(context.Background(), nc, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendNotes(t, l, "a", 2)
	r, err := l.Read(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	expectSeqs(t, r, 1, 2)
	before := readerConsumers(t, nc)
	reconnected := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(reconnected)
	if err := nc.ForceReconnect(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnected:
	case <-time.After(30 * time.Second):
		t.Fatal("no reconnect")
	}
	appendNotes(t, l, "b", 2)
	expectSeqs(t, r, 3, 4)
	after := readerConsumers(t, nc)
	for name := range before {
		if _, ok := after[name]; ok || len(after) != 1 {
			t.Fatalf("reader consumers before the reconnect %v, after %v", before, after)
		}
	}
}

// TestClusterReaderClosesWithoutMajority stops two of three servers
// while a reader waits: whether its consumer was lost (and it is trying
// to create another, which a cluster without a majority cannot) or not,
// Close ends the waiting Next.
func TestClusterReaderClosesWithoutMajority(t *testing.T) {
	envs := eventlogtest.StartCluster(t, 3)
	appendNotes(t, envs[0].Log, "a", 1)
	r, err := envs[0].Log.Read(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, r, 1, 1)
	done := make(chan error, 1)
	go func() {
		_, err := r.Next(context.Background())
		done <- err
	}()
	envs[1].Stop()
	envs[2].Stop()
	// Past two missed heartbeats: a consumer that was on a stopped server
	// is being replaced now.
	select {
	case err := <-done:
		t.Fatalf("Next returned before Close: %v", err)
	case <-time.After(3 * readerHeartbeatForTest):
	}
	closed := time.Now()
	r.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Next after Close returned no error")
		}
		t.Logf("Next returned %s after Close: %v", time.Since(closed).Round(time.Millisecond), err)
	case <-time.After(15 * time.Second):
		t.Fatal("Next still waiting 15 s after Close")
	}
}

// readerHeartbeatForTest is the readers' heartbeat interval.
const readerHeartbeatForTest = time.Second
