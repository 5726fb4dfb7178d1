// Package eventlogtest starts a real embedded NATS server with JetStream in
// a test's temporary directory, for tests of packages built on eventlog.
package eventlogtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"docket/eventlog"
)

// Env is a running server, a connection and an open log.
type Env struct {
	Dir    string
	Server *server.Server
	Conn   *nats.Conn
	Log    *eventlog.Log
}

// Start starts a server storing in dir (t.TempDir() when dir is "") and
// opens the log; everything stops when the test ends.
func Start(t testing.TB, dir string) *Env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, nc := startServer(t, eventlog.ServerOptions{StoreDir: dir})
	l, err := eventlog.Open(context.Background(), nc, eventlog.Options{})
	if err != nil {
		nc.Close()
		s.Shutdown()
		t.Fatal(err)
	}
	env := &Env{Dir: dir, Server: s, Conn: nc, Log: l}
	t.Cleanup(env.Stop)
	return env
}

// Stop closes the log, the connection and the server; it may be called
// more than once.
func (e *Env) Stop() {
	if e.Server == nil {
		return
	}
	if e.Log != nil {
		e.Log.Close()
	}
	e.Conn.Close()
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
	e.Server = nil
}

// startServer starts a server and connects to it in-process.
func startServer(t testing.TB, o eventlog.ServerOptions) (*server.Server, *nats.Conn) {
	t.Helper()
	s, err := eventlog.StartServer(o)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := eventlog.ConnectInProcess(s, "test")
	if err != nil {
		s.Shutdown()
		t.Fatal(err)
	}
	return s, nc
}

// StartCluster starts n servers forming one JetStream cluster on
// loopback (each storing in its own temporary directory), and opens the
// log on each with min(n, 3) replicas once the cluster is ready.
// Everything stops when the test ends.
func StartCluster(t testing.TB, n int) []*Env {
	t.Helper()
	ports := FreePorts(t, n)
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", p)
	}
	envs := make([]*Env, n)
	for i := range envs {
		dir := t.TempDir()
		s, nc := startServer(t, eventlog.ServerOptions{
			StoreDir: dir, ServerName: fmt.Sprintf("n%d", i+1), ClusterName: "test",
			ClusterListen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Routes: routes,
		})
		envs[i] = &Env{Dir: dir, Server: s, Conn: nc}
		t.Cleanup(envs[i].Stop)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Log, errs[i] = eventlog.Open(ctx, e.Conn, eventlog.Options{Replicas: min(n, 3)})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return envs
}

// FreePorts returns n TCP ports free on 127.0.0.1 a moment ago.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}
