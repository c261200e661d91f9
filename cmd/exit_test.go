package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// TestStartError classifies the errors that stop a run before it changed
// anything: the user's input (2) or an unavailable service (3).
func TestStartError(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("stage us: list tools: %w", err) }
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"invalid plan", &promote.Error{File: "p.yaml", Line: 3, Msg: "bad"}, ExitUsage},
		{"several plan problems", promote.Errors{{File: "p.yaml", Line: 1, Msg: "a"}, {File: "p.yaml", Line: 2, Msg: "b"}}, ExitUsage},
		{"not a repository", fmt.Errorf("open repository x: %w", changes.ErrNotRepo), ExitUsage},
		{"empty repository", changes.ErrEmptyRepo, ExitUsage},
		{"damaged repository", fmt.Errorf("read commit abc: %w", changes.ErrDamaged), ExitUsage},
		{"unsupported repository", fmt.Errorf("open repository x: %w", changes.ErrUnsupportedRepo), ExitUsage},
		{"unknown revision", &changes.UnknownRevisionError{Rev: "nope", Repo: "."}, ExitUsage},
		{"shallow clone", &changes.MissingCommitError{SHA: "abc", Shallow: true}, ExitUsage},
		{"refused credentials", wrap(&amigo.APIError{StatusCode: 401}), ExitUsage},
		{"unknown organization", wrap(&amigo.APIError{StatusCode: 404}), ExitUsage},
		{"client-side validation", wrap(&amigo.ValidationError{Field: "name", Rule: "must match"}), ExitUsage},
		{"name clash", errors.New(`two projects are named "x": a and b`), ExitUsage},
		{"maintenance", wrap(&amigo.APIError{StatusCode: 503}), ExitUnavailable},
		{"server error", wrap(&amigo.APIError{StatusCode: 502}), ExitUnavailable},
		{"rate limited after retries", wrap(&amigo.APIError{StatusCode: 429}), ExitUnavailable},
		{"request timeout", wrap(&amigo.APIError{StatusCode: 408}), ExitUnavailable},
		{"connection refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), ExitUnavailable},
		{"url error", wrap(&url.Error{Op: "Post", URL: "https://api.amigo.ai", Err: errors.New("tls: handshake failure")}), ExitUnavailable},
		{"deadline", wrap(context.DeadlineExceeded), ExitUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(startError(tt.err)); got != tt.want {
				t.Errorf("codeOf(startError(%v)) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
	if startError(nil) != nil {
		t.Error("startError(nil) != nil")
	}
	// Cancellation is left to Main, which reports ExitInterrupted.
	if err := startError(context.Canceled); !errors.Is(err, context.Canceled) || codeOf(err) != ExitFailed {
		t.Errorf("startError(Canceled) = %v (code %d)", err, codeOf(err))
	}
}
