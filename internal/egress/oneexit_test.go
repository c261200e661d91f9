package egress_test

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
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

// TestOneExit: every package linked into amigo-release (for Linux, macOS
// and Windows) reaches the process's standard output and error, and
// writes files, only through this package. A write that goes around it
// (os.Stdout, os.Stderr, fmt.Print*, print, println, os.Create,
// os.WriteFile, os.CreateTemp, os.OpenFile for writing, ioutil's writers,
// os.NewFile, syscall.Write, the standard logger's SetOutput) fails the
// test with its file and line, unless exitAllowed names it with a reason.
func TestOneExit(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	used := map[string]bool{}
	var violations []string
	for _, goos := range []string{"linux", "darwin", "windows"} {
		ctx := build.Default
		ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, "amd64", false
		pkgs := binaryPackages(t, ctx, root)
		for _, dir := range pkgs {
			pkg, err := ctx.ImportDir(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, dir)
			rel = filepath.ToSlash(rel)
			if rel == "internal/egress" {
				continue
			}
			for _, name := range pkg.GoFiles {
				file := filepath.Join(dir, name)
				if seen[file] {
					continue
				}
				seen[file] = true
				where := strings.TrimPrefix(rel+"/"+name, "./")
				for _, v := range exitBypasses(t, file) {
					key := where + ": " + v.what
					if _, ok := exitAllowed[key]; ok {
						used[key] = true
						continue
					}
					violations = append(violations, fmt.Sprintf("%s:%d: %s", where, v.line, v.what))
				}
			}
		}
	}
	for _, v := range violations {
		t.Errorf("%s goes around the exit (internal/egress): write through env.Stdout/env.Stderr or the exit's WriteFile, AppendFile, TempFile", v)
	}
	for key := range exitAllowed {
		if !used[key] {
			t.Errorf("exitAllowed names %q, which is no longer in the code: remove it", key)
		}
	}
	if len(seen) < 50 {
		t.Errorf("only %d files checked: the walk from main.go went wrong", len(seen))
	}
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
