//go:build !linux && !darwin

package peakrss

import "os"

const supported = false

// maxRSS is not measured here.
func maxRSS(*os.ProcessState) int64 { return 0 }
