package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The garbage collector's pacing. Go's default (GOGC=100) lets the heap
// grow to twice what is live before a collection. docket allocates much
// per request (decoded documents, JSON) while its live heap stays small
// (Pebble's block cache is not on the Go heap), so it lets the heap grow
// to four times what is live (GOGC=300) as long as that stays within
// gcBudget, and lowers GOGC as the live heap grows, never below Go's
// default: reads at 100k documents ran 20-50% faster, and the peak
// memory at 1M documents stayed under 1.5 GiB (docs/benchmarks.md).
// Setting GOGC turns the pacing off.
const (
	gcBudget     = 512 << 20 // the heap size the pacing keeps to while it can
	gcMaxPercent = 300
	gcMinPercent = 100
	gcEvery      = time.Second
)

// gcPercentFor is the GOGC that lets a heap with live bytes in use grow
// to budget, within [gcMinPercent, gcMaxPercent].
func gcPercentFor(live, budget uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	p := int(budget*100/live) - 100
	return min(max(p, gcMinPercent), gcMaxPercent)
}

// paceGC sets GOGC from the live heap every gcEvery until ctx ends,
// unless the environment sets GOGC.
func paceGC(ctx context.Context) {
	if os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := -1
	set := func() {
		metrics.Read(sample)
		var live uint64
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = sample[0].Value.Uint64()
		}
		if p := gcPercentFor(live, gcBudget); p != current {
			debug.SetGCPercent(p)
			current = p
		}
	}
	set()
	go repeat(ctx, gcEvery, set)
}
