package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/eventlog/eventlogtest"
)

// clusterArgs are the serve flags of node i (0-based) of a three-node
// embedded cluster whose route ports are ports: the flags
// docker-compose.yml gives its nodes too (TestComposeFile checks).
func clusterArgs(i int, ports []int) []string {
	routes := make([]string, len(ports))
	for j, p := range ports {
		routes[j] = fmt.Sprintf("nats-route://127.0.0.1:%d", p)
	}
	return []string{
		"--server-name", fmt.Sprintf("n%d", i+1),
		"--cluster-name", "docket",
		"--cluster-listen", fmt.Sprintf("127.0.0.1:%d", ports[i]),
		"--routes", strings.Join(routes, ","),
	}
}

// startCluster starts three docket processes forming one cluster and
// waits until each answers.
func startCluster(t testing.TB) []*proc {
	t.Helper()
	ports := eventlogtest.FreePorts(t, 3)
	root := t.TempDir()
	nodes := make([]*proc, 3)
	for i := range nodes {
		name := fmt.Sprintf("n%d", i+1)
		nodes[i] = newProc(t, name, filepath.Join(root, name), clusterArgs(i, ports)...)
		nodes[i].start()
	}
	start := time.Now()
	for _, n := range nodes {
		n.waitReady(90 * time.Second)
	}
	t.Logf("three nodes ready in %s", time.Since(start).Round(time.Millisecond))
	return nodes
}

// TestClusterNodeLoss runs three docket processes as one cluster under a
// load of 64 clients, each writing through one node and reading every
// fourth write back through another (naming the write's sequence). One
// node is killed (SIGKILL): writes and reads go on through the others and
// no acknowledged write is lost. The killed node restarts and catches
// up: in the end all three answer the same, their read models are
// identical, and every acknowledged write is in them exactly once.
func TestClusterNodeLoss(t *testing.T) {
	nodes := startCluster(t)
	auth := adminToken(t, nodes[0].URL)
	c := newClient(auth)

	var mu sync.Mutex
	alive := []string{nodes[0].URL, nodes[1].URL, nodes[2].URL}
	targets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return alive
	}
	ld := startLoad(auth, 64, targets, true)
	ld.waitAcked(t, 300, 60*time.Second)

	nodes[2].kill()
	killed := time.Now()
	mu.Lock()
	alive = []string{nodes[0].URL, nodes[1].URL}
	mu.Unlock()
	before := ld.n.Load()
	ld.waitAcked(t, 1, 60*time.Second)
	t.Logf("killed n3 after %d writes; first write acknowledged by the others %s later", before,
		time.Since(killed).Round(time.Millisecond))
	// The others' read models go on too (a projector whose consumer was on
	// n3 recreates it).
	ld.mu.Lock()
	after := ld.maxSeq
	ld.mu.Unlock()
	for _, n := range nodes[:2] {
		waitSeq(t, c, n.URL, after)
	}
	t.Logf("n1 and n2 applied that write %s after the kill", time.Since(killed).Round(time.Millisecond))
	ld.waitAcked(t, 300, 90*time.Second)
	t.Logf("%d writes through the others in %s after the kill", ld.n.Load()-before, time.Since(killed).Round(time.Millisecond))

	restarted := time.Now()
	nodes[2].start()
	ready := nodes[2].waitReady(90 * time.Second)
	ld.mu.Lock()
	target := ld.maxSeq
	ld.mu.Unlock()
	caughtUp := waitSeq(t, c, nodes[2].URL, target)
	t.Logf("n3 restarted: answering in %s, at sequence %d (the others' newest write) %s after its restart",
		ready.Round(time.Millisecond), target, caughtUp.Sub(restarted).Round(time.Millisecond))
	mu.Lock()
	alive = []string{nodes[0].URL, nodes[1].URL, nodes[2].URL}
	mu.Unlock()
	ld.waitAcked(t, 200, 60*time.Second)
	ld.end()

	verifyCluster(t, c, nodes, ld)
}

// verifyCluster checks a cluster after a load: no read of a write through
// another node missed it; every node reaches the newest sequence any of
// them applied, holds every acknowledged write exactly once and answers
// the same; and once stopped, the nodes' read models are identical.
func verifyCluster(t *testing.T, c *client, nodes []*proc, ld *load) {
	t.Helper()
	t.Logf("reads of a write through another node with X-Docket-Min-Seq: %d, %d missed, %d answered 5xx (that node behind, or timed out)",
		ld.crossReads.Load(), ld.crossMissed.Load(), ld.crossUnavailable.Load())
	for _, m := range ld.missed {
		t.Errorf("read-your-write through another node failed: %s", m)
	}
	for _, m := range ld.unavailable {
		t.Logf("read through another node unavailable: %s", m)
	}
	last := uint64(0)
	for _, n := range nodes {
		last = max(last, seqHeader(ping(t, c, n.URL)))
	}
	answers := map[string]map[string][]string{}
	for _, n := range nodes {
		waitSeq(t, c, n.URL, last)
		answers[n.name] = todos(t, c, n.URL, last)
		t.Run("exactly once through "+n.name, func(t *testing.T) { ld.checkExactlyOnce(t, answers[n.name]) })
	}
	sameAnswers(t, "the ToDo list", answers)
	for _, n := range nodes {
		n.stop()
	}
	first := dumpPebble(t, filepath.Join(nodes[0].dir, "pebble"))
	for _, n := range nodes[1:] {
		compareDumps(t, "n1's read model", first, n.name+"'s", dumpPebble(t, filepath.Join(n.dir, "pebble")))
	}
}

// TestClusterNodeStopsWithoutMajority kills two of three nodes: the last
// cannot write any more, but SIGTERM still stops it, promptly (its
// projector's consumer is being recreated in a loop no majority ends).
func TestClusterNodeStopsWithoutMajority(t *testing.T) {
	nodes := startCluster(t)
	nodes[1].kill()
	nodes[2].kill()
	// NATS says so once its Raft groups miss their peers for 10 s; by
	// then the projector has noticed the loss of its consumer (if it was
	// on a killed node) and tries to recreate it.
	nodes[0].waitLog(t, "has NO quorum", 60*time.Second)
	start := time.Now()
	nodes[0].stop()
	t.Logf("the last node stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// ping calls /api/method/ping and returns the answer's header.
func ping(t testing.TB, c *client, base string, header ...string) map[string][]string {
	t.Helper()
	status, _, h, err := c.do("GET", base+"/api/method/ping", "", header...)
	if err != nil || status != 200 {
		t.Fatalf("ping %s: %d %v", base, status, err)
	}
	return h
}

// waitSeq waits until a node's projections reach seq (asking with
// X-Docket-Min-Seq, which waits on the node's side) and returns when.
func waitSeq(t testing.TB, c *client, base string, seq uint64) time.Time {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		status, _, _, err := c.do("GET", base+"/api/method/ping", "", "X-Docket-Min-Seq", strconv.FormatUint(seq, 10))
		if err == nil && status == 200 {
			return time.Now()
		}
		if err != nil || status != 503 { // 503: not there within the node's bound; ask again
			t.Fatalf("waiting for %s to reach %d: %d %v", base, seq, status, err)
		}
	}
	t.Fatalf("%s did not reach sequence %d", base, seq)
	return time.Time{}
}
