package suit

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
)

// VerifyKey is a key an envelope may be verified with: a public key (COSE_Sign1) or an HMAC key
// (COSE_Mac0), with a name to report.
type VerifyKey struct {
	Name   string
	Public crypto.PublicKey
	MAC    []byte
}

// BlockResult says what became of one authentication block.
type BlockResult struct {
	Index    int    // position in the authentication wrapper (1 = first block)
	Kind     string // "COSE_Sign1", "COSE_Mac0", ...
	Alg      int64
	AlgName  string
	KID      []byte
	Verified bool
	KeyName  string // the key that verified it
	Reason   string // why it did not verify (with every key tried)
	// Delegation is the chain (envelope member 1) that delegated the verifying key, when the block
	// was not verified by a trust anchor directly.
	Delegation *ChainResult
}

// MemberResult says whether a severed member is carried and matches its digest.
type MemberResult struct {
	Name     string
	Severed  bool // the manifest holds only its digest
	Present  bool // the envelope carries the content
	DigestOK bool
	Reason   string
}

// Verification is the verdict on an envelope's authenticity.
type Verification struct {
	Digest         model.Digest // as claimed by the authentication wrapper
	ComputedDigest []byte       // over the manifest as carried
	DigestOK       bool
	Blocks         []BlockResult
	Members        []MemberResult
	// Payloads is the verdict on each integrated payload: checked against the image digest the
	// signed manifest gives it, or why not.
	Payloads []PayloadResult
	// Unauthenticated lists envelope members that nothing authenticates (unknown keys).
	Unauthenticated []string
	// ManifestAuthentic: the manifest digest matches, at least one block verified with a given key,
	// and every severed member carried matches its digest.
	ManifestAuthentic bool
	// Authentic: the manifest is authentic, every integrated payload matches the image digest the
	// manifest checks it against, and the envelope carries nothing else unauthenticated.
	Authentic bool
	// Reason is a one-line explanation when not authentic.
	Reason string
	// Chains is the verdict on each delegation chain the envelope carries (member 1).
	Chains []ChainResult
}

// Verify checks an envelope: the manifest digest, then each authentication block against every key,
// then the severed members carried in the envelope. It fails only on unusable input; the verdict is
// in the result.
func Verify(data []byte, keys []VerifyKey) (*Verification, error) {
	return VerifyAt(data, keys, time.Now())
}

// VerifyAt is Verify with the clock that delegation tokens' exp and nbf are checked against. The
// keys are the trust anchors: a block that none of them verifies is tried with the key each valid
// delegation chain (envelope member 1) delegates to.
func VerifyAt(data []byte, keys []VerifyKey, now time.Time) (*Verification, error) {
	re, err := SplitEnvelope(data)
	if err != nil {
		return nil, err
	}
	auth, err := re.Auth()
	if err != nil {
		return nil, err
	}
	v := &Verification{Digest: auth.Digest}
	computed, err := re.ManifestDigest(auth.Digest.Alg)
	if err != nil {
		return nil, err
	}
	v.ComputedDigest = computed.Bytes
	v.DigestOK = bytes.Equal(computed.Bytes, auth.Digest.Bytes)
	payload := encodeDigest(&auth.Digest)
	for i, blk := range auth.Blocks {
		v.Blocks = append(v.Blocks, verifyBlock(i+1, blk, payload, keys))
	}
	if err := v.tryDelegation(re, auth.Blocks, payload, keys, now); err != nil {
		return nil, err
	}
	// Severed members: each carried one is checked against its digest in the manifest; one that
	// does not match is reported by name and set aside, so that the others (and the payloads the
	// remaining sequences check) are still verified.
	env, bad, derr := decodeSettingAsideSevered(re, data)
	if derr != nil {
		return nil, derr
	}
	badNames := map[string]bool{}
	for _, m := range bad {
		badNames[m.Name] = true
	}
	all := severances(env.Manifest)
	for _, name := range SeverableMembers {
		e := all[name]
		if badNames[name] {
			for _, m := range bad {
				if m.Name == name {
					v.Members = append(v.Members, m)
				}
			}
			continue
		}
		if !e.s.Severed {
			continue
		}
		v.Members = append(v.Members, MemberResult{Name: name, Severed: true, Present: e.s.Present, DigestOK: e.s.Present,
			Reason: map[bool]string{true: "carried, digest matches", false: "not carried in this envelope (severed)"}[e.s.Present]})
	}
	{
		for _, u := range env.Unknown {
			if bytes.Equal(u.Key, encInt(EnvDelegation)) {
				continue // verified as a chain, not authenticated by the manifest signature
			}
			v.Unauthenticated = append(v.Unauthenticated, fmt.Sprintf("envelope member with key %x", u.Key))
		}
		// An integrated payload is outside the signature; it is authenticated only by an image digest
		// of the signed manifest that a check of the manifest compares it with.
		v.Payloads = CheckPayloads(env)
	}
	anyOK := false
	for _, b := range v.Blocks {
		anyOK = anyOK || b.Verified
	}
	membersOK := true
	for _, m := range v.Members {
		if m.Present && !m.DigestOK {
			membersOK = false
		}
	}
	payloadsOK := true
	var badPayloads []string
	for _, p := range v.Payloads {
		if p.Status != PayloadMatches {
			payloadsOK = false
			badPayloads = append(badPayloads, fmt.Sprintf("integrated payload %q is %s: %s", p.Key, p.Status, p.Reason))
		}
	}
	v.ManifestAuthentic = v.DigestOK && anyOK && membersOK
	v.Authentic = v.ManifestAuthentic && payloadsOK && len(v.Unauthenticated) == 0
	switch {
	case !v.DigestOK:
		v.Reason = fmt.Sprintf("the manifest digest does not match: the wrapper says %x, the manifest hashes to %x (the manifest was changed after signing)", auth.Digest.Bytes, computed.Bytes)
	case len(v.Blocks) == 0:
		v.Reason = "the envelope has no authentication block (it is not signed)"
	case len(keys) == 0:
		v.Reason = "no key was given to verify with"
	case !anyOK:
		v.Reason = "no authentication block verified with the given keys"
	case !membersOK:
		v.Reason = "a severed member carried in the envelope does not match its digest in the manifest"
	case len(v.Unauthenticated) > 0:
		v.Reason = "the envelope carries members that nothing authenticates: " + joinReasons(v.Unauthenticated)
	case !payloadsOK:
		v.Reason = "the manifest is authentic, but " + joinReasons(badPayloads)
	}
	return v, nil
}

func verifyBlock(index int, blk, payload []byte, keys []VerifyKey) BlockResult {
	r := BlockResult{Index: index}
	msg, err := cose.Parse(blk)
	if err != nil {
		r.Kind = "unreadable"
		r.Reason = err.Error()
		return r
	}
	r.Alg, r.AlgName, r.KID = msg.Alg, cose.AlgorithmName(msg.Alg), msg.KID
	switch msg.Tag {
	case 18:
		r.Kind = "COSE_Sign1"
	case 17:
		r.Kind = "COSE_Mac0"
	default:
		r.Kind = fmt.Sprintf("COSE tag %d", msg.Tag)
	}
	var reasons []string
	for _, k := range keys {
		var err error
		switch {
		case msg.Tag == 18 && k.Public != nil:
			err = msg.VerifySignature(k.Public, payload)
		case msg.Tag == 17 && k.MAC != nil:
			err = msg.VerifyMAC(k.MAC, payload)
		default:
			continue
		}
		if err == nil {
			r.Verified, r.KeyName = true, k.Name
			return r
		}
		reasons = append(reasons, fmt.Sprintf("%s: %v", k.Name, err))
	}
	switch {
	case len(reasons) == 0 && msg.Tag == 17:
		r.Reason = "a MAC block, and no HMAC key was given"
	case len(reasons) == 0:
		r.Reason = "no public key was given"
	default:
		r.Reason = joinReasons(reasons)
	}
	return r
}

func joinReasons(rs []string) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += "; "
		}
		s += r
	}
	return s
}

// AddAuthBlocks appends authentication blocks to an envelope without touching its manifest. sign is
// called with the detached payload (the encoded SUIT_Digest) and returns the encoded COSE blocks.
// The manifest digest is recomputed first (signers MUST check it): an envelope whose wrapper digest
// does not match its manifest is refused. An envelope with no authentication wrapper gets one.
func AddAuthBlocks(data []byte, sign func(payload []byte) ([][]byte, error)) ([]byte, error) {
	// Never sign what does not decode: a signature vouches for a manifest a processor can read.
	if _, err := Decode(data); err != nil {
		return nil, err
	}
	re, err := SplitEnvelope(data)
	if err != nil {
		return nil, err
	}
	auth, aerr := re.Auth()
	alg := int64(model.AlgSHA256)
	if aerr == nil {
		alg = auth.Digest.Alg
	}
	computed, err := re.ManifestDigest(alg)
	if err != nil {
		return nil, err
	}
	if aerr == nil && !bytes.Equal(auth.Digest.Bytes, computed.Bytes) {
		return nil, &DecodeError{Path: "envelope/authentication-wrapper/digest", Err: fmt.Errorf("%w: the wrapper's digest does not match the manifest; refusing to sign", ErrStructure),
			Hint: "rebuild the envelope (suit create) before signing"}
	}
	var blocks [][]byte
	if aerr == nil {
		blocks = auth.Blocks
		computed.Extensions = auth.Digest.Extensions
	}
	nb, err := sign(encodeDigest(computed))
	if err != nil {
		return nil, err
	}
	blocks = append(append([][]byte(nil), blocks...), nb...)
	re.Set(model.EnvAuthentication, wrap(encodeAuth(computed, blocks)))
	return re.Bytes(), nil
}

// StripAuthBlocks removes every authentication block, keeping the digest.
func StripAuthBlocks(data []byte) ([]byte, error) {
	re, err := SplitEnvelope(data)
	if err != nil {
		return nil, err
	}
	d, err := re.ManifestDigest(0)
	if err != nil {
		return nil, err
	}
	re.Set(model.EnvAuthentication, wrap(encodeAuth(d, nil)))
	return re.Bytes(), nil
}

// Scope says what the verdict covers: the manifest (with its severed members), and which
// integrated payloads were checked against the manifest's image digests.
func (v *Verification) Scope() string {
	s := "the manifest"
	var carried []string
	for _, m := range v.Members {
		if m.Present && m.DigestOK {
			carried = append(carried, m.Name)
		}
	}
	if len(carried) > 0 {
		s += " (with its severed " + strings.Join(carried, ", ") + ")"
	}
	var ok, not []string
	for _, p := range v.Payloads {
		if p.Status == PayloadMatches {
			ok = append(ok, fmt.Sprintf("%q", p.Key))
		} else {
			not = append(not, fmt.Sprintf("%q (%s)", p.Key, p.Status))
		}
	}
	switch {
	case len(v.Payloads) == 0:
		s += "; the envelope carries no integrated payload"
	case len(ok) > 0:
		s += " and integrated payload"
		if len(ok) > 1 {
			s += "s"
		}
		s += " " + strings.Join(ok, ", ")
	}
	if len(not) > 0 {
		s += "; NOT covered: integrated payload " + strings.Join(not, ", ")
	}
	return s
}

// decodeSettingAsideSevered decodes an envelope; a severed member whose digest does not match the
// manifest is reported (by name, with both digests) and removed, and decoding goes on without it.
func decodeSettingAsideSevered(re *RawEnvelope, data []byte) (*model.Envelope, []MemberResult, error) {
	var bad []MemberResult
	for range len(SeverableMembers) + 1 {
		env, err := Decode(data)
		if err == nil {
			return env, bad, nil
		}
		var de *DecodeError
		if !errors.Is(err, ErrDigestMismatch) || !errors.As(err, &de) {
			return nil, nil, err
		}
		key, ok := severableKey(strings.TrimPrefix(de.Path, "envelope/"))
		if !ok || re.Member(key) == nil {
			return nil, nil, err
		}
		bad = append(bad, MemberResult{Name: severableName(key), Severed: true, Present: true, DigestOK: false, Reason: de.Err.Error()})
		re.Delete(key)
		data = re.Bytes()
	}
	return nil, nil, errors.New("severed members: too many mismatches")
}

func severableKey(name string) (int64, bool) {
	for _, k := range []int64{model.EnvPayloadFetch, model.EnvInstall, model.EnvText, model.EnvDependencyResolution, model.EnvCandidateVerification, model.EnvCoswid} {
		if severableName(k) == name {
			return k, true
		}
	}
	return 0, false
}
