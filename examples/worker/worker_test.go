package main

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"docket/api/apitest"
)

// startWorker builds (once) and starts this program as a real separate
// process connected to the node's NATS, and waits until it serves.
func startWorker(t *testing.T, bin, natsURL, id string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--nats-url", natsURL, "--id", id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if !strings.Contains(line, "serving") {
			t.Fatalf("worker %s: %q", id, line)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s not serving after 60s", id)
	}
}

func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// TestWorkerServesMethodsOverHTTP starts a docket node and two worker
// processes, and calls the workers' methods over HTTP as a Frappe client
// would.
func TestWorkerServesMethodsOverHTTP(t *testing.T) {
	bin := buildWorker(t)
	n := apitest.StartWith(t, "", apitest.Options{NATSListen: true})
	startWorker(t, bin, n.NATSURL, "worker-a")
	startWorker(t, bin, n.NATSURL, "worker-b")
	admin := n.Admin(t)

	t.Run("a guest-allowed method, called by Guest", func(t *testing.T) {
		var out struct{ Message map[string]any }
		n.Client(t).Do(t, "GET", "/api/method/worker.hello?name=Ada", nil, 200, &out)
		if out.Message["greeting"] != "Hello, Ada" {
			t.Fatalf("message %v", out.Message)
		}
	})

	t.Run("a POST commits what the method wrote", func(t *testing.T) {
		var out struct {
			Message        string
			ServerMessages string `json:"_server_messages"`
		}
		admin.Do(t, "POST", "/api/method/worker.add_todo", map[string]any{"description": "from a worker", "note": "worker note"}, 200, &out)
		var doc struct{ Data map[string]any }
		admin.Do(t, "GET", "/api/resource/ToDo/"+out.Message, nil, 200, &doc)
		if doc.Data["description"] != "from a worker" || doc.Data["owner"] != "Administrator" {
			t.Fatalf("ToDo written by the worker: %v", doc.Data)
		}
		if !strings.Contains(out.ServerMessages, "added by worker-") {
			t.Fatalf("msgprint did not reach the client: %q", out.ServerMessages)
		}
	})

	t.Run("a failing call writes nothing, a GET writes nothing", func(t *testing.T) {
		before, _ := n.Log.LastSeq(context.Background())
		admin.Do(t, "POST", "/api/method/worker.add_todo", map[string]any{"description": "doomed", "note": "doomed", "fail": 1}, 500, nil)
		var e struct {
			ExcType string `json:"exc_type"`
		}
		admin.Do(t, "GET", "/api/method/worker.add_todo?description=on+a+GET", nil, 403, &e)
		if e.ExcType != "PermissionError" {
			t.Fatalf("GET write: %s", e.ExcType)
		}
		after, _ := n.Log.LastSeq(context.Background())
		if after != before {
			t.Fatalf("the log grew from %d to %d", before, after)
		}
		var count struct{ Message int }
		admin.Do(t, "GET", "/api/method/frappe.client.get_count?doctype=Note&filters="+url.QueryEscape(`{"title":"doomed"}`), nil, 200, &count)
		if count.Message != 0 {
			t.Fatalf("%d doomed Notes", count.Message)
		}
	})

	t.Run("two processes serving one method both get calls", func(t *testing.T) {
		seen := map[string]int{}
		for i := 0; i < 60 && len(seen) < 2; i++ {
			var out struct{ Message string }
			admin.Do(t, "GET", "/api/method/worker.whoami", nil, 200, &out)
			seen[out.Message]++
		}
		if seen["worker-a"] == 0 || seen["worker-b"] == 0 {
			t.Fatalf("calls per worker: %v", seen)
		}
	})

	t.Run("an unknown method is 404, a guest on a logged-in method 403", func(t *testing.T) {
		admin.Do(t, "GET", "/api/method/worker.nothing", nil, 404, nil)
		n.Client(t).Do(t, "GET", "/api/method/worker.whoami", nil, 403, nil)
	})
}

func TestRunRejectsBadFlags(t *testing.T) {
	err := run(context.Background(), []string{"--nope"}, func(string) string { return "" }, os.Stdout)
	if err == nil {
		t.Fatal("unknown flag accepted")
	}
	err = run(context.Background(), []string{"--nats-url", "nats://127.0.0.1:1"}, func(string) string { return "" }, os.Stdout)
	if err == nil {
		t.Fatal("connected to nothing")
	}
}
