package projections_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"docket/eventlog"
	"docket/projections"
)

// finalDump is the last section of a runner's output.
func finalDump(t testing.TB, n *node, m *model) string {
	t.Helper()
	n.waitFor(m.last)
	return dumpStore(t, n)
}

// TestRebuild applies each script live, then replays the same stream
// from sequence 1 into a fresh Pebble directory: every key and value,
// the checkpoint included, must come out identical, and so must the
// DocType registry. Reopening the live directory must give the same
// registry as the running store had.
func TestRebuild(t *testing.T) {
	for _, path := range scripts(t) {
		t.Run(scriptName(path), func(t *testing.T) {
			r := runLive(t, path, nil)
			n, m := r.n, r.m
			live := dumpStore(t, n)
			liveReg := registrySig(n.store.Registry())
			liveDir := n.dir

			// Restart on the same directory.
			n.closeStore()
			n.open(liveDir)
			if got := registrySig(n.store.Registry()); got != liveReg {
				t.Errorf("registry after reopening differs:\nlive:\n%s\nreopened:\n%s", liveReg, got)
			}
			if got := dumpStore(t, n); got != live {
				t.Errorf("dump after reopening differs:\n%s", lineDiff(live, got))
			}
			n.closeStore()

			// Rebuild from scratch.
			n.open(filepath.Join(t.TempDir(), "rebuilt"))
			if cp, _ := n.store.Checkpoint(); cp != 0 {
				t.Fatalf("fresh store has checkpoint %d", cp)
			}
			n.start()
			n.waitFor(m.last)
			if got := dumpStore(t, n); got != live {
				t.Errorf("rebuilt dump differs from the live one:\n%s", lineDiff(live, got))
			}
			if got := registrySig(n.store.Registry()); got != liveReg {
				t.Errorf("rebuilt registry differs:\nlive:\n%s\nrebuilt:\n%s", liveReg, got)
			}
			checkInvariants(t, n, m)
			if f := n.proj.Failed(); f != 0 {
				t.Errorf("Failed() = %d during the rebuild", f)
			}
		})
	}
}

// TestCheckpointResume stops the projection part-way in several ways and
// checks that resuming gives exactly the dump of an uninterrupted run.
func TestCheckpointResume(t *testing.T) {
	for _, path := range scripts(t) {
		t.Run(scriptName(path), func(t *testing.T) {
			cmds := parseScript(t, path)

			// Reference: uninterrupted, and consistent Pebble checkpoints
			// taken while it runs (a crash that loses the unsynced tail
			// leaves a store like these).
			type saved struct {
				dir string
				seq eventlog.Seq
			}
			var snaps []saved
			ref := runLive(t, path, func(r *runner, i int, c scriptCmd) {
				if i%4 != 1 || r.inBatch {
					return
				}
				dir := filepath.Join(t.TempDir(), fmt.Sprintf("snap-%d", i))
				if err := projections.DBForTest(r.n.store).Checkpoint(dir); err != nil {
					t.Fatal(err)
				}
				snaps = append(snaps, saved{dir, r.m.last})
			})
			want := dumpStore(t, ref.n)
			wantReg := registrySig(ref.n.store.Registry())

			t.Run("lost-tail", func(t *testing.T) {
				if len(snaps) == 0 {
					t.Fatal("no snapshots taken")
				}
				for _, s := range snaps {
					n := ref.n
					n.closeStore()
					n.open(s.dir)
					cp, err := n.store.Checkpoint()
					if err != nil || cp > s.seq {
						t.Fatalf("snapshot at seq %d has checkpoint %d, %v", s.seq, cp, err)
					}
					n.start()
					n.waitFor(ref.m.last)
					if got := dumpStore(t, n); got != want {
						t.Errorf("resumed from checkpoint %d: dump differs:\n%s", cp, lineDiff(want, got))
					}
					if got := registrySig(n.store.Registry()); got != wantReg {
						t.Errorf("resumed from checkpoint %d: registry differs:\n%s\nwant\n%s", cp, got, wantReg)
					}
				}
			})

			t.Run("restart-every-append", func(t *testing.T) {
				n := newNode(t)
				n.start()
				r := &runner{t: t, n: n, m: newModel(t)}
				r.after = func(seq eventlog.Seq) {
					n.waitFor(seq)
					n.closeStore()
					n.open(n.dir)
					if cp, _ := n.store.Checkpoint(); cp != seq {
						t.Fatalf("checkpoint after reopening = %d, want %d", cp, seq)
					}
					n.start()
				}
				r.run(cmds)
				if got := finalDump(t, n, r.m); got != want {
					t.Errorf("dump differs:\n%s", lineDiff(want, got))
				}
				checkInvariants(t, n, r.m)
			})

			t.Run("cancel-while-applying", func(t *testing.T) {
				// Append everything first, then start and cancel the
				// projector repeatedly, reopening the store each time.
				n := newNode(t)
				r := &runner{t: t, n: n, m: newModel(t)}
				r.run(cmds)
				last := r.m.last
				prev := eventlog.Seq(0)
				var runErrs []error
				for i := 0; i < 20; i++ {
					n.start()
					if i%2 == 1 { // let some of it land
						n.waitFor(min(last, prev+1))
					}
					if err := n.stopErr(); err != nil {
						runErrs = append(runErrs, err)
					}
					n.closeOnly()
					n.open(n.dir)
					cp, err := n.store.Checkpoint()
					if err != nil || cp < prev || cp > last {
						t.Fatalf("round %d: checkpoint %d, %v (previous %d, last %d)", i, cp, err, prev, last)
					}
					prev = cp
				}
				n.start()
				n.waitFor(last)
				if got := dumpStore(t, n); got != want {
					t.Errorf("dump differs:\n%s", lineDiff(want, got))
				}
				checkInvariants(t, n, r.m)
				// Run documents "It returns nil on cancellation".
				if len(runErrs) > 0 {
					t.Errorf("projector.Run returned an error on cancellation in %d of 20 rounds, want nil; first: %v", len(runErrs), runErrs[0])
				}
			})

			t.Run("apply-prefix-then-project", func(t *testing.T) {
				// Store.ApplyMsgs applies a prefix (with a repeated
				// message, which must be skipped), the projector the rest.
				n := newNode(t)
				r := &runner{t: t, n: n, m: newModel(t)}
				r.run(cmds)
				last := r.m.last
				ctx := context.Background()
				var msgs []*eventlog.Msg
				for s := eventlog.Seq(1); s <= last; s++ {
					msg, err := n.log.Get(ctx, s)
					if err != nil {
						t.Fatal(err)
					}
					msgs = append(msgs, msg)
				}
				for cut := 1; cut < len(msgs); cut += 3 {
					n.closeStore()
					n.open(filepath.Join(t.TempDir(), fmt.Sprintf("prefix-%d", cut)))
					half := cut / 2
					if err := n.store.ApplyMsgs(msgs[:half]); err != nil {
						t.Fatal(err)
					}
					if err := n.store.ApplyMsgs(msgs[max(half-1, 0):cut]); err != nil {
						t.Fatal(err)
					}
					if cp, _ := n.store.Checkpoint(); cp != eventlog.Seq(cut) {
						t.Fatalf("checkpoint after applying %d messages = %d", cut, cp)
					}
					n.closeStore()
					n.open(n.dir)
					n.start()
					n.waitFor(last)
					if got := dumpStore(t, n); got != want {
						t.Errorf("after a prefix of %d: dump differs:\n%s", cut, lineDiff(want, got))
					}
					if got := registrySig(n.store.Registry()); got != wantReg {
						t.Errorf("after a prefix of %d: registry differs", cut)
					}
				}
			})
		})
	}
}

// TestCheckpointResumeLargeStream: a stream longer than one projector
// batch, with the projector cancelled while it is part-way through it
// (the store reopened each time), ends exactly like an uninterrupted
// replay.
func TestCheckpointResumeLargeStream(t *testing.T) {
	n := newNode(t)
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))
	var batch []pending
	flush := func() {
		m.commit(n.log, batch...)
		batch = nil
	}
	const docs = 400
	for round := 0; round < 7; round++ {
		for i := 0; i < docs; i++ {
			name := fmt.Sprintf("N-%03d", i)
			st := m.docs[docKey{"Memo Note", name}]
			switch {
			case st == nil || st.deleted:
				batch = append(batch, m.insert("Memo Note", name, map[string]any{"status": "Open", "body": name}))
			case (i+round)%5 == 0:
				batch = append(batch, m.remove("Memo Note", name))
			default:
				status := []string{"Open", "Closed"}[(i+round)%2]
				batch = append(batch, m.update("Memo Note", name, map[string]any{"status": status, "body": fmt.Sprint(round)}))
			}
		}
		flush() // one append per round: a document once per append
	}
	last := m.last

	var runErrs []error
	prev := eventlog.Seq(0)
	n.start()
	for _, target := range []eventlog.Seq{last / 4, last / 2, 3 * last / 4} {
		n.waitFor(target)
		if err := n.stopErr(); err != nil {
			runErrs = append(runErrs, err)
		}
		n.closeOnly()
		n.open(n.dir)
		cp, err := n.store.Checkpoint()
		if err != nil || cp < target || cp < prev || cp > last {
			t.Fatalf("checkpoint %d, %v after waiting for %d (previous %d, last %d)", cp, err, target, prev, last)
		}
		prev = cp
		n.start()
	}
	n.waitFor(last)
	got := dumpStore(t, n)
	checkInvariants(t, n, m)
	if len(runErrs) > 0 {
		t.Errorf("projector.Run returned %v on cancellation, want nil", runErrs)
	}

	n.closeStore()
	n.open(filepath.Join(t.TempDir(), "uninterrupted"))
	n.start()
	n.waitFor(last)
	if want := dumpStore(t, n); got != want {
		t.Errorf("interrupted run differs from an uninterrupted one:\n%s", lineDiff(want, got))
	}
}

// TestOneBatchEqualsOneEventAtATime: many versions of one document in
// one plain batch (insert, updates, a delete, a re-insert; a second
// document alongside), and a DocType change in the middle of a run of
// events, end exactly as applying one event per batch does: the batch's
// own reverse entries are what its later events unindex.
func TestOneBatchEqualsOneEventAtATime(t *testing.T) {
	n := newNode(t)
	m := newModel(t)
	m.commit(n.log, m.insert("DocType", "Memo Note", noteDocType))
	first := m.last + 1
	m.commit(n.log, m.insert("Memo Note", "A", map[string]any{"status": "Open", "body": "a1"}))
	m.commit(n.log, m.insert("Memo Note", "B", map[string]any{"status": "Open", "body": "b1"}))
	m.commit(n.log, m.update("Memo Note", "A", map[string]any{"status": "Closed", "body": "a2"}))
	m.commit(n.log, m.update("Memo Note", "A", map[string]any{"status": "Open", "body": "a3"}))
	m.commit(n.log, m.remove("Memo Note", "A"))
	m.commit(n.log, m.update("Memo Note", "B", map[string]any{"status": "Closed"}))
	m.commit(n.log, m.insert("Memo Note", "A", map[string]any{"status": "Closed", "body": "a4"}))
	m.commit(n.log, m.update("Memo Note", "A", map[string]any{"body": "a5"}))
	mid := m.last + 1
	indexed := map[string]any{"module": "Custom", "autoname": "Prompt", "fields": []any{
		map[string]any{"fieldname": "status", "fieldtype": "Select", "options": "Open\nClosed"},
		map[string]any{"fieldname": "body", "fieldtype": "Data", "in_list_view": 1},
	}}
	m.commit(n.log, m.update("DocType", "Memo Note", indexed))
	m.commit(n.log, m.update("Memo Note", "A", map[string]any{"body": "a6"}))
	m.commit(n.log, m.remove("Memo Note", "B"))
	last := m.last

	var msgs []*eventlog.Msg
	for s := eventlog.Seq(1); s <= last; s++ {
		msg, err := n.log.Get(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	apply := func(chunks ...[]*eventlog.Msg) string {
		n.closeStore()
		n.open(filepath.Join(t.TempDir(), "p"))
		for _, c := range chunks {
			if err := n.store.ApplyMsgs(c); err != nil {
				t.Fatal(err)
			}
		}
		return dumpStore(t, n)
	}
	var single [][]*eventlog.Msg
	for _, msg := range msgs {
		single = append(single, []*eventlog.Msg{msg})
	}
	// Before the DocType change (which re-indexes the doctype): the
	// document events in one plain batch.
	wantBefore := apply(single[:mid-1]...)
	if got := apply(msgs[:first-1], msgs[first-1:mid-1]); got != wantBefore {
		t.Errorf("events in one plain batch differ from one at a time:\n%s", lineDiff(wantBefore, got))
	}
	want := apply(single...)
	checkInvariants(t, n, m)
	// The rest in one more batch (indexed: it holds the DocType event).
	if got := apply(msgs[:first-1], msgs[first-1:mid-1], msgs[mid-1:]); got != want {
		t.Errorf("events in batches differ from one at a time:\n%s", lineDiff(want, got))
	}
	checkInvariants(t, n, m)
	// The projector's own batching of the whole stream.
	n.closeStore()
	n.open(filepath.Join(t.TempDir(), "projected"))
	n.start()
	n.waitFor(last)
	checkInvariants(t, n, m)
	if got := dumpStore(t, n); got != want {
		t.Errorf("the projector differs from one event at a time:\n%s", lineDiff(want, got))
	}
}
