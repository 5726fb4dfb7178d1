package projections_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"docket/eventlog"
	"docket/projections/meta"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Golden scripts live in testdata/projector/NAME.txt; the dumps they
// produce are compared with testdata/projector/NAME.golden.
//
// A script is a list of commands, one per line; a line that starts with
// white space continues the previous one, and '#' starts a comment line.
// Arguments are bare words or Go-quoted strings; a trailing JSON object
// gives field values (numbers with a point are floats).
//
//	doctype NAME {json}         insert, or update, the DocType document NAME
//	insert DOCTYPE NAME {json}  insert a document (standard fields are set)
//	update DOCTYPE NAME {json}  change fields (tables are replaced whole)
//	submit DOCTYPE NAME         update to docstatus 1 (a submit event)
//	cancel DOCTYPE NAME         update to docstatus 2 (a cancel event)
//	delete DOCTYPE NAME         delete the document
//	rename DOCTYPE OLD NEW      rename (two events in one append)
//	claim DOCTYPE FIELD VALUE NAME  a uniqueness claim (not a document event)
//	counter KEY N               a naming-series counter (not a document event)
//	batch / end                 append the events between them in one Append
//	dump [DOCTYPE ...]          write a dump (of those doctypes) to the output
//
// The whole store is dumped at the end.

type scriptCmd struct {
	line int
	text string
	op   string
	args []string
	json map[string]any
}

func parseScript(t testing.TB, path string) []scriptCmd {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type rawLine struct {
		n    int
		text string
	}
	var lines []rawLine
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(strings.TrimSpace(l), "#"):
		case l[0] == ' ' || l[0] == '\t':
			if len(lines) == 0 {
				t.Fatalf("%s:%d: continuation of nothing", path, n)
			}
			lines[len(lines)-1].text += " " + strings.TrimSpace(l)
		default:
			lines = append(lines, rawLine{n, l})
		}
	}
	var cmds []scriptCmd
	for _, l := range lines {
		c := scriptCmd{line: l.n, text: l.text}
		rest := l.text
		for {
			rest = strings.TrimLeft(rest, " \t")
			if rest == "" {
				break
			}
			if rest[0] == '{' {
				obj, err := meta.DecodeJSONObject([]byte(rest))
				if err != nil {
					t.Fatalf("%s:%d: %v", path, l.n, err)
				}
				c.json = obj
				break
			}
			var word string
			if rest[0] == '"' {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					t.Fatalf("%s:%d: %v", path, l.n, err)
				}
				word, _ = strconv.Unquote(q)
				rest = rest[len(q):]
			} else {
				i := strings.IndexAny(rest, " \t")
				if i < 0 {
					i = len(rest)
				}
				word, rest = rest[:i], rest[i:]
			}
			c.args = append(c.args, word)
		}
		if len(c.args) == 0 {
			t.Fatalf("%s:%d: no command", path, l.n)
		}
		c.op, c.args = c.args[0], c.args[1:]
		cmds = append(cmds, c)
	}
	return cmds
}

// runner executes a script against a node.
type runner struct {
	t       testing.TB
	n       *node
	m       *model
	out     strings.Builder
	inBatch bool
	batch   []pending
	// after runs after each append (nil: nothing).
	after func(seq eventlog.Seq)
	// step runs after each command.
	step func(i int, c scriptCmd)
}

func (r *runner) commit(ps ...pending) {
	r.t.Helper()
	if r.inBatch {
		r.batch = append(r.batch, ps...)
		return
	}
	seq := r.m.commit(r.n.log, ps...)
	if r.after != nil {
		r.after(seq)
	}
}

func (r *runner) raw(w eventlog.Write) {
	r.t.Helper()
	if r.inBatch {
		r.t.Fatal("claims and counters cannot be batched here")
	}
	seq := r.m.appendRaw(r.n.log, w)
	if r.after != nil {
		r.after(seq)
	}
}

func (r *runner) run(cmds []scriptCmd) {
	r.t.Helper()
	for i, c := range cmds {
		r.exec(c)
		if r.step != nil {
			r.step(i, c)
		}
	}
	if r.inBatch {
		r.t.Fatal("script ends inside a batch")
	}
}

func (r *runner) exec(c scriptCmd) {
	r.t.Helper()
	m := r.m
	want := func(n int) {
		r.t.Helper()
		if len(c.args) != n {
			r.t.Fatalf("line %d: %s wants %d arguments, got %q", c.line, c.op, n, c.args)
		}
	}
	switch c.op {
	case "doctype":
		want(1)
		if st := m.docs[docKey{"DocType", c.args[0]}]; st != nil && !st.deleted {
			r.commit(m.update("DocType", c.args[0], c.json))
		} else {
			r.commit(m.insert("DocType", c.args[0], c.json))
		}
	case "insert":
		want(2)
		r.commit(m.insert(c.args[0], c.args[1], c.json))
	case "update":
		want(2)
		r.commit(m.update(c.args[0], c.args[1], c.json))
	case "submit", "cancel":
		want(2)
		status, typ := int64(1), eventlog.Submit
		if c.op == "cancel" {
			status, typ = 2, eventlog.Cancel
		}
		doc := m.patchDoc(c.args[0], c.args[1], map[string]any{"docstatus": status})
		r.commit(m.event(typ, c.args[0], c.args[1], doc))
	case "delete":
		want(2)
		r.commit(m.remove(c.args[0], c.args[1]))
	case "rename":
		want(3)
		r.commit(m.rename(c.args[0], c.args[1], c.args[2])...)
	case "claim":
		want(4)
		cl := &eventlog.Claim{Format: eventlog.Format, ID: eventlog.NewID(), DocType: c.args[0],
			Field: c.args[1], Value: c.args[2], Name: c.args[3], Tx: eventlog.NewID()}
		w, err := eventlog.ClaimWrite(cl, 0)
		if err != nil {
			r.t.Fatal(err)
		}
		r.raw(w)
	case "counter":
		want(2)
		n, err := strconv.ParseInt(c.args[1], 10, 64)
		if err != nil {
			r.t.Fatalf("line %d: %v", c.line, err)
		}
		cw := &eventlog.Counter{Format: eventlog.Format, ID: eventlog.NewID(), Key: c.args[0], Current: n, Tx: eventlog.NewID()}
		w, err := eventlog.CounterWrite(cw, 0)
		if err != nil {
			r.t.Fatal(err)
		}
		r.raw(w)
	case "batch":
		want(0)
		r.inBatch = true
	case "end":
		want(0)
		r.inBatch = false
		ps := r.batch
		r.batch = nil
		r.commit(ps...)
	case "dump":
		fmt.Fprintf(&r.out, "=== dump %s(line %d, after seq %d)\n", strings.Join(append(c.args, ""), " "), c.line, m.last)
		r.out.WriteString(dumpStore(r.t, r.n, c.args...))
	default:
		r.t.Fatalf("line %d: unknown command %q", c.line, c.op)
	}
}

func scripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "projector", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	return files
}

func scriptName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".txt")
}

// runLive runs a script with the projector running, waiting for each
// append to be applied, and returns the runner (its output ends with the
// final dump).
func runLive(t *testing.T, path string, step func(r *runner, i int, c scriptCmd)) *runner {
	t.Helper()
	n := newNode(t)
	n.start()
	r := &runner{t: t, n: n, m: newModel(t)}
	r.after = func(seq eventlog.Seq) { n.waitFor(seq) }
	if step != nil {
		r.step = func(i int, c scriptCmd) { step(r, i, c) }
	}
	r.run(parseScript(t, path))
	n.waitFor(r.m.last)
	fmt.Fprintf(&r.out, "=== final dump (after seq %d)\n", r.m.last)
	r.out.WriteString(dumpStore(t, n))
	return r
}

// TestGolden runs every script through the real projector from a real
// JetStream stream and compares the dumps with the golden files.
func TestGolden(t *testing.T) {
	for _, path := range scripts(t) {
		t.Run(scriptName(path), func(t *testing.T) {
			r := runLive(t, path, nil)
			checkInvariants(t, r.n, r.m)
			if f := r.n.proj.Failed(); f != 0 {
				t.Errorf("Failed() = %d, want 0", f)
			}
			golden := strings.TrimSuffix(path, ".txt") + ".golden"
			got := r.out.String()
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./projections -update)", err)
			}
			if got != string(want) {
				t.Errorf("dump differs from %s (go test ./projections -update rewrites it):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first lines where two texts differ.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 30; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}
