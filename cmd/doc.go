// Package cmd is the amigo-release command line: the subcommands, their
// flags, environment variables and exit codes. main.go only hands it the
// process (arguments, environment, standard streams, a context cancelled on
// SIGINT/SIGTERM) and exits with the code Main returns.
//
// It is wiring, not logic: releases are package pipeline's, the plan file is
// package promote's, rendering is package report's, and the CI faces
// (GitHub Actions, Azure Pipelines) are package platform's.
//
// # Commands
//
//	amigo-release run         release the changed tools: test, publish, promote through every stage, prune
//	amigo-release plan        show what run would release, with read-only API calls (or none: --offline)
//	amigo-release validate    check the plan and every project's metadata, with no API call (exit 0 or 2)
//	amigo-release status      what serves where: per tool and stage the version, its commit, the cap, pins, drift (read-only)
//	amigo-release notes       a tool's release notes for any range of commits, as markdown
//	amigo-release rollback    deprecate, in every stage, a tool's versions newer than a target, then smoke
//	amigo-release demo        the whole flow on a generated sample repository against the embedded emulator
//	amigo-release emulator    serve the Amigo Tool API emulator for your own pipelines and tests
//	amigo-release version     print version, commit, build date and Go version (--json for JSON)
//	amigo-release completion  print a shell completion script: bash, zsh, fish or powershell
//	amigo-release help        show a command's help (help run), or the list
//
// Every command takes --help (or: amigo-release help COMMAND), which lists
// each flag with its environment variable and default. The completion
// scripts and help COMMAND read each command's flags from the command
// itself (flagsOf), so they cover every registered command. A flag beats its environment variable, which beats
// the default. Inside GitHub Actions (GITHUB_ACTIONS=true) an action input
// (INPUT_<NAME>, as the runner sets it for the Docker image) sits between
// the flag and the variable; an empty input counts as unset. With no
// arguments inside GitHub Actions, the command is the `mode` input (run or
// plan, rollback or status; default run), which is how the Docker image's
// bare ENTRYPOINT runs; rollback then reads the tool and to inputs.
//
// # run and plan
//
//	flag           environment variable  action input       default
//	--config       AMIGO_CONFIG          config             .amigo/release.yaml (relative to --repo)
//	--repo         AMIGO_REPO            working-directory  .
//	--base         AMIGO_BASE            base               per tool: its newest release's commit, else the push event's before
//	--head         AMIGO_HEAD            -                  HEAD
//	--tools        AMIGO_TOOLS           tools              every changed tool (comma-separated names)
//	--report-json  AMIGO_REPORT_JSON     report-json        none (no JSON file); - is stdout (the log and text go to stderr)
//	--dry-run      AMIGO_DRY_RUN         dry-run            false (run only)
//	--fail-fast    AMIGO_FAIL_FAST       fail-fast          false (run only)
//	--offline      AMIGO_OFFLINE         -                  false (plan only)
//	--time-scale   AMIGO_TIME_SCALE      -                  1 (only against an emulator with the same --time-scale)
//	--verbose      AMIGO_VERBOSE         -                  false; true under RUNNER_DEBUG=1, ACTIONS_STEP_DEBUG=true, SYSTEM_DEBUG=true
//
// Booleans accept true/false, 1/0, yes/no, on/off. Amigo credentials are read
// from the variables the plan names (default AMIGO_API_KEY, AMIGO_API_KEY_ID,
// AMIGO_USER_ID; or a bearer token variable), never from flags. On a
// pull_request build (GitHub Actions or Azure Pipelines) run only plans and
// posts the preview: nothing is ever published from a pull request.
//
// # status, notes and rollback
//
// The day-two commands share --config, --repo (AMIGO_CONFIG, AMIGO_REPO)
// with run. status and rollback also take --head (AMIGO_HEAD), --json and
// --time-scale (AMIGO_TIME_SCALE) and need the plan's credential
// variables; status takes --tools (AMIGO_TOOLS); rollback takes the tool
// as its argument (or --tool, the action input tool), --to (action input
// to) and --dry-run (AMIGO_DRY_RUN). notes takes the tool as its argument,
// --from, --to (default HEAD) and --version, and calls no API. Their logic
// is package ops' (status, rollback) and report's (notes); see the README.
//
// # demo
//
//	flag           environment variable     default
//	--keep         AMIGO_DEMO_KEEP          false (keep the repo; the emulator serves until Ctrl-C)
//	--dir          AMIGO_DEMO_DIR           the system's temporary directory (created if missing)
//	--report-json  AMIGO_DEMO_REPORT_JSON   a new amigo-release-demo-*.json beside the temporary directory
//	--addr         AMIGO_DEMO_ADDR          127.0.0.1:0
//	--time-scale   AMIGO_DEMO_TIME_SCALE    600
//
// # emulator
//
//	flag          environment variable        default
//	--addr        AMIGO_EMULATOR_ADDR         127.0.0.1:8080 (port 0 picks a free one)
//	--repo        AMIGO_REPO                  . (the git repository publish and test read)
//	--branch      AMIGO_EMULATOR_BRANCH       main
//	--time-scale  AMIGO_EMULATOR_TIME_SCALE   60 (simulated seconds per real second)
//	--orgs        AMIGO_EMULATOR_ORGS         any organization
//	--regions     AMIGO_EMULATOR_REGIONS      one region at / (else one per name, at /NAME)
//	--active-cap  AMIGO_EMULATOR_ACTIVE_CAP   3
//	--rate-limit  AMIGO_EMULATOR_RATE_LIMIT   bucket (a token bucket per limit; window: fixed one-minute windows)
//	--token       AMIGO_EMULATOR_TOKEN        none (a static bearer token to accept; set the variable: argv shows in ps)
//	--seed        AMIGO_EMULATOR_SEED         1
//
// It prints its base URL and a curl example, and serves until SIGINT or
// SIGTERM, then shuts down gracefully and exits 0.
//
// # validate
//
//	flag           environment variable  default
//	--config       AMIGO_CONFIG          .amigo/release.yaml (relative to --repo)
//	--repo         AMIGO_REPO            .
//	--check-env    AMIGO_CHECK_ENV       false (also require credential and from_env variables)
//	--strict       AMIGO_STRICT          false (warnings fail too)
//	--verbose      AMIGO_VERBOSE         as for run
//
// It prints each problem as FILE:LINE:COL: KEY: problem; fix: ... on stdout
// (annotations in a CI) and exits 0 or 2. It makes no API call.
//
// # Exit codes
//
//	0    ExitOK           everything that should have released did, or there was nothing to
//	                      release; a plan was made; version, --help, a stopped emulator
//	1    ExitFailed       the release ran and at least one tool failed, was blocked by a failed
//	                      stage it needs, or did not finish; the others may have released (see
//	                      the report and the `failed` output)
//	2    ExitUsage        bad input or configuration, found before anything was created or
//	                      published (every problem at once, one message each; for rollback, a
//	                      refusal before any change, naming the stage; for validate, any
//	                      problem found): unknown command
//	                      or flag, a bad flag/variable/input value, a plan file that is missing
//	                      or invalid (the message gives file:line:column and the fix), missing
//	                      credential variables or ones holding a line break or another control
//	                      character, a path that is not a git repository or has no commits, an
//	                      unknown --head/--base revision, a commit being released that is not
//	                      the tip of a stage's branch, a commit missing from the clone that
//	                      --deepen could not fetch (the fix: fetch-depth: 0, or --base after a
//	                      force push), an invalid or clashing tool name of a project the run
//	                      would release or the plan names, a discovery root, include or
//	                      shared glob that matches nothing at head, invalid project
//	                      metadata, an unset from_env variable, a runtime contract the
//	                      configured envvars do not cover, credentials the server refuses
//	                      (401), an unknown organization (404), a custom base_url where nothing
//	                      has ever answered (connection refused or unknown host on each of the
//	                      first 3 attempts)
//	3    ExitUnavailable  could not start: a server the run needs is not serving, before any
//	                      change was made (timeout, TLS, 429 or 5xx after the retries, or
//	                      nothing answering at a region's documented address: an outage); the
//	                      emulator cannot listen on --addr. Nothing was published; retrying
//	                      later may succeed
//	4    ExitInternal     a bug in amigo-release (a recovered panic; the stack is on stderr)
//	130  ExitInterrupted  SIGINT or SIGTERM stopped the run: nothing new started, calls in
//	                      flight had InterruptGrace (7 s) to finish (a second signal ends it);
//	                      the report marks work not started as pending and a publish whose
//	                      answer never came as unknown, and a rerun completes it without
//	                      publishing anything twice
//
// # Adding a command
//
// A command lives in its own file and registers itself from init with
// register (see register's documentation); demo does so in demo.go. Its
// flags go through newFlagSet, so that --help and the environment
// variables work the same everywhere, and it returns an error made with
// withCode (or usageErrorf/unavailableErrorf) to choose the exit code. To
// release, call release(ctx, env, ReleaseOptions{...}): the same path as
// `run`.
package cmd
