package conventions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// conforming are the packages (directories from the module root) whose
// error strings follow CONTRIBUTING.md's convention. A package joins the
// list once it conforms; pipeline and demo still prefix some errors with
// their package name.
var conforming = []string{"amigo", "amigo/amigotest", "changes"}

// packagePrefix is an error string that starts with a package name and a
// colon ("amigo: ...", "changes: ..."), the prefix the convention drops.
var packagePrefix = regexp.MustCompile(`^(amigo|amigotest|changes|pipeline|promote|platform|report|ops|cmd|demo|contract|clock|golden|fakeci|pattern|buildinfo|conventions): `)

// TestErrorStrings: every error string literal (errors.New, fmt.Errorf,
// and the formats of Error methods) in the conforming packages' code starts with its subject, not with a
// package name or a bare ":" left for a caller to fill, and says "damaged",
// not "corrupt", for bytes that do not read back.
func TestErrorStrings(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range conforming {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			var inError *ast.FuncDecl // the Error method being walked
			ast.Inspect(f, func(n ast.Node) bool {
				if fd, ok := n.(*ast.FuncDecl); ok {
					inError = nil
					if fd.Name.Name == "Error" && fd.Recv != nil {
						inError = fd
					}
				}
				msg, pos, ok := errorLiteral(n, inError != nil)
				if !ok {
					return true
				}
				checked++
				where := fset.Position(pos)
				where.Filename, _ = filepath.Rel(root, where.Filename)
				switch {
				case packagePrefix.MatchString(msg):
					t.Errorf("%s: error %q starts with a package name: start with its subject (CONTRIBUTING.md, Errors)", where, msg)
				case strings.HasPrefix(msg, ":"):
					t.Errorf("%s: error %q starts with ':': return a typed error carrying the position instead", where, msg)
				case strings.Contains(strings.ToLower(msg), "corrupt"):
					t.Errorf("%s: error %q says corrupt: say damaged", where, msg)
				}
				return true
			})
		}
	}
	if checked < 100 {
		t.Errorf("only %d error strings found in %v: the scan is broken", checked, conforming)
	}
}

// errorLiteral returns the format or text of errors.New("...") and
// fmt.Errorf("...", ...), and in an Error method (inError) of
// fmt.Sprintf("...", ...) and fmt.Fprintf(w, "...", ...).
func errorLiteral(n ast.Node, inError bool) (string, token.Pos, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", 0, false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", 0, false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", 0, false
	}
	arg := 0
	switch name := pkg.Name + "." + sel.Sel.Name; {
	case name == "errors.New" || name == "fmt.Errorf" || inError && name == "fmt.Sprintf":
	case inError && name == "fmt.Fprintf" && len(call.Args) > 1:
		arg = 1
	default:
		return "", 0, false
	}
	lit, ok := call.Args[arg].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", 0, false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return "", 0, false
	}
	return s, lit.Pos(), true
}
