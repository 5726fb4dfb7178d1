package projections

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"

	"github.com/cockroachdb/pebble/v2"

	"docket/eventlog"
	"docket/projections/keys"
)

// Digest is a fingerprint of every key and value of a store at one
// checkpoint, whole and in parts (one per kind of key and doctype), so
// that two stores compare without moving their contents: docket verify
// compares a running node's digest with a rebuild's at the same
// checkpoint, and names the parts that differ.
type Digest struct {
	// Checkpoint is the last stream sequence the store had applied.
	Checkpoint eventlog.Seq `json:"checkpoint"`
	// Keys counts every key.
	Keys int64 `json:"keys"`
	// SHA256 is the hex SHA-256 of every key and value in key order,
	// each as uvarint length and bytes.
	SHA256 string       `json:"sha256"`
	Parts  []DigestPart `json:"parts"`
}

// DigestPart is the digest of the keys of one kind and doctype.
type DigestPart struct {
	// Kind is documents, tombstones, index entries, index lists, counts,
	// versions or meta (the checkpoint).
	Kind    string `json:"kind"`
	DocType string `json:"doctype,omitempty"`
	Keys    int64  `json:"keys"`
	SHA256  string `json:"sha256"`
}

// kindNames names the kinds of keys by their prefix byte.
var kindNames = map[byte]string{
	prefixDoc:       "documents",
	prefixTombstone: "tombstones",
	prefixIndex:     "index entries",
	prefixReverse:   "index lists",
	prefixCount:     "counts",
	prefixVersion:   "versions",
	prefixMeta:      "meta",
}

// Digest computes the store's digest on one snapshot, so its checkpoint
// and its contents agree even while the projector writes.
func (s *Store) Digest() (*Digest, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	d := &Digest{}
	v, closer, err := snap.Get(checkpointKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("projections: digest: %w", err)
	default:
		if len(v) == 8 {
			d.Checkpoint = eventlog.Seq(binary.BigEndian.Uint64(v))
		}
		closer.Close()
	}
	it, err := snap.NewIter(nil)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	total := sha256.New()
	var (
		part       *DigestPart
		partHash   hash.Hash
		partPrefix []byte
	)
	finish := func() {
		if part != nil {
			part.SHA256 = hex.EncodeToString(partHash.Sum(nil))
			d.Parts = append(d.Parts, *part)
		}
	}
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if part == nil || !bytes.HasPrefix(k, partPrefix) {
			finish()
			part, partHash = &DigestPart{Kind: kindNames[k[0]]}, sha256.New()
			partPrefix = bytes.Clone(k[:1])
			if part.Kind == "" {
				part.Kind = fmt.Sprintf("prefix %q", k[0])
			}
			// Every kind but meta starts with the doctype: its encoded
			// component, complete, ends the part's prefix.
			if k[0] != prefixMeta {
				if dt, rest, err := keys.DecodeOne(k[1:]); err == nil {
					part.DocType = fmt.Sprint(dt)
					partPrefix = bytes.Clone(k[:len(k)-len(rest)])
				}
			}
		}
		writeEntry(total, k, v)
		writeEntry(partHash, k, v)
		part.Keys++
		d.Keys++
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("projections: digest: %w", err)
	}
	finish()
	d.SHA256 = hex.EncodeToString(total.Sum(nil))
	return d, nil
}

// writeEntry hashes a key and its value, each framed by its length.
func writeEntry(h hash.Hash, k, v []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(k)))])
	h.Write(k)
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))])
	h.Write(v)
}
