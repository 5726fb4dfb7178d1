package bench

import (
	"io"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	return ParseFlags(args, func(string) string { return "" }, io.Discard)
}

func TestQuickPresetYieldsToExplicitFlags(t *testing.T) {
	c, err := parse(t, "--quick", "--duration", "5s")
	if err != nil {
		t.Fatal(err)
	}
	if c.Docs != 5000 || c.Duration != 5*time.Second || c.CeilingDuration != time.Second || c.Warmup != 500*time.Millisecond {
		t.Fatalf("quick with --duration 5s: %+v", c)
	}
	c, err = parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Docs != 100000 || c.Clients != 64 || c.Duration != 10*time.Second || c.CeilingDuration != 5*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestOnlyNamesKnownOperations(t *testing.T) {
	c, err := parse(t, "--only", "get, create1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.selected("get") || !c.selected("create1") || c.selected("create") {
		t.Fatalf("selected: %v", c.Only)
	}
	if _, err := parse(t, "--only", "get,frobnicate"); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("unknown operation: %v", err)
	}
	if _, err := parse(t, "--url", "http://localhost:8000"); err == nil {
		t.Fatal("--url without credentials accepted")
	}
}

func TestCommandLeavesSecretsOut(t *testing.T) {
	c, err := parse(t, "--url", "http://h:1", "--api-token", "k:s3cret", "-admin-password=pw", "--docs", "10")
	if err != nil {
		t.Fatal(err)
	}
	got := c.command()
	if strings.Contains(got, "s3cret") || strings.Contains(got, "pw") || !strings.Contains(got, "--docs 10") {
		t.Fatalf("command %q", got)
	}
}
