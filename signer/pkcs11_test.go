package signer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
)

// openTestSession creates a token and opens a logged-in session on it.
func openTestSession(t *testing.T, h *softhsm, label string) *Session {
	t.Helper()
	h.initToken(t, label)
	s, err := OpenSession(h.uri(label, "", h.pinFile(t, testUserPIN)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPKCS11GenerateSignEachType(t *testing.T) {
	h := newSoftHSM(t)
	s := openTestSession(t, h, "dev")
	for _, kt := range []KeyType{P256, P384, Ed25519, RSA3072} {
		t.Run(kt.String(), func(t *testing.T) {
			ki, err := s.Generate(kt, "fw-"+kt.String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if ki.Kind != kt.String() {
				t.Errorf("kind %q, want %q", ki.Kind, kt.String())
			}
			// The CKA_ID is the file convention's kid.
			kid, _ := PublicKeyID(ki.Public)
			if !bytes.Equal(ki.ID, kid) {
				t.Errorf("CKA_ID %x, want kid %x", ki.ID, kid)
			}
			// The private key is sensitive and not extractable: CKA_VALUE cannot be read.
			err = s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
				hs, err := findAll(ctx, sh, []*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
					pkcs11.NewAttribute(pkcs11.CKA_ID, ki.ID),
				})
				if err != nil || len(hs) != 1 {
					t.Fatalf("find private: %v %d", err, len(hs))
				}
				a, err := ctx.GetAttributeValue(sh, hs[0], []*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
					pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
				})
				if err != nil {
					return err
				}
				if a[0].Value[0] != 1 || a[1].Value[0] != 0 {
					t.Errorf("sensitive=%v extractable=%v", a[0].Value, a[1].Value)
				}
				if _, err := ctx.GetAttributeValue(sh, hs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)}); err == nil {
					t.Errorf("CKA_VALUE of a sensitive key was readable")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Sign through LoadPrivate with the key's URI and verify with the exported public key.
			u, _ := ParseURI(ki.URI)
			u.PINSource = h.pinFile(t, testUserPIN)
			k, err := LoadSigner(u.String(), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer CloseKey(k)
			if !bytes.Equal(k.KeyID(), ki.ID) {
				t.Errorf("KeyID %x, want CKA_ID %x", k.KeyID(), ki.ID)
			}
			if !strings.HasPrefix(k.Description(), "pkcs11 token=dev;object=fw-") || !strings.Contains(k.Description(), kt.String()) {
				t.Errorf("description %q", k.Description())
			}
			msg := []byte("SUIT_Digest bytes to sign")
			pemb, err := PublicPEM(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			exported, err := ParsePublic(pemb)
			if err != nil {
				t.Fatal(err)
			}
			verifySig(t, exported, msg, signMsg(t, k, msg), kt == RSA3072)
			if kt == RSA3072 {
				// PKCS#1 v1.5 too (CMS uses it).
				d := sha256sum(msg)
				sig, err := k.Sign(nil, d, cryptoSHA256)
				if err != nil {
					t.Fatal(err)
				}
				verifySig(t, exported, msg, sig, false)
			}
		})
	}
	keys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("Keys() = %d keys, want 4: %+v", len(keys), keys)
	}
	if err := s.Delete("fw-P-384", nil); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.Keys(); len(keys) != 3 {
		t.Errorf("after Delete: %d keys", len(keys))
	}
	if _, err := s.Generate(P256, "fw-P-256", nil); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate label: %v", err)
	}
}

func TestPKCS11PINSources(t *testing.T) {
	h := newSoftHSM(t)
	s := openTestSession(t, h, "pins")
	if _, err := s.Generate(P256, "fw", nil); err != nil {
		t.Fatal(err)
	}
	// Log out (the last session closes) so that every load below has to log in again.
	s.Close()
	noPIN := h.uri("pins", "fw", "")
	// Environment variable.
	env := func(k string) string {
		if k == "SUIT_PKCS11_PIN" {
			return testUserPIN
		}
		return ""
	}
	k, err := LoadPrivate(noPIN, LoadOptions{Getenv: env})
	if err != nil {
		t.Fatalf("SUIT_PKCS11_PIN: %v", err)
	}
	CloseKey(k)
	// Prompt callback, right on the second try.
	calls := 0
	prompt := PINFunc(func(ctx context.Context, req PINRequest) (string, error) {
		calls++
		if req.Token != "pins" || req.Retry != (calls > 1) {
			t.Errorf("PIN request %+v on call %d", req, calls)
		}
		if calls == 1 {
			return "wrong-1111", nil
		}
		return testUserPIN, nil
	})
	k, err = LoadPrivate(noPIN, LoadOptions{Getenv: func(string) string { return "" }, PIN: prompt})
	if err != nil || calls != 2 {
		t.Fatalf("prompt: %v after %d calls", err, calls)
	}
	CloseKey(k)
	// No PIN anywhere.
	_, err = LoadPrivate(noPIN, LoadOptions{Getenv: func(string) string { return "" }})
	if !errors.Is(err, ErrNoPIN) || !strings.Contains(err.Error(), "pin-source") {
		t.Errorf("no PIN: %v", err)
	}
	// pin-value is refused without echoing the PIN.
	_, err = LoadPrivate(noPIN+"&pin-value="+testUserPIN, LoadOptions{})
	if !errors.Is(err, ErrBadURI) || strings.Contains(err.Error(), testUserPIN) {
		t.Errorf("pin-value: %v", err)
	}
}

// Every failure names what went wrong, and the PIN appears in no error and no file.
func TestPKCS11Errors(t *testing.T) {
	h := newSoftHSM(t)
	s := openTestSession(t, h, "errs")
	if _, err := s.Generate(P256, "fw", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Generate(Ed25519, "ed", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	good := h.pinFile(t, testUserPIN)
	wrongPIN := "9876-wrong-pin-4321"
	wrongFile := filepath.Join(h.dir, "wrongpin")
	os.WriteFile(wrongFile, []byte(wrongPIN), 0o600)
	notLib := filepath.Join(h.dir, "notalib.so")
	os.WriteFile(notLib, []byte("not an ELF"), 0o600)

	cases := []struct {
		name string
		ref  string
		opts LoadOptions
		want error
		text string
	}{
		{"wrong PIN from file", h.uri("errs", "fw", "file:"+wrongFile), LoadOptions{}, ErrPINIncorrect, "PIN incorrect"},
		{"wrong PIN from env", h.uri("errs", "fw", ""), LoadOptions{Getenv: func(k string) string { return wrongPIN }}, ErrPINIncorrect, "SUIT_PKCS11_PIN"},
		{"wrong PIN from prompt", h.uri("errs", "fw", ""), LoadOptions{Getenv: func(string) string { return "" }, PIN: PINFunc(func(context.Context, PINRequest) (string, error) { return wrongPIN, nil })}, ErrPINIncorrect, "prompt"},
		{"missing module", (&URI{Token: "errs", Object: "fw", ModulePath: "/nonexistent/libnothing.so", PINSource: good}).String(), LoadOptions{}, ErrModule, "/nonexistent/libnothing.so"},
		{"module not loadable", (&URI{Token: "errs", Object: "fw", ModulePath: notLib, PINSource: good}).String(), LoadOptions{}, ErrModule, "not a loadable PKCS#11 library"},
		{"no module", "pkcs11:token=errs;object=fw", LoadOptions{Getenv: func(string) string { return "" }}, ErrModule, "SUIT_PKCS11_MODULE"},
		{"token not found", h.uri("nosuch", "fw", good), LoadOptions{}, ErrTokenNotFound, `"errs"`},
		{"key not found", h.uri("errs", "nokey", good), LoadOptions{}, ErrNotFound, "object=fw;id="},
		{"public key type", h.uri("errs", "fw", good) + "", LoadOptions{}, nil, ""},
		{"wrong algorithm", h.uri("errs", "ed", good), LoadOptions{Algorithm: AlgES256}, ErrWrongKeyType, "EdDSA"},
		{"type=public", strings.Replace(h.uri("errs", "fw", good), "object=fw", "object=fw;type=public", 1), LoadOptions{}, ErrWrongKeyType, "type=public"},
		{"pin-source not a file", h.uri("errs", "fw", "env:FOO"), LoadOptions{}, ErrNoPIN, "only file:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := LoadPrivate(c.ref, c.opts)
			if c.want == nil {
				if err != nil {
					t.Fatalf("want success: %v", err)
				}
				CloseKey(k)
				return
			}
			if err == nil {
				CloseKey(k)
				t.Fatalf("want %v, got success", c.want)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %q is not %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q does not say %q", err, c.text)
			}
			for _, secret := range []string{testUserPIN, wrongPIN, testSOPIN} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals a PIN: %q", err)
				}
			}
		})
	}
	// The token's files hold no PIN in clear.
	filepath.WalkDir(h.tokens, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			for _, secret := range []string{testUserPIN, wrongPIN, testSOPIN} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s contains a PIN", p)
				}
			}
		}
		return nil
	})
}

func TestPKCS11LockedToken(t *testing.T) {
	h := newSoftHSM(t)
	h.initToken(t, "locked")
	h.lockUserPIN(t, "locked")
	_, err := LoadPrivate(h.uri("locked", "fw", h.pinFile(t, testUserPIN)), LoadOptions{})
	if !errors.Is(err, ErrPINLocked) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("locked token: %v", err)
	}
	if strings.Contains(err.Error(), testUserPIN) {
		t.Errorf("error reveals the PIN")
	}
	mod, err := OpenModule(h.module)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	toks, err := mod.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tk := range toks {
		if tk.Label == "locked" {
			found = tk.PINLocked
		}
	}
	if !found {
		t.Errorf("Tokens() does not report the locked PIN: %+v", toks)
	}
}

func TestPKCS11InitTokenAndModuleCache(t *testing.T) {
	h := newSoftHSM(t)
	m1, err := OpenModule(h.module)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := OpenModule(h.module)
	if err != nil {
		t.Fatal(err)
	}
	if m1 != m2 {
		t.Errorf("module not cached per path")
	}
	ti, err := m1.InitToken("made-by-pkcs11", testSOPIN, testUserPIN)
	if err != nil {
		t.Fatal(err)
	}
	if !ti.Initialized || ti.Label != "made-by-pkcs11" {
		t.Errorf("token %+v", ti)
	}
	if _, err := m1.InitToken("made-by-pkcs11", testSOPIN, testUserPIN); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate label: %v", err)
	}
	m2.Close()
	s, err := OpenSession(h.uri("made-by-pkcs11", "", h.pinFile(t, testUserPIN)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Generate(P256, "k", nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	m1.Close()
}

func TestURIRoundTrip(t *testing.T) {
	cases := []string{
		"pkcs11:token=dev;object=fw;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/path/pin",
		"pkcs11:token=My%20Token;object=a%3Bb;type=private;id=%DE%AD",
		"pkcs11:serial=123;slot-id=7;x-vendor=v",
		"pkcs11:",
	}
	for _, c := range cases {
		u, err := ParseURI(c)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if got := u.String(); got != c {
			t.Errorf("round trip\n got %s\nwant %s", got, c)
		}
	}
	u, _ := ParseURI(cases[0])
	if u.Token != "dev" || u.Object != "fw" || !bytes.Equal(u.ID, []byte{1}) || u.ModulePath != "/usr/lib/softhsm/libsofthsm2.so" || u.PINSource != "file:/path/pin" {
		t.Errorf("parsed %+v", u)
	}
	for _, bad := range []string{"pkcs12:x", "pkcs11:token", "pkcs11:id=%zz", "pkcs11:id=%0", "pkcs11:token=a;token=b", "pkcs11:slot-id=x", "pkcs11:type=weird"} {
		if _, err := ParseURI(bad); !errors.Is(err, ErrBadURI) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
