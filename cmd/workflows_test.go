package cmd

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/amigo-release/amigo-release/promote"
)

// ownAction is this project's action, which the examples reference by
// release tag: it has no published commit to pin yet (users pin the SHA of
// the release they adopt, as the comment next to each use says).
const ownAction = "amigo-release/amigo-release@"

// workflowFiles lists the GitHub workflow files: the project's and the
// examples (azure-pipelines*.yml are not).
func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, g := range []string{"../.github/workflows/*.yml", "../examples/workflows/*.yml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasPrefix(filepath.Base(f), "azure-pipelines") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 6 {
		t.Fatalf("found only %d workflow files: %v", len(files), files)
	}
	return files
}

type workflow struct {
	Name        string         `yaml:"name"`
	On          yaml.Node      `yaml:"on"`
	Permissions map[string]any `yaml:"permissions"`
	Concurrency *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Jobs map[string]struct {
		Needs       yaml.Node         `yaml:"needs"`
		Permissions map[string]string `yaml:"permissions"`
		Environment string            `yaml:"environment"`
		Steps       []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// usesLine matches a `uses:` line and its trailing comment.
var usesLine = regexp.MustCompile(`(?m)^\s*(?:-\s*)?uses:\s*(\S+)\s*(#.*)?$`)

// TestWorkflows checks every workflow: third-party actions pinned by full
// commit SHA with a version comment, least-privilege permissions declared,
// and a concurrency group on the ref so two releases of one branch never
// overlap; jobs that release fetch the full history.
func TestWorkflows(t *testing.T) {
	allowed := map[string]map[string]bool{
		"contents":      {"read": true},
		"pull-requests": {"write": true},
	}
	for _, file := range workflowFiles(t) {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(file)))+"/"+filepath.Base(file), func(t *testing.T) {
			b := readFile(t, file)
			for _, m := range usesLine.FindAllStringSubmatch(string(b), -1) {
				use, comment := m[1], m[2]
				switch {
				case strings.HasPrefix(use, "./"):
				case strings.HasPrefix(use, ownAction):
					if !strings.Contains(comment, "pin") {
						t.Errorf("%s: say next to it that users pin a release's commit SHA", use)
					}
				case !pinnedUses.MatchString(use):
					t.Errorf("%s is not pinned by a full commit SHA", use)
				case !regexp.MustCompile(`^# v\d+\.\d+\.\d+`).MatchString(comment):
					t.Errorf("%s: no `# vX.Y.Z` comment naming the pinned version", use)
				}
			}
			var w workflow
			if err := yaml.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			if w.Permissions == nil {
				t.Error("no top-level permissions: the token would get the repository's defaults")
			}
			isRelease := strings.Contains(file, ".github/workflows/release.yml")
			// Tags and GitHub Releases (the plan's records) need contents:
			// write; a workflow that grants it says so.
			makesRecords := strings.Contains(string(b), "records.tags")
			check := func(where string, perms map[string]string) {
				for k, v := range perms {
					// The release publishes (contents, packages) and signs
					// attestations (id-token for Sigstore, attestations to store them).
					if isRelease && v == "write" && slices.Contains([]string{"contents", "packages", "id-token", "attestations"}, k) {
						continue
					}
					if makesRecords && k == "contents" && v == "write" {
						continue
					}
					if !allowed[k][v] {
						t.Errorf("%s: permission %s: %s is more than the bot needs", where, k, v)
					}
				}
			}
			top := map[string]string{}
			for k, v := range w.Permissions {
				s, ok := v.(string)
				if !ok {
					t.Errorf("permissions.%s is not a string", k)
				}
				top[k] = s
			}
			check("workflow", top)
			for name, j := range w.Jobs {
				check("job "+name, j.Permissions)
			}
			if w.Concurrency == nil || !strings.Contains(w.Concurrency.Group, "github.ref") && !strings.Contains(w.Concurrency.Group, "pull_request.number") {
				t.Errorf("no concurrency group per ref: %+v", w.Concurrency)
			}
			releases := false
			for name, j := range w.Jobs {
				for _, s := range j.Steps {
					if strings.HasPrefix(s.Uses, ownAction) && s.With["mode"] != "plan" {
						releases = true
					}
					if strings.HasPrefix(s.Uses, "actions/checkout@") && (strings.HasPrefix(file, "../examples") || name == "action") {
						if s.With["fetch-depth"] != "0" {
							t.Errorf("job %s checks out without fetch-depth: 0; bases are earlier commits", name)
						}
					}
				}
			}
			if releases && w.Concurrency != nil && w.Concurrency.CancelInProgress {
				t.Error("a releasing workflow must not cancel a release in progress (cancel-in-progress: false)")
			}
		})
	}
}

// TestReleaseWorkflow checks the supply chain release.yml builds: no Go
// cache (a branch's CI run could have poisoned it), an SBOM, build provenance
// and SBOM attestations for every binary and both images, signed by jobs that
// hold exactly the permissions that takes, and images made from the
// published binaries rather than a second build.
func TestReleaseWorkflow(t *testing.T) {
	b := readFile(t, "../.github/workflows/release.yml")
	var w workflow
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	bin, img := w.Jobs["binaries"], w.Jobs["images"]
	if len(bin.Steps) == 0 || len(img.Steps) == 0 {
		t.Fatalf("release.yml needs a binaries and an images job: %v", slices.Collect(maps.Keys(w.Jobs)))
	}
	for name, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["cache"] != "false" {
				t.Errorf("job %s: setup-go without cache: false; a release must not build from a cache CI runs can write", name)
			}
		}
	}
	type attest struct{ provenance, sbom map[string]string }
	find := func(job string) (a attest, runs string) {
		for _, s := range w.Jobs[job].Steps {
			runs += s.Run + "\n"
			switch {
			case strings.HasPrefix(s.Uses, "actions/attest-build-provenance@"):
				a.provenance = s.With
			case strings.HasPrefix(s.Uses, "actions/attest-sbom@"):
				a.sbom = s.With
			}
		}
		return a, runs
	}
	ba, bruns := find("binaries")
	if ba.provenance["subject-checksums"] != "dist/SHA256SUMS" {
		t.Errorf("binaries: build provenance not attested for every binary in SHA256SUMS: %v", ba.provenance)
	}
	if ba.sbom["subject-checksums"] != "dist/SHA256SUMS" || ba.sbom["sbom-path"] != "dist/amigo-release.sbom.cdx.json" {
		t.Errorf("binaries: SBOM not attested for every binary: %v", ba.sbom)
	}
	if !strings.Contains(bruns, "scripts/sbom.sh dist/amigo-release.sbom.cdx.json") {
		t.Error("binaries: the SBOM is not made with scripts/sbom.sh")
	}
	ia, iruns := find("images")
	for what, with := range map[string]map[string]string{"provenance": ia.provenance, "SBOM": ia.sbom} {
		if with["subject-digest"] != "${{ steps.push.outputs.digest }}" || with["subject-name"] != "${{ steps.push.outputs.image }}" || with["push-to-registry"] != "true" {
			t.Errorf("images: %s attestation not made for the pushed digest and pushed to the registry: %v", what, with)
		}
	}
	if ia.sbom["sbom-path"] != "dist/amigo-release.sbom.cdx.json" {
		t.Errorf("images: SBOM attestation uses %q", ia.sbom["sbom-path"])
	}
	if !strings.Contains(iruns, "gh release download") || !strings.Contains(iruns, "sha256sum --check --ignore-missing SHA256SUMS") || strings.Contains(iruns, "scripts/build.sh") {
		t.Error("images: must build from the published, checksum-verified binaries (gh release download), not a second build")
	}
	if img.Needs.Value != "binaries" {
		t.Errorf("images needs %q, want binaries (it downloads the published binaries)", img.Needs.Value)
	}
	for name, j := range map[string]struct{ perms map[string]string }{"binaries": {bin.Permissions}, "images": {img.Permissions}} {
		if j.perms["id-token"] != "write" || j.perms["attestations"] != "write" {
			t.Errorf("job %s attests without id-token: write and attestations: write: %v", name, j.perms)
		}
	}
}

// TestExamplePlans loads every example plan file with the real loader.
func TestExamplePlans(t *testing.T) {
	files, err := filepath.Glob("../examples/workflows/plans/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("example plans: %v %v", files, err)
	}
	files = append(files, "../.github/action-smoke/release.yaml")
	for _, f := range files {
		if _, err := promote.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestDependabot checks .github/dependabot.yml keeps every kind of pin this
// repository has moving: Go modules, the SHA-pinned actions and the
// digest-pinned base images, each from the directory that holds them.
func TestDependabot(t *testing.T) {
	b := readFile(t, "../.github/dependabot.yml")
	var cfg struct {
		Version int `yaml:"version"`
		Updates []struct {
			Ecosystem string `yaml:"package-ecosystem"`
			Directory string `yaml:"directory"`
			Schedule  struct {
				Interval string `yaml:"interval"`
			} `yaml:"schedule"`
		} `yaml:"updates"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 2 {
		t.Errorf("version %d, want 2", cfg.Version)
	}
	got := map[string]string{}
	for _, u := range cfg.Updates {
		if u.Schedule.Interval == "" {
			t.Errorf("%s: no schedule interval", u.Ecosystem)
		}
		got[u.Ecosystem] = u.Directory
	}
	// Each directory must hold what the ecosystem reads.
	for eco, file := range map[string]string{"gomod": "go.mod", "github-actions": ".github/workflows/release.yml", "docker": "Dockerfile"} {
		dir, ok := got[eco]
		if !ok {
			t.Errorf("no %s updates", eco)
			continue
		}
		if _, err := os.Stat(filepath.Join("..", dir, file)); err != nil {
			t.Errorf("%s updates in %q, which does not hold %s: %v", eco, dir, file, err)
		}
	}
}

// TestAzurePipelines parses the Azure Pipelines example and checks the
// structure the fan-out depends on.
func TestAzurePipelines(t *testing.T) {
	b := readFile(t, "../examples/workflows/azure-pipelines.yml")
	type step struct {
		Checkout   string            `yaml:"checkout"`
		FetchDepth *int              `yaml:"fetchDepth"`
		Script     string            `yaml:"script"`
		Name       string            `yaml:"name"`
		Env        map[string]string `yaml:"env"`
	}
	type job struct {
		Job       string `yaml:"job"`
		DependsOn string `yaml:"dependsOn"`
		Condition string `yaml:"condition"`
		Container string `yaml:"container"`
		Strategy  *struct {
			Matrix      string `yaml:"matrix"`
			MaxParallel int    `yaml:"maxParallel"`
		} `yaml:"strategy"`
		Steps []step `yaml:"steps"`
	}
	var p struct {
		Trigger      yaml.Node `yaml:"trigger"`
		PR           yaml.Node `yaml:"pr"`
		LockBehavior string    `yaml:"lockBehavior"`
		Resources    struct {
			Containers []struct {
				Container string `yaml:"container"`
				Image     string `yaml:"image"`
			} `yaml:"containers"`
		} `yaml:"resources"`
		Pool   map[string]string `yaml:"pool"`
		Stages []struct {
			Stage     string           `yaml:"stage"`
			Variables []map[string]any `yaml:"variables"`
			Jobs      []job            `yaml:"jobs"`
		} `yaml:"stages"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("azure-pipelines.yml: %v", err)
	}
	if p.Trigger.Kind == 0 {
		t.Error("no trigger")
	}
	if p.LockBehavior != "sequential" {
		t.Errorf("lockBehavior %q, want sequential (with an exclusive lock, releases never overlap)", p.LockBehavior)
	}
	containers := map[string]string{}
	for _, c := range p.Resources.Containers {
		containers[c.Container] = c.Image
	}
	if len(p.Stages) != 1 {
		t.Fatalf("%d stages, want 1 (the matrix reads a job output of the same stage)", len(p.Stages))
	}
	// The example's tag must be one the release workflow pushes: a moving
	// major tag (vN-azure) or a digest.
	rel := readFile(t, "../.github/workflows/release.yml")
	for name, img := range containers {
		_, tag, _ := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
		switch {
		case strings.Contains(img, "@sha256:"):
		case regexp.MustCompile(`^v[0-9]+-azure$`).MatchString(tag):
			if !strings.Contains(string(rel), `--tag "${image}:${major}${suffix}"`) {
				t.Errorf("container %s uses %s, but release.yml does not push the moving major tag", name, img)
			}
		default:
			t.Errorf("container %s: image %q: use the moving vN-azure tag or pin a digest", name, img)
		}
	}
	jobs := map[string]job{}
	for _, j := range p.Stages[0].Jobs {
		jobs[j.Job] = j
		img, ok := containers[j.Container]
		if !ok || !strings.Contains(img, "amigo-release") || !strings.HasSuffix(img, "-azure") && !strings.Contains(img, "@sha256:") {
			t.Errorf("job %s: container %q (%q) is not the azure image", j.Job, j.Container, img)
		}
		var runs bool
		for _, s := range j.Steps {
			if s.Checkout != "" && (s.FetchDepth == nil || *s.FetchDepth != 0) {
				t.Errorf("job %s: checkout without fetchDepth: 0", j.Job)
			}
			if strings.HasPrefix(s.Script, "amigo-release ") {
				runs = true
				if s.Name != "amigo" {
					t.Errorf("job %s: the amigo-release step is named %q; outputs are read as amigo.<name>", j.Job, s.Name)
				}
				if strings.Contains(s.Script, "--offline") {
					// No API call: no credential belongs in its env.
					if len(s.Env) != 0 {
						t.Errorf("job %s: an offline step gets env %v, which it does not need", j.Job, s.Env)
					}
					continue
				}
				if s.Env["SYSTEM_ACCESSTOKEN"] != "$(System.AccessToken)" {
					t.Errorf("job %s: SYSTEM_ACCESSTOKEN not mapped explicitly", j.Job)
				}
				for _, v := range []string{"AMIGO_API_KEY", "AMIGO_API_KEY_ID", "AMIGO_USER_ID"} {
					if s.Env[v] != "$("+v+")" {
						t.Errorf("job %s: secret %s not mapped into the step's env", j.Job, v)
					}
				}
			}
		}
		if !runs {
			t.Errorf("job %s does not run amigo-release", j.Job)
		}
	}
	plan, release := jobs["plan"], jobs["release"]
	if !strings.HasPrefix(strings.TrimSpace(plan.Steps[len(plan.Steps)-1].Script), "amigo-release plan") {
		t.Error("the plan job does not run amigo-release plan")
	}
	if release.DependsOn != "plan" || release.Strategy == nil ||
		release.Strategy.Matrix != "$[ dependencies.plan.outputs['amigo.azure_matrix'] ]" {
		t.Errorf("release job does not fan out over the plan job's azure_matrix: %+v", release.Strategy)
	}
	for _, want := range []string{"succeeded()", "'PullRequest'", "dependencies.plan.outputs['amigo.azure_matrix']"} {
		if !strings.Contains(release.Condition, want) {
			t.Errorf("release condition lacks %s: %s", want, release.Condition)
		}
	}
	amigoStep := func(j job) string {
		for _, s := range j.Steps {
			if s.Name == "amigo" {
				return s.Script
			}
		}
		return ""
	}
	if !strings.Contains(amigoStep(release), `--tools "$(tool)"`) || !strings.Contains(amigoStep(release), `--slot "$(slot)"`) {
		t.Error("release job does not pass its matrix tool to --tools and its slot to --slot")
	}
	if !strings.Contains(amigoStep(plan), "--fan-out-jobs 4") || release.Strategy.MaxParallel != 4 {
		t.Errorf("the plan's --fan-out-jobs and the release job's maxParallel (%d) must be the same (4)", release.Strategy.MaxParallel)
	}
	if h := jobs["history"]; !strings.Contains(amigoStep(h), "--offline") || !strings.Contains(amigoStep(h), "--history") || h.DependsOn != "release" {
		t.Error("the history job does not merge the jobs' reports with an offline plan after the release job")
	}
}

// TestActionYAML_shellcheck runs shellcheck over the action's bash steps
// (actionlint checks workflows' scripts, not an action's). Without
// shellcheck it skips, except under CI=true, where it fails. Linux only.
func TestActionYAML_shellcheck(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shellcheck's findings do not depend on the OS: the Linux job runs this")
	}
	sc := needTool(t, "shellcheck")
	expr := regexp.MustCompile(`\$\{\{[^}]*\}\}`)
	for _, s := range loadAction(t).Runs.Steps {
		if s.Run == "" {
			continue
		}
		script := "#!/usr/bin/env bash\n" + expr.ReplaceAllString(s.Run, "EXPR")
		cmd := exec.Command(sc, "-s", "bash", "-e", "SC2154", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("step %q:\n%s", s.Name, out)
		}
	}
}

// TestRollbackWorkflow: the example rollback workflow is a workflow_dispatch
// with tool and to inputs that reach the action's rollback mode (and its
// dry-run), in the release's concurrency group.
func TestRollbackWorkflow(t *testing.T) {
	b := readFile(t, "../examples/workflows/rollback.yml")
	var w struct {
		On struct {
			Dispatch struct {
				Inputs map[string]struct {
					Required bool   `yaml:"required"`
					Type     string `yaml:"type"`
				} `yaml:"inputs"`
			} `yaml:"workflow_dispatch"`
		} `yaml:"on"`
		Concurrency struct {
			Group string `yaml:"group"`
		} `yaml:"concurrency"`
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	in := w.On.Dispatch.Inputs
	if !in["tool"].Required || !in["to"].Required || in["dry-run"].Type != "boolean" {
		t.Errorf("workflow_dispatch inputs %+v: want required tool and to, a boolean dry-run", in)
	}
	if w.Concurrency.Group != "amigo-release-${{ github.ref }}" {
		t.Errorf("concurrency group %q: share the release's, so a rollback never overlaps a release", w.Concurrency.Group)
	}
	found := false
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, ownAction) && s.With["mode"] == "rollback" {
				found = true
				if s.With["tool"] != "${{ inputs.tool }}" || s.With["to"] != "${{ inputs.to }}" || s.With["dry-run"] != "${{ inputs.dry-run }}" {
					t.Errorf("rollback step inputs %v", s.With)
				}
			}
		}
	}
	if !found {
		t.Error("no step runs the action with mode: rollback")
	}
	if _, ok := loadAction(t).Inputs["to"]; !ok {
		t.Error("action.yml has no `to` input")
	}
}

// TestAzureRollbackPipeline: the Azure example's manual rollback pipeline
// runs only by hand, takes tool/to/dryRun parameters, and passes them to
// the script through env (never pasted into the script), with the secrets
// and the token mapped explicitly, in the release's variable group.
func TestAzureRollbackPipeline(t *testing.T) {
	b := readFile(t, "../examples/workflows/azure-pipelines-rollback.yml")
	var p struct {
		Trigger      string `yaml:"trigger"`
		PR           string `yaml:"pr"`
		LockBehavior string `yaml:"lockBehavior"`
		Parameters   []struct {
			Name string `yaml:"name"`
			Type string `yaml:"type"`
		} `yaml:"parameters"`
		Stages []struct {
			Variables []map[string]any `yaml:"variables"`
			Jobs      []struct {
				Container string `yaml:"container"`
				Steps     []struct {
					Checkout   string            `yaml:"checkout"`
					FetchDepth *int              `yaml:"fetchDepth"`
					Script     string            `yaml:"script"`
					Env        map[string]string `yaml:"env"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		} `yaml:"stages"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Trigger != "none" || p.PR != "none" || p.LockBehavior != "sequential" {
		t.Errorf("trigger %q, pr %q, lockBehavior %q: want a manual pipeline, sequential with the releases", p.Trigger, p.PR, p.LockBehavior)
	}
	params := map[string]string{}
	for _, x := range p.Parameters {
		params[x.Name] = x.Type
	}
	if params["tool"] != "string" || params["to"] != "string" || params["dryRun"] != "boolean" {
		t.Errorf("parameters %v", params)
	}
	if len(p.Stages) != 1 || len(p.Stages[0].Jobs) != 1 || p.Stages[0].Jobs[0].Container != "amigo" {
		t.Fatalf("want one container job: %+v", p.Stages)
	}
	if !strings.Contains(string(b), "group: amigo-release") {
		t.Error("not in the release's variable group (its exclusive lock keeps rollbacks and releases apart)")
	}
	rolls := false
	for _, s := range p.Stages[0].Jobs[0].Steps {
		if s.Checkout != "" && (s.FetchDepth == nil || *s.FetchDepth != 0) {
			t.Error("checkout without fetchDepth: 0")
		}
		if !strings.HasPrefix(s.Script, "amigo-release ") {
			continue
		}
		if strings.Contains(s.Script, "${{") {
			t.Errorf("a parameter is pasted into the script: %s", s.Script)
		}
		for _, v := range []string{"AMIGO_API_KEY", "AMIGO_API_KEY_ID", "AMIGO_USER_ID"} {
			if s.Env[v] != "$("+v+")" {
				t.Errorf("secret %s not mapped into %q", v, s.Script)
			}
		}
		if strings.HasPrefix(s.Script, "amigo-release rollback ") {
			rolls = true
			if s.Env["ROLLBACK_TOOL"] != "${{ parameters.tool }}" || s.Env["ROLLBACK_TO"] != "${{ parameters.to }}" ||
				!strings.Contains(s.Script, `"$ROLLBACK_TOOL" --to "$ROLLBACK_TO"`) || !strings.Contains(s.Script, "--dry-run=") {
				t.Errorf("rollback step: %q with env %v", s.Script, s.Env)
			}
		}
	}
	if !rolls {
		t.Error("no step runs amigo-release rollback")
	}
}
