package signer

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestTrustStore(t *testing.T) {
	ts := TrustStore{Dir: filepath.Join(t.TempDir(), "trust")}
	if keys, err := ts.List(); err != nil || len(keys) != 0 {
		t.Fatalf("empty store: %v %v", keys, err)
	}
	official, err := LoadPublic(filepath.Join(vectors(t), "public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := ts.Add("suit-examples", official)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Algorithm != AlgES256 || tk.Kind != "P-256" {
		t.Errorf("added %+v", tk)
	}
	if _, err := ts.Add("again", official); !errors.Is(err, ErrExists) {
		t.Errorf("same key twice: %v", err)
	}
	if _, err := ts.Add("../evil", official); !errors.Is(err, ErrBadName) {
		t.Errorf("path in name: %v", err)
	}
	p := filepath.Join(t.TempDir(), "ed.pem")
	GenerateFile(p, Ed25519)
	edPub, _ := LoadPublic(p)
	if _, err := ts.Add("suit-examples", edPub); !errors.Is(err, ErrExists) {
		t.Errorf("name in use: %v", err)
	}
	ed, err := ts.Add("ed", edPub)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ts.List()
	if err != nil || len(keys) != 2 || keys[0].Name != "ed" || keys[1].Name != "suit-examples" {
		t.Fatalf("List = %+v %v", keys, err)
	}
	if err := ts.Remove(hex.EncodeToString(ed.KeyID)); err != nil {
		t.Fatalf("remove by kid: %v", err)
	}
	if err := ts.Remove("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove missing: %v", err)
	}
	if err := ts.Remove("suit-examples"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := ts.List(); len(keys) != 0 {
		t.Errorf("after remove: %+v", keys)
	}
	// A broken file is reported by name.
	os.WriteFile(filepath.Join(ts.Dir, "broken.pem"), []byte("junk"), 0o644)
	if _, err := ts.List(); err == nil {
		t.Errorf("broken file accepted")
	}
	if d := DefaultTrustDir(func(k string) string { return map[string]string{"XDG_CONFIG_HOME": "/x"}[k] }); d != "/x/suit-studio/trust" {
		t.Errorf("default dir %s", d)
	}
}

func TestDevToken(t *testing.T) {
	h := newSoftHSM(t)
	// The development token lives in the tests' shared SoftHSM2 directory (SoftHSM2 reads one
	// configuration per process); its layout is the same as the default one.
	dir := filepath.Dir(h.conf)
	dt, err := EnsureDevToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !dt.Created {
		t.Errorf("first call did not create the token")
	}
	st, err := os.Stat(dt.PINFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("PIN file: %v %v", st, err)
	}
	dt2, err := EnsureDevToken(dir)
	if err != nil || dt2.Created || dt2.URI != dt.URI {
		t.Fatalf("second call: %+v %v", dt2, err)
	}
	u, err := ParseURI(dt.URI)
	if err != nil || u.Token != DevTokenLabel || u.SoftHSMConf != h.conf {
		t.Fatalf("URI %s: %v", dt.URI, err)
	}
	k, err := LoadSigner(dt.URI, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer CloseKey(k)
	if k.Algorithm() != AlgES256 {
		t.Errorf("alg %d", k.Algorithm())
	}
	msg := []byte("demo")
	verifySig(t, k.Public(), msg, signMsg(t, k, msg), false)
	if d := DefaultDevTokenDir(func(k string) string { return map[string]string{"XDG_DATA_HOME": "/d"}[k] }); d != "/d/suit-studio/softhsm" {
		t.Errorf("default dir %s", d)
	}
}
