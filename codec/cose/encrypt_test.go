package cose

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
)

// Keys and values published in draft-ietf-suit-firmware-encryption §6
// (firmware-encryption vectors: ../shared/spec/vectors/firmware-encryption).
const (
	feDir           = "firmware-encryption/"
	fePlaintext     = "This is a real firmware image."
	feKEK           = "aaaaaaaaaaaaaaaa"                                                 // §6.1.2 / §6.2.2: k: 'aaaaaaaaaaaaaaaa', kid 'kid-1'
	feReceiverD     = "60FE6DD6D85D5740A5349B6F91267EEAC5BA81B8CB53EE249E4B4EB102C476B3" // §6.1.3: the receiver's P-256 d, kid 'kid-2'
	feReceiverX     = "5886CD61DD875862E5AAA820E7A15274C968A9BC96048DDCACE32F50C3651BA3"
	feReceiverY     = "9EED8125E932CD60C0EAD3650D0A485CF726D378D1B016ED4298B2961E258F1B"
	feGCMKey        = "15F785B5C931414411B4B71373A9C0F7"
	feGCMIV         = "F14AAB9D81D51F7AD943FE87" // the diag's IV (the text's 16-byte IV truncated to GCM's 96 bits)
	feCTRKey        = "261DE6165070FB8951EC5D7B92A065FE"
	feCTRIV         = "DAE613B2E0DC55F4322BE38BDBA9DC68"
	feA128KWContext = "8422" + "83f6f6f6" + "83f6f6f6" + "83" + "1880" + "44a101381c" + "57" + "53554954205061796c6f616420456e6372797074696f6e"
)

func feReceiver(t testing.TB) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.P256().NewPrivateKey(mustHex(t, feReceiverD))
	if err != nil {
		t.Fatal(err)
	}
	if want := "04" + feReceiverX + feReceiverY; !bytes.Equal(k.PublicKey().Bytes(), mustHex(t, want)) {
		t.Fatal("the draft's d does not give its x, y")
	}
	return k
}

var feVectors = []struct {
	name              string
	contentAlg, kwAlg int64
	cek, iv           string
}{
	{"aes-kw-aes-gcm", AlgA128GCM, AlgA128KW, feGCMKey, feGCMIV},
	{"aes-kw-aes-ctr", AlgA128CTR, AlgA128KW, feCTRKey, feCTRIV},
	{"es-ecdh-aes-gcm", AlgA128GCM, AlgECDHESA128KW, feGCMKey, feGCMIV},
	{"es-ecdh-aes-ctr", AlgA128CTR, AlgECDHESA128KW, feCTRKey, feCTRIV},
}

// TestEncryptionInfoVectors decodes the four published SUIT_Encryption_Info
// examples (tag 96 COSE_Encrypt), recovers the published content key with the
// published KEK or receiver key, and decrypts the published payload to the
// published plaintext.
func TestEncryptionInfoVectors(t *testing.T) {
	for _, v := range feVectors {
		t.Run(v.name, func(t *testing.T) {
			e, err := ParseEncrypt(readHex(t, feDir+"suit-encryption-info-"+v.name+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			if e.Tag != TagEncrypt || e.Alg != v.contentAlg || !e.Detached || !bytes.Equal(e.IV, mustHex(t, v.iv)) {
				t.Fatalf("decoded tag %d alg %d detached %v IV %X", e.Tag, e.Alg, e.Detached, e.IV)
			}
			if len(e.Recipients) != 1 || e.Recipients[0].Alg != v.kwAlg {
				t.Fatalf("recipients %+v", e.Recipients)
			}
			keys := []DecryptionKey{{KEK: []byte(feKEK)}, {Private: feReceiver(t)}}
			cek, idx, err := e.ContentKey(keys...)
			if err != nil {
				t.Fatal(err)
			}
			if idx != 0 || !bytes.Equal(cek, mustHex(t, v.cek)) {
				t.Fatalf("CEK %X from recipient %d, want %s", cek, idx, v.cek)
			}
			ct := readHex(t, feDir+"encrypted-payload-"+v.name+".hex")
			pt, err := e.Decrypt(ct, keys...)
			if err != nil {
				t.Fatal(err)
			}
			if string(pt) != fePlaintext {
				t.Fatalf("plaintext %q", pt)
			}
			// The same with the wrong key: refused, never garbage.
			wrong := []DecryptionKey{{KEK: []byte("bbbbbbbbbbbbbbbb")}}
			if k, _ := ecdh.P256().GenerateKey(rand.Reader); k != nil {
				wrong = append(wrong, DecryptionKey{Private: k})
			}
			if _, err := e.Decrypt(ct, wrong...); !errors.Is(err, ErrNoRecipient) || !errors.Is(err, ErrVerification) {
				t.Fatalf("wrong key: %v, want ErrNoRecipient wrapping ErrVerification", err)
			}
		})
	}
}

// TestEncryptReproducesAESKWVectors: with the published CEK, IV, KEK and kid,
// our COSE_Encrypt and ciphertext are the published bytes exactly (AES-KW,
// AES-GCM and AES-CTR are deterministic).
func TestEncryptReproducesAESKWVectors(t *testing.T) {
	for _, v := range feVectors[:2] {
		t.Run(v.name, func(t *testing.T) {
			info, ct, err := EncryptDetached(EncryptOptions{
				ContentAlg: v.contentAlg,
				Recipients: []RecipientSpec{{Alg: AlgA128KW, KID: []byte("kid-1"), KEK: []byte(feKEK)}},
				CEK:        mustHex(t, v.cek), IV: mustHex(t, v.iv),
			}, []byte(fePlaintext))
			if err != nil {
				t.Fatal(err)
			}
			if want := readHex(t, feDir+"suit-encryption-info-"+v.name+".hex"); !bytes.Equal(info, want) {
				t.Errorf("encryption info\n got %X\nwant %X", info, want)
			}
			if want := readHex(t, feDir+"encrypted-payload-"+v.name+".hex"); !bytes.Equal(ct, want) {
				t.Errorf("ciphertext\n got %X\nwant %X", ct, want)
			}
		})
	}
}

// TestKDFContextVector: our COSE_KDF_Context is a128kw_kdf_context.diag's
// encoding, and the KEK derived from it unwraps the published wrapped keys
// byte for byte (re-wrapping the CEK gives the published ciphertext).
func TestKDFContextVector(t *testing.T) {
	prot := mustHex(t, "a101381c")
	if got := KDFContext(AlgA128KW, 128, prot, SUITKDFOther); !bytes.Equal(got, mustHex(t, feA128KWContext)) {
		t.Fatalf("KDF context\n got %X\nwant %s", got, feA128KWContext)
	}
	for _, v := range feVectors[2:] {
		t.Run(v.name, func(t *testing.T) {
			e, err := ParseEncrypt(readHex(t, feDir+"suit-encryption-info-"+v.name+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			r := e.Recipients[0]
			if !bytes.Equal(r.Protected, prot) {
				t.Fatalf("recipient protected %X", r.Protected)
			}
			z, err := feReceiver(t).ECDH(r.Ephemeral)
			if err != nil {
				t.Fatal(err)
			}
			kek, err := DeriveKEK(r.Alg, z, nil, r.Protected)
			if err != nil {
				t.Fatal(err)
			}
			wrapped, err := KeyWrap(kek, mustHex(t, v.cek))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(wrapped, r.EncryptedKey) {
				t.Fatalf("wrapped CEK %X, published %X", wrapped, r.EncryptedKey)
			}
			// Re-encoding the recipient with the published ephemeral key gives the published recipient.
			ek, err := encodeEphemeral(r.Ephemeral)
			if err != nil {
				t.Fatal(err)
			}
			info := readHex(t, feDir+"suit-encryption-info-"+v.name+".hex")
			if !bytes.Contains(info, ek) {
				t.Fatalf("ephemeral COSE_Key %X not in the vector", ek)
			}
		})
	}
}

// TestEncryptRoundTrips: every content algorithm with every key distribution,
// several recipients, each recipient opens it alone.
func TestEncryptRoundTrips(t *testing.T) {
	p256a, _ := ecdh.P256().GenerateKey(rand.Reader)
	p256b, _ := ecdh.P256().GenerateKey(rand.Reader)
	x255, _ := ecdh.X25519().GenerateKey(rand.Reader)
	kek128, kek192, kek256 := make([]byte, 16), make([]byte, 24), make([]byte, 32)
	rand.Read(kek128)
	rand.Read(kek192)
	rand.Read(kek256)
	recips := []struct {
		spec RecipientSpec
		key  DecryptionKey
	}{
		{RecipientSpec{Alg: AlgA128KW, KID: []byte("kw128"), KEK: kek128}, DecryptionKey{KEK: kek128}},
		{RecipientSpec{Alg: AlgA192KW, KEK: kek192}, DecryptionKey{KEK: kek192}},
		{RecipientSpec{Alg: AlgA256KW, KID: []byte("kw256"), KEK: kek256}, DecryptionKey{KID: []byte("kw256"), KEK: kek256}},
		{RecipientSpec{Alg: AlgECDHESA128KW, KID: []byte("p256"), Public: p256a.PublicKey()}, DecryptionKey{Private: p256a}},
		{RecipientSpec{Alg: AlgECDHESA256KW, Public: p256b.PublicKey()}, DecryptionKey{Private: p256b}},
		{RecipientSpec{Alg: AlgECDHESA128KW, KID: []byte("x25519"), Public: x255.PublicKey()}, DecryptionKey{Private: x255}},
	}
	var specs []RecipientSpec
	for _, r := range recips {
		specs = append(specs, r.spec)
	}
	pt := make([]byte, 1000)
	rand.Read(pt)
	for _, alg := range []int64{AlgA128GCM, AlgA192GCM, AlgA256GCM, AlgChaCha20Poly1305, AlgA128CTR, AlgA192CTR, AlgA256CTR} {
		t.Run(AlgorithmName(alg), func(t *testing.T) {
			info, ct, err := EncryptDetached(EncryptOptions{ContentAlg: alg, Recipients: specs}, pt)
			if err != nil {
				t.Fatal(err)
			}
			e, err := ParseEncrypt(info)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Recipients) != len(recips) {
				t.Fatalf("%d recipients", len(e.Recipients))
			}
			for i, r := range recips {
				got, err := e.Decrypt(ct, r.key)
				if err != nil {
					t.Fatalf("recipient %d: %v", i, err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("recipient %d: wrong plaintext", i)
				}
				_, idx, _ := e.ContentKey(r.key)
				if idx != i {
					t.Errorf("key %d opened recipient %d", i, idx)
				}
			}
			a, _ := LookupContentAlgorithm(alg)
			bad := bytes.Clone(ct)
			bad[3] ^= 0x80
			got, err := e.Decrypt(bad, recips[0].key)
			if a.AEAD && !errors.Is(err, ErrVerification) {
				t.Errorf("altered ciphertext: %v, want ErrVerification", err)
			}
			if !a.AEAD && (err != nil || bytes.Equal(got, pt)) {
				t.Errorf("CTR has no tag: altered ciphertext decrypts to altered plaintext (err %v)", err)
			}
		})
	}
}

// TestContentDecrypterChunks: decrypting in chunks of any size (crossing
// block and tag boundaries) gives the one-shot result, and the streaming GHASH
// agrees with crypto/cipher's GCM.
func TestContentDecrypterChunks(t *testing.T) {
	for _, alg := range []int64{AlgA128GCM, AlgA256GCM, AlgChaCha20Poly1305, AlgA128CTR, AlgA256CTR} {
		a, _ := LookupContentAlgorithm(alg)
		key, iv := make([]byte, a.KeySize), make([]byte, a.IVSize)
		rand.Read(key)
		rand.Read(iv)
		aad := EncStructure("Encrypt", []byte{0xa1, 0x01, 0x01})
		for _, size := range []int{0, 1, 15, 16, 17, 100, 4097} {
			pt := make([]byte, size)
			rand.Read(pt)
			ct, err := SealContent(alg, key, iv, aad, pt)
			if err != nil {
				t.Fatal(err)
			}
			for _, chunk := range []int{1, 7, 16, 64, 5000} {
				t.Run(fmt.Sprintf("%s/%d/%d", a.Name, size, chunk), func(t *testing.T) {
					d, err := NewContentDecrypter(alg, key, iv, aad, len(ct))
					if err != nil {
						t.Fatal(err)
					}
					var out []byte
					buf := make([]byte, chunk)
					for off := 0; off < len(ct); off += chunk {
						n := d.Update(buf, ct[off:min(off+chunk, len(ct))])
						out = append(out, buf[:n]...)
					}
					if err := d.Final(); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(out, pt) {
						t.Fatal("plaintext differs")
					}
				})
			}
			if a.AEAD && size > 0 {
				bad := bytes.Clone(ct)
				bad[len(bad)-1] ^= 1
				if _, err := OpenContent(alg, key, iv, aad, bad); !errors.Is(err, ErrVerification) {
					t.Errorf("%s: altered tag: %v", a.Name, err)
				}
			}
		}
	}
}

func TestParseEncryptRejects(t *testing.T) {
	for name, hexs := range map[string]string{
		"untagged":          "8440a0f680",
		"wrong tag":         "d8618440a0f680",
		"three members":     "d86083" + "40a0f6",
		"no recipients":     "d8608440a10101f680",
		"recipients no arr": "d8608440a10101f6a0",
		"recipient 2 items": "d8608440a10101f681824040",
		"alg text":          "d8608440a10161" + "41" + "f6818340a1012240",
		"ephemeral bad":     "d8608440a10101f6818344a101381ca120a20102200140",
		"dup header":        "d8608443a10101a10101f6818340a1012240",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseEncrypt(mustHex(t, hexs))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err %v is neither ErrMalformed nor ErrUnsupported", err)
			}
		})
	}
}

// AES-CTR with a non-empty protected header is refused (§7: nothing would authenticate it).
func TestCTRProtectedHeaderRefused(t *testing.T) {
	info, ct, err := EncryptDetached(EncryptOptions{ContentAlg: AlgA128CTR, Recipients: []RecipientSpec{{Alg: AlgA128KW, KEK: []byte(feKEK)}}}, []byte(fePlaintext))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEncrypt(info)
	if err != nil {
		t.Fatal(err)
	}
	e.Protected = []byte{0xa0}
	if _, err := e.Decrypt(ct, DecryptionKey{KEK: []byte(feKEK)}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("CTR with a protected header: %v", err)
	}
}
