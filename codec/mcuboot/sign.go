package mcuboot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // crypto.SHA256
	_ "crypto/sha512" // crypto.SHA384, crypto.SHA512
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
)

// Options say how to build an image; the zero value plus a Version is imgtool's
// "sign --header-size 0x200 --slot-size 0" for an input that starts with its header area.
type Options struct {
	// HeaderSize is the header area (0 = DefaultHeaderSize, 0x200). At least 32 bytes.
	HeaderSize int
	// PadHeader prepends HeaderSize erased bytes to the input (imgtool --pad-header). Without
	// it the input must start with HeaderSize zero bytes (Zephyr's CONFIG_ROM_START_OFFSET),
	// which the header then overwrites.
	PadHeader bool
	Version   Version
	// SecurityCounter, if set, adds the protected SEC_CNT TLV (anti-rollback in MCUboot).
	SecurityCounter *uint32
	// SlotSize is the slot's size in bytes: the image plus its trailer must fit (0: not checked).
	SlotSize int
	// Pad fills the image to SlotSize with erased bytes and writes the trailer's boot magic
	// (imgtool --pad: the image is marked for a test swap). Confirm also sets image_ok (--confirm,
	// implies Pad).
	Pad, Confirm bool
	// Align is the flash write size (1, 2, 4, 8, 16 or 32; 0 = 1), MaxAlign the largest alignment
	// of the two slots (0 = max(8, Align)), MaxSectors the swap status size (0 = 128).
	Align, MaxAlign, MaxSectors int
	// OverwriteOnly makes the trailer of an overwrite-only boot loader (imgtool --overwrite-only).
	OverwriteOnly bool
	// LoadAddr, if not 0, is a RAM load address (sets the RAM_LOAD flag).
	LoadAddr uint32
	// ErasedZero says that erased flash reads 0x00 instead of 0xff (imgtool -R 0).
	ErasedZero bool
	// Protected are vendor TLVs for the protected area (types xxA0..xxFE), after SEC_CNT, in
	// this order (imgtool --custom-tlv).
	Protected []TLV
	// Rand is the randomness for ECDSA and RSA-PSS signatures (crypto/rand when nil).
	Rand io.Reader
}

func (o *Options) normalise() error {
	if o.HeaderSize == 0 {
		o.HeaderSize = DefaultHeaderSize
	}
	if o.HeaderSize < HeaderLen || o.HeaderSize > 0xffff {
		return fmt.Errorf("%w: header size %d (0x%x) must be between 32 and 65535 bytes", ErrOptions, o.HeaderSize, o.HeaderSize)
	}
	if o.Align == 0 {
		o.Align = 1
	}
	switch o.Align {
	case 1, 2, 4, 8, 16, 32:
	default:
		return fmt.Errorf("%w: alignment %d must be 1, 2, 4, 8, 16 or 32", ErrOptions, o.Align)
	}
	if o.MaxAlign == 0 {
		o.MaxAlign = max(defaultMaxAlign, o.Align)
	}
	switch o.MaxAlign {
	case 8, 16, 32:
	default:
		return fmt.Errorf("%w: max alignment %d must be 8, 16 or 32", ErrOptions, o.MaxAlign)
	}
	if o.MaxSectors == 0 {
		o.MaxSectors = defaultMaxSectors
	}
	if o.MaxSectors < 0 {
		return fmt.Errorf("%w: max sectors %d", ErrOptions, o.MaxSectors)
	}
	if o.Confirm {
		o.Pad = true
	}
	if o.Pad && o.SlotSize <= 0 {
		return fmt.Errorf("%w: padding needs the slot size", ErrOptions)
	}
	if o.SlotSize < 0 {
		return fmt.Errorf("%w: slot size %d", ErrOptions, o.SlotSize)
	}
	seen := map[uint16]bool{}
	for _, t := range o.Protected {
		if !IsVendorTLV(t.Type) {
			return fmt.Errorf("%w: TLV type 0x%04x is not in a vendor range (xxA0..xxFE)", ErrOptions, t.Type)
		}
		if seen[t.Type] {
			return fmt.Errorf("%w: TLV type 0x%04x given twice", ErrOptions, t.Type)
		}
		seen[t.Type] = true
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return nil
}

func (o *Options) erased() byte {
	if o.ErasedZero {
		return 0
	}
	return 0xff
}

// TrailerSize is the size of the image trailer for these options (imgtool's _trailer_size,
// without encryption keys).
func (o Options) TrailerSize() int {
	if err := o.normalise(); err != nil {
		return 0
	}
	return o.trailerSize()
}

func (o *Options) trailerSize() int {
	magic := alignUp(bootMagicLen, o.MaxAlign)
	if o.OverwriteOnly {
		return o.MaxAlign*2 + magic
	}
	return o.MaxSectors*3*o.Align + o.MaxAlign*4 + magic
}

func (o *Options) bootMagic() []byte {
	if o.MaxAlign == defaultMaxAlign {
		return bootMagic8
	}
	return append([]byte{byte(o.MaxAlign), byte(o.MaxAlign >> 8)}, bootMagicTail...)
}

// scheme is how a key type signs an MCUboot image.
type scheme struct {
	hash    crypto.Hash
	hashTLV uint16
	sigTLV  uint16
	pub     []byte // the public key as MCUboot embeds it (what KEYHASH hashes)
	kind    string
}

// schemeFor picks the hash, signature TLV and public key encoding imgtool uses for a key.
func schemeFor(pub crypto.PublicKey) (*scheme, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		switch p.Curve {
		case elliptic.P256():
			return &scheme{crypto.SHA256, TLVSHA256, TLVECDSASig, der, "ECDSA P-256"}, nil
		case elliptic.P384():
			return &scheme{crypto.SHA384, TLVSHA384, TLVECDSASig, der, "ECDSA P-384"}, nil
		}
		return nil, fmt.Errorf("%w: curve %s (MCUboot takes P-256 or P-384)", ErrUnsupported, p.Curve.Params().Name)
	case ed25519.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		return &scheme{crypto.SHA256, TLVSHA256, TLVEd25519, der, "Ed25519"}, nil
	case *rsa.PublicKey:
		der := x509.MarshalPKCS1PublicKey(p)
		switch p.N.BitLen() {
		case 2048:
			return &scheme{crypto.SHA256, TLVSHA256, TLVRSA2048, der, "RSA-2048 PSS"}, nil
		case 3072:
			return &scheme{crypto.SHA256, TLVSHA256, TLVRSA3072, der, "RSA-3072 PSS"}, nil
		}
		return nil, fmt.Errorf("%w: RSA key of %d bits (MCUboot takes 2048 or 3072)", ErrUnsupported, p.N.BitLen())
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupported, pub)
}

func (s *scheme) sum(b []byte) []byte {
	h := s.hash.New()
	h.Write(b)
	return h.Sum(nil)
}

// PSS parameters MCUboot verifies: MGF1 with SHA-256 and a 32-byte salt.
var pssOptions = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}

func (s *scheme) sign(key crypto.Signer, rnd io.Reader, digest []byte) ([]byte, error) {
	switch s.sigTLV {
	case TLVEd25519:
		// imgtool's Ed25519 is a DigestSigner: pure Ed25519 whose message is the image digest.
		return key.Sign(rnd, digest, crypto.Hash(0))
	case TLVRSA2048, TLVRSA3072:
		return key.Sign(rnd, digest, pssOptions)
	default:
		return key.Sign(rnd, digest, s.hash)
	}
}

// KeyHash is the KEYHASH TLV value for pub: the hash of the public key as MCUboot embeds it.
func KeyHash(pub crypto.PublicKey) ([]byte, error) {
	s, err := schemeFor(pub)
	if err != nil {
		return nil, err
	}
	return s.sum(s.pub), nil
}

// Sign builds an MCUboot image from firmware and signs it with key (a key file or an HSM key:
// anything that is a crypto.Signer), exactly as imgtool sign does with the same options.
func Sign(firmware []byte, key crypto.Signer, o Options) ([]byte, error) {
	if err := o.normalise(); err != nil {
		return nil, err
	}
	s, err := schemeFor(key.Public())
	if err != nil {
		return nil, err
	}
	hs := o.HeaderSize
	var payload []byte
	if o.PadHeader {
		payload = make([]byte, hs, hs+len(firmware)+1024)
		for i := range payload {
			payload[i] = o.erased()
		}
		payload = append(payload, firmware...)
	} else {
		if len(firmware) < hs {
			return nil, fmt.Errorf("%w: the input has %d bytes, fewer than the 0x%x-byte header area; give --pad-header to prepend it", ErrHeaderArea, len(firmware), hs)
		}
		if i := firstNonZero(firmware[:hs]); i >= 0 {
			return nil, fmt.Errorf("%w: byte 0x%x of the first 0x%x bytes is not zero; give --pad-header to prepend a header area to a raw binary (it must then be linked to run at the slot + 0x%x)", ErrHeaderArea, i, hs, hs)
		}
		payload = make([]byte, 0, len(firmware)+1024)
		payload = append(payload, firmware...)
	}
	imgSize := len(payload) - hs
	if uint64(imgSize) > 0xffffffff {
		return nil, fmt.Errorf("%w: the image is larger than 4 GiB", ErrTooLarge)
	}

	// The protected area: SEC_CNT first, then the vendor TLVs (imgtool's order).
	var prot []byte
	if o.SecurityCounter != nil {
		prot = appendTLV(prot, TLVSecCnt, binary.LittleEndian.AppendUint32(nil, *o.SecurityCounter))
	}
	for _, t := range o.Protected {
		if len(t.Value) > 0xffff {
			return nil, fmt.Errorf("%w: TLV 0x%04x has %d bytes; a TLV holds at most 65535", ErrTooLarge, t.Type, len(t.Value))
		}
		prot = appendTLV(prot, t.Type, t.Value)
	}
	protSize := 0
	if len(prot) > 0 {
		protSize = tlvInfoLen + len(prot)
		if protSize > 0xffff {
			return nil, fmt.Errorf("%w: the protected TLV area would have %d bytes; MCUboot allows 65535", ErrTooLarge, protSize)
		}
	}
	flags := uint32(0)
	if o.LoadAddr != 0 {
		flags |= FlagRAMLoad
	}
	Header{Magic: ImageMagic, LoadAddr: o.LoadAddr, HeaderSize: uint16(hs), ProtectedTLVSize: uint16(protSize),
		ImageSize: uint32(imgSize), Flags: flags, Version: o.Version}.marshal(payload[:HeaderLen])
	if protSize > 0 {
		payload = binary.LittleEndian.AppendUint16(payload, TLVProtInfoMagic)
		payload = binary.LittleEndian.AppendUint16(payload, uint16(protSize))
		payload = append(payload, prot...)
	}

	digest := s.sum(payload)
	sig, err := s.sign(key, o.Rand, digest)
	if err != nil {
		return nil, fmt.Errorf("signing the image: %w", err)
	}
	var tlvs []byte
	tlvs = appendTLV(tlvs, s.hashTLV, digest)
	tlvs = appendTLV(tlvs, TLVKeyHash, s.sum(s.pub))
	tlvs = appendTLV(tlvs, s.sigTLV, sig)
	payload = binary.LittleEndian.AppendUint16(payload, TLVInfoMagic)
	payload = binary.LittleEndian.AppendUint16(payload, uint16(tlvInfoLen+len(tlvs)))
	payload = append(payload, tlvs...)

	if o.SlotSize > 0 {
		tsize := o.trailerSize()
		if len(payload)+tsize > o.SlotSize {
			return nil, fmt.Errorf("%w: image size (0x%x) + trailer (0x%x) exceeds the slot size 0x%x", ErrTooLarge, len(payload), tsize, o.SlotSize)
		}
		if o.Pad {
			payload = o.padTo(payload)
		}
	}
	return payload, nil
}

// padTo is imgtool's pad_to: erased bytes up to the slot size, the boot magic last, and
// image_ok = 0x01 for a confirmed image.
func (o *Options) padTo(payload []byte) []byte {
	start := len(payload)
	for len(payload) < o.SlotSize {
		payload = append(payload, o.erased())
	}
	magic := o.bootMagic()
	copy(payload[o.SlotSize-len(magic):], magic)
	if o.Confirm && !o.OverwriteOnly {
		idx := o.SlotSize - (alignUp(bootMagicLen, o.MaxAlign) + o.MaxAlign)
		if idx >= start {
			payload[idx] = 0x01
		}
	}
	return payload
}

func appendTLV(b []byte, typ uint16, v []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}
