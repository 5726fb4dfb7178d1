// Package eventlog is docket's source of truth: an append-only log of
// document versions in the NATS JetStream stream DOCS.
//
// Every message on subject docs.<doctype>.<name> is one version of one
// document, encoded as a msgpack [Event] envelope. Writers append with
// optimistic concurrency (the stream sequence of the version a write was
// based on), idempotent retries (Nats-Msg-Id) and atomic batches for
// events that must commit together; all appends go through a group-commit
// queue so that concurrent writers share fsyncs. Readers consume the log
// in order from any sequence.
//
// The package also starts the embedded NATS server that single-node docket
// runs. It imports no other docket package.
package eventlog
