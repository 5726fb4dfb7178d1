package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsAreContiguous(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 1 << 20, 1<<20 + 12345, 1 << 40, 1<<63 + 5, 1<<64 - 1} {
		i := bucketOf(v)
		if i >= nBuckets {
			t.Fatalf("bucketOf(%d) = %d, beyond %d buckets", v, i, nBuckets)
		}
		if lo := lowOf(i); lo > v || (i+1 < nBuckets && lowOf(i+1) <= v) {
			t.Errorf("%d in bucket %d of [%d, %d)", v, i, lo, lowOf(i+1))
		}
	}
	for i := 1; i < nBuckets; i++ {
		if lowOf(i) <= lowOf(i-1) {
			t.Fatalf("bucket %d starts at %d, bucket %d at %d", i, lowOf(i), i-1, lowOf(i-1))
		}
	}
}

func TestQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h, other := newHistogram(), newHistogram()
	var all []time.Duration
	for i := range 100000 {
		d := time.Duration(rng.ExpFloat64() * float64(3*time.Millisecond))
		all = append(all, d)
		if i%2 == 0 {
			h.record(d)
		} else {
			other.record(d)
		}
	}
	h.merge(other)
	slices.Sort(all)
	if h.n != uint64(len(all)) || h.min != all[0] || h.max != all[len(all)-1] {
		t.Fatalf("n %d min %s max %s, want %d %s %s", h.n, h.min, h.max, len(all), all[0], all[len(all)-1])
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		exact := all[int(q*float64(len(all)))-1]
		got := h.quantile(q)
		if diff := float64(got-exact) / float64(exact); diff > 0.01 || diff < -0.01 {
			t.Errorf("quantile %v = %s, exact %s", q, got, exact)
		}
	}
	if newHistogram().quantile(0.5) != 0 {
		t.Error("an empty histogram has a median")
	}
}
