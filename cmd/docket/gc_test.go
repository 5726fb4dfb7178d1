package main

import (
	"path/filepath"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, gcMaxPercent},
		{60 << 20, gcMaxPercent},     // small heap: 4× live is under the budget
		{gcBudget / 4, gcMaxPercent}, // exactly 4× live
		{gcBudget / 2, gcMinPercent}, // 2× live is the budget: Go's default
		{gcBudget * 2 / 5, 150},      // 2.5× live is the budget
		{4 * gcBudget, gcMinPercent}, // a heap over the budget: never below Go's default
	} {
		if got := gcPercentFor(tc.live, gcBudget); got != tc.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", tc.live>>20, got, tc.want)
		}
	}
}

// TestGCPercent: a docket process paces its garbage collector (a new
// server's small heap: gcMaxPercent) unless GOGC says otherwise
// (go_gc_gogc_percent in /metrics shows what the runtime uses).
func TestGCPercent(t *testing.T) {
	for _, tc := range []struct {
		gogc string
		want float64
	}{{"", gcMaxPercent}, {"150", 150}} {
		t.Run("GOGC="+tc.gogc, func(t *testing.T) {
			p := newProc(t, "gc", filepath.Join(t.TempDir(), "gc"))
			p.env = []string{"GOGC=" + tc.gogc}
			p.start()
			p.waitReady(60 * time.Second)
			status, body := getText(t, p.URL+"/metrics", "Authorization", adminToken(t, p.URL))
			if status != 200 {
				t.Fatalf("/metrics: %d %s", status, body)
			}
			if got := sample(body, "go_gc_gogc_percent"); got != tc.want {
				t.Errorf("go_gc_gogc_percent = %v, want %v", got, tc.want)
			}
			p.stop()
		})
	}
}
