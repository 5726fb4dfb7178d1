package methods

import (
	"context"
	"errors"
	"fmt"

	"docket/projections/meta"
)

// Administrator and Guest are the two users every site has.
const (
	Administrator = "Administrator"
	Guest         = "Guest"
)

// StandardRoles exist on every site.
var StandardRoles = []string{"Administrator", "System Manager", "All", "Guest", "Desk User"}

// Bootstrap creates what a new site needs and is missing: the built-in
// DocTypes, the standard roles and the Administrator and Guest users.
// The Administrator gets adminPassword when it is created. It reports
// whether it created the Administrator. Run it once the projections have
// caught up with the log. Nodes of a cluster may run it at once: one
// creates each thing, the others find it.
func (d *Docs) Bootstrap(ctx context.Context, adminPassword string) (bool, error) {
	err := d.bootstrapTx(ctx, func(tx *Tx) error {
		for _, doc := range meta.Builtins() {
			name, _ := doc[meta.FieldName].(string)
			if ok, err := tx.Exists(ctx, "DocType", name); err != nil || ok {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Insert(ctx, "DocType", doc); err != nil {
				return fmt.Errorf("create DocType %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	// In a cluster another node may have created them a moment ago: the
	// roles and users below need them in this node's projections.
	if err := d.catchUp(ctx); err != nil {
		return false, err
	}
	created := false
	err = d.bootstrapTx(ctx, func(tx *Tx) error {
		created = false
		for _, role := range StandardRoles {
			if ok, err := tx.Exists(ctx, "Role", role); err != nil || ok {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Insert(ctx, "Role", map[string]any{"role_name": role, "desk_access": int64(1)}); err != nil {
				return fmt.Errorf("create Role %s: %w", role, err)
			}
		}
		users := []map[string]any{
			{"name": Administrator, "email": "admin@example.com", "first_name": "Administrator",
				"full_name": "Administrator", "user_type": "System User", "new_password": adminPassword,
				"roles": []any{map[string]any{"role": "Administrator"}, map[string]any{"role": "System Manager"}}},
			{"name": Guest, "email": "guest@example.com", "first_name": "Guest", "full_name": "Guest",
				"user_type": "Website User", "roles": []any{map[string]any{"role": "Guest"}}},
		}
		for _, u := range users {
			name := u["name"].(string)
			if ok, err := tx.Exists(ctx, "User", name); err != nil || ok {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Insert(ctx, "User", u); err != nil {
				return fmt.Errorf("create User %s: %w", name, err)
			}
			if name == Administrator {
				created = true
			}
		}
		return nil
	})
	return created, err
}

// bootstrapTx runs a bootstrap transaction. A duplicate means another
// node of the cluster created the thing first (this node's projections
// had not shown it yet): it catches up with the log and runs it again.
func (d *Docs) bootstrapTx(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 1; ; attempt++ {
		_, err := d.runSystem(ctx, fn)
		var me *Error
		if err == nil || attempt == 5 || !errors.As(err, &me) || me.Exc != DuplicateEntryError {
			return err
		}
		if err := d.catchUp(ctx); err != nil {
			return err
		}
	}
}

// catchUp waits until this node's projections show the whole log as it
// is now (bounded as a write's wait is).
func (d *Docs) catchUp(ctx context.Context) error {
	last, err := d.log.LastSeq(ctx)
	if err != nil {
		return err
	}
	d.waitApplied(ctx, last)
	return nil
}

// runSystem runs a bootstrap transaction as Administrator.
func (d *Docs) runSystem(ctx context.Context, fn func(tx *Tx) error) (uint64, error) {
	seq, err := d.Run(ctx, Administrator, func(tx *Tx) error {
		tx.system = true
		return fn(tx)
	})
	return uint64(seq), err
}
