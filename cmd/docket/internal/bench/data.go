package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The benchmark's documents are ToDo-shaped. Their values follow
// distributions a ToDo list has: most open or closed, some cancelled;
// medium priority most often; assigned over 50 people; due dates over a
// year.

// benchDoc is one document as a client sends it.
type benchDoc struct {
	Doctype     string `json:"doctype,omitempty"`
	Description string `json:"description"`
	Status      string `json:"status"`
	Priority    string `json:"priority"`
	AllocatedTo string `json:"allocated_to"`
	Date        string `json:"date"`
}

// weighted is a choice among values with integer weights.
type weighted struct {
	values  []string
	weights []int
	total   int
}

func newWeighted(pairs ...any) weighted {
	var w weighted
	for i := 0; i+1 < len(pairs); i += 2 {
		w.values = append(w.values, pairs[i].(string))
		w.weights = append(w.weights, pairs[i+1].(int))
		w.total += pairs[i+1].(int)
	}
	return w
}

func (w weighted) pick(rng *rand.Rand) string {
	n := rng.IntN(w.total)
	for i, wt := range w.weights {
		if n < wt {
			return w.values[i]
		}
		n -= wt
	}
	return w.values[len(w.values)-1]
}

var (
	statuses   = newWeighted("Open", 50, "Closed", 40, "Cancelled", 10)
	priorities = newWeighted("Medium", 50, "Low", 30, "High", 20)
	firstDay   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	words      = strings.Fields(`call send review update prepare check book plan write fix ship draft
		order renew pay confirm invite schedule test deploy clean archive the a new quarterly
		monthly weekly customer supplier invoice contract report budget meeting agenda release
		backup server printer laptop office team client project proposal slides offer ticket
		license website newsletter survey audit payroll training onboarding roadmap`)
)

// loadBatch is how many documents one frappe.client.insert_many call
// inserts (docket's limit, as Frappe's).
const loadBatch = 200

// numUsers is how many people documents are allocated to.
const numUsers = 50

// userEmail is the name of the i-th allocated user.
func userEmail(i int) string { return fmt.Sprintf("bench-user-%02d@example.com", i) }

// benchUserEmail is the user the timed requests run as.
const benchUserEmail = "bench@example.com"

// benchRole is the role whose DocPerm row lets the bench user work.
const benchRole = "Bench User"

func randomUser(rng *rand.Rand) string { return userEmail(rng.IntN(numUsers)) }

// description is 4 to 16 words, 20 to 120 characters.
func description(rng *rand.Rand) string {
	n := 4 + rng.IntN(13)
	var b strings.Builder
	for i := range n {
		w := words[rng.IntN(len(words))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

func newDoc(rng *rand.Rand, doctype string) benchDoc {
	return benchDoc{
		Doctype:     doctype,
		Description: description(rng),
		Status:      statuses.pick(rng),
		Priority:    priorities.pick(rng),
		AllocatedTo: randomUser(rng),
		Date:        firstDay.AddDate(0, 0, rng.IntN(365)).Format(time.DateOnly),
	}
}

// doctypeDef is the benchmark DocType in Frappe's JSON shape, with a
// DocPerm row for the bench role. Select, Link and Date fields are
// indexed by docket.
func doctypeDef(name string) map[string]any {
	field := func(name, typ, label string, props ...any) map[string]any {
		f := map[string]any{"fieldname": name, "fieldtype": typ, "label": label}
		for i := 0; i+1 < len(props); i += 2 {
			f[props[i].(string)] = props[i+1]
		}
		return f
	}
	return map[string]any{
		"name": name, "module": "Custom", "custom": 1, "autoname": "hash", "track_changes": 0,
		// The filtered list ("my open ToDos by due date") reads its page
		// off this composite index.
		"indexes": [][]string{{"allocated_to", "status", "date"}},
		"fields": []any{
			field("status", "Select", "Status", "options", "Open\nClosed\nCancelled", "default", "Open", "in_list_view", 1),
			field("priority", "Select", "Priority", "options", "High\nMedium\nLow", "default", "Medium", "in_list_view", 1),
			field("date", "Date", "Due Date"),
			field("allocated_to", "Link", "Allocated To", "options", "User"),
			field("description", "Small Text", "Description", "reqd", 1),
		},
		"permissions": []any{
			map[string]any{"role": benchRole, "read": 1, "write": 1, "create": 1, "delete": 1},
			map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
		},
	}
}
