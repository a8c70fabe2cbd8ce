package mcuboot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func testImage(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Sign(firmware(600, 9), k, Options{PadHeader: true, HeaderSize: 0x100, Version: Version{1, 2, 3, 4}, SecurityCounter: u32(1),
		Protected: []TLV{{Type: TLVSUITEnvelope, Value: []byte("envelope")}}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestParseErrorsSayWhere: every way an image can be broken is an error with its sentinel and
// the byte offset of the problem, never a panic.
func TestParseErrorsSayWhere(t *testing.T) {
	img := testImage(t)
	im, err := Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), img...)) }
	for _, c := range []struct {
		name   string
		data   []byte
		sent   error
		offset int
		words  string
	}{
		{"short", img[:20], ErrTruncated, 0, "fewer than the 32-byte image header"},
		{"magic", mod(func(b []byte) []byte { b[0] ^= 1; return b }), ErrNotImage, 0, "not MCUboot's 0x96f3b83d"},
		{"header size", mod(func(b []byte) []byte { le.PutUint16(b[8:], 16); return b }), ErrBadHeader, 8, "smaller than the 32-byte header"},
		{"image size", mod(func(b []byte) []byte { le.PutUint32(b[12:], 1<<30); return b }), ErrTruncated, 12, "runs past the end"},
		{"unsigned", img[:im.ProtStart], ErrTruncated, im.ProtStart, "not signed"},
		{"protected size", mod(func(b []byte) []byte { le.PutUint16(b[10:], 4); return b }), ErrBadTLV, im.ProtStart + 2, "header says 4"},
		{"TLV cut", img[:im.TLVEnd-1], ErrTruncated, im.TLVStart + 2, "runs past the end of the file"},
		{"TLV length", mod(func(b []byte) []byte { le.PutUint16(b[im.TLVs[2].Offset+2:], 0x200); return b }), ErrBadTLV, im.TLVs[2].Offset + 2, "runs past the end of its area"},
		{"info magic", mod(func(b []byte) []byte { b[im.TLVStart] ^= 0xff; return b }), ErrBadTLV, im.TLVStart, "TLV info magic"},
	} {
		_, err := Parse(c.data)
		var fe *FormatError
		if !errors.Is(err, c.sent) || !errors.As(err, &fe) || fe.Offset != c.offset || !strings.Contains(err.Error(), c.words) {
			t.Errorf("%s: %v (offset %v), want %v at %d saying %q", c.name, err, fe, c.sent, c.offset, c.words)
		}
	}
}

func FuzzParse(f *testing.F) {
	img := testImage(f)
	f.Add(img)
	f.Add(img[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Parse(b)
		if err != nil {
			return
		}
		if im.TLVEnd > len(b) || im.TLVStart < im.ProtStart || len(im.Body()) != int(im.Header.ImageSize) {
			t.Fatalf("inconsistent parse: %+v", im)
		}
		_, _, _ = Verify(b, img2key)
	})
}

var img2key = func() any { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k.Public() }()
