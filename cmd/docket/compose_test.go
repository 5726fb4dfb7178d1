package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of docker-compose.yml the test reads.
type composeFile struct {
	Services map[string]struct {
		Build       string            `yaml:"build"`
		Image       string            `yaml:"image"`
		Hostname    string            `yaml:"hostname"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestComposeFile checks (docker is not needed) that docker-compose.yml
// describes the cluster TestClusterNodeLoss runs: three nodes n1, n2, n3
// of one cluster "docket", each with its own volume and HTTP port, whose
// routes name the three nodes' route ports; and that each node's
// environment, with the Dockerfile's entrypoint, is a configuration
// serve accepts, the same as the test's flags but for addresses.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	entry := dockerEntrypoint(t)
	names := []string{"n1", "n2", "n3"}
	var got []string
	for name := range cf.Services {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Fatalf("services %v, want %v", got, names)
	}
	ports, volumes := map[string]bool{}, map[string]bool{}
	for i, name := range names {
		svc := cf.Services[name]
		if svc.Build != "." || svc.Hostname != name {
			t.Errorf("%s: build %q hostname %q", name, svc.Build, svc.Hostname)
		}
		if len(svc.Ports) != 1 || !strings.HasSuffix(svc.Ports[0], ":8000") || ports[svc.Ports[0]] {
			t.Errorf("%s: ports %v (one, to 8000, not shared)", name, svc.Ports)
		}
		ports[svc.Ports[0]] = true
		if len(svc.Volumes) != 1 || !strings.HasSuffix(svc.Volumes[0], ":/data") || volumes[svc.Volumes[0]] {
			t.Errorf("%s: volumes %v (one, at /data, not shared)", name, svc.Volumes)
		}
		volumes[svc.Volumes[0]] = true
		if v := strings.Split(svc.Volumes[0], ":")[0]; cf.Volumes == nil || !hasKey(cf.Volumes, v) {
			t.Errorf("%s: volume %s not declared", name, v)
		}

		env := func(k string) string {
			v := svc.Environment[k]
			return regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAllString(v, "$1")
		}
		cfg, err := parseServeFlags(entry, env, io.Discard)
		if err != nil {
			t.Fatalf("%s: its environment and the entrypoint: %v", name, err)
		}
		ref, err := parseServeFlags(clusterArgs(i, []int{16221, 16222, 16223}), func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Data != "/data" || cfg.ServerName != ref.ServerName || cfg.ClusterName != ref.ClusterName ||
			cfg.Replicas != ref.Replicas || cfg.NATSURL != "" {
			t.Errorf("%s: %s\nthe test's node: %s", name, describe(cfg), describe(ref))
		}
		// Routes: one to each node's route port, as the test's.
		listen, err := url.Parse("nats-route://" + cfg.ClusterListen)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, n := range names {
			want = append(want, fmt.Sprintf("nats-route://%s:%s", n, listen.Port()))
		}
		if r := splitList(cfg.Routes); !slices.Equal(r, want) || len(r) != len(splitList(ref.Routes)) {
			t.Errorf("%s: routes %v, want %v", name, r, want)
		}
	}
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func describe(c config) string {
	b, _ := json.Marshal(map[string]any{"data": c.Data, "server": c.ServerName, "cluster": c.ClusterName,
		"listen": c.ClusterListen, "routes": c.Routes, "replicas": c.Replicas, "nats-url": c.NATSURL})
	return string(b)
}

// dockerEntrypoint returns the serve flags of the Dockerfile's
// ENTRYPOINT (after "/docket serve"), and checks the image is static.
func dockerEntrypoint(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	if !strings.Contains(df, "CGO_ENABLED=0 go build") || !strings.Contains(df, "distroless/static") {
		t.Error("the Dockerfile no longer builds a static binary into a distroless static image")
	}
	m := regexp.MustCompile(`(?m)^ENTRYPOINT (\[.*\])$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no ENTRYPOINT in exec form")
	}
	var argv []string
	if err := json.Unmarshal([]byte(m[1]), &argv); err != nil {
		t.Fatal(err)
	}
	if len(argv) < 2 || argv[0] != "/docket" || argv[1] != "serve" {
		t.Fatalf("ENTRYPOINT %v", argv)
	}
	return argv[2:]
}
