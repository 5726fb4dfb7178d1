package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

// TestExternalNATS runs two docket processes on an external NATS
// cluster of three servers that ask for a token (here in the test's own
// process, reached over TCP like any NATS): the stream and buckets get
// three replicas, and a write through one node reads through the other.
func TestExternalNATS(t *testing.T) {
	const token = "ext-nats-token"
	ports := eventlogtest.FreePorts(t, 6)
	var routes, urls []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i]))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	for i := range 3 {
		s, err := eventlog.StartServer(eventlog.ServerOptions{
			StoreDir: t.TempDir(), Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Token: token,
			ServerName: fmt.Sprintf("ext%d", i+1), ClusterName: "ext",
			ClusterListen: fmt.Sprintf("127.0.0.1:%d", ports[3+i]), Routes: routes,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	}
	root := t.TempDir()
	var nodes []*proc
	for _, name := range []string{"a", "b"} {
		p := newProc(t, name, filepath.Join(root, name), "--nats-url", strings.Join(urls, ","), "--nats-token", token)
		p.start()
		nodes = append(nodes, p)
	}
	for _, p := range nodes {
		p.waitReady(90 * time.Second)
	}
	auth := adminToken(t, nodes[0].URL)
	c := newClient(auth)
	status, body, header, err := c.do("POST", nodes[0].URL+"/api/resource/ToDo", `{"description":"through a"}`)
	if err != nil || status != 200 {
		t.Fatalf("write through a: %d %v %v", status, body, err)
	}
	name := body["data"].(map[string]any)["name"].(string)
	status, body, _, err = c.do("GET", nodes[1].URL+"/api/resource/ToDo/"+name, "",
		"X-Docket-Min-Seq", strconv.FormatUint(seqHeader(header), 10))
	if err != nil || status != 200 || body["data"].(map[string]any)["description"] != "through a" {
		t.Fatalf("read through b: %d %v %v", status, body, err)
	}

	nc, err := nats.Connect(urls[2], nats.Token(token))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{eventlog.StreamName, "KV_docket_sessions", "KV_docket_secrets", "KV_docket_oauth", "OBJ_docket_files"} {
		st, err := js.Stream(context.Background(), s)
		if err != nil || st.CachedInfo().Config.Replicas != 3 {
			t.Errorf("stream %s: %v (%v)", s, err, st)
		}
	}
	for _, p := range nodes {
		p.stop()
	}
}
