// Package api serves the Frappe Framework REST API over HTTP: resources
// (/api/resource/{doctype}[/{name}]), whitelisted methods
// (/api/method/{dotted.path}), password login and logout, and the v2
// routes, and an OAuth 2.0 provider at Frappe's paths. It speaks Frappe's
// wire format exactly: envelopes ({"data"}, {"message"}), status codes,
// exc_type, exception, _server_messages, null handling and Python-style
// JSON. Every route is in routes.go; every Go error becomes a Frappe error
// in errors.go, except on the OAuth endpoints (oauth.go), which answer
// RFC 6749's {"error", "error_description"}.
package api
