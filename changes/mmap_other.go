//go:build !unix

package changes

import "os"

// mapFile reads a file into memory (no mmap on this platform).
func mapFile(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	return b, nil, err
}
