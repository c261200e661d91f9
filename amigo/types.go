package amigo

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// This file holds the wire types of the Amigo Tool API, one Go type per schema
// of the OpenAPI contract (testdata in internal/contract). Field names follow
// the JSON names. Types shared by the client and the emulator live here so
// that both speak exactly one dialect.

// Tag is a key with an optional value (null on the wire when Value is nil).
type Tag struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// UserInfo identifies who created or last updated a tool.
type UserInfo struct {
	OrgID  string `json:"org_id"`
	UserID string `json:"user_id"`
}

// VersionUserInfo identifies who created or last updated a tool version.
// The API spells this one differently from UserInfo.
type VersionUserInfo struct {
	UserID    string `json:"user_id"`
	UserOrgID string `json:"user_org_id"`
}

// Tool is a ToolInstance.
type Tool struct {
	ID            string     `json:"id"`
	OrgID         string     `json:"org_id"`
	CreatedAt     *Timestamp `json:"created_at,omitempty"`
	UpdatedAt     *Timestamp `json:"updated_at,omitempty"`
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	Deprecated    bool       `json:"deprecated"`
	Envvars       []string   `json:"envvars"`
	SecretEnvvars []string   `json:"secret_envvars"`
	Tags          []Tag      `json:"tags"`
	Creator       UserInfo   `json:"creator"`
	UpdatedBy     UserInfo   `json:"updated_by"`
}

// ToolFilterValues is the filter_values of a list-tools page.
type ToolFilterValues struct {
	Tags []string `json:"tags"`
}

// ListToolsResponse is one page of GET /tool/.
type ListToolsResponse struct {
	Tools             []Tool            `json:"tools"`
	HasMore           bool              `json:"has_more"`
	ContinuationToken *int              `json:"continuation_token"`
	FilterValues      *ToolFilterValues `json:"filter_values"`
}

// CreateToolRequest is the body of POST /tool/. Tags maps a key to an
// optional value; a nil value is sent as JSON null.
type CreateToolRequest struct {
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Tags        map[string]*string `json:"tags"`
}

// CreateToolResponse is the 201 body of POST /tool/.
type CreateToolResponse struct {
	ID string `json:"id"`
}

// ModifyToolRequest is the body of POST /tool/{tool_id}. Nil fields are left
// unchanged by the server.
type ModifyToolRequest struct {
	Description *string             `json:"description,omitempty"`
	Tags        *map[string]*string `json:"tags,omitempty"`
}

// InvocationMode is how a tool input is run.
type InvocationMode string

const (
	InvocationModeRegular                InvocationMode = "regular"
	InvocationModeConversationSimulation InvocationMode = "conversation-simulation"
)

// Input is one input of a test or an invocation.
type Input struct {
	InputParameters           map[string]any    `json:"input_parameters"`
	InvocationMode            InvocationMode    `json:"invocation_mode"`
	NonsensitiveUserVariables map[string]string `json:"nonsensitive_user_variables"`
	SensitiveUserVariables    map[string]string `json:"sensitive_user_variables"`
}

// TestToolRequest is the body of POST /tool/test.
type TestToolRequest struct {
	Inputs                []Input           `json:"inputs"`
	CommitBranch          string            `json:"commit_branch"`
	ProjectPath           string            `json:"project_path"`
	RequiredEnvvars       map[string]string `json:"required_envvars"`
	RequiredSecretEnvvars map[string]string `json:"required_secret_envvars"`
}

// InvocationResult is the discriminated union SucceededInvocationResult |
// FailedInvocationResult, told apart by Succeeded. Output is set when
// Succeeded; the Exception fields when not.
type InvocationResult struct {
	Succeeded           bool     `json:"succeeded"`
	Output              string   `json:"output,omitempty"`
	ExceptionMessage    string   `json:"exception_message,omitempty"`
	ExceptionType       string   `json:"exception_type,omitempty"`
	ExceptionStackTrace []string `json:"exception_stack_trace,omitempty"`
	DurationMS          int64    `json:"duration_ms"`
}

// MarshalJSON writes exactly the fields of the variant that Succeeded selects.
func (r InvocationResult) MarshalJSON() ([]byte, error) {
	if r.Succeeded {
		return json.Marshal(struct {
			Succeeded  bool   `json:"succeeded"`
			Output     string `json:"output"`
			DurationMS int64  `json:"duration_ms"`
		}{true, r.Output, r.DurationMS})
	}
	trace := r.ExceptionStackTrace
	if trace == nil {
		trace = []string{}
	}
	return json.Marshal(struct {
		Succeeded           bool     `json:"succeeded"`
		ExceptionMessage    string   `json:"exception_message"`
		ExceptionType       string   `json:"exception_type"`
		ExceptionStackTrace []string `json:"exception_stack_trace"`
		DurationMS          int64    `json:"duration_ms"`
	}{false, r.ExceptionMessage, r.ExceptionType, trace, r.DurationMS})
}

// UnmarshalJSON reads either variant. The discriminator defaults by variant:
// a body without "succeeded" but with "output" is a success.
func (r *InvocationResult) UnmarshalJSON(b []byte) error {
	type plain InvocationResult
	var raw struct {
		plain
		Succeeded *bool `json:"succeeded"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = InvocationResult(raw.plain)
	switch {
	case raw.Succeeded != nil:
		r.Succeeded = *raw.Succeeded
	default:
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			return err
		}
		_, hasOutput := probe["output"]
		_, hasExc := probe["exception_type"]
		if !hasOutput && !hasExc {
			return fmt.Errorf("invocation result: neither succeeded, output nor exception_type present")
		}
		r.Succeeded = hasOutput && !hasExc
	}
	return nil
}

// TestToolResponse is the 200 body of POST /tool/test.
type TestToolResponse struct {
	InvocationResults []InvocationResult `json:"invocation_results"`
}

// EnvvarInsert adds a new environment variable to a tool.
type EnvvarInsert struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	IsSecret bool   `json:"is_secret"`
}

// EnvvarUpdate changes the value of an existing environment variable.
type EnvvarUpdate struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EnvvarDelete removes an environment variable.
type EnvvarDelete struct {
	Name string `json:"name"`
}

// ModifyEnvvarsRequest is the body of POST /tool/{tool_id}/envvar.
type ModifyEnvvarsRequest struct {
	Inserts []EnvvarInsert `json:"inserts"`
	Updates []EnvvarUpdate `json:"updates"`
	Deletes []EnvvarDelete `json:"deletes"`
}

// Version is a semantic version as the API spells it.
type Version struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
	Patch int `json:"patch"`
}

// String renders "MAJOR.MINOR.PATCH".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or +1 as v orders before, equal to or after o by
// semver precedence (a version here has no pre-release or build part).
func (v Version) Compare(o Version) int {
	switch {
	case v.Major != o.Major:
		return cmp.Compare(v.Major, o.Major)
	case v.Minor != o.Minor:
		return cmp.Compare(v.Minor, o.Minor)
	}
	return cmp.Compare(v.Patch, o.Patch)
}

// Less orders versions by semver precedence.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// Valid reports whether every part is between 0 and MaxVersionPart: a
// version the API can have given, and ParseVersion takes (a server that
// sent a negative or a huge part is not one to order, prune or number
// by: the next version after MaxInt would wrap around).
func (v Version) Valid() bool {
	ok := func(n int) bool { return n >= 0 && n <= MaxVersionPart }
	return ok(v.Major) && ok(v.Minor) && ok(v.Patch)
}

// MaxVersionPart bounds each part of a version (ParseVersion, Valid).
const MaxVersionPart = math.MaxInt32

// ParseVersion is the one parser of a tool version in the codebase: exactly
// MAJOR.MINOR.PATCH as Semantic Versioning 2.0.0 spells it
// (semver.StrictNewVersion), because that is all the API's version object
// holds. No "v" prefix, no leading zeros ("01.2.3"), no sign ("+1.2.3"), no
// spaces, no pre-release or build part, and every part within an int.
// PEP 440 spellings the server accepts in constraints ("1.0") are the
// business of ParseConstraint, not of this function.
func ParseVersion(s string) (Version, error) {
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("%q is not a version MAJOR.MINOR.PATCH (e.g. 1.4.2): %s", s, why)
	}
	sv, err := semver.StrictNewVersion(s)
	switch {
	case err == nil:
	case strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V"):
		return bad("no v prefix")
	case errors.Is(err, semver.ErrSegmentStartsZero):
		return bad("a part starts with 0")
	case errors.Is(err, semver.ErrInvalidCharacters):
		return bad("each part is digits only (no sign, no space)")
	default:
		return bad(strings.ToLower(err.Error()))
	}
	if sv.Prerelease() != "" || sv.Metadata() != "" {
		return bad("no pre-release or build part: Amigo tool versions are MAJOR.MINOR.PATCH only")
	}
	if sv.Major() > MaxVersionPart || sv.Minor() > MaxVersionPart || sv.Patch() > MaxVersionPart {
		return bad(fmt.Sprintf("a part is larger than %d", MaxVersionPart))
	}
	return Version{Major: int(sv.Major()), Minor: int(sv.Minor()), Patch: int(sv.Patch())}, nil
}

// Bump is the one bump function in the codebase: v with a bump type
// applied, as Semantic Versioning 2.0.0 increments (major resets minor and
// patch; minor resets patch). Anything but major or minor is a patch.
func (v Version) Bump(b BumpType) Version {
	switch b {
	case BumpMajor:
		return Version{Major: v.Major + 1}
	case BumpMinor:
		return Version{Major: v.Major, Minor: v.Minor + 1}
	default:
		return Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch + 1}
	}
}

// ToolVersion is a ToolVersionInstance.
type ToolVersion struct {
	ID                      string          `json:"id"`
	OrgID                   string          `json:"org_id"`
	CreatedAt               *Timestamp      `json:"created_at,omitempty"`
	UpdatedAt               *Timestamp      `json:"updated_at,omitempty"`
	ToolID                  string          `json:"tool_id"`
	Version                 Version         `json:"version"`
	RequiredEnvvars         []string        `json:"required_envvars"`
	RequiredSecretEnvvars   []string        `json:"required_secret_envvars"`
	InputSchema             map[string]any  `json:"input_schema"`
	ToolCommitHash          string          `json:"tool_commit_hash"`
	AmigoScaffoldCommitHash string          `json:"amigo_scaffold_commit_hash"`
	ProjectDirectory        string          `json:"project_directory"`
	LambdaVersion           int             `json:"lambda_version"`
	Creator                 VersionUserInfo `json:"creator"`
	UpdatedBy               VersionUserInfo `json:"updated_by"`
	Deprecated              bool            `json:"deprecated"`
}

// VersionFilterValues is the filter_values of a list-versions page.
type VersionFilterValues struct {
	Creators []VersionUserInfo `json:"creators"`
}

// ListVersionsResponse is one page of GET /tool/{tool_id}/version.
type ListVersionsResponse struct {
	ToolVersions      []ToolVersion        `json:"tool_versions"`
	HasMore           bool                 `json:"has_more"`
	ContinuationToken *int                 `json:"continuation_token"`
	FilterValues      *VersionFilterValues `json:"filter_values"`
}

// BumpType is the kind of semver increment a publish asks for.
type BumpType string

const (
	BumpMajor BumpType = "major"
	BumpMinor BumpType = "minor"
	BumpPatch BumpType = "patch"
)

// Valid reports whether b is one of the three bump types.
func (b BumpType) Valid() bool { return b == BumpMajor || b == BumpMinor || b == BumpPatch }

// PublishRequest is the body of POST /tool/{tool_id}/version. Repo is not in
// the OpenAPI schema (the docs page shows it): it is sent only when set.
type PublishRequest struct {
	ProjectPath string   `json:"project_path"`
	BumpType    BumpType `json:"bump_type"`
	Repo        string   `json:"repo,omitempty"`
}

// PublishResponse is the 201 body of POST /tool/{tool_id}/version.
type PublishResponse struct {
	NewVersion string `json:"new_version"`
}

// InvokeRequest is the body of POST /tool/{tool_id}/version/{version}/invoke.
type InvokeRequest struct {
	Inputs []Input `json:"inputs"`
}

// InvokeResponse is the 200 body of an invoke.
type InvokeResponse struct {
	InvocationResults []InvocationResult `json:"invocation_results"`
}

// InvocationStatus is the union SucceededInvocationStatus |
// FailedInvocationStatus, told apart by Succeeded.
type InvocationStatus struct {
	Succeeded           bool     `json:"succeeded"`
	Output              string   `json:"output,omitempty"`
	ExceptionMessage    string   `json:"exception_message,omitempty"`
	ExceptionType       string   `json:"exception_type,omitempty"`
	ExceptionStackTrace []string `json:"exception_stack_trace,omitempty"`
}

// MarshalJSON writes exactly the fields of the selected variant.
func (s InvocationStatus) MarshalJSON() ([]byte, error) {
	if s.Succeeded {
		return json.Marshal(struct {
			Succeeded bool   `json:"succeeded"`
			Output    string `json:"output"`
		}{true, s.Output})
	}
	trace := s.ExceptionStackTrace
	if trace == nil {
		trace = []string{}
	}
	return json.Marshal(struct {
		Succeeded           bool     `json:"succeeded"`
		ExceptionMessage    string   `json:"exception_message"`
		ExceptionType       string   `json:"exception_type"`
		ExceptionStackTrace []string `json:"exception_stack_trace"`
	}{false, s.ExceptionMessage, s.ExceptionType, trace})
}

// UnmarshalJSON reads either variant. As for InvocationResult, a body
// without "succeeded" is told apart by its fields: "output" means success.
func (s *InvocationStatus) UnmarshalJSON(b []byte) error {
	type plain InvocationStatus
	var raw struct {
		plain
		Succeeded *bool `json:"succeeded"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*s = InvocationStatus(raw.plain)
	if raw.Succeeded != nil {
		s.Succeeded = *raw.Succeeded
		return nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return err
	}
	_, hasOutput := probe["output"]
	_, hasExc := probe["exception_type"]
	if !hasOutput && !hasExc {
		return fmt.Errorf("invocation status: neither succeeded, output nor exception_type present")
	}
	s.Succeeded = hasOutput && !hasExc
	return nil
}

// InvocationSourceType names the variant of an InvocationSource.
type InvocationSourceType string

const (
	SourceRegularConversation    InvocationSourceType = "regular-conversation"
	SourceSimulationConversation InvocationSourceType = "simulation-conversation"
)

// InvocationMetadataType names the variant of an InvocationMetadata.
type InvocationMetadataType string

const (
	MetadataStateTransition InvocationMetadataType = "state-transition"
	MetadataEngageUser      InvocationMetadataType = "engage-user"
	MetadataToolCallState   InvocationMetadataType = "tool-call-state"
)

// StateMachineVersion is the [name, version] pair of
// current_state_machine_and_version.
type StateMachineVersion struct {
	Name    string
	Version int
}

// MarshalJSON writes the pair as a two-element array.
func (s StateMachineVersion) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{s.Name, s.Version})
}

// UnmarshalJSON reads a two-element [string, integer] array.
func (s *StateMachineVersion) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 2 {
		return fmt.Errorf("current_state_machine_and_version: want 2 items, got %d", len(raw))
	}
	if err := json.Unmarshal(raw[0], &s.Name); err != nil {
		return fmt.Errorf("current_state_machine_and_version[0]: %w", err)
	}
	if err := json.Unmarshal(raw[1], &s.Version); err != nil {
		return fmt.Errorf("current_state_machine_and_version[1]: %w", err)
	}
	return nil
}

// InvocationMetadata is the union of the three agent-framework metadata
// variants, told apart by Type. Fields a variant lacks are left zero and not
// written.
type InvocationMetadata struct {
	Type                          InvocationMetadataType `json:"type"`
	CurrentStateMachineAndVersion StateMachineVersion    `json:"current_state_machine_and_version"`
	StateName                     string                 `json:"state_name,omitempty"`
	StateTransitionIndex          *int                   `json:"state_transition_index,omitempty"`
	ToolCallRoundIndex            *int                   `json:"tool_call_round_index,omitempty"`
}

// InvocationSource is the union of regular and simulated conversation
// sources, told apart by Type.
type InvocationSource struct {
	Type InvocationSourceType `json:"type"`
	// regular-conversation
	UserID         string  `json:"user_id,omitempty"`
	ConversationID *string `json:"conversation_id"`
	InteractionID  *string `json:"interaction_id"`
	// simulation-conversation
	SimulationUnitTestSetRunID *string `json:"simulation_unit_test_set_run_id"`
	UnitTestID                 *string `json:"unit_test_id"`
	RunIndex                   *int    `json:"run_index"`

	InvocationMetadata InvocationMetadata `json:"invocation_metadata"`
}

// MarshalJSON writes exactly the fields of the selected variant, with the
// variant's nullable fields present (as null when unset).
func (s InvocationSource) MarshalJSON() ([]byte, error) {
	switch s.Type {
	case SourceSimulationConversation:
		return json.Marshal(struct {
			Type                       InvocationSourceType `json:"type"`
			SimulationUnitTestSetRunID *string              `json:"simulation_unit_test_set_run_id"`
			UnitTestID                 *string              `json:"unit_test_id"`
			RunIndex                   *int                 `json:"run_index"`
			InvocationMetadata         InvocationMetadata   `json:"invocation_metadata"`
		}{s.Type, s.SimulationUnitTestSetRunID, s.UnitTestID, s.RunIndex, s.InvocationMetadata})
	default:
		return json.Marshal(struct {
			Type               InvocationSourceType `json:"type"`
			UserID             string               `json:"user_id"`
			ConversationID     *string              `json:"conversation_id"`
			InteractionID      *string              `json:"interaction_id"`
			InvocationMetadata InvocationMetadata   `json:"invocation_metadata"`
		}{SourceRegularConversation, s.UserID, s.ConversationID, s.InteractionID, s.InvocationMetadata})
	}
}

// Invocation is a ToolInvocationInstance.
type Invocation struct {
	ID               string           `json:"id"`
	OrgID            string           `json:"org_id"`
	CreatedAt        *Timestamp       `json:"created_at,omitempty"`
	UpdatedAt        *Timestamp       `json:"updated_at,omitempty"`
	InvocationStatus InvocationStatus `json:"invocation_status"`
	InvocationSource InvocationSource `json:"invocation_source"`
	DurationMS       int64            `json:"duration_ms"`
	ToolID           string           `json:"tool_id"`
	ToolVersion      Version          `json:"tool_version"`
	Inputs           map[string]any   `json:"inputs"`
}

// ListInvocationsResponse is one page of GET /tool/invocation.
type ListInvocationsResponse struct {
	ToolInvocations   []Invocation `json:"tool_invocations"`
	HasMore           bool         `json:"has_more"`
	ContinuationToken *int         `json:"continuation_token"`
}

// SearchInvocationsResponse is the body of GET /tool/invocation/search.
type SearchInvocationsResponse struct {
	ToolInvocations []Invocation `json:"tool_invocations"`
}

// SignInResponse is the body of POST /user/signin_with_api_key.
type SignInResponse struct {
	IDToken   string    `json:"id_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Region is one of the documented Amigo API servers.
type Region struct {
	Name    string // short name used in plan files and flags
	BaseURL string
}

// Regions lists the documented servers by short name, in documentation order.
var Regions = []Region{
	{Name: "us", BaseURL: "https://api.amigo.ai"},
	{Name: "eu-central-1", BaseURL: "https://api-eu-central-1.amigo.ai"},
	{Name: "ap-southeast-2", BaseURL: "https://api-ap-southeast-2.amigo.ai"},
	{Name: "ca-central-1", BaseURL: "https://api-ca-central-1.amigo.ai"},
}

// RegionURL returns the base URL of a region by short name.
func RegionURL(name string) (string, bool) {
	for _, r := range Regions {
		if r.Name == name {
			return r.BaseURL, true
		}
	}
	return "", false
}

// Timestamp is a date-time of the API, read leniently (go-github's
// Timestamp is the model): a string in RFC 3339 as documented, or without
// an offset as a Python service writes a naive datetime (taken as UTC, with
// "T" or a space between date and time), or a number of Unix seconds. It is
// written as RFC 3339. A null leaves a *Timestamp nil.
type Timestamp struct{ time.Time }

// GetTime returns the time t holds, or nil when t is nil.
func (t *Timestamp) GetTime() *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

// UnmarshalJSON reads a date-time leniently (see Timestamp). A value that
// is none is a *json.UnmarshalTypeError, which encoding/json completes
// with the field's path, so the error names the field.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := parseTime(b)
	if err != nil {
		return &json.UnmarshalTypeError{
			Value: clip(string(b), 60) + " (not a date-time: want RFC 3339, e.g. 2026-01-02T03:04:05Z, or Unix seconds)",
			Type:  reflect.TypeFor[Timestamp](),
		}
	}
	t.Time = v
	return nil
}

// timestampLayouts are the date-time spellings Timestamp reads.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads a JSON date-time leniently (see Timestamp). Its errors
// start with the value, for the caller to name the field.
func parseTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(raw, &secs); err != nil || secs <= 0 {
			return time.Time{}, fmt.Errorf("%s is neither a date-time nor Unix seconds", clip(string(raw), 60))
		}
		return time.Unix(0, int64(secs*float64(time.Second))).UTC(), nil
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time (want RFC 3339, e.g. 2026-01-02T03:04:05Z)", clip(s, 60))
}
