package api_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"docket/api"
	"docket/api/apitest"
)

// seqOf reads the X-Docket-Seq header of a response.
func seqOf(t *testing.T, r *apitest.Response) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(r.Header.Get(api.SeqHeader), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q", api.SeqHeader, r.Header.Get(api.SeqHeader))
	}
	return n
}

// TestSeqHeaders: a write's answer names a sequence at least the
// write's own; a read that asks for a sequence this node has not reached
// waits for it, and one that cannot be reached in time is a 503 to retry.
func TestSeqHeaders(t *testing.T) {
	n := apitest.StartWith(t, "", apitest.Options{API: api.Options{MinSeqWait: 300 * time.Millisecond}})
	c := n.Admin(t)

	var created struct{ Data map[string]any }
	resp := c.Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "first"}, 200, &created)
	seq := seqOf(t, resp)
	var versions struct{ Data []map[string]any }
	c.Do(t, "GET", "/api/v2/document/ToDo/"+created.Data["name"].(string)+"/versions", nil, 200, &versions)
	if at := uint64(versions.Data[0]["seq"].(float64)); at > seq {
		t.Fatalf("the write is at %d, its answer says %d", at, seq)
	}
	// Every answer carries it: errors, method calls, reads.
	if r := c.Do(t, "GET", "/api/resource/ToDo/nope", nil, 404, nil); seqOf(t, r) < seq {
		t.Fatalf("a later answer says %d < %d", seqOf(t, r), seq)
	}
	seqOf(t, c.Do(t, "GET", "/api/method/ping", nil, 200, nil))

	// Reached already: served at once.
	c.Header.Set(api.MinSeqHeader, strconv.FormatUint(seq, 10))
	c.Do(t, "GET", "/api/resource/ToDo/"+created.Data["name"].(string), nil, 200, nil)

	// Not reached yet: the read waits for the write that reaches it.
	c.Header.Set(api.MinSeqHeader, strconv.FormatUint(seq+1, 10))
	got := make(chan *apitest.Response, 1)
	go func() {
		got <- c.Raw(t, "GET", `/api/resource/ToDo?fields=["description"]&limit_page_length=0`, "", nil)
	}()
	n.Admin(t).Do(t, "POST", "/api/resource/ToDo", map[string]any{"description": "second"}, 200, nil)
	r := <-got
	if r.Status != 200 || !strings.Contains(string(r.Body), `"second"`) {
		t.Fatalf("read after min seq %d: %d %s", seq+1, r.Status, r.Body)
	}

	// Never reached in time: 503 with Retry-After, before authentication.
	guest := n.Client(t)
	guest.Header.Set(api.MinSeqHeader, strconv.FormatUint(seq+1000, 10))
	start := time.Now()
	r = guest.Do(t, "GET", "/api/method/ping", nil, 503, nil)
	if r.Header.Get("Retry-After") != "1" || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("503 after %s, Retry-After %q", time.Since(start), r.Header.Get("Retry-After"))
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil || body["exc_type"] != "ServiceUnavailable" {
		t.Fatalf("503 body %s", r.Body)
	}
	guest.Header.Set(api.MinSeqHeader, "soon")
	guest.Do(t, "GET", "/api/method/ping", nil, 417, nil)
}
