package methods

import (
	"context"
	"errors"
	"strings"

	"docket/auth"

	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Users answers auth's questions about User documents from this node's
// projections.
type Users struct{ Store *projections.Store }

// LookupLogin resolves a login id (the user's name, e-mail or username)
// to the user's name.
func (u Users) LookupLogin(ctx context.Context, login string) (string, bool, error) {
	login = strings.TrimSpace(login)
	if login == "" {
		return "", false, nil
	}
	ok, err := u.Store.Exists("User", login)
	if err != nil || ok {
		return login, ok, err
	}
	for _, field := range []string{"email", "username"} {
		res, err := u.Store.List(ctx, projections.Query{
			DocType: "User",
			Fields:  []query.Field{{Name: meta.FieldName}, {Name: field}},
			Filters: []query.Condition{{Field: field, Op: "=", Value: login}},
			Limit:   2,
		})
		if err != nil {
			return "", false, err
		}
		if len(res.Rows) == 1 {
			return projections.NameString(res.Rows[0][0]), true, nil
		}
	}
	return "", false, nil
}

// User returns what auth needs of a User document: whether it exists and
// is enabled (the Administrator always is), and its API key.
func (u Users) User(ctx context.Context, user string) (auth.UserState, error) {
	rec, err := u.Store.Get("User", user)
	if errors.Is(err, projections.ErrNotFound) {
		return auth.UserState{}, nil
	}
	if err != nil {
		return auth.UserState{}, err
	}
	enabled, _ := rec.Doc["enabled"].(int64)
	key, _ := rec.Doc["api_key"].(string)
	return auth.UserState{Exists: true, Enabled: enabled == 1 || user == Administrator, APIKey: key}, nil
}
