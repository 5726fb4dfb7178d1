package methods

import (
	"context"
	"time"

	"docket/projections/meta"
	"docket/projections/query"
)

// registerBuiltins adds the built-in methods every Frappe client uses.
func registerBuiltins(r *Registry) {
	r.Register("ping", MethodOptions{AllowGuest: true}, func(ctx context.Context, c *Call) (any, error) {
		return "pong", nil
	})
	r.Register("frappe.auth.get_logged_user", MethodOptions{}, func(ctx context.Context, c *Call) (any, error) {
		return c.User, nil
	})
	r.Register("frappe.client.get_count", MethodOptions{}, getCount)
	r.Register("frappe.client.get_list", MethodOptions{}, getList)
	r.Register("frappe.client.get", MethodOptions{}, get)
}

func env(d *Docs) query.Env {
	return query.Env{Now: time.Now(), Loc: d.Location(), WeekStart: time.Monday}
}

func requireDoctype(c *Call) (string, error) {
	dt := StringArg(c.Args, "doctype")
	if dt == "" {
		return "", newError(ValidationError, "Argument doctype is required")
	}
	_, err := c.Docs.Meta(dt)
	return dt, err
}

// getCount is frappe.client.get_count(doctype, filters).
func getCount(ctx context.Context, c *Call) (any, error) {
	dt, err := requireDoctype(c)
	if err != nil {
		return nil, err
	}
	return Count(ctx, c.Docs, dt, c.Args, env(c.Docs))
}

// getList is frappe.client.get_list: the list endpoint's parameters
// (without the limit alias), rows as objects unless as_dict is false.
func getList(ctx context.Context, c *Call) (any, error) {
	dt, err := requireDoctype(c)
	if err != nil {
		return nil, err
	}
	args := c.Args
	if _, ok := args["limit_page_length"]; !ok {
		if _, ok := args["limit"]; ok {
			args = cloneArgs(args)
			delete(args, "limit") // get_list has no limit alias
		}
	}
	q, err := ListQuery(dt, args, env(c.Docs), false)
	if err != nil {
		return nil, err
	}
	asDict, err := BoolArg(c.Args, "as_dict", true)
	if err != nil {
		return nil, err
	}
	res, err := c.Docs.Store().List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(res.Rows))
	for _, row := range res.Rows {
		if asDict {
			m := make(map[string]any, len(row))
			for i, col := range res.Columns {
				m[col] = meta.FormatValue(res.Types[i], row[i])
			}
			out = append(out, m)
			continue
		}
		vals := make([]any, len(row))
		for i, v := range row {
			vals[i] = meta.FormatValue(res.Types[i], v)
		}
		out = append(out, vals)
	}
	return out, nil
}

// get is frappe.client.get(doctype, name): the document with nulls.
func get(ctx context.Context, c *Call) (any, error) {
	dt, err := requireDoctype(c)
	if err != nil {
		return nil, err
	}
	name := StringArg(c.Args, "name")
	if name == "" {
		return nil, newError(ValidationError, "Argument name is required")
	}
	doc, err := c.Docs.Get(dt, name)
	if err != nil {
		return nil, err
	}
	return Document{DocType: dt, Doc: doc}, nil
}

// Document is a method result the API renders as a full document with
// nulls kept (as frappe.client.* returns them).
type Document struct {
	DocType string
	Doc     map[string]any
}

func cloneArgs(a map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}
