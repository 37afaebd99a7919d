package grpcretry_test

import (
	"os"
	"strings"
	"testing"
)

// TestSnippetsAreExample: the code shown in the package documentation and in the
// repository's README is the code of Example, which compiles and runs, line for line.
func TestSnippetsAreExample(t *testing.T) {
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var docSnippet []string
	for line := range strings.Lines(string(doc)) {
		if code, ok := strings.CutPrefix(line, "//\t"); ok {
			docSnippet = append(docSnippet, code)
		} else if len(docSnippet) > 0 {
			break
		}
	}
	_, section, ok := strings.Cut(string(readme), "## gRPC: grpcretry")
	if !ok {
		t.Fatal("README.md has no gRPC section")
	}
	_, block, _ := strings.Cut(section, "```go\n")
	block, _, _ = strings.Cut(block, "```")

	for name, snippet := range map[string][]string{"doc.go": docSnippet, "README.md": slicesOf(block)} {
		if len(snippet) < 5 {
			t.Errorf("%s: snippet of %d lines, too short to be the one expected", name, len(snippet))
			continue
		}
		rest := string(example)
		for _, line := range snippet {
			code := strings.TrimSpace(line)
			if code == "" {
				continue
			}
			i := strings.Index(rest, code)
			if i < 0 {
				t.Errorf("%s: %q is not in Example (in this order)", name, code)
				break
			}
			rest = rest[i+len(code):]
		}
	}
}

func slicesOf(block string) []string {
	var out []string
	for line := range strings.Lines(block) {
		out = append(out, line)
	}
	return out
}
