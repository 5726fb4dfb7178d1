package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// login authenticates the admin client: with an API token when one is
// given, else with a password (a cookie session, as /api/method/login
// gives).
func login(ctx context.Context, admin *client, user, password string) error {
	if admin.auth != "" {
		return nil
	}
	return admin.do(ctx, "POST", "/api/method/login", map[string]string{"usr": user, "pwd": password}, nil)
}

// tokenHeader turns "key:secret" (or "token key:secret") into an
// Authorization header value.
func tokenHeader(t string) string {
	if t == "" || strings.HasPrefix(t, "token ") {
		return t
	}
	return "token " + t
}

// prepare creates, as an administrator, the bench role, the users
// documents are allocated to, the bench user, and the DocType (under
// another name when one of its name exists already), and returns the
// DocType's name and an API token of the bench user from generate_keys.
func prepare(ctx context.Context, admin *client, doctype string) (string, string, error) {
	create := func(doctype string, doc any) error {
		err := admin.do(ctx, "POST", resourcePath(doctype), doc, nil)
		if isStatus(err, http.StatusConflict) {
			return nil // there from an earlier run against the same server
		}
		return err
	}
	if err := create("Role", map[string]any{"role_name": benchRole}); err != nil {
		return "", "", fmt.Errorf("create role: %w", err)
	}
	for i := range numUsers {
		err := create("User", map[string]any{"email": userEmail(i), "first_name": fmt.Sprintf("Bench %02d", i), "user_type": "System User"})
		if err != nil {
			return "", "", fmt.Errorf("create user: %w", err)
		}
	}
	err := create("User", map[string]any{"email": benchUserEmail, "first_name": "Bench", "user_type": "System User",
		"roles": []any{map[string]any{"role": benchRole}}})
	if err != nil {
		return "", "", fmt.Errorf("create bench user: %w", err)
	}
	name := doctype
	for attempt := 0; ; attempt++ {
		err := admin.do(ctx, "POST", resourcePath("DocType"), doctypeDef(name), nil)
		if err == nil {
			break
		}
		if !isStatus(err, http.StatusConflict) || attempt == 3 {
			return "", "", fmt.Errorf("create DocType %s: %w", name, err)
		}
		name = fmt.Sprintf("%s %d", doctype, time.Now().UnixNano()%1e6)
	}
	var keys struct {
		Message struct {
			Key    string `json:"api_key"`
			Secret string `json:"api_secret"`
		} `json:"message"`
	}
	err = admin.do(ctx, "POST", "/api/method/frappe.core.doctype.user.user.generate_keys", map[string]string{"user": benchUserEmail}, &keys)
	if err != nil {
		return "", "", fmt.Errorf("generate keys: %w", err)
	}
	return name, tokenHeader(keys.Message.Key + ":" + keys.Message.Secret), nil
}

// whoAmI checks the client's credentials name user.
func whoAmI(ctx context.Context, c *client, user string) error {
	var out struct {
		Message string `json:"message"`
	}
	if err := c.do(ctx, "GET", "/api/method/frappe.auth.get_logged_user", nil, &out); err != nil {
		return err
	}
	if out.Message != user {
		return fmt.Errorf("logged in as %q, not %q", out.Message, user)
	}
	return nil
}

// load inserts n documents with frappe.client.insert_many from clients
// concurrent clients and returns their names and the measurement (one
// latency per call). Batch b's documents come from a generator seeded
// with (seed, b), so a run loads the same data however calls interleave.
func load(ctx context.Context, c *client, doctype string, n, clients int, seed uint64) ([]string, sample) {
	names := make([]string, n)
	batches := (n + loadBatch - 1) / loadBatch
	smp := measureJobs(ctx, clients, batches, func(ctx context.Context, b int) error {
		rng := rand.New(rand.NewPCG(seed, uint64(b)))
		lo, hi := b*loadBatch, min(n, (b+1)*loadBatch)
		docs := make([]benchDoc, 0, hi-lo)
		for range hi - lo {
			docs = append(docs, newDoc(rng, doctype))
		}
		var out struct {
			Message []string `json:"message"`
		}
		if err := c.do(ctx, "POST", "/api/method/frappe.client.insert_many", map[string]any{"docs": docs}, &out); err != nil {
			return err
		}
		if len(out.Message) != len(docs) {
			return fmt.Errorf("insert_many of %d answered %d names", len(docs), len(out.Message))
		}
		copy(names[lo:hi], out.Message)
		return nil
	})
	smp.ops = int64(n)
	if smp.firstErr != nil {
		smp.ops = 0
	}
	return names, smp
}
