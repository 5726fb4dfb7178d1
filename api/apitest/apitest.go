// Package apitest runs a complete docket node for tests: a real embedded
// NATS JetStream server and real Pebble in temporary directories, and the
// real HTTP handler on a real loopback socket; plus a runner for tables of
// API scenarios.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"docket/api"
	"docket/auth"
	"docket/blobs"
	"docket/eventlog"
	"docket/methods"
	"docket/projections"
)

// AdminPassword is the Administrator's password on test nodes.
const AdminPassword = "admin-test-password"

// Node is a running docket node.
type Node struct {
	Dir       string
	URL       string
	Log       *eventlog.Log
	Store     *projections.Store
	Docs      *methods.Docs
	Auth      *auth.Service
	Projector *projections.Projector
	// Registry holds this node's methods; Dispatcher calls them, and
	// methods other processes serve over NATS.
	Registry   *methods.Registry
	Dispatcher *methods.Dispatcher
	// Blobs holds uploaded files' bytes.
	Blobs blobs.Store
	// AdminToken is an "Authorization: token key:secret" value for the
	// Administrator.
	AdminToken string
	// NATSURL is where other processes reach the node's NATS (with
	// Options.NATSListen).
	NATSURL string

	t        testing.TB
	ns       *server.Server
	nc       *nats.Conn
	http     *httptest.Server
	streams  func() // ends the change feeds being served
	stopProj context.CancelFunc
	projDone chan struct{}
	stopped  bool
	stopOnce sync.Once
}

// NATS is the node's in-process NATS connection.
func (n *Node) NATS() *nats.Conn { return n.nc }

// NATSServer is the node's embedded NATS server.
func (n *Node) NATSServer() *server.Server { return n.ns }

// Options configures a test node. The zero value works.
type Options struct {
	// NATSListen makes the embedded NATS server accept clients on a
	// random loopback port (Node.NATSURL), for workers in other processes.
	NATSListen bool
	// API configures the HTTP server (MaxBodyBytes defaults to 1 MiB
	// here; Blobs to a JetStream Object Store on the node).
	API api.Options
	// DiskFiles keeps file bytes in a directory instead.
	DiskFiles bool
}

// Start starts a node storing in dir (a new temporary directory when
// dir is ""). It stops when the test ends.
func Start(t testing.TB, dir string) *Node {
	t.Helper()
	return StartWith(t, dir, Options{})
}

// StartWith starts a node with options.
func StartWith(t testing.TB, dir string, opts Options) *Node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	n := &Node{Dir: dir, t: t}
	ctx := context.Background()
	var err error
	fail := func(err error) {
		t.Helper()
		n.Stop()
		t.Fatal(err)
	}
	listen := ""
	if opts.NATSListen {
		listen = "127.0.0.1:-1"
	}
	n.ns, err = eventlog.StartServer(eventlog.ServerOptions{StoreDir: filepath.Join(dir, "nats"), Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	if opts.NATSListen {
		n.NATSURL = n.ns.ClientURL()
	}
	if n.nc, err = eventlog.ConnectInProcess(n.ns, "apitest"); err != nil {
		fail(err)
	}
	if n.Log, err = eventlog.Open(ctx, n.nc, eventlog.Options{}); err != nil {
		fail(err)
	}
	if n.Store, err = projections.Open(filepath.Join(dir, "pebble"), projections.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20}); err != nil {
		fail(err)
	}
	pctx, cancel := context.WithCancel(context.Background())
	n.stopProj, n.projDone = cancel, make(chan struct{})
	n.Projector = projections.NewProjector(n.Store, n.Log, nil)
	go func() {
		defer close(n.projDone)
		if err := n.Projector.Run(pctx); err != nil {
			t.Errorf("projector: %v", err)
		}
	}()
	last, err := n.Log.LastSeq(ctx)
	if err != nil {
		fail(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := n.Store.WaitFor(wctx, last); err != nil {
		fail(err)
	}
	if n.Auth, err = auth.New(ctx, n.Log.JetStream(), methods.NewUsers(n.Store), auth.Options{}); err != nil {
		fail(err)
	}
	n.Docs = methods.NewDocs(n.Log, n.Store, methods.Options{Secrets: n.Auth})
	if _, err := n.Docs.Bootstrap(ctx, AdminPassword); err != nil {
		fail(err)
	}
	n.Registry = methods.NewRegistry()
	methods.RegisterBuiltins(n.Registry)
	n.Dispatcher = methods.NewDispatcher(n.Docs, n.Registry, n.nc, methods.DispatchOptions{})
	apiOpts := opts.API
	if apiOpts.MaxBodyBytes == 0 {
		apiOpts.MaxBodyBytes = 1 << 20
	}
	if apiOpts.Blobs == nil {
		tmp := filepath.Join(dir, "tmp")
		if err := os.MkdirAll(tmp, 0o750); err != nil {
			t.Fatal(err)
		}
		if opts.DiskFiles {
			n.Blobs, err = blobs.NewDiskStore(filepath.Join(dir, "files"))
		} else {
			n.Blobs, err = blobs.NewObjectStore(ctx, n.Log.JetStream(), blobs.ObjectStoreOptions{TempDir: tmp})
		}
		if err != nil {
			t.Fatal(err)
		}
		apiOpts.Blobs = n.Blobs
	}
	srv := api.New(n.Docs, n.Auth, n.Dispatcher, apiOpts)
	n.http = httptest.NewServer(srv.Handler())
	n.http.Config.RegisterOnShutdown(srv.StopStreams)
	n.streams = srv.StopStreams
	n.URL = n.http.URL
	n.AdminToken = n.NewToken(t, methods.Administrator)
	t.Cleanup(n.Stop)
	return n
}

// NewToken generates API keys for user over HTTP (as the Administrator,
// by password login) and returns the Authorization header value.
func (n *Node) NewToken(t testing.TB, user string) string {
	t.Helper()
	c := n.Client(t)
	c.Login(t, methods.Administrator, AdminPassword)
	var out struct {
		Message struct {
			Key    string `json:"api_key"`
			Secret string `json:"api_secret"`
		} `json:"message"`
	}
	c.Do(t, "POST", "/api/method/frappe.core.doctype.user.user.generate_keys", map[string]any{"user": user}, 200, &out)
	return "token " + out.Message.Key + ":" + out.Message.Secret
}

// Stop stops the node: HTTP, projector, Pebble, log, NATS.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		if n.http != nil {
			n.streams()
			n.http.Close()
		}
		if n.stopProj != nil {
			n.stopProj()
			<-n.projDone
		}
		if n.Store != nil {
			_ = n.Store.Close()
		}
		if n.Log != nil {
			n.Log.Close()
		}
		if n.nc != nil {
			n.nc.Close()
		}
		if n.ns != nil {
			n.ns.Shutdown()
			n.ns.WaitForShutdown()
		}
		n.stopped = true
	})
}

// Client is an HTTP client of a node with its own cookie jar.
type Client struct {
	Base   string
	Header http.Header
	HTTP   *http.Client
}

// Client returns a new client (no credentials).
func (n *Node) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: n.URL, Header: http.Header{}, HTTP: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// Admin returns a client that sends the Administrator's API token.
func (n *Node) Admin(t testing.TB) *Client {
	c := n.Client(t)
	c.Header.Set("Authorization", n.AdminToken)
	return c
}

// Login logs in with a password (cookie session).
func (c *Client) Login(t testing.TB, user, password string) {
	t.Helper()
	c.Do(t, "POST", "/api/method/login", map[string]any{"usr": user, "pwd": password}, 200, nil)
}

// Response is a raw response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Raw sends a request with a raw body and content type.
func (c *Client) Raw(t testing.TB, method, path, contentType string, body []byte) *Response {
	t.Helper()
	req, err := http.NewRequest(method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Do sends body as JSON (nil: no body), checks the status and decodes the
// response into out (when not nil).
func (c *Client) Do(t testing.TB, method, path string, body any, wantStatus int, out any) *Response {
	t.Helper()
	var raw []byte
	ct := ""
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
		ct = "application/json"
	}
	resp := c.Raw(t, method, path, ct, raw)
	if wantStatus != 0 && resp.Status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.Status, wantStatus, resp.Body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, resp.Body, err)
		}
	}
	return resp
}

// Scenario is one API call and what must come back.
type Scenario struct {
	Name string
	// Setup runs before the request (e.g. creating documents); it may
	// return values for Path and Body templates ({{key}}).
	Setup func(t *testing.T, n *Node) map[string]string
	// As is "admin" (token, the default), "guest", "session" (admin by
	// password) or a raw Authorization header value.
	As          string
	Method      string
	Path        string
	ContentType string // default application/json when Body is set
	Body        string
	Header      map[string]string
	WantStatus  int
	// WantContains and WantNotContains are substrings of the body.
	WantContains    []string
	WantNotContains []string
	// Check inspects the decoded JSON body.
	Check func(t *testing.T, n *Node, body map[string]any)
}

// Run runs scenarios against one node, each as a subtest, in order.
func Run(t *testing.T, n *Node, scenarios []Scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			vars := map[string]string{}
			if sc.Setup != nil {
				vars = sc.Setup(t, n)
			}
			expand := func(s string) string {
				for k, v := range vars {
					s = strings.ReplaceAll(s, "{{"+k+"}}", v)
				}
				return s
			}
			c := n.Client(t)
			switch sc.As {
			case "", "admin":
				c.Header.Set("Authorization", n.AdminToken)
			case "guest":
			case "session":
				c.Login(t, methods.Administrator, AdminPassword)
			default:
				c.Header.Set("Authorization", sc.As)
			}
			for k, v := range sc.Header {
				c.Header.Set(k, v)
			}
			ct := sc.ContentType
			if ct == "" && sc.Body != "" {
				ct = "application/json"
			}
			resp := c.Raw(t, sc.Method, expand(sc.Path), ct, []byte(expand(sc.Body)))
			if sc.WantStatus != 0 && resp.Status != sc.WantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.Status, sc.WantStatus, resp.Body)
			}
			body := string(resp.Body)
			for _, s := range sc.WantContains {
				if !strings.Contains(body, expand(s)) {
					t.Errorf("body lacks %q: %s", expand(s), body)
				}
			}
			for _, s := range sc.WantNotContains {
				if strings.Contains(body, expand(s)) {
					t.Errorf("body has %q: %s", expand(s), body)
				}
			}
			if sc.Check != nil {
				var m map[string]any
				if err := json.Unmarshal(resp.Body, &m); err != nil {
					t.Fatalf("body is not a JSON object: %s", body)
				}
				sc.Check(t, n, m)
			}
		})
	}
}
