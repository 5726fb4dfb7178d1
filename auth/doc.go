// Package auth holds users' secrets and decides who a request is.
//
// Password hashes (argon2id), API secrets (SHA-256 of a random secret),
// other Password field values and sessions live in JetStream key-value
// buckets, never in documents or events. [Service.Authenticate] resolves a
// request in Frappe's order: a session id (cookie or argument), then an
// Authorization header (token key:secret, Basic base64(key:secret));
// otherwise the request is Guest. The package imports no other docket
// package: it learns about User documents through the [Users] interface.
package auth
