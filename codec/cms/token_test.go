package cms

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/signer"
)

// A package signed inside a real SoftHSM2 token (P-256 and RSA keys, sensitive and not
// extractable) with a self-signed certificate made by the same token key: OpenSSL accepts it.
func TestTokenKeyPackageOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	mod, err := signer.SoftHSMModule()
	if err != nil {
		t.Fatalf("%v: this test needs a real SoftHSM2 token (scripts/install-deps.sh installs softhsm2)", err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tokens"), 0o700)
	conf := filepath.Join(dir, "softhsm2.conf")
	os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	t.Setenv("SOFTHSM2_CONF", conf)
	m, err := signer.OpenModule(mod)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.InitToken("cms", "so-pin-1234", "user-pin-1234"); err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(dir, "pin")
	os.WriteFile(pin, []byte("user-pin-1234"), 0o600)
	uri := (&signer.URI{Token: "cms", ModulePath: mod, PINSource: "file:" + pin}).String()
	s, err := signer.OpenSession(uri, signer.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fw := testFirmware(50 << 10)
	for _, kt := range []signer.KeyType{signer.P256, signer.RSA3072} {
		ki, err := s.Generate(kt, "cms-"+kt.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.Key(ki.Label, ki.ID)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := SelfSignedCertificate(k, "token key "+kt.String(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pkg, err := Create(fw, fullAttrs(), k, SignOptions{Certificate: cert})
		if err != nil {
			t.Fatal(err)
		}
		got, err := opensslVerify(t, pkg, cert)
		if err != nil {
			t.Fatalf("%v: openssl rejects the token-signed package:\n%s", kt, err)
		}
		if !bytes.Equal(got, fw) {
			t.Fatalf("%v: firmware differs", kt)
		}
	}
}
