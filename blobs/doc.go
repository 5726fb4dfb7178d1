// Package blobs will hold file bytes: a content-addressed store
// (JetStream Object Store by default, so that a cluster replicates files
// without a shared disk, and a local-disk store), with streaming uploads
// hashed (SHA-256) and bounded in size. It imports no other docket
// package. The file upload issue fills it; until then docket stores no
// files.
package blobs
