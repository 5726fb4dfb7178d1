package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"docket/auth"
	"docket/blobs"
	"docket/methods"
	"docket/projections"
)

// Files: upload_file streams the multipart body's file part into the blob
// store (hashing it, bounded by MaxFileSize) and then, in a transaction,
// creates the File document; /files/… and /private/files/… serve the
// bytes with ranges and validators, private ones only to users who may
// read the File.

// maxFormField bounds an upload's text fields.
const maxFormField = 64 << 10

// multipartOverhead is how much an upload's body may exceed MaxFileSize
// (boundaries, headers, the text fields).
const multipartOverhead = 1 << 20

// uploadFile serves POST /api/method/upload_file.
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.opts.Blobs == nil {
		return &frappeError{Exc: "ServiceUnavailable", Msg: "This server stores no files"}
	}
	if r.Method != http.MethodPost {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted", Msg: "Not permitted: upload_file takes POST"}
	}
	if c.id.User == auth.GuestUser {
		return &frappeError{Exc: "PermissionError", Title: "Not Permitted", Msg: "Not permitted: log in to upload files",
			ErrorMessage: "No permission for File"}
	}
	// A wrong token in the header is refused before anything is read; a
	// token sent as a form field is checked once the form is read.
	if r.Header.Get("X-Frappe-CSRF-Token") != "" {
		if err := checkCSRFToken(r, c, ""); err != nil {
			return err
		}
	}
	limit := s.opts.MaxFileSize + multipartOverhead
	if r.ContentLength > limit {
		return s.fileTooLarge()
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return errorf("ValidationError", "The upload must be a multipart/form-data body with a boundary")
	}
	up := methods.FileUpload{}
	args := map[string]string{}
	var fileName string
	hasFile := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.uploadReadError(badMultipart{err})
		}
		field := part.FormName()
		if field == "file" {
			if hasFile {
				part.Close()
				return errorf("ValidationError", "Send one file per upload")
			}
			hasFile = true
			fileName = part.FileName()
			if fileName == "" {
				part.Close()
				continue // an empty file input: nothing chosen
			}
			info, err := s.opts.Blobs.Put(r.Context(), part, s.opts.MaxFileSize)
			part.Close()
			if err != nil {
				return s.uploadReadError(err)
			}
			up.Blob = info
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		part.Close()
		if err != nil {
			return s.uploadReadError(err)
		}
		if len(v) > maxFormField {
			return errorf("ValidationError", "Field %s is too long", field)
		}
		args[field] = string(v)
	}
	if err := checkCSRFToken(r, c, args["csrf_token"]); err != nil {
		return err
	}
	if up.Blob.Hash == "" && args["file_url"] == "" {
		return errorf("ValidationError", "No file attached")
	}
	up.FileName = fileName
	if args["file_name"] != "" && (fileName == "" || up.Blob.Hash == "") {
		up.FileName = args["file_name"]
	}
	up.FileURL = args["file_url"]
	up.IsPrivate = args["is_private"] == "1" || strings.EqualFold(args["is_private"], "true")
	up.Folder = args["folder"]
	up.DocType, up.DocName, up.FieldName = args["doctype"], args["docname"], args["fieldname"]
	var doc map[string]any
	seq, err := s.docs.Run(r.Context(), c.id.User, func(tx *methods.Tx) error {
		var err error
		doc, err = tx.AttachFile(r.Context(), up)
		c.messages = tx.Messages()
		return err
	})
	if err != nil {
		return err
	}
	c.wrote(seq)
	d, err := s.docs.Meta("File")
	if err != nil {
		return err
	}
	s.respond(w, c, http.StatusOK, "message", s.renderDoc(d, doc, true))
	return nil
}

// uploadReadError maps a failure to read or store an upload: too large
// is 413, a truncated or malformed body a ValidationError.
func (s *Server) uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, blobs.ErrTooLarge), errors.As(err, &mbe):
		return s.fileTooLarge()
	case errors.As(err, new(badMultipart)), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, multipart.ErrMessageTooLarge):
		return errorf("ValidationError", "The upload ended early or is not valid multipart/form-data: nothing was stored")
	case errors.Is(err, context.Canceled):
		return err
	}
	return err
}

// badMultipart is a body that does not parse as multipart/form-data.
type badMultipart struct{ err error }

func (b badMultipart) Error() string { return "malformed multipart body: " + b.err.Error() }
func (b badMultipart) Unwrap() error { return b.err }

func (s *Server) fileTooLarge() error {
	return &frappeError{Exc: "MaxFileSizeReachedError", Status: http.StatusRequestEntityTooLarge,
		Msg: fmt.Sprintf("File size exceeded the maximum allowed size of %s", formatMB(s.opts.MaxFileSize))}
}

func formatMB(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// serveFile serves GET and HEAD /files/<name> and /private/files/<name>:
// the content of a File document at that URL that the user may read
// (public files: anyone), with ETag, Last-Modified and ranges.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.opts.Blobs == nil {
		return &frappeError{Exc: "DoesNotExistError", Msg: "File not found"}
	}
	url := r.URL.Path
	tx := s.docs.Reader(c.id.User)
	doc, err := tx.ReadableFile(r.Context(), url, methods.StringArg(c.args, "fid"))
	if err != nil {
		return err
	}
	return s.sendFile(w, r, doc, false)
}

// downloadFile serves frappe.core.doctype.file.file.download_file
// (file_url): the content as an attachment.
func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.opts.Blobs == nil {
		return &frappeError{Exc: "DoesNotExistError", Msg: "File not found"}
	}
	doc, err := s.docs.Reader(c.id.User).ReadableFile(r.Context(), methods.StringArg(c.args, "file_url"), methods.StringArg(c.args, "fid"))
	if err != nil {
		return err
	}
	return s.sendFile(w, r, doc, true)
}

// inline are the content types served for display in the browser: media
// and documents that run no script. Everything else (HTML, SVG, XML,
// scripts, unknown types) is served as an attachment.
var inline = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/avif": true,
	"image/bmp": true, "image/x-icon": true, "image/vnd.microsoft.icon": true, "application/pdf": true,
	"text/plain": true, "text/csv": true, "application/json": true,
}

// inlineType says whether a content type is shown in the browser.
func inlineType(base string) bool {
	return inline[base] || strings.HasPrefix(base, "audio/") || strings.HasPrefix(base, "video/")
}

// maxRanges bounds the ranges of one request: each range of a blob is a
// seek and a chunk read, so a request with thousands of tiny ranges would
// read the file many times over. Past it the whole file is served.
const maxRanges = 16

// sendFile writes a File's content: http.ServeContent does ranges and
// conditional requests; the blob streams, whatever its size.
func (s *Server) sendFile(w http.ResponseWriter, r *http.Request, doc map[string]any, attachment bool) error {
	hash, _ := doc["content_hash"].(string)
	blob, err := s.opts.Blobs.Open(r.Context(), hash)
	if errors.Is(err, blobs.ErrNotFound) {
		return methods.NotFound("File", projections.NameString(doc["file_url"]))
	}
	if err != nil {
		return err
	}
	defer blob.Close()
	name := projections.NameString(doc["file_name"])
	if name == "" {
		name = path.Base(projections.NameString(doc["file_url"]))
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		var head [512]byte
		n, _ := io.ReadFull(blob, head[:])
		ctype = http.DetectContentType(head[:n])
		if _, err := blob.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	base, _, _ := mime.ParseMediaType(ctype)
	if !inlineType(base) {
		attachment = true
	}
	if rg := r.Header.Get("Range"); strings.Count(rg, ",") >= maxRanges {
		r.Header.Del("Range")
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", `"`+hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	if p, _ := doc["is_private"].(int64); p == 1 {
		h.Set("Cache-Control", "private, no-cache")
	} else {
		h.Set("Cache-Control", "public, no-cache")
	}
	if attachment {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	http.ServeContent(w, r, name, blob.Info().Created, blob)
	return nil
}
