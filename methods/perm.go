package methods

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Role permissions, as Frappe decides them: the DocPerm rows of a DocType
// grant rights to roles; a user holds the roles of its User document plus
// the automatic ones. Rows at permlevel 0 grant rights on documents, rows
// at higher levels grant reading and writing the fields of that level.
// A right every granting row limits with if_owner covers only the user's
// own documents. User Permission documents then limit which values of a
// linked doctype the user's documents may hold. A few built-in doctypes
// add rules of their own (a user's own User document, ToDos assigned to
// the user). The Administrator passes every check; so does the system
// (bootstrap).

// Rights a DocPerm row grants.
const (
	PermSelect = "select"
	PermRead   = "read"
	PermWrite  = "write"
	PermCreate = "create"
	PermDelete = "delete"
	PermSubmit = "submit"
	PermCancel = "cancel"
	PermAmend  = "amend"
)

// Rights lists every right of a DocPerm row, in Frappe's order.
var Rights = []string{"select", "read", "write", "create", "delete", "submit", "cancel", "amend",
	"report", "export", "import", "share", "print", "email"}

// Automatic roles: every user has Guest, every logged-in user All,
// every System User Desk User.
const (
	RoleAll      = "All"
	RoleGuest    = "Guest"
	RoleDeskUser = "Desk User"
)

// UserPermissionDocType names the doctype of User Permissions.
const UserPermissionDocType = "User Permission"

// access is what one user may do: its roles and User Permissions, read
// once per transaction.
type access struct {
	tx    *Tx // the transaction it belongs to (rules that read other documents)
	user  string
	admin bool // the Administrator: every check passes
	roles map[string]bool
	// allowed holds the User Permissions by the doctype they restrict.
	allowed map[string][]userPerm
	// exempt: the user may write User Permissions (a System Manager), so
	// none apply to it, as in Frappe.
	exempt bool
}

// userPerm is one User Permission: value of doctype allow may be used,
// in every doctype or (applicableFor) in one.
type userPerm struct {
	value         string
	applicableFor string
}

// access returns the transaction user's access, loading it on first use.
func (tx *Tx) access(ctx context.Context) (*access, error) {
	if tx.acc == nil {
		a, err := tx.docs.cachedAccess(ctx, tx.user)
		if err != nil {
			return nil, err
		}
		a.tx = tx
		tx.acc = a
	}
	return tx.acc, nil
}

// accessCache keeps users' access (roles, User Permissions) while the
// documents it is read from are unchanged: reading a User document and
// listing its User Permissions on every request is most of a read's
// cost otherwise.
type accessCache struct {
	mu    sync.Mutex
	stamp [3]uint64 // the store's change counts of User, User Permission, DocType
	m     map[string]*access
}

// maxCachedAccess bounds the cache: past it, it starts over.
const maxCachedAccess = 10_000

// cachedAccess returns a copy of a user's access, from the cache when
// nothing it depends on changed since it was read. The change counts are
// read before the documents, so a change that lands in between leaves
// the entry already stale, never stale for good.
func (d *Docs) cachedAccess(ctx context.Context, user string) (*access, error) {
	stamp := [3]uint64{d.store.Changes("User"), d.store.Changes(UserPermissionDocType), d.store.Changes("DocType")}
	c := &d.access
	c.mu.Lock()
	if c.stamp != stamp || c.m == nil || len(c.m) >= maxCachedAccess {
		c.m, c.stamp = map[string]*access{}, stamp
	}
	cached := c.m[user]
	c.mu.Unlock()
	if cached == nil {
		a, err := d.accessOf(ctx, user)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.stamp == stamp {
			c.m[user] = a
		}
		c.mu.Unlock()
		cached = a
	}
	cp := *cached // the maps are read-only once built
	return &cp, nil
}

// accessOf reads a user's roles and User Permissions.
func (d *Docs) accessOf(ctx context.Context, user string) (*access, error) {
	a := &access{user: user, roles: map[string]bool{RoleGuest: true}}
	if user == Administrator {
		a.admin = true
		return a, nil
	}
	if user == Guest || user == "" {
		return a, nil
	}
	rec, err := d.store.Get("User", user)
	switch {
	case err == nil:
		for _, r := range meta.Rows(rec.Doc["roles"]) {
			// Automatic roles come from who the user is, never from rows.
			if role, _ := r["role"].(string); role != "" && !automaticRole(role) {
				a.roles[strings.Clone(role)] = true // cached: not a cut of the whole record
			}
		}
		a.roles[RoleAll] = true
		if t, _ := rec.Doc["user_type"].(string); t != "Website User" {
			a.roles[RoleDeskUser] = true
		}
	case err == projections.ErrNotFound:
		return a, nil // a user deleted a moment ago: Guest's rights
	default:
		return nil, err
	}
	up := d.store.Registry().Get(UserPermissionDocType)
	if up == nil {
		return a, nil
	}
	if r := a.rule(up, PermWrite); r.ok && r.only == nil {
		a.exempt = true
		return a, nil
	}
	res, err := d.store.List(ctx, projections.Query{
		DocType: UserPermissionDocType,
		Fields: []query.Field{{Name: "allow"}, {Name: "for_value"}, {Name: "apply_to_all_doctypes"},
			{Name: "applicable_for"}},
		Filters: []query.Condition{{Field: "user", Op: "=", Value: user}},
	})
	if err != nil {
		return nil, err
	}
	for _, row := range res.Rows {
		// Cloned: the cache would otherwise keep the records they were cut from.
		allow, value := strings.Clone(projections.NameString(row[0])), strings.Clone(projections.NameString(row[1]))
		if allow == "" || value == "" {
			continue
		}
		p := userPerm{value: value}
		if all, _ := row[2].(int64); all == 0 {
			p.applicableFor = strings.Clone(projections.NameString(row[3]))
		}
		if a.allowed == nil {
			a.allowed = map[string][]userPerm{}
		}
		a.allowed[allow] = append(a.allowed[allow], p)
	}
	return a, nil
}

// rule is what a right covers: nothing (ok false), every document (only
// nil), or the documents only accepts.
type rule struct {
	ok   bool
	only func(doc map[string]any) bool
}

// rule returns what a right on a doctype covers by role permissions and
// the doctype's own rules; User Permissions come on top (docRule).
func (a *access) rule(d *meta.DocType, right string) rule {
	if a.admin {
		return rule{ok: true}
	}
	var r rule
	ownerOnly := false
	for _, p := range d.Permissions {
		if p.Permlevel != 0 || !a.roles[p.Role] || !p.Has(right) {
			continue
		}
		if p.IfOwner && right != PermCreate {
			ownerOnly = true
			continue
		}
		r.ok, ownerOnly = true, false
		break
	}
	if ownerOnly {
		r = rule{ok: true, only: a.owns}
	}
	if own := ownRules[d.Name]; own != nil {
		r = own(a, d, right, r)
	}
	return r
}

// owns reports whether the user created doc (compared without regard to
// case, as Frappe does).
func (a *access) owns(doc map[string]any) bool {
	owner, _ := doc[meta.FieldOwner].(string)
	return strings.EqualFold(owner, a.user)
}

// ownRules are the permission rules of built-in doctypes, as Frappe's
// has_permission and permission_query_conditions hooks: each gets the
// rule of the role permissions and returns the rule that holds.
var ownRules = map[string]func(a *access, d *meta.DocType, right string, r rule) rule{
	// A user reads and writes its own User document (Frappe shares it with
	// the user); only the Administrator sees the Administrator and Guest.
	"User": func(a *access, d *meta.DocType, right string, r rule) rule {
		self := func(doc map[string]any) bool { return projections.NameString(doc[meta.FieldName]) == a.user }
		notStandard := func(doc map[string]any) bool {
			name := projections.NameString(doc[meta.FieldName])
			return name != Administrator && name != Guest
		}
		if right == PermRead || right == PermWrite {
			if !r.ok {
				return rule{ok: true, only: self}
			}
			return rule{ok: true, only: either(both(r.only, notStandard), self)}
		}
		if r.ok {
			r.only = both(r.only, notStandard)
		}
		return r
	},
	// A Note is for its writer, or for everyone once public.
	"Note": func(a *access, d *meta.DocType, right string, r rule) rule {
		if !r.ok || right == PermCreate {
			return r
		}
		public := func(doc map[string]any) bool { p, _ := doc["public"].(int64); return p == 1 }
		return rule{ok: true, only: both(r.only, either(public, a.owns))}
	},
	// A ToDo is for the user it is allocated to, the user who assigned it
	// and the user who wrote it, unless a role other than the automatic
	// ones grants the right.
	"ToDo": func(a *access, d *meta.DocType, right string, r rule) rule {
		if !r.ok || right == PermCreate {
			return r
		}
		for _, p := range d.Permissions {
			if p.Permlevel == 0 && a.roles[p.Role] && p.Has(right) && !automaticRole(p.Role) {
				return r
			}
		}
		mine := func(doc map[string]any) bool {
			for _, f := range []string{"allocated_to", "assigned_by"} {
				if v, _ := doc[f].(string); strings.EqualFold(v, a.user) {
					return true
				}
			}
			return a.owns(doc)
		}
		return rule{ok: true, only: both(r.only, mine)}
	},
}

func automaticRole(role string) bool {
	return role == RoleAll || role == RoleGuest || role == RoleDeskUser || role == Administrator
}

// both is the conjunction of two document predicates (nil: any document).
func both(a, b func(map[string]any) bool) func(map[string]any) bool {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(doc map[string]any) bool { return a(doc) && b(doc) }
}

// either is the disjunction of two document predicates (nil: any document).
func either(a, b func(map[string]any) bool) func(map[string]any) bool {
	if a == nil || b == nil {
		return nil
	}
	return func(doc map[string]any) bool { return a(doc) || b(doc) }
}

// docRule is rule with the user's User Permissions added: a document of d
// qualifies only if its name (when d itself is restricted) and every
// non-empty Link value, in the document and in its child rows, is one the
// user is allowed.
func (a *access) docRule(reg *projections.Registry, d *meta.DocType, right string) rule {
	r := a.rule(d, right)
	if !r.ok {
		return r
	}
	if v := a.userPermViolation(reg, d); v != nil {
		r.only = both(r.only, func(doc map[string]any) bool { return v(doc) == "" })
	}
	return r
}

// allowedValues are the values of doctype target the user may use in a
// document of doctype in; nil when no User Permission applies.
func (a *access) allowedValues(target, in string) map[string]bool {
	var out map[string]bool
	for _, p := range a.allowed[target] {
		if p.applicableFor != "" && p.applicableFor != in {
			continue
		}
		if out == nil {
			out = map[string]bool{}
		}
		out[query.FoldKey(p.value)] = true
	}
	return out
}

// userPermViolation returns the User Permission test of d's documents: it
// names the first value the user may not use ("Not allowed for Customer:
// Globex"), or returns "". It is nil when no User Permission applies.
func (a *access) userPermViolation(reg *projections.Registry, d *meta.DocType) func(map[string]any) string {
	if a.admin || a.exempt || len(a.allowed) == 0 {
		return nil
	}
	type check struct {
		table   string // "" or the table field whose rows hold the link
		field   string
		target  string
		allowed map[string]bool
	}
	var checks []check
	self := a.allowedValues(d.Name, d.Name)
	links := func(cd *meta.DocType, table string) {
		for _, f := range cd.Fields {
			if f.Fieldtype != meta.Link || f.IgnoreUserPermissions {
				continue
			}
			if allowed := a.allowedValues(f.Options, d.Name); allowed != nil {
				checks = append(checks, check{table: table, field: f.Fieldname, target: f.Options, allowed: allowed})
			}
		}
	}
	links(d, "")
	for _, tf := range d.TableFields() {
		if cd := reg.Get(tf.Options); cd != nil {
			links(cd, tf.Fieldname)
		}
	}
	if self == nil && len(checks) == 0 {
		return nil
	}
	// An empty link passes, as in Frappe without strict user permissions.
	bad := func(c check, v any) string {
		s := projections.NameString(v)
		if s == "" || c.allowed[query.FoldKey(s)] {
			return ""
		}
		return fmt.Sprintf("Not allowed for %s: %s", c.target, s)
	}
	return func(doc map[string]any) string {
		if self != nil {
			if name := projections.NameString(doc[meta.FieldName]); !self[query.FoldKey(name)] {
				return fmt.Sprintf("Not allowed for %s: %s", d.Name, name)
			}
		}
		for _, c := range checks {
			if c.table == "" {
				if why := bad(c, doc[c.field]); why != "" {
					return why
				}
				continue
			}
			for _, row := range meta.Rows(doc[c.table]) {
				if why := bad(c, row[c.field]); why != "" {
					return why
				}
			}
		}
		return ""
	}
}

// levels returns the field permlevels at which the user holds right
// (read or write); level 0 always, given the document right.
func (a *access) levels(d *meta.DocType, right string) map[int]bool {
	out := map[int]bool{0: true}
	for _, p := range d.Permissions {
		if p.Permlevel > 0 && (a.admin || a.roles[p.Role]) && p.Has(right) {
			out[p.Permlevel] = true
		}
	}
	return out
}

// skipChecks reports whether the transaction passes every permission
// check: the system, the Administrator, or code that asked to.
func (tx *Tx) skipChecks() bool {
	return tx.system || tx.sudo > 0 || tx.user == Administrator
}

// IgnorePermissions runs fn with every permission check of this
// transaction passed, as Frappe's ignore_permissions flag does: for
// hooks that write on the system's behalf.
func (tx *Tx) IgnorePermissions(fn func() error) error {
	tx.sudo++
	defer func() { tx.sudo-- }()
	return fn()
}

// permissionDenied is the PermissionError of a missing doctype right.
func permissionDenied(user, doctype, right string) *Error {
	return &Error{Exc: PermissionError, Title: "Not Permitted",
		Msg: fmt.Sprintf("User <strong>%s</strong> does not have doctype access via role permission for document <strong>%s</strong> (%s)",
			user, doctype, right),
		ErrorMessage: "No permission for " + doctype}
}

// docDenied is the PermissionError of a right the user holds on some
// documents of the doctype, but not on this one.
func docDenied(doctype, name, right string) *Error {
	return &Error{Exc: PermissionError, Title: "Not Permitted",
		Msg:          fmt.Sprintf("You need the '%s' permission on <strong>%s</strong> %s to perform this action.", right, doctype, name),
		ErrorMessage: "No permission for " + doctype}
}

// can refuses right on doc (nil: on the doctype, as for a list) unless
// the user holds it.
func (tx *Tx) can(ctx context.Context, d *meta.DocType, right string, doc map[string]any) error {
	if tx.skipChecks() {
		return nil
	}
	a, err := tx.access(ctx)
	if err != nil {
		return err
	}
	r := a.docRule(tx.docs.store.Registry(), d, right)
	if !r.ok {
		return permissionDenied(tx.user, d.Name, right)
	}
	if doc != nil && r.only != nil && !r.only(doc) {
		e := docDenied(d.Name, projections.NameString(doc[meta.FieldName]), right)
		if v := a.userPermViolation(tx.docs.store.Registry(), d); v != nil {
			if why := v(doc); why != "" {
				e.Msg = why // which value the user's User Permissions do not allow
			}
		}
		return e
	}
	return nil
}

// Can reports whether the transaction's user holds right on a document
// (name "": on the doctype), as frappe.client.has_permission answers.
func (tx *Tx) Can(ctx context.Context, doctype, name, right string) (bool, error) {
	d, err := tx.docs.Meta(doctype)
	if err != nil {
		return false, err
	}
	var doc map[string]any
	if name != "" && !d.IsSingle {
		if doc, err = tx.getDoc(ctx, d, name); err != nil {
			return false, err
		}
	}
	err = tx.can(ctx, d, right, doc)
	if IsExc(err, PermissionError) {
		return false, nil
	}
	return err == nil, err
}

// restrictQuery makes a list query answer only what the user may read:
// read (or select) on the doctype, the documents the rules allow, the
// fields of the levels the user reads. A child table is listed by its
// parent's permissions.
func (tx *Tx) restrictQuery(ctx context.Context, q *projections.Query) error {
	if tx.skipChecks() {
		return nil
	}
	d, err := tx.docs.Meta(q.DocType)
	if err != nil {
		return err
	}
	if d.IsTable && q.Parent != "" {
		if d, err = tx.docs.Meta(q.Parent); err != nil {
			return err
		}
	}
	a, err := tx.access(ctx)
	if err != nil {
		return err
	}
	reg := tx.docs.store.Registry()
	r := a.docRule(reg, d, PermRead)
	selectOnly := false
	if !r.ok {
		if r = a.docRule(reg, d, PermSelect); !r.ok || q.Parent != "" {
			return permissionDenied(tx.user, d.Name, PermRead) // child rows need read on the parent
		}
		selectOnly = true
	}
	q.Allow = r.only
	q.Readable = func(doctype, field string) bool { return tx.readable(a, d, doctype, field, selectOnly) }
	return nil
}

// readable reports whether a list may show a field of doctype to the
// user, for a list of main: fields of main and its child tables by the
// levels of main's permissions; fields of a linked doctype only if the
// user may read every document of it (the link could name any). A user
// with select but not read sees main's name, title and search fields
// only.
func (tx *Tx) readable(a *access, main *meta.DocType, doctype, field string, selectOnly bool) bool {
	if selectOnly {
		return doctype == main.Name && (slices.Contains(meta.StandardFields, field) || field == main.TitleField ||
			slices.Contains(strings.Split(strings.ReplaceAll(main.SearchFields, " ", ""), ","), field))
	}
	reg := tx.docs.store.Registry()
	d := reg.Get(doctype)
	if d == nil {
		return false
	}
	owner := main
	if doctype != main.Name && !d.IsTable {
		if r := a.docRule(reg, d, PermRead); !r.ok || r.only != nil {
			return false
		}
		owner = d
	}
	f := d.Field(field)
	if f == nil || f.Permlevel == 0 {
		return true
	}
	return a.levels(owner, PermRead)[f.Permlevel]
}

// hideFields returns a copy of doc without the fields (also in child
// rows) at levels the user does not read.
func (tx *Tx) hideFields(ctx context.Context, d *meta.DocType, doc map[string]any) (map[string]any, error) {
	if tx.skipChecks() || doc == nil {
		return doc, nil
	}
	a, err := tx.access(ctx)
	if err != nil {
		return nil, err
	}
	lv := a.levels(d, PermRead)
	reg := tx.docs.store.Registry()
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		f := d.Field(k)
		if f != nil && !lv[f.Permlevel] {
			continue
		}
		if f != nil && f.Kind() == meta.KindTable {
			if cd := reg.Get(f.Options); cd != nil {
				v = hideInRows(cd, lv, v)
			}
		}
		out[k] = v
	}
	return out, nil
}

func hideInRows(cd *meta.DocType, lv map[int]bool, v any) any {
	rows := meta.Rows(v)
	out := make([]any, 0, len(rows))
	for _, row := range rows {
		nr := make(map[string]any, len(row))
		for k, x := range row {
			if f := cd.Field(k); f != nil && !lv[f.Permlevel] {
				continue
			}
			nr[k] = x
		}
		out = append(out, nr)
	}
	return out
}

// keepUnwritable drops from an incoming document the fields at levels the
// user does not write, as Frappe silently keeps their stored values (or
// defaults, for a new document). Child rows keep such fields from the
// stored row of the same name.
func (tx *Tx) keepUnwritable(ctx context.Context, d *meta.DocType, orig, in map[string]any) (map[string]any, error) {
	if tx.skipChecks() {
		return in, nil
	}
	a, err := tx.access(ctx)
	if err != nil {
		return nil, err
	}
	lv := a.levels(d, PermWrite)
	reg := tx.docs.store.Registry()
	var out map[string]any
	edit := func() {
		if out == nil {
			out = make(map[string]any, len(in))
			for k, v := range in {
				out[k] = v
			}
		}
	}
	for k, v := range in {
		f := d.Field(k)
		if f == nil {
			continue
		}
		if !lv[f.Permlevel] {
			edit()
			delete(out, k)
			continue
		}
		if f.Kind() != meta.KindTable {
			continue
		}
		cd := reg.Get(f.Options)
		if cd == nil || !hasHigherLevel(cd, lv) {
			continue
		}
		rows, ok := v.([]any)
		if !ok {
			continue
		}
		stored := map[string]map[string]any{}
		for _, r := range meta.Rows(orig[k]) {
			stored[projections.NameString(r[meta.FieldName])] = r
		}
		nrows := make([]any, len(rows))
		for i, rv := range rows {
			row, ok := rv.(map[string]any)
			if !ok {
				nrows[i] = rv
				continue
			}
			old := stored[projections.NameString(row[meta.FieldName])]
			nr := make(map[string]any, len(row))
			for rk, x := range row {
				nr[rk] = x
			}
			for _, cf := range cd.Fields {
				if lv[cf.Permlevel] {
					continue
				}
				if ov, has := old[cf.Fieldname]; has && old != nil {
					nr[cf.Fieldname] = ov
				} else {
					delete(nr, cf.Fieldname)
				}
			}
			nrows[i] = nr
		}
		edit()
		out[k] = nrows
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

func hasHigherLevel(cd *meta.DocType, lv map[int]bool) bool {
	for _, f := range cd.Fields {
		if !lv[f.Permlevel] {
			return true
		}
	}
	return false
}

// DocPermissions returns the rights the transaction's user holds on a
// document (name "": on the doctype), as frappe.client.get_doc_permissions
// answers: each right 1 or 0.
func (tx *Tx) DocPermissions(ctx context.Context, doctype, name string) (map[string]int, error) {
	out := map[string]int{}
	for _, right := range Rights {
		ok, err := tx.Can(ctx, doctype, name, right)
		if err != nil {
			return nil, err
		}
		if ok {
			out[right] = 1
		} else {
			out[right] = 0
		}
	}
	return out, nil
}

// withDefaultPerms gives a new DocType without permission rows one for
// System Manager, as Frappe's DocType form starts with: a DocType nobody
// but the Administrator may use is rarely what its creator meant. Child
// tables have no permissions of their own.
func withDefaultPerms(in map[string]any) map[string]any {
	if istable, _ := meta.Coerce(meta.Check, in["istable"], nil); istable == int64(1) {
		return in
	}
	if rows, ok := in["permissions"].([]any); ok && len(rows) > 0 {
		return in
	}
	out := make(map[string]any, len(in)+1)
	for k, v := range in {
		out[k] = v
	}
	row := map[string]any{"role": SystemManager, "permlevel": int64(0)}
	for _, right := range Rights {
		switch right {
		case PermSelect, PermSubmit, PermCancel, PermAmend:
		default:
			row[right] = int64(1)
		}
	}
	if sub, _ := meta.Coerce(meta.Check, in["is_submittable"], nil); sub == int64(1) {
		row[PermSubmit], row[PermCancel], row[PermAmend] = int64(1), int64(1), int64(1)
	}
	out["permissions"] = []any{row}
	return out
}
