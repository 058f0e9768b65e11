//go:build !unix

package decode

import "time"

// cpuTime reports that this platform has no getrusage.
func cpuTime() (time.Duration, bool) { return 0, false }
