// Package bench is docket's benchmark program, docket bench (issue 7):
// it measures a docket server over HTTP the way its users feel it, with
// full durability on, and the raw JetStream and Pebble ceilings under it
// in the same run, and reports each result as a ratio to its ceiling.
//
// A run starts a fresh server in a temporary directory in this process
// through the serve command's own code (a [Launch] from package main), or
// targets a running one (--url). As an administrator it creates a bench
// role, 50 users and a ToDo-shaped DocType, then generates an API key for
// a bench user who holds the role, so every timed request is
// authenticated by a real key and checked against real permissions. It
// loads documents with frappe.client.insert_many, and runs each
// operation in a closed loop for a fixed time at a fixed concurrency,
// each client on its own keep-alive connection. Latencies go into an
// HDR-style histogram. Clients run in the same process as the server, so
// they share its cores: the CPU column says how much of the machine the
// whole process used.
//
// Nothing here asserts a time: a test runs the quick preset and checks
// every operation was measured.
package bench
