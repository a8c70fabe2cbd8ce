package app

// Build: the use cases that turn a manifest into bytes for a device — create from source, sign with
// any key (file or HSM), verify, sever, and export (envelope, C header, diagnostic notation). The GUI
// and the suit command line both call these.

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/diag"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// ErrInvalidManifest: the source describes a manifest with validation errors.
var ErrInvalidManifest = errors.New("the manifest has validation errors")

// Create builds an unsigned envelope from a source file's bytes (YAML or JSON). Relative file names
// in the source are resolved against baseDir. Findings are returned in any case; an error finding
// makes Create fail with ErrInvalidManifest unless force is set.
func Create(src []byte, baseDir string, force bool) ([]byte, []model.Finding, error) {
	return CreateWith(src, suit.SourceOptions{BaseDir: baseDir}, force)
}

// CreateWith is Create with the source options (AllowOutside: let file names leave the source's
// folder, for a source the user trusts).
func CreateWith(src []byte, opts suit.SourceOptions, force bool) ([]byte, []model.Finding, error) {
	env, err := suit.ParseSourceWith(src, opts)
	if err != nil {
		return nil, nil, err
	}
	fs := suit.Validate(env)
	if model.HasErrors(fs) && !force {
		return nil, fs, ErrInvalidManifest
	}
	out, err := suit.Encode(env)
	return out, fs, err
}

// SignOptions tune SignEnvelope.
type SignOptions struct {
	// Algorithm overrides the key's default COSE algorithm, e.g. cose.AlgESP256 (-9) instead of
	// ES256 (-7) for a P-256 key, or Ed25519 (-19) instead of EdDSA (-8).
	Algorithm int64
	// Replace removes the existing authentication blocks first.
	Replace bool
	// NoKID leaves the kid out of the protected header.
	NoKID bool
}

// SignEnvelope adds one authentication block per key: COSE_Sign1 for a signer.Key (a file or a
// PKCS#11 token), COSE_Mac0 for a signer.MACKey. The manifest bytes are not touched.
func SignEnvelope(data []byte, keys []any, opts SignOptions) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key to sign with")
	}
	if opts.Replace {
		var err error
		if data, err = suit.StripAuthBlocks(data); err != nil {
			return nil, err
		}
	}
	// An envelope encrypted per an MTI profile is signed with the profile's algorithm (mti.go),
	// unless the caller chose one.
	var decoded *model.Envelope
	if opts.Algorithm == 0 {
		decoded, _ = suit.Decode(data)
	}
	return suit.AddAuthBlocks(data, func(payload []byte) ([][]byte, error) {
		var blocks [][]byte
		for _, k := range keys {
			var (
				b   []byte
				err error
			)
			switch key := k.(type) {
			case signer.Key:
				alg := key.Algorithm()
				if opts.Algorithm != 0 {
					alg = opts.Algorithm
				} else if a := SignAlgorithmFor(decoded, key); a != 0 {
					alg = a
				}
				var kid []byte
				if !opts.NoKID {
					kid = key.KeyID()
				}
				// nil rand: file ECDSA keys sign deterministically (RFC 6979); tokens use their own RNG.
				b, err = cose.Sign1(nil, key, alg, kid, payload)
				if err != nil {
					return nil, fmt.Errorf("signing with %s: %w", key.Description(), err)
				}
			case signer.MACKey:
				var kid []byte
				if !opts.NoKID {
					kid = key.KeyID()
				}
				b, err = cose.Mac0(key.MACKey(), cose.AlgHMAC256, kid, payload)
				if err != nil {
					return nil, fmt.Errorf("authenticating with %s: %w", key.Description(), err)
				}
			default:
				return nil, fmt.Errorf("unsupported key type %T", k)
			}
			blocks = append(blocks, b)
		}
		return blocks, nil
	})
}

// LoadVerifyKeys reads keys to verify with: PEM public keys, certificates, private key files (their
// public part), COSE_Key files, and HMAC key files (for COSE_Mac0).
func LoadVerifyKeys(paths []string) ([]suit.VerifyKey, error) {
	var keys []suit.VerifyKey
	for _, p := range paths {
		name := filepath.Base(p)
		if pub, err := signer.LoadPublic(p); err == nil {
			keys = append(keys, suit.VerifyKey{Name: name, Public: pub})
			continue
		} else if k, ferr := signer.LoadFile(p); ferr == nil {
			if mk, ok := k.(signer.MACKey); ok {
				keys = append(keys, suit.VerifyKey{Name: name, MAC: mk.MACKey()})
				continue
			}
			if sk, ok := k.(signer.Key); ok {
				keys = append(keys, suit.VerifyKey{Name: name, Public: sk.Public()})
				continue
			}
		} else {
			if errors.Is(ferr, signer.ErrUnsupportedKey) {
				return nil, ferr // a key, recognised as one, that cannot be used (a short HMAC key)
			}
			return nil, err // a *signer.KeyError: it names the file and says what it looks like
		}
	}
	return keys, nil
}

// SeverResult says what SeverEnvelope did.
type SeverResult struct {
	Bytes             []byte
	Severed           []string
	ManifestChanged   bool // an inline member moved out: the manifest (and its digest) changed
	DroppedSignatures int  // blocks made over the old digest, which can no longer verify
}

// SeverEnvelope severs members (all present ones when names is empty). With keep, the content stays
// in the envelope as severed members; without, it is removed (what a constrained link receives).
func SeverEnvelope(data []byte, names []string, keep bool) (*SeverResult, error) {
	env, err := suit.Decode(data)
	if err != nil {
		return nil, err
	}
	before := 0
	if env.Auth != nil {
		before = len(env.Auth.Blocks)
	}
	severed, changed, err := suit.Sever(env, names, keep)
	if err != nil {
		return nil, err
	}
	out, err := suit.Encode(env)
	if err != nil {
		return nil, err
	}
	after := 0
	if a, err := mustSplit(out).Auth(); err == nil {
		after = len(a.Blocks)
	}
	return &SeverResult{Bytes: out, Severed: severed, ManifestChanged: changed, DroppedSignatures: before - after}, nil
}

func mustSplit(b []byte) *suit.RawEnvelope {
	re, err := suit.SplitEnvelope(b)
	if err != nil {
		return &suit.RawEnvelope{}
	}
	return re
}

// CHeader renders envelope bytes as a C header with a byte array, for compiling into firmware or
// tests. name is a C identifier (other characters become '_').
func CHeader(name string, data []byte) string {
	id := cIdent(name)
	var b strings.Builder
	fmt.Fprintf(&b, "/* SUIT envelope, %d bytes. Generated by SUIT Studio. */\n", len(data))
	guard := strings.ToUpper(id) + "_H"
	fmt.Fprintf(&b, "#ifndef %s\n#define %s\n\n#include <stddef.h>\n#include <stdint.h>\n\n", guard, guard)
	fmt.Fprintf(&b, "static const uint8_t %s[%d] = {\n", id, len(data))
	for i := 0; i < len(data); i += 12 {
		b.WriteString("   ")
		for j := i; j < i+12 && j < len(data); j++ {
			fmt.Fprintf(&b, " 0x%02x,", data[j])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "};\nstatic const size_t %s_len = %d;\n\n#endif /* %s */\n", id, len(data), guard)
	return b.String()
}

func cIdent(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "suit_envelope"
	}
	return b.String()
}

// Diagnostic returns the annotated diagnostic notation of envelope bytes.
func Diagnostic(data []byte) (string, error) {
	return diag.Notation(data, diag.Options{Indent: "  ", Annotate: true, MaxWidth: 100})
}
