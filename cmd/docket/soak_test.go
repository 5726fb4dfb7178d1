package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestSoak is the long fault test, run only when DOCKET_SOAK names a
// duration:
//
//	DOCKET_SOAK=10m go test ./cmd/docket -run TestSoak -timeout 0 -v
//
// A three-node cluster takes a load of 64 clients (each reading every
// fourth write back through another node) while, cycle after cycle, a
// random node is killed (SIGKILL, or every third cycle stopped with
// SIGTERM, and every fourth its read model deleted while it is down),
// writes go on through the two others, and it is started again and
// catches up. At the end every acknowledged write is on every node
// exactly once, the three answer the same and their read models are
// identical.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("DOCKET_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set DOCKET_SOAK to a duration (e.g. 10m) to run the soak test")
	}
	nodes := startCluster(t)
	auth := adminToken(t, nodes[0].URL)
	c := newClient(auth)
	var mu sync.Mutex
	down := -1
	targets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var urls []string
		for i, n := range nodes {
			if i != down {
				urls = append(urls, n.URL)
			}
		}
		return urls
	}
	ld := startLoad(auth, 64, targets, true)
	end := time.Now().Add(d)
	for cycle := 1; time.Now().Before(end); cycle++ {
		ld.waitAcked(t, 200, 90*time.Second)
		i := rand.IntN(3)
		n := nodes[i]
		mu.Lock()
		down = i
		mu.Unlock()
		how := "killed"
		if cycle%3 == 0 {
			how = "stopped"
			n.stop()
		} else {
			n.kill()
		}
		ld.waitAcked(t, 200, 90*time.Second)
		if cycle%4 == 0 {
			how += ", read model deleted,"
			if err := os.RemoveAll(filepath.Join(n.dir, "pebble")); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		n.start()
		n.waitReady(120 * time.Second)
		ld.mu.Lock()
		target := ld.maxSeq
		ld.mu.Unlock()
		waitSeq(t, c, n.URL, target)
		mu.Lock()
		down = -1
		mu.Unlock()
		t.Logf("cycle %d: %s %s, back at %d in %s; %d writes acknowledged, %d failed, %d cross-node reads (%d missed)",
			cycle, n.name, how, target, time.Since(start).Round(time.Millisecond), ld.n.Load(), ld.failed.Load(),
			ld.crossReads.Load(), ld.crossMissed.Load())
	}
	ld.end()
	verifyCluster(t, c, nodes, ld)
}

// BenchmarkWrites measures acknowledged document inserts per second
// under 64 clients, on a single node and on a three-node cluster (the
// clients spread over its nodes), all processes on this machine:
//
//	go test ./cmd/docket -run '^$' -bench Writes -benchtime 5000x
func BenchmarkWrites(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		p, auth := startSingle(b)
		benchWrites(b, auth, []string{p.URL})
	})
	b.Run("cluster3", func(b *testing.B) {
		nodes := startCluster(b)
		auth := adminToken(b, nodes[0].URL)
		benchWrites(b, auth, []string{nodes[0].URL, nodes[1].URL, nodes[2].URL})
	})
}

func benchWrites(b *testing.B, auth string, urls []string) {
	b.ResetTimer()
	start := time.Now()
	ld := startLoad(auth, 64, func() []string { return urls }, false)
	ld.waitAcked(b, int64(b.N), 10*time.Minute)
	took := time.Since(start)
	ld.end()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/took.Seconds(), "docs/s")
	if f := ld.failed.Load(); f > 0 {
		b.Errorf("%d writes failed", f)
	}
}
