package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is what a run measures, and how. ParseFlags fills it from the
// command line; the zero value is not meant to be used.
type Config struct {
	// URL targets a running server instead of starting one; APIToken
	// ("key:secret") or AdminUser and AdminPassword authenticate a System
	// Manager there. PID, when set, is the server's process, whose memory
	// is read from /proc.
	URL, APIToken, AdminUser, AdminPassword string
	PID                                     int

	Docs, Clients, LoadClients int
	Duration, Warmup           time.Duration
	CeilingDuration            time.Duration
	// Only selects operations (names of Ops); empty is all.
	Only []string
	// Ceilings: measure the raw ceilings the operations compare with.
	Ceilings bool
	JSON     bool
	// CPUProfile, when set, receives a CPU profile of the timed
	// operations (after the load; ceilings excluded).
	CPUProfile string
	// Tmp is where temporary directories are made; Keep keeps the
	// server's.
	Tmp  string
	Keep bool
	// Settle waits after the load until the server's Pebble has finished
	// compacting (an in-process server only).
	Settle bool
	Seed   uint64
	// DocType names the benchmark DocType.
	DocType string
	// Args are the arguments the run was given, for the report.
	Args []string
}

// Ops are the operation names --only accepts, in the order they are
// reported.
var Ops = []string{"load", "create1", "create", "get", "update", "newest", "filtered", "count", "count1", "rebuild", "restart", "memory"}

const usage = `usage: docket bench [flags]

Measures docket over HTTP: it starts a fresh server in a temporary directory,
in this process, as docket serve does (or targets --url), creates a bench user
with an API key and a ToDo-shaped DocType, loads --docs documents with
frappe.client.insert_many, then runs each operation for --duration at
--clients concurrent keep-alive clients (in this process: they share the cores
with the server). It also measures raw JetStream and Pebble ceilings in the
same run and prints each result as a ratio to its ceiling.

Operations (--only): load, create1 (1 client), create, get, update (one
field), newest (list newest 20), filtered (2 equalities + order, 20 rows),
count (1 indexed equality), count1 (the same, 1 client: its latency), rebuild (delete the projections, restart,
events/s until caught up), restart (to the first answer, projections
intact), memory (resident set).

Flags:`

// ParseFlags parses the bench command's flags.
func ParseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Config{Args: args}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.URL, "url", "", "measure the docket server at this URL (http://host:port) instead of starting one; rebuild and restart need a server of its own")
	fs.StringVar(&c.APIToken, "api-token", getenv("DOCKET_API_TOKEN"), "with --url: API key:secret of a System Manager; env DOCKET_API_TOKEN")
	fs.StringVar(&c.AdminUser, "admin-user", "Administrator", "with --url and no --api-token: the user to log in as")
	fs.StringVar(&c.AdminPassword, "admin-password", getenv("DOCKET_ADMIN_PASSWORD"), "with --url and no --api-token: its password; env DOCKET_ADMIN_PASSWORD")
	fs.IntVar(&c.PID, "pid", 0, "with --url: the server's process id, to read its memory from /proc/PID/status")
	fs.IntVar(&c.Docs, "docs", 100000, "documents to load before the timed operations")
	fs.IntVar(&c.Clients, "clients", 64, "concurrent HTTP clients of each operation (create1 has 1)")
	fs.IntVar(&c.LoadClients, "load-clients", 8, "concurrent insert_many clients of the load")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long each operation is measured")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "how long each operation runs before it is measured")
	fs.DurationVar(&c.CeilingDuration, "ceiling-duration", 0, "how long each ceiling is measured (default: half of --duration, at least 1s)")
	only := fs.String("only", "", "comma-separated operations to run (default all): "+strings.Join(Ops, ","))
	fs.BoolVar(&c.Ceilings, "ceilings", true, "measure the raw JetStream and Pebble ceilings the operations compare with")
	quick := fs.Bool("quick", false, "a short run that shows the program works: 5,000 documents, 2s per operation, 0.5s warm-up, 1s per ceiling (flags given explicitly win)")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed operations (load and ceilings excluded) to this file")
	fs.StringVar(&c.Tmp, "tmp", os.TempDir(), "where temporary directories go (use a disk, not tmpfs: fsync costs are the point)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the server's temporary directory")
	fs.BoolVar(&c.Settle, "settle", true, "after the load, wait (up to 5 minutes) until the in-process server's Pebble has finished compacting, so that the operations do not share the CPU with the load's compactions")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the generated data and of the requests' choices")
	fs.StringVar(&c.DocType, "doctype", "Bench ToDo", "name of the benchmark DocType")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		for name, v := range map[string]string{"docs": "5000", "duration": "2s", "warmup": "500ms", "ceiling-duration": "1s"} {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return c, err
				}
			}
		}
	}
	if c.CeilingDuration <= 0 {
		c.CeilingDuration = max(c.Duration/2, time.Second)
	}
	if *only != "" {
		for _, o := range strings.Split(*only, ",") {
			o = strings.TrimSpace(o)
			if !slices.Contains(Ops, o) {
				return c, fmt.Errorf("--only: unknown operation %q (known: %s)", o, strings.Join(Ops, ","))
			}
			c.Only = append(c.Only, o)
		}
	}
	switch {
	case c.Docs < 1:
		return c, errors.New("--docs must be at least 1")
	case c.Clients < 1 || c.LoadClients < 1:
		return c, errors.New("--clients and --load-clients must be at least 1")
	case c.Duration <= 0:
		return c, errors.New("--duration must be positive")
	case c.URL == "" && c.PID != 0:
		return c, errors.New("--pid goes with --url (in-process, the memory is this process's)")
	case c.URL != "" && c.APIToken == "" && c.AdminPassword == "":
		return c, errors.New("--url needs --api-token or --admin-password (a System Manager's)")
	}
	return c, nil
}

// selected reports whether the run includes operation name.
func (c Config) selected(name string) bool { return len(c.Only) == 0 || slices.Contains(c.Only, name) }

// command is the run's command line, for the report, with secrets
// left out.
func (c Config) command() string {
	parts := []string{"docket", "bench"}
	secret := false
	for _, a := range c.Args {
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case secret:
			a, secret = "…", false
		case strings.HasPrefix(a, "-") && (name == "api-token" || name == "admin-password"):
			if hasValue {
				a = a[:strings.Index(a, "=")+1] + "…"
			} else {
				secret = true
			}
		case strings.ContainsAny(a, " \t\"'"):
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
