package api

import (
	"net/http"
	"strconv"
	"time"

	"docket/methods"
	"docket/projections/meta"
	"docket/projections/query"
)

func (s *Server) env() query.Env {
	return query.Env{Now: time.Now(), Loc: s.docs.Location(), WeekStart: time.Monday}
}

// listDocs serves GET /api/resource/{doctype}.
func (s *Server) listDocs(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype := r.PathValue("doctype")
	q, err := methods.ListQuery(doctype, c.args, s.env(), c.v2)
	if err != nil {
		return err
	}
	asDict, err := methods.BoolArg(c.args, "as_dict", true)
	if err != nil {
		return err
	}
	debug, err := methods.BoolArg(c.args, "debug", false)
	if err != nil {
		return err
	}
	if debug {
		// The plan tells how many documents exist: for administrators only.
		if debug, err = s.docs.HasRole(c.id.User, methods.SystemManager); err != nil {
			return err
		}
	}
	if _, err := s.docs.Meta(doctype); err != nil {
		return err
	}
	start := time.Now()
	res, err := s.docs.Reader(c.id.User).Select(r.Context(), q)
	if err != nil {
		return err
	}
	rows := renderRows(res, asDict)
	if debug {
		took := time.Since(start).Seconds()
		trace := []any{res.Plan, "Execution time: " + formatSeconds(took) + " sec"}
		s.respond(w, c, http.StatusOK, "data", rows, "exc", string(Encode(trace)),
			"_debug_messages", string(Encode(trace)))
		return nil
	}
	s.respond(w, c, http.StatusOK, "data", rows)
	return nil
}

func formatSeconds(s float64) string {
	return strconv.FormatFloat(s, 'f', 4, 64)
}

// getDoc serves GET /api/resource/{doctype}/{name}.
func (s *Server) getDoc(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := r.PathValue("doctype"), r.PathValue("name")
	if name == "" {
		return s.listDocs(w, r, c)
	}
	d, err := s.docs.Meta(doctype)
	if err != nil {
		return err
	}
	if at, ok, err := s.asOf(c.args); err != nil {
		return err
	} else if ok {
		doc, _, err := s.docs.Reader(c.id.User).GetAsOf(r.Context(), doctype, name, at)
		if err != nil {
			return err
		}
		s.respond(w, c, http.StatusOK, "data", s.renderDoc(d, doc, !c.v2))
		return nil
	}
	doc, err := s.docs.Reader(c.id.User).Get(r.Context(), doctype, name)
	if err != nil {
		return err
	}
	s.respond(w, c, http.StatusOK, "data", s.renderDoc(d, doc, !c.v2))
	return nil
}

// createDoc serves POST /api/resource/{doctype}.
func (s *Server) createDoc(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype := r.PathValue("doctype")
	in, err := docBody(r, c.body, c.args)
	if err != nil {
		return err
	}
	return s.writeDoc(w, r, c, doctype, func(tx *methods.Tx) (map[string]any, error) {
		return tx.Insert(r.Context(), doctype, in)
	})
}

// writeDoc runs one document write in a transaction and answers with the
// document written.
func (s *Server) writeDoc(w http.ResponseWriter, r *http.Request, c *call, doctype string,
	write func(tx *methods.Tx) (map[string]any, error)) error {
	var doc map[string]any
	seq, err := s.docs.Run(r.Context(), c.id.User, func(tx *methods.Tx) error {
		var err error
		doc, err = write(tx)
		c.messages = tx.Messages()
		return err
	})
	if err != nil {
		return err
	}
	c.wrote(seq)
	d, err := s.docs.Meta(doctype)
	if err != nil {
		return err
	}
	s.respond(w, c, http.StatusOK, "data", s.renderDoc(d, doc, !c.v2))
	return nil
}

// updateDoc serves PUT /api/resource/{doctype}/{name}.
func (s *Server) updateDoc(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := r.PathValue("doctype"), r.PathValue("name")
	if name == "" {
		return errorf("DoesNotExistError", "")
	}
	in, err := docBody(r, c.body, c.args)
	if err != nil {
		return err
	}
	return s.writeDoc(w, r, c, doctype, func(tx *methods.Tx) (map[string]any, error) {
		return tx.Update(r.Context(), doctype, name, in)
	})
}

// deleteDoc serves DELETE /api/resource/{doctype}/{name}: 202 {"data":"ok"}.
func (s *Server) deleteDoc(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := r.PathValue("doctype"), r.PathValue("name")
	if name == "" {
		return errorf("DoesNotExistError", "")
	}
	seq, err := s.docs.Run(r.Context(), c.id.User, func(tx *methods.Tx) error {
		err := tx.Delete(r.Context(), doctype, name)
		c.messages = tx.Messages()
		return err
	})
	if err != nil {
		return err
	}
	c.wrote(seq)
	s.respond(w, c, http.StatusAccepted, "data", "ok")
	return nil
}

// runDocMethod serves POST /api/resource/{doctype}/{name} with a
// run_method: submit and cancel are built in.
func (s *Server) runDocMethod(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := r.PathValue("doctype"), r.PathValue("name")
	if name == "" {
		return s.createDoc(w, r, c)
	}
	in, err := docBody(r, c.body, c.args)
	if err != nil {
		return err
	}
	method := methods.StringArg(in, "run_method")
	if method == "" {
		method = methods.StringArg(c.args, "run_method")
	}
	var status int64
	switch method {
	case "submit":
		status = methods.Submitted
	case "cancel":
		status = methods.Cancelled
	default:
		return errorf("ValidationError", "Method %q is not whitelisted on %s", method, doctype)
	}
	return s.writeDoc(w, r, c, doctype, func(tx *methods.Tx) (map[string]any, error) {
		return tx.Update(r.Context(), doctype, name, map[string]any{meta.FieldDocstatus: status})
	})
}

// doctypeMeta serves GET /api/v2/doctype/{doctype}/meta.
func (s *Server) doctypeMeta(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype := r.PathValue("doctype")
	if _, err := s.docs.Meta(doctype); err != nil {
		return err
	}
	tx := s.docs.Reader(c.id.User)
	for _, right := range []string{methods.PermRead, methods.PermSelect} {
		ok, err := tx.Can(r.Context(), doctype, "", right)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if right == methods.PermSelect {
			return &frappeError{Exc: "PermissionError", Title: "Not Permitted", Msg: "No permission to read " + doctype,
				ErrorMessage: "No permission for " + doctype}
		}
	}
	doc, err := s.docs.Get("DocType", doctype)
	if err != nil {
		return err
	}
	d, _ := s.docs.Meta("DocType")
	s.respond(w, c, http.StatusOK, "data", s.renderDoc(d, doc, false))
	return nil
}

// countDocs serves GET /api/v2/doctype/{doctype}/count.
func (s *Server) countDocs(w http.ResponseWriter, r *http.Request, c *call) error {
	n, err := s.count(r, c, r.PathValue("doctype"))
	if err != nil {
		return err
	}
	s.respond(w, c, http.StatusOK, "data", n)
	return nil
}

func (s *Server) count(r *http.Request, c *call, doctype string) (int64, error) {
	return s.docs.Reader(c.id.User).Count(r.Context(), doctype, c.args)
}
