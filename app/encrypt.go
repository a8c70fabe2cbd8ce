package app

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// Payload encryption (draft-ietf-suit-firmware-encryption): encrypting a
// firmware image for its recipients, and finding and decrypting the encrypted
// payloads of an envelope.

// KEKPEMType is the PEM block type of an AES key-encryption key file (the
// raw 16, 24 or 32 key bytes are accepted too).
const KEKPEMType = "SUIT KEY ENCRYPTION KEY"

// ContentAlgorithms are the content-encryption algorithms `suit encrypt`
// offers, by their lower-case names.
var ContentAlgorithms = map[string]int64{
	"a128gcm": cose.AlgA128GCM, "a192gcm": cose.AlgA192GCM, "a256gcm": cose.AlgA256GCM,
	"chacha20-poly1305": cose.AlgChaCha20Poly1305,
	"a128ctr":           cose.AlgA128CTR, "a192ctr": cose.AlgA192CTR, "a256ctr": cose.AlgA256CTR,
}

// KeyWraps are the AES-KW sizes `suit encrypt` offers: with a KEK the
// algorithm is AxxxKW (the KEK's size decides), with a public key ECDH-ES +
// AxxxKW (this choice decides).
var KeyWraps = map[string]int{"a128kw": 16, "a192kw": 24, "a256kw": 32}

// RecipientKey reads a recipient for encryption: a public key file (PEM
// SubjectPublicKeyInfo or certificate of a P-256 or X25519 key: ECDH-ES +
// AES-KW), a key-encryption key file (AES-KW; see LoadDecryptionKey), a
// trusted key "trust:NAME", or a pkcs11: URI of a P-256 key on a token (its
// public key is read from the token). kwSize (16, 24, 32) picks the key wrap
// after ECDH-ES; 0 means 16.
func RecipientKey(ref string, kid []byte, kwSize int, opts signer.LoadOptions) (cose.RecipientSpec, error) {
	if kwSize == 0 {
		kwSize = 16
	}
	ecdhAlg := map[int]int64{16: cose.AlgECDHESA128KW, 24: cose.AlgECDHESA192KW, 32: cose.AlgECDHESA256KW}[kwSize]
	spec := cose.RecipientSpec{Alg: ecdhAlg, KID: kid}
	var pub any
	switch {
	case strings.HasPrefix(ref, "trust:"):
		ts := signer.TrustStore{Dir: signer.DefaultTrustDir(opts.Getenv)}
		keys, err := ts.List()
		if err != nil {
			return spec, err
		}
		name := strings.TrimPrefix(ref, "trust:")
		for _, k := range keys {
			if k.Name == name {
				pub = k.Public
			}
		}
		if pub == nil {
			return spec, fmt.Errorf("recipient %s: no trusted key named %q (list them with 'suit keys trust list')", ref, name)
		}
	case strings.HasPrefix(ref, "pkcs11:"):
		k, err := signer.LoadSigner(ref, opts)
		if err != nil {
			return spec, err
		}
		pub = k.Public()
		signer.CloseKey(k)
	default:
		b, err := os.ReadFile(ref)
		if err != nil {
			return spec, fmt.Errorf("recipient %s: %w", ref, err)
		}
		if kek, ok := parseKEK(b); ok {
			spec.Alg = map[int]int64{16: cose.AlgA128KW, 24: cose.AlgA192KW, 32: cose.AlgA256KW}[len(kek)]
			spec.KEK = kek
			return spec, nil
		}
		if pub, err = parseECDHPublic(b); err != nil {
			return spec, fmt.Errorf("recipient %s: %w", ref, err)
		}
	}
	p, err := toECDHPublic(pub)
	if err != nil {
		return spec, fmt.Errorf("recipient %s: %w", ref, err)
	}
	spec.Public = p
	return spec, nil
}

func parseECDHPublic(b []byte) (any, error) {
	for rest := b; ; {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		if blk.Type == "PUBLIC KEY" {
			return x509.ParsePKIXPublicKey(blk.Bytes)
		}
		if blk.Type == "PRIVATE KEY" || blk.Type == "EC PRIVATE KEY" {
			k, err := parseECDHPrivate(blk)
			if err != nil {
				return nil, err
			}
			return k.PublicKey(), nil
		}
	}
	return signer.ParsePublic(b)
}

func toECDHPublic(pub any) (*ecdh.PublicKey, error) {
	switch k := pub.(type) {
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.P256() || k.Curve() == ecdh.X25519() {
			return k, nil
		}
	case *ecdsa.PublicKey:
		if p, err := k.ECDH(); err == nil && p.Curve() == ecdh.P256() {
			return p, nil
		}
	}
	return nil, fmt.Errorf("a %s key cannot receive ECDH-ES: give a P-256 or X25519 public key, or a 16/24/32-byte key-encryption key", signer.KeyKind(pub))
}

// parseKEK accepts a "SUIT KEY ENCRYPTION KEY" PEM block or a file of exactly
// 16, 24 or 32 raw bytes.
func parseKEK(b []byte) ([]byte, bool) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type == KEKPEMType && (len(blk.Bytes) == 16 || len(blk.Bytes) == 24 || len(blk.Bytes) == 32) {
			return blk.Bytes, true
		}
		return nil, false
	}
	if len(b) == 16 || len(b) == 24 || len(b) == 32 {
		return bytes.Clone(b), true
	}
	return nil, false
}

func parseECDHPrivate(blk *pem.Block) (*ecdh.PrivateKey, error) {
	var k any
	var err error
	if blk.Type == "EC PRIVATE KEY" {
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	} else {
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, err
	}
	switch v := k.(type) {
	case *ecdh.PrivateKey:
		if v.Curve() == ecdh.X25519() {
			return v, nil
		}
	case *ecdsa.PrivateKey:
		if p, err := v.ECDH(); err == nil && p.Curve() == ecdh.P256() {
			return p, nil
		}
	}
	return nil, fmt.Errorf("a %T is not a P-256 or X25519 private key", k)
}

// ParseDecryptionKey reads what a recipient holds: a P-256 or X25519 private
// key (PEM PKCS#8 or SEC1) for ECDH-ES, or a key-encryption key (a "SUIT KEY
// ENCRYPTION KEY" PEM block, or a file of exactly 16, 24 or 32 raw bytes) for
// AES-KW. Errors never show key bytes.
func ParseDecryptionKey(b []byte) (cose.DecryptionKey, error) {
	if kek, ok := parseKEK(b); ok {
		return cose.DecryptionKey{KEK: kek}, nil
	}
	for rest := b; ; {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		if blk.Type == "PRIVATE KEY" || blk.Type == "EC PRIVATE KEY" {
			k, err := parseECDHPrivate(blk)
			if err != nil {
				return cose.DecryptionKey{}, err
			}
			return cose.DecryptionKey{Private: k}, nil
		}
	}
	return cose.DecryptionKey{}, errors.New("not a decryption key: give a P-256 or X25519 private key (PEM) or a 16, 24 or 32-byte key-encryption key")
}

// LoadDecryptionKey is ParseDecryptionKey on a file.
func LoadDecryptionKey(path string) (cose.DecryptionKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cose.DecryptionKey{}, err
	}
	k, err := ParseDecryptionKey(b)
	if err != nil {
		return k, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// EncryptRequest is one payload to encrypt.
type EncryptRequest struct {
	Plaintext  []byte
	ContentAlg int64
	Recipients []cose.RecipientSpec
}

// EncryptResult is what `suit encrypt` and the editor's helper produce.
type EncryptResult struct {
	Info             []byte // SUIT_Encryption_Info (COSE_Encrypt, detached ciphertext): the encryption-info parameter
	Ciphertext       []byte // the encrypted payload (with the tag of an AEAD algorithm)
	PlaintextDigest  [32]byte
	CiphertextDigest [32]byte
	Algorithm        cose.ContentAlgorithm
}

// EncryptPayload encrypts a firmware image for its recipients with one fresh
// content key and IV, and checks the result by decrypting it again with the
// recipients' public information where possible (AES-KW recipients).
func EncryptPayload(req EncryptRequest) (*EncryptResult, error) {
	a, err := cose.LookupContentAlgorithm(req.ContentAlg)
	if err != nil {
		return nil, err
	}
	info, ct, err := cose.EncryptDetached(cose.EncryptOptions{ContentAlg: req.ContentAlg, Recipients: req.Recipients}, req.Plaintext)
	if err != nil {
		return nil, err
	}
	res := &EncryptResult{Info: info, Ciphertext: ct, Algorithm: a,
		PlaintextDigest: sha256.Sum256(req.Plaintext), CiphertextDigest: sha256.Sum256(ct)}
	return res, nil
}

// SourceSnippet is the manifest source (YAML, for `suit create`) that
// installs the encrypted payload into component index comp: with the write
// directive when the ciphertext is carried in the manifest (content), or
// integrated in the envelope, fetched into staging component staging and
// decrypted by copy (§4.1, §4.2). Integrity (§7): the plaintext's digest and
// size are checked after decryption; with a cipher without a tag (CTR) and a
// fetched payload the ciphertext's digest is checked before decryption.
//
// install goes under manifest:, integrated (empty for write) at the top level.
func (r *EncryptResult) SourceSnippet(infoFile, cipherFile, plainFile string, comp, staging int, write bool) (install, integrated string) {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s payload: %d bytes encrypted, %d with the tag\n", r.Algorithm.Name, len(r.Ciphertext)-r.Algorithm.TagSize, len(r.Ciphertext))
	plainDigest := fmt.Sprintf("{algorithm: sha-256, digest: h'%x'}", r.PlaintextDigest)
	if plainFile != "" {
		plainDigest = fmt.Sprintf("{file: %s}", plainFile)
	}
	if write {
		fmt.Fprintf(&b, "install:\n  - set-component-index: %d\n  - override-parameters:\n", comp)
		fmt.Fprintf(&b, "      content: {file: %s}\n      encryption-info: {file: %s}\n", cipherFile, infoFile)
		fmt.Fprintf(&b, "      image-digest: %s\n      image-size: %d\n", plainDigest, len(r.Ciphertext)-r.Algorithm.TagSize)
		b.WriteString("  - write: 15\n  - image-match: 15\n")
		return b.String(), ""
	}
	fmt.Fprintf(&b, "install:\n  - set-component-index: %d\n  - override-parameters:\n      uri: \"#encrypted\"\n", staging)
	if !r.Algorithm.AEAD {
		fmt.Fprintf(&b, "      image-digest: {algorithm: sha-256, digest: h'%x'}   # the ciphertext: checked before decryption\n", r.CiphertextDigest)
		fmt.Fprintf(&b, "      image-size: %d\n", len(r.Ciphertext))
	}
	b.WriteString("  - fetch: 15\n")
	if !r.Algorithm.AEAD {
		b.WriteString("  - image-match: 15\n")
	}
	fmt.Fprintf(&b, "  - set-component-index: %d\n  - override-parameters:\n      encryption-info: {file: %s}\n      source-component: %d\n", comp, infoFile, staging)
	fmt.Fprintf(&b, "      image-digest: %s\n      image-size: %d\n", plainDigest, len(r.Ciphertext)-r.Algorithm.TagSize)
	b.WriteString("  - copy: 15\n  - image-match: 15\n")
	return b.String(), fmt.Sprintf("integrated-payloads:\n  - key: \"#encrypted\"\n    file: %s\n", cipherFile)
}

// EncryptedPayload is one use of the encryption-info parameter in an
// envelope's command sequences, with the ciphertext it applies to when the
// envelope (or the payloads given) holds it.
type EncryptedPayload struct {
	Where      string // "install[3] write component 0"
	Directive  string // "write" or "copy"
	Info       []byte
	Parsed     *cose.Encrypt
	ParseErr   error
	Ciphertext []byte // nil when not available
	Source     string // where the ciphertext comes from: "content parameter", "#firmware", a URI
	// After Decrypt:
	Plaintext  []byte
	Recipient  int
	DecryptErr error
}

// FindEncryptedPayloads walks the envelope's command sequences the way a
// processor would (component index, parameters, fetch), and returns every
// write or copy that decrypts. payloads maps URIs to their bytes for payloads
// not carried in the envelope.
func FindEncryptedPayloads(e *model.Envelope, payloads map[string][]byte) []*EncryptedPayload {
	return FindEncryptedPayloadsWith(e, payloads, nil)
}

// FindEncryptedPayloadsWith is FindEncryptedPayloads with parameters given
// from outside (by a dependent manifest) for the components they name.
func FindEncryptedPayloadsWith(e *model.Envelope, payloads map[string][]byte, inherited func(model.ComponentID) map[int64]model.Value) []*EncryptedPayload {
	w := &encWalker{env: e, payloads: payloads, params: map[uint64]map[int64]model.Value{}, fetched: map[uint64]fetchedData{}}
	if inherited != nil {
		for i, c := range e.Manifest.Common.Components {
			if ps := inherited(c); ps != nil {
				w.params[uint64(i)] = maps.Clone(ps)
			}
		}
	}
	m := e.Manifest
	seqs := []struct {
		name string
		seq  *model.CommandSequence
	}{
		{"shared-sequence", m.Common.SharedSequence}, {"payload-fetch", m.PayloadFetch.Seq},
		{"install", m.Install.Seq}, {"validate", m.Validate}, {"load", m.Load}, {"invoke", m.Invoke},
	}
	for _, s := range seqs {
		if s.seq == nil {
			continue
		}
		if s.name != "shared-sequence" {
			w.sel = []uint64{0}
			w.run(m.Common.SharedSequence, "shared-sequence")
		}
		w.run(s.seq, s.name)
	}
	// The shared sequence is run before each procedure; report each use once.
	var out []*EncryptedPayload
	seen := map[string]bool{}
	for _, p := range w.out {
		if !seen[p.Where] {
			seen[p.Where] = true
			out = append(out, p)
		}
	}
	return out
}

type fetchedData struct {
	data   []byte
	source string
}

type encWalker struct {
	env      *model.Envelope
	payloads map[string][]byte
	sel      []uint64
	params   map[uint64]map[int64]model.Value
	fetched  map[uint64]fetchedData
	out      []*EncryptedPayload
	depth    int
}

func (w *encWalker) run(seq *model.CommandSequence, name string) {
	if seq == nil || w.depth > 8 {
		return
	}
	w.depth++
	defer func() { w.depth-- }()
	if len(w.sel) == 0 {
		w.sel = []uint64{0}
	}
	for i, c := range seq.Commands {
		where := fmt.Sprintf("%s[%d]", name, i)
		switch c.Label {
		case model.DirSetComponentIndex:
			if c.Index != nil {
				if c.Index.All {
					w.sel = nil
					for k := range w.env.Manifest.Common.Components {
						w.sel = append(w.sel, uint64(k))
					}
				} else {
					w.sel = append([]uint64(nil), c.Index.Indices...)
				}
			}
		case model.DirOverrideParameters, model.DirSetParameters:
			for _, k := range w.sel {
				if w.params[k] == nil {
					w.params[k] = map[int64]model.Value{}
				}
				for _, p := range c.Params {
					if _, set := w.params[k][p.Label]; set && c.Label == model.DirSetParameters {
						continue
					}
					w.params[k][p.Label] = p.Value
				}
			}
		case model.DirFetch:
			for _, k := range w.sel {
				uri, ok := w.params[k][model.ParamURI]
				if !ok {
					continue
				}
				if data, src := w.lookup(uri.Text); data != nil {
					w.fetched[k] = fetchedData{data, src}
				}
			}
		case model.DirWrite, model.DirCopy:
			for _, k := range w.sel {
				info, ok := w.params[k][model.ParamEncryptionInfo]
				if !ok {
					if c.Label == model.DirCopy {
						if src, ok := w.params[k][model.ParamSourceComponent]; ok {
							w.fetched[k] = w.fetched[src.Uint]
						}
					}
					continue
				}
				p := &EncryptedPayload{Info: info.Bytes, Where: fmt.Sprintf("%s %s into component %d", where, map[int64]string{model.DirWrite: "write", model.DirCopy: "copy"}[c.Label], k)}
				p.Parsed, p.ParseErr = cose.ParseEncrypt(info.Bytes)
				if c.Label == model.DirWrite {
					p.Directive = "write"
					if v, ok := w.params[k][model.ParamContent]; ok {
						p.Ciphertext, p.Source = v.Bytes, "content parameter"
					}
				} else {
					p.Directive = "copy"
					if src, ok := w.params[k][model.ParamSourceComponent]; ok {
						f := w.fetched[src.Uint]
						p.Ciphertext, p.Source = f.data, f.source
						if f.data == nil {
							p.Source = fmt.Sprintf("component %d (its payload is not in the envelope", src.Uint)
							if u, ok := w.params[src.Uint][model.ParamURI]; ok {
								p.Source += fmt.Sprintf("; give it with --payload %s=FILE", u.Text)
							}
							p.Source += ")"
						}
					}
				}
				if p.Parsed != nil && !p.Parsed.Detached {
					p.Ciphertext, p.Source = p.Parsed.Ciphertext, "attached to the COSE_Encrypt"
				}
				w.out = append(w.out, p)
			}
		case model.DirProcessDependency:
			for _, k := range w.sel {
				w.dependency(k, where)
			}
		case model.DirTryEach:
			saved := w.sel
			for j, alt := range c.Sequences {
				w.sel = saved
				w.run(alt, fmt.Sprintf("%s try-each[%d]", where, j))
			}
		case model.DirRunSequence:
			for _, s := range c.Sequences {
				w.run(s, where+" run-sequence")
			}
		}
	}
}

// dependency walks an integrated dependency (draft-ietf-suit-trust-domains):
// the parameters the dependent set for a component carry over to the
// dependency's component with the same identifier.
func (w *encWalker) dependency(k uint64, where string) {
	f := w.fetched[k]
	if f.data == nil || w.depth > 4 {
		return
	}
	dep, err := suit.Decode(f.data)
	if err != nil {
		return
	}
	sub := FindEncryptedPayloadsWith(dep, w.payloads, func(id model.ComponentID) map[int64]model.Value {
		for i, c := range w.env.Manifest.Common.Components {
			if model.FormatComponentID(c) == model.FormatComponentID(id) {
				return w.params[uint64(i)]
			}
		}
		return nil
	})
	for _, p := range sub {
		p.Where = where + " process-dependency " + f.source + ": " + p.Where
		w.out = append(w.out, p)
	}
}

func (w *encWalker) lookup(uri string) ([]byte, string) {
	if strings.HasPrefix(uri, "#") {
		for _, p := range w.env.Integrated {
			if p.Key == uri {
				return p.Data, "integrated payload " + uri
			}
		}
	}
	if b, ok := w.payloads[uri]; ok {
		return b, uri
	}
	return nil, ""
}

// DecryptPayloads tries the keys on every encrypted payload that has its
// ciphertext, filling Plaintext (or DecryptErr).
func DecryptPayloads(ps []*EncryptedPayload, keys []cose.DecryptionKey) {
	for _, p := range ps {
		switch {
		case p.Parsed == nil:
			p.DecryptErr = p.ParseErr
		case p.Ciphertext == nil:
			p.DecryptErr = fmt.Errorf("the ciphertext is not available: %s", p.Source)
		case p.Parsed.CheckHeaders() != nil:
			p.DecryptErr = p.Parsed.CheckHeaders()
		default:
			cek, idx, err := p.Parsed.ContentKey(keys...)
			if err != nil {
				p.DecryptErr = err
				continue
			}
			p.Recipient = idx
			p.Plaintext, p.DecryptErr = cose.OpenContent(p.Parsed.Alg, cek, p.Parsed.IV, p.Parsed.AAD(), p.Ciphertext)
			clear(cek)
		}
	}
}

// DescribeEncryptionInfo is a few lines for people about a COSE_Encrypt.
func DescribeEncryptionInfo(e *cose.Encrypt) []string {
	kind := "COSE_Encrypt (tag 96)"
	if e.Tag == cose.TagEncrypt0 {
		kind = "COSE_Encrypt0 (tag 16)"
	}
	ct := "detached ciphertext"
	if !e.Detached {
		ct = fmt.Sprintf("attached ciphertext, %d bytes", len(e.Ciphertext))
	}
	lines := []string{fmt.Sprintf("%s, %s, IV %x, %s", kind, cose.AlgorithmName(e.Alg), e.IV, ct)}
	for i, r := range e.Recipients {
		s := fmt.Sprintf("recipient %d: %s", i, cose.AlgorithmName(r.Alg))
		if r.KID != nil {
			s += fmt.Sprintf(", kid %q", r.KID)
		}
		if r.Ephemeral != nil {
			crv := "P-256"
			if r.EphemeralCrv == cose.CurveX25519 {
				crv = "X25519"
			}
			b := r.Ephemeral.Bytes()
			s += fmt.Sprintf(", ephemeral %s key %x…", crv, b[len(b)-8:])
		}
		s += fmt.Sprintf(", wrapped key %x", r.EncryptedKey)
		lines = append(lines, s)
	}
	return lines
}

// OpenDecryptionKey is LoadDecryptionKey for a file, or a P-256 private key
// on a PKCS#11 token ("pkcs11:" URI; the ECDH runs on the token, the key needs
// the derive usage). Call close when done.
func OpenDecryptionKey(ref string, opts signer.LoadOptions) (cose.DecryptionKey, func(), error) {
	if !strings.HasPrefix(ref, "pkcs11:") {
		k, err := LoadDecryptionKey(ref)
		return k, func() {}, err
	}
	k, err := signer.LoadPrivate(ref, opts)
	if err != nil {
		return cose.DecryptionKey{}, func() {}, err
	}
	closeKey := func() { signer.CloseKey(k) }
	ek, ok := k.(cose.ECDHKey)
	if !ok || ek.Curve() == nil {
		closeKey()
		return cose.DecryptionKey{}, func() {}, fmt.Errorf("%s: this token key cannot do ECDH (a P-256 key with the derive usage is needed)", ref)
	}
	return cose.DecryptionKey{Private: ek}, closeKey, nil
}

// decryptWords is what describe adds to write and copy when the component's
// encryption-info is set: ", decrypting it (A128GCM, for 2 recipients: ...)".
func decryptWords(st *describeState) string {
	v, ok := st.param(model.ParamEncryptionInfo)
	if !ok {
		return ""
	}
	e, err := cose.ParseEncrypt(v.Bytes)
	if err != nil {
		return ", decrypting it with an encryption-info that does not decode (" + err.Error() + ")"
	}
	var rs []string
	for _, r := range e.Recipients {
		s := cose.AlgorithmName(r.Alg)
		if r.KID != nil {
			s += fmt.Sprintf(" kid %q", r.KID)
		}
		rs = append(rs, s)
	}
	return fmt.Sprintf(", decrypting it (%s; content key for %d recipient(s): %s)", cose.AlgorithmName(e.Alg), len(rs), strings.Join(rs, ", "))
}
