package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"docket/eventlog"
	"docket/methods"
	"docket/projections"
	"docket/projections/audit"
)

// errVerifyFailed: verify found something wrong (the report says what).
var errVerifyFailed = errors.New("verification failed")

// sourceFlags say where the log is: a stopped node's data directory, or
// a running cluster's NATS.
type sourceFlags struct {
	data, natsURL, natsToken string
	dataSet                  bool
}

func (s *sourceFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	data := getenv("DOCKET_DATA")
	if data == "" {
		data = "./data"
	}
	fs.StringVar(&s.data, "data", data, "data directory of a stopped node (its log in DIR/nats, its projections in DIR/pebble); env DOCKET_DATA")
	fs.StringVar(&s.natsURL, "nats-url", "", "read the log of a running node or cluster at this NATS URL instead of --data")
	fs.StringVar(&s.natsToken, "nats-token", getenv("DOCKET_NATS_TOKEN"), "the token NATS asks for (serve's --nats-token); env DOCKET_NATS_TOKEN")
}

// parse parses a command's flags, and checks the source flags.
func (s *sourceFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { s.dataSet = s.dataSet || f.Name == "data" })
	if s.dataSet && s.natsURL != "" {
		return errors.New("--data and --nats-url exclude each other")
	}
	return nil
}

// source is an open log, and for a data directory its read model opened
// read-only (nil when the directory has none).
type source struct {
	log     *eventlog.Log
	store   *projections.Store
	closers []func()
}

func (s *source) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// openSource opens the log the flags name. For a data directory it opens
// the projections read-only first: Pebble's lock tells that no node runs
// on the directory, before an embedded NATS server (with no client port)
// is started on its log, and holds the lock until close.
func openSource(ctx context.Context, f sourceFlags, cacheSize int64) (_ *source, err error) {
	src := &source{}
	defer func() {
		if err != nil {
			src.close()
		}
	}()
	var nc *nats.Conn
	if f.natsURL != "" {
		if nc, err = dialNATS(f.natsURL, f.natsToken, "docket audit"); err != nil {
			return nil, err
		}
		src.closers = append(src.closers, nc.Close)
	} else {
		pebbleDir, natsDir := filepath.Join(f.data, "pebble"), filepath.Join(f.data, "nats")
		if _, err := os.Stat(natsDir); err != nil {
			return nil, fmt.Errorf("no log in %s: %w", natsDir, err)
		}
		if _, err := os.Stat(pebbleDir); err == nil {
			src.store, err = projections.Open(pebbleDir, projections.Options{ReadOnly: true, CacheSize: cacheSize})
			if err != nil {
				return nil, fmt.Errorf("%w (is docket serving from %s? stop it, or use --nats-url)", err, f.data)
			}
			src.closers = append(src.closers, func() { src.store.Close() })
		}
		ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: natsDir})
		if err != nil {
			return nil, err
		}
		src.closers = append(src.closers, func() { ns.Shutdown(); ns.WaitForShutdown() })
		if nc, err = eventlog.ConnectInProcess(ns, "docket audit"); err != nil {
			return nil, err
		}
		src.closers = append(src.closers, nc.Close)
	}
	if src.log, err = eventlog.Open(ctx, nc, eventlog.Options{ReadOnly: true}); err != nil {
		return nil, err
	}
	src.closers = append(src.closers, src.log.Close)
	return src, nil
}

// dialNATS connects to a running node's or cluster's NATS.
func dialNATS(url, token, name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name)}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", url, err)
	}
	return nc, nil
}

// verifyCommand is docket verify.
func verifyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		src                    sourceFlags
		pebbleDir, apiURL, tmp string
		apiToken               string
		maxDiffs               int
		fs                     = flag.NewFlagSet("verify", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	src.register(fs, getenv)
	fs.StringVar(&pebbleDir, "pebble", "", "projections to compare key by key with a rebuild (a stopped node's DIR/pebble or a copy); default DIR/pebble with --data")
	fs.StringVar(&apiURL, "api-url", "", "with --nats-url: the HTTP address of the node whose projections to compare by digest, e.g. http://localhost:8000")
	fs.StringVar(&apiToken, "api-token", getenv("DOCKET_API_TOKEN"), "a System Manager's API key and secret (key:secret) for --api-url; env DOCKET_API_TOKEN")
	fs.StringVar(&tmp, "tmp", "", "directory for the rebuild (as large as the projections); default the system's temporary directory")
	fs.IntVar(&maxDiffs, "max-differences", 100, "list at most this many differing keys (all are counted)")
	if err := src.parse(fs, args); err != nil {
		return err
	}
	if apiURL != "" && (src.natsURL == "" || pebbleDir != "") {
		return errors.New("--api-url goes with --nats-url, and not with --pebble")
	}
	s, err := openSource(ctx, src, 32<<20)
	if err != nil {
		return err
	}
	defer s.close()
	opts := audit.Options{Live: s.store, TempDir: tmp, MaxDifferences: maxDiffs}
	same := s.store != nil && filepath.Clean(pebbleDir) == filepath.Join(src.data, "pebble")
	if pebbleDir != "" && !same { // DIR/pebble, if any, stays open: its lock keeps a node off DIR
		live, err := projections.Open(pebbleDir, projections.Options{ReadOnly: true, CacheSize: 32 << 20})
		if err != nil {
			return fmt.Errorf("%w (is a node using it?)", err)
		}
		defer live.Close()
		opts.Live = live
	}
	if apiURL != "" {
		opts.Digest = func(ctx context.Context) (*projections.Digest, error) { return fetchDigest(ctx, apiURL, apiToken) }
	}
	r, err := audit.Verify(ctx, s.log, opts)
	if err != nil {
		return err
	}
	if err := r.Write(stdout); err != nil {
		return err
	}
	if !r.OK() {
		return errVerifyFailed
	}
	return nil
}

// fetchDigest asks a node for its projections digest (docket.audit.digest).
func fetchDigest(ctx context.Context, base, token string) (*projections.Digest, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(base, "/")+"/api/method/"+methods.DigestMethod, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		if !strings.Contains(token, " ") {
			token = "token " + token
		}
		req.Header.Set("Authorization", token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		if len(body) > 300 {
			body = body[:300]
		}
		return nil, fmt.Errorf("%s: %s: %s", req.URL, resp.Status, body)
	}
	var out struct{ Message *projections.Digest }
	if err := json.Unmarshal(body, &out); err != nil || out.Message == nil {
		return nil, fmt.Errorf("%s: not a digest: %v", req.URL, err)
	}
	return out.Message, nil
}

// replayCommand is docket replay.
func replayCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		src          sourceFlags
		f            audit.Filter
		since, until string
		sinceSeq     uint64
		untilSeq     uint64
		fs           = flag.NewFlagSet("replay", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	src.register(fs, getenv)
	fs.StringVar(&f.DocType, "doctype", "", "only documents of this DocType")
	fs.StringVar(&f.Name, "name", "", "only documents of this name")
	fs.StringVar(&f.User, "user", "", "only events this user made")
	fs.Uint64Var(&sinceSeq, "since-seq", 0, "from this stream sequence on")
	fs.Uint64Var(&untilSeq, "until-seq", 0, "up to this stream sequence")
	fs.StringVar(&since, "since", "", "from this time on: RFC 3339, or YYYY-MM-DD HH:MM:SS in the local time zone")
	fs.StringVar(&until, "until", "", "up to this time (inclusive): RFC 3339, or YYYY-MM-DD HH:MM:SS in the local time zone")
	if err := src.parse(fs, args); err != nil {
		return err
	}
	f.SinceSeq, f.UntilSeq = eventlog.Seq(sinceSeq), eventlog.Seq(untilSeq)
	var err error
	if since != "" {
		if f.Since, err = audit.ParseTime(since, time.Local); err != nil {
			return err
		}
	}
	if until != "" {
		if f.Until, err = audit.ParseTime(until, time.Local); err != nil {
			return err
		}
	}
	s, err := openSource(ctx, src, 1<<20)
	if err != nil {
		return err
	}
	defer s.close()
	_, err = audit.Replay(ctx, s.log, f, stdout)
	return err
}
