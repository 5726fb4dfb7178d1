package blobs

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors callers branch on.
var (
	// ErrNotFound: no blob has that hash.
	ErrNotFound = errors.New("blobs: not found")
	// ErrTooLarge: the content is longer than the limit Put was given;
	// nothing was stored.
	ErrTooLarge = errors.New("blobs: content exceeds the size limit")
)

// Info describes a stored blob.
type Info struct {
	// Hash is the lower-case hex SHA-256 of the content: the blob's key.
	Hash string
	// Size is the content's length in bytes.
	Size int64
	// Created is when the content was first stored.
	Created time.Time
}

// Blob is an open blob. Seek only moves the position: the store reads
// from there on the next Read, so serving a range does not read what it
// skips where the store can avoid it. Close releases it.
type Blob interface {
	io.ReadSeekCloser
	Info() Info
}

// Store is a content-addressed blob store. Its methods are safe for
// concurrent use.
type Store interface {
	// Put reads r to its end and stores the content under its SHA-256. At
	// most max bytes are read (max <= 0: no limit): longer content is
	// ErrTooLarge. A read error (a truncated upload) is returned as it is.
	// In both cases nothing is stored. Content that is already stored is
	// not stored again (concurrent Puts of one content store it once); the
	// Info is the stored blob's.
	Put(ctx context.Context, r io.Reader, max int64) (Info, error)
	// Open opens a blob for reading, or returns ErrNotFound.
	Open(ctx context.Context, hash string) (Blob, error)
	// Stat describes a blob, or returns ErrNotFound.
	Stat(ctx context.Context, hash string) (Info, error)
	// Delete removes a blob; a missing one is no error.
	Delete(ctx context.Context, hash string) error
	// List calls fn for every stored blob, in no particular order, until
	// fn returns an error (which List returns).
	List(ctx context.Context, fn func(Info) error) error
}

// ValidHash reports whether s has the form of a blob key (64 lower-case
// hex digits).
func ValidHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
