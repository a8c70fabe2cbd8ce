package ui

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the tests their own configuration folder, so that the studio's trust store
// (signer.DefaultTrustDir, under $XDG_CONFIG_HOME) is never the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "suit-studio-ui-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
