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
// For payload encryption (draft-ietf-suit-firmware-encryption) ParseEncrypt
// reads a COSE_Encrypt (tag 96, the SUIT_Encryption_Info) or COSE_Encrypt0,
// ContentKey opens a COSE_recipient with a key-encryption key (AES-KW, RFC
// 3394, KeyWrap) or a private key (ECDH-ES + AES-KW over P-256 or X25519, with
// HKDF-SHA-256 and the SUIT COSE_KDF_Context, KDFContext), and
// ContentDecrypter decrypts A128/192/256GCM, ChaCha20/Poly1305 and
// A128/192/256CTR piece by piece in constant memory, holding the tag back
// until Final. EncryptDetached builds the SUIT_Encryption_Info and the
// ciphertext for any number of recipients.
//
// Every encoding this package produces is core deterministic CBOR (RFC 8949
// §4.2.1). Decoding rejects indefinite lengths and duplicate map keys, and has
// fixed nesting and size limits, but accepts header maps whose keys are not in
// canonical order (such maps occur in the official firmware-encryption
// examples).
package cose
