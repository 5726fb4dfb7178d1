package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"time"
)

// Launch starts a docket node whose data lives in dir as docket serve
// does (same code, default options), creating the Administrator with
// adminPassword on a first start, and returns once it answers HTTP.
type Launch func(ctx context.Context, dir, adminPassword string) (*Node, error)

// Node is a running docket node.
type Node struct {
	// URL is its HTTP address, http://host:port.
	URL string
	// Projections is the directory of its read model, deleted for a
	// rebuild.
	Projections string
	// CaughtUpSeq is the log sequence its projections had applied before
	// it answered anything, and CatchUp how long catching up took.
	CaughtUpSeq uint64
	CatchUp     time.Duration
	// Stop stops the node and waits until it has shut down.
	Stop func() error
	// Settle, if set, waits until the node's Pebble has no compaction
	// running or owed.
	Settle func(context.Context) error
}

// Run runs a benchmark and writes the report to stdout, and progress to
// stderr. launch is needed unless cfg.URL is set.
func Run(ctx context.Context, cfg Config, launch Launch, stdout, stderr io.Writer) error {
	if cfg.URL == "" && launch == nil {
		return errors.New("bench: no server to start and no --url")
	}
	r := &runner{cfg: cfg, launch: launch, stderr: stderr, results: map[string]Result{}}
	if err := r.run(ctx); err != nil {
		return err
	}
	if cfg.JSON {
		return r.report.writeJSON(stdout)
	}
	return r.report.writeTable(stdout)
}

type runner struct {
	cfg     Config
	launch  Launch
	stderr  io.Writer
	report  Report
	results map[string]Result

	dir, password string
	node          *Node
	s             *session
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.stderr, "bench: "+format+"\n", args...)
}

func (r *runner) run(ctx context.Context) (err error) {
	cfg := r.cfg
	r.report = Report{Command: cfg.command(), Machine: describeMachine(cfg.Tmp), Docs: cfg.Docs,
		Clients: cfg.Clients, LoadClients: cfg.LoadClients, Duration: cfg.Duration.String(),
		Warmup: cfg.Warmup.String(), CeilingDuration: cfg.CeilingDuration.String(), Seed: cfg.Seed}
	r.report.Target = "a fresh server in this process (docket serve's code and defaults: fsync before every acknowledgement)"
	r.report.InProcess = cfg.URL == ""
	if cfg.URL != "" {
		r.report.Target = "the server at " + cfg.URL
	}
	r.logf("%s", r.report.Machine)
	r.probe("start")

	if plan := r.ceilingPlan(); cfg.Ceilings && len(plan.need) > 0 {
		r.logf("measuring the raw ceilings, %s each", cfg.CeilingDuration)
		if r.report.Ceilings, err = runCeilings(ctx, plan, r.logf); err != nil {
			return err
		}
	}

	r.probe("before docket")
	base := cfg.URL
	if base == "" {
		if base, err = r.start(ctx); err != nil {
			return err
		}
		defer func() {
			if serr := r.stop(); err == nil {
				err = serr
			}
			if cfg.Keep {
				r.logf("kept the server's directory %s", r.dir)
			} else if rerr := os.RemoveAll(r.dir); err == nil {
				err = rerr
			}
		}()
	}
	admin := newClient(base, tokenHeader(cfg.APIToken), 4)
	if err := login(ctx, admin, cfg.AdminUser, r.adminPassword()); err != nil {
		return fmt.Errorf("log in as the administrator: %w", err)
	}
	doctype, token, err := prepare(ctx, admin, cfg.DocType)
	if err != nil {
		return err
	}
	r.report.DocType = doctype
	c := newClient(base, token, 2*max(cfg.Clients, cfg.LoadClients))
	if err := whoAmI(ctx, c, benchUserEmail); err != nil {
		return fmt.Errorf("the bench user's API key: %w", err)
	}

	r.logf("loading %d documents with insert_many (%d per call, %d clients)", cfg.Docs, loadBatch, cfg.LoadClients)
	names, smp := load(ctx, c, doctype, cfg.Docs, cfg.LoadClients, cfg.Seed)
	if smp.firstErr != nil {
		return fmt.Errorf("load: %w", smp.firstErr)
	}
	res := newResult("load", fmt.Sprintf("load, insert_many of %d", loadBatch), cfg.LoadClients, smp)
	res.Note = fmt.Sprintf("latency per insert_many call of %d documents", loadBatch)
	res.compare(r.report.Ceilings, ceilBatch)
	r.results["load"] = res
	r.logf("loaded: %.0f docs/s", smp.rate())
	r.s = newSession(c, doctype, names)
	if cfg.Settle && r.node != nil && r.node.Settle != nil {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, maxSettle)
		err := r.node.Settle(sctx)
		cancel()
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			r.report.Settled = fmt.Sprintf("Pebble still compacting %s after the load (%v); measured anyway", took, err)
		} else {
			r.report.Settled = fmt.Sprintf("Pebble's compactions after the load finished %s later; the operations started then", took)
		}
		r.logf("%s", r.report.Settled)
	}

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// Reads first, on exactly the documents loaded; then the writes.
	for _, name := range []string{"get", "newest", "filtered", "count", "count1", "update", "create1", "create"} {
		for _, o := range ops {
			if o.name == name && cfg.selected(name) {
				r.results[name] = r.timed(ctx, o)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if cfg.selected("memory") {
		r.results["memory"] = r.memory()
	}
	if cfg.selected("restart") {
		r.results["restart"] = r.restart(ctx)
	}
	if cfg.selected("rebuild") {
		r.results["rebuild"] = r.rebuild(ctx)
	}
	r.probe("end")
	for _, name := range Ops {
		if res, ok := r.results[name]; ok {
			r.report.Results = append(r.report.Results, res)
		}
	}
	return ctx.Err()
}

// maxSettle bounds the wait for compactions after the load.
const maxSettle = 5 * time.Minute

// probe records how many cores the process obtains now.
func (r *runner) probe(when string) {
	p := probeCPU(when, 300*time.Millisecond)
	r.report.CPUProbes = append(r.report.CPUProbes, p)
	r.logf("cpu probe %s: %.2f cores", when, p.Cores)
}

// ceilingPlan lists the ceilings the selected operations compare with.
func (r *runner) ceilingPlan() ceilingPlan {
	p := ceilingPlan{need: map[string]bool{}, clients: r.cfg.Clients, loaders: r.cfg.LoadClients, docs: r.cfg.Docs,
		warm: min(r.cfg.Warmup, r.cfg.CeilingDuration/2), duration: r.cfg.CeilingDuration, tmp: r.cfg.Tmp, seed: r.cfg.Seed}
	if r.cfg.selected("load") {
		p.need[ceilBatch] = true
	}
	for _, o := range ops {
		if r.cfg.selected(o.name) {
			for _, k := range o.ceilings {
				p.need[k] = true
			}
		}
	}
	if r.cfg.selected("create") || r.cfg.selected("update") {
		p.need[ceilPebbleSync] = true // durable Pebble writes, for comparison: docket's are not
	}
	if r.cfg.selected("rebuild") && r.cfg.URL == "" {
		p.need[ceilRead], p.need[ceilBulk] = true, true
	}
	return p
}

// timed checks one answer of the operation, then measures it.
func (r *runner) timed(ctx context.Context, o op) Result {
	clients := r.cfg.Clients
	if o.oneClient {
		clients = 1
	}
	if err := o.do(ctx, r.s, mrand.New(mrand.NewPCG(r.cfg.Seed, 0)), true); err != nil {
		res := Result{Op: o.name, Title: o.title, Clients: clients, FirstError: "check before timing: " + err.Error()}
		r.logf("%s: %s", o.name, res.FirstError)
		return res
	}
	stream := uint64(len(o.name)) << 32
	for _, c := range o.name {
		stream = stream*31 + uint64(c)
	}
	smp := measure(ctx, clients, r.cfg.Warmup, r.cfg.Duration, func(i int) func(context.Context) error {
		rng := mrand.New(mrand.NewPCG(r.cfg.Seed, stream+uint64(i)+1))
		return func(ctx context.Context) error { return o.do(ctx, r.s, rng, false) }
	})
	res := newResult(o.name, o.title, clients, smp)
	res.compare(r.report.Ceilings, o.ceilings...)
	r.logf("%s: %.0f/s, p50 %s, p99 %s, %d errors", o.name, smp.rate(), msText(res.P50ms), msText(res.P99ms), smp.errors)
	return res
}

// adminPassword is the password the administrator logs in with.
func (r *runner) adminPassword() string {
	if r.cfg.URL != "" {
		return r.cfg.AdminPassword
	}
	return r.password
}

// start starts a fresh in-process server in a temporary directory.
func (r *runner) start(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp(r.cfg.Tmp, "docket-bench-*")
	if err != nil {
		return "", err
	}
	r.dir = dir
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	r.password = hex.EncodeToString(b)
	r.logf("starting a server in %s", dir)
	if r.node, err = r.launch(ctx, dir, r.password); err != nil {
		return "", fmt.Errorf("start the server: %w", err)
	}
	return r.node.URL, nil
}

// stop stops the in-process server, if it runs.
func (r *runner) stop() error {
	if r.node == nil {
		return nil
	}
	n := r.node
	r.node = nil
	return n.Stop()
}

// memory measures the resident memory of the server: this process's
// after the timed operations (in-process), or the --pid's.
func (r *runner) memory() Result {
	res := Result{Op: "memory", Title: "resident memory"}
	if r.cfg.URL != "" {
		if r.cfg.PID == 0 {
			res.Skipped = "needs --pid with --url"
			return res
		}
		m, err := readMemory(strconv.Itoa(r.cfg.PID))
		if err != nil {
			res.FirstError = err.Error()
			return res
		}
		res.Count, res.Bytes = 1, m.rss
		res.Note = fmt.Sprintf("VmRSS of process %d after the timed operations; its peak (VmHWM) %s", r.cfg.PID, mib(m.hwm))
		return res
	}
	runtime.GC()
	debug.FreeOSMemory()
	m, err := readMemory("self")
	if err != nil {
		res.FirstError = err.Error()
		return res
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.Count, res.Bytes = 1, m.rss
	res.Note = fmt.Sprintf("VmRSS of this process after the timed operations, garbage collected and freed memory returned to the OS "+
		"(the server with its NATS and Pebble, and the clients: %d document names); Go heap in use %s; "+
		"peak VmHWM of the whole run %s (ceilings included)", len(r.s.names), mib(int64(ms.HeapInuse)), mib(m.hwm))
	r.logf("memory: RSS %s", mib(m.rss))
	return res
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// restart stops the server and starts it again on its directory, and
// times the start until the first answer to an API-key request.
func (r *runner) restart(ctx context.Context) Result {
	res := Result{Op: "restart", Title: "restart to ready, projections intact"}
	if r.cfg.URL != "" {
		res.Skipped = "needs a server of its own (no --url)"
		return res
	}
	t0 := time.Now()
	if err := r.stop(); err != nil {
		res.FirstError = "stop: " + err.Error()
		return res
	}
	stopped := time.Since(t0)
	cpu0 := cpuTime()
	took, err := r.relaunch(ctx)
	if err != nil {
		res.FirstError = err.Error()
		return res
	}
	res.Count, res.Seconds = 1, took.Seconds()
	res.CPUCores = (cpuTime() - cpu0).Seconds() / took.Seconds()
	res.Note = fmt.Sprintf("from calling serve on the data directory to the first answer to an API-key request "+
		"(embedded NATS recovering a log of %d messages, Pebble opening, nothing to catch up: %s); shutting down took %s",
		r.node.CaughtUpSeq, r.node.CatchUp.Round(time.Millisecond), stopped.Round(time.Millisecond))
	if err := r.checkCount(ctx); err != nil {
		res.FirstError = err.Error()
	}
	r.logf("restart: ready in %s", took.Round(time.Millisecond))
	return res
}

// rebuild stops the server, deletes its projections and starts it: the
// projector replays the whole log before the server answers.
func (r *runner) rebuild(ctx context.Context) Result {
	res := Result{Op: "rebuild", Title: "projection rebuild"}
	if r.cfg.URL != "" {
		res.Skipped = "needs a server of its own (no --url)"
		return res
	}
	if r.node == nil {
		res.FirstError = "no server to rebuild: it did not start again after the restart"
		return res
	}
	dir := r.node.Projections
	if err := r.stop(); err != nil {
		res.FirstError = "stop: " + err.Error()
		return res
	}
	if err := os.RemoveAll(dir); err != nil {
		res.FirstError = err.Error()
		return res
	}
	syncDisk()
	cpu0 := cpuTime()
	took, err := r.relaunch(ctx)
	if err != nil {
		res.FirstError = err.Error()
		return res
	}
	n := r.node
	res.Count, res.Seconds = int64(n.CaughtUpSeq), n.CatchUp.Seconds()
	if n.CatchUp > 0 {
		res.PerSecond = float64(n.CaughtUpSeq) / n.CatchUp.Seconds()
	}
	res.CPUCores = (cpuTime() - cpu0).Seconds() / took.Seconds()
	res.Note = fmt.Sprintf("deleted the projections and started the server: it replayed %d events (documents, users, claims) "+
		"in %s and answered %s after the start", n.CaughtUpSeq, n.CatchUp.Round(time.Millisecond), took.Round(time.Millisecond))
	res.compare(r.report.Ceilings, ceilRead, ceilBulk)
	if err := r.checkCount(ctx); err != nil {
		res.FirstError = err.Error()
	}
	r.logf("rebuild: %.0f events/s", res.PerSecond)
	return res
}

// relaunch starts the server on its directory again and returns how long
// it took until an API-key request was answered.
func (r *runner) relaunch(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	n, err := r.launch(ctx, r.dir, r.password)
	if err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	r.node = n
	r.s.c.base = n.URL
	for {
		err := whoAmI(ctx, r.s.c, benchUserEmail)
		if err == nil {
			return time.Since(t0), nil
		}
		if time.Since(t0) > 5*time.Minute || ctx.Err() != nil {
			return 0, fmt.Errorf("no answer after the start: %w", err)
		}
		sleep(ctx, 2*time.Millisecond)
	}
}

// checkCount checks the server counts every document the run wrote.
func (r *runner) checkCount(ctx context.Context) error {
	var out struct {
		Message int64 `json:"message"`
	}
	path := "/api/method/frappe.client.get_count" + query("doctype", r.s.doctype)
	if err := r.s.c.do(ctx, "GET", path, nil, &out); err != nil {
		return err
	}
	if want := int64(len(r.s.names)) + r.s.created.Load(); out.Message != want {
		return fmt.Errorf("the server counts %d documents, the run wrote %d", out.Message, want)
	}
	return nil
}
