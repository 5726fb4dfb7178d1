package bench

import (
	"math/bits"
	"time"
)

// A histogram counts durations in log-linear buckets, as an HDR histogram
// does: values below 2^subBits nanoseconds exactly, larger ones in
// buckets 1/2^subBits of their size wide (under 1 % error), in constant
// memory whatever the run's length. The minimum and maximum are exact.
type histogram struct {
	counts   []uint64
	n        uint64
	sum      time.Duration
	min, max time.Duration
}

const (
	subBits  = 7
	subCount = 1 << subBits
	nBuckets = (64 - subBits + 1) * subCount
)

func newHistogram() *histogram { return &histogram{counts: make([]uint64, nBuckets)} }

// bucketOf is the index of v's bucket.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// lowOf is the smallest value of bucket i.
func lowOf(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	g := i / subCount
	return uint64(i%subCount+subCount) << (g - 1)
}

// record counts one duration.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile is the duration at or below which a fraction q of the
// recorded ones lie: the middle of its bucket, within the exact minimum
// and maximum. It is 0 for an empty histogram.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			mid := time.Duration(lowOf(i) + (lowOf(i+1)-lowOf(i))/2)
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max
}

// mean is the average duration.
func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
