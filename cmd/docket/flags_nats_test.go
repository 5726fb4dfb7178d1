package main

import (
	"io"
	"strings"
	"testing"
)

// TestServeFlagsNATSModes checks the NATS flags and their environment
// variables: one mode at a time, a cluster node fully named.
func TestServeFlagsNATSModes(t *testing.T) {
	parse := func(env map[string]string, args ...string) (config, error) {
		return parseServeFlags(args, func(k string) string { return env[k] }, io.Discard)
	}
	cfg, err := parse(map[string]string{
		"DOCKET_SERVER_NAME": "n1", "DOCKET_CLUSTER_NAME": "docket", "DOCKET_CLUSTER_LISTEN": "0.0.0.0:6222",
		"DOCKET_ROUTES": "nats-route://n1:6222,nats-route://n2:6222", "DOCKET_REPLICAS": "3",
	})
	if err != nil || cfg.ServerName != "n1" || cfg.ClusterName != "docket" || cfg.ClusterListen != "0.0.0.0:6222" ||
		len(splitList(cfg.Routes)) != 2 || cfg.Replicas != 3 {
		t.Fatalf("cluster from the environment: %+v %v", cfg, err)
	}
	cfg, err = parse(map[string]string{"DOCKET_NATS_URL": "nats://a:4222, nats://b:4222", "DOCKET_NATS_USER": "docket",
		"DOCKET_NATS_PASSWORD": "pw"})
	if err != nil || cfg.NATSURL != "nats://a:4222, nats://b:4222" || cfg.NATSUser != "docket" || cfg.NATSPassword != "pw" {
		t.Fatalf("external from the environment: %+v %v", cfg, err)
	}
	if cfg, err = parse(nil, "--nats-url", "nats://a:4222", "--nats-creds", "/run/docket.creds"); err != nil || cfg.NATSCreds == "" {
		t.Fatalf("creds: %+v %v", cfg, err)
	}
	if _, err := parse(map[string]string{"DOCKET_REPLICAS": "three"}); err == nil || !strings.Contains(err.Error(), "DOCKET_REPLICAS") {
		t.Errorf("DOCKET_REPLICAS=three: %v", err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats-url", "nats://a:4222", "--routes", "nats-route://b:6222"}, "external NATS"},
		{[]string{"--nats-url", "nats://a:4222", "--nats-listen", "127.0.0.1:4222"}, "external NATS"},
		{[]string{"--nats-user", "docket"}, "--nats-url"},
		{[]string{"--cluster-name", "docket", "--cluster-listen", ":6222", "--routes", "nats-route://b:6222"}, "--server-name"},
		{[]string{"--server-name", "n1", "--cluster-name", "docket", "--routes", "nats-route://b:6222"}, "--cluster-listen"},
		{[]string{"--replicas", "3"}, "needs a cluster"},
		{[]string{"--replicas", "7", "--nats-url", "nats://a:4222"}, "between 1 and 5"},
	} {
		if _, err := parse(nil, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: err %v, want %q", bad.args, err, bad.want)
		}
	}
}
