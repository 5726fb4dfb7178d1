package api_test

import (
	"testing"

	"docket/api/apitest"
)

// TestAccessFollowsChanges: a user's roles, User Permissions and the
// doctype's permission rows are cached between requests, yet each change
// applies to the very next request.
func TestAccessFollowsChanges(t *testing.T) {
	w := newPermWorld(t, apitest.Options{})
	victim := w.clients[victimUser]
	var out struct{ Data map[string]any }
	w.admin.Do(t, "POST", "/api/resource/Secret%20Memo", map[string]any{"title": "m"}, 200, &out)
	path := "/api/resource/Secret%20Memo/" + out.Data["name"].(string)
	victim.Do(t, "GET", path, nil, 403, nil)

	// A role on the user.
	w.admin.Do(t, "PUT", "/api/resource/User/"+victimUser, map[string]any{"roles": []any{map[string]any{"role": "System Manager"}}}, 200, nil)
	victim.Do(t, "GET", path, nil, 200, nil)
	w.admin.Do(t, "PUT", "/api/resource/User/"+victimUser, map[string]any{"roles": []any{}}, 200, nil)
	victim.Do(t, "GET", path, nil, 403, nil)

	// A permission row on the doctype.
	w.admin.Do(t, "PUT", "/api/resource/DocType/Secret%20Memo", map[string]any{"permissions": []any{
		map[string]any{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1},
		map[string]any{"role": "All", "read": 1}}}, 200, nil)
	victim.Do(t, "GET", path, nil, 200, nil)

	// A User Permission restricting the user's Branches.
	clerk := w.clients[clerkUser]
	clerk.Do(t, "GET", "/api/resource/Branch/South", nil, 200, nil)
	w.admin.Do(t, "POST", "/api/resource/User%20Permission", map[string]any{"user": clerkUser, "allow": "Branch", "for_value": "North"}, 200, nil)
	clerk.Do(t, "GET", "/api/resource/Branch/South", nil, 403, nil)
	clerk.Do(t, "GET", "/api/resource/Branch/North", nil, 200, nil)

	// A disabled user's key stops at once.
	w.admin.Do(t, "PUT", "/api/resource/User/"+clerkUser, map[string]any{"enabled": 0}, 200, nil)
	clerk.Do(t, "GET", "/api/resource/Branch/North", nil, 401, nil)
}
