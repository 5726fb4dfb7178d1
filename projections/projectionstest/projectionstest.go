// Package projectionstest changes a Pebble read model behind the
// projector's back, for tests of the tools that must notice (docket
// verify).
package projectionstest

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"docket/projections/keys"
)

// SetField rewrites one field of a document's record in db.
func SetField(t testing.TB, db *pebble.DB, doctype, name, field string, value any) {
	t.Helper()
	k := keys.AppendString(keys.AppendString([]byte{'d'}, doctype), name)
	v, closer, err := db.Get(k)
	if err != nil {
		t.Fatalf("record of %s %s: %v", doctype, name, err)
	}
	var rec map[string]any
	err = msgpack.Unmarshal(v, &rec)
	closer.Close()
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := rec["doc"].(map[string]any)
	if !ok {
		t.Fatalf("record of %s %s has no document", doctype, name)
	}
	doc[field] = value
	if v, err = msgpack.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := db.Set(k, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// SetFieldInDir is SetField on the Pebble directory of a store no one
// has open.
func SetFieldInDir(t testing.TB, dir, doctype, name, field string, value any) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	SetField(t, db, doctype, name, field, value)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// quiet is a Pebble logger that says nothing.
type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
