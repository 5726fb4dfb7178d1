//go:build !linux

package bench

import "time"

func cpuTime() time.Duration { return 0 }

func fsType(string) string { return "unknown" }

func syncDisk() {}
