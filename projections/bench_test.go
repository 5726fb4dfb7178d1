package projections_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/query"
)

// taskDocType is a ToDo-shaped doctype: the benchmark issue's workload.
var taskDocType = map[string]any{
	"module": "Custom", "autoname": "hash",
	"fields": []any{
		map[string]any{"fieldname": "description", "fieldtype": "Small Text"},
		map[string]any{"fieldname": "status", "fieldtype": "Select", "options": "Open\nClosed\nCancelled"},
		map[string]any{"fieldname": "priority", "fieldtype": "Select", "options": "Low\nMedium\nHigh"},
		map[string]any{"fieldname": "allocated_to", "fieldtype": "Data"},
		map[string]any{"fieldname": "date", "fieldtype": "Date"},
	},
}

// BenchmarkRebuild measures a full projection rebuild: events/s applied
// from the log into an empty Pebble store (DOCKET_BENCH_EVENTS events,
// default 20,000 ToDo-shaped inserts). Run with -benchtime 1x.
func BenchmarkRebuild(b *testing.B) {
	n := newNode(b)
	m := newModel(b)
	m.commit(n.log, m.insert("DocType", "Bench Task", taskDocType))
	events := 20000
	if v, err := strconv.Atoi(os.Getenv("DOCKET_BENCH_EVENTS")); err == nil && v > 0 {
		events = v / 100 * 100
	}
	statuses, priorities := []string{"Open", "Closed", "Cancelled"}, []string{"Low", "Medium", "High"}
	for i := 0; i < events; i += 100 {
		var ps []pending
		for j := i; j < i+100; j++ {
			ps = append(ps, m.insert("Bench Task", fmt.Sprintf("t%07d", j), map[string]any{
				"description": fmt.Sprintf("task number %d with some words", j),
				"status":      statuses[j%3], "priority": priorities[j/3%3],
				"allocated_to": fmt.Sprintf("user%02d@example.com", j%50),
				"date":         time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j%365).Format("2006-01-02"),
			}))
		}
		m.commit(n.log, ps...)
	}
	n.closeStore()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The production options (projections.Open's defaults), not
		// the tests' small ones.
		st, err := projections.Open(filepath.Join(b.TempDir(), fmt.Sprintf("rebuilt%d", i)), projections.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n.store = st
		start := time.Now()
		n.start()
		n.waitFor(m.last)
		el := time.Since(start)
		n.closeStore()
		b.ReportMetric(float64(m.last)/el.Seconds(), "events/s")
	}
	_ = eventlog.Format
}

// BenchmarkListNewest20 measures one list of the 20 newest documents
// (an ordered scan of modified plus 20 document reads) over 20,000
// ToDo-shaped documents, in one goroutine.
func BenchmarkListNewest20(b *testing.B) {
	n := newNode(b)
	m := newModel(b)
	m.commit(n.log, m.insert("DocType", "Bench Task", taskDocType))
	for i := 0; i < 20000; i += 100 {
		var ps []pending
		for j := i; j < i+100; j++ {
			ps = append(ps, m.insert("Bench Task", fmt.Sprintf("%08x", uint32(j)*2654435761), map[string]any{
				"description": fmt.Sprintf("task number %d with some words", j), "status": "Open", "priority": "Low",
				"allocated_to": fmt.Sprintf("user%02d@example.com", j%50), "date": "2026-01-02"}))
		}
		m.commit(n.log, ps...)
	}
	n.closeStore()
	st, err := projections.Open(filepath.Join(b.TempDir(), "p"), projections.Options{})
	if err != nil {
		b.Fatal(err)
	}
	n.store = st
	n.start()
	n.waitFor(m.last)
	q := projections.Query{DocType: "Bench Task", Limit: 20,
		Fields:  []query.Field{{Name: "name"}, {Name: "status"}, {Name: "modified"}},
		OrderBy: []query.Order{{Field: "modified", Desc: true}}}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		res, err := st.List(ctx, q)
		if err != nil || len(res.Rows) != 20 {
			b.Fatal(err, res)
		}
	}
}
