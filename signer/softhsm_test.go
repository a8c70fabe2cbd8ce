package signer

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	testSOPIN   = "so-secret-83920175"
	testUserPIN = "user-pin-5829301746"
)

// softhsm is the SoftHSM2 installation the package's tests share: one configuration and token
// directory for the whole test binary (SoftHSM2 reads SOFTHSM2_CONF once per process, at its
// first C_Initialize), created in a temporary directory that TestMain removes. Each test makes
// its own tokens with its own labels.
type softhsm struct {
	module string
	conf   string
	dir    string // the test's own scratch directory (PIN files)
	tokens string
}

var (
	hsmOnce sync.Once
	hsmRoot string
	hsmConf string
	hsmErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if hsmRoot != "" {
		os.RemoveAll(hsmRoot)
	}
	os.Exit(code)
}

// newSoftHSM returns the shared SoftHSM2 setup. The test fails (it does not skip) when softhsm2
// is missing: `make test` installs it (scripts/install-deps.sh).
func newSoftHSM(t testing.TB) *softhsm {
	t.Helper()
	mod, err := SoftHSMModule()
	if err != nil {
		t.Fatalf("%v: the PKCS#11 tests need a real SoftHSM2 token; run scripts/install-deps.sh or apt-get install softhsm2", err)
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		t.Fatalf("softhsm2-util not found: install softhsm2 (scripts/install-deps.sh)")
	}
	hsmOnce.Do(func() {
		hsmRoot, hsmErr = os.MkdirTemp("", "suit-signer-softhsm")
		if hsmErr != nil {
			return
		}
		tokens := filepath.Join(hsmRoot, "tokens")
		if hsmErr = os.MkdirAll(tokens, 0o700); hsmErr != nil {
			return
		}
		hsmConf = filepath.Join(hsmRoot, "softhsm2.conf")
		hsmErr = os.WriteFile(hsmConf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"), 0o600)
		os.Setenv("SOFTHSM2_CONF", hsmConf)
	})
	if hsmErr != nil {
		t.Fatal(hsmErr)
	}
	t.Cleanup(func() {
		modulesMu.Lock()
		defer modulesMu.Unlock()
		for p, m := range modules {
			t.Errorf("module %s still open with %d references at the end of the test", p, m.refs)
		}
	})
	return &softhsm{module: mod, conf: hsmConf, dir: t.TempDir(), tokens: filepath.Join(hsmRoot, "tokens")}
}

// initToken creates a token with softhsm2-util, as a user would.
func (h *softhsm) initToken(t testing.TB, label string) {
	t.Helper()
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", testSOPIN, "--pin", testUserPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+h.conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
}

// pinFile writes the user PIN to a 0600 file and returns a pin-source value for it.
func (h *softhsm) pinFile(t testing.TB, pin string) string {
	t.Helper()
	p := filepath.Join(h.dir, "pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file:" + p
}

func (h *softhsm) uri(token, object string, pinSource string) string {
	u := &URI{Token: token, Object: object, ModulePath: h.module, PINSource: pinSource}
	return u.String()
}

// lockUserPIN sets CKF_USER_PIN_LOCKED in the token's stored flags (SoftHSM2 keeps them in the
// CKA_OS_TOKENFLAGS attribute, 0x8000534b, of token.object), so that the real token reports a
// locked PIN as a hardware token does after too many wrong attempts.
func (h *softhsm) lockUserPIN(t testing.TB, label string) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(h.tokens, "*", "token.object"))
	var b []byte
	padded := []byte(label + strings.Repeat(" ", 32-len(label)))
	for _, m := range matches {
		c, err := os.ReadFile(m)
		if err == nil && bytes.Contains(c, padded) {
			b, matches = c, []string{m}
			break
		}
	}
	if b == nil {
		t.Fatalf("token %q not found among %v", label, matches)
	}
	hdr := []byte{0, 0, 0, 0, 0x80, 0, 0x53, 0x4b, 0, 0, 0, 0, 0, 0, 0, 2}
	i := bytes.Index(b, hdr)
	if i < 0 || len(b) < i+len(hdr)+8 {
		t.Fatalf("token flags attribute not found in %s", matches[0])
	}
	off := i + len(hdr)
	flags := binary.BigEndian.Uint64(b[off:])
	binary.BigEndian.PutUint64(b[off:], flags|0x00040000)
	if err := os.WriteFile(matches[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
}
