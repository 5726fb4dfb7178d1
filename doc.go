// Package docket is an event-sourced document server that speaks the
// Frappe Framework REST API. The root package holds only repository-wide
// checks (deps_test.go); the server is in cmd/docket and the packages it
// wires: eventlog, projections, methods, auth, api, monitor.
package docket
