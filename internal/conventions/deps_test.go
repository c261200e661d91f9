package conventions

import (
	"os/exec"
	"strings"
	"testing"
)

// testOnly are the modules and packages the README lists as used by tests
// only: none may be linked into the release binary.
var testOnly = []string{
	"github.com/getkin/kin-openapi",
	"github.com/gorilla/mux", // kin-openapi's router
	"github.com/google/go-cmp",
	"github.com/santhosh-tekuri/jsonschema",
	"github.com/amigo-release/amigo-release/internal/contract",
	"github.com/amigo-release/amigo-release/internal/fakeci",
	"github.com/amigo-release/amigo-release/internal/golden",
}

// TestReleaseBinaryHasNoTestOnlyCode: the packages linked into
// amigo-release (the module's main package and everything it imports)
// include nothing used by tests only, so the README's "tests only" stays
// true however the code moves.
func TestReleaseBinaryHasNoTestOnlyCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/amigo-release/amigo-release").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !strings.Contains(string(out), "github.com/amigo-release/amigo-release/cmd\n") {
		t.Fatalf("go list -deps gave %d packages without cmd: %s", len(deps), out)
	}
	for _, d := range deps {
		for _, bad := range testOnly {
			if d == bad || strings.HasPrefix(d, bad+"/") {
				t.Errorf("the release binary links %s, which is for tests only: move its importer's use into a _test.go file", d)
			}
		}
	}
}
