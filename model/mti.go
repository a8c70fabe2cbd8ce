package model

// MTIProfile is one of the mandatory-to-implement algorithm profiles of
// draft-ietf-suit-mti (§3): the digest, authentication, key exchange and
// content encryption algorithms, as COSE ids.
type MTIProfile struct {
	Name          string // e.g. "suit-sha256-esp256-ecdh-a128gcm"
	Digest        int64  // -16 SHA-256
	Auth          int64  // 5 HMAC-256, -9 ESP256, -19 Ed25519, -46 HSS-LMS
	KeyExchange   int64  // -3 A128KW, -5 A256KW, -29 ECDH-ES + A128KW
	Encryption    int64  // -65534 A128CTR, -65532 A256CTR, 1 A128GCM, 24 ChaCha20/Poly1305
	AEAD          bool   // the content encryption has a tag
	Implemented   bool   // this studio can sign with Auth
	TemplateID    string // the template built on it ("" when none)
	Authenticator string // what authenticates the manifest, for people
	Distribution  string // how the content key reaches the device, for people
}

// MTIProfiles lists the six profiles of draft-ietf-suit-mti, in its order.
func MTIProfiles() []MTIProfile {
	return []MTIProfile{
		{"suit-sha256-hmac-a128kw-a128ctr", AlgSHA256, 5, -3, -65534, false, true, "mti-hmac-a128kw-a128ctr",
			"COSE_Mac0 HMAC-256 with a shared key", "AES key wrap (A128KW) with a shared key-encryption key"},
		{"suit-sha256-esp256-ecdh-a128ctr", AlgSHA256, -9, -29, -65534, false, true, "mti-esp256-ecdh-a128ctr",
			"COSE_Sign1 ESP256 (ECDSA P-256)", "ECDH-ES + A128KW to the device's P-256 key"},
		{"suit-sha256-ed25519-ecdh-a128ctr", AlgSHA256, -19, -29, -65534, false, true, "mti-ed25519-ecdh-a128ctr",
			"COSE_Sign1 Ed25519", "ECDH-ES + A128KW to the device's X25519 key"},
		{"suit-sha256-esp256-ecdh-a128gcm", AlgSHA256, -9, -29, 1, true, true, "mti-esp256-ecdh-a128gcm",
			"COSE_Sign1 ESP256 (ECDSA P-256)", "ECDH-ES + A128KW to the device's P-256 key"},
		{"suit-sha256-ed25519-ecdh-chacha-poly", AlgSHA256, -19, -29, 24, true, true, "mti-ed25519-ecdh-chacha-poly",
			"COSE_Sign1 Ed25519", "ECDH-ES + A128KW to the device's X25519 key"},
		{"suit-sha256-hsslms-a256kw-a256ctr", AlgSHA256, -46, -5, -65532, false, true, "mti-hsslms-a256kw-a256ctr",
			"COSE_Sign1 HSS-LMS (a stateful key: suit keys generate --type hss-lms)", "AES key wrap (A256KW) with a shared key-encryption key"},
	}
}

// MTIProfileByName returns the profile with this name, or nil.
func MTIProfileByName(name string) *MTIProfile {
	for _, p := range MTIProfiles() {
		if p.Name == name {
			return &p
		}
	}
	return nil
}

// MTIProfileForTemplate returns the profile a template is built on, or nil.
func MTIProfileForTemplate(id string) *MTIProfile {
	for _, p := range MTIProfiles() {
		if p.TemplateID != "" && p.TemplateID == id {
			return &p
		}
	}
	return nil
}

// MTI template layout: the encrypted image is an integrated payload fetched
// into the download area, then decrypted by copy into the image slot
// (draft-ietf-suit-firmware-encryption §4.2).
const (
	MTIEncryptedPayloadKey = "#encrypted"
	MTIImageIndex          = 0 // component [h'00']: the image slot, gets the plaintext
	MTIStagingIndex        = 1 // component [h'02']: the download area, gets the ciphertext
)

// MTITemplates are the templates built on the implemented MTI profiles.
func MTITemplates() []Template {
	var ts []Template
	for _, p := range MTIProfiles() {
		if p.TemplateID == "" {
			continue
		}
		p := p
		desc := "Encrypted image (" + p.Name + "): " + p.Authenticator + "; " + p.Distribution + "; "
		desc += "the ciphertext digest is checked before decryption, "
		if p.AEAD {
			desc += "the tag while decrypting, "
		}
		desc += "the plaintext digest after."
		ts = append(ts, Template{ID: p.TemplateID, Name: "MTI " + p.Name, Description: desc + " Encrypt your image into it, then sign.",
			New: func() *Envelope { return MTIEnvelope(p) }})
	}
	return ts
}

// MTIEnvelope builds the manifest of an MTI template: compatibility check,
// the plaintext's digest and size in the shared sequence (so that validate
// checks it at every boot), fetch of the integrated ciphertext into the download area, (for AES-CTR) its
// digest checked before decryption (draft-ietf-suit-mti §4.2, the encryption
// draft's §7), copy with decryption into the image slot, the plaintext digest
// checked after it, and boot. Digests, sizes and the encryption-info are
// placeholders until a payload is encrypted into it (app.EncryptIntoEnvelope).
func MTIEnvelope(p MTIProfile) *Envelope {
	v, c := exampleIDs()
	env := newEnvelope(1, []ComponentID{comp0, {{0x02}}}, Seq(
		SetIndex(MTIImageIndex),
		Override(UUIDParam(ParamVendorIdentifier, v), UUIDParam(ParamClassIdentifier, c),
			DigestParam(p.Digest, sampleDigestA), UintParam(ParamImageSize, 0)),
		Cond(CondVendorIdentifier, 15), Cond(CondClassIdentifier, 15)))
	m := env.Manifest
	// The ciphertext's digest is checked before decryption with every cipher: required for AES-CTR
	// (no tag), and for AEAD it spares the battery when the payload was altered (§7, Q2).
	fetch := []Command{SetIndex(MTIStagingIndex),
		Override(TextParam(ParamURI, MTIEncryptedPayloadKey), DigestParam(p.Digest, sampleDigestB), UintParam(ParamImageSize, 0)),
		Cond(DirFetch, 15), Cond(CondImageMatch, 15)}
	install := append(fetch, SetIndex(MTIImageIndex),
		Override(Parameter{Label: ParamEncryptionInfo, Value: Value{Kind: KindWrapped, Bytes: mtiEncryptionInfoPlaceholder(p)}},
			UintParam(ParamSourceComponent, MTIStagingIndex)),
		Cond(DirCopy, 15), Cond(CondImageMatch, 15))
	m.Install = SeverableSequence{Severance: Severance{Present: true}, Seq: Seq(install...)}
	m.Validate = Seq(SetIndex(MTIImageIndex), Cond(CondImageMatch, 15))
	m.Invoke = Seq(SetIndex(MTIImageIndex), Cond(DirInvoke, 15))
	env.Integrated = []IntegratedPayload{{Key: MTIEncryptedPayloadKey, Data: []byte{}}}
	return env
}

// mtiEncryptionInfoPlaceholder is a structurally valid COSE_Encrypt for the
// profile with an all-zero IV and one recipient whose wrapped key is empty:
// it shows the shape and fails to decrypt until a payload is encrypted.
// (Hand-encoded: this package has no CBOR encoder.)
func mtiEncryptionInfoPlaceholder(p MTIProfile) []byte {
	b := []byte{0xd8, 0x60, 0x84}
	alg := cborInt(p.Encryption)
	if p.AEAD {
		prot := append([]byte{0xa1, 0x01}, alg...)
		b = append(b, 0x40|byte(len(prot)))
		b = append(b, prot...)
		b = append(b, 0xa1, 0x05, 0x4c)
		b = append(b, make([]byte, 12)...)
	} else {
		b = append(b, 0x40, 0xa2, 0x01)
		b = append(b, alg...)
		b = append(b, 0x05, 0x50)
		b = append(b, make([]byte, 16)...)
	}
	b = append(b, 0xf6, 0x81, 0x83)
	kx := cborInt(p.KeyExchange)
	if p.KeyExchange == -29 {
		prot := append([]byte{0xa1, 0x01}, kx...)
		b = append(b, 0x40|byte(len(prot)))
		b = append(b, prot...)
		b = append(b, 0xa0)
	} else {
		b = append(b, 0x40, 0xa1, 0x01)
		b = append(b, kx...)
	}
	return append(b, 0x40)
}

// cborInt encodes a small integer (|v| < 2^16) in shortest form.
func cborInt(v int64) []byte {
	major := byte(0)
	u := uint64(v)
	if v < 0 {
		major, u = 0x20, uint64(-1-v)
	}
	switch {
	case u < 24:
		return []byte{major | byte(u)}
	case u < 1<<8:
		return []byte{major | 24, byte(u)}
	default:
		return []byte{major | 25, byte(u >> 8), byte(u)}
	}
}
