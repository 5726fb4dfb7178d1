// Package projections is docket's read side: projector workers fold the
// eventlog into Pebble, and queries read only Pebble.
//
// The [Store] keeps each document's current version, secondary indexes on
// the fields DESIGN.md names (so filters and ordering use an index), per
// value counters (so most counts need no scan), a version index per
// document (version → stream sequence) and the projector checkpoint, all
// written in the same Pebble batch. The [Registry] of DocTypes is itself a
// projection of DocType documents. Everything here can be rebuilt by
// deleting the Pebble directory and replaying the log; [Compare] and
// [Store.Digest] tell whether a store is what the log says it is, key by
// key or by digest (docket verify compares a node's store with a rebuild).
package projections
