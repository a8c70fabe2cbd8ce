package devicesim

// Payload decryption on the device (draft-ietf-suit-firmware-encryption): the
// write and copy directives decrypt when the component's encryption-info
// parameter is set. The device holds its own keys (DeviceKey: a key-encryption
// key for AES-KW, a P-256 or X25519 private key for ECDH-ES + AES-KW, and
// HMAC keys for COSE_Mac0 authentication blocks) in a key store that is not
// part of the flash state (a secure element or OTP, provisioned with SetKeys).
//
// The SUIT_Encryption_Info is read in place from the manifest kept in RAM with
// the streaming cursor. The content key, the key-encryption key, the ECDH and
// KDF working memory, the cipher context and one chunk buffer are taken from
// the RAM budget. The ciphertext is read, decrypted and written in ChunkSize
// pieces. With an AEAD algorithm (AES-GCM, ChaCha20/Poly1305) the plaintext is
// written to the component's staging region as it is decrypted, but the
// component is only marked written (and so can be committed, matched or
// invoked) after the tag verified; on a tag mismatch the component is left
// empty and the procedure fails.

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/suit-studio/suit-studio/codec/cose"
)

// ErrDecryption: the payload could not be decrypted (no key of this device
// opens a recipient, or the authentication tag does not verify).
var ErrDecryption = errors.New("payload decryption failed")

// DeviceKey is a key the device holds for payload encryption or COSE_Mac0.
type DeviceKey struct {
	Name    string
	KID     []byte           // when set, only recipients with this kid (or none) are tried
	KEK     []byte           // AES-KW key-encryption key (16, 24 or 32 bytes)
	Private *ecdh.PrivateKey // ECDH-ES + AES-KW: the device's P-256 or X25519 key
	MAC     []byte           // HMAC 256/256 shared key (COSE_Mac0 authentication blocks)
}

// RAM costs of decryption (what a C implementation holds), charged while live.
const (
	// ContentKeySize: the unwrapped content-encryption key (up to 32 bytes) and its length.
	ContentKeySize = 36
	// KeyUnwrapCtxSize: an AES key schedule (up to 240 B for AES-256) plus the 8-byte
	// integrity register and one 16-byte block (assumption: rounded to 272).
	KeyUnwrapCtxSize = 272
	// ECDHCtxSize: a P-256 (or X25519) shared-secret computation: the ephemeral point (64), the
	// private scalar (32), the result and Jacobian scratch (~ 12 × 32), rounded to 512.
	ECDHCtxSize = 512
	// KDFCtxSize: HKDF-SHA-256 (an HMAC context of two SHA-256 states plus 64-byte key pad) and
	// the COSE_KDF_Context built in RAM (up to ~ 60 B): rounded to 384.
	KDFCtxSize = 384
	// CipherCtxSize: AES-GCM's key schedule (up to 240), H, the GHASH accumulator, J0 mask,
	// counter, partial block and tag (6 × 16), rounded to 352; ChaCha20/Poly1305 needs less.
	CipherCtxSize = 352
	// HMACCtxSize: HMAC-SHA-256 (inner and outer SHA-256 states and the 64-byte key pad).
	HMACCtxSize = 2*SHA256CtxSize + 64
)

// Timing assumptions (nRF52840, software crypto; the CC310 would be faster).
const (
	// DecryptCyclesPerByte: AES-CTR/GCM or ChaCha20/Poly1305 in software, ~ 60 cycles per byte.
	DecryptCyclesPerByte = 60
	// ECDHTime: one P-256 or X25519 shared-secret computation (~ 25 ms in software).
	ECDHTime = 25 * time.Millisecond
)

// SetKeys gives the device its decryption and MAC keys (replacing any it had).
func (d *Device) SetKeys(keys []DeviceKey) { d.keys = append([]DeviceKey(nil), keys...) }

// resolveAlias maps a component identifier the manifest uses onto one of the
// device's own (Config.ComponentAliases), e.g. the firmware-encryption
// examples' 'plaintext-firmware' onto [h'00'].
func (d *Device) resolveAlias(id []byte) []byte {
	if a, ok := d.cfg.ComponentAliases[string(id)]; ok {
		return a
	}
	return id
}

// encRecipient is one COSE_recipient, as ranges in the RAM copy of the info.
type encRecipient struct {
	alg        int64
	protected  []byte
	kid        []byte
	salt       []byte
	ephX, ephY []byte
	ephCrv     int64
	ephKty     int64
	wrapped    []byte
}

// parseEncInfo reads a COSE_Encrypt_Tagged in RAM (a slice of the kept manifest).
func parseEncInfo(info []byte) (alg int64, protected, iv []byte, recips []encRecipient, err error) {
	c := newCursor(ramSource(info), "encryption-info", 0, len(info))
	tag, ok, err := c.optTag()
	if err != nil {
		return 0, nil, nil, nil, err
	}
	if !ok || tag != cose.TagEncrypt {
		return 0, nil, nil, nil, c.errf(0, "SUIT_Encryption_Info must be a COSE_Encrypt (tag 96)")
	}
	if n, err := c.array(); err != nil || n != 4 {
		if err == nil {
			err = c.errf(c.pos, "COSE_Encrypt has %d members, want 4", n)
		}
		return 0, nil, nil, nil, err
	}
	po, pl, err := c.bstr()
	if err != nil {
		return 0, nil, nil, nil, err
	}
	protected = info[po : po+pl]
	hdr := map[int64]bool{}
	readHeaders := func(cc *cursor, f func(label int64, cc *cursor) error) error {
		n, err := cc.mapHead()
		if err != nil {
			return err
		}
		for k := 0; k < n; k++ {
			label, err := cc.int()
			if err != nil {
				return err
			}
			if hdr[label] {
				return cc.errf(cc.pos, "header label %d appears twice", label)
			}
			hdr[label] = true
			if err := f(label, cc); err != nil {
				return err
			}
		}
		return nil
	}
	content := func(label int64, cc *cursor) error {
		switch label {
		case cose.HeaderAlg:
			v, err := cc.int()
			alg = v
			return err
		case cose.HeaderIV:
			o, l, err := cc.bstr()
			if err == nil {
				iv = info[o : o+l]
			}
			return err
		}
		return cc.errf(cc.pos, "COSE_Encrypt header label %d is not supported by this device (alg 1 and IV 5 are)", label)
	}
	if pl > 0 {
		if err := readHeaders(newCursor(ramSource(info), "encryption-info protected header", po, po+pl), content); err != nil {
			return 0, nil, nil, nil, err
		}
	}
	if err := readHeaders(c, content); err != nil {
		return 0, nil, nil, nil, err
	}
	if v, err := c.simple(); err != nil || v != simNull {
		return 0, nil, nil, nil, c.errf(c.pos, "the COSE_Encrypt ciphertext must be null (detached: the ciphertext is the payload)")
	}
	nr, err := c.array()
	if err != nil {
		return 0, nil, nil, nil, err
	}
	for r := 0; r < nr; r++ {
		var rc encRecipient
		if n, err := c.array(); err != nil || n != 3 {
			if err == nil {
				err = c.errf(c.pos, "COSE_recipient has %d members, want 3", n)
			}
			return 0, nil, nil, nil, err
		}
		o, l, err := c.bstr()
		if err != nil {
			return 0, nil, nil, nil, err
		}
		rc.protected = info[o : o+l]
		hdr = map[int64]bool{}
		recip := func(label int64, cc *cursor) error {
			switch label {
			case cose.HeaderAlg:
				v, err := cc.int()
				rc.alg = v
				return err
			case cose.HeaderKID, cose.HeaderSalt:
				o, l, err := cc.bstr()
				if err == nil && label == cose.HeaderKID {
					rc.kid = info[o : o+l]
				} else if err == nil {
					rc.salt = info[o : o+l]
				}
				return err
			case cose.HeaderEphemeralKey:
				n, err := cc.mapHead()
				if err != nil {
					return err
				}
				for k := 0; k < n; k++ {
					kl, err := cc.int()
					if err != nil {
						return err
					}
					switch kl {
					case 1, -1:
						v, err := cc.int()
						if err != nil {
							return err
						}
						if kl == 1 {
							rc.ephKty = v
						} else {
							rc.ephCrv = v
						}
					case -2, -3:
						o, l, err := cc.bstr()
						if err != nil {
							return err
						}
						if kl == -2 {
							rc.ephX = info[o : o+l]
						} else {
							rc.ephY = info[o : o+l]
						}
					default:
						return cc.errf(cc.pos, "ephemeral COSE_Key label %d is not supported", kl)
					}
				}
				return nil
			}
			return cc.errf(cc.pos, "COSE_recipient header label %d is not supported by this device", label)
		}
		if l > 0 {
			if err := readHeaders(newCursor(ramSource(info), "recipient protected header", o, o+l), recip); err != nil {
				return 0, nil, nil, nil, err
			}
		}
		if err := readHeaders(c, recip); err != nil {
			return 0, nil, nil, nil, err
		}
		wo, wl, err := c.bstr()
		if err != nil {
			return 0, nil, nil, nil, err
		}
		rc.wrapped = info[wo : wo+wl]
		recips = append(recips, rc)
	}
	if !c.atEnd() {
		return 0, nil, nil, nil, c.errf(c.pos, "bytes after the COSE_Encrypt")
	}
	return alg, protected, iv, recips, nil
}

// contentKey opens the first recipient one of the device's keys fits. The
// key lands in the RAM block cek.
func (p *proc) contentKey(recips []encRecipient, cek *Block) (int, string, error) {
	var why []string
	for ri, r := range recips {
		for _, k := range p.d.keys {
			if k.KID != nil && r.kid != nil && string(k.KID) != string(r.kid) {
				continue
			}
			var kek []byte
			switch r.alg {
			case cose.AlgA128KW, cose.AlgA192KW, cose.AlgA256KW:
				if len(k.KEK) == 0 || len(k.KEK) != map[int64]int{cose.AlgA128KW: 16, cose.AlgA192KW: 24, cose.AlgA256KW: 32}[r.alg] {
					continue
				}
				kek = k.KEK
			case cose.AlgECDHESA128KW, cose.AlgECDHESA192KW, cose.AlgECDHESA256KW:
				if k.Private == nil {
					continue
				}
				var pub *ecdh.PublicKey
				var err error
				switch {
				case r.ephKty == 2 && r.ephCrv == cose.CurveP256 && k.Private.Curve() == ecdh.P256():
					if len(r.ephX) != 32 || len(r.ephY) != 32 {
						return ri, "", fmt.Errorf("recipient %d: P-256 ephemeral key coordinates must be 32 bytes", ri)
					}
					pt := make([]byte, 0, 65)
					pt = append(append(append(pt, 4), r.ephX...), r.ephY...)
					pub, err = ecdh.P256().NewPublicKey(pt)
				case r.ephKty == 1 && r.ephCrv == cose.CurveX25519 && k.Private.Curve() == ecdh.X25519():
					pub, err = ecdh.X25519().NewPublicKey(r.ephX)
				default:
					continue
				}
				if err != nil {
					why = append(why, fmt.Sprintf("recipient %d: ephemeral key: %v", ri, err))
					continue
				}
				ctx, err := p.alloc("ECDH-ES shared secret", ECDHCtxSize, false)
				if err != nil {
					return ri, "", err
				}
				z, err := k.Private.ECDH(pub)
				p.d.clock += ECDHTime
				if err != nil {
					ctx.Free()
					why = append(why, fmt.Sprintf("recipient %d: ECDH: %v", ri, err))
					continue
				}
				kdf, err := p.alloc("HKDF-SHA-256 and COSE_KDF_Context", KDFCtxSize, false)
				if err != nil {
					ctx.Free()
					return ri, "", err
				}
				kek, err = cose.DeriveKEK(r.alg, z, r.salt, r.protected)
				clear(z)
				p.d.chargeHash(4 * 64)
				kdf.Free()
				ctx.Free()
				if err != nil {
					why = append(why, fmt.Sprintf("recipient %d: %v", ri, err))
					continue
				}
			default:
				continue
			}
			uw, err := p.alloc("AES key unwrap", KeyUnwrapCtxSize, false)
			if err != nil {
				return ri, "", err
			}
			key, err := cose.KeyUnwrap(kek, r.wrapped)
			uw.Free()
			if err != nil {
				why = append(why, fmt.Sprintf("recipient %d (%s) with key %q: %v", ri, cose.AlgorithmName(r.alg), k.Name, err))
				continue
			}
			if len(key) > len(cek.Buf) {
				return ri, "", fmt.Errorf("recipient %d: content key of %d bytes", ri, len(key))
			}
			n := copy(cek.Buf, key)
			clear(key)
			cek.Buf = cek.Buf[:n]
			return ri, k.Name, nil
		}
	}
	if len(why) > 0 {
		return -1, "", fmt.Errorf("no recipient opens with this device's keys: %s", joinWords(why))
	}
	return -1, "", fmt.Errorf("none of the %d recipient(s) is for a key this device holds (it has %d key(s))", len(recips), len(p.d.keys))
}

func joinWords(s []string) string {
	out := ""
	for i, w := range s {
		if i > 0 {
			out += "; "
		}
		out += w
	}
	return out
}

// decrypt runs write (src == -1: the ciphertext is the content parameter) or
// copy (from component src) with decryption into component i.
func (p *proc) decrypt(i, src int, name, arg string) error {
	pp := &p.comps[i].params
	alg, protected, iv, recips, err := parseEncInfo(pp.encInfo)
	if err != nil {
		return p.fail(false, i, name, arg, ErrDecryption, "encryption-info: %v", err)
	}
	ca, err := cose.LookupContentAlgorithm(alg)
	if err != nil {
		return p.fail(false, i, name, arg, ErrUnsupported, "content encryption %s is not supported by this device (A128GCM, A192GCM, A256GCM, ChaCha20/Poly1305, A128CTR, A192CTR, A256CTR are)", cose.AlgorithmName(alg))
	}
	if !ca.AEAD && len(protected) != 0 {
		return p.fail(false, i, name, arg, ErrDecryption, "%s has no AAD: its protected header must be empty (draft-ietf-suit-firmware-encryption §7)", ca.Name)
	}
	var (
		sf       *Flash
		soff, sn int
	)
	if src < 0 {
		sn = len(pp.content)
	} else {
		sf, soff, sn = p.contentOf(src)
		if sn == 0 {
			return p.fail(false, i, name, arg, ErrPayloadUnavailable, "the source component %s is empty", p.compName(src))
		}
	}
	arg = fmt.Sprintf("%s, %s, %d bytes of ciphertext", arg, ca.Name, sn)
	if sn < ca.TagSize {
		return p.fail(false, i, name, arg, ErrDecryption, "the ciphertext is shorter than the %d-byte tag", ca.TagSize)
	}
	plain := sn - ca.TagSize
	if err := p.checkSize(i, name, arg, plain); err != nil {
		return err
	}
	cek, err := p.alloc("content-encryption key", ContentKeySize, true)
	if err != nil {
		return p.failErr(i, name, arg, err)
	}
	defer func() { clear(cek.Buf); cek.Free() }()
	ri, keyName, err := p.contentKey(recips, cek)
	if err != nil {
		var ie *InsufficientMemoryError
		if errors.As(err, &ie) {
			return p.failErr(i, name, arg, err)
		}
		return p.fail(false, i, name, arg, ErrDecryption, "%v", err)
	}
	arg += fmt.Sprintf(", recipient %d (%s, key %q)", ri, cose.AlgorithmName(recips[ri].alg), keyName)
	var aad []byte
	cctx, err := p.alloc(ca.Name+" context", CipherCtxSize, false)
	if err != nil {
		return p.failErr(i, name, arg, err)
	}
	defer cctx.Free()
	if ca.AEAD {
		// Enc_structure ["Encrypt", protected, h''] built in RAM.
		ab, err := p.alloc("Enc_structure", 1+8+headLen(len(protected))+len(protected)+1, true)
		if err != nil {
			return p.failErr(i, name, arg, err)
		}
		defer ab.Free()
		aad = cose.EncStructure("Encrypt", protected)
		copy(ab.Buf, aad)
		aad = ab.Buf[:len(aad)]
	}
	dec, err := cose.NewContentDecrypter(alg, cek.Buf, iv, aad, sn)
	if err != nil {
		return p.fail(false, i, name, arg, ErrDecryption, "%v", err)
	}
	dc := p.comps[i].dev
	err = p.store(i, name, arg, plain, func(dst *Flash, off int) error {
		buf, err := p.d.RAM.alloc("decrypt chunk buffer", p.d.cfg.ChunkSize, true)
		if err != nil {
			return err
		}
		defer buf.Free()
		written := 0
		for done := 0; done < sn; {
			k := min(len(buf.Buf), sn-done)
			if src < 0 {
				copy(buf.Buf[:k], pp.content[done:done+k])
			} else if err := sf.ReadAt(buf.Buf[:k], soff+done); err != nil {
				return err
			}
			m := dec.Update(buf.Buf[:k], buf.Buf[:k])
			p.d.clock += time.Duration(k) * DecryptCyclesPerByte * time.Second / CPUHz
			if m > 0 {
				if err := dst.Write(off+written, buf.Buf[:m]); err != nil {
					return err
				}
				written += m
			}
			done += k
		}
		clear(buf.Buf)
		if err := dec.Final(); err != nil {
			// Never mark an image valid whose tag failed: the component is left empty.
			if dc.written {
				dc.written, dc.candLen = false, 0
			}
			return p.fail(false, i, name, arg, ErrDecryption, "authentication tag mismatch: the decrypted image is discarded and never marked valid (wrong key, or the ciphertext or encryption-info was altered)")
		}
		return nil
	})
	if err != nil {
		return err
	}
	what := "no tag: integrity rests on image-match (§7)"
	if ca.AEAD {
		what = "tag verified"
	}
	p.pass(i, name, fmt.Sprintf("%s -> %d bytes of plaintext, %s", arg, plain, what))
	return nil
}

// verifyMac0 checks a COSE_Mac0 authentication block (HMAC 256/256) with the
// device's shared MAC keys. MAC_structure ["MAC0", protected, h”, bstr(D)] is
// built in RAM like the Sig_structure.
func (p *proc) verifyMac0(i int, c *cursor, d []byte) (bool, error) {
	const cmd = "verify MAC"
	arg := fmt.Sprintf("authentication block %d, COSE_Mac0", i)
	n, err := c.array()
	if err != nil {
		return false, err
	}
	if n != 4 {
		return false, p.fail(false, -1, cmd, arg, ErrMalformed, "COSE_Mac0 has %d elements, want 4", n)
	}
	mb, b, prot, to, tn, err := p.coseAuthInput(c, d, cmd, arg, "COSE_Mac0", "MAC_structure", "MAC0")
	if err != nil {
		return false, err
	}
	defer mb.Free()
	alg, err := protectedAlg(prot)
	if err != nil {
		return false, p.fail(false, -1, cmd, arg, ErrMalformed, "%v", err)
	}
	if alg != cose.AlgHMAC256 {
		return false, p.fail(false, -1, cmd, arg, ErrUnsupported, "MAC algorithm %d is not supported (this device checks HMAC 256/256, 5)", alg)
	}
	arg += " HMAC 256/256"
	if tn != 32 {
		return false, p.fail(false, -1, cmd, arg, ErrSignature, "tag of %d bytes (want 32)", tn)
	}
	tag, err := p.alloc("MAC tag", 2*tn, true)
	if err != nil {
		return false, err
	}
	defer tag.Free()
	if err := p.envSrc.readAt(tag.Buf[:tn], to); err != nil {
		return false, err
	}
	tried := 0
	for _, k := range p.d.keys {
		if len(k.MAC) == 0 {
			continue
		}
		tried++
		ctx, err := p.alloc("HMAC-SHA-256 context", HMACCtxSize, false)
		if err != nil {
			return false, err
		}
		h := hmac.New(sha256.New, k.MAC)
		h.Write(b)
		sum := h.Sum(tag.Buf[tn:tn])
		p.d.chargeHash(len(b) + 3*64)
		ctx.Free()
		if subtle.ConstantTimeCompare(sum, tag.Buf[:tn]) == 1 {
			p.pass(-1, cmd, fmt.Sprintf("%s with the device's MAC key %q", arg, k.Name))
			return true, nil
		}
	}
	if tried == 0 {
		return false, p.fail(false, -1, cmd, arg, ErrSignature, "COSE_Mac0 needs a shared key, and this device holds none (provision one with --device-key)")
	}
	return false, p.fail(false, -1, cmd, arg, ErrSignature, "the MAC does not verify with any of the device's %d MAC key(s): another key, or altered", tried)
}
