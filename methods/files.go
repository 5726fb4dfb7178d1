package methods

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"

	"docket/blobs"
	"docket/eventlog"
	"docket/projections"
	"docket/projections/meta"
	"docket/projections/query"
)

// Files: a File document names content in the blob store (content_hash,
// the SHA-256 of the bytes) and the URL it is served at (file_url,
// /files/<name> or /private/files/<name>). Several File documents may share
// a URL when their content is the same; a URL never names two contents.

// File URL prefixes.
const (
	PublicFilesPrefix  = "/files/"
	PrivateFilesPrefix = "/private/files/"
)

// FileUpload is what upload_file asks for: stored content (or an existing
// file_url) and where to attach it.
type FileUpload struct {
	// FileName is the name the client gave (sanitized here).
	FileName string
	// Blob is the stored content; empty Hash when the upload names a
	// FileURL instead.
	Blob blobs.Info
	// FileURL registers an existing file (/files/…, /private/files/…) or a
	// remote http(s) URL instead of content.
	FileURL   string
	IsPrivate bool
	Folder    string
	// DocType, DocName and FieldName attach the file to a document (and
	// with FieldName set that Attach field to the file's URL).
	DocType, DocName, FieldName string
}

// SafeFileName makes a client's file name safe to serve under /files/:
// the last path element only (either slash), no control or invisible
// format characters, no
// characters that end a URL path (?, #, %), unicode kept, at most 140
// characters (the extension kept). An empty or dot-only name becomes
// "file".
func SafeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == unicode.ReplacementChar:
			return -1
		case unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d':
			// Invisible format characters (bidi overrides that turn
			// "fdp.exe" around, zero-width spaces) disguise a name; the
			// joiners some scripts and emoji need stay.
			return -1
		case r == '?' || r == '#' || r == '%' || r == '"' || r == '<' || r == '>':
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if strings.Trim(name, ".") == "" {
		return "file"
	}
	if r := []rune(name); len(r) > 140 {
		ext := []rune(path.Ext(name))
		if len(ext) > 20 {
			ext = nil
		}
		name = string(r[:140-len(ext)]) + string(ext)
	}
	return name
}

// fileType is Frappe's file_type: the extension in upper case.
func fileType(name string) string {
	return strings.ToUpper(strings.TrimPrefix(path.Ext(name), "."))
}

// limitedTypes are the extensions Guests and Website Users may upload,
// as Frappe allows them.
var limitedTypes = map[string]bool{"PNG": true, "JPG": true, "JPEG": true, "PDF": true, "DOC": true, "DOCX": true,
	"XLS": true, "XLSX": true, "ODT": true, "ODS": true, "TXT": true, "MOV": true, "MP4": true, "CSV": true}

// AttachFile creates the File document of an upload, checking that the
// user may write the document it attaches to, and sets the Attach field
// when one is named. It returns the File document as the user sees it.
func (tx *Tx) AttachFile(ctx context.Context, up FileUpload) (map[string]any, error) {
	if err := tx.writable(); err != nil {
		return nil, err
	}
	if up.DocType != "" {
		d, err := tx.docs.Meta(up.DocType)
		if err != nil {
			return nil, err
		}
		var target map[string]any
		if up.DocName != "" && !d.IsSingle {
			if target, err = tx.getDoc(ctx, d, up.DocName); err != nil && !IsExc(err, DoesNotExistError) {
				return nil, err
			}
			if target != nil {
				up.DocName = projections.NameString(target[meta.FieldName])
			}
		}
		// A document that does not exist (yet) is tolerated, as Frappe
		// does; then write on the doctype is needed.
		if err := tx.can(ctx, d, PermWrite, target); err != nil {
			return nil, err
		}
		if up.FieldName != "" {
			if f := d.Field(up.FieldName); f == nil || (f.Fieldtype != meta.Attach && f.Fieldtype != meta.AttachImage) {
				return nil, newError(ValidationError, "%s has no Attach field %s", d.Name, up.FieldName)
			}
		}
	} else if up.DocName != "" || up.FieldName != "" {
		return nil, newError(ValidationError, "Argument doctype is required with docname and fieldname")
	}
	doc := map[string]any{
		"folder":     orDefault(up.Folder, "Home"),
		"is_private": boolInt(up.IsPrivate),
	}
	if up.DocType != "" {
		doc["attached_to_doctype"] = up.DocType
		if up.DocName != "" {
			doc["attached_to_name"] = up.DocName
		}
		if up.FieldName != "" {
			doc["attached_to_field"] = up.FieldName
		}
	}
	switch {
	case up.Blob.Hash != "":
		name := SafeFileName(up.FileName)
		if err := tx.checkFileType(ctx, name); err != nil {
			return nil, err
		}
		url, err := tx.fileURL(ctx, name, up.Blob.Hash, up.IsPrivate)
		if err != nil {
			return nil, err
		}
		doc["file_name"] = name
		doc["file_url"] = url
		doc["file_size"] = up.Blob.Size
		doc["content_hash"] = up.Blob.Hash
		doc["file_type"] = fileType(name)
	case up.FileURL != "":
		if err := tx.registerURL(ctx, doc, up); err != nil {
			return nil, err
		}
	default:
		return nil, newError(ValidationError, "No file attached")
	}
	tx.attaching++
	saved, err := tx.Insert(ctx, "File", doc)
	tx.attaching--
	if err != nil {
		return nil, err
	}
	if up.FieldName != "" && up.DocName != "" {
		if _, err := tx.Update(ctx, up.DocType, up.DocName, map[string]any{up.FieldName: saved["file_url"]}); err != nil {
			return nil, err
		}
	}
	return saved, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// checkFileType keeps Guests and Website Users to Frappe's harmless file
// types.
func (tx *Tx) checkFileType(ctx context.Context, name string) error {
	if tx.skipChecks() {
		return nil
	}
	a, err := tx.access(ctx)
	if err != nil {
		return err
	}
	if a.roles[RoleDeskUser] || limitedTypes[fileType(name)] {
		return nil
	}
	return newError(ValidationError, "You can only upload JPG, PNG, PDF, TXT, CSV or Microsoft documents.")
}

// fileURL chooses the URL of new content: the URL of a File with the same
// content and privacy if there is one (the content is stored once), else
// /files/<name> (or /private/files/<name>), with the end of the content
// hash before the extension when another content holds that URL, as
// Frappe does.
func (tx *Tx) fileURL(ctx context.Context, name, hash string, private bool) (string, error) {
	prefix := PublicFilesPrefix
	if private {
		prefix = PrivateFilesPrefix
	}
	same, err := tx.files(ctx, query.Condition{Field: "content_hash", Op: "=", Value: hash})
	if err != nil {
		return "", err
	}
	for _, f := range same {
		if url, _ := f["file_url"].(string); strings.HasPrefix(url, prefix) && f["is_private"] == boolInt(private) {
			return url, nil
		}
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for n := 6; ; n += 6 {
		url := prefix + name
		holders, err := tx.files(ctx, query.Condition{Field: "file_url", Op: "=", Value: url})
		if err != nil {
			return "", err
		}
		taken := false
		for _, f := range holders {
			if f["content_hash"] != hash {
				taken = true
			}
		}
		if !taken {
			return url, nil
		}
		if n > len(hash) {
			return "", internalError("no free file URL for %s", name)
		}
		name = base + hash[len(hash)-n:] + ext
	}
}

// files lists File documents (without permission checks) by a condition.
func (tx *Tx) files(ctx context.Context, cond query.Condition) ([]map[string]any, error) {
	res, err := tx.docs.store.List(ctx, projections.Query{
		DocType: "File",
		Fields: []query.Field{{Name: meta.FieldName}, {Name: "file_url"}, {Name: "content_hash"}, {Name: "is_private"},
			{Name: "file_size"}, {Name: "file_name"}},
		Filters: []query.Condition{cond},
	})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(res.Rows))
	for i, row := range res.Rows {
		m := map[string]any{}
		for j, c := range res.Columns {
			m[c] = row[j]
		}
		out[i] = m
	}
	return out, nil
}

// registerURL fills a File document for an existing URL: another File's
// (which the user must be able to read) or a remote http(s) URL.
func (tx *Tx) registerURL(ctx context.Context, doc map[string]any, up FileUpload) error {
	url := up.FileURL
	switch {
	case strings.HasPrefix(url, PublicFilesPrefix), strings.HasPrefix(url, PrivateFilesPrefix):
		f, err := tx.ReadableFile(ctx, url, "")
		if err != nil {
			return err
		}
		doc["file_url"] = url
		doc["file_name"] = orDefault(SafeFileName(up.FileName), path.Base(url))
		doc["content_hash"] = f["content_hash"]
		doc["file_size"] = f["file_size"]
		doc["is_private"] = boolInt(strings.HasPrefix(url, PrivateFilesPrefix))
	case strings.HasPrefix(url, "https://"), strings.HasPrefix(url, "http://"):
		if len(url) > 2048 || strings.ContainsAny(url, " \t\r\n") {
			return newError(ValidationError, "Invalid file URL")
		}
		doc["file_url"] = url
		name := up.FileName
		if name == "" {
			name = path.Base(strings.SplitN(strings.SplitN(url, "?", 2)[0], "#", 2)[0])
		}
		doc["file_name"] = SafeFileName(name)
		doc["is_private"] = int64(0)
	default:
		return newError(ValidationError, "A file URL must start with /files/, /private/files/ or http(s)://")
	}
	doc["file_type"] = fileType(projections.NameString(doc["file_name"]))
	return nil
}

// ReadableFile returns a File document served at url that the user may
// read (fid, when given, names the one to try first); a PermissionError
// when files are there but none is the user's to read (as Frappe answers),
// a DoesNotExistError when there is none.
func (tx *Tx) ReadableFile(ctx context.Context, url, fid string) (map[string]any, error) {
	d, err := tx.docs.Meta("File")
	if err != nil {
		return nil, err
	}
	var candidates []map[string]any
	if fid != "" {
		if doc, err := tx.GetDoc(ctx, "File", fid); err == nil && doc["file_url"] == url {
			candidates = append(candidates, doc)
		}
	}
	if len(candidates) == 0 {
		found, err := tx.files(ctx, query.Condition{Field: "file_url", Op: "=", Value: url})
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			doc, err := tx.GetDoc(ctx, "File", projections.NameString(f[meta.FieldName]))
			if err == nil && doc["file_url"] == url { // the index folds case; URLs do not
				candidates = append(candidates, doc)
			}
		}
	}
	denied := false
	for _, doc := range candidates {
		if hash, _ := doc["content_hash"].(string); hash == "" {
			continue
		}
		err := tx.can(ctx, d, PermRead, doc)
		if err == nil {
			return doc, nil
		}
		if !IsExc(err, PermissionError) {
			return nil, err
		}
		denied = true
	}
	if denied {
		return nil, &Error{Exc: PermissionError, Title: "Not Permitted", Msg: "You don't have permission to access this file",
			ErrorMessage: "No permission for File"}
	}
	return nil, NotFound("File", url)
}

// fileRule is File's own permission rule, as Frappe's File
// has_permission: a public file is readable by everyone, a private one
// by its writer and by whoever may read the document it is attached to
// (write it, for write and delete).
func fileRule(a *access, d *meta.DocType, right string, r rule) rule {
	if right == PermCreate || (r.ok && r.only == nil) || a.tx == nil {
		return r
	}
	tx := a.tx
	attached := func(doc map[string]any) bool {
		dt, _ := doc["attached_to_doctype"].(string)
		name, _ := doc["attached_to_name"].(string)
		if dt == "" || name == "" || dt == "File" {
			return false
		}
		td, err := tx.docs.Meta(dt)
		if err != nil {
			return false
		}
		ctx := context.Background()
		target, err := tx.getDoc(ctx, td, name)
		if err != nil || target == nil {
			return false
		}
		need := PermRead
		if right == PermWrite || right == PermDelete {
			need = PermWrite
		}
		return tx.can(ctx, td, need, target) == nil
	}
	public := func(doc map[string]any) bool {
		p, _ := doc["is_private"].(int64)
		return p == 0 && (right == PermRead || right == PermSelect)
	}
	own := r.only
	if !r.ok {
		own = func(map[string]any) bool { return false }
	}
	return rule{ok: true, only: func(doc map[string]any) bool { return own(doc) || public(doc) || attached(doc) }}
}

// The File rule reads other documents' rules: registered at init to keep
// the package's initialization free of cycles.
func init() { ownRules["File"] = fileRule }

// checkFile keeps a File honest: only an upload (AttachFile) may name
// stored content or a /files/ URL, and what names the content (hash,
// size, URL) never changes afterwards, or any user could point a File of
// theirs at somebody else's private bytes. A change of privacy moves the
// file to the other URL prefix.
func checkFile(ctx context.Context, tx *Tx, doc, orig map[string]any) error {
	if tx.system {
		return nil
	}
	hash, _ := doc["content_hash"].(string)
	url, _ := doc["file_url"].(string)
	local := strings.HasPrefix(url, PublicFilesPrefix) || strings.HasPrefix(url, PrivateFilesPrefix)
	if orig == nil {
		if tx.attaching == 0 && (hash != "" || local) {
			return newError(ValidationError, "Files are uploaded with upload_file: a File cannot name stored content itself")
		}
		return nil
	}
	for _, f := range []string{"content_hash", "file_size"} {
		if fmt.Sprint(doc[f]) != fmt.Sprint(orig[f]) {
			return newError(CannotChangeConstant, "%s of a File cannot be changed: upload the new content", f)
		}
	}
	if hash == "" {
		if local {
			return newError(ValidationError, "Files are uploaded with upload_file: a File cannot name stored content itself")
		}
		return nil
	}
	if doc["is_private"] != orig["is_private"] {
		moved, err := tx.fileURL(ctx, projections.NameString(doc["file_name"]), hash, doc["is_private"] == int64(1))
		if err != nil {
			return err
		}
		doc["file_url"] = moved
		if err := tx.repointAttachment(ctx, doc, projections.NameString(orig["file_url"]), moved); err != nil {
			return err
		}
	} else if url != orig["file_url"] {
		return newError(CannotChangeConstant, "file_url of a File cannot be changed")
	}
	return nil
}

// releaseAttachments deletes the File documents a write lets go of: those
// attached to a deleted document, and those attached to an Attach field
// whose value changed. Their content is collected once nothing names it.
func (tx *Tx) releaseAttachments(ctx context.Context, d *meta.DocType, orig, doc map[string]any) error {
	if d.Name == "File" || orig == nil || tx.system {
		return nil
	}
	name := projections.NameString(orig[meta.FieldName])
	var release func(f map[string]any) bool
	if doc == nil {
		release = func(map[string]any) bool { return true }
	} else {
		changed := map[string]any{}
		for _, f := range d.Fields {
			if (f.Fieldtype == meta.Attach || f.Fieldtype == meta.AttachImage) && orig[f.Fieldname] != nil && orig[f.Fieldname] != doc[f.Fieldname] {
				changed[f.Fieldname] = orig[f.Fieldname]
			}
		}
		if len(changed) == 0 {
			return nil
		}
		release = func(f map[string]any) bool {
			old, ok := changed[projections.NameString(f["attached_to_field"])]
			return ok && f["file_url"] == old
		}
	}
	files, err := tx.attachedFiles(ctx, d.Name, name)
	if err != nil {
		return err
	}
	for _, f := range files {
		if !release(f.doc) {
			continue
		}
		// The user let go of the attachment by writing the document: the
		// File goes whoever wrote it.
		err := tx.IgnorePermissions(func() error { return tx.Delete(ctx, "File", f.name) })
		if err != nil && !IsExc(err, DoesNotExistError) {
			return fmt.Errorf("release attachment %s: %w", f.name, err)
		}
	}
	return nil
}

// attachedFile is a File document attached to some document, as this
// transaction sees it.
type attachedFile struct {
	name string
	doc  map[string]any
	head projections.Head
}

// attachedFiles returns the File documents attached to doctype/name,
// exactly (the index folds case; names do not), as this transaction
// sees them.
func (tx *Tx) attachedFiles(ctx context.Context, doctype, name string) ([]attachedFile, error) {
	res, err := tx.docs.store.List(ctx, projections.Query{
		DocType: "File",
		Fields:  []query.Field{{Name: meta.FieldName}},
		Filters: []query.Condition{{Field: "attached_to_name", Op: "=", Value: name}},
	})
	if err != nil {
		return nil, err
	}
	var out []attachedFile
	for _, row := range res.Rows {
		fileName := projections.NameString(row[0])
		doc, head, err := tx.read(ctx, "File", fileName)
		if err != nil {
			return nil, err
		}
		if doc == nil || doc["attached_to_doctype"] != doctype || doc["attached_to_name"] != name {
			continue
		}
		out = append(out, attachedFile{name: fileName, doc: doc, head: head})
	}
	return out, nil
}

// moveAttachments keeps a renamed document's attachments: the Files
// attached to its old name are attached to the new one, as Frappe's
// rename does, or the next document to take the old name would inherit
// them (and their readers).
func (tx *Tx) moveAttachments(ctx context.Context, doctype, oldName, newName string) error {
	files, err := tx.attachedFiles(ctx, doctype, oldName)
	if err != nil {
		return err
	}
	for _, f := range files {
		doc := cloneDoc(f.doc)
		doc["attached_to_name"] = newName
		if err := tx.put("File", f.name, eventlog.Update, f.doc, f.head, doc); err != nil {
			return err
		}
	}
	return nil
}

// repointAttachment follows a File that moved to the other URL prefix (a
// change of privacy): the Attach field it was attached to, when it still
// holds the old URL, takes the new one, as Frappe does; else the field
// would name a URL the next upload of that name could take.
func (tx *Tx) repointAttachment(ctx context.Context, file map[string]any, oldURL, newURL string) error {
	dt, _ := file["attached_to_doctype"].(string)
	name, _ := file["attached_to_name"].(string)
	field, _ := file["attached_to_field"].(string)
	if dt == "" || name == "" || field == "" || dt == "File" {
		return nil
	}
	d, err := tx.docs.Meta(dt)
	if err != nil {
		return nil // the doctype is gone: nothing to follow
	}
	if d.IsSingle {
		name = d.Name
	}
	orig, head, err := tx.read(ctx, dt, name)
	if err != nil || orig == nil || orig[field] != oldURL {
		return err
	}
	doc := cloneDoc(orig)
	doc[field] = newURL
	return tx.put(dt, name, eventlog.Update, orig, head, doc)
}

// CollectBlobs deletes the blobs no File document names, among those
// stored more than grace ago (an upload stores its content a moment before
// its File document commits). It returns how many it deleted. The
// projections should have caught up with the log.
func CollectBlobs(ctx context.Context, d *Docs, store blobs.Store, grace time.Duration) (int, error) {
	var unused []string
	cutoff := time.Now().Add(-grace)
	err := store.List(ctx, func(info blobs.Info) error {
		if info.Created.After(cutoff) {
			return nil
		}
		n, _, err := d.store.Count(ctx, projections.Query{DocType: "File",
			Filters: []query.Condition{{Field: "content_hash", Op: "=", Value: info.Hash}}})
		if err != nil {
			return err
		}
		if n == 0 {
			unused = append(unused, info.Hash)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, h := range unused {
		if err := store.Delete(ctx, h); err != nil && !errors.Is(err, blobs.ErrNotFound) {
			return removed, err
		}
		removed++
	}
	return removed, nil
}
