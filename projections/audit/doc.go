// Package audit checks docket's history and read model for auditors, and
// replays history.
//
// [Verify] re-reads the whole DOCS stream: every document subject's hash
// chain (versions 1, 2, 3 … without gaps, each naming the SHA-256 and the
// sequence of the version before it), every envelope (it decodes, and
// names the document of its subject), the stream's own sequence (no
// message deleted) and its settings (deletes and purges denied). At the
// same time it rebuilds the projections from the log into a temporary
// directory, up to the checkpoint of the read model under audit, and
// compares the two: key by key with a store it can open (a stopped
// node's), or by digest with a running node's ([projections.Digest]).
//
// [Replay] prints document events as JSON lines, filtered by doctype,
// name, user, sequence and time, reading only the subjects it needs.
package audit
