package app

import (
	"crypto"
	"crypto/ecdh"
	"errors"
	"fmt"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
)

// CheckProfileRecipients says whether the recipients fit an MTI profile's key
// exchange: AES-KW with a KEK of the profile's size, or ECDH-ES + A128KW to a
// P-256 or X25519 key.
func CheckProfileRecipients(p model.MTIProfile, specs []cose.RecipientSpec) error {
	if len(specs) == 0 {
		return errors.New("no recipient")
	}
	for i, s := range specs {
		if s.Alg != p.KeyExchange {
			want := cose.AlgorithmName(p.KeyExchange)
			if p.KeyExchange == cose.AlgECDHESA128KW {
				want += " (a P-256 or X25519 public key)"
			} else {
				want += fmt.Sprintf(" (a %d-byte key-encryption key)", map[int64]int{cose.AlgA128KW: 16, cose.AlgA256KW: 32}[p.KeyExchange])
			}
			return fmt.Errorf("recipient %d uses %s, profile %s needs %s", i+1, cose.AlgorithmName(s.Alg), p.Name, want)
		}
		if s.Public != nil && s.Public.Curve() != ecdh.P256() && s.Public.Curve() != ecdh.X25519() {
			return fmt.Errorf("recipient %d: only P-256 and X25519 keys", i+1)
		}
	}
	return nil
}

// EncryptIntoEnvelope encrypts an image for the recipients and writes the
// result into the envelope's install sequence where it decrypts (the write
// or copy whose component has the encryption-info parameter; the MTI
// templates and the spec's examples have one): the encryption-info, the
// plaintext's digest and size beside it; for copy, the ciphertext as the
// integrated payload the source component fetches, with its digest and size
// where that fetch checks them (draft-ietf-suit-firmware-encryption §7).
func EncryptIntoEnvelope(env *model.Envelope, plaintext []byte, contentAlg int64, recipients []cose.RecipientSpec) (*EncryptResult, error) {
	m := env.Manifest
	if m == nil || m.Install.Seq == nil {
		return nil, errors.New("the manifest has no install sequence to put an encrypted payload in")
	}
	res, err := EncryptPayload(EncryptRequest{Plaintext: plaintext, ContentAlg: contentAlg, Recipients: recipients})
	if err != nil {
		return nil, err
	}
	plainLen := uint64(len(res.Ciphertext) - res.Algorithm.TagSize)
	// The component that decrypts (dst) and where its ciphertext comes from (src).
	dst, src := ^uint64(0), ^uint64(0)
	walkOverrides(m.Install.Seq, func(cur uint64, c *model.Command) {
		for _, p := range c.Params {
			if p.Label == model.ParamEncryptionInfo && dst == ^uint64(0) {
				dst = cur
			}
		}
	})
	if dst == ^uint64(0) {
		return nil, errors.New("the install sequence sets no encryption-info parameter: start from an MTI template, or add override-parameters with encryption-info before write or copy")
	}
	placed := false
	seqs := []*model.CommandSequence{m.Common.SharedSequence, m.PayloadFetch.Seq, m.Install.Seq, m.Validate, m.Load, m.Invoke}
	for _, seq := range seqs {
		walkOverrides(seq, func(cur uint64, c *model.Command) {
			if cur != dst {
				return
			}
			for j := range c.Params {
				p := &c.Params[j]
				switch p.Label {
				case model.ParamEncryptionInfo:
					p.Value = model.Value{Kind: model.KindWrapped, Bytes: res.Info}
				case model.ParamImageDigest:
					p.Value = model.Value{Kind: model.KindDigest, Digest: &model.Digest{Alg: model.AlgSHA256, Bytes: res.PlaintextDigest[:]}}
				case model.ParamImageSize:
					p.Value = model.Value{Kind: model.KindUint, Uint: plainLen}
				case model.ParamSourceComponent:
					src = p.Value.Uint
				case model.ParamContent:
					p.Value = model.Value{Kind: model.KindBytes, Bytes: res.Ciphertext}
					placed = true
				}
			}
		})
	}
	if src != ^uint64(0) {
		for _, seq := range seqs {
			walkOverrides(seq, func(cur uint64, c *model.Command) {
				if cur != src {
					return
				}
				for j := range c.Params {
					p := &c.Params[j]
					switch p.Label {
					case model.ParamImageDigest:
						p.Value = model.Value{Kind: model.KindDigest, Digest: &model.Digest{Alg: model.AlgSHA256, Bytes: res.CiphertextDigest[:]}}
					case model.ParamImageSize:
						p.Value = model.Value{Kind: model.KindUint, Uint: uint64(len(res.Ciphertext))}
					case model.ParamURI:
						if uri := p.Value.Text; len(uri) > 0 && uri[0] == '#' {
							setIntegrated(env, uri, res.Ciphertext)
							placed = true
						}
					}
				}
			})
		}
	}
	if !placed {
		return res, fmt.Errorf("the ciphertext has no place in the envelope (no content parameter, no integrated payload fetched by the source component): carry %d bytes of ciphertext at the URI the manifest fetches", len(res.Ciphertext))
	}
	return res, nil
}

// walkOverrides calls f for every override-parameters and set-parameters in
// seq (and its try-each alternatives) with the component index then current
// (a single index; 0 at the start).
func walkOverrides(seq *model.CommandSequence, f func(cur uint64, c *model.Command)) {
	if seq == nil {
		return
	}
	cur := uint64(0)
	for i := range seq.Commands {
		c := &seq.Commands[i]
		switch c.Label {
		case model.DirSetComponentIndex:
			if c.Index != nil && len(c.Index.Indices) == 1 && !c.Index.All {
				cur = c.Index.Indices[0]
			}
		case model.DirOverrideParameters, model.DirSetParameters:
			f(cur, c)
		case model.DirTryEach:
			for _, alt := range c.Sequences {
				walkOverrides(alt, func(_ uint64, c *model.Command) { f(cur, c) })
			}
		}
	}
}

func setIntegrated(env *model.Envelope, key string, data []byte) {
	for i := range env.Integrated {
		if env.Integrated[i].Key == key {
			env.Integrated[i].Data = data
			return
		}
	}
	env.Integrated = append(env.Integrated, model.IntegratedPayload{Key: key, Data: data})
}

// ProfileOf says which MTI profile an envelope's encrypted payload follows
// (its content encryption and key exchange), or nil. Between profiles that
// share both (ESP256 or Ed25519 with ECDH-ES + A128KW and A128CTR), the
// signing key decides; pass its public key, or nil for the first match.
func ProfileOf(env *model.Envelope, pub any) *model.MTIProfile {
	if env == nil || env.Manifest == nil {
		return nil
	}
	var info *cose.Encrypt
	for _, p := range FindEncryptedPayloads(env, nil) {
		if p.Parsed != nil && len(p.Parsed.Recipients) > 0 {
			info = p.Parsed
			break
		}
	}
	if info == nil {
		return nil
	}
	var match *model.MTIProfile
	for _, p := range model.MTIProfiles() {
		if p.Encryption != info.Alg || p.KeyExchange != info.Recipients[0].Alg {
			continue
		}
		p := p
		if match == nil {
			match = &p
		}
		if pub != nil && authFits(p.Auth, pub) {
			return &p
		}
	}
	return match
}

func authFits(alg int64, pub any) bool {
	switch alg {
	case cose.AlgESP256:
		a, err := cose.AlgorithmForKey(pub)
		return err == nil && a == cose.AlgES256
	case cose.AlgEd25519:
		a, err := cose.AlgorithmForKey(pub)
		return err == nil && a == cose.AlgEdDSA
	case cose.AlgHMAC256:
		return pub == nil
	case cose.AlgHSSLMS:
		a, err := cose.AlgorithmForKey(pub)
		return err == nil && a == cose.AlgHSSLMS
	}
	return false
}

// SignAlgorithmFor is the COSE algorithm to sign env with key: the MTI
// profile's (ESP256 rather than ES256, Ed25519 rather than EdDSA) when the
// envelope carries a payload encrypted per a profile the key fits, else 0
// (the key's default).
func SignAlgorithmFor(env *model.Envelope, key any) int64 {
	k, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return 0
	}
	if p := ProfileOf(env, k.Public()); p != nil && authFits(p.Auth, k.Public()) {
		return p.Auth
	}
	return 0
}
