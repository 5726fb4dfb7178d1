// Command docket is the docket document server: one binary that runs an
// embedded NATS JetStream server (the log), Pebble projections (the read
// model) and the Frappe-compatible HTTP API, and the tools of an auditor.
//
//	docket [serve] [--data DIR] [--http ADDR]
//	docket verify [--data DIR | --nats-url URL [--api-url URL]]
//	docket replay [--data DIR | --nats-url URL] [--doctype D] [--name N] [--user U] …
//	docket bench [--docs N] [--duration D] [--clients C] [--only OPS] [--quick] [--json] [--url URL]
//	docket backup [--data DIR | --nats-url URL] --out DIR|FILE.tar|-
//	docket restore --in DIR|FILE.tar|- (--data NEWDIR | --nats-url URL)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(mainCode(os.Args[1:])) }

// mainCode runs a command until it ends or SIGINT or SIGTERM asks it to
// stop (serve then drains and exits 0), and returns the exit code. A
// second signal ends the process at once.
func mainCode(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	paceGC(ctx)
	go func() {
		<-ctx.Done()
		stop() // the next signal gets the default action
	}()
	err := run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // -h printed the flags
		return 0
	case err != nil:
		fmt.Fprintln(os.Stderr, "docket:", err)
		return 1
	}
	return 0
}

// run dispatches a subcommand; serve is the default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServeFlags(args, getenv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr, nil)
	case "verify":
		return verifyCommand(ctx, args, getenv, stdout, stderr)
	case "replay":
		return replayCommand(ctx, args, getenv, stdout, stderr)
	case "bench":
		return benchCommand(ctx, args, getenv, stdout, stderr)
	case "backup":
		return backupCommand(ctx, args, getenv, stdout, stderr)
	case "restore":
		return restoreCommand(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  docket [serve] [flags]   run the server (docket serve -h lists the flags)
  docket verify [flags]    check every document's hash chain in the log, and the projections
                           against a rebuild from the log; exits 1 when something is wrong
                           (--data DIR of a stopped node, or --nats-url URL with --api-url or --pebble)
  docket replay [flags]    print document events as JSON lines, filtered by --doctype, --name,
                           --user, --since-seq, --until-seq, --since, --until
  docket bench [flags]     measure a fresh in-process server (or --url) over HTTP against the
                           raw JetStream and Pebble ceilings of this machine (--quick: a short run)
  docket backup --out DIR|FILE.tar|-   copy the log, the key-value buckets and the file store
                           (--data DIR of a stopped node, or --nats-url URL of a running one)
  docket restore --in DIR|FILE.tar|- --data NEWDIR   restore a backup into a new data directory
                           (or --nats-url URL: into a JetStream without docket's streams)
  docket help              this text
Each command lists its flags with -h.`
