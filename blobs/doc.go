// Package blobs stores file bytes by content: a blob's key is the
// SHA-256 of its content, so identical content is stored once. Store is
// the interface; ObjectStore keeps blobs in a JetStream Object Store (the
// default: a cluster replicates files with no shared disk) and DiskStore
// in a local directory. Uploads stream through the hash with a size
// limit; reads stream too, and seek without reading what they skip where
// the store allows. It imports no other docket package.
package blobs
