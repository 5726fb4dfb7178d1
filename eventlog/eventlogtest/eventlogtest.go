// Package eventlogtest starts a real embedded NATS server with JetStream in
// a test's temporary directory, for tests of packages built on eventlog.
package eventlogtest

import (
	"context"
	"testing"

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
	s, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := eventlog.ConnectInProcess(s, "test")
	if err != nil {
		s.Shutdown()
		t.Fatal(err)
	}
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
	e.Log.Close()
	e.Conn.Close()
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
	e.Server = nil
}
