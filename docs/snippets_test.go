// Package docs_test keeps the Go snippets of the repository's documentation compiling:
// every ```go block of every Markdown file, and every code block of a doc comment that
// parses as Go, is type-checked against the real packages of the workspace.
package docs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// snippet is a block of Go code found in the documentation.
type snippet struct {
	where    string // file:line, for messages
	src      string
	required bool // a ```go block: it must parse; a doc comment block is Go only if it parses
}

// knownImports are the packages a snippet may use without importing them, as a reader
// of a fragment expects: the standard library's usual suspects and retrykit's own.
var knownImports = map[string]string{
	"context":   "context",
	"errors":    "errors",
	"fmt":       "fmt",
	"http":      "net/http",
	"io":        "io",
	"net":       "net",
	"os":        "os",
	"slog":      "log/slog",
	"sql":       "database/sql",
	"strconv":   "strconv",
	"syscall":   "syscall",
	"time":      "time",
	"hooks":     "github.com/retrykit/retrykit/hooks",
	"retry":     "github.com/retrykit/retrykit/retry",
	"retryhttp": "github.com/retrykit/retrykit/retryhttp",
	"otelretry": "github.com/retrykit/retrykit/otelretry",
	"grpcretry": "github.com/retrykit/retrykit/grpcretry",
	"grpc":      "google.golang.org/grpc",
	"codes":     "google.golang.org/grpc/codes",
	"insecure":  "google.golang.org/grpc/credentials/insecure",
	"otel":      "go.opentelemetry.io/otel",
	"otelhttp":  "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
	"sdktrace":  "go.opentelemetry.io/otel/sdk/trace",
	"sdkmetric": "go.opentelemetry.io/otel/sdk/metric",
}

// prelude declares the names that snippets use for the reader's own code: a context, a
// database, an HTTP client and request, providers, policies, and the functions being
// retried. A
// snippet is checked in a package of its own with this file beside it.
const prelude = `package snippet

import (
	"context"
	"database/sql"
	"net/http"

	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

var (
	ctx    context.Context
	db     *sql.DB
	q      string
	target string
	url    string
	row    User
	client *http.Client
	req    *http.Request
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	base   *retry.Policy
	policy *retry.Policy
)

type User struct{ Name string }

type Row struct{ ID int }

func fetchUser(ctx context.Context) (User, error)       { return User{}, nil }
func saveRow(ctx context.Context, r Row) (int, error)   { return 0, nil }
func tryDownloadFile(ctx context.Context) error         { return nil }
func legacyCall(context.Context) error                  { return nil }
`

// ignored are the complaints that a fragment cannot help: a snippet shows how to make a
// value, not what the program does with it next.
var ignored = regexp.MustCompile(`declared and not used|imported and not used|missing return`)

func TestSnippetsCompile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "env", "GOWORK").Output(); err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == "off" {
		t.Skip("the snippets import every module of the workspace: run with go.work (GOWORK is off or unset)")
	}

	snippets := append(markdownSnippets(t, root), docCommentSnippets(t, root)...)
	var checks []*check
	for _, s := range snippets {
		c, err := prepare(s)
		if err != nil {
			if s.required {
				t.Errorf("%s: does not parse as Go: %v\n%s", s.where, err, s.src)
			} else {
				t.Logf("not Go: %s", s.where)
			}
			continue
		}
		checks = append(checks, c)
	}
	if len(checks) < 10 {
		t.Fatalf("found %d Go snippets, fewer than the documentation holds: is the search broken?", len(checks))
	}

	imp := newImporter(t, root, checks)
	for _, c := range checks {
		if errs := c.typeCheck(imp); len(errs) > 0 {
			t.Errorf("%s: does not compile:\n\t%s\n%s", c.where, strings.Join(errs, "\n\t"), c.src)
		}
	}
	for _, c := range checks {
		t.Logf("type-checked %s", c.where)
	}
}

// markdownSnippets returns the ```go blocks of every Markdown file under root.
func markdownSnippets(t *testing.T, root string) []snippet {
	var out []snippet
	walk(t, root, ".md", func(path, rel string, b []byte) {
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			fence := strings.TrimSpace(lines[i])
			if !strings.HasPrefix(fence, "```go") || strings.TrimSpace(strings.TrimPrefix(fence, "```go")) != "" {
				continue
			}
			start := i + 1
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			}
			out = append(out, snippet{
				where:    fmt.Sprintf("%s:%d", rel, start),
				src:      strings.Join(lines[start:min(i, len(lines))], "\n"),
				required: true,
			})
		}
	})
	return out
}

// docCommentSnippets returns the code blocks of the doc comments of every non-test Go
// file under root.
func docCommentSnippets(t *testing.T, root string) []snippet {
	var out []snippet
	var p comment.Parser
	walk(t, root, ".go", func(path, rel string, b []byte) {
		if strings.HasSuffix(path, "_test.go") {
			return
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, b, parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		var docs []*ast.CommentGroup
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.File:
				docs = append(docs, n.Doc)
			case *ast.FuncDecl:
				docs = append(docs, n.Doc)
			case *ast.GenDecl:
				docs = append(docs, n.Doc)
			case *ast.TypeSpec:
				docs = append(docs, n.Doc)
			case *ast.ValueSpec:
				docs = append(docs, n.Doc)
			case *ast.Field:
				docs = append(docs, n.Doc)
			}
			return true
		})
		for _, g := range docs {
			if g == nil {
				continue
			}
			for _, blk := range p.Parse(g.Text()).Content {
				if code, ok := blk.(*comment.Code); ok {
					out = append(out, snippet{
						where: fmt.Sprintf("%s:%d (doc comment)", rel, fset.Position(g.Pos()).Line),
						src:   code.Text,
					})
				}
			}
		}
	})
	return out
}

// walk calls fn for each file under root whose name ends in ext, skipping hidden
// directories and testdata.
func walk(t *testing.T, root, ext string, fn func(path, rel string, b []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ext) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fn(path, filepath.ToSlash(rel), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// check is a snippet made into a Go file.
type check struct {
	snippet
	file    string // the snippet as a file of package snippet
	imports []string
}

// prepare turns s into a file: its own imports first, then the known packages it uses
// without importing them, then its code, as top-level declarations when it parses so,
// else as the body of a function.
func prepare(s snippet) (*check, error) {
	src := s.src
	if strings.HasPrefix(strings.TrimSpace(src), "package ") {
		return nil, fmt.Errorf("a whole file: not supported, write it as an Example")
	}
	fset := token.NewFileSet()
	head, err := parser.ParseFile(fset, "", "package snippet\n"+src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	importsEnd := 0
	own := map[string]bool{}
	for _, d := range head.Decls {
		importsEnd = fset.Position(d.End()).Offset - len("package snippet\n")
	}
	for _, is := range head.Imports {
		path := strings.Trim(is.Path.Value, `"`)
		name := filepath.Base(path)
		if is.Name != nil {
			name = is.Name.Name
		}
		own[name] = true
	}
	imports, body := src[:importsEnd], src[importsEnd:]

	var file string
	var f *ast.File
	for _, wrap := range []func(string) string{
		func(b string) string { return b },
		func(b string) string { return "func _() error {\n" + b + "\n}\n" },
	} {
		file = "package snippet\n" + imports + "\n" + wrap(body)
		if f, err = parser.ParseFile(token.NewFileSet(), "", file, 0); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}

	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	var extra []string
	for name, path := range knownImports {
		if used[name] && !own[name] {
			extra = append(extra, fmt.Sprintf("import %s %q\n", name, path))
		}
	}
	slices.Sort(extra)
	file = "package snippet\n" + strings.Join(extra, "") + strings.TrimPrefix(file, "package snippet\n")

	c := &check{snippet: s, file: file}
	for _, name := range []string{file, prelude} {
		pf, err := parser.ParseFile(token.NewFileSet(), "", name, parser.ImportsOnly)
		if err != nil {
			return nil, err
		}
		for _, is := range pf.Imports {
			c.imports = append(c.imports, strings.Trim(is.Path.Value, `"`))
		}
	}
	return c, nil
}

// typeCheck returns the type checker's complaints about c, but those in ignored.
func (c *check) typeCheck(imp types.Importer) []string {
	fset := token.NewFileSet()
	var files []*ast.File
	for name, src := range map[string]string{"snippet.go": c.file, "prelude.go": prelude} {
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			return []string{err.Error()}
		}
		files = append(files, f)
	}
	var errs []string
	conf := types.Config{
		Importer: imp,
		Error: func(err error) {
			if !ignored.MatchString(err.Error()) {
				errs = append(errs, err.Error())
			}
		},
	}
	_, _ = conf.Check("snippet", fset, files, nil)
	return errs
}

// newImporter reads the packages the snippets import from their export data, which
// `go list -export` builds in the workspace.
func newImporter(t *testing.T, root string, checks []*check) types.Importer {
	t.Helper()
	set := map[string]bool{}
	for _, c := range checks {
		for _, p := range c.imports {
			set[p] = true
		}
	}
	args := []string{"list", "-e", "-deps", "-export", "-json=ImportPath,Export,Error"}
	for p := range set {
		args = append(args, p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Export     string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}
