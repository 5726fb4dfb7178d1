package methods

import (
	"context"
	"errors"
	"strings"
	"sync"

	"docket/auth"

	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Users answers auth's questions about User documents from this node's
// projections.
type Users struct {
	Store *projections.Store
	cache *userStates
}

// NewUsers returns the users of a store, with a cache of what auth reads
// of them on every request.
func NewUsers(store *projections.Store) Users {
	return Users{Store: store, cache: &userStates{}}
}

// userStates caches auth's view of User documents while no User
// document changed (the store's change count of User).
type userStates struct {
	mu    sync.Mutex
	stamp uint64
	m     map[string]auth.UserState
}

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
	c := u.cache
	if c == nil {
		return u.readUser(user)
	}
	stamp := u.Store.Changes("User") // before the read: a change in between makes the entry stale
	c.mu.Lock()
	if c.stamp != stamp || c.m == nil || len(c.m) >= maxCachedAccess {
		c.m, c.stamp = map[string]auth.UserState{}, stamp
	}
	st, ok := c.m[user]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := u.readUser(user)
	if err != nil {
		return st, err
	}
	c.mu.Lock()
	if c.stamp == stamp {
		c.m[user] = st
	}
	c.mu.Unlock()
	return st, nil
}

func (u Users) readUser(user string) (auth.UserState, error) {
	rec, err := u.Store.Get("User", user)
	if errors.Is(err, projections.ErrNotFound) {
		return auth.UserState{}, nil
	}
	if err != nil {
		return auth.UserState{}, err
	}
	enabled, _ := rec.Doc["enabled"].(int64)
	key, _ := rec.Doc["api_key"].(string)
	// Cloned: the cache would otherwise keep the whole record it was cut from.
	return auth.UserState{Exists: true, Enabled: enabled == 1 || user == Administrator, APIKey: strings.Clone(key)}, nil
}

// OAuthClient returns an OAuth Client document as auth needs it. Only
// System Managers may write OAuth Clients (the doctype's permissions):
// a client's redirect URIs decide where authorization codes go.
func (u Users) OAuthClient(ctx context.Context, clientID string) (auth.OAuthClient, bool, error) {
	rec, err := u.Store.Get(auth.OAuthClientDocType, clientID)
	if errors.Is(err, projections.ErrNotFound) || errors.Is(err, projections.ErrUnknownDocType) {
		return auth.OAuthClient{}, false, nil
	}
	if err != nil {
		return auth.OAuthClient{}, false, err
	}
	doc := rec.Doc
	str := func(k string) string { s, _ := doc[k].(string); return s }
	skip, _ := doc["skip_authorization"].(int64)
	return auth.OAuthClient{
		ID:                 projections.NameString(doc[meta.FieldName]),
		AppName:            str("app_name"),
		HasSecret:          str("client_secret") != "",
		User:               str("user"),
		Scopes:             strings.Fields(str("scopes")),
		RedirectURIs:       strings.Fields(str("redirect_uris")),
		DefaultRedirectURI: strings.TrimSpace(str("default_redirect_uri")),
		GrantType:          str("grant_type"),
		ResponseType:       str("response_type"),
		SkipAuthorization:  skip == 1,
	}, true, nil
}
