// Package amigotest is an in-memory emulator of the whole Amigo Tool API,
// served over real HTTP. It is the test double of every other package, the
// engine of `amigo-release demo`, and what `amigo-release emulator --addr`
// serves. Paths, status codes and bodies follow the OpenAPI file: every
// status it returns is documented for that operation, errors are FastAPI
// style {"detail": "..."} and validation failures are 422 with a
// {"detail": [{"type", "loc", "msg", "input"}]} list.
//
// # Exported API
//
//	New(Options) *Server                        an http.Handler; one Server is one region
//	NewTestServer(t, Options) *Server           on httptest, closed by t.Cleanup; URL()
//	NewRegions(Options, names...)               one Server per region name
//	NewTestRegions(t, Options, names...)        the same, each on httptest
//	(*Server).Handler, ListenAndServe(ctx, addr), Serve(ctx, ln), Close
//	Options{Clock, RepoPath, Branch, PublishLatency, TestLatency, ActiveCap,
//	        RateLimits, DisableRateLimits, APIKeys, StaticTokens, TokenTTL,
//	        Orgs, Seed, EnvvarTombstone, ReadOnlyUsers, Logf}
//	Fixed(d), Uniform(min, max)                 Latency values
//	Op* constants, Operations, DefaultRateLimits
//	Faults:     FailNext(op, n, status, body), SetLatency(op, d),
//	            DropAfterWork(op, n), SetMaintenance(on), SetChaos(*Chaos),
//	            ClearFaults(), Injected() map[FaultKind]int
//	Inspection: Requests() []LoggedRequest (LoggedRequest.Mutating),
//	            ResetRequests, Tools, ToolByName, Versions, ActiveVersions,
//	            Envvars, Invocations, Busy, IssueToken
//	Seeding:    AddTool(org, SeedTool), SetEnvvar, AddVersion(org, id,
//	            SeedVersion), AddInvocation
//	Constraint(spec, version)                   the PEP 440 matcher it uses
//	                                            (amigo.ParseConstraint, as the client)
//
// # Organizations, auth, rate limits
//
// The organization is the first path segment (/v1/{org}/...). Any org is
// accepted unless Options.Orgs lists the known ones (404 for others). Sign
// in with the x-api-key, x-api-key-id and x-user-id headers: by default any
// triple of non-empty values is accepted and the user is x-user-id;
// Options.APIKeys restricts it (401 otherwise). The id_token lives
// Options.TokenTTL (default 1h) of clock time and is valid in the org it
// was issued for; every other call needs `Authorization: Bearer <token>` or,
// as the contract's Basic scheme says, `Authorization: Basic
// base64({org_id}_{user_id}:<token>)` with the org and user the token was
// issued to (401 when missing, malformed, unknown, expired, of another org,
// or with a Basic username that does not match). A request into another org
// is accepted with `X-ORG-ID: <the org that issued the token>` (the
// contract's Bearer-Authorization-Organization scheme). The TTL is clock
// time: on a clock where a simulated minute is a real millisecond, the
// default hour lasts 60 ms of real time, so long tests on such a clock set
// a larger TokenTTL (or rely on the client refreshing). Users listed in
// Options.ReadOnlyUsers get 403 on every operation needing a write
// permission (the mutating ones and test-tool); reads are open to every
// signed-in user, so a read's 403 only comes from FailNext (whose default
// body is the contract's "Missing required permissions.").
//
// Rate limits are token buckets per (user, operation): burst N, refilled N
// per simulated minute, counted at arrival after authentication (sign-in
// counts per x-user-id). An empty bucket gives 429 with Retry-After in whole
// seconds, rounded up. N defaults to the documented limits
// (DefaultRateLimits; test-tool is 1/min).
//
// # Semantics
//
//   - Tool names are unique among non-deprecated tools of an org (409); a
//     name longer than 64 characters is "too long" (400).
//     Deprecating a tool also deprecates its versions and takes effect at
//     once (the documented ~1 minute propagation is not modelled); a
//     deprecated tool answers 404 to modify, envvars, publish and invoke, and
//     its name is free. Deprecating it again is a 204.
//   - Publish and deprecate-tool are serialized per tool: while a publish runs
//     (for its whole latency), a second publish or a deprecate-tool gets 409.
//     Only these two operations document 409 for it.
//   - Publish reads the tip of Options.Branch (default "main") of the git
//     repository at Options.RepoPath, then refuses with 404 when the project
//     directory does not exist there, and with 400 when: it is the tool's
//     first version and bump_type is not "major"; the tool has MORE than
//     ActiveCap (default 3) non-deprecated versions — so publishing may
//     bring a tool to ActiveCap+1 active versions and the next publish is
//     refused until one is deprecated; a required envvar is not on the tool
//     with the right secret flag; the tip is a strict ancestor of the
//     commit of the newest version ("older than the last valid commit").
//     Then it sleeps PublishLatency of clock time (default 1–5 simulated
//     minutes; the server mutex is not held) and fails with 400 if the
//     project declares build_error. Otherwise the new version is the bump
//     over the highest existing version (deprecated ones included; the
//     first is 1.0.0) and pins tool_commit_hash (the tip), project_directory,
//     required envvars and input_schema. The work completes even if the
//     client has gone away; Close cancels it (503,
//     no version), so Close never waits for a publish's latency.
//   - Versions are listed with deprecated, versions (PEP 440 specifiers: ==,
//     !=, >=, <=, >, <, ~=, ===, ==X.* wildcards, comma-joined; parsed by
//     amigo.ParseConstraint, the client's own check), sort_by,
//     creator (org_id,user_id), limit ≤ 50 and an integer continuation_token
//     (an offset); filter_values only on the first page. DELETE
//     /version/{constraint} deprecates all matching versions (204).
//   - Envvars: inserts of an existing name (or of one deleted less than
//     EnvvarTombstone ago, default 1 simulated minute) get 409; updates or
//     deletes of a missing name, and deletes of a name that a non-deprecated
//     version requires, get 400. Names are checked with the schema's pattern
//     [A-Z_]+ (unanchored, as pydantic does). A request is applied whole or
//     not at all.
//   - Lists: tools (id, deprecated, tag key:value with * and empty-for-null,
//     sort_by name/deprecated, limit ≤ 20, default 10), invocations (≤ 100 a
//     page, tool_id/version pairs, source, conversation, run, succeeded,
//     sort_by) and search (substring, case-insensitive, over query_against).
//     filter_values.tags lists "key:value" strings ("key:" for null values).
//   - The scaffold download is a small real tar.gz of a tool project.
//
// # The project contract (where a tool project declares what it needs)
//
// A project is a directory of the tools repository (project_path) holding a
// pyproject.toml. The emulator reads its [tool.amigo] table:
//
//	[project]
//	name = "weather"                             # tool name in outputs (default: directory name)
//
//	[tool.amigo]
//	required_envvars = ["WEATHER_API_BASE"]      # names ^[A-Z_]+$
//	required_secret_envvars = ["WEATHER_API_KEY"]
//	input_schema = { type = "object", required = ["city"], properties = { city = { type = "string" } } }
//	build_error = "mypy: 3 errors"               # optional: makes test and publish fail (400)
//
// Unknown keys in [tool.amigo], malformed values, an envvar listed as both
// secret and non-secret, a missing pyproject.toml or invalid TOML are build
// failures (400) whose message names the file, line or key.
//
// # The emulated tool (test-tool and invoke)
//
// Both run the same deterministic tool over each input:
//   - Every input is first checked against input_schema ("required" keys
//     present, each declared property of its "type": string, integer,
//     number, boolean, object, array, null, or a list of them). Any
//     non-conforming input makes the whole call 400 (as documented for both
//     operations), naming inputs[i].input_parameters.<key>.
//   - An input whose parameters contain "raise" fails: "KeyError: city not
//     found" gives exception_type "KeyError", exception_message "city not
//     found" and a short Python-style stack trace (a value without "Type:"
//     gives type "Exception").
//   - Otherwise it succeeds with output = compact JSON of {"commit",
//     "input_parameters", "invocation_mode", "tool", "version"} (version is
//     null for test-tool, which builds the commit_branch tip).
//   - duration_ms is a stable function of the input (5–99).
//
// test-tool additionally refuses with 400 when an envvar is declared both
// secret and non-secret in the request, when a variable the project requires
// is not declared in required_envvars / required_secret_envvars, or when the
// project declares build_error; 404 when the branch or project directory
// does not exist. Invoke takes {version} as X.Y.Z (404 if missing or
// deprecated) or a PEP 440 constraint resolved to the highest matching
// non-deprecated version, and records one invocation per input
// (source regular-conversation of the caller).
//
// # Faults
//
// Per operation ID: FailNext answers the next N calls with a status and
// body before any work; SetLatency adds clock latency; DropAfterWork does
// the work and then closes the connection without a response (the
// unknown-outcome case); SetMaintenance gives 503 everywhere; SetChaos
// injects seeded random 409 (only where documented), 429, 503, latency and
// drop-after-work (deterministic for a given seed and request order).
// Injected counts every injection by kind ("409", "429",
// "503", ..., "latency", "drop", "maintenance"). Faults are applied before
// org, auth and rate-limit checks; the request log records each request
// with its operation, status, simulated time, user and fault.
package amigotest
