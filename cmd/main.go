package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
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
// AppendFile, TempFile; JSON through egress.JSON), a document on stdout
// with env.exit.Emit (after env.exit.DataOnStdout, which moves the
// runner's commands to stderr), and registers secrets with
// env.exit.Secret; nothing in cmd opens an output or writes os.Stdout
// itself (TestOneExit in internal/egress fails if anything does).
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

	// onHelp, when set, receives a command's flag set in place of its
	// --help output (flagsOf: completion and help read the flags so).
	onHelp func(*flagSet)
	// Signals delivers SIGINT and SIGTERM as they arrive (main.go); nil:
	// none. The first stops `run` from starting work and gives the calls in
	// flight InterruptGrace; the second (or the end of the grace) cancels
	// them. Other commands stop at the first.
	Signals <-chan os.Signal

	// stop is closed at the first signal (set by Main for graceful
	// commands).
	stop <-chan struct{}

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
	if e.exit == nil {
		e.exit = egress.New(e.Stdout, e.Stderr, egress.Options{Dialect: egress.DialectOf(e.Getenv), Rendered: report.RenderedForms})
		e.Stdout, e.Stderr = e.exit.Stdout(), e.exit.Stderr()
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
	// order sorts the top-level help and completion (run 10, plan 20,
	// validate 25, demo 30, emulator 40, version 50, completion 80, help 90).
	order int
	run   func(ctx context.Context, env *Env, args []string) error
	// args, when set, lists the values the command's positional argument
	// takes, for shell completion (help: the command names; completion:
	// the shells). Nil: the command takes flags only.
	args func() []string
	// graceful commands see the first signal as env.stop and keep their
	// context for InterruptGrace (run, plan); the others' context ends at
	// the first signal.
	graceful bool
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
//
// A command's run must define its flags with newFlagSet and parse them
// before it does anything else: `help <command>` and `completion` learn a
// command's flags by running it with --help (flagsOf), and a test checks
// that every registered command allows it. A command registered so is in
// the top-level help, `help <command>` and every completion script with
// no other change.
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

// actionModes are the commands the action's mode input may name.
var actionModes = []string{"run", "plan", "rollback", "status"}

// Main runs amigo-release with the arguments after the program name and
// returns the process exit code (see the Exit* constants). It never calls
// os.Exit and recovers from panics (ExitInternal).
//
// With no arguments inside GitHub Actions (GITHUB_ACTIONS=true, as in the
// Docker action image, whose ENTRYPOINT has no arguments), the subcommand
// comes from the action input `mode` (INPUT_MODE: run, plan, rollback or
// status; default run).
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
		if !slices.Contains(actionModes, mode) {
			fmt.Fprintf(env.Stderr, "amigo-release: action input mode=%q: want %s\n", mode, strings.Join(actionModes, ", "))
			return ExitUsage
		}
		args = []string{mode}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(env.Stdout)
		return ExitOK
	case "-version", "--version":
		args = []string{"version"}
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(env.Stderr, "amigo-release: unknown command %q%s\n\n", args[0], suggestCommand(args[0]))
		usage(env.Stderr)
		return ExitUsage
	}
	in, graceful, abrupt, release := watchSignals(ctx, env.Signals, InterruptGrace)
	defer release()
	runCtx := abrupt
	if c.graceful {
		runCtx, env.stop = graceful, in.stop
	}
	err := c.run(runCtx, &env, args[1:])
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	code = codeOf(err)
	if err != nil {
		fmt.Fprintf(env.Stderr, "amigo-release %s: %v\n", c.name, err)
	}
	if (ctx.Err() != nil || in.fired()) && code != ExitOK && code != ExitUsage {
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
	fmt.Fprint(w, "\nRun 'amigo-release help <command>' (or 'amigo-release <command> --help') for its flags and\n"+
		"environment variables; 'amigo-release completion bash|zsh|fish|powershell' for shell completion.\n"+
		"Exit codes: 0 released or nothing to do, 1 a release failed, 2 bad input or configuration,\n"+
		"3 could not start (a needed server not serving), 4 internal error, 130 interrupted.\n")
}

// flagsOf returns the flag set command c defines, or nil if it has none
// that parses --help. It runs c with --help on an Env that prints nothing,
// reads no environment and hands the flag set to onHelp instead of printing
// it; the context is already cancelled, so a command that broke the rule of
// register (parse first) still stops before any work.
func flagsOf(c command) (fs *flagSet) {
	env := Env{onHelp: func(f *flagSet) { fs = f }}
	env.fill()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	defer func() {
		if recover() != nil {
			fs = nil
		}
	}()
	_ = c.run(ctx, &env, []string{"--help"})
	return fs
}
