package devicesim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// MCUboot image format (bootutil/image.h), read the way MCUboot's bootutil does: the 32-byte
// header, the body, then an optional protected TLV area (magic 0x6908, covered by the hash) and
// the TLV area (magic 0x6907). The SHA-256 TLV is the hash of header + body + protected TLVs; the
// signature TLV signs that hash with the key whose SHA-256 (of its SubjectPublicKeyInfo DER, as
// imgtool embeds it into MCUboot) is the KEYHASH TLV.
const (
	mbImageMagic       = 0x96f3b83d
	mbHeaderSize       = 32
	mbTLVInfoMagic     = 0x6907
	mbTLVProtInfoMagic = 0x6908

	mbTLVKeyHash  = 0x01
	mbTLVSHA256   = 0x10
	mbTLVECDSASig = 0x22
	mbTLVEd25519  = 0x24

	mbFlagNonBootable = 0x10
	mbFlagEncAES128   = 0x04
	mbFlagEncAES256   = 0x08

	// MCUbootSigBufSize is SIG_BUF_SIZE of image_validate.c for an ECDSA build (128 B); the same
	// buffer holds a key hash.
	MCUbootSigBufSize = 128
)

// mbHeader is struct image_header.
type mbHeader struct {
	Magic       uint32
	LoadAddr    uint32
	HdrSize     uint16
	ProtTLVSize uint16
	ImgSize     uint32
	Flags       uint32
	Major       uint8
	Minor       uint8
	Revision    uint16
	Build       uint32
}

func parseMBHeader(b []byte) mbHeader {
	le := binary.LittleEndian
	return mbHeader{Magic: le.Uint32(b), LoadAddr: le.Uint32(b[4:]), HdrSize: le.Uint16(b[8:]), ProtTLVSize: le.Uint16(b[10:]),
		ImgSize: le.Uint32(b[12:]), Flags: le.Uint32(b[16:]), Major: b[20], Minor: b[21], Revision: le.Uint16(b[22:]), Build: le.Uint32(b[24:])}
}

// Version is the version string Zephyr's img_mgmt_ver_str makes: "1.2.3", or "1.2.3.4" with a
// build number.
func (h mbHeader) Version() string {
	s := fmt.Sprintf("%d.%d.%d", h.Major, h.Minor, h.Revision)
	if h.Build != 0 {
		s += fmt.Sprintf(".%d", h.Build)
	}
	return s
}

func (h mbHeader) tlvOff() int { return int(h.HdrSize) + int(h.ImgSize) }

// readHeader reads the image header at the start of a slot (through a 32-byte RAM buffer).
func (d *Device) mbReadHeader(slot Region) (mbHeader, bool, error) {
	blk, err := d.RAM.alloc("image header", mbHeaderSize, true)
	if err != nil {
		return mbHeader{}, false, err
	}
	defer blk.Free()
	if err := slot.Flash.ReadAt(blk.Buf, slot.Offset); err != nil {
		return mbHeader{}, false, err
	}
	erased := bytes.Equal(blk.Buf[:4], []byte{0xff, 0xff, 0xff, 0xff})
	return parseMBHeader(blk.Buf), erased, nil
}

// mbTLVEnd finds the end of the TLV areas (boot_read_image_size): the total size of the image.
func (d *Device) mbTLVEnd(slot Region, h mbHeader) (int, error) {
	var info [4]byte
	off := h.tlvOff()
	if off+4 > slot.Size {
		return 0, fmt.Errorf("the TLV area at offset %d lies outside the %d-byte slot", off, slot.Size)
	}
	if err := slot.Flash.ReadAt(info[:], slot.Offset+off); err != nil {
		return 0, err
	}
	magic, tot := binary.LittleEndian.Uint16(info[:]), int(binary.LittleEndian.Uint16(info[2:]))
	if magic == mbTLVProtInfoMagic {
		if int(h.ProtTLVSize) != tot {
			return 0, fmt.Errorf("protected TLV area of %d bytes, the header says %d", tot, h.ProtTLVSize)
		}
		if off+tot+4 > slot.Size {
			return 0, fmt.Errorf("the TLV area lies outside the slot")
		}
		if err := slot.Flash.ReadAt(info[:], slot.Offset+off+tot); err != nil {
			return 0, err
		}
		magic, tot = binary.LittleEndian.Uint16(info[:]), int(binary.LittleEndian.Uint16(info[2:]))
	} else if h.ProtTLVSize != 0 {
		return 0, fmt.Errorf("the header announces %d bytes of protected TLVs, none found", h.ProtTLVSize)
	}
	if magic != mbTLVInfoMagic {
		return 0, fmt.Errorf("no TLV area (magic 0x%04x at offset %d, want 0x%04x)", magic, off+int(h.ProtTLVSize), mbTLVInfoMagic)
	}
	return off + int(h.ProtTLVSize) + tot, nil
}

// mbImage is what validation found out about a slot's image.
type mbImage struct {
	Header mbHeader
	Hash   [32]byte // the SHA-256 TLV (= the computed hash when valid)
	Size   int      // header + body + TLVs
	KeyIdx int      // which built-in key verified the signature
}

// mbValidate is MCUboot's boot_validate_slot + bootutil_img_validate for one slot: header checks,
// the SHA-256 over header + body + protected TLVs against the SHA-256 TLV, the KEYHASH TLV against
// the built-in keys, and the signature TLV with that key. Every check is an event; the first
// failing one ends it with a *StepError.
func (d *Device) mbValidate(slotName string, slot Region) (*mbImage, error) {
	seqName := "validate " + slotName
	ev := func(cmd, arg string, r Result, reason string) {
		d.emit(Event{Procedure: "boot", Sequence: seqName, Command: cmd, Argument: arg, Result: r, Reason: reason})
	}
	fail := func(cmd, arg string, sentinel error, format string, a ...any) error {
		reason := fmt.Sprintf(format, a...)
		ev(cmd, arg, Fail, reason)
		return &StepError{Procedure: "boot", Sequence: seqName, Command: cmd, Err: sentinel, Reason: reason}
	}
	h, erased, err := d.mbReadHeader(slot)
	if err != nil {
		return nil, err
	}
	switch {
	case erased:
		return nil, fail("image header", "", errMBNoImage, "the slot is empty (erased header)")
	case h.Magic != mbImageMagic:
		return nil, fail("image header magic", fmt.Sprintf("0x%08x", h.Magic), ErrInvalid, "not an MCUboot image (magic 0x%08x, want 0x%08x)", h.Magic, uint32(mbImageMagic))
	case h.Flags&mbFlagNonBootable != 0:
		return nil, fail("image header", "", errMBNoImage, "the image is flagged non-bootable")
	}
	ev("image header magic ok", fmt.Sprintf("version %s, header %d B, body %d B", h.Version(), h.HdrSize, h.ImgSize), Pass, "")
	covered := uint64(h.HdrSize) + uint64(h.ImgSize) + uint64(h.ProtTLVSize)
	if covered >= uint64(slot.Size) {
		return nil, fail("image size", "", ErrPayloadTooLarge, "header + body + protected TLVs (%d B) do not fit the %d-byte slot", covered, slot.Size)
	}
	if h.Flags&(mbFlagEncAES128|mbFlagEncAES256) != 0 {
		return nil, fail("image header", "", ErrUnsupported, "the image is encrypted; this boot loader is built without MCUBOOT_ENC_IMAGES")
	}
	end, err := d.mbTLVEnd(slot, h)
	if err != nil {
		if d.off {
			return nil, err
		}
		return nil, fail("TLV area", "", ErrInvalid, "%v", err)
	}
	if max := d.mb.appMaxSize(); end > max {
		return nil, fail("image size", "", ErrPayloadTooLarge, "image of %d bytes exceeds the %d bytes a swap-move slot holds", end, max)
	}
	// The hash, through the 256-byte tmpbuf and a SHA-256 context.
	ctx, err := d.RAM.alloc("SHA-256 context", SHA256CtxSize, false)
	if err != nil {
		return nil, err
	}
	defer ctx.Free()
	hh := sha256.New()
	if err := d.hashRegion(slot.Flash, slot.Offset, int(covered), hh); err != nil {
		return nil, err
	}
	var sum [32]byte
	hh.Sum(sum[:0])
	sig, err := d.RAM.alloc("signature buffer", MCUbootSigBufSize, true)
	if err != nil {
		return nil, err
	}
	defer sig.Free()
	img := &mbImage{Header: h, Size: end, KeyIdx: -1}
	hashOK, sigOK := false, false
	keyID := -1
	var keyHash [8]byte // the first bytes of the matched key hash TLV, for the event
	keys, err := d.mbKeys()
	if err != nil {
		return nil, err
	}
	for off := h.tlvOff(); off+4 <= end; {
		var tl [4]byte
		if off == h.tlvOff() || (h.ProtTLVSize > 0 && off == h.tlvOff()+int(h.ProtTLVSize)) {
			off += 4 // the info header of each area
			continue
		}
		if err := slot.Flash.ReadAt(tl[:], slot.Offset+off); err != nil {
			return nil, err
		}
		typ, n := binary.LittleEndian.Uint16(tl[:]), int(binary.LittleEndian.Uint16(tl[2:]))
		off += 4
		if off+n > end {
			return nil, fail("TLV", fmt.Sprintf("type 0x%02x", typ), ErrInvalid, "TLV of %d bytes runs past the end of the TLV area", n)
		}
		switch {
		case typ == mbTLVSHA256:
			if n != 32 {
				return nil, fail("hash TLV", "", ErrInvalid, "SHA-256 TLV of %d bytes", n)
			}
			if err := slot.Flash.ReadAt(sig.Buf[:32], slot.Offset+off); err != nil {
				return nil, err
			}
			copy(img.Hash[:], sig.Buf[:32])
			if sum != img.Hash {
				return nil, fail("hash TLV", fmt.Sprintf("%x…", sum[:8]), ErrPayloadDigest, "the image hashes to %x…, its SHA-256 TLV says %x…: the image was altered", sum[:8], img.Hash[:8])
			}
			hashOK = true
			ev("hash TLV matches", fmt.Sprintf("SHA-256 %x… over %d bytes", sum[:8], covered), Pass, "")
		case typ == mbTLVKeyHash:
			if n > MCUbootSigBufSize {
				return nil, fail("key hash TLV", "", ErrInvalid, "key hash TLV of %d bytes", n)
			}
			if err := slot.Flash.ReadAt(sig.Buf[:n], slot.Offset+off); err != nil {
				return nil, err
			}
			keyID = -1
			for i, k := range keys {
				kh, err := d.sha256Sum("key hash", k.der)
				if err != nil {
					return nil, err
				}
				if n == 32 && bytes.Equal(kh[:], sig.Buf[:n]) {
					keyID = i
					copy(keyHash[:], kh[:8])
				}
			}
			if keyID < 0 {
				ev("key hash TLV", fmt.Sprintf("%x…", sig.Buf[:min(8, n)]), Info, "names none of the boot loader's built-in keys")
			}
		case typ == d.mb.sigTLV:
			if keyID < 0 {
				break // MCUboot ignores a signature whose key it does not know
			}
			if n > MCUbootSigBufSize {
				return nil, fail("signature TLV", "", ErrInvalid, "signature TLV of %d bytes", n)
			}
			if err := slot.Flash.ReadAt(sig.Buf[:n], slot.Offset+off); err != nil {
				return nil, err
			}
			if d.mbVerify(keys[keyID], sum[:], sig.Buf[:n]) {
				sigOK = true
				img.KeyIdx = keyID
				ev("signature verified with key hash "+fmt.Sprintf("%x…", keyHash), fmt.Sprintf("%s, built-in key #%d", keys[keyID].name(), keyID), Pass, "")
			}
			keyID = -1
		}
		off += n
	}
	if !hashOK {
		return nil, fail("hash TLV", "", ErrInvalid, "the image has no SHA-256 TLV")
	}
	if !sigOK {
		return nil, fail("signature", "", ErrSignature, "no %s signature TLV verifies with a built-in key: signed by another key, or altered", d.mb.sigName())
	}
	return img, nil
}

// mbKey is one built-in key: the SubjectPublicKeyInfo DER imgtool embeds into MCUboot.
type mbKey struct {
	kind byte
	der  []byte
}

func (k mbKey) name() string {
	if k.kind == anchorEd25519 {
		return "Ed25519"
	}
	return "ECDSA P-256"
}

func (d *Device) mbVerify(k mbKey, hash, sig []byte) bool {
	switch k.kind {
	case anchorP256:
		ctx, err := d.RAM.alloc("P-256 verify context", P256VerifyCtxSize, false)
		if err != nil {
			return false
		}
		defer ctx.Free()
		d.clock += P256VerifyTime
		// The point is the last 65 bytes of the 91-byte SubjectPublicKeyInfo.
		x, y := elliptic.Unmarshal(elliptic.P256(), k.der[len(k.der)-65:]) //nolint:staticcheck // raw point from the boot loader
		if x == nil {
			return false
		}
		return ecdsa.VerifyASN1(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, hash, sig)
	case anchorEd25519:
		ctx, err := d.RAM.alloc("Ed25519 verify context", Ed25519VerifyCtxSize, false)
		if err != nil {
			return false
		}
		defer ctx.Free()
		d.clock += Ed25519VerifyTime
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(ed25519.PublicKey(k.der[len(k.der)-32:]), hash, sig)
	}
	return false
}

// mbReadInfo is Zephyr's img_mgmt_read_info: version, flags and the SHA-256 TLV of a slot,
// without checking anything (the application side trusts the boot loader to validate).
func (d *Device) mbReadInfo(slot Region) (h mbHeader, hash []byte, rc int) {
	var hb [mbHeaderSize]byte
	if err := slot.Flash.ReadAt(hb[:], slot.Offset); err != nil {
		return h, nil, mbImgErrFlashRead
	}
	h = parseMBHeader(hb[:])
	if h.Magic == 0xffffffff {
		return h, nil, mbImgErrNoImage
	}
	if h.Magic != mbImageMagic {
		return h, nil, mbImgErrMagic
	}
	// As img_mgmt_read_info walks the TLVs, quirks included: the end is 4 bytes past the area
	// (it_tlv_tot counts the info header too), an erased TLV is recognised by type 0xff, and after
	// the hash TLV's header the walk goes on from the hash value itself.
	read := func(p []byte, at int) bool {
		return at >= 0 && at+len(p) <= slot.Size && slot.Flash.ReadAt(p, slot.Offset+at) == nil
	}
	findTLVs := func(start int, magic uint16) (int, int, int) {
		var info [4]byte
		if !read(info[:], start) {
			return 0, 0, mbImgErrFlashRead
		}
		if binary.LittleEndian.Uint16(info[:]) != magic {
			return 0, 0, mbImgErrNoTLVs
		}
		return start + 4, start + 4 + int(binary.LittleEndian.Uint16(info[2:])), 0
	}
	off := h.tlvOff()
	if _, pend, rc := findTLVs(off, mbTLVProtInfoMagic); rc == 0 {
		off = pend - 4
	}
	off, end, rc := findTLVs(off, mbTLVInfoMagic)
	if rc != 0 {
		return h, nil, mbImgErrNoTLVs
	}
	for off+4 <= end {
		var tl [4]byte
		if !read(tl[:], off) {
			return h, nil, mbImgErrFlashRead
		}
		typ, n := binary.LittleEndian.Uint16(tl[:]), int(binary.LittleEndian.Uint16(tl[2:]))
		if typ == 0xff && n == 0xffff {
			return h, nil, mbImgErrInvalidTLV
		}
		if typ != mbTLVSHA256 || n != 32 {
			off += 4 + n
			continue
		}
		if hash != nil {
			return h, nil, mbImgErrMultipleHashes
		}
		off += 4
		hash = make([]byte, 32)
		if off+32 > end {
			return h, nil, mbImgErrTLVSize
		}
		if !read(hash, off) {
			return h, nil, mbImgErrFlashRead
		}
	}
	if hash == nil {
		return h, nil, mbImgErrHashNotFound
	}
	return h, hash, 0
}

// Zephyr's img_mgmt error codes the application side returns (same values as transport's).
const (
	mbImgErrNoImage        = 3
	mbImgErrNoTLVs         = 4
	mbImgErrInvalidTLV     = 5
	mbImgErrMultipleHashes = 6
	mbImgErrTLVSize        = 7
	mbImgErrHashNotFound   = 8
	mbImgErrFlashRead      = 11
	mbImgErrMagic          = 23
)
