package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/cilog"
	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/report"
)

// hostileCases is how many cases the campaign runs (each in GitHub and in
// Azure mode): AMIGO_HOSTILE_CASES, else 4 under -short and 8 otherwise.
func hostileCases(t *testing.T) int {
	if s := os.Getenv("AMIGO_HOSTILE_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("AMIGO_HOSTILE_CASES=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 4
	}
	return 8
}

// The secrets every run holds: the Amigo credentials, the CI token and a
// multi-line secret envvar, with the characters that escaping changes.
var hostileSecrets = map[string]string{
	"AMIGO_API_KEY":      "ak-hostile-9f8e7d6c5b4a3928",
	"AMIGO_API_KEY_ID":   "kid-hostile-1a2b3c4d",
	"AMIGO_USER_ID":      "releaser-hostile-77",
	"GITHUB_TOKEN":       "ghs_hostile_token_abcdef0123456789",
	"SYSTEM_ACCESSTOKEN": "ado-hostile-token-0123456789abcdef",
	"HOSTILE_PEM":        "-----BEGIN HOSTILE KEY-----\nMIIBhostileLINEone+/=\nhostile%line:two,\"<&>\\\n-----END HOSTILE KEY-----",
}

// secretLines are what the runner is told of each secret (each line of a
// multi-line one).
func secretLines() []string {
	var out []string
	for _, v := range hostileSecrets {
		for _, l := range strings.Split(v, "\n") {
			if l = strings.TrimSpace(l); len(l) >= egress.MinSecretLength {
				out = append(out, l)
			}
		}
	}
	return out
}

// secretForms are the encodings in which a secret could leak: as it is,
// JSON-escaped, Go-quoted, URL-encoded, base64 at each alignment, and as
// the report renders it in markdown.
func secretForms(markdown bool) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if len(f) >= 6 && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	var parts []string
	for _, v := range hostileSecrets {
		parts = append(parts, v)
		for _, l := range strings.Split(v, "\n") {
			if l = strings.TrimSpace(l); len(l) >= 8 {
				parts = append(parts, l)
			}
		}
	}
	for _, p := range parts {
		add(p)
		j, _ := json.Marshal(p)
		add(string(j[1 : len(j)-1]))
		q := strconv.Quote(p)
		add(q[1 : len(q)-1])
		add(url.QueryEscape(p))
		add(url.PathEscape(p))
		for shift := 0; shift < 3; shift++ {
			buf := append(make([]byte, shift), p...)
			n := len(buf) / 3 * 3
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				s := enc.EncodeToString(buf[:n])
				if shift > 0 && len(s) > 4 {
					s = s[4:]
				}
				add(s)
			}
		}
		if markdown {
			for _, f := range report.RenderedForms(p) {
				add(f)
			}
		}
	}
	return out
}

// payloads are the pieces hostile text is made of; "CANARY" is replaced
// by the case's canary, which any command or markup they manage to make
// would carry.
var payloads = []string{
	"\n::warning::CANARY", "\r::error title=CANARY::x", "  ::set-output name=CANARY::1", "\u00a0::add-mask::CANARY",
	"\n::stop-commands::CANARY", "\n::CANARY::", "\n\t::notice file=CANARY::n", "\u3000::group::CANARY",
	"##vso[task.setvariable variable=CANARY]1", "##vso[task.complete result=Failed;]CANARY", "##[error]CANARY", "###[group]CANARY",
	"#", "%0A::warning::CANARY", "%AZP25 %0D%0A##vso[task.setsecret]CANARY", "\x1b[31mCANARY\x1b[0m", "\x1b]8;;http://CANARY.example\x07link\x1b]8;;\x07",
	"\x1b[2J\x1b[H", "\u202eCANARY\u202c", "\u2066iso\u2069", "\x00", "\u009b2J", "\u0085::warning::CANARY", "\u2028::error::CANARY",
	"<script>alert('CANARY')</script>", "<img src=x onerror=CANARY>", "<a href=javascript:CANARY>x</a>", "<!-- CANARY", "-->", "</details></pre>",
	"@CANARY-team", "@CANARY", "[x](javascript:CANARY)", "![i](http://CANARY.example/p.png)", "`", "``", "|", "\\", "$x^CANARY$", "*_~",
	"\xff\xfe", "\ufeff", "\u200b::", "\t", " ",
}

// hostileText draws n pieces of payload for the canary, in a random order,
// sometimes with a long run.
func hostileText(rng *rand.Rand, canary string, n int) string {
	var b strings.Builder
	b.WriteString("x ")
	for i := 0; i < n; i++ {
		b.WriteString(strings.ReplaceAll(payloads[rng.Intn(len(payloads))], "CANARY", canary))
	}
	if rng.Intn(6) == 0 {
		b.WriteString(strings.Repeat("long ", 1000+rng.Intn(2000)))
	}
	return b.String()
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clean drops what a field cannot hold.
func clean(s, drop string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(drop, r) {
			return -1
		}
		return r
	}, s)
}

// hostileScenario is what a case attacks.
type hostileScenario int

const (
	scenarioRelease hostileScenario = iota // hostile commits, paths, branch, descriptions, test exceptions: a release
	scenarioServer                         // the servers answer with hostile bodies that echo the request, secrets included
	scenarioSignIn                         // a 401 that echoes the credentials: exit 2, nothing published
	scenarioPlan                           // a hostile plan key or value: exit 2, nothing published
	scenarioProject                        // a hostile or over-large pyproject.toml: exit 2, nothing published
	scenarioCount
)

func (s hostileScenario) String() string {
	return [...]string{"release", "server", "sign-in", "plan", "project"}[s]
}

// hostileTally adds up what every run saw.
type hostileTally struct {
	mu          sync.Mutex
	cases       int
	runs        int
	sinks       int
	bytes       int64
	leaks       int
	injections  int
	markup      int
	badExits    int
	published   int
	maxRSS      int64
	maxRSSRun   string
	exits       map[int]int
	byScenario  map[string]int
	rssOverGoal int
	seeds       map[int64]bool
	dayTwoRuns  int
	dayTwoExits map[string]int // "status exit 0" → runs
}

func (h *hostileTally) add(f func(*hostileTally)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// TestHostileCampaign runs the built binary on generated hostile text in
// every field that reaches its output, as GitHub Actions and as Azure
// Pipelines run it, and reads everything it wrote the way the runner does
// (internal/cilog: GitHub's stop-commands state, Azure's ##vso[ anywhere):
//
//   - no workflow command but the program's own (its masks, annotations,
//     groups, outputs, summary upload), none made of hostile text;
//   - no secret, in any encoding (as it is, per line, JSON, %q, URL,
//     base64, markdown), in any sink: stdout, stderr, the step output
//     file, the job summary (GitHub's file, Azure's uploaded files), the
//     pull request comment (GitHub) or thread (Azure), the JSON report;
//   - HTML and mentions from hostile text inert in every markdown sink;
//   - no control character, bidi override or invalid UTF-8 in any sink;
//   - the run's peak RSS within 100 MB;
//   - bad input (a hostile plan, a hostile or over-large pyproject.toml,
//     credentials the server refuses) exits 2 with nothing published.
//
// After the run, each case runs the day-two commands in the same CI
// (dayTwo): validate, notes, status (or status --json) and rollback
// (or --dry-run, --json) against servers that answer hostile listings,
// hostile error bodies or refused deprecations and smoke tests, every
// sink judged the same way; a JSON document on stdout must also parse
// and no string of it, printed (jq -r), may run a command.
//
// Fields: commit subjects, bodies and authors; tool descriptions, tags
// and envvar names; plan keys and values; branch names; project paths;
// server error bodies and FastAPI detail lists; test exception text and
// stack traces. Reproduce one case (within AMIGO_HOSTILE_CASES):
//
//	AMIGO_HOSTILE_CASES=9 go test ./e2e -run 'TestHostileCampaign/case-9/' -v
func TestHostileCampaign(t *testing.T) {
	n := hostileCases(t)
	ta := &hostileTally{exits: map[int]int{}, byScenario: map[string]int{}, seeds: map[int64]bool{}, dayTwoExits: map[string]int{}}
	start := time.Now()
	t.Run("case", func(t *testing.T) {
		for i := 1; i <= n; i++ {
			seed := int64(i)
			for _, d := range []egress.Dialect{egress.GitHub, egress.Azure} {
				name := map[egress.Dialect]string{egress.GitHub: "github", egress.Azure: "azure"}[d]
				t.Run(fmt.Sprintf("%d/%s", seed, name), func(t *testing.T) {
					t.Parallel()
					runHostile(t, seed, d, ta)
				})
			}
		}
	})
	exits, scen, day := counted(ta.exits, "exit %d: %d"), counted(ta.byScenario, "%s=%d"), counted(ta.dayTwoExits, "%s: %d")
	t.Logf("hostile campaign: cases=%d runs=%d (%s) wall=%s", ta.cases, ta.runs, strings.Join(scen, " "), time.Since(start).Round(time.Millisecond))
	t.Logf("hostile campaign: day-two runs=%d (status, notes, rollback, validate; %s)", ta.dayTwoRuns, strings.Join(day, ", "))
	t.Logf("hostile campaign: sinks checked=%d bytes checked=%d; %s", ta.sinks, ta.bytes, strings.Join(exits, ", "))
	t.Logf("hostile campaign: leaks=%d injections=%d live markup=%d bad input not exit 2=%d published on bad input=%d", ta.leaks, ta.injections, ta.markup, ta.badExits, ta.published)
	t.Logf("hostile campaign: max RSS=%d MB (%s); runs over 100 MB=%d", ta.maxRSS>>20, ta.maxRSSRun, ta.rssOverGoal)
}

// hostileWorld is one run's repository, servers and CI fakes.
type hostileWorld struct {
	*world
	rng     *rand.Rand
	canary  string
	proxy   *httptest.Server
	gh      *fakeci.GitHub
	ado     *fakeci.Azure
	regions map[string]string // stage → proxied base URL

	mu     sync.Mutex
	answer func(w http.ResponseWriter, r *http.Request, body []byte) bool
	// forward sends a request to the emulators (the proxy's own path).
	forward http.Handler
}

// setAnswer makes the proxy answer the requests f takes.
func (hw *hostileWorld) setAnswer(f func(w http.ResponseWriter, r *http.Request, body []byte) bool) {
	hw.mu.Lock()
	defer hw.mu.Unlock()
	hw.answer = f
}

// runHostile is one case in one dialect.
func runHostile(t *testing.T, seed int64, d egress.Dialect, ta *hostileTally) {
	rng := rand.New(rand.NewSource(seed))
	scenario := hostileScenario(int(seed-1) % int(scenarioCount))
	hw := &hostileWorld{world: newWorld(t), rng: rng, canary: fmt.Sprintf("pwn%d", seed)}
	hw.stages = []string{"us", "eu"}
	hw.proxyServers()
	text := func(n int) string { return hostileText(hw.rng, hw.canary, n) }

	// The repository: two tools, released once; then hostile commits.
	project := func(dir, name, desc string) map[string]string {
		return map[string]string{
			dir + "/pyproject.toml": fmt.Sprintf("[project]\nname = %q\n\n[tool.amigo-release]\ndescription = %s\n\n[[tool.amigo-release.envvars]]\nname = \"PEM\"\nfrom_env = \"HOSTILE_PEM\"\nsecret = true\n",
				name, tomlString(desc)),
			dir + "/main.py": "def run(**kw):\n    return kw\n",
		}
	}
	weatherDir := "tools/weather"
	if scenario == scenarioRelease || rng.Intn(2) == 0 {
		// A project directory named by hostile text (no '/', no NUL, at
		// most 100 bytes: file systems stop at 255).
		weatherDir = "tools/" + clip(clean(text(2), "/\x00\\"), 100)
	}
	w := hw.world
	first := w.commit("feat: tools", testkit.Files(
		map[string]string{".amigo/release.yaml": hw.plan("")},
		project(weatherDir, "weather-lookup", "Weather "+text(3)),
		project("tools/currency", "currency_convert", "Currency"),
	))
	w.checkout(0)
	// The first release, from a terminal, before the hostile commits: the
	// runs under test have versions to compare with.
	if scenario != scenarioPlan && scenario != scenarioProject {
		hw.seedRelease()
	}
	branch := clean(text(3), "\x00")
	author := clean(text(2), "<>\n\r\x00")
	for i := 0; i < 2+rng.Intn(3); i++ {
		msg := fmt.Sprintf("fix(weather): %s\n\n%s", clean(text(3), "\x00"), clean(text(4), "\x00"))
		hw.commitAs(author, msg, map[string]string{weatherDir + "/main.py": fmt.Sprintf("def run(**kw):\n    return %d\n", i)})
	}
	want := []int{0, 1}
	switch scenario {
	case scenarioRelease:
		// A test input whose exception text the commit controls.
		hw.commitAs(author, "feat(weather): raise", map[string]string{weatherDir + "/pyproject.toml": fmt.Sprintf(
			"[project]\nname = \"weather-lookup\"\n\n[tool.amigo-release]\ndescription = %s\n\n[[tool.amigo-release.test_inputs]]\ninput_parameters = { raise = %s }\n",
			tomlString(text(3)), tomlString("ValueError: "+clean(text(4), "\x00")))})
	case scenarioServer:
		hw.setAnswer(hw.echoing(rng))
	case scenarioSignIn:
		want = []int{2}
		hostile := text(2)
		hw.setAnswer(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
			if !strings.HasSuffix(r.URL.Path, "/user/signin_with_api_key") {
				return false
			}
			writeHostile(w, http.StatusUnauthorized, hw.echo(r, body, hostile))
			return true
		})
	case scenarioPlan:
		want = []int{2}
		bad := clean(text(3), "\x00")
		var plan string
		switch rng.Intn(4) {
		case 0:
			plan = hw.plan(yamlString(bad) + ": 1\n")
		case 1:
			plan = strings.Replace(hw.plan(""), "organization: "+org, "organization: "+yamlString(bad), 1)
		case 2:
			plan = strings.Replace(hw.plan(""), "  - name: us\n", "  - name: us\n    branch: "+yamlString(bad)+"\n    region: "+yamlString(bad)+"\n", 1)
		default:
			plan = hw.plan("tools:\n  " + yamlString(bad) + ":\n    description: x\n")
		}
		hw.commitAs(author, "chore: plan", map[string]string{".amigo/release.yaml": plan})
	case scenarioProject:
		want = []int{2}
		var content string
		switch rng.Intn(5) {
		case 4:
			// A tag or an envvar name the API would refuse, in the other
			// tool: the start stops (all or nothing, issue 13), naming the key.
			bad := []string{"tags = { team = " + tomlString(text(2)) + " }", "tags = { " + tomlString(text(2)) + " = \"x\" }",
				"[[tool.amigo-release.envvars]]\nname = " + tomlString(text(2)) + "\nvalue = \"x\""}[rng.Intn(3)]
			hw.commitAs(author, "fix(currency): "+clean(text(2), "\x00"), map[string]string{"tools/currency/pyproject.toml": "[project]\nname = \"currency_convert\"\n\n[tool.amigo-release]\n" + bad + "\n"})
		case 0:
			content = fmt.Sprintf("[project]\nname = %s\n", tomlString(text(3)))
		case 1:
			n := 3000 + rng.Intn(30000)
			content = "[project]\nname = \"weather-lookup\"\n[tool.amigo]\ninput_schema = " + strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n) + "\n"
		case 2:
			var b strings.Builder
			b.WriteString("[project]\nname = \"weather-lookup\"\n[tool.x]\n")
			for i := 0; b.Len() < 900<<10; i++ {
				fmt.Fprintf(&b, "k%d%s = 1\n", i, strings.Repeat(".a", 20))
			}
			content = b.String()
		default:
			content = "[project]\nname = \"weather-lookup\"\n" + tomlString(text(2)) + " = [" + strings.Repeat("[", 100) + "\n"
		}
		if content != "" {
			hw.commitAs(author, "chore: project", map[string]string{weatherDir + "/pyproject.toml": content})
		}
	}
	head := w.gitIn(w.origin, "rev-parse", "HEAD")
	w.pull()
	for _, s := range w.cluster.Servers {
		s.ResetRequests()
	}

	sinks := map[string]string{}
	var code int
	var rss int64
	dir := t.TempDir()
	reportPath := filepath.Join(dir, "report.json")
	env := map[string]string{
		"AMIGO_TIME_SCALE":  fmt.Sprint(scale),
		"AMIGO_REPORT_JSON": reportPath,
		"AMIGO_CONFIG":      ".amigo/release.yaml",
	}
	for k, v := range hostileSecrets {
		env[k] = v
	}
	switch d {
	case egress.GitHub:
		hw.gh = fakeci.NewGitHub(t, hostileSecrets["GITHUB_TOKEN"])
		hw.gh.SetPRsOf(head, fakeci.PR{Number: 7, Base: branch})
		out, sum, ev := filepath.Join(dir, "output"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "event.json")
		payload, _ := json.Marshal(map[string]any{"ref": "refs/heads/" + branch, "before": first, "after": head, "repository": map[string]any{"full_name": ghRepo}})
		os.WriteFile(ev, payload, 0o644)
		os.WriteFile(out, nil, 0o644)
		os.WriteFile(sum, nil, 0o644)
		for k, v := range map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": ev, "GITHUB_SHA": head,
			"GITHUB_REF": "refs/heads/" + branch, "GITHUB_REPOSITORY": ghRepo, "GITHUB_API_URL": hw.gh.URL(),
			"GITHUB_SERVER_URL": "https://github.example", "GITHUB_RUN_ID": "4242", "GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": sum,
			"INPUT_MODE": "run",
		} {
			env[k] = v
		}
		code, sinks["stdout"], sinks["stderr"], rss = hw.runBinary(env)
		sinks["output file"] = readFile(t, out)
		sinks["summary"] = readFile(t, sum)
		for i, c := range hw.gh.Comments(7) {
			sinks[fmt.Sprintf("comment %d", i)] = c.Body
		}
	case egress.Azure:
		hw.ado = fakeci.NewAzure(t, hostileSecrets["SYSTEM_ACCESSTOKEN"])
		hw.ado.NoResourceAreas()
		for k, v := range map[string]string{
			"TF_BUILD": "True", "BUILD_REASON": "IndividualCI", "BUILD_SOURCEVERSION": head,
			"BUILD_SOURCEBRANCH": "refs/heads/" + branch, "BUILD_SOURCEVERSIONMESSAGE": fmt.Sprintf("Merged PR %d: %s", fakeci.AzurePR, clean(text(2), "\x00")),
			"BUILD_REPOSITORY_NAME": "tools", "BUILD_REPOSITORY_ID": fakeci.AzureRepoID, "BUILD_REPOSITORY_PROVIDER": "TfsGit",
			"BUILD_BUILDID": "77", "SYSTEM_COLLECTIONURI": hw.ado.GitURL(), "SYSTEM_TEAMPROJECT": fakeci.AzureProject,
			"AGENT_TEMPDIRECTORY": dir,
		} {
			env[k] = v
		}
		code, sinks["stdout"], sinks["stderr"], rss = hw.runBinary(env, "run")
		for i, c := range hw.ado.Contents() {
			sinks[fmt.Sprintf("thread %d", i)] = c
		}
		files, _ := filepath.Glob(filepath.Join(dir, "amigo-release-summary-*.md"))
		for _, f := range files {
			sinks[filepath.Base(f)] = readFile(t, f)
		}
	}
	if b, err := os.ReadFile(reportPath); err == nil {
		sinks["report JSON"] = string(b)
	}

	// Judge every sink.
	mutations := len(w.mutations())
	runName := fmt.Sprintf("case %d %s %s", seed, map[egress.Dialect]string{egress.GitHub: "github", egress.Azure: "azure"}[d], scenario)
	j := hw.judge(t, d, sinks, "stdout", "stderr", "report JSON", "output file", false)
	badExit, publishedOnBad := 0, 0
	if !containsInt(want, code) {
		if scenario == scenarioSignIn || scenario == scenarioPlan || scenario == scenarioProject {
			badExit++
		}
		t.Errorf("%s: exit %d, want one of %v\nstderr:\n%.2000s", runName, code, want, sinks["stderr"])
	}
	if want[0] == 2 && mutations > 0 {
		publishedOnBad++
		t.Errorf("%s: bad input, yet %d mutating calls: %v", runName, mutations, w.mutations())
	}
	if want[0] == 2 && (len(hw.commentsPosted()) > 0) {
		publishedOnBad++
		t.Errorf("%s: bad input, yet a pull request comment", runName)
	}
	// Day two: status, notes, rollback and validate in the same CI, on
	// the same hostile repository, with the servers answering hostile
	// bodies of their own.
	dt := hw.dayTwo(t, d, scenario, env, dir, head)
	j.add(dt.judgement)
	if dt.rss > rss {
		rss = dt.rss
	}
	badExit += dt.badExits
	publishedOnBad += dt.published
	if rss > 100<<20 {
		t.Errorf("%s: peak RSS %d MB, over 100 MB", runName, rss>>20)
	}
	if t.Failed() {
		t.Logf("%s: stdout:\n%.4000s\nstderr:\n%.2000s", runName, sinks["stdout"], sinks["stderr"])
	}
	ta.add(func(h *hostileTally) {
		if !h.seeds[seed] {
			h.seeds[seed] = true
			h.cases++
		}
		h.runs++
		h.dayTwoRuns += dt.runs
		for c, k := range dt.exits {
			h.dayTwoExits[c] += k
		}
		h.sinks += j.sinks
		h.bytes += j.bytes
		h.leaks += j.leaks
		h.injections += j.injections
		h.markup += j.markup
		h.badExits += badExit
		h.published += publishedOnBad
		h.exits[code]++
		h.byScenario[scenario.String()]++
		if rss > h.maxRSS {
			h.maxRSS, h.maxRSSRun = rss, runName
		}
		if rss > 100<<20 {
			h.rssOverGoal++
		}
	})
}

// liveLink is a markdown link or image whose bracket is not escaped.
var liveLink = regexp.MustCompile(`(^|[^\\])\]\((javascript:|http://pwn)`)

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// withoutCommands drops the lines the runner of d reads as commands.
func withoutCommands(d egress.Dialect, out string) string {
	drop := map[int]bool{}
	for _, c := range cilog.Parse(d, out) {
		drop[c.Line] = true
	}
	var keep []string
	for i, l := range cilog.Lines(out) {
		if !drop[i+1] {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// withoutRegistrations drops the mask registrations, which carry secrets
// (and whatever bytes they hold) to the runner on purpose.
func withoutRegistrations(out string) string {
	var keep []string
	for _, l := range cilog.Lines(out) {
		if !strings.HasPrefix(l, "::add-mask::") && !strings.HasPrefix(l, "##vso[task.setsecret]") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// jsonStrings lists every string of a decoded JSON value, keys included.
func jsonStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, e := range v {
			out = append(out, jsonStrings(e)...)
		}
	case map[string]any:
		for k, e := range v {
			out = append(out, k)
			out = append(out, jsonStrings(e)...)
		}
	}
	return out
}

// githubOutputNames lists the names a $GITHUB_OUTPUT file sets, read the
// way the runner reads it (name=value lines and name<<DELIM heredocs).
func githubOutputNames(file string) []string {
	var names []string
	lines := strings.Split(strings.ReplaceAll(file, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if name, delim, ok := strings.Cut(l, "<<"); ok && !strings.Contains(name, "=") {
			names = append(names, name)
			for i++; i < len(lines) && lines[i] != delim; i++ {
			}
			continue
		}
		name, _, _ := strings.Cut(l, "=")
		names = append(names, name)
	}
	return names
}

// plan is a two-stage plan (us with a test gate, eu) on the proxied
// servers, with the multi-line secret as an envvar and a tail.
func (hw *hostileWorld) plan(tail string) string {
	var b strings.Builder
	b.WriteString("version: 1\ndiscovery:\n  roots: [tools]\n")
	b.WriteString("publish:\n  retry_budget: 20m\n  initial_interval: 10s\n  max_interval: 1m\n")
	b.WriteString("defaults:\n  organization: " + org + "\n  branch: main\n  concurrency: 4\n")
	b.WriteString("stages:\n")
	for i, s := range hw.stages {
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %s\n", s, hw.regions[s])
		if i == 0 {
			b.WriteString("    test: true\n")
		}
	}
	b.WriteString(tail)
	return b.String()
}

// proxyServers puts a proxy in front of the emulators that answers with
// hw.answer when it is set and the request is one it takes.
func (hw *hostileWorld) proxyServers() {
	target, _ := url.Parse(hw.cluster.BaseURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	hw.forward = rp
	hw.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		hw.mu.Lock()
		answer := hw.answer
		hw.mu.Unlock()
		if answer != nil && answer(w, r, body) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	hw.t.Cleanup(hw.proxy.Close)
	hw.regions = map[string]string{}
	for _, s := range hw.stages {
		hw.regions[s] = hw.proxy.URL + "/" + stageRegion[s]
	}
}

// echo is a hostile error text that repeats what the request carried: its
// credentials (as they are, URL-encoded, base64) and its body.
func (hw *hostileWorld) echo(r *http.Request, body []byte, hostile string) string {
	key, id, user := r.Header.Get("x-api-key"), r.Header.Get("x-api-key-id"), r.Header.Get("x-user-id")
	return fmt.Sprintf("%s key=%s id=%s user=%s q=%s basic=%s auth=%s body=%s",
		hostile, key, id, user, url.QueryEscape(key), base64.StdEncoding.EncodeToString([]byte(user+":"+key)),
		r.Header.Get("Authorization"), string(body))
}

// writeHostile answers status with a FastAPI-style body whose detail is
// a list holding text, in its msg and its loc.
func writeHostile(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"detail": []any{map[string]any{"loc": []any{"body", text}, "msg": text, "type": "value_error"}}})
}

// texts draws n hostile texts (with the canary) and returns a function
// that hands them out in turn, from any goroutine.
func (hw *hostileWorld) texts(rng *rand.Rand, n int) func() string {
	var mu sync.Mutex
	texts := make([]string, n)
	for i := range texts {
		texts[i] = hostileText(rng, hw.canary, 3)
	}
	next := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		next++
		return texts[next%len(texts)]
	}
}

// echoing answers some of the mutating calls and the test with hostile
// bodies that echo the request, and rewrites successful test results
// into failures with hostile exception text and stack traces.
func (hw *hostileWorld) echoing(rng *rand.Rand) func(w http.ResponseWriter, r *http.Request, body []byte) bool {
	pick := hw.texts(rng, 8)
	mode := rng.Intn(3)
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		p := r.URL.Path
		switch {
		case mode == 0 && r.Method == http.MethodPost && strings.HasSuffix(p, "/envvar"):
			writeHostile(w, http.StatusInternalServerError, hw.echo(r, body, pick()))
			return true
		case mode == 1 && r.Method == http.MethodPost && strings.HasSuffix(p, "/tool/test"):
			w.Header().Set("Content-Type", "application/json")
			trace := []string{pick(), "Traceback " + pick(), "  File \"x.py\", line 1 " + hw.echo(r, body, pick())}
			json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{
				"succeeded": false, "output": pick(), "exception_type": clean(pick(), "\x00"), "exception_message": hw.echo(r, body, pick()),
				"exception_stack_trace": trace, "duration_ms": 5}}})
			return true
		case mode == 2 && r.Method == http.MethodPost && strings.HasSuffix(p, "/tool/"):
			writeHostile(w, http.StatusUnprocessableEntity, hw.echo(r, body, pick()))
			return true
		}
		return false
	}
}

// seedRelease publishes the first commit's tools everywhere with a run
// of the binary outside any CI.
func (hw *hostileWorld) seedRelease() {
	env := map[string]string{"AMIGO_TIME_SCALE": fmt.Sprint(scale), "AMIGO_CONFIG": ".amigo/release.yaml"}
	for k, v := range hostileSecrets {
		env[k] = v
	}
	// A project the API cannot take (its path is hostile) fails: the
	// others are released.
	if code, stdout, stderr, _ := hw.runBinary(env, "run"); code != 0 && code != 1 {
		hw.t.Fatalf("the first release failed (%d):\n%s\n%s", code, stdout, stderr)
	}
}

// commitAs commits files in origin with msg, by author.
func (hw *hostileWorld) commitAs(author, msg string, files map[string]string) {
	w := hw.world
	for name, content := range files {
		p := filepath.Join(w.origin, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	w.gitIn(w.origin, "add", "-A")
	author = strings.TrimSpace(author)
	if author == "" {
		author = "x"
	}
	f := filepath.Join(w.t.TempDir(), "msg")
	os.WriteFile(f, []byte(msg), 0o644)
	w.gitIn(w.origin, "commit", "-q", "--allow-empty", "--cleanup=verbatim", "--author", author+" <evil@example.com>", "-F", f)
}

// runBinary runs the binary in the checkout with exactly env.
func (hw *hostileWorld) runBinary(env map[string]string, args ...string) (code int, stdout, stderr string, rss int64) {
	r := hw.run(hw.work, env, args...)
	return r.code, r.stdout, r.stderr, r.rss
}

// commentsPosted lists the comments written on either CI.
func (hw *hostileWorld) commentsPosted() []string {
	var out []string
	if hw.gh != nil {
		out = append(out, hw.gh.Bodies(7)...)
	}
	if hw.ado != nil {
		out = append(out, hw.ado.Contents()...)
	}
	return out
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string {
	j, _ := json.Marshal(strings.ToValidUTF8(s, "\uFFFD"))
	return string(j)
}

// yamlKey is s as a quoted YAML key.
func yamlKey(s string) string { return yamlString(s) }

// judgement adds up what judge found in one run's sinks.
type judgement struct {
	sinks, leaks, injections, markup int
	bytes                            int64
}

func (j *judgement) add(o judgement) {
	j.sinks += o.sinks
	j.leaks += o.leaks
	j.injections += o.injections
	j.markup += o.markup
	j.bytes += o.bytes
}

// judge reads every sink of one run as the runner of dialect d would:
// logSink is the stream that carries the log and the program's own
// commands (checked against what it may write), quiet the other stream
// (no command at all, in either dialect); jsonSink, when present, must
// parse (allowEmptyJSON: or be empty, for a command that failed) and none
// of its strings, printed, may run a command; outputFile,
// when present, is GitHub's $GITHUB_OUTPUT, which may set only the
// action's outputs. Every sink: no secret in any form, no control
// character or bidi override, valid UTF-8, and in a markdown sink no live
// HTML, mention or link.
func (hw *hostileWorld) judge(t *testing.T, d egress.Dialect, sinks map[string]string, logSink, quiet, jsonSink, outputFile string, allowEmptyJSON bool) judgement {
	t.Helper()
	var j judgement
	fail := func(kind *int, format string, args ...any) {
		*kind++
		t.Errorf(format, args...)
	}
	policy := cilog.Policy{Secrets: secretLines(), Canary: hw.canary}
	for _, bad := range cilog.Injections(d, sinks[logSink], policy) {
		fail(&j.injections, "%s: %s", logSink, bad)
	}
	for _, dd := range []egress.Dialect{egress.GitHub, egress.Azure} {
		for _, c := range cilog.Parse(dd, sinks[quiet]) {
			fail(&j.injections, "%s runs %q", quiet, c.Text)
		}
	}
	if out, ok := sinks[outputFile]; ok && d == egress.GitHub {
		for _, name := range githubOutputNames(out) {
			if name != "released" && name != "changed" && name != "matrix" && name != "failed" && name != "report-json" {
				fail(&j.injections, "%s sets %q", outputFile, name)
			}
		}
	}
	if js, ok := sinks[jsonSink]; ok && (js != "" || !allowEmptyJSON) {
		var v any
		if err := json.Unmarshal([]byte(js), &v); err != nil {
			fail(&j.injections, "%s does not parse: %v", jsonSink, err)
		}
		dump := strings.Join(jsonStrings(v), "\n")
		for _, dd := range []egress.Dialect{egress.GitHub, egress.Azure} {
			for _, c := range cilog.Parse(dd, dump) {
				fail(&j.injections, "the strings of %s, printed, run %q", jsonSink, c.Text)
			}
		}
		sinks[jsonSink+" strings"] = dump
	}
	plainForms, mdForms := secretForms(false), secretForms(true)
	for name, out := range sinks {
		j.sinks++
		j.bytes += int64(len(out))
		md := strings.Contains(name, "summary") || strings.Contains(name, "comment") || strings.Contains(name, "thread")
		mdText := out
		if name == "notes stdout" {
			// The notes are markdown (for a CHANGELOG.md or a release
			// body); in a CI the log's commands share the stream, and
			// the runner shows those as text.
			md, mdText = true, withoutCommands(d, out)
		}
		forms := plainForms
		if md {
			forms = mdForms
		}
		for i, line := range cilog.Lines(out) {
			if name == logSink && (strings.HasPrefix(line, "::add-mask::") || strings.HasPrefix(line, "##vso[task.setsecret]")) {
				continue
			}
			for _, f := range forms {
				if strings.Contains(line, f) {
					fail(&j.leaks, "%s line %d shows the secret form %q: %.300q", name, i+1, f, line)
				}
			}
		}
		if !utf8.ValidString(out) {
			fail(&j.markup, "%s is not valid UTF-8", name)
		}
		for _, r := range withoutRegistrations(out) {
			if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				fail(&j.markup, "%s holds %U", name, r)
				break
			}
		}
		if md {
			for _, bad := range []string{"<script", "<img", "<a href", "<!-- " + hw.canary, "@" + hw.canary} {
				if strings.Contains(mdText, bad) {
					fail(&j.markup, "%s holds %q live", name, bad)
				}
			}
			if liveLink.MatchString(mdText) {
				fail(&j.markup, "%s holds a live link: %q", name, liveLink.FindString(mdText))
			}
		}
	}
	return j
}

// dayTwoResult is what the day-two commands of one case saw.
type dayTwoResult struct {
	judgement
	runs, badExits, published int
	rss                       int64
	exits                     map[string]int
}

// dayTwo runs the day-two commands in the CI of dialect d with the run's
// environment (credentials, CI variables), each with fresh output files:
//
//   - validate: the plan and the projects as the work tree holds them
//     (hostile plan values, project names, paths): exit 0 or 2;
//   - notes weather_lookup: the commits' hostile subjects, bodies and
//     authors as markdown on stdout: exit 0 or 2;
//   - status (or status --json): what serves where, read from servers
//     that may answer hostile strings in every text field of the tools
//     and versions they list, or hostile error bodies that echo the
//     request's credentials;
//   - rollback currency_convert --to 1.0.0 (or --dry-run, or --json),
//     with a 1.0.1 added to every stage that has the tool: the same
//     servers, and their deprecation and smoke-test answers.
//
// Every sink is judged as the run's are. Bad input (a hostile plan or
// project, refused credentials) exits 2 from validate, status and
// rollback with no mutating call.
func (hw *hostileWorld) dayTwo(t *testing.T, d egress.Dialect, scenario hostileScenario, runEnv map[string]string, dir, head string) dayTwoResult {
	t.Helper()
	rng := hw.rng
	res := dayTwoResult{exits: map[string]int{}}
	// A version to roll back from, in every stage that has the tool.
	for _, st := range hw.stages {
		if tl, ok := hw.server(st).ToolByName(org, "currency_convert"); ok {
			hw.server(st).AddVersion(org, tl.ID, amigotest.SeedVersion{Version: "1.0.1", Commit: head})
		}
	}
	if scenario != scenarioSignIn {
		hw.setAnswer(hw.dayTwoServer(rng))
	}
	jsonFlag := rng.Intn(2) == 0
	rollbackArgs := []string{"rollback", "currency_convert", "--to", "1.0.0"}
	switch rng.Intn(3) {
	case 0:
		rollbackArgs = append(rollbackArgs, "--dry-run")
	case 1:
		rollbackArgs = append(rollbackArgs, "--json")
	}
	statusArgs := []string{"status"}
	if jsonFlag {
		statusArgs = append(statusArgs, "--json")
	}
	bad := scenario == scenarioPlan || scenario == scenarioSignIn
	cmds := []struct {
		args []string
		want []int
	}{
		{[]string{"validate"}, []int{0, 2}},
		{[]string{"notes", "weather_lookup"}, []int{0, 2}},
		{statusArgs, []int{0, 1, 2, 3}},
		{rollbackArgs, []int{0, 1, 2, 3}},
	}
	if bad {
		cmds[0].want = []int{2}
		if scenario == scenarioSignIn {
			cmds[0].want = []int{0, 2} // validate makes no API call: the credentials are not checked
		}
		cmds[2].want, cmds[3].want = []int{2}, []int{2}
	}
	for i, c := range cmds {
		before := len(hw.world.mutations())
		cdir := filepath.Join(dir, fmt.Sprintf("day2-%d", i))
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for k, v := range runEnv {
			env[k] = v
		}
		delete(env, "AMIGO_REPORT_JSON")
		out, sum := filepath.Join(cdir, "output"), filepath.Join(cdir, "summary.md")
		if d == egress.GitHub {
			os.WriteFile(out, nil, 0o644)
			os.WriteFile(sum, nil, 0o644)
			env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = out, sum
		} else {
			env["AGENT_TEMPDIRECTORY"] = cdir
		}
		r := hw.run(hw.work, env, c.args...)
		cmd := c.args[0]
		name := strings.Join(c.args, " ")
		res.runs++
		res.exits[fmt.Sprintf("%s exit %d", cmd, r.code)]++
		if r.rss > res.rss {
			res.rss = r.rss
		}
		sinks := map[string]string{cmd + " stdout": r.stdout, cmd + " stderr": r.stderr}
		if d == egress.GitHub {
			sinks[cmd+" output file"] = readFile(t, out)
			sinks[cmd+" summary"] = readFile(t, sum)
		} else {
			files, _ := filepath.Glob(filepath.Join(cdir, "amigo-release-summary-*.md"))
			for _, f := range files {
				sinks[cmd+" summary "+filepath.Base(f)] = readFile(t, f)
			}
		}
		logSink, quiet, jsonSink := cmd+" stdout", cmd+" stderr", ""
		if slices.Contains(c.args, "--json") {
			// Standard output is the document; the log and the runner's
			// commands are on standard error.
			logSink, quiet, jsonSink = cmd+" stderr", cmd+" stdout", cmd+" stdout"
		} else if d == egress.Plain {
			logSink, quiet = cmd+" stderr", cmd+" stdout"
		}
		res.add(hw.judge(t, d, sinks, logSink, quiet, jsonSink, cmd+" output file", r.code != 0)) // no document when it fails
		if t.Failed() {
			t.Logf("%s: exit %d\nstdout:\n%.3000s\nstderr:\n%.2000s", name, r.code, r.stdout, r.stderr)
		}
		if !containsInt(c.want, r.code) {
			if bad {
				res.badExits++
			}
			t.Errorf("%s: exit %d, want one of %v\nstdout:\n%.2000s\nstderr:\n%.2000s", name, r.code, c.want, r.stdout, r.stderr)
		}
		if m := hw.world.mutations(); bad && len(m) > before {
			res.published++
			t.Errorf("%s: bad input, yet mutating calls: %v", name, m[before:])
		}
	}
	return res
}

// dayTwoServer answers what status and rollback ask with hostile text,
// in one of three ways: the listings of tools and versions keep their
// shape with every text field (description, project directory, commit,
// creator) replaced by hostile text that echoes the request's
// credentials; or the version listings are refused with a hostile error
// body; or the deprecations and smoke tests of a rollback are.
func (hw *hostileWorld) dayTwoServer(rng *rand.Rand) func(w http.ResponseWriter, r *http.Request, body []byte) bool {
	pick := hw.texts(rng, 6)
	mode := rng.Intn(3)
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		list := r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/tool/") || strings.HasSuffix(r.URL.Path, "/version"))
		switch {
		case mode == 0 && list:
			rec := httptest.NewRecorder()
			hw.forward.ServeHTTP(rec, r)
			var v any
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &v) != nil {
				for k, vs := range rec.Header() {
					w.Header()[k] = vs
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return true
			}
			v = poison(v, func() string { return hw.echo(r, body, pick()) })
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(v)
			return true
		case mode == 1 && list && strings.HasSuffix(r.URL.Path, "/version"):
			writeHostile(w, http.StatusUnprocessableEntity, hw.echo(r, body, pick()))
			return true
		case mode == 2 && r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/version/"),
			mode == 2 && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/invoke"):
			// A deprecation or a smoke test refused, the body echoing the
			// request.
			writeHostile(w, http.StatusUnprocessableEntity, hw.echo(r, body, pick()))
			return true
		}
		return false
	}
}

// poison replaces the free-text fields of a decoded listing with text().
func poison(v any, text func() string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			switch k {
			case "description", "project_directory", "tool_commit_hash", "user_id", "amigo_scaffold_commit_hash":
				if _, ok := e.(string); ok {
					v[k] = text()
					continue
				}
			}
			v[k] = poison(e, text)
		}
	case []any:
		for i, e := range v {
			v[i] = poison(e, text)
		}
	}
	return v
}
