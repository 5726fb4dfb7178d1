package backup

import (
	"context"
	"testing"

	"docket/eventlog"
	"docket/eventlog/eventlogtest"
)

// TestEndsInBatch: a copy of the log that ends on a message of an atomic
// batch other than its commit holds part of a transaction.
func TestEndsInBatch(t *testing.T) {
	ctx := context.Background()
	env := eventlogtest.Start(t, "")
	write := func(names ...string) []eventlog.Seq {
		var ws []eventlog.Write
		for _, n := range names {
			ev := &eventlog.Event{Format: eventlog.Format, ID: eventlog.NewID(), Type: eventlog.Insert, DocType: "ToDo", Name: n,
				Version: 1, Doc: map[string]any{"name": n}, Tx: "tx"}
			w, err := eventlog.EventWrite(ev, 0)
			if err != nil {
				t.Fatal(err)
			}
			ws = append(ws, w)
		}
		seqs, err := env.Log.Append(ctx, ws...)
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	batch := write("a", "b", "c")
	single := write("d")
	for seq, want := range map[eventlog.Seq]bool{0: false, batch[0]: true, batch[1]: true, batch[2]: false, single[0]: false, 99: false} {
		if got, err := endsInBatch(ctx, env.Conn, eventlog.StreamName, uint64(seq)); err != nil || got != want {
			t.Errorf("endsInBatch(%d) = %v, %v; want %v", seq, got, err, want)
		}
	}
	for v, want := range map[string]bool{"2.15.2": true, "v2.16.0-beta": true, "3.0": true, "2.11.9": false, "": false} {
		if atLeast(v, 2, 15) != want {
			t.Errorf("atLeast(%q, 2, 15) = %v", v, !want)
		}
	}
}
