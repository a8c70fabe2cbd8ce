package devicesim

// Delegation chains on the device (envelope member 1, suit-delegation; draft-ietf-suit-trust-domains,
// information model "Delegation Chain"): SUIT_Delegation = [+ [+ bstr .cbor CWT]], each CWT a
// COSE_Sign1_Tagged with its claims attached; the cnf claim (8) holds {1: COSE_Key} (RFC 8747).
// When no trust anchor verifies an authentication block, the device walks the chains one at a
// time: token 1 must verify with a trust anchor that may sign this manifest, each next token with
// the key the previous one delegates to, and the block with the key of the last token. Only the
// current delegated key (65 bytes), one token's protected header, signature and Sig_structure are
// in RAM at a time; the SHA-256 state is charged while a P-256 signature is checked.

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	maxDelegationChains = 4   // chains the device looks at
	maxDelegationTokens = 4   // tokens in one chain
	maxTokenClaims      = 320 // bytes of one token's CWT claims
	delegatedKeySize    = 65  // P-256 uncompressed point (Ed25519 keys use 32 of it)
)

// errChainRefused marks a reason a chain was refused (the walk goes on with the next chain).
type chainRefused struct{ reason string }

func (e *chainRefused) Error() string { return e.reason }

func refuse(format string, args ...any) error {
	return &chainRefused{fmt.Sprintf(format, args...)}
}

// verifyDelegated is tried when no trust anchor verified an authentication block: kind is the key
// kind its algorithm needs, sigStruct and sig the block's Sig_structure and signature. It returns
// (false, nil) when the envelope carries no delegation.
func (p *proc) verifyDelegated(kind byte, cmd, arg string, sigStruct, sig []byte) (bool, error) {
	r, ok := p.members[1]
	if !ok {
		return false, nil
	}
	c := newCursor(p.envSrc, "delegation", r.off, r.end)
	io, in, err := c.bstr()
	if err != nil {
		return false, err
	}
	c, err = newItemCursor(p.envSrc, "delegation", io, io+in)
	if err != nil {
		return false, err
	}
	nch, err := c.array()
	if err != nil {
		return false, err
	}
	if nch < 1 || nch > maxDelegationChains {
		return false, p.fail(false, -1, cmd, arg, ErrUnsupported, "the envelope carries %d delegation chains (this device looks at 1 to %d)", nch, maxDelegationChains)
	}
	var reasons []string
	for ci := 1; ci <= nch; ci++ {
		nt, err := c.array()
		if err != nil {
			return false, err
		}
		if nt < 1 || nt > maxDelegationTokens {
			return false, p.fail(false, -1, cmd, arg, ErrUnsupported, "delegation chain %d has %d tokens (this device follows 1 to %d)", ci, nt, maxDelegationTokens)
		}
		var toks [maxDelegationTokens]rng
		for j := 0; j < nt; j++ {
			o, n, err := c.bstr()
			if err != nil {
				return false, err
			}
			toks[j] = rng{o, o + n}
		}
		how, err := p.walkChain(toks[:nt], kind, sigStruct, sig)
		var cr *chainRefused
		switch {
		case err == nil:
			p.pass(-1, cmd, fmt.Sprintf("%s with a key delegated by chain %d (%s)", arg, ci, how))
			return true, nil
		case errors.As(err, &cr):
			reasons = append(reasons, fmt.Sprintf("delegation chain %d refused: %s", ci, cr.reason))
		default:
			return false, err
		}
	}
	return false, p.fail(false, -1, cmd, arg, ErrSignature, "no trust anchor verifies the block, and %s", strings.Join(reasons, "; "))
}

// walkChain verifies one chain and then the block with its last key.
func (p *proc) walkChain(toks []rng, kind byte, sigStruct, sig []byte) (string, error) {
	kb, err := p.alloc("delegated key (cnf)", delegatedKeySize, true)
	if err != nil {
		return "", err
	}
	defer kb.Free()
	var cur anchor
	how := ""
	for j, t := range toks {
		next, from, err := p.verifyToken(j+1, t, cur, kb.Buf)
		if err != nil {
			return "", err
		}
		if j == 0 {
			how = "from trust anchor #" + fmt.Sprint(from)
		}
		cur = next
	}
	how = fmt.Sprintf("%d token(s) %s", len(toks), how)
	if cur.kind != kind {
		return "", refuse("the last token delegates to a %s key, the block needs a %s key", anchorKindName(cur.kind), anchorKindName(kind))
	}
	ok, err := p.verifyWith(cur, sigStruct, sig)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", refuse("the block's signature does not verify with the key the chain delegates to (%s)", how)
	}
	return how, nil
}

func anchorKindName(k byte) string {
	switch k {
	case anchorP256:
		return "P-256"
	case anchorEd25519:
		return "Ed25519"
	case anchorHSSLMS:
		return "HSS-LMS"
	}
	return "unknown"
}

// verifyToken checks token j (range t) with prev (token 1: with the trust anchors) and returns the
// key its cnf claim delegates to, written into keyBuf, and (token 1) the anchor's number.
func (p *proc) verifyToken(j int, t rng, prev anchor, keyBuf []byte) (anchor, int, error) {
	where := fmt.Sprintf("delegation token %d", j)
	c, err := newItemCursor(p.envSrc, where, t.off, t.end)
	if err != nil {
		return anchor{}, 0, refuse("token %d: %v", j, err)
	}
	if tag, ok, err := c.optTag(); err != nil || !ok || tag != 18 {
		return anchor{}, 0, refuse("token %d is not a tagged COSE_Sign1 (18)", j)
	}
	if n, err := c.array(); err != nil || n != 4 {
		return anchor{}, 0, refuse("token %d: COSE_Sign1 must be an array of 4", j)
	}
	po, pn, err := c.bstr()
	if err != nil || pn > 32 {
		return anchor{}, 0, refuse("token %d: protected header missing or over 32 bytes", j)
	}
	if major, _, _, err := c.peek(); err != nil || major != majMap {
		return anchor{}, 0, refuse("token %d: unprotected header is not a map", j)
	}
	if err := c.skip(); err != nil {
		return anchor{}, 0, refuse("token %d: %v", j, err)
	}
	clo, cln, err := c.bstr()
	if err != nil {
		return anchor{}, 0, refuse("token %d: the CWT claims must be attached (a byte string)", j)
	}
	if cln > maxTokenClaims {
		return anchor{}, 0, refuse("token %d: %d bytes of claims (this device reads at most %d)", j, cln, maxTokenClaims)
	}
	so, sn, err := c.bstr()
	if err != nil || sn != 64 {
		return anchor{}, 0, refuse("token %d: signature missing or not 64 bytes", j)
	}
	// Sig_structure = ["Signature1", protected, h'', claims] in RAM.
	sigLen := 1 + 11 + headLen(pn) + pn + 1 + headLen(cln) + cln
	sb, err := p.alloc(fmt.Sprintf("token %d Sig_structure", j), sigLen, true)
	if err != nil {
		return anchor{}, 0, err
	}
	defer sb.Free()
	b := append(sb.Buf[:0], 0x84, 0x6a)
	b = append(b, "Signature1"...)
	b = appendHead(b, majBstr, pn)
	prot := b[len(b) : len(b)+pn]
	b = b[:len(b)+pn]
	if err := p.envSrc.readAt(prot, po); err != nil {
		return anchor{}, 0, err
	}
	b = append(b, 0x40)
	b = appendHead(b, majBstr, cln)
	claims := b[len(b) : len(b)+cln]
	b = b[:len(b)+cln]
	if err := p.envSrc.readAt(claims, clo); err != nil {
		return anchor{}, 0, err
	}
	alg, err := protectedAlg(prot)
	if err != nil {
		return anchor{}, 0, refuse("token %d: %v", j, err)
	}
	var kind byte
	switch alg {
	case algES256, algESP256:
		kind = anchorP256
	case algEdDSA, algEd25519:
		kind = anchorEd25519
	default:
		return anchor{}, 0, refuse("token %d: COSE algorithm %d is not supported for delegation (ES256, ESP256, EdDSA, Ed25519)", j, alg)
	}
	sig, err := p.alloc(fmt.Sprintf("token %d signature", j), sn, true)
	if err != nil {
		return anchor{}, 0, err
	}
	defer sig.Free()
	if err := p.envSrc.readAt(sig.Buf, so); err != nil {
		return anchor{}, 0, err
	}
	from := 0
	if j == 1 {
		for k, a := range p.st.anchors {
			if a.kind != kind || !p.anchorMaySign(a) {
				continue
			}
			ok, err := p.verifyWith(a, b, sig.Buf)
			if err != nil {
				return anchor{}, 0, err
			}
			if ok {
				from = k + 1
				break
			}
		}
		if from == 0 {
			return anchor{}, 0, refuse("token 1 is not signed by a %s trust anchor that may sign %s", coseAlgName(alg), p.manifestRole())
		}
	} else {
		if prev.kind != kind {
			return anchor{}, 0, refuse("token %d is signed with %s, token %d delegates to a %s key (broken link)", j, coseAlgName(alg), j-1, anchorKindName(prev.kind))
		}
		ok, err := p.verifyWith(prev, b, sig.Buf)
		if err != nil {
			return anchor{}, 0, err
		}
		if !ok {
			return anchor{}, 0, refuse("token %d is not signed by the key token %d delegates to (broken link)", j, j-1)
		}
	}
	// The claims are authentic now: read the validity window and the delegated key.
	next, err := p.tokenClaims(j, claims, keyBuf)
	return next, from, err
}

// tokenClaims reads exp (4), nbf (5) and cnf (8) {1: COSE_Key} from verified claims in RAM.
func (p *proc) tokenClaims(j int, claims, keyBuf []byte) (anchor, error) {
	c, err := newItemCursor(ramSource(claims), fmt.Sprintf("delegation token %d claims", j), 0, len(claims))
	if err != nil {
		return anchor{}, refuse("token %d claims: %v", j, err)
	}
	n, err := c.mapHead()
	if err != nil {
		return anchor{}, refuse("token %d: the CWT claims are not a map", j)
	}
	clock := p.devPolicy().Clock
	var key anchor
	for i := 0; i < n; i++ {
		if major, _, _, err := c.peek(); err != nil {
			return anchor{}, refuse("token %d claims: %v", j, err)
		} else if major == majTstr {
			_, _, _ = c.tstr()
			if err := c.skip(); err != nil {
				return anchor{}, refuse("token %d claims: %v", j, err)
			}
			continue
		}
		k, err := c.int()
		if err != nil {
			return anchor{}, refuse("token %d claims: %v", j, err)
		}
		switch k {
		case 4, 5:
			v, err := c.int()
			if err != nil {
				return anchor{}, refuse("token %d: exp/nbf must be an integer", j)
			}
			at := time.Unix(v, 0).UTC()
			name := map[int64]string{4: "exp", 5: "nbf"}[k]
			if clock.IsZero() {
				return anchor{}, refuse("token %d has %s %s and this device has no clock to check it (set one in the simulator's policy)", j, name, at.Format(time.RFC3339))
			}
			if k == 4 && !clock.Before(at) {
				return anchor{}, refuse("token %d expired at %s (device clock %s)", j, at.Format(time.RFC3339), clock.UTC().Format(time.RFC3339))
			}
			if k == 5 && clock.Before(at) {
				return anchor{}, refuse("token %d is not valid before %s (device clock %s)", j, at.Format(time.RFC3339), clock.UTC().Format(time.RFC3339))
			}
		case 8:
			if key, err = readCnf(c, keyBuf); err != nil {
				return anchor{}, refuse("token %d: cnf: %v", j, err)
			}
		default:
			if err := c.skip(); err != nil {
				return anchor{}, refuse("token %d claims: %v", j, err)
			}
		}
	}
	if key.kind == 0 {
		return anchor{}, refuse("token %d has no cnf (8) claim with a COSE_Key: it delegates to no key", j)
	}
	return key, nil
}

// readCnf reads {1: COSE_Key} and copies the public key into keyBuf.
func readCnf(c *cursor, keyBuf []byte) (anchor, error) {
	n, err := c.mapHead()
	if err != nil {
		return anchor{}, err
	}
	var key anchor
	for i := 0; i < n; i++ {
		k, err := c.int()
		if err != nil {
			return anchor{}, err
		}
		if k != 1 {
			if err := c.skip(); err != nil {
				return anchor{}, err
			}
			continue
		}
		m, err := c.mapHead()
		if err != nil {
			return anchor{}, err
		}
		var kty, crv int64
		var x, y rng
		for e := 0; e < m; e++ {
			l, err := c.int()
			if err != nil {
				return anchor{}, err
			}
			switch l {
			case 1, -1:
				v, err := c.int()
				if err != nil {
					return anchor{}, err
				}
				if l == 1 {
					kty = v
				} else {
					crv = v
				}
			case -2, -3:
				o, n, err := c.bstr()
				if err != nil {
					return anchor{}, err
				}
				if l == -2 {
					x = rng{o, o + n}
				} else {
					y = rng{o, o + n}
				}
			case -4:
				return anchor{}, fmt.Errorf("the COSE_Key holds a private key (d)")
			default:
				if err := c.skip(); err != nil {
					return anchor{}, err
				}
			}
		}
		src := c.src.(ramSource)
		switch {
		case kty == 2 && crv == 1 && x.n() == 32 && y.n() == 32:
			keyBuf[0] = 4
			copy(keyBuf[1:33], src[x.off:x.end])
			copy(keyBuf[33:65], src[y.off:y.end])
			key = anchor{kind: anchorP256, key: keyBuf[:65]}
		case kty == 1 && crv == 6 && x.n() == 32:
			copy(keyBuf[:32], src[x.off:x.end])
			key = anchor{kind: anchorEd25519, key: keyBuf[:32]}
		default:
			return anchor{}, fmt.Errorf("COSE_Key kty %d crv %d is not a key this device verifies with (EC2 P-256, OKP Ed25519)", kty, crv)
		}
	}
	return key, nil
}
