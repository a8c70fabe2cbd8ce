package signer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 9 item 10: pin-value (and any attribute that looks like a secret) is refused in the path
// as in the query, and no message ever carries its value.
func TestURISecretAttributesRefused(t *testing.T) {
	const secret = "s3cr3t-4711"
	for _, uri := range []string{
		"pkcs11:token=t;object=o;pin-value=" + secret,
		"pkcs11:token=t;PIN-VALUE=" + secret + ";object=o",
		"pkcs11:token=t;object=o?pin-value=" + secret + "&module-path=/x.so",
		"pkcs11:token=t;object=o?module-path=/x.so&Pin-Value=" + secret,
		"pkcs11:token=t;object=o;x-pin=" + secret,
		"pkcs11:token=t;object=o?x-password=" + secret,
		"pkcs11:token=t;object=o;passphrase=" + secret,
		"pkcs11:token=t;object=o?so-pin=" + secret,
		"pkcs11:token=t;object=o;pin-value%3D" + secret, // no "=": malformed, still not echoed
		"pkcs11:token=t;object=o;" + secret + "pin-value" + secret,
		"pkcs11:token=t;object=o?" + secret + secret + secret,
	} {
		u, err := ParseURI(uri)
		if err == nil {
			t.Errorf("%s: accepted as %s", uri, u.PathString())
			continue
		}
		if !errors.Is(err, ErrBadURI) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v", uri, err)
		}
		for _, load := range []func() error{
			func() error { _, err := LoadPrivate(uri, LoadOptions{}); return err },
			func() error { _, err := OpenSession(uri, LoadOptions{}); return err },
		} {
			if err := load(); err == nil || strings.Contains(err.Error(), secret) {
				t.Errorf("%s: load: %v", uri, err)
			}
		}
	}
	// pin-source is a file name, not a secret: accepted.
	if _, err := ParseURI("pkcs11:token=t?pin-source=file:/run/pin"); err != nil {
		t.Error(err)
	}
}

// A pin-source file that group or others can read draws one warning (per file), never with the PIN.
func TestPINSourcePermissionWarning(t *testing.T) {
	h := newSoftHSM(t)
	s := openTestSession(t, h, "perm")
	if _, err := s.Generate(P256, "fw", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(testUserPIN+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	var warnings []string
	opts := LoadOptions{Warn: func(msg string) { warnings = append(warnings, msg) }}
	for range 2 {
		k, err := LoadPrivate(h.uri("perm", "fw", "file:"+p), opts)
		if err != nil {
			t.Fatal(err)
		}
		CloseKey(k)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "readable by") || !strings.Contains(warnings[0], "chmod 600") || strings.Contains(warnings[0], testUserPIN) {
		t.Fatalf("warnings: %q", warnings)
	}
	// A 0600 file: no warning.
	warnings = nil
	k, err := LoadPrivate(h.uri("perm", "fw", h.pinFile(t, testUserPIN)), opts)
	if err != nil {
		t.Fatal(err)
	}
	CloseKey(k)
	if len(warnings) != 0 {
		t.Fatalf("0600 pin file: %q", warnings)
	}
}
