package promote

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and always returns either a plan
// or an error matching ErrInvalid, and that a plan it returns is coherent.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "stages:", "stages: [", "a: &a [*a]", "stages:\n  - {name: a, region: us, organization: o, needs: [a]}\n",
		"stages:\n  - name: a\n    base_url: http://x\n    organization: o\n    keep: {t: ['1.0.0']}\n",
		"tools:\n  t:\n    test_inputs: [{input_parameters: {a: [1, 2.5, null, {b: !!binary aGk=}]}}]\n" + okStages,
		"--- \n...\n", "{stages: [{name: 1, region: 2}]}", "stages:\n  - !!map {name: a}\n", "? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(p.Stages) == 0 {
			t.Fatal("a plan without stages was accepted")
		}
		order := p.Order()
		if len(order) != len(p.Stages) {
			t.Fatalf("Order lost stages: %d of %d", len(order), len(p.Stages))
		}
		pos := map[string]int{}
		for i, s := range order {
			pos[s.Name] = i
		}
		for _, s := range order {
			if s.BaseURL == "" || s.Organization == "" || s.ActiveCap < 1 || s.ActiveCap > MaxActiveCap {
				t.Fatalf("stage %+v lacks defaults", s)
			}
			for _, n := range s.Needs {
				if pos[n] >= pos[s.Name] {
					t.Fatalf("stage %s comes before %s which it needs", s.Name, n)
				}
			}
		}
		_ = p.SecretEnvNames()
		_ = p.CheckCredentials(func(string) string { return "" })
	})
}

// FuzzParseProjectMeta checks that reading a pyproject.toml never panics and
// fails only with ErrInvalid.
func FuzzParseProjectMeta(f *testing.F) {
	b, err := os.ReadFile("testdata/weather/pyproject.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("[tool.amigo-release]\ntest_inputs = [{input_parameters = {a = [1, 2.5, {b = 1979-05-27}]}}]\n"))
	f.Add([]byte("tool = 1\n"))
	f.Add([]byte("[[tool.amigo-release.envvars]]\nname = 1\nsecret = \"yes\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseProjectMeta("pyproject.toml", data)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not match ErrInvalid: %v", err)
		}
		if err == nil && (len(m.TestInputs) > MaxTestInputs || m.TestInputs != nil && len(m.TestInputs) == 0) {
			t.Fatalf("accepted %d test inputs", len(m.TestInputs))
		}
	})
}
