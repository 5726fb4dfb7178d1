package projections

import "github.com/cockroachdb/pebble/v2"

// DBForTest exposes a store's Pebble database to the tests of this
// package (dumps of every key, consistent checkpoints).
func DBForTest(s *Store) *pebble.DB { return s.db }

// MaxIndexedStringForTest is the number of bytes of a string value kept in
// an index or counter key.
const MaxIndexedStringForTest = maxIndexedString
