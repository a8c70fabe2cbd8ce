package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

// The studio has one trust store: the directory of signer.TrustStore (by default
// $XDG_CONFIG_HOME/suit-studio/trust), which the inspector verifies against, the Keys tab shows
// and edits, and `suit verify` uses when no --key is given. Studio.TrustedKeys mirrors its files.

// prefTrustedKeys is where studios before the shared trust store kept the inspector's own list
// of key files; they are moved into the trust store once.
const prefTrustedKeys = "trusted-keys"

// trustStore is the studio's trust store.
func (s *Studio) trustStore() signer.TrustStore { return signer.TrustStore{Dir: s.TrustDir} }

// loadTrusted reads the trust store's key files into TrustedKeys (small local files).
func (s *Studio) loadTrusted() error {
	list, err := s.trustStore().List()
	paths := make([]string, len(list))
	for i, k := range list {
		paths[i] = k.Path
	}
	s.TrustedKeys = paths
	return err
}

// trustChanged follows a change of the trust store: the list, the inspector's verdict and the
// Keys tab.
func (s *Studio) trustChanged() {
	if err := s.loadTrusted(); err != nil {
		s.inspector.trustErr = err
	} else {
		s.inspector.trustErr = nil
	}
	s.inspector.verify()
	if s.keys != nil {
		s.keys.refreshTrust(false)
	}
}

// useTrustDir makes dir the studio's trust store (tests).
func (s *Studio) useTrustDir(dir string) {
	s.TrustDir = dir
	if s.keys != nil {
		s.keys.opts.TrustDir = dir
	}
	s.trustChanged()
}

// AddTrustedKey adds the public key in a file (PEM public key, certificate, or a private key
// file whose public half is used) to the trust store, under the file's name (made unique).
func (s *Studio) AddTrustedKey(path string) {
	dir := s.TrustDir
	s.background(func() func() {
		name, err := trustAddFile(dir, path)
		return func() {
			if err != nil {
				s.showError("Cannot trust this key", &app.FileError{Op: "add to the trust store", Path: path, Err: err,
					Hint: "choose the signer's PEM public key (or certificate)"})
				return
			}
			s.inspector.trustNote = fmt.Sprintf("Trusted as %q in %s.", name, dir)
			s.trustChanged()
		}
	})
}

// trustAddFile adds the key in path to the store in dir and returns its name there. A key that
// is already trusted (under any name) is not added again; a name taken by another key gets a
// number.
func trustAddFile(dir, path string) (string, error) {
	pub, _, err := app.PublicKeyOf(context.Background(), path, signer.LoadOptions{})
	if err != nil {
		return "", err
	}
	pemb, err := signer.PublicPEM(pub)
	if err != nil {
		return "", err
	}
	ts := signer.TrustStore{Dir: dir}
	list, err := ts.List()
	if err != nil {
		return "", err
	}
	for _, k := range list {
		if kp, err := signer.PublicPEM(k.Public); err == nil && bytes.Equal(kp, pemb) {
			return k.Name, nil
		}
	}
	base := keyFileName(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	for i := 1; i < 100; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		tk, err := ts.Add(name, pub)
		switch {
		case err == nil:
			return tk.Name, nil
		case errors.Is(err, signer.ErrExists):
			continue // the name is taken by another key
		default:
			return "", err
		}
	}
	return "", fmt.Errorf("too many trusted keys named %s", base)
}

// RemoveTrustedKey removes the key whose file is path from the trust store.
func (s *Studio) RemoveTrustedKey(path string) {
	ts := s.trustStore()
	s.background(func() func() {
		name := strings.TrimSuffix(filepath.Base(path), ".pem")
		err := ts.Remove(name)
		return func() {
			if err != nil {
				s.showError("Cannot remove the trusted key", err)
				return
			}
			s.inspector.trustNote = fmt.Sprintf("%q is no longer trusted.", name)
			s.trustChanged()
		}
	})
}

// migrateTrustedKeys moves the key files of the old inspector-only list into the trust store
// (once; files that cannot be read any more are dropped with the list).
func (s *Studio) migrateTrustedKeys() {
	old := s.App.Preferences().StringList(prefTrustedKeys)
	if len(old) == 0 {
		return
	}
	dir := s.TrustDir
	s.background(func() func() {
		var failed []string
		for _, p := range old {
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if _, err := trustAddFile(dir, p); err != nil {
				failed = append(failed, p+": "+err.Error())
			}
		}
		return func() {
			s.App.Preferences().RemoveValue(prefTrustedKeys)
			if len(failed) > 0 {
				s.inspector.trustNote = "Some keys of the old list could not be added to the trust store: " + strings.Join(failed, "; ")
			}
			s.trustChanged()
		}
	})
}
