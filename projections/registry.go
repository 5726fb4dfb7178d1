package projections

import (
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"docket/projections/keys"
	"docket/projections/meta"
)

// Registry holds the DocTypes: the core meta doctypes from code and every
// other doctype as a projection of its DocType document. Readers get an
// immutable snapshot; the projector swaps in a new one after each commit.
type Registry struct {
	m atomic.Pointer[map[string]*meta.DocType]
}

// Get returns a doctype's schema, or nil. The result must not be changed.
func (r *Registry) Get(name string) *meta.DocType { return (*r.m.Load())[name] }

// All returns every doctype, sorted by name.
func (r *Registry) All() []*meta.DocType {
	m := *r.m.Load()
	out := make([]*meta.DocType, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name])
	}
	return out
}

func (r *Registry) snapshot() map[string]*meta.DocType { return *r.m.Load() }

func (r *Registry) replace(m map[string]*meta.DocType) { r.m.Store(&m) }

// loadRegistry builds the registry from the DocType documents in Pebble.
func loadRegistry(db *pebble.DB) (*Registry, error) {
	m := meta.Core()
	prefix := doctypePrefix(prefixDoc, "DocType")
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keys.PrefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("projections: load registry: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		rec, err := decodeRecord(it.Value())
		if err != nil {
			return nil, err
		}
		if d, err := parseDocType(rec.Doc); err == nil && !meta.IsCore(d.Name) {
			m[d.Name] = d
		}
	}
	r := &Registry{}
	r.replace(m)
	return r, it.Error()
}

func parseDocType(doc map[string]any) (*meta.DocType, error) {
	return meta.Parse(doc)
}
