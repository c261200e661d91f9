// Package amigo is a typed client for the Amigo Tool REST API: all 14
// operations of the OpenAPI contract, one method each, every one taking a
// context first.
//
//	c, err := amigo.New(amigo.Config{
//		Region:   "eu-central-1", // or BaseURL: "https://api-eu-central-1.amigo.ai"
//		Org:      os.Getenv("AMIGO_ORGANIZATION_ID"),
//		APIKey:   os.Getenv("AMIGO_API_KEY"),
//		APIKeyID: os.Getenv("AMIGO_API_KEY_ID"),
//		UserID:   os.Getenv("AMIGO_USER_ID"),
//	})
//	tool, err := c.FindToolByName(ctx, "weather_lookup")
//	res, err := c.PublishVersion(ctx, tool.ID, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMinor})
//
// What the client takes care of, because it is a property of the API:
//
//   - Auth: it signs in with the API key on first use, caches the id_token,
//     signs in again 5 minutes before expires_at (by the Config.Clock), shares
//     one sign-in among concurrent callers, and after a 401 signs in once more
//     and repeats the request once. A static bearer Token works too.
//   - Pacing: a rolling window per server, user and endpoint at the
//     documented per-minute limits (DefaultLimits): at most N requests in
//     any minute and a half second, which keeps to a server counting N per
//     clock minute and to a token bucket of burst N alike, and lets a burst
//     of reads go at once. After a 429 the endpoint waits exactly the
//     Retry-After, then is spaced evenly. Share one Pacer (NewPacer) between
//     Clients for the same server; PacerConfig.Share divides the limits
//     between processes that use the same credentials (a CI fan-out).
//     TakeTurn and WithTurn let a caller choose what to send when its turn
//     comes.
//   - Retries by idempotency class, with jittered exponential backoff on the
//     Config.Clock: reads, sign-in and exact-version deletes retry on 429,
//     503, other 5xx and network errors; every request retries on 429
//     (honouring Retry-After in seconds or as an HTTP date). Mutating POSTs
//     (publish, create, envvars, test, invoke) are otherwise not retried: a
//     409 or 503 is returned as *APIError, and a timeout or dropped connection
//     after the request may have been sent is an *UnknownOutcomeError
//     (errors.Is(err, ErrUnknownOutcome)) so the caller can reconcile.
//   - Validation: requests the server would reject with 422 (tool names,
//     tags, envvar names, project paths, input counts, user-variable names,
//     bump types, tool ids, page sizes, repeated values in list filters,
//     tag filters without ':', sort_by fields, PEP 440 version constraints
//     as ParseConstraint reads them) fail with a *ValidationError before
//     anything is sent. The rules are the server's, and the emulator's
//     (amigotest) is the same code: the contract's patterns (Pattern*) mean
//     what pydantic makes of them (a search, Unicode \w: a tag "ünï" passes,
//     an envvar "X-Y" too), a blank constraint is no filter. Two refusals
//     are the client's own, for safety: the same envvar name twice in one
//     request (RepeatedEnvvar; the emulator answers 400) and a deprecation
//     whose constraint has no clause (it would match every version).
//   - Errors: one *APIError with the operation, status, the server's message
//     (FastAPI detail lists rendered as "body.name: ...") and a hint, plus
//     IsConflict, IsRateLimited, IsNotFound, IsValidation, IsMaintenance and
//     IsUnauthorized. Keys and tokens never appear in errors or events.
//
// Retry policy beyond that (publishing again after a 409, reconciling an
// unknown outcome) belongs to the caller; Config.OnEvent reports every
// retry, 429 and wait so the caller can count and log them.
package amigo
