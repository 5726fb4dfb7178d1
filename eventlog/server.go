package eventlog

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerOptions configures the embedded NATS server. The zero value (plus a
// StoreDir) runs a private single-node JetStream reachable only in-process.
type ServerOptions struct {
	// StoreDir holds JetStream's files (a "jetstream" folder is made in it).
	StoreDir string
	// Listen is the host:port for NATS clients; "" accepts in-process
	// connections only.
	Listen string
	// Token, when set, is the secret every NATS client must present
	// (nats.Token), in-process connections included.
	Token string
	// ServerName names the server; default "docket". The servers of a
	// cluster need distinct names (JetStream places replicas by name).
	ServerName string
	// ClusterName, ClusterListen and Routes make the server a node of a
	// NATS cluster whose JetStream is shared by every node: the cluster's
	// name (the same on every node), the host:port this node accepts
	// routes from the others on, and the routes' URLs
	// (nats-route://host:port; listing every node, this one included, is
	// fine). Any of them set means clustered; the others are then
	// required. A clustered server always listens for clients (on a random
	// loopback port when Listen is ""): NATS starts routing only once the
	// client listener is up.
	ClusterName   string
	ClusterListen string
	Routes        []string
	// MaxMemory and MaxStore bound JetStream's memory and disk use;
	// defaults 256 MiB and 75% of the free disk.
	MaxMemory, MaxStore int64
	// SyncInterval, when non-zero, replaces fsync-before-ack with a periodic
	// fsync. Faster, but an acknowledged write can be lost on power loss:
	// never the default.
	SyncInterval time.Duration
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// StartServer starts an embedded NATS server with JetStream on file
// storage and waits until it accepts connections. By default every write
// is fsynced before it is acknowledged (sync_interval: always), on every
// node of a cluster too. A cluster node's JetStream is usable once the
// cluster has elected a meta leader, which needs most of its nodes:
// [Open] waits for that.
func StartServer(o ServerOptions) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, fmt.Errorf("eventlog: start server: no store dir")
	}
	opts := &server.Options{
		ServerName:         o.ServerName,
		JetStream:          true,
		StoreDir:           filepath.Clean(o.StoreDir),
		SyncAlways:         o.SyncInterval == 0,
		SyncInterval:       o.SyncInterval,
		JetStreamMaxMemory: o.MaxMemory,
		JetStreamMaxStore:  o.MaxStore,
		NoSigs:             true,
		DontListen:         o.Listen == "",
		MaxPayload:         MaxPayload + 64<<10, // a document version plus headers
		Authorization:      o.Token,
	}
	if opts.ServerName == "" {
		opts.ServerName = "docket"
	}
	if opts.JetStreamMaxMemory == 0 {
		opts.JetStreamMaxMemory = 256 << 20
	}
	if o.Listen != "" {
		host, port, err := splitHostPort("nats listen", o.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	if err := clusterOptions(o, opts); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		opts.NoLog = true
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventlog: new nats server: %w", err)
	}
	if o.Logger != nil {
		s.SetLoggerV2(slogAdapter{o.Logger.With("component", "nats")}, false, false, false)
	}
	s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("eventlog: nats server not ready after 30s")
	}
	return s, nil
}

// Clustered reports whether the options make a cluster node.
func (o ServerOptions) Clustered() bool {
	return o.ClusterName != "" || o.ClusterListen != "" || len(o.Routes) > 0
}

// clusterOptions fills the cluster part of opts.
func clusterOptions(o ServerOptions, opts *server.Options) error {
	if !o.Clustered() {
		return nil
	}
	switch {
	case o.ServerName == "":
		return fmt.Errorf("eventlog: a cluster node needs a server name unique in its cluster")
	case o.ClusterName == "":
		return fmt.Errorf("eventlog: a cluster node needs a cluster name")
	case o.ClusterListen == "":
		return fmt.Errorf("eventlog: a cluster node needs an address to accept routes on")
	case len(o.Routes) == 0:
		return fmt.Errorf("eventlog: a cluster node needs routes to the other nodes")
	}
	host, port, err := splitHostPort("cluster listen", o.ClusterListen)
	if err != nil {
		return err
	}
	opts.Cluster.Name, opts.Cluster.Host, opts.Cluster.Port = o.ClusterName, host, port
	for _, r := range o.Routes {
		u, err := url.Parse(strings.TrimSpace(r))
		if err != nil || u.Host == "" {
			return fmt.Errorf("eventlog: route %q is not a URL such as nats-route://host:6222", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	if o.Listen == "" {
		// Routing waits for the client listener; a private one will do,
		// and its address is not worth telling anyone.
		opts.DontListen = false
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
		opts.Cluster.NoAdvertise = true
	}
	return nil
}

func splitHostPort(what, addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("eventlog: %s address %q: %w", what, addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("eventlog: %s port %q: %w", what, port, err)
	}
	return host, p, nil
}

// ConnectInProcess connects to an embedded server without a socket
// (token: the server's Token, if it has one).
func ConnectInProcess(s *server.Server, name string, token ...string) (*nats.Conn, error) {
	opts := []nats.Option{nats.InProcessServer(s), nats.Name(name), nats.MaxReconnects(-1)}
	if len(token) > 0 && token[0] != "" {
		opts = append(opts, nats.Token(token[0]))
	}
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("eventlog: connect in-process: %w", err)
	}
	return nc, nil
}

// slogAdapter sends the NATS server's log to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  {}
