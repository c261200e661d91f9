package cmd

import (
	"errors"
	"fmt"
)

// Exit codes. The package documentation explains each one; keep both in step.
const (
	// ExitOK: everything that should have released did, or there was nothing
	// to release; plan, version and a cleanly stopped emulator also exit 0.
	ExitOK = 0
	// ExitFailed: the run started and at least one tool failed or was
	// blocked (or the run failed part-way); see the report.
	ExitFailed = 1
	// ExitUsage: bad input or configuration; nothing was published.
	ExitUsage = 2
	// ExitUnavailable: could not start; a service or resource the run needs
	// was unreachable before any mutating call; nothing was published.
	ExitUnavailable = 3
	// ExitInternal: a bug in amigo-release (a recovered panic).
	ExitInternal = 4
	// ExitInterrupted: stopped by SIGINT or SIGTERM before finishing.
	ExitInterrupted = 130
)

// exitError is an error that decides the process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that Main exits with code. A nil err stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErrorf is a bad-input error (exit 2).
func usageErrorf(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// unavailableErrorf is a could-not-start error (exit 3).
func unavailableErrorf(format string, args ...any) error {
	return withCode(ExitUnavailable, fmt.Errorf(format, args...))
}

// codeOf returns the exit code an error asks for; plain errors are failures.
func codeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return ExitFailed
}
