// Package auth holds users' secrets, decides who a request is, and is
// docket's OAuth 2.0 authorization server.
//
// Password hashes (argon2id), API secrets (SHA-256 of a random secret),
// other Password field values and sessions live in JetStream key-value
// buckets, never in documents or events. [Service.Authenticate] resolves a
// request in Frappe's order: a session id (cookie or argument), then an
// Authorization header (token key:secret, Basic base64(key:secret), Bearer
// <OAuth access token>); otherwise the request is Guest.
//
// The OAuth 2.0 provider (oauth.go) issues authorization codes (with PKCE
// S256 and OpenID nonces), access and refresh tokens for the clients of
// OAuth Client documents. Codes and tokens are stored in the secrets
// bucket under their SHA-256, never as such; codes are single use,
// refresh tokens rotate, and a replayed code or refresh token revokes
// every token of its grant.
//
// The package imports no other docket package: it learns about User
// documents through the [Users] interface, and about OAuth Client
// documents through [OAuthClients], which the Users value may implement.
package auth
