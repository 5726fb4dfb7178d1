package methods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"docket/eventlog"
	"docket/projections"
	"docket/projections/meta"
)

// SecretStore keeps values that must never enter a document or an event:
// Password fields, and a User's new_password (auth.Service is one).
type SecretStore interface {
	SetSecret(ctx context.Context, doctype, name, field, value string) error
	// ForgetSecrets removes a deleted document's secrets: its Password
	// fields, and for a User its password, API key and sessions.
	ForgetSecrets(ctx context.Context, doctype, name string, fields []string, apiKey string) error
	// EndSessions ends every session (and OAuth token) a user holds: the
	// user was disabled.
	EndSessions(ctx context.Context, user string) error
}

// Options configures [Docs]. The zero value works.
type Options struct {
	// Location is the site time zone of timestamps; default time.Local.
	Location *time.Location
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// WaitTimeout bounds how long a write waits for this node's
	// projections to show it (read-your-writes); default 10s.
	WaitTimeout time.Duration
	// MaxAttempts bounds the retries of a transaction that lost a race;
	// default 64.
	MaxAttempts int
	// Secrets receives Password field values; nil rejects them.
	Secrets SecretStore
	// Logger; nil discards.
	Logger *slog.Logger
}

// Docs is the command side of documents.
type Docs struct {
	log     *eventlog.Log
	store   *projections.Store
	opts    Options
	hooks   hooks
	scripts scripts
	access  accessCache
}

// NewDocs returns the command side over a log and this node's store.
func NewDocs(lg *eventlog.Log, store *projections.Store, opts Options) *Docs {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 10 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Docs{log: lg, store: store, opts: opts}
}

// Store returns the read model the command side reads.
func (d *Docs) Store() *projections.Store { return d.store }

// Location is the site time zone.
func (d *Docs) Location() *time.Location { return d.opts.Location }

// Meta returns a doctype's schema or a DoesNotExistError.
func (d *Docs) Meta(doctype string) (*meta.DocType, error) {
	if m := d.store.Registry().Get(doctype); m != nil {
		return m, nil
	}
	return nil, newError(DoesNotExistError, "DocType %s not found", doctype)
}

// Get returns the current version of a document.
func (d *Docs) Get(doctype, name string) (map[string]any, error) {
	m, err := d.Meta(doctype)
	if err != nil {
		return nil, err
	}
	rec, err := d.store.Get(doctype, name)
	if errors.Is(err, projections.ErrNotFound) && claimsNames(m) {
		// Names compare without regard to case, as on Frappe's MariaDB.
		if stored, ok, ferr := d.store.FindName(doctype, name); ferr != nil {
			return nil, ferr
		} else if ok {
			rec, err = d.store.Get(doctype, stored)
		}
	}
	if errors.Is(err, projections.ErrNotFound) {
		return nil, NotFound(doctype, name)
	}
	if err != nil {
		return nil, err
	}
	return rec.Doc, nil
}

// Run runs fn in a transaction as user and commits what it wrote. When
// the commit loses a race (another writer changed a document, a name or a
// unique value it read) fn runs again on fresh reads, up to MaxAttempts
// times; a client that sent the version it edited ("modified") then gets a
// TimestampMismatchError from fn itself. It returns the last stream
// sequence written (0 when fn wrote nothing).
func (d *Docs) Run(ctx context.Context, user string, fn func(tx *Tx) error) (eventlog.Seq, error) {
	return d.run(ctx, user, false, fn)
}

// run is Run, with every write refused when readOnly.
func (d *Docs) run(ctx context.Context, user string, readOnly bool, fn func(tx *Tx) error) (eventlog.Seq, error) {
	for attempt := 1; ; attempt++ {
		tx := d.begin(user, attempt > 1)
		tx.readOnly = readOnly
		if err := fn(tx); err != nil {
			return 0, err
		}
		seq, err := tx.commit(ctx)
		if err == nil {
			return seq, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) || attempt >= d.opts.MaxAttempts {
			return 0, err
		}
		d.opts.Logger.Debug("transaction lost a race, retrying", "attempt", attempt, "err", err)
		// Back off a little, more with every attempt, so that many
		// writers of one document do not retry in lockstep.
		pause := time.Duration(rand.Int64N(int64(attempt)*int64(time.Millisecond)) + 1)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (d *Docs) begin(user string, fresh bool) *Tx {
	return &Tx{
		docs:     d,
		user:     user,
		id:       eventlog.NewID(),
		fresh:    fresh,
		now:      d.opts.Now(),
		staged:   map[docRef]*staged{},
		claims:   map[string]*claimState{},
		counters: map[string]*counterState{},
	}
}

// waitApplied waits until this node's projections show seq.
func (d *Docs) waitApplied(ctx context.Context, seq eventlog.Seq) {
	wctx, cancel := context.WithTimeout(ctx, d.opts.WaitTimeout)
	defer cancel()
	if err := d.store.WaitFor(wctx, seq); err != nil {
		d.opts.Logger.Warn("write committed but not yet projected", "seq", seq, "err", err)
	}
}

func nowString(t time.Time, loc *time.Location) string { return meta.Now(t, loc) }

func internalError(format string, args ...any) error {
	return fmt.Errorf("methods: "+format, args...)
}
