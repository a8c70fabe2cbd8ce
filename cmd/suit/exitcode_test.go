package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// runSuit runs the command line in-process and returns its exit code and standard error.
func runSuit(t *testing.T, dir string, stdin []byte, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	return runMain(env, args), errb.String()
}

// scriptFile returns a file of a testscript archive (a shared fixture, e.g. ex0-real.hex).
func scriptFile(t *testing.T, script, name string) []byte {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join("testdata/script", script))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data
		}
	}
	t.Fatalf("%s has no %s", script, name)
	return nil
}

// TestExitCodeContract: one exit-code contract for every command (README "Output and exit
// codes"): 0 success, 1 a negative verdict, 2 unusable input or arguments, 3 a power cut.
// Malformed input is 2 everywhere, whichever command reads it.
func TestExitCodeContract(t *testing.T) {
	vec := vectorsDir(t)
	dir := t.TempDir()
	ex0hex, err := os.ReadFile(filepath.Join(vec, "example0.hex"))
	if err != nil {
		t.Fatal(err)
	}
	ex0, _ := hex.DecodeString(strings.Join(strings.Fields(string(ex0hex)), ""))
	real := scriptFile(t, "h4_sim.txtar", "ex0-real.hex")
	tampered := scriptFile(t, "lead_create_sign_verify.txtar", "tampered.hex")
	files := map[string][]byte{
		"ex0.suit":       ex0,
		"real.hex":       real,
		"tampered.hex":   tampered,
		"truncated.suit": ex0[:40],                                                       // a CBOR envelope cut short
		"deep.suit":      append([]byte{0xd8, 0x6b}, bytes.Repeat([]byte{0x81}, 100)...), // nesting beyond the limit
		"notsuit.suit":   {0xa1, 0x01, 0x02},                                             // well-formed CBOR, not an envelope
		"junk.bin":       []byte("\x00\x01\x02 this is not an envelope"),
		"bad.der":        {0x30, 0x82, 0x01, 0x00, 0x06, 0x09}, // a DER SEQUENCE cut short
		"bad.yaml":       []byte("manifest: [\n"),
		"exists.out":     []byte("keep me"),
		"fw.bin":         bytes.Repeat([]byte{0x5a}, 1000),
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pub := filepath.Join(vec, "public_key.pem")
	priv := filepath.Join(vec, "private_key.pem")
	prov := []string{"--trust", pub, "--vendor-domain", "arm.com", "--model", "suit"}
	simRun := func(extra ...string) []string { return append(append([]string{"sim", "run"}, prov...), extra...) }
	cmsCreate := []string{"cms", "create", "--image", "fw.bin", "--fw-id", "1.3.6.1.4.1.99999.1.1", "--fw-version", "1",
		"--target", "1.3.6.1.4.1.99999.2.1", "--key", priv, "--make-cert", "cert.pem", "--no-signing-time", "-o", "pkg.der"}

	cases := []struct {
		name string
		args []string
		want int
	}{
		{"show ok", []string{"show", "ex0.suit"}, exitOK},
		{"verify authentic", []string{"verify", "--key", pub, "real.hex"}, exitOK},
		{"sim run applied", simRun("real.hex"), exitOK},
		{"cms create", cmsCreate, exitOK},
		{"cms verify valid", []string{"cms", "verify", "--trust", "cert.pem", "pkg.der"}, exitOK},

		{"verify not authentic", []string{"verify", "--key", pub, "tampered.hex"}, exitNegative},
		{"sim run refused (placeholder digest)", simRun("ex0.suit"), exitNegative},
		{"sim run refused (tampered in flash)", simRun("--tamper", "150", "real.hex"), exitNegative},
		{"cms verify wrong hardware", []string{"cms", "verify", "--trust", "cert.pem", "--target", "1.3.6.1.4.1.99999.2.9", "pkg.der"}, exitNegative},

		{"sim run power cut", simRun("--state", "dev", "--power-cut-at", "3", "real.hex"), exitPowerCut},

		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"unknown flag", []string{"show", "--frob", "ex0.suit"}, exitUsage},
		{"missing file", []string{"show", "missing.suit"}, exitUsage},
		{"create: output exists", []string{"create", "-o", "exists.out", "bad.yaml"}, exitUsage},
		{"sign: output exists", []string{"sign", "--key", priv, "-o", "exists.out", "ex0.suit"}, exitUsage},
		{"create: malformed source", []string{"create", "-o", "new.suit", "bad.yaml"}, exitUsage},
		{"cms create: certificate exists", append(append([]string{}, cmsCreate[:len(cmsCreate)-5]...), "--make-cert", "exists.out", "-o", "pkg2.der"), exitUsage},
	}
	for _, in := range []string{"truncated.suit", "deep.suit", "notsuit.suit", "junk.bin"} {
		cases = append(cases,
			struct {
				name string
				args []string
				want int
			}{"show " + in, []string{"show", in}, exitUsage},
			struct {
				name string
				args []string
				want int
			}{"verify " + in, []string{"verify", "--key", pub, in}, exitUsage},
			struct {
				name string
				args []string
				want int
			}{"sign " + in, []string{"sign", "--key", priv, "-o", "-", in}, exitUsage},
			struct {
				name string
				args []string
				want int
			}{"sever " + in, []string{"sever", "-o", "-", in}, exitUsage},
			struct {
				name string
				args []string
				want int
			}{"sim run " + in, simRun(in), exitUsage},
		)
	}
	for _, in := range []string{"bad.der", "junk.bin", "truncated.suit"} {
		cases = append(cases,
			struct {
				name string
				args []string
				want int
			}{"cms verify " + in, []string{"cms", "verify", "--trust", pub, in}, exitUsage},
			struct {
				name string
				args []string
				want int
			}{"cms show " + in, []string{"cms", "show", in}, exitUsage},
		)
	}
	for _, c := range cases {
		got, stderr := runSuit(t, dir, nil, c.args...)
		if got != c.want {
			t.Errorf("suit %s: exit %d, want %d (%s)\n%s", strings.Join(c.args, " "), got, c.want, c.name, stderr)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "exists.out")); string(b) != "keep me" {
		t.Errorf("an existing output file was changed: %q", b)
	}
}
