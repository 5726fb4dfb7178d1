// Package methods is docket's command side: it turns requests into
// validated, named, versioned events and commits them to the eventlog.
//
// A [Tx] reads documents (from the projections, or from the log itself
// after a conflict), applies Frappe's document rules (defaults, naming,
// field types, mandatory fields, links, unique values, docstatus
// transitions, child tables) and buffers the resulting events; Commit
// appends them atomically with optimistic concurrency and waits until this
// node's projections show them. [Docs.Run] retries a transaction that
// lost a race, unless the client pinned the version it edited.
package methods
