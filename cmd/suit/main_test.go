package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"suit": func() {
			env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
			os.Exit(runMain(env, os.Args[1:]))
		},
	})
}

// vectorsDir is shared/spec/vectors beside the repository.
func vectorsDir(t testing.TB) string {
	d, err := filepath.Abs("../../../shared/spec/vectors")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("official vectors not found at %s: %v", d, err)
	}
	return d
}

// TestScripts runs the CLI scripts in testdata/script: readable examples of the command line's contract.
func TestScripts(t *testing.T) {
	vec := vectorsDir(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("VECTORS", vec)
			e.Setenv("SHARED", filepath.Dir(filepath.Dir(vec)))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"waitaddr": waitAddr},
	})
}
