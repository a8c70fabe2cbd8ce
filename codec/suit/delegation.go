package suit

// Delegation chains (envelope member 1, suit-delegation; draft-ietf-suit-trust-domains, information
// model §"Manifest Envelope Element: Delegation Chain"). Encoding, as in the earlier SUIT manifest
// drafts and libcsuit's delegation example:
//
//	suit-delegation => bstr .cbor SUIT_Delegation
//	SUIT_Delegation = [+ [+ bstr .cbor CWT]]
//
// Each CWT is a COSE_Sign1_Tagged (18) with an attached payload: a CWT claims map (RFC 8392) whose
// cnf claim (8) holds {1: COSE_Key} (RFC 8747, proof-of-possession key). The first token of a chain
// is verified by a trust anchor, each next token by the cnf key of the one before it, and the
// manifest's authentication block by the cnf key of the last token. exp (4) and nbf (5), when
// present, are checked against a clock.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/suit-studio/suit-studio/codec/cose"
)

// EnvDelegation is the envelope key of suit-delegation.
const EnvDelegation = 1

// MaxDelegationChain bounds the number of tokens in one chain.
const MaxDelegationChain = 4

// CWT claim keys used here (RFC 8392, RFC 8747).
const (
	cwtIss = 1
	cwtSub = 2
	cwtExp = 4
	cwtNbf = 5
	cwtCnf = 8
)

// DelegationClaims are the claims of one delegation token.
type DelegationClaims struct {
	Issuer     string           // iss (1), optional
	Subject    crypto.PublicKey // the delegated key, carried in cnf (8) as a COSE_Key
	SubjectKID []byte           // kid (2) of that COSE_Key, optional
	NotBefore  time.Time        // nbf (5), zero when absent
	Expires    time.Time        // exp (4), zero when absent
}

// DelegationToken is a parsed token (its signature is not yet checked).
type DelegationToken struct {
	Raw    []byte
	Alg    int64
	KID    []byte // the issuer's key id from the COSE header
	Claims DelegationClaims
	msg    *cose.Message
}

// KeyLabel names a public key: its kid when given, else "sha256:" and the first 8 bytes of the
// digest of its COSE_Key encoding.
func KeyLabel(pub crypto.PublicKey, kid []byte) string {
	if len(kid) > 0 {
		if printable(kid) {
			return fmt.Sprintf("%q", kid)
		}
		return "kid " + hex.EncodeToString(kid)
	}
	enc, err := EncodeCOSEKey(pub, nil)
	if err != nil {
		return "unknown key"
	}
	h := sha256.Sum256(enc)
	return "sha256:" + hex.EncodeToString(h[:8])
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// MakeDelegationToken signs a CWT that delegates to c.Subject. alg 0 picks the signer's default.
func MakeDelegationToken(signer crypto.Signer, alg int64, issuerKID []byte, c DelegationClaims) ([]byte, error) {
	if signer == nil {
		return nil, errors.New("delegation token: no issuer key")
	}
	if alg == 0 {
		a, err := cose.AlgorithmForKey(signer.Public())
		if err != nil {
			return nil, err
		}
		alg = a
	}
	ck, err := EncodeCOSEKey(c.Subject, c.SubjectKID)
	if err != nil {
		return nil, fmt.Errorf("delegation token: subject key: %w", err)
	}
	var cnf writer
	cnf.mapOf([]pair{{encInt(1), ck}})
	pairs := []pair{{encInt(cwtCnf), cnf.buf}}
	if c.Issuer != "" {
		var w writer
		w.text(c.Issuer)
		pairs = append(pairs, pair{encInt(cwtIss), w.buf})
	}
	if !c.Expires.IsZero() {
		pairs = append(pairs, pair{encInt(cwtExp), encInt(c.Expires.Unix())})
	}
	if !c.NotBefore.IsZero() {
		pairs = append(pairs, pair{encInt(cwtNbf), encInt(c.NotBefore.Unix())})
	}
	var claims writer
	claims.mapOf(pairs)
	detached, err := cose.Sign1(rand.Reader, signer, alg, issuerKID, claims.buf)
	if err != nil {
		return nil, err
	}
	msg, err := cose.Parse(detached)
	if err != nil {
		return nil, err
	}
	// Re-encode with the claims attached: the Sig_structure is the same either way.
	var w writer
	w.tag(cose.TagSign1)
	w.array(4)
	w.bytes(msg.Protected)
	w.raw(msg.Unprotected)
	w.bytes(claims.buf)
	w.bytes(msg.Signature)
	return w.buf, nil
}

// ParseDelegationToken decodes a token: a COSE_Sign1 with an attached CWT claims map holding cnf.
func ParseDelegationToken(b []byte) (*DelegationToken, error) {
	msg, err := cose.Parse(b)
	if err != nil {
		return nil, err
	}
	if msg.Tag != cose.TagSign1 {
		return nil, fmt.Errorf("a delegation token must be a COSE_Sign1 (tag 18), found tag %d", msg.Tag)
	}
	if msg.PayloadDetached {
		return nil, errors.New("a delegation token must carry its CWT claims (the payload is null)")
	}
	t := &DelegationToken{Raw: b, Alg: msg.Alg, KID: msg.KID, msg: msg}
	r := reader{data: msg.Payload}
	top, err := r.next(0, 0)
	if err != nil || top.end != len(msg.Payload) || top.major != majMap {
		return nil, errors.New("the CWT claims must be one CBOR map")
	}
	kids, err := r.children(top, 0)
	if err != nil {
		return nil, err
	}
	haveCnf := false
	for i := 0; i < len(kids); i += 2 {
		k, ok := intValue(kids[i])
		if !ok {
			continue
		}
		v := kids[i+1]
		switch k {
		case cwtIss:
			if v.major != majText {
				return nil, errors.New("CWT claim iss (1) must be a text string")
			}
			t.Claims.Issuer = string(v.content(msg.Payload))
		case cwtExp, cwtNbf:
			n, ok := intValue(v)
			if !ok {
				return nil, fmt.Errorf("CWT claim %d (exp/nbf) must be an integer NumericDate", k)
			}
			if k == cwtExp {
				t.Claims.Expires = time.Unix(n, 0).UTC()
			} else {
				t.Claims.NotBefore = time.Unix(n, 0).UTC()
			}
		case cwtCnf:
			if v.major != majMap {
				return nil, errors.New("CWT claim cnf (8) must be a map")
			}
			cs, err := r.children(v, 1)
			if err != nil {
				return nil, err
			}
			for j := 0; j < len(cs); j += 2 {
				if ck, ok := intValue(cs[j]); ok && ck == 1 {
					pub, kid, err := ParseCOSEKey(msg.Payload[cs[j+1].start:cs[j+1].end])
					if err != nil {
						return nil, fmt.Errorf("cnf COSE_Key: %w", err)
					}
					t.Claims.Subject, t.Claims.SubjectKID = pub, kid
					haveCnf = true
				}
			}
		}
	}
	if !haveCnf {
		return nil, errors.New("the CWT has no cnf (8) claim with a COSE_Key (1): it delegates to no key")
	}
	return t, nil
}

// checkTime refuses a token outside its validity window.
func (t *DelegationToken) checkTime(now time.Time) error {
	if !t.Claims.Expires.IsZero() && !now.Before(t.Claims.Expires) {
		return fmt.Errorf("expired at %s (now %s)", t.Claims.Expires.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !t.Claims.NotBefore.IsZero() && now.Before(t.Claims.NotBefore) {
		return fmt.Errorf("not valid before %s (now %s)", t.Claims.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// EncodeDelegation encodes the value of envelope member 1: bstr .cbor [+ [+ bstr .cbor CWT]].
func EncodeDelegation(chains [][][]byte) []byte {
	var w writer
	w.array(len(chains))
	for _, c := range chains {
		w.array(len(c))
		for _, t := range c {
			w.bytes(t)
		}
	}
	return wrap(w.buf)
}

// ParseDelegation decodes the value of envelope member 1 into its chains of encoded tokens.
func ParseDelegation(member []byte) ([][][]byte, error) {
	r := reader{data: member}
	outer, err := r.next(0, 0)
	if err != nil || outer.major != majBytes || outer.end != len(member) {
		return nil, errors.New("envelope/delegation: must be a byte string wrapping SUIT_Delegation")
	}
	inner := outer.content(member)
	r = reader{data: inner}
	top, err := r.next(0, 0)
	if err != nil || top.major != majArray || top.end != len(inner) || top.arg == 0 {
		return nil, errors.New("envelope/delegation: SUIT_Delegation must be a non-empty array of chains")
	}
	chains, _ := r.children(top, 0)
	var out [][][]byte
	for i, c := range chains {
		if c.major != majArray || c.arg == 0 {
			return nil, fmt.Errorf("envelope/delegation/%d: a chain must be a non-empty array of tokens", i)
		}
		if c.arg > MaxDelegationChain {
			return nil, fmt.Errorf("envelope/delegation/%d: %d tokens, at most %d are followed", i, c.arg, MaxDelegationChain)
		}
		toks, _ := r.children(c, 1)
		var chain [][]byte
		for j, t := range toks {
			if t.major != majBytes {
				return nil, fmt.Errorf("envelope/delegation/%d/%d: a token must be a byte string (bstr .cbor CWT)", i, j)
			}
			chain = append(chain, t.content(inner))
		}
		out = append(out, chain)
	}
	return out, nil
}

// AttachDelegation sets envelope member 1 to the given chains (replacing any). The member is outside
// the signature, so existing authentication blocks stay valid.
func AttachDelegation(envelope []byte, chains [][][]byte) ([]byte, error) {
	re, err := SplitEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	for i, c := range chains {
		if len(c) == 0 || len(c) > MaxDelegationChain {
			return nil, fmt.Errorf("delegation chain %d has %d tokens (1 to %d)", i+1, len(c), MaxDelegationChain)
		}
		for j, t := range c {
			if _, err := ParseDelegationToken(t); err != nil {
				return nil, fmt.Errorf("delegation chain %d, token %d: %w", i+1, j+1, err)
			}
		}
	}
	re.Set(EnvDelegation, EncodeDelegation(chains))
	return re.Bytes(), nil
}

// ChainResult is the verdict on one delegation chain.
type ChainResult struct {
	Index  int      // 1 = first chain
	Anchor string   // the trust anchor that verified token 1
	Path   []string // the keys along the chain: anchor, then each token's cnf key
	Key    crypto.PublicKey
	KeyKID []byte
	OK     bool
	Reason string
}

// Describe says which key the chain delegates to and from which anchor.
func (c ChainResult) Describe() string {
	if !c.OK {
		return fmt.Sprintf("delegation chain %d refused: %s", c.Index, c.Reason)
	}
	s := "key " + c.Path[len(c.Path)-1]
	for i := len(c.Path) - 2; i >= 1; i-- {
		s += " delegated from key " + c.Path[i]
	}
	return s + " delegated from trust anchor " + c.Anchor
}

// VerifyChains verifies every chain of envelope member 1 against the trust anchors at time now.
func VerifyChains(member []byte, anchors []VerifyKey, now time.Time) ([]ChainResult, error) {
	chains, err := ParseDelegation(member)
	if err != nil {
		return nil, err
	}
	out := make([]ChainResult, 0, len(chains))
	for i, c := range chains {
		out = append(out, verifyChain(i+1, c, anchors, now))
	}
	return out, nil
}

func verifyChain(index int, chain [][]byte, anchors []VerifyKey, now time.Time) ChainResult {
	r := ChainResult{Index: index}
	var prev crypto.PublicKey
	for j, raw := range chain {
		t, err := ParseDelegationToken(raw)
		if err != nil {
			r.Reason = fmt.Sprintf("token %d: %v", j+1, err)
			return r
		}
		if j == 0 {
			var reasons []string
			for _, a := range anchors {
				if a.Public == nil {
					continue
				}
				if err := t.msg.VerifySignature(a.Public, nil); err == nil {
					r.Anchor = a.Name
					break
				} else {
					reasons = append(reasons, fmt.Sprintf("%s: %v", a.Name, err))
				}
			}
			if r.Anchor == "" {
				if len(reasons) == 0 {
					r.Reason = "token 1: no trust anchor (public key) was given"
				} else {
					r.Reason = "token 1 is not signed by any trust anchor: " + joinReasons(reasons)
				}
				return r
			}
			r.Path = append(r.Path, r.Anchor)
		} else if err := t.msg.VerifySignature(prev, nil); err != nil {
			r.Reason = fmt.Sprintf("token %d is not signed by the key token %d delegates to (%s): %v (broken link)", j+1, j, r.Path[len(r.Path)-1], err)
			return r
		}
		if err := t.checkTime(now); err != nil {
			r.Reason = fmt.Sprintf("token %d %v", j+1, err)
			return r
		}
		prev = t.Claims.Subject
		r.Key, r.KeyKID = t.Claims.Subject, t.Claims.SubjectKID
		r.Path = append(r.Path, KeyLabel(t.Claims.Subject, t.Claims.SubjectKID))
	}
	r.OK = true
	return r
}

// COSE_Key labels (RFC 9052 §7, RFC 9053).
const (
	ckKty, ckKid, ckCrv, ckX, ckY = 1, 2, -1, -2, -3
	ktyOKP, ktyEC2                = 1, 2
	crvP256, crvP384, crvP521     = 1, 2, 3
	crvEd25519                    = 6
)

// EncodeCOSEKey encodes an EC2 (P-256/384/521) or OKP (Ed25519) public key as a COSE_Key.
func EncodeCOSEKey(pub crypto.PublicKey, kid []byte) ([]byte, error) {
	var pairs []pair
	bs := func(b []byte) []byte { var w writer; w.bytes(b); return w.buf }
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		crv := 0
		switch p.Curve {
		case elliptic.P256():
			crv = crvP256
		case elliptic.P384():
			crv = crvP384
		case elliptic.P521():
			crv = crvP521
		default:
			return nil, errors.New("COSE_Key: unsupported curve")
		}
		size := (p.Curve.Params().BitSize + 7) / 8
		pairs = append(pairs, pair{encInt(ckKty), encInt(ktyEC2)}, pair{encInt(ckCrv), encInt(int64(crv))},
			pair{encInt(ckX), bs(p.X.FillBytes(make([]byte, size)))}, pair{encInt(ckY), bs(p.Y.FillBytes(make([]byte, size)))})
	case ed25519.PublicKey:
		pairs = append(pairs, pair{encInt(ckKty), encInt(ktyOKP)}, pair{encInt(ckCrv), encInt(crvEd25519)}, pair{encInt(ckX), bs(p)})
	default:
		return nil, fmt.Errorf("COSE_Key: unsupported key type %T (EC P-256/384/521 or Ed25519)", pub)
	}
	if len(kid) > 0 {
		pairs = append(pairs, pair{encInt(ckKid), bs(kid)})
	}
	var w writer
	w.mapOf(pairs)
	return w.buf, nil
}

// ParseCOSEKey decodes a public EC2 or OKP COSE_Key and its kid.
func ParseCOSEKey(b []byte) (crypto.PublicKey, []byte, error) {
	r := reader{data: b}
	top, err := r.next(0, 0)
	if err != nil || top.major != majMap || top.end != len(b) {
		return nil, nil, errors.New("COSE_Key must be one CBOR map")
	}
	kids, _ := r.children(top, 0)
	ints := map[int64]int64{}
	bytesOf := map[int64][]byte{}
	for i := 0; i < len(kids); i += 2 {
		k, ok := intValue(kids[i])
		if !ok {
			continue
		}
		v := kids[i+1]
		if n, ok := intValue(v); ok {
			ints[k] = n
		} else if v.major == majBytes {
			bytesOf[k] = v.content(b)
		}
	}
	if _, has := bytesOf[-4]; has {
		return nil, nil, errors.New("COSE_Key holds a private key (d); a delegation carries only the public key")
	}
	kid := bytesOf[ckKid]
	switch ints[ckKty] {
	case ktyEC2:
		var c elliptic.Curve
		switch ints[ckCrv] {
		case crvP256:
			c = elliptic.P256()
		case crvP384:
			c = elliptic.P384()
		case crvP521:
			c = elliptic.P521()
		default:
			return nil, nil, fmt.Errorf("COSE_Key EC2 curve %d is not supported", ints[ckCrv])
		}
		size := (c.Params().BitSize + 7) / 8
		x, y := bytesOf[ckX], bytesOf[ckY]
		if len(x) != size || len(y) != size {
			return nil, nil, fmt.Errorf("COSE_Key EC2 needs x (-2) and y (-3) of %d bytes", size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(c, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, nil, fmt.Errorf("COSE_Key EC2: %w", err)
		}
		return pub, kid, nil
	case ktyOKP:
		x := bytesOf[ckX]
		if ints[ckCrv] != crvEd25519 || len(x) != ed25519.PublicKeySize {
			return nil, nil, errors.New("COSE_Key OKP must be Ed25519 (crv 6) with a 32-byte x")
		}
		return ed25519.PublicKey(append([]byte(nil), x...)), kid, nil
	}
	return nil, nil, fmt.Errorf("COSE_Key kty %d is not supported (EC2 2 or OKP 1)", ints[ckKty])
}

// tryDelegation verifies the envelope's delegation chains and retries each block that no trust
// anchor verified with the key each valid chain delegates to.
func (v *Verification) tryDelegation(re *RawEnvelope, blocks [][]byte, payload []byte, anchors []VerifyKey, now time.Time) error {
	member := re.Member(EnvDelegation)
	if member == nil {
		return nil
	}
	chains, err := VerifyChains(member, anchors, now)
	if err != nil {
		// Not unusable input: the verdict says the member is unusable and nothing vouches for it.
		v.Unauthenticated = append(v.Unauthenticated, "envelope member 1 (suit-delegation) is malformed: "+err.Error())
		return nil
	}
	v.Chains = chains
	for i := range v.Blocks {
		b := &v.Blocks[i]
		if b.Verified {
			continue
		}
		for ci := range chains {
			c := chains[ci]
			if !c.OK {
				b.Reason += "; " + c.Describe()
				continue
			}
			r := verifyBlock(b.Index, blocks[i], payload, []VerifyKey{{Name: c.Describe(), Public: c.Key}})
			if r.Verified {
				r.Delegation = &c
				*b = r
				break
			}
			b.Reason += fmt.Sprintf("; the key of delegation chain %d: %s", c.Index, r.Reason)
		}
	}
	return nil
}
