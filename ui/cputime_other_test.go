//go:build !linux

package ui

import "time"

var cpuEpoch = time.Now()

// threadCPU falls back to the wall clock where the thread's processor time is not available.
func threadCPU() time.Duration { return time.Since(cpuEpoch) }

// processCPU falls back to the wall clock.
func processCPU() time.Duration { return time.Since(cpuEpoch) }
