package mcuboot

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
)

// Magic numbers (MCUboot's bootutil/image.h).
const (
	ImageMagic       uint32 = 0x96f3b83d
	TLVInfoMagic     uint16 = 0x6907 // unprotected TLV area
	TLVProtInfoMagic uint16 = 0x6908 // protected TLV area
)

// HeaderLen is the length of the image header structure; the header area (HeaderSize) may be
// larger, e.g. 0x200 on Zephyr boards, so that the body starts at the vector table's alignment.
const HeaderLen = 32

// DefaultHeaderSize is Zephyr's CONFIG_ROM_START_OFFSET for MCUboot on Arm boards.
const DefaultHeaderSize = 0x200

// TLV types (MCUboot's IMAGE_TLV_*; imgtool's TLV_VALUES).
const (
	TLVKeyHash        uint16 = 0x01
	TLVPubKey         uint16 = 0x02
	TLVSHA256         uint16 = 0x10
	TLVSHA384         uint16 = 0x11
	TLVSHA512         uint16 = 0x12
	TLVRSA2048        uint16 = 0x20
	TLVECDSA224       uint16 = 0x21
	TLVECDSASig       uint16 = 0x22
	TLVRSA3072        uint16 = 0x23
	TLVEd25519        uint16 = 0x24
	TLVSigPure        uint16 = 0x25
	TLVEncRSA2048     uint16 = 0x30
	TLVEncKW          uint16 = 0x31
	TLVEncEC256       uint16 = 0x32
	TLVEncX25519      uint16 = 0x33
	TLVEncX25519SHA   uint16 = 0x34
	TLVDependency     uint16 = 0x40
	TLVSecCnt         uint16 = 0x50
	TLVBootRecord     uint16 = 0x60
	TLVDecompSize     uint16 = 0x70
	TLVDecompSHA      uint16 = 0x71
	TLVDecompSig      uint16 = 0x72
	TLVCompDecSize    uint16 = 0x73
	TLVUUIDVID        uint16 = 0x74
	TLVUUIDCID        uint16 = 0x75
	TLVSUITEnvelope   uint16 = 0x53A0 // SUIT Studio: the signed SUIT envelope describing this image
	tlvAny            uint16 = 0xffff
	tlvHeaderLen             = 4
	tlvInfoLen               = 4
	defaultMaxAlign          = 8
	defaultMaxSectors        = 128
	bootMagicLen             = 16
)

// IsVendorTLV reports whether typ lies in a range MCUboot reserves for vendors: xxA0..xxFE
// (bootutil/image.h, "vendor reserved TLVs at xxA0-xxFF"; 0xffff is the iterator's wildcard).
func IsVendorTLV(typ uint16) bool {
	lo := typ & 0xff
	return lo >= 0xa0 && lo <= 0xfe && typ != tlvAny
}

// TLVName names a TLV type the way MCUboot's headers do ("SHA256", "ECDSA_SIG", ...).
func TLVName(typ uint16) string {
	if n, ok := tlvNames[typ]; ok {
		return n
	}
	if IsVendorTLV(typ) {
		return fmt.Sprintf("vendor 0x%04x", typ)
	}
	return fmt.Sprintf("unknown 0x%04x", typ)
}

var tlvNames = map[uint16]string{
	TLVKeyHash: "KEYHASH", TLVPubKey: "PUBKEY", TLVSHA256: "SHA256", TLVSHA384: "SHA384",
	TLVSHA512: "SHA512", TLVRSA2048: "RSA2048_PSS", TLVECDSA224: "ECDSA224", TLVECDSASig: "ECDSA_SIG",
	TLVRSA3072: "RSA3072_PSS", TLVEd25519: "ED25519", TLVSigPure: "SIG_PURE", TLVEncRSA2048: "ENC_RSA2048",
	TLVEncKW: "ENC_KW", TLVEncEC256: "ENC_EC256", TLVEncX25519: "ENC_X25519",
	TLVEncX25519SHA: "ENC_X25519_SHA512", TLVDependency: "DEPENDENCY", TLVSecCnt: "SEC_CNT",
	TLVBootRecord: "BOOT_RECORD", TLVDecompSize: "DECOMP_SIZE", TLVDecompSHA: "DECOMP_SHA",
	TLVDecompSig: "DECOMP_SIGNATURE", TLVCompDecSize: "COMP_DEC_SIZE", TLVUUIDVID: "UUID_VID",
	TLVUUIDCID: "UUID_CID", TLVSUITEnvelope: "SUIT_ENVELOPE (SUIT Studio)",
}

// Header flags (IMAGE_F_*).
const (
	FlagPIC             uint32 = 0x01
	FlagEncryptedAES128 uint32 = 0x04
	FlagEncryptedAES256 uint32 = 0x08
	FlagNonBootable     uint32 = 0x10
	FlagRAMLoad         uint32 = 0x20
	FlagROMFixed        uint32 = 0x100
	FlagCompressedLZMA1 uint32 = 0x200
	FlagCompressedLZMA2 uint32 = 0x400
	FlagCompressedARM   uint32 = 0x800
)

// FlagNames lists the names of the flags set in f.
func FlagNames(f uint32) []string {
	var out []string
	for _, x := range []struct {
		bit  uint32
		name string
	}{{FlagPIC, "PIC"}, {FlagEncryptedAES128, "ENCRYPTED_AES128"}, {FlagEncryptedAES256, "ENCRYPTED_AES256"},
		{FlagNonBootable, "NON_BOOTABLE"}, {FlagRAMLoad, "RAM_LOAD"}, {FlagROMFixed, "ROM_FIXED"},
		{FlagCompressedLZMA1, "COMPRESSED_LZMA1"}, {FlagCompressedLZMA2, "COMPRESSED_LZMA2"},
		{FlagCompressedARM, "COMPRESSED_ARM_THUMB"}} {
		if f&x.bit != 0 {
			out = append(out, x.name)
			f &^= x.bit
		}
	}
	if f != 0 {
		out = append(out, fmt.Sprintf("0x%x", f))
	}
	return out
}

// Version is an image version: major.minor.revision+build.
type Version struct {
	Major    uint8
	Minor    uint8
	Revision uint16
	Build    uint32
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d+%d", v.Major, v.Minor, v.Revision, v.Build)
}

// imgtool's version grammar (version.py): later parts optional, no leading zeros.
var versionRE = regexp.MustCompile(`^([1-9]\d*|0)(\.([1-9]\d*|0)(\.([1-9]\d*|0)(\+([1-9]\d*|0))?)?)?$`)

// ParseVersion reads "1", "1.2", "1.2.3" or "1.2.3+4" as imgtool does.
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%w: %q: write major.minor.revision+build, later parts optional (e.g. 1.2.3+4)", ErrVersion, s)
	}
	part := func(i int, bits int) (uint64, error) {
		if m[i] == "" {
			return 0, nil
		}
		return strconv.ParseUint(m[i], 10, bits)
	}
	maj, e1 := part(1, 8)
	min, e2 := part(3, 8)
	rev, e3 := part(5, 16)
	bld, e4 := part(7, 32)
	for i, e := range []error{e1, e2, e3, e4} {
		if e != nil {
			return Version{}, fmt.Errorf("%w: %q: %s is too large (major and minor ≤ 255, revision ≤ 65535, build ≤ 4294967295)", ErrVersion, s, []string{"major", "minor", "revision", "build"}[i])
		}
	}
	return Version{uint8(maj), uint8(min), uint16(rev), uint32(bld)}, nil
}

// Header is the 32-byte image header.
type Header struct {
	Magic            uint32
	LoadAddr         uint32
	HeaderSize       uint16
	ProtectedTLVSize uint16 // the protected area including its 4-byte info header; 0 if none
	ImageSize        uint32
	Flags            uint32
	Version          Version
}

func (h Header) marshal(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], h.Magic)
	le.PutUint32(b[4:], h.LoadAddr)
	le.PutUint16(b[8:], h.HeaderSize)
	le.PutUint16(b[10:], h.ProtectedTLVSize)
	le.PutUint32(b[12:], h.ImageSize)
	le.PutUint32(b[16:], h.Flags)
	b[20] = h.Version.Major
	b[21] = h.Version.Minor
	le.PutUint16(b[22:], h.Version.Revision)
	le.PutUint32(b[24:], h.Version.Build)
	le.PutUint32(b[28:], 0)
}

func parseHeader(b []byte) Header {
	le := binary.LittleEndian
	return Header{
		Magic: le.Uint32(b[0:]), LoadAddr: le.Uint32(b[4:]), HeaderSize: le.Uint16(b[8:]),
		ProtectedTLVSize: le.Uint16(b[10:]), ImageSize: le.Uint32(b[12:]), Flags: le.Uint32(b[16:]),
		Version: Version{b[20], b[21], le.Uint16(b[22:]), le.Uint32(b[24:])},
	}
}

// TLV is one entry of a TLV area.
type TLV struct {
	Type      uint16
	Value     []byte
	Offset    int  // of the entry's 4-byte header in the image
	Protected bool // in the protected area (covered by the hash and signature)
}

// Trailer is the image trailer found at the end of a padded image.
type Trailer struct {
	Offset   int // of the trailer's boot magic
	MaxAlign int
	// ImageOK is the image_ok byte: 0x01 set (--confirm), the erased value when not set.
	ImageOK byte
}

// Image is a parsed MCUboot image. Its slices alias the bytes given to Parse.
type Image struct {
	Header    Header
	Raw       []byte
	Protected []TLV // the protected area's entries, in order
	TLVs      []TLV // the unprotected area's entries, in order
	// ProtStart is the offset of the protected area (= HeaderSize + ImageSize), TLVStart of
	// the unprotected area's info header, TLVEnd the first byte after it.
	ProtStart, TLVStart, TLVEnd int
	// Trailer is set when the bytes after the TLVs end with an MCUboot boot magic (--pad).
	Trailer *Trailer
}

// Body is the firmware: HeaderSize .. HeaderSize+ImageSize.
func (im *Image) Body() []byte { return im.Raw[im.Header.HeaderSize:im.ProtStart] }

// HashedRegion is what the hash TLV covers and the signature signs: header, body and the
// protected TLV area.
func (im *Image) HashedRegion() []byte { return im.Raw[:im.TLVStart] }

// Find returns the first TLV of type typ, protected or not, or nil.
func (im *Image) Find(typ uint16) *TLV {
	for _, list := range [][]TLV{im.Protected, im.TLVs} {
		for i := range list {
			if list[i].Type == typ {
				return &list[i]
			}
		}
	}
	return nil
}

// IsImage reports whether b starts with the MCUboot image magic.
func IsImage(b []byte) bool {
	return len(b) >= 4 && binary.LittleEndian.Uint32(b) == ImageMagic
}

// Parse reads an MCUboot image as MCUboot's TLV iterator does: the header, the protected TLV
// area whose size must equal the header's, the unprotected area, and a trailer if the image is
// padded. Errors are *FormatError values with the byte offset of the problem.
func Parse(b []byte) (*Image, error) {
	if len(b) < HeaderLen {
		return nil, formatErr(0, ErrTruncated, "the file has %d bytes, fewer than the 32-byte image header", len(b))
	}
	h := parseHeader(b)
	if h.Magic != ImageMagic {
		return nil, formatErr(0, ErrNotImage, "magic is 0x%08x, not MCUboot's 0x%08x", h.Magic, ImageMagic)
	}
	if h.HeaderSize < HeaderLen {
		return nil, formatErr(8, ErrBadHeader, "header size %d is smaller than the 32-byte header", h.HeaderSize)
	}
	im := &Image{Header: h, Raw: b}
	end := uint64(h.HeaderSize) + uint64(h.ImageSize)
	if end > uint64(len(b)) {
		return nil, formatErr(12, ErrTruncated, "header size 0x%x + image size 0x%x = 0x%x runs past the end of the file (%d bytes)", h.HeaderSize, h.ImageSize, end, len(b))
	}
	off := int(end)
	im.ProtStart = off
	magic, tot, err := tlvInfo(b, off)
	if err != nil {
		return nil, err
	}
	if magic == TLVProtInfoMagic {
		if int(h.ProtectedTLVSize) != tot {
			return nil, formatErr(off+2, ErrBadTLV, "protected TLV area is %d bytes but the header says %d", tot, h.ProtectedTLVSize)
		}
		if im.Protected, err = parseTLVs(b, off, tot, true); err != nil {
			return nil, err
		}
		off += tot
		if magic, tot, err = tlvInfo(b, off); err != nil {
			return nil, err
		}
	} else if h.ProtectedTLVSize != 0 {
		return nil, formatErr(off, ErrBadTLV, "the header announces a %d-byte protected TLV area but its magic 0x%04x is not 0x%04x", h.ProtectedTLVSize, magic, TLVProtInfoMagic)
	}
	if magic != TLVInfoMagic {
		return nil, formatErr(off, ErrBadTLV, "TLV info magic is 0x%04x, not 0x%04x", magic, TLVInfoMagic)
	}
	im.TLVStart = off
	if im.TLVs, err = parseTLVs(b, off, tot, false); err != nil {
		return nil, err
	}
	im.TLVEnd = off + tot
	im.Trailer = findTrailer(b, im.TLVEnd)
	return im, nil
}

func tlvInfo(b []byte, off int) (uint16, int, error) {
	if off+tlvInfoLen > len(b) {
		return 0, 0, formatErr(off, ErrTruncated, "the file ends where the TLV area should start (the image is not signed, or it was cut)")
	}
	magic := binary.LittleEndian.Uint16(b[off:])
	tot := int(binary.LittleEndian.Uint16(b[off+2:]))
	if magic != TLVInfoMagic && magic != TLVProtInfoMagic {
		return magic, tot, nil
	}
	if tot < tlvInfoLen {
		return 0, 0, formatErr(off+2, ErrBadTLV, "TLV area size %d is smaller than its 4-byte info header", tot)
	}
	if off+tot > len(b) {
		return 0, 0, formatErr(off+2, ErrTruncated, "TLV area of %d bytes runs past the end of the file", tot)
	}
	return magic, tot, nil
}

func parseTLVs(b []byte, start, tot int, protected bool) ([]TLV, error) {
	var out []TLV
	end := start + tot
	for off := start + tlvInfoLen; off < end; {
		if off+tlvHeaderLen > end {
			return nil, formatErr(off, ErrBadTLV, "a TLV header is cut by the end of its area")
		}
		typ := binary.LittleEndian.Uint16(b[off:])
		n := int(binary.LittleEndian.Uint16(b[off+2:]))
		if off+tlvHeaderLen+n > end {
			return nil, formatErr(off+2, ErrBadTLV, "TLV 0x%02x of %d bytes runs past the end of its area", typ, n)
		}
		out = append(out, TLV{Type: typ, Value: b[off+tlvHeaderLen : off+tlvHeaderLen+n : off+tlvHeaderLen+n], Offset: off, Protected: protected})
		off += tlvHeaderLen + n
	}
	return out, nil
}

// findTrailer recognises the boot magic at the end of a padded image: imgtool's default magic
// (max-align 8), or the one that starts with the max-align for larger alignments.
func findTrailer(b []byte, tlvEnd int) *Trailer {
	if len(b)-tlvEnd < bootMagicLen {
		return nil
	}
	m := b[len(b)-bootMagicLen:]
	maxAlign := 0
	switch {
	case string(m) == string(bootMagic8):
		maxAlign = defaultMaxAlign
	case string(m[2:]) == string(bootMagicTail):
		maxAlign = int(binary.LittleEndian.Uint16(m))
		if maxAlign != 16 && maxAlign != 32 {
			return nil
		}
	default:
		return nil
	}
	t := &Trailer{Offset: len(b) - bootMagicLen, MaxAlign: maxAlign}
	okIdx := len(b) - (alignUp(bootMagicLen, maxAlign) + maxAlign)
	if okIdx >= tlvEnd {
		t.ImageOK = b[okIdx]
	}
	return t
}

var (
	bootMagic8    = []byte{0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80}
	bootMagicTail = []byte{0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a}
)

func alignUp(n, align int) int { return (n + align - 1) &^ (align - 1) }
