package amigo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownOutcome is matched (errors.Is) by every *UnknownOutcomeError: a
// mutating call whose request may have reached the server but whose answer
// never arrived. The caller must find out what happened (for a publish: list
// the versions and look for the commit) before trying again.
var ErrUnknownOutcome = errors.New("outcome unknown")

// APIError is a non-2xx answer of the Amigo API.
type APIError struct {
	Op         Op            // operationId, e.g. "publish-tool-version"
	Method     string        // HTTP method
	Path       string        // request path (no host, no query)
	StatusCode int           // HTTP status
	Message    string        // the server's message or rendered FastAPI detail
	RetryAfter time.Duration // from Retry-After, 0 when absent
	Body       string        // the raw body, trimmed to a few hundred bytes
	Hint       string        // what the user can do about it; may be empty
}

// Error renders "OP METHOD PATH: STATUS TEXT: MESSAGE (HINT)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: %d %s", e.Op, e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// UnknownOutcomeError says that a non-idempotent request (publish, create,
// envvars, ...) may have been received and carried out, but no answer came
// back: the connection dropped or the call timed out. errors.Is(err,
// ErrUnknownOutcome) is true; errors.Is also sees the cause (for example
// context.DeadlineExceeded).
type UnknownOutcomeError struct {
	Op     Op
	Method string
	Path   string
	Err    error
}

// Error explains the situation and what to do.
func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("%s %s %s: outcome unknown, the request may have been carried out (%v); check the server's state before trying again", e.Op, e.Method, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnknownOutcome.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// UnreachableError says that no server has ever answered at the client's
// base URL: every attempt of the first contact failed to connect
// (connection refused, unknown host). A wrong URL does not fix itself, so
// the client gives up after FirstContactAttempts instead of retrying for
// the whole budget; once a server has answered, a later refused connection
// (a restart) gets the full retry budget.
type UnreachableError struct {
	Op       Op
	Method   string
	Path     string
	Base     string
	Attempts int
	Err      error
}

// Error names the address and the fix.
func (e *UnreachableError) Error() string {
	if r, ok := e.Region(); ok {
		return fmt.Sprintf("%s %s %s: the Amigo server of region %s does not answer at its documented address %s (%d attempts: %v): an outage, or this machine cannot reach it; retry later", e.Op, e.Method, e.Path, r, e.Base, e.Attempts, e.Err)
	}
	return fmt.Sprintf("%s %s %s: no server answers at %s (%d attempts: %v); check the URL (a stage's region or base_url) and that the server is up", e.Op, e.Method, e.Path, e.Base, e.Attempts, e.Err)
}

// Region returns the region whose documented address (Regions) the
// unreachable server has. Nothing answering there is an outage (or a
// network problem where the client runs), not a wrong address.
func (e *UnreachableError) Region() (string, bool) {
	for _, r := range Regions {
		if strings.EqualFold(strings.TrimRight(e.Base, "/"), r.BaseURL) {
			return r.Name, true
		}
	}
	return "", false
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// ValidationError is a request the client refused to send because the
// server would reject it with 422. Field names the offending field the way
// the API spells it (e.g. "tags.my key", "inputs[2].sensitive_user_variables").
type ValidationError struct {
	Op    Op
	Field string
	Value string // the offending value, when it is short and not secret
	Rule  string // the rule it breaks, e.g. "must match ^[a-z0-9_]+$"
}

// Error renders "OP: invalid FIELD "VALUE": RULE".
func (e *ValidationError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s: invalid %s %q: %s", e.Op, e.Field, e.Value, e.Rule)
	}
	return fmt.Sprintf("%s: invalid %s: %s", e.Op, e.Field, e.Rule)
}

func asAPIError(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

func hasStatus(err error, code int) bool {
	ae, ok := asAPIError(err)
	return ok && ae.StatusCode == code
}

// IsConflict reports a 409: a name already taken, an operation already in
// progress on the tool, or an envvar that already exists.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsRateLimited reports a 429.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsValidation reports a request rejected as invalid: a server 422 or a
// client-side *ValidationError.
func IsValidation(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve) || hasStatus(err, http.StatusUnprocessableEntity)
}

// IsMaintenance reports a 503 (the service is in temporary maintenance).
func IsMaintenance(err error) bool { return hasStatus(err, http.StatusServiceUnavailable) }

// IsUnauthorized reports a 401 (bad API key or expired token).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsBadRequest reports a 400 (for example a failed build or test, missing
// envvars, too many active versions).
func IsBadRequest(err error) bool { return hasStatus(err, http.StatusBadRequest) }

// ParseRetryAfter reads a Retry-After header value: delay-seconds (a
// non-negative number, fractions accepted) or an HTTP date, which is taken
// relative to now. A date in the past gives 0. ok is false for an empty or
// unreadable value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || secs != secs || secs > 1e9 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

const maxBodyInError = 512

// errorMessage renders the server's error body readably: {"detail": "..."},
// FastAPI's {"detail": [{"loc": [...], "msg": ..., "type": ...}]},
// {"message": "..."} or {"error": "..."}; otherwise the trimmed text.
func errorMessage(body []byte) string {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return ""
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return clip(oneLine(trimmed), maxBodyInError)
	}
	for _, key := range []string{"detail", "message", "error", "title"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		if msg := renderDetail(raw); msg != "" {
			return msg
		}
	}
	return clip(oneLine(trimmed), maxBodyInError)
}

func renderDetail(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return clip(oneLine(s), maxBodyInError)
	}
	var items []struct {
		Loc  []any  `json:"loc"`
		Msg  string `json:"msg"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &items); err == nil && len(items) > 0 {
		parts := make([]string, 0, len(items))
		for _, it := range items {
			loc := make([]string, 0, len(it.Loc))
			for _, l := range it.Loc {
				switch v := l.(type) {
				case string:
					loc = append(loc, v)
				case float64:
					loc = append(loc, strconv.FormatFloat(v, 'f', -1, 64))
				default:
					loc = append(loc, fmt.Sprint(v))
				}
			}
			msg := it.Msg
			if msg == "" {
				msg = it.Type
			}
			if len(loc) > 0 {
				parts = append(parts, strings.Join(loc, ".")+": "+lowerFirst(msg))
			} else {
				parts = append(parts, msg)
			}
		}
		return clip(strings.Join(parts, "; "), 2*maxBodyInError)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err == nil {
		for _, key := range []string{"message", "msg", "detail"} {
			if v, ok := obj[key]; ok {
				return renderDetail(v)
			}
		}
	}
	return ""
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if len(r) > 1 && r[1] >= 'A' && r[1] <= 'Z' { // keep acronyms: "JSON decode error"
		return s
	}
	if r[0] >= 'A' && r[0] <= 'Z' {
		r[0] += 'a' - 'A'
	}
	return string(r)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
