package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveFlag is a flag of docket serve as its usage prints it.
type serveFlag struct{ name, kind, def string }

// serveFlags reads docket serve's flags, their kinds and defaults from
// its usage (docket serve -h), with an empty environment.
func serveFlags(t *testing.T) map[string]serveFlag {
	t.Helper()
	var out bytes.Buffer
	_, err := parseServeFlags([]string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h: %v", err)
	}
	flags := map[string]serveFlag{}
	head := regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	def := regexp.MustCompile(`\(default (.*)\)$`)
	var cur *serveFlag
	for line := range strings.Lines(out.String()) {
		line = strings.TrimRight(line, "\n")
		if m := head.FindStringSubmatch(line); m != nil {
			kind := m[2]
			if kind == "" {
				kind = "bool"
			}
			flags[m[1]] = serveFlag{name: m[1], kind: kind}
			f := flags[m[1]]
			cur = &f
			continue
		}
		if cur == nil {
			continue
		}
		if m := def.FindStringSubmatch(line); m != nil {
			v := m[1]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			cur.def = v
			flags[cur.name] = *cur
		}
	}
	if len(flags) < 10 {
		t.Fatalf("read %d flags from\n%s", len(flags), out.String())
	}
	return flags
}

// flagsTable reads the README's table of serve's flags: for each flag
// named in the first column, the rest of its row.
func flagsTable(t *testing.T) map[string][]string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Flags\n")
	if !ok {
		t.Fatal("README has no ## Flags section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string][]string{}
	name := regexp.MustCompile("^`--([a-z0-9-]+)[ `]")
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 6 || !strings.HasPrefix(line, "|") {
			continue
		}
		cells = cells[1 : len(cells)-1]
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if m := name.FindStringSubmatch(cells[0]); m != nil {
			if _, dup := rows[m[1]]; dup {
				t.Errorf("README lists --%s twice", m[1])
			}
			rows[m[1]] = cells
		}
	}
	return rows
}

// TestFlagsTable: the README's table lists every flag of docket serve,
// and only those, each with its environment variable and its default.
func TestFlagsTable(t *testing.T) {
	flags, rows := serveFlags(t), flagsTable(t)
	for name, f := range flags {
		row, ok := rows[name]
		if !ok {
			t.Errorf("README's Flags table does not list --%s (default %q)", name, f.def)
			continue
		}
		if env := envName(name); !strings.Contains(row[1], "`"+env+"`") {
			t.Errorf("README: --%s: environment %q, want `%s`", name, row[1], env)
		}
		if got := strings.Trim(row[2], "`"); !sameDefault(f, got) {
			t.Errorf("README: --%s: default %q, the flag's is %q", name, row[2], f.def)
		}
	}
	for name := range rows {
		if _, ok := flags[name]; !ok {
			t.Errorf("README's Flags table lists --%s, which docket serve does not have", name)
		}
	}
}

// sameDefault tells whether the README's way of writing a default is
// the flag's default.
func sameDefault(f serveFlag, readme string) bool {
	if strings.HasPrefix(readme, "empty") { // "empty", or "empty: what it then means"
		return f.def == ""
	}
	switch {
	case readme == "on":
		readme = "true"
	case readme == "off":
		readme = "false"
	}
	def := f.def
	if def == "" {
		switch f.kind {
		case "bool":
			def = "false"
		case "int", "uint", "int64", "uint64", "float":
			def = "0"
		}
	}
	if f.kind == "duration" {
		a, err1 := time.ParseDuration(def)
		b, err2 := time.ParseDuration(readme)
		return err1 == nil && err2 == nil && a == b
	}
	return def == readme
}

// TestFlagsFromEnvironment: every flag is read from DOCKET_<NAME>; the
// command line wins; a bad value names its variable.
func TestFlagsFromEnvironment(t *testing.T) {
	env := map[string]string{"DOCKET_MAX_BODY": "1234", "DOCKET_COLLECT_FILES_EVERY": "5m", "DOCKET_READY_MAX_LAG": "10s",
		"DOCKET_METRICS": "off", "DOCKET_SHUTDOWN_TIMEOUT": "3s", "DOCKET_HTTP": ":9000", "DOCKET_TRUST_PROXY": "true"}
	c, err := parseServeFlags([]string{"--http", ":7000"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxBody != 1234 || c.CollectEvery != 5*time.Minute || c.Ops.ReadyMaxLag.Time != 10*time.Second ||
		c.Ops.Metrics != "off" || c.Ops.ShutdownTimeout != 3*time.Second || !c.TrustProxy || c.HTTP != ":7000" {
		t.Errorf("config %+v", c)
	}
	env = map[string]string{"DOCKET_MAX_BODY": "lots"}
	if _, err := parseServeFlags(nil, func(k string) string { return env[k] }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "DOCKET_MAX_BODY") {
		t.Errorf("a bad DOCKET_MAX_BODY: %v", err)
	}
	for _, v := range []string{"0", "-1"} {
		env = map[string]string{"DOCKET_CACHE_SIZE": v}
		if _, err := parseServeFlags(nil, func(k string) string { return env[k] }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--cache-size") {
			t.Errorf("DOCKET_CACHE_SIZE=%s: %v, want refused", v, err)
		}
	}
}
