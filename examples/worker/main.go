// Command worker is an example docket worker: a separate program that
// connects to a docket node's NATS and serves whitelisted methods. Frappe
// clients call them at /api/method/<name> on any docket node, exactly as
// they call docket's own methods; the node owns each call's transaction,
// so what a method writes commits only when the call succeeds on POST.
//
//	go run ./cmd/docket --nats-listen 127.0.0.1:4222 &
//	go run ./examples/worker --nats-url nats://127.0.0.1:4222
//	curl -X POST http://localhost:8000/api/method/worker.add_todo \
//	  -H "Authorization: token $KEY:$SECRET" -d description=from+a+worker
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

	"github.com/nats-io/nats.go"

	"docket/methods"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	url := fs.String("nats-url", "nats://127.0.0.1:4222", "the docket node's NATS (docket serve --nats-listen)")
	token := fs.String("nats-token", getenv("DOCKET_NATS_TOKEN"), "the NATS token, if docket has one (env DOCKET_NATS_TOKEN)")
	id := fs.String("id", fmt.Sprintf("worker-%d", os.Getpid()), "this worker's name, returned by worker.whoami")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []nats.Option{nats.Name(*id), nats.MaxReconnects(-1)}
	if *token != "" {
		opts = append(opts, nats.Token(*token))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()

	reg := methods.NewRegistry()
	register(reg, *id)
	svc, err := methods.Serve(nc, reg, methods.ServeOptions{Name: "example-worker"})
	if err != nil {
		return err
	}
	defer svc.Stop()
	fmt.Fprintf(stdout, "%s serving %v\n", *id, reg.Names())
	<-ctx.Done()
	return nil
}

// register adds this worker's methods.
func register(reg *methods.Registry, id string) {
	// A guest-allowed read: anyone may call it, GET or POST.
	reg.Register("worker.hello", methods.MethodOptions{AllowGuest: true}, func(ctx context.Context, c *methods.Call) (any, error) {
		name := methods.StringArg(c.Args, "name")
		if name == "" {
			name = c.User
		}
		return map[string]any{"greeting": "Hello, " + name, "worker": id}, nil
	})
	// Which worker took the call (several processes may serve a method).
	reg.Register("worker.whoami", methods.MethodOptions{}, func(ctx context.Context, c *methods.Call) (any, error) {
		return id, nil
	})
	// A write: a ToDo, plus a Note when note is given. Both commit together
	// on a successful POST; fail=1 makes the call fail after writing both,
	// so that nothing is written.
	reg.Register("worker.add_todo", methods.MethodOptions{Methods: []string{"GET", "POST"}}, func(ctx context.Context, c *methods.Call) (any, error) {
		desc := methods.StringArg(c.Args, "description")
		if desc == "" {
			return nil, &methods.Error{Exc: methods.ValidationError, Msg: "description is required"}
		}
		todo, err := c.Tx.Insert(ctx, "ToDo", map[string]any{"description": desc})
		if err != nil {
			return nil, err
		}
		if note := methods.StringArg(c.Args, "note"); note != "" {
			if _, err := c.Tx.Insert(ctx, "Note", map[string]any{"title": note}); err != nil {
				return nil, err
			}
		}
		if fail, _ := methods.BoolArg(c.Args, "fail", false); fail {
			return nil, errors.New("asked to fail after writing")
		}
		c.Msgprint("ToDo " + todo["name"].(string) + " added by " + id)
		return todo["name"], nil
	})
}
