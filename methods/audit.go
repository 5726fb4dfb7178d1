package methods

import "context"

// DigestMethod is the whitelisted method that returns this node's
// projections digest (docket verify --api-url compares it with a rebuild
// from the log).
const DigestMethod = "docket.audit.digest"

// digest is docket.audit.digest: the [projections.Digest] of this node's
// read model, taken on one Pebble snapshot with its checkpoint, for a
// System Manager. It is local only: over NATS any node could answer, and
// the caller asks about the node it talks to.
func digest(ctx context.Context, c *Call) (any, error) {
	tx, err := localTx(c)
	if err != nil {
		return nil, err
	}
	if ok, err := tx.docs.HasRole(c.User, SystemManager); err != nil {
		return nil, err
	} else if !ok {
		return nil, &Error{Exc: PermissionError, Title: "Not Permitted",
			Msg: "Not permitted: only a System Manager may read the projections digest"}
	}
	return tx.docs.Store().Digest()
}
