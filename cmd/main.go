package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/report"
)

// Env is everything a command takes from its process. main passes the real
// one; tests pass their own, so no command reads os.Getenv, writes os.Stdout
// or exits by itself.
//
// Every byte a command writes leaves through the process's one exit
// (internal/egress): Main puts it around Stdout and Stderr before anything
// runs, so what a command writes to env.Stdout and env.Stderr is masked
// (every secret registered with the exit, in every form), made visible
// (control characters, bidi overrides) and defused (no line runs as a
// workflow command). A command writes files with env.exit (WriteFile,
// AppendFile, TempFile; JSON through egress.JSON) and registers secrets
// with env.exit.Secret; nothing in cmd opens an output or writes
// os.Stdout itself (TestOneExit in internal/egress fails if anything does).
type Env struct {
	// Getenv reads the environment (os.Getenv in main). Required.
	Getenv func(string) string
	// Stdout receives results (reports, help, version); Stderr receives
	// errors and progress. Nil means io.Discard. Main replaces both by the
	// exit's writers over them.
	Stdout, Stderr io.Writer
	// Clock is the time source; nil means clock.Real{}.
	Clock clock.Clock
	// HTTPClient is used for every outgoing call (Amigo servers, GitHub,
	// Azure DevOps); nil means a client with the default transport.
	HTTPClient *http.Client
	// Ready, when set, is called by long-running commands (emulator) with
	// their base URL once they serve. Tests use it to find a :0 port.
	Ready func(baseURL string)

	// exit is the process's one exit; Stdout and Stderr are its writers.
	exit *egress.Exit
}

func (e *Env) fill() {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	if e.Clock == nil {
		e.Clock = clock.Real{}
	}
	if e.HTTPClient == nil {
		e.HTTPClient = &http.Client{}
	}
	if _, capped := e.HTTPClient.Transport.(bodyCapped); !capped {
		// Every answer read (Amigo, GitHub, Azure DevOps) is bounded.
		hc := *e.HTTPClient
		hc.Transport = bodyCapped{bounds.Body(hc.Transport, bounds.MaxResponseSize)}
		e.HTTPClient = &hc
	}
	if e.exit == nil {
		e.exit = egress.New(e.Stdout, e.Stderr, egress.Options{Dialect: egress.DialectOf(e.Getenv), Rendered: report.RenderedForms})
		e.Stdout, e.Stderr = e.exit.Stdout(), e.exit.Stderr()
	}
}

// bodyCapped marks a transport that bounds.Body already wraps.
type bodyCapped struct{ http.RoundTripper }

// processSecrets are the variables that hold credentials whatever the
// plan says: the default Amigo credentials and the CI tokens. Main masks
// their values before any command runs (without telling the runner: a
// command's standard output may be data a step captures); run and plan
// register them with the runner, and the plan's own credential and secret
// variables once it is read.
var processSecrets = []string{
	"AMIGO_API_KEY", "AMIGO_API_KEY_ID", "AMIGO_USER_ID", "AMIGO_EMULATOR_TOKEN",
	"GITHUB_TOKEN", "INPUT_GITHUB-TOKEN", "INPUT_GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
	"SYSTEM_ACCESSTOKEN",
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	// order sorts the top-level help (run 10, plan 20, demo 30, emulator
	// 40, version 50).
	order int
	run   func(ctx context.Context, env *Env, args []string) error
}

var (
	registryMu sync.Mutex
	registry   = map[string]command{}
)

// register adds a subcommand. Commands defined in their own file call it
// from init; that is the place for `demo` (cmd/demo.go):
//
//	func init() {
//		register(command{name: "demo", order: 30, summary: "...", run: runDemo})
//	}
//
// Registering a name twice is a programming error and panics at start-up.
func register(c command) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[c.name]; dup {
		panic("cmd: command registered twice: " + c.name)
	}
	registry[c.name] = c
}

func commands() []command {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]command, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

func lookup(name string) (command, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	c, ok := registry[name]
	return c, ok
}

// Main runs amigo-release with the arguments after the program name and
// returns the process exit code (see the Exit* constants). It never calls
// os.Exit and recovers from panics (ExitInternal).
//
// With no arguments inside GitHub Actions (GITHUB_ACTIONS=true, as in the
// Docker action image, whose ENTRYPOINT has no arguments), the subcommand
// comes from the action input `mode` (INPUT_MODE: run or plan; default run).
func Main(ctx context.Context, args []string, env Env) (code int) {
	env.fill()
	defer env.exit.Close()
	for _, name := range processSecrets {
		env.exit.Hide(env.Getenv(name))
	}
	// What the standard library logs (net/http's server errors) leaves
	// through the exit too.
	prevLog := log.Writer()
	log.SetOutput(env.Stderr)
	defer log.SetOutput(prevLog)
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(env.Stderr, "amigo-release: internal error (please report it): %v\n%s", r, debug.Stack())
			code = ExitInternal
		}
	}()
	if len(args) == 0 {
		if env.Getenv("GITHUB_ACTIONS") != "true" {
			usage(env.Stderr)
			return ExitUsage
		}
		mode := strings.TrimSpace(env.Getenv("INPUT_MODE"))
		if mode == "" {
			mode = "run"
		}
		if mode != "run" && mode != "plan" {
			fmt.Fprintf(env.Stderr, "amigo-release: action input mode=%q: want run or plan\n", mode)
			return ExitUsage
		}
		args = []string{mode}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(env.Stdout)
		return ExitOK
	case "-version", "--version":
		args = []string{"version"}
	}
	c, ok := lookup(args[0])
	if !ok {
		hint := ""
		for _, c := range commands() {
			if editDistance(args[0], c.name) <= 2 {
				hint = fmt.Sprintf("; did you mean %q?", c.name)
				break
			}
		}
		fmt.Fprintf(env.Stderr, "amigo-release: unknown command %q%s\n\n", args[0], hint)
		usage(env.Stderr)
		return ExitUsage
	}
	err := c.run(ctx, &env, args[1:])
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	code = codeOf(err)
	if err != nil {
		fmt.Fprintf(env.Stderr, "amigo-release %s: %v\n", c.name, err)
	}
	if ctx.Err() != nil && code != ExitOK && code != ExitUsage {
		return ExitInterrupted
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprint(w, "amigo-release: release Amigo tools from a monorepo, stage by stage.\n\nUsage: amigo-release <command> [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nRun 'amigo-release <command> --help' for its flags and environment variables.\n"+
		"Exit codes: 0 released or nothing to do, 1 a release failed, 2 bad input or configuration,\n"+
		"3 could not start (a needed server not serving), 4 internal error, 130 interrupted.\n")
}
