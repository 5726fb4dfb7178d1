package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one docket measurement.
type Result struct {
	Op      string `json:"op"`
	Title   string `json:"title"`
	Clients int    `json:"clients,omitempty"`
	// Count is what was measured: operations that succeeded (documents
	// for load, events for rebuild, 1 for restart and memory).
	Count     int64   `json:"count"`
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second,omitempty"`
	P50ms     float64 `json:"p50_ms,omitempty"`
	P99ms     float64 `json:"p99_ms,omitempty"`
	Maxms     float64 `json:"max_ms,omitempty"`
	// CPUCores is the CPU this process used per second of wall time: the
	// server's and the clients' together when the server runs in-process.
	CPUCores float64 `json:"cpu_cores,omitempty"`
	// Bytes is the resident memory of the memory row.
	Bytes int64 `json:"bytes,omitempty"`
	// Ceiling is the key of the raw ceiling compared with, Ratio the
	// result's rate divided by the ceiling's.
	Ceiling          string  `json:"ceiling,omitempty"`
	CeilingPerSecond float64 `json:"ceiling_per_second,omitempty"`
	Ratio            float64 `json:"ratio,omitempty"`
	// Skipped says why an operation was not measured.
	Skipped    string `json:"skipped,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	Note       string `json:"note,omitempty"`
}

func newResult(name, title string, clients int, s sample) Result {
	r := Result{Op: name, Title: title, Clients: clients, Count: s.ops, Errors: s.errors,
		Seconds: s.elapsed.Seconds(), PerSecond: s.rate()}
	if s.hist != nil && s.hist.n > 0 {
		r.P50ms, r.P99ms, r.Maxms = ms(s.hist.quantile(0.5)), ms(s.hist.quantile(0.99)), ms(s.hist.max)
	}
	if s.elapsed > 0 {
		r.CPUCores = s.cpu.Seconds() / s.elapsed.Seconds()
	}
	if s.firstErr != nil {
		r.FirstError = s.firstErr.Error()
	}
	return r
}

// compare sets the result's ceiling: the slowest of those named that
// were measured.
func (r *Result) compare(ceilings []Ceiling, keys ...string) {
	for _, c := range ceilings {
		for _, k := range keys {
			if c.Key == k && c.PerSecond > 0 && (r.Ceiling == "" || c.PerSecond < r.CeilingPerSecond) {
				r.Ceiling, r.CeilingPerSecond = c.Key, c.PerSecond
			}
		}
	}
	if r.CeilingPerSecond > 0 {
		r.Ratio = r.PerSecond / r.CeilingPerSecond
	}
}

// Report is a whole run.
type Report struct {
	Command string  `json:"command"`
	Machine Machine `json:"machine"`
	Target  string  `json:"target"`
	// InProcess: the server ran in this process, so the CPU figures are
	// the server's and the clients' together; otherwise the clients' only.
	InProcess       bool   `json:"in_process"`
	Docs            int    `json:"docs"`
	Clients         int    `json:"clients"`
	LoadClients     int    `json:"load_clients"`
	Duration        string `json:"duration"`
	Warmup          string `json:"warmup"`
	CeilingDuration string `json:"ceiling_duration"`
	Seed            uint64 `json:"seed"`
	// Settled says how long the load's compactions ran on before the
	// operations (--settle).
	Settled string `json:"settled,omitempty"`
	DocType string `json:"doctype,omitempty"`
	// CPUProbes tell how much of the machine the run had at its start,
	// before the docket measurements and at its end.
	CPUProbes []Probe   `json:"cpu_probes"`
	Ceilings  []Ceiling `json:"ceilings"`
	Results   []Result  `json:"results"`
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeTable writes the report for people: the machine, the ceilings,
// then docket's results with their ratios.
func (r *Report) writeTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "docket bench: %s\n", r.Command)
	fmt.Fprintf(&b, "machine: %s\n", r.Machine)
	fmt.Fprintf(&b, "target: %s\n", r.Target)
	if len(r.CPUProbes) > 0 {
		var ps []string
		for _, p := range r.CPUProbes {
			ps = append(ps, fmt.Sprintf("%s %.2f", p.When, p.Cores))
		}
		fmt.Fprintf(&b, "cpu probe (cores obtained spinning on %d): %s\n", r.Machine.GOMAXPROCS, strings.Join(ps, ", "))
	}
	fmt.Fprintf(&b, "run: %d documents of %q (loaded by %d clients); each operation %s after a %s warm-up, %d clients unless said; ceilings %s each; seed %d\n",
		r.Docs, r.DocType, r.LoadClients, r.Duration, r.Warmup, r.Clients, r.CeilingDuration, r.Seed)
	if r.Settled != "" {
		fmt.Fprintf(&b, "settle: %s\n", r.Settled)
	}
	if len(r.Ceilings) > 0 {
		b.WriteString("\nceilings (raw JetStream and Pebble in this process, no docket code)\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "key\tmeasurement\tcount\tper second\tp50\tp99\tmax\tcpu\t")
		for _, c := range r.Ceilings {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%.2f\t\n", c.Key, c.Title, c.Count, rate(c.PerSecond),
				msText(c.P50ms), msText(c.P99ms), msText(c.Maxms), c.CPUCores)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if r.InProcess {
		b.WriteString("\ndocket (HTTP over loopback; the clients share this process and its cores with the server; cpu: cores the process used)\n")
	} else {
		b.WriteString("\ndocket (HTTP; cpu: cores this client process used)\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "op\toperation\tclients\tcount\tresult\tp50\tp99\tmax\terrors\tcpu\tvs ceiling\t")
	for _, x := range r.Results {
		if x.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\tskipped: %s\t\t\t\t\t\t\t\n", x.Op, x.Title, x.Skipped)
			continue
		}
		vs := ""
		if x.Ratio > 0 {
			vs = fmt.Sprintf("%.2f × %s", x.Ratio, x.Ceiling)
		}
		clients := ""
		if x.Clients > 0 {
			clients = fmt.Sprint(x.Clients)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%.2f\t%s\t\n", x.Op, x.Title, clients, x.Count, x.resultText(),
			msText(x.P50ms), msText(x.P99ms), msText(x.Maxms), x.Errors, x.CPUCores, vs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, x := range r.Results {
		if x.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s: %s", x.Op, x.Note))
		}
		if x.FirstError != "" {
			notes = append(notes, fmt.Sprintf("  %s: first error: %s", x.Op, x.FirstError))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// resultText is the row's headline figure.
func (r Result) resultText() string {
	switch r.Op {
	case "restart":
		return fmt.Sprintf("ready in %s", seconds(r.Seconds))
	case "memory":
		return fmt.Sprintf("RSS %.0f MiB", float64(r.Bytes)/(1<<20))
	case "rebuild":
		return rate(r.PerSecond) + " events/s"
	case "load":
		return rate(r.PerSecond) + " docs/s"
	}
	return rate(r.PerSecond) + "/s"
}

func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func msText(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
