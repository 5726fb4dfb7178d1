package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"docket/api/apitest"
	"docket/eventlog"
)

// buildSubscriber builds this program, to run it as a separate process.
func buildSubscriber(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "subscriber")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// proc is one run of the subscriber: the lines it printed so far.
type proc struct {
	cmd     *exec.Cmd
	changed chan struct{} // a line came, or the process ended
	done    chan struct{} // closed when the process has ended

	mu     sync.Mutex
	lines  []Line
	bad    []string // stdout lines that are not JSON lines
	stderr bytes.Buffer
	err    error // the process's exit
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// startSubscriber starts the program with args; it is killed when the
// test ends if it still runs.
func startSubscriber(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), changed: make(chan struct{}, 1), done: make(chan struct{})}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(out)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var l Line
		p.mu.Lock()
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			p.bad = append(p.bad, sc.Text())
		} else {
			p.lines = append(p.lines, l)
		}
		p.mu.Unlock()
		p.notify()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(p.done)
	p.notify()
}

func (p *proc) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Lines returns what the process printed so far.
func (p *proc) Lines() []Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Line(nil), p.lines...)
}

// waitFor waits until ok holds for the lines printed so far; it fails the
// test when the process ends first or after a minute.
func (p *proc) waitFor(t *testing.T, what string, ok func([]Line) bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if ok(p.Lines()) {
			return
		}
		select {
		case <-p.changed:
		case <-p.done:
			if ok(p.Lines()) {
				return
			}
			t.Fatalf("subscriber ended (%v) before %s; stderr:\n%s", p.err, what, p.Stderr())
		case <-deadline:
			t.Fatalf("no %s after a minute: %d lines; stderr:\n%s", what, len(p.Lines()), p.Stderr())
		}
	}
}

// waitSeq waits until the process has printed the event at stream
// sequence seq (or a later one).
func (p *proc) waitSeq(t *testing.T, seq uint64) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("line for stream sequence %d", seq), func(ls []Line) bool {
		return len(ls) > 0 && ls[len(ls)-1].Seq >= seq
	})
}

// stop sends SIGTERM and checks that the program exits cleanly.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("subscriber still running 30s after SIGTERM; stderr:\n%s", p.Stderr())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil || len(p.bad) > 0 {
		t.Fatalf("subscriber exit %v, stray output %q; stderr:\n%s", p.err, p.bad, p.stderr.String())
	}
}

// Stderr returns what the process wrote to stderr.
func (p *proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// docEvents reads the log from the start: the events on document
// subjects whose doctype is doctype (every doctype when ""), as the
// subscriber should print them.
func docEvents(t *testing.T, n *apitest.Node, doctype string) []Line {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last, err := n.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := n.Log.Read(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []Line
	for {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(m.Subject, eventlog.DocsPrefix) {
			ev, err := eventlog.DecodeEvent(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if doctype == "" || ev.DocType == doctype {
				out = append(out, lineOf(uint64(m.Seq), ev))
			}
		}
		if m.Seq >= last {
			return out
		}
	}
}

// sameEvents fails unless got is want: every event once, in stream order.
func sameEvents(t *testing.T, got, want []Line) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("line %d: stream sequence %d after %d (a repeat, or out of order)", i, got[i].Seq, got[i-1].Seq)
		}
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Fatalf("missing %d events, the first %+v", len(want)-i, want[i])
		case i >= len(want):
			t.Fatalf("%d events too many, the first %+v", len(got)-i, got[i])
		}
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if !bytes.Equal(g, w) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func insertToDo(t *testing.T, c *apitest.Client, description string) string {
	t.Helper()
	var out struct{ Data map[string]any }
	c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": description}, 200, &out)
	return out.Data["name"].(string)
}

// TestSubscriberResumesWithoutGapsOrRepeats runs the program as a separate
// process against a docket node, stops and restarts it (between writes and
// in the middle of a backlog), and checks that together its runs printed
// every document event exactly once, in stream order.
func TestSubscriberResumesWithoutGapsOrRepeats(t *testing.T) {
	bin := buildSubscriber(t)
	n := apitest.StartWith(t, "", apitest.Options{NATSListen: true})
	admin := n.Admin(t)
	args := []string{"--nats-url", n.NATSURL, "--durable", "feed", "--verify"}

	// Some history before the first run: an insert, an update, two
	// documents in one transaction, a rename and a delete.
	todo := insertToDo(t, admin, "first")
	admin.Do(t, "PUT", "/api/resource/ToDo/"+todo, map[string]any{"description": "first, changed"}, 200, nil)
	var many struct{ Message []string }
	admin.Do(t, "POST", "/api/method/frappe.client.insert_many", map[string]any{"docs": []any{
		map[string]any{"doctype": "Note", "title": "together"}, map[string]any{"doctype": "ToDo", "description": "together"}}}, 200, &many)
	admin.Do(t, "POST", "/api/method/frappe.client.rename_doc", map[string]any{"doctype": "Note", "old_name": many.Message[0], "new_name": "renamed-note"}, 200, nil)
	admin.Do(t, "DELETE", "/api/resource/ToDo/"+todo, nil, 202, nil)

	var runs [][]Line
	p := startSubscriber(t, bin, args...)
	want := docEvents(t, n, "")
	p.waitSeq(t, want[len(want)-1].Seq)
	// A write while it runs arrives live.
	live := insertToDo(t, admin, "live")
	want = docEvents(t, n, "")
	p.waitSeq(t, want[len(want)-1].Seq)
	p.stop(t)
	runs = append(runs, p.Lines())

	// Written while no subscriber runs: the next run starts with them.
	admin.Do(t, "PUT", "/api/resource/ToDo/"+live, map[string]any{"status": "Closed"}, 200, nil)
	for i := range 40 {
		insertToDo(t, admin, fmt.Sprintf("backlog %d", i))
	}
	// Stopped in the middle of the backlog, then started again.
	p = startSubscriber(t, bin, args...)
	p.waitFor(t, "5 lines", func(ls []Line) bool { return len(ls) >= 5 })
	p.stop(t)
	runs = append(runs, p.Lines())
	p = startSubscriber(t, bin, args...)
	want = docEvents(t, n, "")
	p.waitSeq(t, want[len(want)-1].Seq)
	p.stop(t)
	runs = append(runs, p.Lines())

	var all []Line
	for _, r := range runs {
		all = append(all, r...)
	}
	sameEvents(t, all, want)
	t.Logf("lines per run: %d, %d, %d", len(runs[0]), len(runs[1]), len(runs[2]))

	t.Run("what a rename and a transaction look like", func(t *testing.T) {
		var from, to *Line
		for i := range all {
			switch {
			case all[i].RenamedFrom != "":
				from = &all[i]
			case all[i].RenamedTo != "":
				to = &all[i]
			}
		}
		if from == nil || to == nil || from.Type != "rename" || to.Type != "rename" || from.Tx != to.Tx ||
			from.Name != "renamed-note" || from.RenamedFrom != many.Message[0] || to.Name != many.Message[0] || to.RenamedTo != "renamed-note" {
			t.Fatalf("rename events: from %+v, to %+v", from, to)
		}
		var together []Line
		for _, l := range all {
			if l.Name == many.Message[0] && l.Version == 1 || l.Name == many.Message[1] {
				together = append(together, l)
			}
		}
		if len(together) != 2 || together[0].Tx != together[1].Tx || together[1].Seq != together[0].Seq+1 {
			t.Fatalf("insert_many events: %+v", together)
		}
	})

	t.Run("one doctype", func(t *testing.T) {
		p := startSubscriber(t, bin, "--nats-url", n.NATSURL, "--durable", "todos", "--doctype", "ToDo")
		want := docEvents(t, n, "ToDo")
		p.waitSeq(t, want[len(want)-1].Seq)
		p.stop(t)
		sameEvents(t, p.Lines(), want)
	})

	t.Run("a durable name keeps its filter", func(t *testing.T) {
		p := startSubscriber(t, bin, "--nats-url", n.NATSURL, "--durable", "todos", "--doctype", "Note")
		<-p.done
		if p.err == nil || !strings.Contains(p.Stderr(), "choose another --durable") {
			t.Fatalf("exit %v; stderr:\n%s", p.err, p.Stderr())
		}
	})
}

// TestVerifyStopsAtABrokenChain: with --verify, an event whose hash does
// not match the version before it stops the subscriber, unacknowledged.
func TestVerifyStopsAtABrokenChain(t *testing.T) {
	bin := buildSubscriber(t)
	n := apitest.StartWith(t, "", apitest.Options{NATSListen: true})
	name := insertToDo(t, n.Admin(t), "to be forged")
	ctx := context.Background()
	head, err := n.Log.Head(ctx, eventlog.DocSubject("ToDo", name))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eventlog.DecodeEvent(head.Data)
	if err != nil {
		t.Fatal(err)
	}
	// A second version written past docket, naming the first by sequence
	// but not by its hash.
	ev.ID, ev.Type, ev.Version, ev.PrevSeq, ev.Prev = eventlog.NewID(), eventlog.Update, 2, head.Seq, make([]byte, 32)
	data, err := eventlog.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := n.Log.JetStream().Publish(ctx, head.Subject, data)
	if err != nil {
		t.Fatal(err)
	}

	// It prints every event up to the forged one, and stops there; run
	// again, it stops there again at once.
	for run := range 2 {
		p := startSubscriber(t, bin, "--nats-url", n.NATSURL, "--durable", "audit", "--verify")
		<-p.done
		if p.err == nil || !strings.Contains(p.Stderr(), fmt.Sprintf("stream sequence %d: hash chain", ack.Sequence)) {
			t.Fatalf("run %d: exit %v; stderr:\n%s", run, p.err, p.Stderr())
		}
		ls := p.Lines()
		switch {
		case run == 0 && (len(ls) == 0 || ls[len(ls)-1].Seq != uint64(head.Seq)):
			t.Fatalf("the last line is not the last good event %d: %+v", head.Seq, ls)
		case run == 1 && len(ls) != 0:
			t.Fatalf("run again, it printed %+v", ls)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	getenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"--nope"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if err := run(context.Background(), []string{"extra"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("stray argument accepted")
	}
	if err := run(context.Background(), []string{"--nats-url", "nats://127.0.0.1:1"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("connected to nothing")
	}
}
