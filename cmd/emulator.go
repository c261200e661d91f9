package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
)

func init() {
	register(command{name: "emulator", order: 40, summary: "serve the Amigo Tool API emulator for your own pipelines and tests", run: runEmulator})
}

// EmulatorOptions are the flags of `amigo-release emulator`.
type EmulatorOptions struct {
	Addr      string
	Repo      string
	Branch    string
	TimeScale float64
	Orgs      string
	Regions   string
	ActiveCap int
	CapRule   string
	Lax       bool
	Token     string
	Seed      int
	RateLimit string
}

const emulatorHelp = `Serves an in-memory emulator of the Amigo Tool API over HTTP until interrupted
(Ctrl-C, SIGTERM). Same paths, bodies and status codes as the real API: sign-in
with any API key triple (or a static bearer token: set AMIGO_EMULATOR_TOKEN rather
than --token, which every user of the machine can read in ps), tools, envvars,
test, publish (builds the --branch tip of the git repository at --repo), versions,
invoke, invocations, the active-version cap, rate limits with 429 + Retry-After.

With --regions, one process serves several independent regions, each under its
own path prefix (http://ADDR/us, http://ADDR/eu-central-1, ...): point each stage's
base_url at one of them.

Time runs --time-scale times faster than real time: at the default 60, a publish
that takes 1-5 simulated minutes takes 1-5 seconds.

Where only the real server can settle what the contract means, a flag picks:
--rate-limit bucket (the default) counts each documented limit of N requests a
minute as a token bucket (a burst of N, then refilled N a minute); --rate-limit
window as fixed one-minute windows of the clock (N in each minute, counted again
from the minute's start). The contract says only "N requests per minute": test
your own clients against both.
--cap-rule literal (the default) refuses a publish when MORE than --active-cap
versions are active, so a tool may reach cap+1; --cap-rule strict refuses when
the new version would make more than --active-cap. --lax validates request
bodies in pydantic's lax mode (a boolean also takes "true", "yes", 1, ...);
by default they are strict (only true and false).`

func runEmulator(ctx context.Context, env *Env, args []string) error {
	var o EmulatorOptions
	f := newFlagSet("emulator", "[flags]", emulatorHelp, env)
	f.String(&o.Addr, "addr", "AMIGO_EMULATOR_ADDR", "", "127.0.0.1:8080", "HOST:PORT", "address to listen on (port 0 picks a free port)")
	f.String(&o.Repo, "repo", "AMIGO_REPO", "", ".", "DIR", "git repository whose branch tip publish and test read")
	f.String(&o.Branch, "branch", "AMIGO_EMULATOR_BRANCH", "", "main", "NAME", "team branch that publish builds")
	f.Float(&o.TimeScale, "time-scale", "AMIGO_EMULATOR_TIME_SCALE", "", 60, "N", "simulated seconds per real second (1 = real time)")
	f.String(&o.Orgs, "orgs", "AMIGO_EMULATOR_ORGS", "", "", "LIST", "comma-separated organizations to accept (empty: any)")
	f.String(&o.Regions, "regions", "AMIGO_EMULATOR_REGIONS", "", "", "LIST", "comma-separated regions served under /REGION (empty: one region at /)")
	f.Int(&o.ActiveCap, "active-cap", "AMIGO_EMULATOR_ACTIVE_CAP", "", 3, "N", "the documented cap on a tool's active versions (see --cap-rule)")
	f.String(&o.CapRule, "cap-rule", "AMIGO_EMULATOR_CAP_RULE", "", string(amigotest.CapLiteral), "RULE", "literal: refuse a publish when more than N versions are active; strict: when the new one would make more than N")
	f.Bool(&o.Lax, "lax", "AMIGO_EMULATOR_LAX", "", false, "validate request bodies in pydantic's lax mode (a boolean also takes \"true\", \"yes\", 1, ...)")
	f.String(&o.Token, "token", "AMIGO_EMULATOR_TOKEN", "", "", "TOKEN", "also accept this static bearer token (user \"emulator\"); prefer the variable: a command line shows in ps")
	f.Secret("token")
	f.String(&o.RateLimit, "rate-limit", "AMIGO_EMULATOR_RATE_LIMIT", "", string(amigotest.LimiterBucket), "KIND", "how the per-minute limits are counted: bucket (burst N, refilled N a minute) or window (N in each clock minute)")
	f.Int(&o.Seed, "seed", "AMIGO_EMULATOR_SEED", "", 1, "N", "seed for IDs, tokens and latency draws")
	if err := f.parse(args, env.Stdout); err != nil {
		return err
	}
	if o.TimeScale < 1 {
		return usageErrorf("--time-scale %g: want a number >= 1 (1 = real time)", o.TimeScale)
	}
	if o.ActiveCap < 1 {
		return usageErrorf("--active-cap %d: want 1 or more", o.ActiveCap)
	}
	switch amigotest.CapRule(o.CapRule) {
	case amigotest.CapLiteral, amigotest.CapStrict:
	default:
		return usageErrorf("--cap-rule %q: want %s (refuse when more than --active-cap versions are active) or %s (refuse when the new one would make more)", o.CapRule, amigotest.CapLiteral, amigotest.CapStrict)
	}
	switch amigotest.RateLimiter(o.RateLimit) {
	case amigotest.LimiterBucket, amigotest.LimiterWindow:
	default:
		return usageErrorf("--rate-limit %q: want %s (a token bucket: a burst of N, refilled N a minute) or %s (N in each minute of the clock)", o.RateLimit, amigotest.LimiterBucket, amigotest.LimiterWindow)
	}
	repoNote, err := checkEmulatorRepo(&o)
	if err != nil {
		return err
	}
	h, regions, err := emulatorHandler(o, env)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return unavailableErrorf("listen on %s: %v (is another process using it? try --addr 127.0.0.1:0)", o.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	printEmulatorBanner(env, base, regions, o)
	if repoNote != "" {
		fmt.Fprintf(env.Stderr, "warning: %s\n", repoNote)
	}
	if o.Token != "" && f.origin["token"] == "flag" {
		fmt.Fprintf(env.Stderr, "warning: --token on the command line can be read by every user of this machine (ps, /proc); set AMIGO_EMULATOR_TOKEN instead\n")
	}
	if env.Ready != nil {
		env.Ready(base)
	}
	return serveUntilDone(ctx, ln, h)
}

// emulatorHandler builds one amigotest server per region (or one at /).
func emulatorHandler(o EmulatorOptions, env *Env) (http.Handler, []string, error) {
	clk := clock.Clock(clock.Real{})
	if o.TimeScale > 1 {
		clk = clock.NewScaled(o.TimeScale)
	}
	opts := amigotest.Options{
		Clock:       clk,
		RepoPath:    o.Repo,
		Branch:      o.Branch,
		ActiveCap:   o.ActiveCap,
		CapRule:     amigotest.CapRule(o.CapRule),
		RateLimiter: amigotest.RateLimiter(o.RateLimit),
		Lax:         o.Lax,
		Orgs:        splitList(o.Orgs),
		Seed:        int64(o.Seed),
	}
	if o.Token != "" {
		opts.StaticTokens = map[string]string{o.Token: "emulator"}
	}
	regions := splitList(o.Regions)
	if len(regions) == 0 {
		return amigotest.New(opts).Handler(), nil, nil
	}
	// A prefix match of our own, not http.ServeMux: ServeMux cleans paths
	// (it would answer /us/v1/o/tool// with its own 301), where the
	// emulator answers as the real API's framework does.
	byPrefix := map[string]http.Handler{}
	seen := map[string]bool{}
	for i, r := range regions {
		if seen[r] || strings.ContainsAny(r, "/?#% ") {
			return nil, nil, usageErrorf("--regions: bad or repeated region %q", r)
		}
		seen[r] = true
		ro := opts
		ro.Seed = opts.Seed + int64(i)*7919 // distinct IDs per region, like amigotest.NewTestRegions
		byPrefix[r] = http.StripPrefix("/"+r, amigotest.New(ro).Handler())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		region, rest, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
		if h, ok := byPrefix[region]; ok && rest != "" {
			h.ServeHTTP(w, req)
			return
		}
		http.Error(w, fmt.Sprintf("no region at this path; regions: /%s", strings.Join(regions, ", /")), http.StatusNotFound)
	}), regions, nil
}

func printEmulatorBanner(env *Env, base string, regions []string, o EmulatorOptions) {
	w := env.Stdout
	first := base
	if len(regions) == 0 {
		fmt.Fprintf(w, "Amigo Tool API emulator listening on %s\n", base)
	} else {
		fmt.Fprintf(w, "Amigo Tool API emulator listening on %s with %d regions:\n", base, len(regions))
		for _, r := range regions {
			fmt.Fprintf(w, "  %s: %s/%s\n", r, base, r)
		}
		first = base + "/" + regions[0]
	}
	org := "demo"
	if orgs := splitList(o.Orgs); len(orgs) > 0 {
		org = orgs[0]
	}
	validation := "strict"
	if o.Lax {
		validation = "lax"
	}
	fmt.Fprintf(w, "repository %s, branch %s, time x%g, active cap %d (%s rule), %s validation, rate limits as a %s\n", o.Repo, o.Branch, o.TimeScale, o.ActiveCap, o.CapRule, validation, limiterWords(o.RateLimit))
	if o.Token != "" {
		fmt.Fprintf(w, "a static bearer token is accepted too (the value of --token / AMIGO_EMULATOR_TOKEN, user \"emulator\")\n")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Try it:\n")
	fmt.Fprintf(w, "  ID_TOKEN=$(curl -s -X POST %s/v1/%s/user/signin_with_api_key -H 'x-api-key: key' -H 'x-api-key-id: key-id' -H 'x-user-id: me' | sed 's/.*\"id_token\":\"\\([^\"]*\\)\".*/\\1/')\n", first, org)
	fmt.Fprintf(w, "  curl -s %s/v1/%s/tool/ -H \"Authorization: Bearer $ID_TOKEN\"\n", first, org)
	fmt.Fprintf(w, "\nStop with Ctrl-C.\n")
}

// limiterWords names a --rate-limit value for the banner.
func limiterWords(kind string) string {
	if amigotest.RateLimiter(kind) == amigotest.LimiterWindow {
		return "fixed one-minute window"
	}
	return "token bucket"
}

// serveUntilDone serves h on ln until ctx is done, then shuts down gracefully.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return unavailableErrorf("serve: %v", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-errc
	return nil
}

// splitList splits a comma- or newline-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkEmulatorRepo makes --repo absolute (the banner shows where publish
// reads) and refuses one that does not exist. A directory outside any git
// work tree is allowed (the API without publish and test still works) but
// noted: every publish and test call would fail on it.
func checkEmulatorRepo(o *EmulatorOptions) (note string, err error) {
	abs, err := filepath.Abs(o.Repo)
	if err != nil {
		return "", usageErrorf("--repo %s: %v", o.Repo, err)
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return "", usageErrorf("--repo %s: not a directory; fix: pass the git repository holding your tool projects (--repo or AMIGO_REPO)", o.Repo)
	}
	o.Repo = abs
	for dir := abs; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "", nil
		}
		if filepath.Dir(dir) == dir {
			return fmt.Sprintf("--repo %s is not inside a git repository: publish and test will answer 400 until it is (fix: --repo PATH_TO_YOUR_TOOLS_REPO)", abs), nil
		}
	}
}
