package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"docket/cmd/docket/internal/bench"
)

// TestBenchQuickMeasuresEveryOperation runs docket bench --quick (a
// fresh in-process server, the raw ceilings, every operation) and checks
// each operation and ceiling was measured. It asserts no time: the
// figures belong in docs/benchmarks.md, from a real run.
func TestBenchQuickMeasuresEveryOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("a benchmark run of about half a minute")
	}
	var out bytes.Buffer
	stderr := io.Discard
	if testing.Verbose() {
		stderr = os.Stderr
	}
	err := run(context.Background(), []string{"bench", "--quick", "--json", "--tmp", t.TempDir()},
		func(string) string { return "" }, &out, stderr)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	got := map[string]bench.Result{}
	for _, r := range rep.Results {
		got[r.Op] = r
	}
	for _, op := range bench.Ops {
		r, ok := got[op]
		switch {
		case !ok:
			t.Errorf("%s: not reported", op)
		case r.Skipped != "":
			t.Errorf("%s: skipped: %s", op, r.Skipped)
		case r.Count == 0:
			t.Errorf("%s: nothing measured (first error: %s)", op, r.FirstError)
		}
	}
	if !strings.Contains(rep.Settled, "compactions after the load finished") {
		t.Errorf("settle: %q, want the load's compactions waited for", rep.Settled)
	}
	if len(rep.Ceilings) == 0 {
		t.Error("no ceilings")
	}
	for _, c := range rep.Ceilings {
		if c.Count == 0 || c.PerSecond == 0 {
			t.Errorf("ceiling %s: nothing measured", c.Key)
		}
	}
	for _, op := range []string{"create", "get", "rebuild"} {
		if got[op].Ratio == 0 {
			t.Errorf("%s: no ratio to its ceiling", op)
		}
	}
}
