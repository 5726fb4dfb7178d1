package main

import (
	"context"
	"path/filepath"
	"runtime"
	"runtime/debug"
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

// gogc reads the GOGC the runtime uses.
func gogc() uint64 {
	p, _ := runtimeUint("/gc/gogc:percent")
	return p
}

// TestPaceFollowsTheLiveHeap paces this test process: with 200 MiB kept
// live GOGC comes down to what keeps the heap within the budget (156),
// and once that memory is free it goes back up to gcMaxPercent, each
// after a collection.
func TestPaceFollowsTheLiveHeap(t *testing.T) {
	if _, ok := liveHeap(); !ok {
		t.Fatal("the runtime does not report /gc/heap/live:bytes")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		runtime.GC() // runs the armed cleanup, which sees ctx ended
		debug.SetGCPercent(100)
	})
	pace(ctx)
	waitGOGC := func(want func(uint64) bool, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !want(gogc()) {
			if time.Now().After(deadline) {
				live, _ := liveHeap()
				t.Fatalf("GOGC %d with %d MiB live, want %s", gogc(), live>>20, what)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond) // the cleanup runs after the collection, on its own goroutine
		}
	}
	keep := make([][]byte, 200)
	for i := range keep {
		keep[i] = make([]byte, 1<<20)
	}
	waitGOGC(func(p uint64) bool {
		live, _ := liveHeap()
		return p == uint64(gcPercentFor(live, gcBudget)) && p < gcMaxPercent
	}, "gcPercentFor(live) below the maximum")
	runtime.KeepAlive(keep)
	keep = nil
	waitGOGC(func(p uint64) bool { return p == gcMaxPercent }, "the maximum again")
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
