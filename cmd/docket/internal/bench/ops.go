package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// A session is what the timed requests share: a client authenticated as
// the bench user (an API key), the DocType, and the loaded documents.
type session struct {
	c       *client
	doctype string
	names   []string
	// created counts the documents the timed creates wrote, so that a
	// restart can be checked to have kept them all.
	created atomic.Int64
	// paths of the requests that do not change: one list page, and per
	// allocated user a filtered page and a count.
	newestPath           string
	filteredPaths, count []string
}

// listFields are the columns the list requests ask for, as a list view does.
var listFields = []string{"name", "description", "status", "priority", "allocated_to", "date", "modified"}

func newSession(c *client, doctype string, names []string) *session {
	s := &session{c: c, doctype: doctype, names: names}
	fields := jsonText(listFields)
	s.newestPath = resourcePath(doctype) + query("fields", fields, "order_by", "modified desc", "limit_page_length", "20")
	for i := range numUsers {
		u := userEmail(i)
		s.filteredPaths = append(s.filteredPaths, resourcePath(doctype)+query("fields", fields,
			"filters", jsonText([][]string{{"allocated_to", "=", u}, {"status", "=", "Open"}}),
			"order_by", "date desc", "limit_page_length", "20"))
		s.count = append(s.count, "/api/method/frappe.client.get_count"+query("doctype", doctype,
			"filters", jsonText(map[string]string{"allocated_to": u})))
	}
	return s
}

// An op is one timed operation: a request, sent in a closed loop by each
// of its clients. With check set it also decodes and validates the
// answer; that is done once before timing, so a fast wrong answer cannot
// pass for a result.
type op struct {
	name, title string
	// oneClient: the op runs with one client whatever --clients says.
	oneClient bool
	// ceilings are the raw measurements the op compares with (the slowest
	// of them is its ceiling).
	ceilings []string
	do       func(ctx context.Context, s *session, rng *rand.Rand, check bool) error
}

type docAnswer struct {
	Data map[string]any `json:"data"`
}

type listAnswer struct {
	Data []map[string]any `json:"data"`
}

func (s *session) randomName(rng *rand.Rand) string { return s.names[rng.IntN(len(s.names))] }

func opCreate(ctx context.Context, s *session, rng *rand.Rand, check bool) error {
	d := newDoc(rng, "")
	if !check {
		if err := s.c.do(ctx, "POST", resourcePath(s.doctype), d, nil); err != nil {
			return err
		}
		s.created.Add(1)
		return nil
	}
	var out docAnswer
	if err := s.c.do(ctx, "POST", resourcePath(s.doctype), d, &out); err != nil {
		return err
	}
	s.created.Add(1)
	if out.Data["name"] == nil || out.Data["description"] != d.Description {
		return fmt.Errorf("create answered %v", out.Data)
	}
	return nil
}

func opGet(ctx context.Context, s *session, rng *rand.Rand, check bool) error {
	name := s.randomName(rng)
	if !check {
		return s.c.do(ctx, "GET", resourcePath(s.doctype, name), nil, nil)
	}
	var out docAnswer
	if err := s.c.do(ctx, "GET", resourcePath(s.doctype, name), nil, &out); err != nil {
		return err
	}
	if out.Data["name"] != name || out.Data["description"] == nil {
		return fmt.Errorf("get %s answered %v", name, out.Data)
	}
	return nil
}

func opUpdate(ctx context.Context, s *session, rng *rand.Rand, check bool) error {
	name, text := s.randomName(rng), description(rng)
	body := map[string]string{"description": text}
	if !check {
		return s.c.do(ctx, "PUT", resourcePath(s.doctype, name), body, nil)
	}
	var out docAnswer
	if err := s.c.do(ctx, "PUT", resourcePath(s.doctype, name), body, &out); err != nil {
		return err
	}
	if out.Data["name"] != name || out.Data["description"] != text {
		return fmt.Errorf("update of %s answered %v", name, out.Data)
	}
	return nil
}

func opNewest(ctx context.Context, s *session, _ *rand.Rand, check bool) error {
	if !check {
		return s.c.do(ctx, "GET", s.newestPath, nil, nil)
	}
	var out listAnswer
	if err := s.c.do(ctx, "GET", s.newestPath, nil, &out); err != nil {
		return err
	}
	if want := min(20, len(s.names)); len(out.Data) != want {
		return fmt.Errorf("list newest 20 answered %d rows, want %d", len(out.Data), want)
	}
	return sortedDesc(out.Data, "modified")
}

func opFiltered(ctx context.Context, s *session, rng *rand.Rand, check bool) error {
	u := rng.IntN(numUsers)
	if !check {
		return s.c.do(ctx, "GET", s.filteredPaths[u], nil, nil)
	}
	var out listAnswer
	if err := s.c.do(ctx, "GET", s.filteredPaths[u], nil, &out); err != nil {
		return err
	}
	if len(out.Data) == 0 || len(out.Data) > 20 {
		return fmt.Errorf("filtered list answered %d rows", len(out.Data))
	}
	for _, r := range out.Data {
		if r["allocated_to"] != userEmail(u) || r["status"] != "Open" {
			return fmt.Errorf("filtered list for %s answered the row %v", userEmail(u), r)
		}
	}
	return sortedDesc(out.Data, "date")
}

func opCount(ctx context.Context, s *session, rng *rand.Rand, check bool) error {
	u := rng.IntN(numUsers)
	if !check {
		return s.c.do(ctx, "GET", s.count[u], nil, nil)
	}
	var out struct {
		Message int64 `json:"message"`
	}
	if err := s.c.do(ctx, "GET", s.count[u], nil, &out); err != nil {
		return err
	}
	if out.Message <= 0 || out.Message > int64(len(s.names))+s.created.Load() {
		return fmt.Errorf("count for %s answered %d", userEmail(u), out.Message)
	}
	return nil
}

// sortedDesc checks rows are in descending order of field (when they
// carry it).
func sortedDesc(rows []map[string]any, field string) error {
	for i := 1; i < len(rows); i++ {
		a, _ := rows[i-1][field].(string)
		b, _ := rows[i][field].(string)
		if a < b {
			return fmt.Errorf("rows not in descending order of %s: %q before %q", field, a, b)
		}
	}
	return nil
}

// The timed operations, in the order of issue 7's table.
var ops = []op{
	{name: "create1", title: "create, 1 client", oneClient: true, ceilings: []string{ceilPublish1}, do: opCreate},
	{name: "create", title: "create", ceilings: []string{ceilPublish}, do: opCreate},
	{name: "get", title: "get by name", ceilings: []string{ceilGet}, do: opGet},
	{name: "update", title: "update one field", ceilings: []string{ceilPublish}, do: opUpdate},
	{name: "newest", title: "list newest 20", ceilings: []string{ceilPage}, do: opNewest},
	{name: "filtered", title: "list, 2 equalities + order, 20 rows", ceilings: []string{ceilPage}, do: opFiltered},
	{name: "count", title: "count, 1 indexed equality", ceilings: []string{ceilGet}, do: opCount},
	{name: "count1", title: "count, 1 indexed equality, 1 client", oneClient: true, ceilings: []string{ceilGet}, do: opCount},
}
