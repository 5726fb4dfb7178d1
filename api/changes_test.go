package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"docket/api/apitest"
	"docket/eventlog"
)

// sseEvent is one event of the change feed.
type sseEvent struct {
	id   uint64
	data map[string]any
}

// feed is one connection to the change feed.
type feed struct {
	events   chan sseEvent
	comments chan string
	status   int
	cancel   context.CancelFunc
	done     chan struct{}
}

// openFeed connects to the change feed as client c with the query and
// optional Last-Event-ID; events arrive on f.events until f.close.
func openFeed(t *testing.T, c *apitest.Client, query, lastID string) *feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+"/api/v2/changes?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	f := &feed{events: make(chan sseEvent, 1024), comments: make(chan string, 1024), status: resp.StatusCode, cancel: cancel, done: make(chan struct{})}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		cancel()
		close(f.done)
		return f
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	go func() {
		defer close(f.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != nil {
					f.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				f.comments <- line
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &ev.data); err != nil {
					t.Errorf("data line %q: %v", line, err)
				}
			}
		}
	}()
	return f
}

func (f *feed) close() {
	f.cancel()
	<-f.done
}

// next waits for the next event (false when the wait ends first).
func (f *feed) next(wait time.Duration) (sseEvent, bool) {
	select {
	case ev := <-f.events:
		return ev, true
	case <-time.After(wait):
		return sseEvent{}, false
	}
}

// logSeqs lists the sequences of the log's events on a subject filter
// after since, up to the stream's end now.
func logSeqs(t *testing.T, n *apitest.Node, since eventlog.Seq, filter string) []uint64 {
	t.Helper()
	ctx := context.Background()
	last, err := n.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	if last <= since {
		return out
	}
	r, err := n.Log.Read(ctx, since+1, filter)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq > last {
			return out
		}
		out = append(out, uint64(m.Seq))
		if m.Pending == 0 {
			return out
		}
	}
}

// TestChangeFeed: under concurrent writers, a reader that is cut off again
// and again and reconnects with its last id receives every event it may
// read exactly once, in log order; a user without read permission sees
// none of those documents; heartbeats keep an idle feed alive.
func TestChangeFeed(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	dt := doctype("Feed Item", "hash", field("title", "Data"), field("n", "Int"), field("secret", "Data", "permlevel", 1))
	dt["permissions"] = []any{
		map[string]any{"role": "Clerk", "read": 1, "write": 1, "create": 1},
		map[string]any{"role": "All", "if_owner": 1, "read": 1, "write": 1, "create": 1},
		map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1},
		map[string]any{"role": "System Manager", "permlevel": 1, "read": 1, "write": 1},
	}
	w.admin.Do(t, "POST", "/api/resource/DocType", dt, 200, nil)
	ctx := context.Background()
	start, err := w.n.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clerk, web := w.clients[clerkUser], w.clients[webUser]

	// The web user's feed runs through the whole test.
	webFeed := openFeed(t, web, fmt.Sprintf("doctype=Feed%%20Item&since=%d&heartbeat=200", start), "")
	defer webFeed.close()

	// Writers: clerks create and update Feed Items, the Administrator
	// writes Secret Memos (which a clerk may not read) in between.
	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perWriter {
				var d struct{ Data map[string]any }
				clerk.Do(t, "POST", "/api/resource/Feed%20Item", map[string]any{"title": fmt.Sprintf("w%d-%d", i, j), "n": j}, 200, &d)
				if j%3 == 0 {
					w.clients[smUser].Do(t, "PUT", "/api/resource/Feed%20Item/"+d.Data["name"].(string), map[string]any{"n": j + 100, "secret": "s"}, 200, nil)
				}
				if j%5 == 0 {
					w.admin.Do(t, "POST", "/api/resource/Secret%20Memo", map[string]any{"title": "m"}, 200, nil)
				}
			}
		}()
	}

	// The clerk's feed of every doctype, cut off after a few events each
	// time, resumed with the last id seen.
	var got []uint64
	seen := map[uint64]bool{}
	lastID := strconv.FormatUint(uint64(start), 10)
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()
	rnd := rand.New(rand.NewPCG(1, 2))
	finished := false
	for reconnects := 0; ; reconnects++ {
		f := openFeed(t, clerk, "since=0&heartbeat=200", lastID) // Last-Event-ID wins over since
		if f.status != 200 {
			t.Fatalf("feed status %d", f.status)
		}
		cut := 1 + rnd.IntN(12)
		for k := 0; k < cut; k++ {
			ev, ok := f.next(2 * time.Second)
			if !ok {
				break
			}
			if seen[ev.id] {
				t.Fatalf("event %d delivered twice", ev.id)
			}
			if len(got) > 0 && ev.id <= got[len(got)-1] {
				t.Fatalf("event %d after %d: out of order", ev.id, got[len(got)-1])
			}
			if ev.data["doctype"] != "Feed Item" {
				t.Fatalf("the clerk received a %v event", ev.data["doctype"])
			}
			if doc, _ := ev.data["doc"].(map[string]any); doc != nil && doc["secret"] != nil {
				t.Fatalf("the clerk received a level-1 field: %v", doc)
			}
			if uint64(ev.data["seq"].(float64)) != ev.id {
				t.Fatalf("id %d, seq %v", ev.id, ev.data["seq"])
			}
			seen[ev.id] = true
			got = append(got, ev.id)
			lastID = strconv.FormatUint(ev.id, 10)
		}
		f.close()
		if finished {
			break
		}
		select {
		case <-writing:
			want := logSeqs(t, w.n, start, "docs.Feed_20Item.>")
			if len(got) == len(want) {
				finished = true // one more connection: nothing more may come
			}
		default:
		}
		if reconnects > 10000 {
			t.Fatal("the feed never caught up")
		}
	}
	want := logSeqs(t, w.n, start, "docs.Feed_20Item.>")
	if len(want) != writers*perWriter+writers*((perWriter+2)/3) {
		t.Fatalf("the log holds %d Feed Item events", len(want))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("feed delivered %d events, the log holds %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}

	// The web user may read none of those: its feed has only its own.
	var mine struct{ Data map[string]any }
	web.Do(t, "POST", "/api/resource/Feed%20Item", map[string]any{"title": "mine"}, 200, &mine)
	ev, ok := webFeed.next(10 * time.Second)
	if !ok || ev.data["name"] != mine.Data["name"] || ev.data["user"] != webUser || ev.data["type"] != "insert" {
		t.Fatalf("web user's first event: %v %v", ok, ev.data)
	}
	if ev, ok := webFeed.next(300 * time.Millisecond); ok {
		t.Fatalf("web user received another event: %v", ev.data)
	}
	select {
	case c := <-webFeed.comments:
		if !strings.HasPrefix(c, ":") {
			t.Fatalf("comment %q", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat on an idle feed")
	}

	// One document's feed; bad arguments.
	one := openFeed(t, clerk, "doctype=Feed%20Item&name="+mine.Data["name"].(string)+"&since=0", "")
	defer one.close()
	if one.status != 200 {
		t.Fatalf("one-document feed: %d", one.status)
	}
	sm := w.clients[smUser]
	sm.Do(t, "PUT", "/api/resource/Feed%20Item/"+mine.Data["name"].(string), map[string]any{"n": 7}, 200, nil)
	ev, ok = one.next(10 * time.Second) // the clerk reads it now? No: if_owner is the web user's; clerks read all
	if !ok || ev.data["name"] != mine.Data["name"] || ev.data["type"] != "insert" {
		t.Fatalf("one-document feed, first event: %v", ev.data)
	}
	if ev, ok = one.next(10 * time.Second); !ok || ev.data["version"] != float64(2) {
		t.Fatalf("one-document feed, second event: %v", ev.data)
	}
	for q, status := range map[string]int{"since=abc": 417, "name=x": 417, "doctype=Nope": 404} {
		if f := openFeed(t, clerk, q, ""); f.status != status {
			t.Errorf("%s: status %d, want %d", q, f.status, status)
		}
	}
	if f := openFeed(t, w.clients[guestUser], "", ""); f.status != 403 {
		t.Errorf("guest feed: %d", f.status)
	}
}
