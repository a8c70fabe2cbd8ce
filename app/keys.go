package app

import (
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/suit-studio/suit-studio/signer"
)

// This file holds the key manager's use cases, shared by `suit keys` and the GUI's key manager:
// list tokens and keys, generate keys in files or on tokens, export public keys, and keep the
// trust store. Keys are named by reference: a file path or an RFC 7512 "pkcs11:" URI.

// KeyEntry describes a key for a list: where it is, what it is, how to name it.
type KeyEntry struct {
	Ref        string // file path or pkcs11: URI (no PIN; a pin-source is kept if the input had one)
	Label      string // token label of the object, or the file name
	Kind       string // "P-256", "Ed25519", "RSA-3072"
	Algorithm  string // COSE algorithm name: "ES256", "EdDSA", "PS256"
	KeyID      string // hex kid
	OnToken    bool
	HasPrivate bool
}

func entryFor(ref, label string, pub crypto.PublicKey, kid []byte, onToken, priv bool) KeyEntry {
	e := KeyEntry{Ref: ref, Label: label, OnToken: onToken, HasPrivate: priv, KeyID: hex.EncodeToString(kid)}
	if pub != nil {
		e.Kind = signer.KeyKind(pub)
		if alg, err := signer.AlgorithmFor(pub); err == nil {
			e.Algorithm = signer.AlgorithmName(alg)
		}
	}
	return e
}

// ListTokens lists the tokens of a PKCS#11 module (by path).
func ListTokens(ctx context.Context, modulePath string) ([]signer.TokenInfo, error) {
	m, err := signer.OpenModule(modulePath)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.Tokens()
}

// ListKeys lists the keys a reference names: all key pairs of the token for a pkcs11: URI
// (logging in as needed), the key of a file, or the key files of a directory.
func ListKeys(ctx context.Context, ref string, opts signer.LoadOptions) ([]KeyEntry, error) {
	if opts.Context == nil {
		opts.Context = ctx
	}
	if isPKCS11(ref) {
		s, err := signer.OpenSession(ref, opts)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		keys, err := s.Keys()
		if err != nil {
			return nil, err
		}
		pinSource := ""
		if u, err := signer.ParseURI(ref); err == nil {
			pinSource = u.PINSource
		}
		out := make([]KeyEntry, 0, len(keys))
		for _, k := range keys {
			uri := k.URI
			if pinSource != "" {
				if u, err := signer.ParseURI(uri); err == nil {
					u.PINSource = pinSource
					uri = u.String()
				}
			}
			out = append(out, entryFor(uri, k.Label, k.Public, k.ID, true, k.HasPrivate))
		}
		return out, nil
	}
	st, err := os.Stat(ref)
	if err != nil {
		return nil, err
	}
	files := []string{ref}
	if st.IsDir() {
		files = nil
		ents, err := os.ReadDir(ref)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".pem") || strings.HasSuffix(e.Name(), ".key")) {
				files = append(files, filepath.Join(ref, e.Name()))
			}
		}
	}
	var out []KeyEntry
	for _, f := range files {
		if e, err := describeFile(f); err == nil {
			out = append(out, e)
		} else if !st.IsDir() {
			return nil, err
		}
	}
	return out, nil
}

func describeFile(path string) (KeyEntry, error) {
	k, err := signer.LoadFile(path)
	if err == nil {
		switch kk := k.(type) {
		case signer.Key:
			return entryFor(path, filepath.Base(path), kk.Public(), kk.KeyID(), false, true), nil
		case signer.MACKey:
			return KeyEntry{Ref: path, Label: filepath.Base(path), Kind: "HMAC-256", Algorithm: "HMAC 256/256", KeyID: hex.EncodeToString(kk.KeyID()), HasPrivate: true}, nil
		}
	}
	pub, perr := signer.LoadPublic(path)
	if perr != nil {
		return KeyEntry{}, err
	}
	kid, _ := signer.PublicKeyID(pub)
	return entryFor(path, filepath.Base(path), pub, kid, false, false), nil
}

// GenerateMACKeyFile creates a new HMAC 256/256 key in a "SUIT HMAC KEY" PEM file (0600, never
// overwritten): the named form a symmetric key must have to be read as one.
func GenerateMACKeyFile(path string) (KeyEntry, error) {
	if isPKCS11(path) {
		return KeyEntry{}, fmt.Errorf("%w: HMAC keys are generated as files only", signer.ErrUnsupportedKey)
	}
	if err := signer.GenerateMACFile(path); err != nil {
		return KeyEntry{}, err
	}
	return describeFile(path)
}

func isPKCS11(ref string) bool { return strings.HasPrefix(strings.ToLower(ref), "pkcs11:") }

// GenerateKey creates a key: in a new PKCS#8 file (0600) when ref is a path, on the token when
// ref is a pkcs11: URI whose object= names the new key's label.
func GenerateKey(ctx context.Context, ref string, kind signer.KeyType, opts signer.LoadOptions) (KeyEntry, error) {
	if opts.Context == nil {
		opts.Context = ctx
	}
	if !isPKCS11(ref) {
		if err := signer.GenerateFile(ref, kind); err != nil {
			return KeyEntry{}, err
		}
		return describeFile(ref)
	}
	u, err := signer.ParseURI(ref)
	if err != nil {
		return KeyEntry{}, err
	}
	if u.Object == "" {
		return KeyEntry{}, fmt.Errorf("%w: give the new key's label as object=LABEL in the URI", signer.ErrBadURI)
	}
	s, err := signer.OpenSession(ref, opts)
	if err != nil {
		return KeyEntry{}, err
	}
	defer s.Close()
	ki, err := s.Generate(kind, u.Object, u.ID)
	if err != nil {
		return KeyEntry{}, err
	}
	uri := ki.URI
	if u.PINSource != "" {
		if nu, err := signer.ParseURI(uri); err == nil {
			nu.PINSource = u.PINSource
			nu.SoftHSMConf = u.SoftHSMConf
			uri = nu.String()
		}
	}
	return entryFor(uri, ki.Label, ki.Public, ki.ID, true, true), nil
}

// PublicKeyOf loads the public key a reference names (token key, private or public key file,
// certificate, COSE_Key) and its kid.
func PublicKeyOf(ctx context.Context, ref string, opts signer.LoadOptions) (crypto.PublicKey, []byte, error) {
	if opts.Context == nil {
		opts.Context = ctx
	}
	if isPKCS11(ref) {
		k, err := signer.LoadSigner(ref, opts)
		if err != nil {
			return nil, nil, err
		}
		defer signer.CloseKey(k)
		return k.Public(), k.KeyID(), nil
	}
	pub, err := signer.LoadPublic(ref)
	if err != nil {
		return nil, nil, err
	}
	kid, _ := signer.PublicKeyID(pub)
	return pub, kid, nil
}

// Export formats of a public key.
const (
	FormatPEM     = "pem"
	FormatCOSEKey = "cose"
	FormatC       = "c"
)

// ExportPublicKey renders the public key of ref as PEM, a COSE_Key (deterministic CBOR) or C
// source for a device's trust anchor. cName names the C array ("suit_trust_anchor" if empty).
func ExportPublicKey(ctx context.Context, ref, format, cName string, opts signer.LoadOptions) ([]byte, error) {
	pub, kid, err := PublicKeyOf(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatPEM, "":
		return signer.PublicPEM(pub)
	case FormatCOSEKey:
		return signer.COSEKey(pub, kid)
	case FormatC:
		s, err := signer.CArray(pub, kid, cName)
		return []byte(s), err
	}
	return nil, fmt.Errorf("unknown export format %q (pem, cose or c)", format)
}

// TrustAdd adds the public key of ref (a file or a token key) to the trust store in dir.
func TrustAdd(ctx context.Context, dir, name, ref string, opts signer.LoadOptions) (signer.TrustedKey, error) {
	pub, _, err := PublicKeyOf(ctx, ref, opts)
	if err != nil {
		return signer.TrustedKey{}, err
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(ref), filepath.Ext(ref))
		if isPKCS11(ref) {
			if u, err := signer.ParseURI(ref); err == nil && u.Object != "" {
				name = u.Object
			}
		}
		name = sanitizeName(name)
	}
	return signer.TrustStore{Dir: dir}.Add(name, pub)
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.TrimLeft(b.String(), ".")
}

// DevToken returns the local development token, creating it when missing (softhsm2 needed).
// dir "" is the default $XDG_DATA_HOME/suit-studio/softhsm.
func DevToken(ctx context.Context, dir string, getenv func(string) string) (*signer.DevToken, error) {
	if dir == "" {
		dir = signer.DefaultDevTokenDir(getenv)
	}
	return signer.EnsureDevToken(dir)
}
