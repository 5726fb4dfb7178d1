package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
)

// natsConn is the node's connection to NATS: to its embedded server
// (ns, standalone or a cluster node) or to an external cluster (ns nil).
type natsConn struct {
	nc       *nats.Conn
	ns       *server.Server
	replicas int // of the stream and the buckets
}

// close closes the connection, then stops the embedded server.
func (c *natsConn) close(logger *slog.Logger) {
	if c.nc != nil {
		c.nc.Close()
	}
	if c.ns != nil {
		c.ns.Shutdown()
		c.ns.WaitForShutdown()
		logger.Info("nats stopped")
	}
}

// connectNATS starts the embedded server (or connects to --nats-url),
// waits until JetStream answers (a cluster has elected its meta leader)
// and decides the replicas: --replicas, else three in a cluster and one
// on a single server. On error, what was started is stopped.
func connectNATS(ctx context.Context, cfg config, logger *slog.Logger) (c *natsConn, err error) {
	c = &natsConn{}
	defer func() {
		if err != nil {
			c.close(logger)
		}
	}()
	if cfg.NATSURL != "" {
		opts := []nats.Option{nats.Name("docket"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true)}
		switch {
		case cfg.NATSCreds != "":
			opts = append(opts, nats.UserCredentials(cfg.NATSCreds))
		case cfg.NATSUser != "":
			opts = append(opts, nats.UserInfo(cfg.NATSUser, cfg.NATSPassword))
		case cfg.NATSToken != "":
			opts = append(opts, nats.Token(cfg.NATSToken))
		}
		if c.nc, err = nats.Connect(cfg.NATSURL, opts...); err != nil {
			return c, fmt.Errorf("nats %s: %w", cfg.NATSURL, err)
		}
	} else {
		c.ns, err = eventlog.StartServer(eventlog.ServerOptions{
			StoreDir: filepath.Join(cfg.Data, "nats"), Listen: cfg.NATSListen, Token: cfg.NATSToken, Logger: logger,
			ServerName: cfg.ServerName, ClusterName: cfg.ClusterName, ClusterListen: cfg.ClusterListen,
			Routes: splitList(cfg.Routes),
		})
		if err != nil {
			return c, err
		}
		if c.nc, err = eventlog.ConnectInProcess(c.ns, "docket", cfg.NATSToken); err != nil {
			return c, err
		}
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		return c, err
	}
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	err = eventlog.Retry(wctx, logger, "JetStream", func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	})
	if err != nil {
		return c, err
	}
	c.replicas = cfg.Replicas
	if c.replicas == 0 {
		c.replicas = 1
		if cfg.ClusterName != "" || c.nc.ConnectedClusterName() != "" {
			c.replicas = 3
		}
	}
	logger.Info("nats ready", "server", c.nc.ConnectedServerName(), "cluster", c.nc.ConnectedClusterName(),
		"external", cfg.NATSURL != "", "replicas", c.replicas)
	return c, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
