package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/demo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

func init() {
	register(command{name: "demo", order: 30, summary: "the whole flow on a generated sample repository against the embedded emulator", run: runDemo})
}

// DemoOptions are the flags of `amigo-release demo`.
type DemoOptions struct {
	Keep       bool
	Dir        string
	ReportJSON string
	Addr       string
	TimeScale  float64
	Verbose    bool
}

const demoHelp = `Shows a whole release in a few seconds, with nothing to set up: it writes a sample
git repository (four tool projects, a Conventional Commits history with a breaking
change and a non-conventional message, a four-stage release plan), starts the Amigo
Tool API emulator for four regions in this process with time compressed, seeds older
versions of some tools, and runs the real release path (the same as 'run'): test gate,
publish, smoke, soak, promotion to every region, pruning beyond the active cap with a
pinned version kept. It prints the result table, what serves where (the status
command), the pull request comment it would post, and where the JSON report is.

Without --keep the temporary directory is removed at the end; only the JSON report
stays. With --keep the repository stays and the emulator keeps serving (Ctrl-C stops
it), with commands to try against it.`

func runDemo(ctx context.Context, env *Env, args []string) error {
	var o DemoOptions
	f := newFlagSet("demo", "[flags]", demoHelp, env)
	f.Bool(&o.Keep, "keep", "AMIGO_DEMO_KEEP", "", false, "keep the sample repository and leave the emulator serving until Ctrl-C")
	f.String(&o.Dir, "dir", "AMIGO_DEMO_DIR", "", "", "DIR", "where to create the temporary directory, creating DIR first if it does not exist (default: the system's temporary directory)")
	f.String(&o.ReportJSON, "report-json", "AMIGO_DEMO_REPORT_JSON", "", "", "FILE", "write the JSON report to FILE; - writes it to stdout, and everything else the demo prints then goes to stderr (default: a new amigo-release-demo-*.json beside the temporary directory)")
	f.String(&o.Addr, "addr", "AMIGO_DEMO_ADDR", "", "127.0.0.1:0", "HOST:PORT", "where the emulator listens (port 0 picks a free port)")
	f.Float(&o.TimeScale, "time-scale", "AMIGO_DEMO_TIME_SCALE", "", 600, "N", "simulated seconds per real second (600: a 1-5 minute publish takes 0.1-0.5 s)")
	f.Verbose(&o.Verbose, verboseHelp)
	if err := f.parse(args, env.Stdout); err != nil {
		return err
	}
	if o.TimeScale < 1 {
		return usageErrorf("--time-scale %g: want a number >= 1 (1 = real time)", o.TimeScale)
	}
	return demoRun(ctx, env, o)
}

// demoRun is the demo: sample repository, emulators, release, rendering.
func demoRun(ctx context.Context, env *Env, o DemoOptions) (err error) {
	wall := clock.Real{}
	began := wall.Now()
	toStdout := o.ReportJSON == stdoutPath
	out := env.Stdout
	if toStdout {
		out = env.Stderr // stdout carries the JSON report only
		env.exit.DataOnStdout()
	}
	parent := o.Dir
	if parent == "" {
		parent = os.TempDir()
	} else if err := os.MkdirAll(parent, 0o755); err != nil {
		// A --dir that does not exist yet is created (with its parents),
		// and stays: the JSON report is written beside the sample.
		return usageErrorf("--dir %s: %v (give a directory that exists or can be created)", parent, err)
	}
	work, err := os.MkdirTemp(parent, "amigo-release-demo-")
	if err != nil {
		return unavailableErrorf("create the demo's temporary directory: %v (set --dir to a writable directory)", err)
	}
	work, _ = filepath.Abs(work)
	keepWork := false
	defer func() {
		if keepWork {
			return
		}
		if rerr := os.RemoveAll(work); rerr != nil && err == nil {
			err = fmt.Errorf("remove the temporary directory %s: %w", work, rerr)
		}
	}()
	jsonPath := o.ReportJSON
	if jsonPath == "" || toStdout {
		if o.Keep || toStdout {
			jsonPath = filepath.Join(work, "report.json")
		} else {
			name, ferr := env.exit.TempFile(parent, "amigo-release-demo-*.json", nil, egress.Data)
			if ferr != nil {
				return unavailableErrorf("create the JSON report file: %v (set --report-json)", ferr)
			}
			jsonPath = name
		}
	}
	jsonPath, _ = filepath.Abs(jsonPath)
	repoDir := filepath.Join(work, "repo")

	// One simulated clock for the emulators and the release, so that their
	// minutes agree.
	clk := clock.NewScaled(o.TimeScale)
	cluster, err := demo.StartCluster(demo.ClusterOptions{Addr: o.Addr, Emulator: amigotest.Options{
		Clock:        clk,
		RepoPath:     repoDir,
		StaticTokens: map[string]string{demo.Token: "demo-user"},
	}})
	if err != nil {
		return unavailableErrorf("%v (try --addr 127.0.0.1:0)", err)
	}
	defer cluster.Close()
	sample, err := demo.WriteSample(repoDir, cluster.URLs())
	if err != nil {
		return fmt.Errorf("write the sample repository: %w", err)
	}
	if err := sample.Seed(cluster); err != nil {
		return err
	}

	fmt.Fprintf(out, "amigo-release demo: a sample monorepo released to four emulated Amigo regions\n\n")
	fmt.Fprintf(out, "Repository  %s\n            %s", repoDir, demoIndent(sample.Describe(), "            "))
	fmt.Fprintf(out, "Plan        %s: us (test gate, smoke) -> eu-central-1 (soak 10m, keeps weather_lookup %s) -> ap-southeast-2 + ca-central-1 (active_cap 3)\n",
		filepath.Join(repoDir, filepath.FromSlash(demo.PlanPath)), sample.Pinned)
	fmt.Fprintf(out, "Emulator    %s/{%s} in this process, time x%g (a simulated minute takes %s)\n\n",
		cluster.BaseURL, strings.Join(cluster.Names, ","), o.TimeScale, clk.Real(time.Minute).Round(time.Millisecond))

	fmt.Fprintf(out, "== Release: the run command's own path (log on stderr) ==\n\n")
	denv := *env
	denv.Clock = clk
	// The release's credentials are the demo's public placeholders, which
	// the instructions below print on purpose: a scope of the exit masks
	// them in what the release writes, not in the demo's own lines.
	denv.exit = env.exit.Scope()
	denv.Stdout, denv.Stderr = denv.exit.Stdout(), denv.exit.Stderr()
	if toStdout {
		denv.Stdout = denv.exit.Stderr() // stdout carries the JSON report only
	}
	vars := demo.Env()
	denv.Getenv = func(k string) string { return vars[k] } // nothing from this process's environment: no CI face, no real credentials
	relErr := release(ctx, &denv, ReleaseOptions{
		Mode:       pipeline.ModeRun,
		Config:     demo.PlanPath,
		Repo:       repoDir,
		Head:       "HEAD",
		ReportJSON: jsonPath,
		Verbose:    o.Verbose,
	})
	if relErr != nil && ctx.Err() != nil {
		// The release's "rerun the same command" does not apply: the
		// emulators lived in this process and are gone.
		return withCode(ExitInterrupted, errors.New("demo interrupted: its emulators lived in this process and are gone; run the demo again to start over"))
	}
	rep, readErr := readDemoReport(jsonPath)
	if readErr != nil {
		if relErr != nil {
			return relErr
		}
		return fmt.Errorf("read back the JSON report: %w", readErr)
	}
	fmt.Fprintf(out, "\n== What the emulators serve now (their own state) ==\n\n%s", sample.State(cluster))
	fmt.Fprintf(out, "\n== What serves where, as the status command reads it (read-only API calls) ==\n\n")
	if err := runStatus(ctx, &denv, []string{"--repo", repoDir, "--config", demo.PlanPath}); err != nil {
		fmt.Fprintf(out, "status: %v\n", err)
	}
	fmt.Fprintf(out, "\n== The pull request comment it would post (Markdown) ==\n\n")
	fmt.Fprintln(out, strings.TrimRight(report.Markdown(rep, report.Options{Marker: demo.PlanPath, MaxBytes: 65536}), "\n"))

	fmt.Fprintf(out, "\n== Files ==\n\n")
	if toStdout {
		b, err := os.ReadFile(jsonPath)
		if err != nil {
			return fmt.Errorf("read back the JSON report: %w", err)
		}
		if err := env.exit.Emit(b, egress.JSON); err != nil {
			return fmt.Errorf("write the JSON report to standard output: %w", err)
		}
		fmt.Fprintf(out, "JSON report   written to standard output\n")
	} else {
		fmt.Fprintf(out, "JSON report   %s\n", jsonPath)
	}
	fmt.Fprintf(out, "Emulators     %s\n", demoCallSummary(cluster))
	if o.Keep {
		keepWork = true
		fmt.Fprintf(out, "Kept          %s (the sample repository and its plan)\n", work)
		fmt.Fprintf(out, "\nDemo release done in %s.\n", wall.Now().Sub(began).Round(10*time.Millisecond))
		if relErr != nil {
			return relErr
		}
		return demoServe(ctx, env, out, cluster, sample, repoDir, o)
	}
	if toStdout {
		fmt.Fprintf(out, "Removed       %s (the sample repository)\n", work)
	} else {
		fmt.Fprintf(out, "Removed       %s (the sample repository); only the JSON report stays\n", work)
	}
	fmt.Fprintf(out, "\nDemo done in %s. Keep the repository and a live emulator to poke at: amigo-release demo --keep\n", wall.Now().Sub(began).Round(10*time.Millisecond))
	return relErr
}

// demoServe keeps the emulators serving after a --keep demo until ctx ends
// (Ctrl-C), with commands to try.
func demoServe(ctx context.Context, env *Env, out io.Writer, cluster *demo.Cluster, sample *demo.Sample, repoDir string, o DemoOptions) error {
	us := cluster.URL("us")
	weatherID := ""
	if t, ok := cluster.Servers["us"].ToolByName(demo.Org, "weather_lookup"); ok {
		weatherID = t.ID
	}
	fmt.Fprintf(out, "\nThe emulator keeps serving (Ctrl-C stops it):\n")
	for _, r := range cluster.Names {
		fmt.Fprintf(out, "  %-15s %s\n", r, cluster.URL(r))
	}
	fmt.Fprintf(out, "\nTry it (the bearer token %q works in every region):\n", demo.Token)
	fmt.Fprintf(out, "  curl -s %s/v1/%s/tool/ -H 'Authorization: Bearer %s'\n", us, demo.Org, demo.Token)
	if weatherID != "" {
		fmt.Fprintf(out, "  curl -s '%s/v1/%s/tool/%s/version?deprecated=true' -H 'Authorization: Bearer %s'\n", us, demo.Org, weatherID, demo.Token)
	}
	var exports []string
	vars := demo.Env()
	for _, k := range demoSortedKeys(vars) {
		exports = append(exports, k+"="+vars[k])
	}
	if hint := demoBuildHint(env.Getenv, filepath.Dir(repoDir)); hint != "" {
		fmt.Fprintf(out, "  %s\n", hint)
	}
	fmt.Fprintf(out, "  export %s\n", strings.Join(exports, " "))
	// --time-scale matches the emulator's clock: at the default 1 the
	// client paces itself in real minutes and a plan takes seconds.
	fmt.Fprintf(out, "  amigo-release plan --repo %s --time-scale %g    # everything is released: nothing to do\n", repoDir, o.TimeScale)
	// The identity is given on the command line: a fresh machine has none
	// configured and git would refuse the commit.
	fmt.Fprintf(out, "  cd %s && echo '# faster' >> tools/timezone/main.py && git -c user.name=demo -c user.email=demo@example.invalid commit -qam 'perf(timezone): cache the table'\n", repoDir)
	fmt.Fprintf(out, "  amigo-release plan --repo %s --time-scale %g    # timezone_info 1.0.1 (patch) to every region\n", repoDir, o.TimeScale)
	fmt.Fprintf(out, "  amigo-release run --repo %s --time-scale %g\n", repoDir, o.TimeScale)
	fmt.Fprintf(out, "  amigo-release status --repo %s --time-scale %g  # what serves where, drift, caps, pins\n", repoDir, o.TimeScale)
	fmt.Fprintf(out, "  amigo-release rollback weather_lookup --to 1.2.0 --dry-run --repo %s --time-scale %g\n", repoDir, o.TimeScale)
	fmt.Fprintf(out, "  amigo-release notes weather_lookup --repo %s   # release notes as markdown\n", repoDir)
	if env.Ready != nil {
		env.Ready(cluster.BaseURL)
	}
	<-ctx.Done()
	fmt.Fprintf(out, "\nStopped the emulator. The repository stays in %s.\n", filepath.Dir(repoDir))
	return nil
}

// readDemoReport reads a JSON report written by release.
func readDemoReport(path string) (*pipeline.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep pipeline.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rep, nil
}

// demoCallSummary counts what the emulators were asked, per operation.
func demoCallSummary(c *demo.Cluster) string {
	n := map[string]int{}
	total := 0
	for _, reqs := range c.Requests() {
		for _, r := range reqs {
			if r.OperationID != "" {
				n[r.OperationID]++
				total++
			}
		}
	}
	var parts []string
	for _, op := range demoSortedKeys(n) {
		parts = append(parts, fmt.Sprintf("%s %d", op, n[op]))
	}
	return fmt.Sprintf("%d API calls over HTTP (%s)", total, strings.Join(parts, ", "))
}

func demoSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// indent prefixes every line after the first with pad.
func demoIndent(s, pad string) string {
	s = strings.TrimRight(s, "\n")
	return strings.ReplaceAll(s, "\n", "\n"+pad) + "\n"
}

// demoBuildHint is the command that puts an amigo-release binary on PATH,
// for a user who ran the demo with `go run .` (the commands it prints call
// amigo-release); "" when PATH already has one. It builds from the current
// directory when that is this module's checkout.
func demoBuildHint(getenv func(string) string, work string) string {
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" {
			continue
		}
		for _, name := range []string{"amigo-release", "amigo-release.exe"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
				return ""
			}
		}
	}
	bin := filepath.Join(work, "bin")
	src := "."
	if wd, err := os.Getwd(); err == nil {
		if b, err := os.ReadFile(filepath.Join(wd, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/amigo-release/amigo-release\n") {
			src = wd
		}
	}
	return fmt.Sprintf("(cd %s && go build -o %s .) && export PATH=%s:\"$PATH\"    # amigo-release is not on PATH: build it from the clone",
		src, filepath.Join(bin, "amigo-release"), bin)
}
