// Package cose makes and checks the COSE messages that authenticate a SUIT
// manifest (RFC 9052, draft-ietf-suit-manifest-37 §8.3).
//
// A SUIT authentication block signs the SUIT_Digest of the manifest, not the
// manifest itself, and carries it detached: the COSE payload field is null and
// the verifier supplies the encoded SUIT_Digest D (the content of auth[0]). The
// ToBeSigned is therefore
//
//	["Signature1", protected, h'', bstr(D)]
//
// which for ES256 is always 55 bytes long.
//
// Sign1 accepts any crypto.Signer, so the private key may live in an HSM:
// ECDSA signers return ASN.1 DER, which is converted to the fixed-size r||s
// that COSE requires. Mac0 makes an HMAC 256/256 COSE_Mac0. Parse reads any
// COSE_Sign1_Tagged or COSE_Mac0_Tagged message, keeping the protected header
// bytes exactly as received (they are what the signature covers), and
// Message.VerifySignature / Message.VerifyMAC check it.
//
// Every encoding this package produces is core deterministic CBOR (RFC 8949
// §4.2.1). Decoding rejects indefinite lengths and duplicate map keys, and has
// fixed nesting and size limits, but accepts header maps whose keys are not in
// canonical order (such maps occur in the official firmware-encryption
// examples).
package cose
