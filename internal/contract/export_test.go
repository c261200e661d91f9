package contract

import (
	"fmt"
	"sync"
	"testing"
)

// SpyTB records Errorf calls instead of failing the test; the tests of
// this package and of contract_test use it to show that a check bites.
type SpyTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (s *SpyTB) Helper() {}

func (s *SpyTB) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

// Errors returns the messages recorded so far.
func (s *SpyTB) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errs...)
}
