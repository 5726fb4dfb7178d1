package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"docket/api"
	"docket/api/apitest"
	"docket/eventlog/eventlogtest"
)

// Benchmarks of the HTTP API on one node (real NATS with fsync before
// ack, real Pebble, real loopback HTTP), with the raw JetStream publish
// rate measured in the same process as the baseline. Run:
//
//	go test ./api -run '^$' -bench . -benchtime 3s
//
// docs/benchmarks.md records results as ratios to the baseline.

func benchNode(b *testing.B, docs int) (*apitest.Node, []string) {
	b.Helper()
	n := apitest.Start(b, "")
	c := n.Admin(b)
	names := make([]string, 0, docs)
	for i := range docs {
		var e struct{ Data map[string]any }
		c.Do(b, "POST", "/api/resource/ToDo", map[string]any{
			"description": fmt.Sprintf("todo %d", i), "status": []string{"Open", "Closed"}[i%2],
			"priority": []string{"High", "Medium", "Low"}[i%3], "allocated_to": "Administrator",
		}, 200, &e)
		names = append(names, e.Data["name"].(string))
	}
	return n, names
}

func httpGet(b *testing.B, client *http.Client, url, token string) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", token)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
}

func parallelClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

// BenchmarkRawPublish is the baseline: sync-always JetStream publishes of
// ~300-byte messages to distinct subjects from 64 goroutines, no docket
// code involved.
func BenchmarkRawPublish(b *testing.B) {
	env := eventlogtest.Start(b, "")
	js := env.Log.JetStream()
	payload := bytes.Repeat([]byte("x"), 300)
	var i atomic.Int64
	b.SetParallelism(32) // 32 × GOMAXPROCS(2) = 64 publishers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := nats.NewMsg(fmt.Sprintf("docs.Bench.%d", i.Add(1)))
			m.Data = payload
			if _, err := js.PublishMsg(b.Context(), m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreate creates ToDos over HTTP from 64 concurrent clients.
func BenchmarkCreate(b *testing.B) {
	n, _ := benchNode(b, 0)
	client := parallelClient()
	body := []byte(`{"description":"benchmark","priority":"High","status":"Open"}`)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", n.URL+"/api/resource/ToDo", bytes.NewReader(body))
			req.Header.Set("Authorization", n.AdminToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("create: %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkGet reads documents by name from 64 concurrent clients.
func BenchmarkGet(b *testing.B) {
	n, names := benchNode(b, 2000)
	client := parallelClient()
	var i atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			httpGet(b, client, n.URL+"/api/resource/ToDo/"+names[int(i.Add(1))%len(names)], n.AdminToken)
		}
	})
}

// BenchmarkListNewest20 lists the 20 most recently modified ToDos.
func BenchmarkListNewest20(b *testing.B) {
	n, _ := benchNode(b, 2000)
	client := parallelClient()
	url := n.URL + "/api/resource/ToDo?fields=" + q(`["name","description","status"]`) + "&order_by=modified%20desc&limit=20"
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			httpGet(b, client, url, n.AdminToken)
		}
	})
}

// BenchmarkFilteredList lists 20 ToDos by two equalities ordered by
// another field.
func BenchmarkFilteredList(b *testing.B) {
	n, _ := benchNode(b, 2000)
	client := parallelClient()
	url := n.URL + "/api/resource/ToDo?fields=" + q(`["name","description"]`) +
		"&filters=" + q(`[["status","=","Open"],["priority","=","High"]]`) + "&order_by=modified%20desc&limit=20"
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			httpGet(b, client, url, n.AdminToken)
		}
	})
}

// BenchmarkCount counts with one indexed equality (answered from a
// counter).
func BenchmarkCount(b *testing.B) {
	n, _ := benchNode(b, 2000)
	client := parallelClient()
	url := n.URL + "/api/method/frappe.client.get_count?doctype=ToDo&filters=" + q(`{"status":"Open"}`)
	b.ResetTimer()
	for range b.N {
		httpGet(b, client, url, n.AdminToken)
	}
}

// benchUser adds a System User with roles and returns its token.
func benchUser(b *testing.B, n *apitest.Node, email string, roles ...string) string {
	var rs []any
	for _, r := range roles {
		rs = append(rs, map[string]any{"role": r})
	}
	n.Admin(b).Do(b, "POST", "/api/resource/User", map[string]any{"email": email, "first_name": "Bench", "roles": rs}, 200, nil)
	return n.NewToken(b, email)
}

// BenchmarkGetAsUser is BenchmarkGet as a System Manager who is not the
// Administrator: every request loads the user's roles and User
// Permissions and checks the document.
func BenchmarkGetAsUser(b *testing.B) {
	n, names := benchNode(b, 2000)
	token := benchUser(b, n, "manager@example.com", "System Manager")
	client := parallelClient()
	var i atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			httpGet(b, client, n.URL+"/api/resource/ToDo/"+names[int(i.Add(1))%len(names)], token)
		}
	})
}

// BenchmarkListRestricted lists the 20 newest ToDos of a user without
// roles, who may read only the tenth of 2,000 ToDos allocated to it: the
// permission predicate filters the ordered scan.
func BenchmarkListRestricted(b *testing.B) {
	n := apitest.Start(b, "")
	token := benchUser(b, n, "worker@example.com")
	c := n.Admin(b)
	for i := range 2000 {
		to := "Administrator"
		if i%10 == 0 {
			to = "worker@example.com"
		}
		c.Do(b, "POST", "/api/resource/ToDo", map[string]any{"description": fmt.Sprintf("todo %d", i), "allocated_to": to}, 200, nil)
	}
	client := parallelClient()
	url := n.URL + "/api/resource/ToDo?fields=" + q(`["name","description","status"]`) + "&order_by=modified%20desc&limit=20"
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			httpGet(b, client, url, token)
		}
	})
}

// BenchmarkUpload50MiB uploads 50 MiB files over HTTP into the default
// (JetStream Object Store) blob store and reports the peak growth of the
// live heap (as each garbage collection finds it) while it runs: uploads
// stream, so it stays far below the file size. The embedded NATS server
// shares the process and counts too.
func BenchmarkUpload50MiB(b *testing.B) {
	size := benchUploadSize()
	n := apitest.StartWith(b, "", apitest.Options{API: api.Options{MaxFileSize: int64(size) + 1<<20}})
	admin := n.Admin(b)
	content := randomBytes(b, size)
	runtime.GC()
	base := liveHeap()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if h := liveHeap(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for i := range b.N {
		content[0] = byte(i) // a new content each time: no dedup
		uploaded(b, admin, fmt.Sprintf("big-%d.bin", i), content)
	}
	b.StopTimer()
	close(stop)
	<-done
	growth := float64(0)
	if p := peak.Load(); p > base {
		growth = float64(p - base)
	}
	b.ReportMetric(growth/(1<<20), "peak-heap-MiB")
}

// liveHeap is the live heap as the last garbage collection found it.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// benchUploadSize is the upload size of BenchmarkUpload50MiB: 50 MiB, or
// DOCKET_BENCH_UPLOAD_MIB to see how the peak grows with the size.
func benchUploadSize() int {
	if v, err := strconv.Atoi(os.Getenv("DOCKET_BENCH_UPLOAD_MIB")); err == nil && v > 0 {
		return v << 20
	}
	return 50 << 20
}
