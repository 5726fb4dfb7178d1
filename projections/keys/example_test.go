package keys_test

import (
	"bytes"
	"fmt"
	"slices"

	"docket/projections/keys"
)

// Keys built from (name ASC, score DESC) tuples sort as the tuples do.
func ExampleAppendString() {
	type row struct {
		name  string
		score int64
	}
	rows := []row{{"bob", 7}, {"al", 3}, {"bob", 9}, {"al\x00x", 1}, {"al", 5}}
	var ks [][]byte
	for _, r := range rows {
		k := keys.AppendString(nil, r.name)
		k = keys.AppendValueDesc(k, r.score)
		ks = append(ks, k)
	}
	slices.SortFunc(ks, bytes.Compare)
	for _, k := range ks {
		vals, _ := keys.Decode(k)
		fmt.Printf("%q %d\n", vals[0], vals[1])
	}
	// Output:
	// "al" 5
	// "al" 3
	// "al\x00x" 1
	// "bob" 9
	// "bob" 7
}
