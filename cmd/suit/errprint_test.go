package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func runCapture(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = runMain(env, args)
	return code, out.String(), errb.String()
}

// Issue 9 item 11: a file name cannot forge a line of the CLI's messages, and a file that is not a
// source is not printed back.
func TestErrorMessagesCannotForgeLines(t *testing.T) {
	dir := t.TempDir()
	forged := filepath.Join(dir, "a\nsuit: error: forged\rsuit: hint: \x1b[2Kforged\u2028suit: error: forged\xff")
	if err := os.WriteFile(forged, []byte("not cbor at all, not hex"), 0o600); err != nil {
		t.Fatal(err)
	}
	shadow := filepath.Join(dir, "shadow\n")
	if err := os.WriteFile(shadow, []byte("root:$6$saltsalt$HASHHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"show", forged},
		{"verify", "--key", forged, forged},
		{"sign", "--key", forged, "-o", filepath.Join(dir, "x"), forged},
		{"create", "-o", filepath.Join(dir, "y"), forged},
		{"create", "-o", filepath.Join(dir, "z"), shadow},
		{"show", shadow},
		{"verify", "--key", shadow, shadow},
	} {
		code, _, stderr := runCapture(t, args...)
		if code == 0 {
			t.Errorf("%q: exit 0", args)
		}
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		errors := 0
		for _, l := range lines {
			if !strings.HasPrefix(l, "suit: error: ") && !strings.HasPrefix(l, "suit: hint: ") {
				t.Errorf("%q: a line that is not a message: %q", args, l)
			}
			if strings.HasPrefix(l, "suit: error: ") {
				errors++
			}
			if strings.ContainsAny(l, "\r\x1b\u2028") || !utf8.ValidString(l) {
				t.Errorf("%q: a control character in %q", args, l)
			}
		}
		if errors != 1 {
			t.Errorf("%q: %d error lines: %q", args, errors, stderr)
		}
		for _, s := range []string{"saltsalt", "HASHHASH", "19000", "daemon"} {
			if strings.Contains(stderr, s) {
				t.Errorf("%q: the message echoes the file's content (%q): %q", args, s, stderr)
			}
		}
	}
}
