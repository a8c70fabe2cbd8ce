package signer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DevTokenLabel is the label of the local development token. It says what it is: a token in
// files on this computer, for trying the HSM workflow, never for production keys.
const DevTokenLabel = "SUIT Studio development token"

// DevKeyLabel is the label of the development token's P-256 signing key.
const DevKeyLabel = "SUIT development key (P-256)"

// DevToken is a SoftHSM2 token created for development.
type DevToken struct {
	URI     string // pkcs11: URI of the signing key, with module-path, pin-source and x-softhsm2-conf
	PINFile string // 0600 file holding the user PIN
	Conf    string // the token's own SOFTHSM2_CONF
	Module  string
	Created bool // false when the token already existed
}

// DefaultDevTokenDir is $XDG_DATA_HOME/suit-studio/softhsm (~/.local/share/suit-studio/softhsm).
func DefaultDevTokenDir(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "suit-studio", "softhsm")
}

// EnsureDevToken returns the development token in dir, creating it when missing: a SoftHSM2
// configuration (dir/softhsm2.conf, tokens in dir/tokens), a token labelled DevTokenLabel with
// a random user PIN stored in dir/user.pin (0600) and a random security officer PIN that is not
// kept (a development token is re-created, not administered), and a P-256 key pair
// labelled DevKeyLabel, sensitive and not extractable. It needs softhsm2 installed.
func EnsureDevToken(dir string) (*DevToken, error) {
	mod, err := SoftHSMModule()
	if err != nil {
		return nil, &KeyError{Step: "development token", Err: err}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		return nil, &KeyError{Ref: dir, Step: "development token", Err: err}
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if _, err := os.Stat(conf); errors.Is(err, fs.ErrNotExist) {
		body := "# SoftHSM2 configuration of the SUIT Studio DEVELOPMENT token. Not for production keys.\n" +
			"directories.tokendir = " + filepath.Join(dir, "tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
		if err := writeNewFile(conf, []byte(body), 0o600); err != nil && !errors.Is(err, ErrExists) {
			return nil, &KeyError{Ref: conf, Step: "development token", Err: err}
		}
	}
	pinFile := filepath.Join(dir, "user.pin")
	dt := &DevToken{PINFile: pinFile, Conf: conf, Module: mod}
	u := &URI{Token: DevTokenLabel, Object: DevKeyLabel, ModulePath: mod, PINSource: "file:" + pinFile, SoftHSMConf: conf}

	m, err := openModule(mod, conf)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	toks, err := m.Tokens()
	if err != nil {
		return nil, err
	}
	exists := false
	for _, t := range toks {
		if t.Initialized && t.Label == DevTokenLabel {
			exists = true
		}
	}
	if !exists {
		pin, so := randomPIN(), randomPIN()
		if err := writeFileAtomic(pinFile, []byte(pin+"\n"), 0o600); err != nil {
			return nil, &KeyError{Ref: pinFile, Step: "development token", Err: err}
		}
		if _, err := m.InitToken(DevTokenLabel, so, pin); err != nil {
			return nil, err
		}
		dt.Created = true
	}
	s, err := openSessionURI(u, LoadOptions{Getenv: func(string) string { return "" }})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	keys, err := s.Keys()
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Label == DevKeyLabel && k.HasPrivate {
			u.ID = k.ID
			dt.URI = u.String()
			return dt, nil
		}
	}
	ki, err := s.Generate(P256, DevKeyLabel, nil)
	if err != nil {
		return nil, err
	}
	u.ID = ki.ID
	dt.URI = u.String()
	return dt, nil
}

func randomPIN() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
