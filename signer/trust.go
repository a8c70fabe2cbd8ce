package signer

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TrustStore is a directory of trusted public keys, one PEM "PUBLIC KEY" file per key
// (NAME.pem). The inspector and `suit verify` try these keys when the user names none.
// A directory is the whole format: users may add or remove files by hand.
type TrustStore struct {
	Dir string
}

// TrustedKey is one key of a trust store.
type TrustedKey struct {
	Name      string // file name without .pem
	Path      string
	Public    crypto.PublicKey
	KeyID     []byte // file convention kid (SHA-256 of the SPKI, 8 bytes)
	Kind      string
	Algorithm int64
}

// DefaultTrustDir is $XDG_CONFIG_HOME/suit-studio/trust (~/.config/suit-studio/trust).
func DefaultTrustDir(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "suit-studio", "trust")
}

// ErrBadName is returned for trust store names that are not plain file names.
var ErrBadName = errors.New("invalid trusted key name")

func checkName(name string) error {
	if name == "" || len(name) > 100 || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%w: %q (letters, digits, '.', '-', '_'; not starting with '.')", ErrBadName, name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("%w: %q (letters, digits, '.', '-', '_')", ErrBadName, name)
		}
	}
	return nil
}

// Add stores pub under name. It refuses a name in use and a key already trusted under
// another name (reported with that name).
func (ts TrustStore) Add(name string, pub crypto.PublicKey) (TrustedKey, error) {
	if err := checkName(name); err != nil {
		return TrustedKey{}, err
	}
	pemb, err := PublicPEM(pub)
	if err != nil {
		return TrustedKey{}, err
	}
	existing, err := ts.List()
	if err != nil {
		return TrustedKey{}, err
	}
	for _, k := range existing {
		if equalPublic(k.Public, pub) {
			return TrustedKey{}, fmt.Errorf("%w: this key is already trusted as %q", ErrExists, k.Name)
		}
	}
	if err := os.MkdirAll(ts.Dir, 0o755); err != nil {
		return TrustedKey{}, err
	}
	p := filepath.Join(ts.Dir, name+".pem")
	if err := writeNewFile(p, pemb, 0o644); err != nil {
		return TrustedKey{}, err
	}
	return trusted(name, p, pub), nil
}

func trusted(name, path string, pub crypto.PublicKey) TrustedKey {
	kid, _ := PublicKeyID(pub)
	alg, _ := AlgorithmFor(pub)
	return TrustedKey{Name: name, Path: path, Public: pub, KeyID: kid, Kind: KeyKind(pub), Algorithm: alg}
}

// List returns the trusted keys sorted by name. A missing directory is an empty store; a file
// that does not parse is an error naming the file.
func (ts TrustStore) List() ([]TrustedKey, error) {
	ents, err := os.ReadDir(ts.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []TrustedKey
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".pem") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(ts.Dir, e.Name())
		pub, err := LoadPublic(p)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		out = append(out, trusted(strings.TrimSuffix(e.Name(), ".pem"), p, pub))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the key named name, or whose kid (hex) is name.
func (ts TrustStore) Remove(name string) error {
	keys, err := ts.List()
	if err != nil {
		return err
	}
	kid, _ := hex.DecodeString(name)
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
		if k.Name == name || (len(kid) > 0 && bytes.Equal(k.KeyID, kid)) {
			return os.Remove(k.Path)
		}
	}
	return fmt.Errorf("%w: no trusted key %q (trusted: %s)", ErrNotFound, name, strings.Join(names, ", "))
}

// Public returns the public keys of the store, for verifiers that try each.
func (ts TrustStore) Public() ([]crypto.PublicKey, error) {
	keys, err := ts.List()
	if err != nil {
		return nil, err
	}
	out := make([]crypto.PublicKey, len(keys))
	for i, k := range keys {
		out[i] = k.Public
	}
	return out, nil
}
