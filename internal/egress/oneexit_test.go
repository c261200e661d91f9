package egress_test

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/amigo-release/amigo-release"

// exitAllowed lists, with the reason, the only places in the binary that
// may reach the process's outputs other than through this package.
var exitAllowed = map[string]string{
	"main.go: os.Stdout":         "main hands the process's streams to cmd.Main, which puts the exit around them before anything runs",
	"main.go: os.Stderr":         "main hands the process's streams to cmd.Main, which puts the exit around them before anything runs",
	"cmd/main.go: log.SetOutput": "Main points the standard logger (net/http's server errors) at the exit's standard error",
	"demo/repo.go: os.WriteFile": "the demo writes its sample repository, built from constants: the release's input, not its output",
}

// testOnly lists, with the reason, the module's packages that are not
// linked into amigo-release: test helpers, which may write where they
// like. TestOneExit fails when one of them becomes part of the binary.
var testOnly = map[string]string{
	"e2e":                        "end-to-end tests of the built binary (its one non-test file is the package doc)",
	"internal/cilog":             "tests read CI logs with it",
	"internal/contract":          "tests validate requests and answers against the OpenAPI contract",
	"internal/conventions":       "tests hold the tree to CONTRIBUTING.md (its one non-test file is the package doc)",
	"internal/fakeci":            "tests only: the fake GitHub and Azure DevOps servers",
	"internal/golden":            "tests write golden files with -update",
	"internal/peakrss":           "tests run the binary under it to measure its peak RSS",
	"internal/testkit":           "tests build their git repositories with it",
	"internal/testkit/testworld": "tests start their repository, emulators and fake CI servers with it",
	"internal/simbench":          "the scaling benchmark of scripts/bench-pipeline.sh (its one non-test file is the package doc)",
}

// TestOneExit: every Go file of the module that is not a test (whatever
// its build constraints: every GOOS counts) belongs either to a package
// linked into amigo-release, or to a test-only package (testOnly) that no
// build of the binary for Linux, macOS or Windows links. Every file of a
// linked package reaches the process's standard output and error, and
// writes files, only through this package: a write that goes around it
// (os.Stdout, os.Stderr, fmt.Print*, print, println, os.Create,
// os.WriteFile, os.CreateTemp, os.OpenFile for writing, ioutil's writers,
// os.NewFile, syscall.Write, the standard logger's SetOutput) fails the
// test with its file and line, unless exitAllowed names it with a reason.
// The walk is over the tree, not over what main.go imports today: a new
// package, or a new file for another platform, is checked the day it
// appears.
func TestOneExit(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{} // module-relative package dir → linked for some GOOS
	for _, goos := range []string{"linux", "darwin", "windows"} {
		ctx := build.Default
		ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, "amd64", false
		for _, dir := range binaryPackages(t, ctx, root) {
			rel, _ := filepath.Rel(root, dir)
			linked[filepath.ToSlash(rel)] = true
		}
	}
	files := treeGoFiles(t, root)
	used := map[string]bool{}
	var violations []string
	checked, pkgs := 0, map[string]bool{}
	for _, where := range files {
		rel := path.Dir(where)
		pkgs[rel] = true
		if !linked[rel] {
			if _, ok := testOnly[rel]; !ok {
				t.Errorf("%s: package %s is neither linked into amigo-release nor listed in testOnly: link it (it is then checked) or list it with the reason", where, rel)
			}
			continue
		}
		if rel == "internal/egress" {
			continue
		}
		checked++
		for _, v := range exitBypasses(t, filepath.Join(root, filepath.FromSlash(where))) {
			name := strings.TrimPrefix(where, "./")
			key := name + ": " + v.what
			if _, ok := exitAllowed[key]; ok {
				used[key] = true
				continue
			}
			violations = append(violations, fmt.Sprintf("%s:%d: %s", name, v.line, v.what))
		}
	}
	for rel := range testOnly {
		if linked[rel] {
			t.Errorf("testOnly lists %s, which amigo-release links: remove it from testOnly (its files are then checked)", rel)
		}
		if !pkgs[rel] {
			t.Errorf("testOnly lists %s, which has no Go file: remove it", rel)
		}
	}
	for _, v := range violations {
		t.Errorf("%s goes around the exit (internal/egress): write through env.Stdout/env.Stderr or the exit's WriteFile, AppendFile, TempFile, Emit", v)
	}
	for key := range exitAllowed {
		if !used[key] {
			t.Errorf("exitAllowed names %q, which is no longer in the code: remove it", key)
		}
	}
	if checked < 100 || !linked["ops"] || !linked["cmd"] {
		t.Errorf("only %d files checked (ops linked %v, cmd linked %v): the walk went wrong", checked, linked["ops"], linked["cmd"])
	}
}

// treeGoFiles lists every non-test Go file under root, module-relative
// and slash-separated ("./main.go" for the root package), whatever its
// build constraints; testdata, vendor and hidden directories are skipped,
// as the go tool skips them.
func treeGoFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, "/") {
			rel = "./" + rel
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// binaryPackages returns the directories of the module's packages that
// main.go links for ctx: the imports of the root package, followed
// transitively within the module.
func binaryPackages(t *testing.T, ctx build.Context, root string) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	var visit func(dir string)
	visit = func(dir string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		pkg, err := ctx.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		out = append(out, dir)
		for _, imp := range pkg.Imports {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				visit(filepath.Join(root, filepath.FromSlash(rest)))
			}
		}
	}
	visit(root)
	slices.Sort(out)
	return out
}

type bypass struct {
	line int
	what string
}

// writers are the calls and values that reach an output, by package path.
var writers = map[string]map[string]bool{
	"os":        {"Stdout": true, "Stderr": true, "Create": true, "WriteFile": true, "CreateTemp": true, "NewFile": true},
	"fmt":       {"Print": true, "Printf": true, "Println": true},
	"io/ioutil": {"WriteFile": true, "TempFile": true},
	"syscall":   {"Write": true},
	"log":       {"SetOutput": true},
}

// exitBypasses parses file and returns every use of a writer, and every
// os.OpenFile whose flags can write.
func exitBypasses(t *testing.T, file string) []bypass {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // local name → import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = p
	}
	var out []bypass
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") {
				out = append(out, bypass{fset.Position(n.Pos()).Line, id.Name})
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] == "os" && sel.Sel.Name == "OpenFile" && len(n.Args) > 1 && writes(n.Args[1]) {
					out = append(out, bypass{fset.Position(n.Pos()).Line, "os.OpenFile for writing"})
				}
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				if p, ok := names[x.Name]; ok && writers[p][n.Sel.Name] {
					out = append(out, bypass{fset.Position(n.Pos()).Line, x.Name + "." + n.Sel.Name})
				}
			}
		}
		return true
	})
	return out
}

// writes reports whether an os.OpenFile flag expression names a flag that
// writes (or is not a plain expression of os flags at all).
func writes(e ast.Expr) bool {
	found := false
	plain := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			switch n.Sel.Name {
			case "O_WRONLY", "O_RDWR", "O_APPEND", "O_CREATE", "O_TRUNC":
				found = true
			case "O_RDONLY", "O_EXCL", "O_SYNC":
			default:
				plain = false
			}
			return false
		case *ast.BinaryExpr, *ast.ParenExpr:
			return true
		case *ast.BasicLit:
			plain = false
		}
		return true
	})
	return found || !plain
}

// TestOneExit_catches: the walk finds each kind of bypass in a file.
func TestOneExit_catches(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import (
	"fmt"
	stdos "os"
	"log"
)

func f() {
	fmt.Println("a")
	fmt.Fprintln(stdos.Stderr, "b")
	println("c")
	stdos.WriteFile("f", nil, 0o644)
	stdos.OpenFile("f", stdos.O_RDONLY, 0)
	stdos.OpenFile("f", stdos.O_APPEND|stdos.O_WRONLY, 0)
	log.SetOutput(nil)
	var w = stdos.Stdout
	_ = w
}
`
	file := filepath.Join(dir, "x.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range exitBypasses(t, file) {
		got = append(got, fmt.Sprintf("%d %s", b.line, b.what))
	}
	want := []string{"10 fmt.Println", "11 stdos.Stderr", "12 println", "13 stdos.WriteFile", "15 os.OpenFile for writing", "16 log.SetOutput", "17 stdos.Stdout"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
