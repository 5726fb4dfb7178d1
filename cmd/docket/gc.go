package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The garbage collector's pacing. Go's default (GOGC=100) lets the heap
// grow to twice what is live before a collection. docket allocates much
// per request (decoded documents, JSON) while its live heap stays small
// (in a cgo build Pebble's block cache is not on the Go heap), so after
// every collection it sets GOGC so that the heap may grow to gcBudget:
// 300 (four times what is live) while the live heap is under a quarter
// of the budget, less as it grows, Go's default from half the budget on.
// Reads at 100k documents ran 20-50% faster, and the peak memory at 1M
// documents stayed under 1.5 GiB (docs/benchmarks.md). Setting GOGC turns
// the pacing off.
const (
	gcBudget     = 512 << 20
	gcMaxPercent = 300
	gcMinPercent = 100
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

// liveHeap returns the heap the last collection found live (0 before the
// first); ok is false when the runtime does not report it.
func liveHeap() (live uint64, ok bool) {
	return runtimeUint("/gc/heap/live:bytes")
}

// runtimeUint reads a runtime metric of kind uint64.
func runtimeUint(name string) (uint64, bool) {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return s[0].Value.Uint64(), true
}

// paceGC sets GOGC from the live heap now and after every collection
// until ctx ends, unless the environment sets GOGC.
func paceGC(ctx context.Context) {
	if os.Getenv("GOGC") != "" {
		return
	}
	pace(ctx)
}

// pace sets GOGC, then arms itself to run again after the next
// collection: the cleanup of an object nothing references runs once a
// collection has found it unreachable.
func pace(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if live, ok := liveHeap(); ok { // else Go's own pacing stays
		debug.SetGCPercent(gcPercentFor(live, gcBudget))
	}
	runtime.AddCleanup(new(gcSentinel), pace, ctx)
}

// gcSentinel holds a pointer, so that it is not a tiny allocation (those
// share a block, and their cleanups may wait for the block's neighbours).
type gcSentinel struct{ _ *byte }
