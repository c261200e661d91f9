// Package amigotest is an in-memory emulator of the whole Amigo Tool API,
// served over real HTTP. It is the test double of every other package, the
// engine of `amigo-release demo`, and what `amigo-release emulator --addr`
// serves. Paths, status codes and bodies follow the OpenAPI file: every
// status an operation returns is documented for that operation, errors are
// FastAPI style {"detail": "..."} and validation failures are 422 with a
// {"detail": [{"type", "loc", "msg", "input"}]} list. A request that is no
// operation gets the framework's answer (405, 307 or 404, below), which the
// contract does not document and internal/contract checks on its own terms.
//
// # Exported API
//
//	New(Options) *Server                        an http.Handler; one Server is one region
//	NewTestServer(t, Options) *Server           on httptest, closed by t.Cleanup; URL()
//	NewRegions(Options, names...)               one Server per region name
//	NewTestRegions(t, Options, names...)        the same, each on httptest
//	RefusedAddr(t)                              a host:port where nothing listens (a region down)
//	(*Server).Handler, ListenAndServe(ctx, addr), Serve(ctx, ln), Close
//	Options{Clock, RepoPath, Branch, PublishLatency, TestLatency, ActiveCap,
//	        CapRule, Lax, RateLimits, DisableRateLimits, RateLimiter, APIKeys, StaticTokens,
//	        TokenTTL, Orgs, Seed, EnvvarTombstone, ReadOnlyUsers, Logf}
//	CapLiteral, CapStrict                       the two readings of the active cap
//	LimiterBucket, LimiterWindow                the two readings of "N requests per minute"
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
// Rate limits are counted per (user, operation) at arrival, after
// authentication (sign-in counts per x-user-id); a refused request is not
// counted. N defaults to the documented limits (DefaultRateLimits;
// test-tool is 1/min). The contract says only "N requests per minute", so
// Options.RateLimiter (--rate-limit) picks how they are counted:
//
//   - LimiterBucket (the default): a token bucket of burst N, refilled
//     continuously at N per simulated minute. An empty bucket gives 429
//     with Retry-After, the whole seconds (rounded up) until a token is
//     back.
//   - LimiterWindow: fixed one-minute windows aligned to the clock's
//     minutes, each admitting N; the count starts again at the minute. A
//     full window gives 429 with Retry-After, the whole seconds (rounded
//     up) until the next minute.
//
// Both admit a burst of N after a quiet minute. They differ after it: the
// bucket admits the next request 60/N seconds after the burst, the window
// only at the next minute, but then a whole new burst even one second
// after the last (2N within two seconds across a minute boundary). A client
// that never sends more than N in any 60 seconds keeps to both.
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
//     first version and bump_type is not "major"; the tool has too many
//     active versions (Options.CapRule, below); a required envvar is not on
//     the tool with the right secret flag; the tip is a strict ancestor of
//     the commit of the newest version ("older than the last valid commit").
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
//     version requires, get 400. A request is applied whole or not at all.
//   - Lists: tools (id, deprecated, tag key:value with * and empty-for-null,
//     sort_by name/deprecated, limit ≤ 20, default 10), invocations (≤ 100 a
//     page, tool_id/version pairs, source, conversation, run, succeeded,
//     sort_by) and search (substring, case-insensitive, over query_against).
//     filter_values.tags lists "key:value" strings ("key:" for null values).
//   - The scaffold download is a small real tar.gz of a tool project.
//
// # Where the contract is silent: what a FastAPI/pydantic server does
//
// The contract is generated by FastAPI from pydantic v2 models. Where it
// says nothing, the emulator answers as that stack does, checked against
// the sources of Starlette, FastAPI and pydantic-core:
//
//   - Routing comes first, before faults, organization, authentication and
//     rate limits (route.go). A path of the contract with another method is
//     405 {"detail":"Method Not Allowed"} with an Allow header naming the
//     methods of the first route, in the contract's order, whose path
//     matches (Starlette takes the first partial match; FastAPI has one
//     route per operation, so PUT /tool/ gets "Allow: GET"). HEAD is a 405
//     too: FastAPI's APIRoute, unlike Starlette's Route, does not answer
//     HEAD for GET. A path that is no route but is one with its trailing
//     slash toggled (all trailing slashes stripped, or one added) is a 307
//     to the same URL with that path and the same query, with an empty body
//     (Starlette's redirect_slashes): DELETE /tool/{id}/version/ (an empty
//     constraint) is redirected to /tool/{id}/version, where DELETE is then
//     405; GET /v1/{org}/tool to /v1/{org}/tool/. The Location is absolute,
//     on the request's Host, and keeps a path prefix stripped in front of
//     the emulator (the regions of `amigo-release emulator`). Anything else
//     is 404 {"detail":"Not Found"}. Of two routes that match, the more
//     specific wins (net/http.ServeMux's rule: POST /tool/test is test-tool,
//     not modify-tool of a tool "test"), as OpenAPI matches concrete paths
//     first.
//   - Patterns are pydantic-core's (internal/pattern): a search, so an
//     unanchored pattern may match anywhere, with Unicode \w, \d and \s. A
//     tag key or value (^[\w\s]+$) may hold letters, combining marks,
//     digits and connector punctuation of any script ("ünï", "東京",
//     "e\u0301cole"), not "²" or "-"; project_path (^[-\w\d_/]+$) the same
//     plus "-" and "/". The envvar name pattern [A-Z_]+ is not anchored, so
//     any name holding an upper-case ASCII letter or an underscore passes:
//     "X-Y" and "my_var" do, "abc" does not. Kept as written, on purpose.
//   - Tags are kept in the order the request lists them (a Python dict and a
//     MongoDB document keep insertion order); a key repeated in the JSON
//     keeps its first place and its last value. Seeded tools (AddTool,
//     whose tags are a Go map) have theirs sorted by key.
//   - An empty versions filter (?versions=, or one of only spaces and
//     commas) is no filter: packaging's SpecifierSet skips blank clauses,
//     and SpecifierSet("") matches every version. The same parser reads the
//     DELETE path, so DELETE /version/, (a comma) deprecates every version;
//     DELETE /version/ never gets there (the 307 above).
//   - Invoke's {version} names a version by PEP 440 equality, which pads
//     releases with zeros: "1.0", "1" and "1.0.0.0" all name 1.0.0, as
//     Version("1.0") == Version("1.0.0"). (A constraint such as ">=1.0" is
//     also taken: the highest non-deprecated match.) Pre-, post- and dev
//     releases, epochs and local versions are not modelled: a constraint
//     using them is a 422 here, where packaging would take it.
//   - An input invoked with invocation_mode "conversation-simulation" is
//     recorded as a simulation (invocation_source type
//     simulation-conversation, with null run, unit test and run index: it
//     belongs to no unit test set run); "regular" as a regular conversation
//     of the caller.
//   - Order of checks, as FastAPI runs them: routing (307, 405, 404);
//     injected faults and maintenance; the organization (404 when
//     Options.Orgs does not list it); a body that cannot be read or, labelled
//     JSON, does not parse (422 json_invalid: FastAPI parses the body before
//     it solves any dependency, so before authentication); authentication
//     (401), permissions (403) and the rate limit (429); then every
//     parameter and body error in one 422, path first, then query, then
//     body (FastAPI's order); then the operation's own checks (404 tool,
//     409, 400, in the order each operation's description above gives).
//     A body without Content-Type: application/json is not read as JSON
//     (FastAPI's strict_content_type): 422 model_attributes_type.
//
// And where the stack leaves it to the server's own code, the emulator's
// choices, which the client's pre-validation shares:
//
//   - The same envvar name twice in one request (two inserts, an insert and
//     a delete, an update and a delete; names compared stripped): 400,
//     naming both entries, and nothing is applied. The schema has no
//     uniqueness rule (so not 422), no order of the operations is
//     documented, and MongoDB refuses conflicting updates of one field in
//     one write. amigo.RepeatedEnvvar is the one rule; the client refuses
//     such a request before sending it.
//   - sort_by without + or -: ascending (MongoDB's default direction; the
//     contract only describes the prefixes). A field the operation does not
//     list, or "+-name", is a 422. The client accepts and refuses the same.
//   - A deprecated tool answers 404 "Tool ... is deprecated." to the
//     operations that change or run it (modify, envvars, publish, invoke);
//     deprecating it again, or deprecating its versions, is a 204 that
//     changes nothing; its versions can still be listed.
//
// # The two switches
//
// Where only the real server can settle what the contract means, an option
// picks (and `amigo-release emulator` has a flag for each):
//
//   - Options.CapRule (--cap-rule): the contract refuses a publish when
//     "more than 3 active versions of the tool exist" (3 being ActiveCap).
//     CapLiteral, the default, reads it literally: refused when more than
//     ActiveCap are active before the publish, so a tool may reach
//     ActiveCap+1 (the 4th is published, the 5th refused). CapStrict refuses
//     when the new version would make more than ActiveCap (the 4th is
//     refused). The refusal says which: "More than 3 active versions of the
//     tool exist (4 are not deprecated)" or "Publishing would make more than
//     3 active versions of the tool (3 are not deprecated)".
//   - Options.Lax (--lax): request bodies are validated in pydantic's lax
//     mode, where a boolean also takes "true"/"false", "yes"/"no",
//     "on"/"off", "t"/"f", "y"/"n" in any case, "1"/"0", and the numbers 1
//     and 0 (pydantic-core's str_as_bool and int_as_bool; " true" and 2 are
//     still refused). Strict, the default, takes only true and false (422
//     bool_type). The contract's schema is the same whatever the models'
//     mode; the client always sends JSON booleans.
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
// does not exist. Invoke takes {version} as a release (404 if missing or
// deprecated; PEP 440 equality, see above) or a PEP 440 constraint resolved
// to the highest matching non-deprecated version, and records one
// invocation per input (a simulation for "conversation-simulation" inputs).
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
// "503", ..., "latency", "drop", "maintenance"). Faults are applied after
// routing and before the org, body, auth and rate-limit checks; the request
// log records each request with its operation, status, simulated time, user
// and fault.
package amigotest
