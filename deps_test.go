package docket_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowed lists, for each package (and its subpackages), the docket
// packages it may import: imports flow one way (DESIGN.md §1).
var allowed = map[string][]string{
	"eventlog":    {},
	"auth":        {},
	"blobs":       {},
	"projections": {"eventlog"},
	"methods":     {"eventlog", "projections", "auth", "blobs"},
	"api":         {"eventlog", "projections", "methods", "auth", "blobs"},
	"monitor":     {"eventlog", "projections"},
	"cmd":         {"eventlog", "projections", "methods", "auth", "blobs", "api", "monitor"},
	"examples":    {"eventlog", "projections", "methods", "auth", "blobs", "api"},
}

func topOf(path string) string {
	top, _, _ := strings.Cut(path, "/")
	return top
}

// TestImportDirection fails when a package imports against the flow.
func TestImportDirection(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || filepath.Dir(path) == "." {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		from := topOf(filepath.ToSlash(path))
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, "docket/") {
				continue
			}
			to := topOf(strings.TrimPrefix(p, "docket/"))
			if to == from {
				continue
			}
			if strings.HasSuffix(path, "_test.go") && strings.HasSuffix(p, "test") {
				continue // tests may use any test harness (eventlogtest, apitest)
			}
			ok := false
			for _, a := range allowed[from] {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s imports %s: %s may import only %v", path, p, from, allowed[from])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPackagesHaveDocComments fails when a package has no doc comment.
func TestPackagesHaveDocComments(t *testing.T) {
	fset := token.NewFileSet()
	documented := map[string]bool{}
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		seen[dir] = true
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			documented[dir] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range seen {
		if !documented[dir] {
			t.Errorf("package in %s has no doc comment", dir)
		}
	}
}
