package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"docket/eventlog"
	"docket/eventlog/backup"
)

// filesDir is where a backup keeps the bytes of a node that stores files
// on disk (--file-store disk: DIR/files).
const filesDir = "files"

// backupCommand is docket backup.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		src sourceFlags
		out string
		fs  = flag.NewFlagSet("backup", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	src.register(fs, getenv)
	fs.StringVar(&out, "out", "", "where the backup goes: a new or empty directory, a FILE.tar, or - (a tar on standard output)")
	if err := src.parse(fs, args); err != nil {
		return err
	}
	if out == "" {
		return errors.New("backup: --out is required")
	}
	report := stdout
	if out == "-" {
		report = stderr
	}
	start := time.Now()
	s, err := openSource(ctx, src, 1<<20)
	if err != nil {
		return err
	}
	defer s.close()

	dir, tarOut := out, out == "-" || strings.HasSuffix(out, ".tar")
	if tarOut { // the tar is made from a directory beside it, then removed
		parent := ""
		if out != "-" {
			parent = filepath.Dir(out)
		}
		if dir, err = os.MkdirTemp(parent, ".docket-backup-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	m, err := backup.Write(ctx, s.log.JetStream().Conn(), dir, backup.Options{Progress: func(st backup.Stream, took time.Duration) {
		fmt.Fprintf(report, "%s: %s up to seq %d, %s archived, %s\n", st.Name, plural(st.Messages, "message"), st.LastSeq, bytesText(st.Size), took.Round(time.Millisecond))
	}})
	if err != nil {
		return err
	}
	if src.natsURL == "" {
		if n, err := copyFiles(filepath.Join(src.data, filesDir), filepath.Join(dir, filesDir)); err != nil {
			return err
		} else if n > 0 {
			fmt.Fprintf(report, "files on disk: %d copied from %s\n", n, filepath.Join(src.data, filesDir))
		}
	}
	if !hasStream(m, "OBJ_docket_files") {
		fmt.Fprintln(report, "note: no file store in JetStream; a node that keeps files on disk (--file-store disk) has them in DIR/files: copy them too")
	}
	if tarOut {
		if err := writeTar(out, dir); err != nil {
			return err
		}
	}
	fmt.Fprintf(report, "backup of %s written to %s in %s\n", plural(uint64(len(m.Streams)), "stream"), out, time.Since(start).Round(time.Millisecond))
	return nil
}

// writeTar writes the backup in dir as a tar to path, or to standard
// output for "-".
func writeTar(path, dir string) error {
	if path == "-" {
		return backup.WriteTar(os.Stdout, dir)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if err := backup.WriteTar(f, dir); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// restoreCommand is docket restore.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	var (
		in, data, natsURL, natsToken string
		replicas                     int
		fs                           = flag.NewFlagSet("restore", flag.ContinueOnError)
	)
	fs.SetOutput(stderr)
	fs.StringVar(&in, "in", "", "the backup: a directory, a FILE.tar, or - (a tar on standard input)")
	fs.StringVar(&data, "data", "", "restore into this new data directory (it must hold no nats/ or pebble/ yet); start docket on it next")
	fs.StringVar(&natsURL, "nats-url", "", "restore into the JetStream of this NATS instead (it must hold none of docket's streams)")
	fs.StringVar(&natsToken, "nats-token", getenv("DOCKET_NATS_TOKEN"), "the token NATS asks for; env DOCKET_NATS_TOKEN")
	fs.IntVar(&replicas, "replicas", 0, "with --nats-url: replicas of every stream (default: as backed up); with --data always 1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	case in == "":
		return errors.New("restore: --in is required")
	case (data == "") == (natsURL == ""):
		return errors.New("restore: give --data DIR or --nats-url URL")
	}
	if data != "" && replicas != 0 {
		return errors.New("restore: --replicas goes with --nats-url (with --data every stream has 1)")
	}
	start := time.Now()
	if data != "" {
		for _, sub := range []string{"nats", "pebble", filesDir} {
			if entries, err := os.ReadDir(filepath.Join(data, sub)); err == nil && len(entries) > 0 {
				return fmt.Errorf("restore: %s holds data already: restore into a new directory", filepath.Join(data, sub))
			}
		}
		if err := os.MkdirAll(data, 0o750); err != nil {
			return err
		}
	}
	dir, err := backupDir(in, data)
	if err != nil {
		return err
	}
	if dir != in {
		defer os.RemoveAll(dir)
	}
	if _, err := backup.ReadManifest(dir); err != nil { // before anything is written
		return err
	}

	var nc *nats.Conn
	if data != "" {
		// No fsync per message (a restore cut short is done again); every
		// file is synced once the server has stopped.
		natsDir := filepath.Join(data, "nats")
		ns, serr := eventlog.StartServer(eventlog.ServerOptions{StoreDir: natsDir, SyncInterval: time.Hour})
		if serr != nil {
			return serr
		}
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
			if err == nil {
				err = syncTree(natsDir)
			}
			if err != nil { // leave the directory as it was, for another try
				os.RemoveAll(natsDir)
			}
		}()
		if nc, err = eventlog.ConnectInProcess(ns, "docket restore"); err != nil {
			return err
		}
		replicas = 1
	} else {
		if nc, err = dialNATS(natsURL, natsToken, "docket restore"); err != nil {
			return err
		}
	}
	defer nc.Close()
	m, err := backup.Restore(ctx, nc, dir, backup.RestoreOptions{Replicas: replicas, Progress: func(st backup.Stream, took time.Duration) {
		fmt.Fprintf(stdout, "%s: %s up to seq %d restored, %s\n", st.Name, plural(st.Messages, "message"), st.LastSeq, took.Round(time.Millisecond))
	}})
	if err != nil {
		return err
	}
	if n, err := os.ReadDir(filepath.Join(dir, filesDir)); err == nil && len(n) > 0 {
		if data == "" {
			fmt.Fprintf(stdout, "note: the backup holds files of a node that kept them on disk: copy %s to that node's DIR/files\n", filepath.Join(in, filesDir))
		} else if k, err := copyFiles(filepath.Join(dir, filesDir), filepath.Join(data, filesDir)); err != nil {
			return err
		} else {
			fmt.Fprintf(stdout, "files on disk: %d restored to %s\n", k, filepath.Join(data, filesDir))
		}
	}
	fmt.Fprintf(stdout, "backup of %s restored in %s", m.Created.Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
	if data != "" {
		fmt.Fprintf(stdout, "; start docket with --data %s: its projections are rebuilt from the log on the first start", data)
	}
	fmt.Fprintln(stdout)
	return nil
}

// backupDir returns the directory of the backup in: in itself, or a tar
// (a file, or - for standard input) unpacked into a temporary directory
// beside data (or the system's) that the caller removes.
func backupDir(in, data string) (string, error) {
	var r io.Reader = os.Stdin
	if in != "-" {
		fi, err := os.Stat(in)
		if err != nil {
			return "", err
		}
		if fi.IsDir() {
			return in, nil
		}
		f, err := os.Open(in)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	dir, err := os.MkdirTemp(data, ".docket-restore-")
	if err != nil {
		return "", err
	}
	if _, err := backup.ExtractTar(r, dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// copyFiles copies the files of a disk file store (not its tmp) from one
// directory into another, and counts them; a missing from is none.
func copyFiles(from, to string) (int, error) {
	n := 0
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == from {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == "tmp" {
				return fs.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o750)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		n++
		return copyFile(path, filepath.Join(to, rel))
	})
	return n, err
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// syncTree fsyncs every file and directory under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !(d.IsDir() || d.Type().IsRegular()) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func hasStream(m *backup.Manifest, name string) bool {
	for _, s := range m.Streams {
		if s.Name == name {
			return true
		}
	}
	return false
}

// plural writes "1 message", "2 messages".
func plural(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// bytesText writes a size for people: 512 B, 3.4 MB.
func bytesText(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
