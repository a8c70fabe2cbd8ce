package signer

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"

	"github.com/miekg/pkcs11"
)

// ECDH computes the ECDH shared secret (the x-coordinate, as COSE ECDH-ES
// uses it) of this token key and remote on the token (CKM_ECDH1_DERIVE with
// CKD_NULL). The secret lands in a session object that is read once and
// destroyed; the private key never leaves the token. The key needs the derive
// usage (CKA_DERIVE), e.g. pkcs11-tool --keypairgen --usage-derive.
func (k *p11Key) ECDH(remote *ecdh.PublicKey) ([]byte, error) {
	ep, ok := k.pub.(*ecdsa.PublicKey)
	if !ok || ep.Curve != elliptic.P256() {
		return nil, &KeyError{Ref: k.desc, Step: "ECDH", Err: fmt.Errorf("%w: only P-256 token keys can do ECDH here", ErrWrongKeyType)}
	}
	if remote.Curve() != ecdh.P256() {
		return nil, &KeyError{Ref: k.desc, Step: "ECDH", Err: fmt.Errorf("%w: the other key is not on P-256", ErrWrongKeyType)}
	}
	params := pkcs11.NewECDH1DeriveParams(pkcs11.CKD_NULL, nil, remote.Bytes())
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
	}
	var secret []byte
	err := k.s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		h, err := ctx.DeriveKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDH1_DERIVE, params)}, k.h, tmpl)
		if err != nil {
			return err
		}
		defer ctx.DestroyObject(sh, h)
		a, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err != nil {
			return err
		}
		secret = a[0].Value
		return nil
	})
	if err != nil {
		err = p11err(err)
		if isCKR(err, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED) || isCKR(err, pkcs11.CKR_KEY_TYPE_INCONSISTENT) {
			err = fmt.Errorf("%w: the key may not derive (CKA_DERIVE is false): generate a key with the derive usage for decryption: %v", ErrWrongKeyType, err)
		}
		return nil, &KeyError{Ref: k.desc, Step: "ECDH", Err: err}
	}
	if len(secret) != 32 {
		return nil, &KeyError{Ref: k.desc, Step: "ECDH", Err: fmt.Errorf("the token returned a %d-byte shared secret, want 32", len(secret))}
	}
	return secret, nil
}

// Curve is the key's ECDH curve (P-256), or nil for other keys.
func (k *p11Key) Curve() ecdh.Curve {
	if ep, ok := k.pub.(*ecdsa.PublicKey); ok && ep.Curve == elliptic.P256() {
		return ecdh.P256()
	}
	return nil
}
