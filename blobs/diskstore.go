package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DiskStore is a Store in a local directory: the blob with hash h is the
// file <dir>/<h[:2]>/<h>. Uploads are written to <dir>/tmp (the same file
// system), synced, then renamed into place, so a blob's file is complete
// or absent, even after a crash. Puts of one content are serialized within
// the process; two processes sharing the directory may both write a new
// content, and the second rename replaces the first's identical file.
type DiskStore struct {
	dir   string
	tmp   string
	locks hashLocks
}

var _ Store = (*DiskStore)(nil)

// NewDiskStore opens the store in dir, creating the directory as needed.
func NewDiskStore(dir string) (*DiskStore, error) {
	s := &DiskStore{dir: dir, tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(s.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("blobs: disk store: %w", err)
	}
	removeStale(s.tmp, "put-")
	return s, nil
}

func (s *DiskStore) path(hash string) string {
	return filepath.Join(s.dir, hash[:2], hash)
}

// Put implements Store.
func (s *DiskStore) Put(ctx context.Context, r io.Reader, max int64) (Info, error) {
	sp, err := spool(ctx, s.tmp, "put-", r, max)
	if err != nil {
		return Info{}, err
	}
	renamed := false
	defer func() {
		if !renamed {
			sp.remove()
		}
	}()
	if err := sp.f.Sync(); err != nil {
		return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
	}

	unlock := s.locks.lock(sp.hash)
	defer unlock()
	if info, err := s.Stat(ctx, sp.hash); !errors.Is(err, ErrNotFound) {
		return info, err // stored already, or an error
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	sub := filepath.Dir(s.path(sp.hash))
	if err := os.Mkdir(sub, 0o750); err == nil {
		if err := syncDir(s.dir); err != nil {
			return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
	}
	if err := sp.f.Close(); err != nil {
		return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
	}
	if err := os.Rename(sp.f.Name(), s.path(sp.hash)); err != nil {
		return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
	}
	renamed = true
	if err := syncDir(sub); err != nil {
		return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
	}
	return s.Stat(ctx, sp.hash)
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open implements Store; the Blob is the open file.
func (s *DiskStore) Open(ctx context.Context, hash string) (Blob, error) {
	if !ValidHash(hash) {
		return nil, ErrNotFound
	}
	f, err := os.Open(s.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", hash, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobs: open %s: %w", hash, err)
	}
	return &diskBlob{File: f, info: infoOfFile(hash, fi)}, nil
}

// diskBlob is a Blob of a DiskStore: an open file.
type diskBlob struct {
	*os.File
	info Info
}

// Info implements Blob.
func (b *diskBlob) Info() Info { return b.info }

func infoOfFile(hash string, fi fs.FileInfo) Info {
	return Info{Hash: hash, Size: fi.Size(), Created: fi.ModTime()}
}

// Stat implements Store.
func (s *DiskStore) Stat(ctx context.Context, hash string) (Info, error) {
	if !ValidHash(hash) {
		return Info{}, ErrNotFound
	}
	fi, err := os.Stat(s.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, ErrNotFound
	}
	if err != nil {
		return Info{}, fmt.Errorf("blobs: stat %s: %w", hash, err)
	}
	return infoOfFile(hash, fi), nil
}

// Delete implements Store. (The directory is not synced: a deletion lost
// to a crash leaves a valid blob.)
func (s *DiskStore) Delete(ctx context.Context, hash string) error {
	if !ValidHash(hash) {
		return nil
	}
	unlock := s.locks.lock(hash)
	defer unlock()
	err := os.Remove(s.path(hash))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobs: delete %s: %w", hash, err)
	}
	return nil
}

// List implements Store. It reads one of the 256 subdirectories at a
// time and skips any file whose name is not a hash.
func (s *DiskStore) List(ctx context.Context, fn func(Info) error) error {
	subs, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("blobs: list: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || !isPrefixDir(sub.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		es, err := os.ReadDir(filepath.Join(s.dir, sub.Name()))
		if err != nil {
			return fmt.Errorf("blobs: list: %w", err)
		}
		for _, e := range es {
			name := e.Name()
			if !e.Type().IsRegular() || !ValidHash(name) || name[:2] != sub.Name() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("blobs: list: %w", err)
			}
			if err := fn(infoOfFile(name, fi)); err != nil {
				return err
			}
		}
	}
	return nil
}

// isPrefixDir reports whether name is two lower-case hex digits.
func isPrefixDir(name string) bool {
	return len(name) == 2 && ValidHash(strings.Repeat(name, 32))
}
