package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

func trustedNames(m *KeyManager) []string {
	var out []string
	for _, k := range m.trusted {
		out = append(out, k.Name)
	}
	return out
}

// The inspector, the Keys tab and `suit verify` share one trust store: a key trusted from the
// inspector is in the Keys tab's list and in the store's folder (where suit verify looks), one
// trusted from the Keys tab verifies in the inspector, and removing it anywhere removes it
// everywhere.
func TestOneTrustStore(t *testing.T) {
	s := newTestStudio(t)
	b, err := os.ReadFile(filepath.Join(vectors, "example2.hex"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := app.DecodeHexText(b)
	s.ShowView(ViewInspector)
	s.Wait()
	s.inspector.Inspect(data, "example2")
	s.Wait()
	if !strings.HasPrefix(s.inspector.verdictTitle, "Not verified") {
		t.Fatalf("verdict with an empty trust store: %q", s.inspector.verdictTitle)
	}

	// Trusted from the inspector.
	s.AddTrustedKey(filepath.Join(vectors, "public_key.pem"))
	s.Wait()
	if !strings.HasPrefix(s.inspector.verdictTitle, "Authentic") {
		t.Fatalf("verdict after trusting the key: %q", s.inspector.verdictTitle)
	}
	if got := trustedNames(s.keys); len(got) != 1 || got[0] != "public_key" {
		t.Fatalf("the Keys tab lists %v", got)
	}
	list, err := signer.TrustStore{Dir: s.TrustDir}.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("the trust store folder holds %v (%v)", list, err)
	}
	// Trusting the same key again (another file of it) adds nothing.
	s.AddTrustedKey(filepath.Join(vectors, "public_key.pem"))
	s.Wait()
	if len(s.TrustedKeys) != 1 {
		t.Fatalf("trusted twice: %v", s.TrustedKeys)
	}

	// Removed from the Keys tab: the inspector no longer verifies.
	s.keys.RemoveTrusted("public_key")
	s.keys.Wait()
	s.Wait()
	if len(s.TrustedKeys) != 0 || !strings.HasPrefix(s.inspector.verdictTitle, "Not verified") {
		t.Fatalf("after removal from the Keys tab: keys %v, verdict %q", s.TrustedKeys, s.inspector.verdictTitle)
	}

	// Trusted from the Keys tab (its import), removed from the inspector's list.
	pub, err := signer.LoadPublic(filepath.Join(vectors, "public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (signer.TrustStore{Dir: s.TrustDir}).Add("release", pub); err != nil {
		t.Fatal(err)
	}
	s.keys.refreshTrust(true)
	s.keys.Wait()
	s.Wait()
	if len(s.TrustedKeys) != 1 || !strings.HasPrefix(s.inspector.verdictTitle, "Authentic") {
		t.Fatalf("a key trusted in the Keys tab: inspector keys %v, verdict %q", s.TrustedKeys, s.inspector.verdictTitle)
	}
	if !strings.Contains(canvasText(s.inspector.keys), "release") {
		t.Error("the inspector does not list the key")
	}
	s.RemoveTrustedKey(s.TrustedKeys[0])
	s.Wait()
	s.keys.Wait()
	if len(trustedNames(s.keys)) != 0 {
		t.Fatalf("the Keys tab still lists %v", trustedNames(s.keys))
	}
}

// A fresh studio's trust store is suit verify's default ($XDG_CONFIG_HOME/suit-studio/trust),
// and the key files of the inspector's old list move into it.
func TestTrustStoreIsTheCLIsAndOldListMoves(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	a := test.NewTempApp(t)
	a.Preferences().SetStringList(prefTrustedKeys, []string{filepath.Join(vectors, "public_key.pem"), "/no/such/key.pem"})
	s := New(a, &app.State{Dir: t.TempDir()})
	s.Wait()
	if want := filepath.Join(cfg, "suit-studio", "trust"); s.TrustDir != want || s.TrustDir != signer.DefaultTrustDir(nil) {
		t.Fatalf("trust store %s, want %s", s.TrustDir, want)
	}
	if len(s.TrustedKeys) != 1 || filepath.Dir(s.TrustedKeys[0]) != s.TrustDir {
		t.Fatalf("after moving the old list: %v", s.TrustedKeys)
	}
	if len(a.Preferences().StringList(prefTrustedKeys)) != 0 {
		t.Error("the old list is kept")
	}
	if got := trustedNames(s.keys); len(got) != 1 {
		t.Errorf("the Keys tab lists %v", got)
	}
}

// Two different keys in files of the same name are both trusted (the second under a numbered
// name); the same key twice is trusted once.
func TestTrustAddFileNames(t *testing.T) {
	dir := t.TempDir()
	first, err := trustAddFile(dir, filepath.Join(vectors, "public_key.pem"))
	if err != nil || first != "public_key" {
		t.Fatalf("first: %q %v", first, err)
	}
	other := filepath.Join(t.TempDir(), "public_key.pem")
	if err := signer.GenerateFile(other, signer.P256); err != nil {
		t.Fatal(err)
	}
	second, err := trustAddFile(dir, other)
	if err != nil || second != "public_key-2" {
		t.Fatalf("second: %q %v", second, err)
	}
	again, err := trustAddFile(dir, other)
	if err != nil || again != "public_key-2" {
		t.Fatalf("again: %q %v", again, err)
	}
	if list, _ := (signer.TrustStore{Dir: dir}).List(); len(list) != 2 {
		t.Fatalf("%d keys trusted", len(list))
	}
}
