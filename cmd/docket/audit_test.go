package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"docket/api/apitest"
	"docket/eventlog"
	"docket/projections/projectionstest"
)

// docket runs a command as main does and returns its output.
func docket(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, args, func(string) string { return "" }, &out, &errOut)
	return out.String(), err
}

// replaySeqs runs docket replay and returns the sequences it printed.
func replaySeqs(t *testing.T, args ...string) []eventlog.Seq {
	t.Helper()
	out, err := docket(t, append([]string{"replay"}, args...)...)
	if err != nil {
		t.Fatalf("replay %v: %v", args, err)
	}
	var seqs []eventlog.Seq
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev struct {
			Seq     eventlog.Seq
			Subject string
			Version int
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Subject == "" || ev.Version == 0 {
			t.Fatalf("replay %v: line %s: %v", args, line, err)
		}
		seqs = append(seqs, ev.Seq)
	}
	return seqs
}

// TestVerifyAndReplay runs the real commands on a node's data
// directory, stopped, then running: a clean history verifies, replay
// filters return exactly their events, a forged message in the stream
// and a value changed in Pebble are each reported precisely and fail.
func TestVerifyAndReplay(t *testing.T) {
	dir := t.TempDir()
	n := apitest.Start(t, dir)
	admin := n.Admin(t)
	head := func(doctype, name string) eventlog.Seq {
		h, err := n.Store.Head(doctype, name)
		if err != nil || h.Seq == 0 {
			t.Fatalf("head of %s %s: %+v, %v", doctype, name, h, err)
		}
		return h.Seq
	}
	insert := func(doctype string, doc map[string]any) (string, eventlog.Seq) {
		var out struct{ Data map[string]any }
		admin.Do(t, "POST", "/api/resource/"+doctype, doc, 200, &out)
		name := out.Data["name"].(string)
		return name, head(doctype, name)
	}
	a, a1 := insert("ToDo", map[string]any{"description": "first"})
	b, b1 := insert("ToDo", map[string]any{"description": "second"})
	_, n1 := insert("Note", map[string]any{"title": "a note"})
	mid := time.Now()
	time.Sleep(2 * time.Millisecond) // event times are microseconds apart
	admin.Do(t, "PUT", "/api/resource/ToDo/"+a, map[string]any{"description": "first, changed"}, 200, nil)
	a2 := head("ToDo", a)
	admin.Do(t, "DELETE", "/api/resource/ToDo/"+b, nil, 202, nil)
	b2 := head("ToDo", b)
	checkpoint := n.Store.Applied()
	n.Stop()

	out, err := docket(t, "verify", "--data", dir)
	if err != nil || !strings.HasSuffix(out, fmt.Sprintf("every chain intact\nprojections: equal to a rebuild at seq %d (compared key by key)\nOK\n", checkpoint)) {
		t.Fatalf("verify of a clean directory: %v\n%s", err, out)
	}
	if out, err := docket(t, "verify", "--data", dir, "--pebble", filepath.Join(dir, "pebble")); err != nil {
		t.Fatalf("verify --pebble of the directory's own store: %v\n%s", err, out)
	}

	for _, c := range []struct {
		args []string
		want []eventlog.Seq
	}{
		{[]string{"--doctype", "ToDo", "--name", a}, []eventlog.Seq{a1, a2}},
		{[]string{"--doctype", "ToDo"}, []eventlog.Seq{a1, b1, a2, b2}},
		{[]string{"--name", b}, []eventlog.Seq{b1, b2}},
		{[]string{"--doctype", "Note"}, []eventlog.Seq{n1}},
		{[]string{"--doctype", "ToDo", "--since", mid.Format(time.RFC3339Nano)}, []eventlog.Seq{a2, b2}},
		{[]string{"--doctype", "ToDo", "--until", mid.Format(time.DateTime + ".000000")}, []eventlog.Seq{a1, b1}},
		{[]string{"--since-seq", fmt.Sprint(b1), "--until-seq", fmt.Sprint(a2), "--user", "Administrator"}, []eventlog.Seq{b1, n1, a2}},
		{[]string{"--doctype", "ToDo", "--user", "nobody@example.com"}, nil},
	} {
		if got := replaySeqs(t, append([]string{"--data", dir}, c.args...)...); !slices.Equal(got, c.want) {
			t.Errorf("replay %v = %v, want %v", c.args, got, c.want)
		}
	}

	// Forge version 3 of ToDo a, chained to version 1, straight into the
	// stream; change the Note's title in Pebble.
	forged := forgeVersion(t, dir, "ToDo", a, a1)
	noteName := noteOf(t, dir, n1)
	projectionstest.SetFieldInDir(t, filepath.Join(dir, "pebble"), "Note", noteName, "title", "forged")
	out, err = docket(t, "verify", "--data", dir)
	if !errors.Is(err, errVerifyFailed) {
		t.Fatalf("verify of a tampered directory: %v\n%s", err, out)
	}
	want := []string{
		fmt.Sprintf("seq %d %s version 3: prev_seq is %d, the previous version is at seq %d; prev is ", forged, eventlog.DocSubject("ToDo", a), a1, a2),
		fmt.Sprintf(`document Note %q: field title: live "forged", rebuilt "a note"`, noteName),
	}
	lines := strings.Split(out, "\n")
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Fatalf("line %d: %q, want %q…\n%s", i+1, lines[i], w, out)
		}
	}
	if !strings.Contains(out, "; 1 problem\nprojections: 1 difference from a rebuild at seq") || !strings.HasSuffix(out, "FAILED\n") {
		t.Fatalf("summary:\n%s", out)
	}

	// A running node: --data is refused (its Pebble is locked); over NATS
	// with its digest, the same two findings.
	n = apitest.StartWith(t, dir, apitest.Options{NATSListen: true})
	if _, err := docket(t, "verify", "--data", dir); err == nil || !strings.Contains(err.Error(), "is docket serving") {
		t.Fatalf("verify --data of a running node: %v", err)
	}
	out, err = docket(t, "verify", "--nats-url", n.NATSURL, "--api-url", n.URL, "--api-token", n.AdminToken)
	if !errors.Is(err, errVerifyFailed) || !strings.HasPrefix(out, fmt.Sprintf("seq %d %s version 3: ", forged, eventlog.DocSubject("ToDo", a))) ||
		!strings.Contains(out, "\ndocuments of Note: 1 key on the node, 1 rebuilt, contents differ\n") ||
		!strings.Contains(out, "(compared by digest)") {
		t.Fatalf("verify over NATS: %v\n%s", err, out)
	}
	if got := replaySeqs(t, "--nats-url", n.NATSURL, "--doctype", "ToDo", "--name", a); !slices.Equal(got, []eventlog.Seq{a1, a2, forged}) {
		t.Fatalf("replay over NATS: %v", got)
	}
	if _, err := docket(t, "verify", "--nats-url", n.NATSURL, "--api-url", n.URL); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("digest without a token: %v", err)
	}
}

// forgeVersion publishes, on a stopped node's log, the next version of a
// document chained to the version at seq instead of the last one, and
// returns its sequence.
func forgeVersion(t *testing.T, dir, doctype, name string, seq eventlog.Seq) eventlog.Seq {
	t.Helper()
	ctx := context.Background()
	lg, close := stoppedLog(t, dir)
	defer close()
	subject := eventlog.DocSubject(doctype, name)
	last, err := lg.Head(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	base, err := lg.Get(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eventlog.DecodeEvent(last.Data)
	if err != nil {
		t.Fatal(err)
	}
	ev.ID, ev.Type, ev.User, ev.Version = eventlog.NewID(), eventlog.Update, "mallory", ev.Version+1
	ev.Doc["description"] = "forged"
	ev.Prev, ev.PrevSeq = eventlog.Hash(base.Data), seq
	data, err := eventlog.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := lg.JetStream().PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return eventlog.Seq(ack.Sequence)
}

// noteOf returns the name of the document whose event is at seq, read
// with docket replay.
func noteOf(t *testing.T, dir string, seq eventlog.Seq) string {
	t.Helper()
	out, err := docket(t, "replay", "--data", dir, "--since-seq", fmt.Sprint(seq), "--until-seq", fmt.Sprint(seq))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Name string }
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return ev.Name
}

// TestReplayWithANATSToken reads a server that asks for a token, and is
// refused without it.
func TestReplayWithANATSToken(t *testing.T) {
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := eventlog.ConnectInProcess(ns, "writer", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	lg, err := eventlog.Open(context.Background(), nc, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ev := &eventlog.Event{Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Insert, DocType: "ToDo", Name: "t",
		Version: 1, Doc: map[string]any{"name": "t"}, User: "Administrator", Time: 1, Tx: eventlog.NewID()}
	w, err := eventlog.EventWrite(ev, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Append(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if got := replaySeqs(t, "--nats-url", ns.ClientURL(), "--nats-token", "s3cret"); !slices.Equal(got, []eventlog.Seq{1}) {
		t.Fatalf("replay = %v", got)
	}
	if _, err := docket(t, "replay", "--nats-url", ns.ClientURL()); err == nil {
		t.Fatal("replay without the token succeeded")
	}
	if _, err := docket(t, "replay", "--nats-url", ns.ClientURL(), "--data", "x"); err == nil {
		t.Fatal("--data with --nats-url accepted")
	}
	if _, err := docket(t, "replay", "--data", "x", "--since", "yesterday"); err == nil {
		t.Fatal("a bad time accepted")
	}
}
