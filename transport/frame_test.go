package transport

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// Zephyr's test vector (tests/unit/crc): crc16_itu_t(0, 0A 2B 4C 6D 8E 49 00 C4) = 0x8866.
func TestCRC16ZephyrVector(t *testing.T) {
	in, _ := hex.DecodeString("0A2B4C6D8E4900C4")
	if got := CRC16(in); got != 0x8866 {
		t.Fatalf("CRC16 = %#04x, want 0x8866", got)
	}
	// CRC-16/XMODEM check value over "123456789".
	if got := CRC16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16(123456789) = %#04x, want 0x31c3", got)
	}
	// Residue: the CRC over data followed by its big-endian CRC is 0 (Zephyr's receive check).
	if got := CRC16(append(in, 0x88, 0x66)); got != 0 {
		t.Fatalf("residue = %#04x, want 0", got)
	}
}

// The image erase request from a real trace (zephyr#9509): 02 00 00 01 00 01 42 05 a0.
func TestEraseRequestBytes(t *testing.T) {
	body, err := marshalCBOR(EraseRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := MarshalPacket(Header{Op: OpWrite, Group: GroupImage, Seq: 0x42, ID: CmdImageErase}, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(pkt); got != "0200000100014205a0" {
		t.Fatalf("erase request = %s, want 0200000100014205a0", got)
	}
	p, err := ParsePacket(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if p.Op != OpWrite || p.Group != 1 || p.Seq != 0x42 || p.ID != 5 || p.Len != 1 || p.Version != 0 {
		t.Fatalf("parsed header %+v", p.Header)
	}
	// The framed form: be16(len+2)=000b, packet, be16(crc), base64 on one line.
	wire, err := EncodeFrames(pkt, DefaultLineMax)
	if err != nil {
		t.Fatal(err)
	}
	raw := append([]byte{0x00, 0x0b}, pkt...)
	c := CRC16(pkt)
	raw = append(raw, byte(c>>8), byte(c))
	want := "\x06\x09" + base64.StdEncoding.EncodeToString(raw) + "\n"
	if string(wire) != want {
		t.Fatalf("framed = %q, want %q", wire, want)
	}
}

func TestHeaderVersion2(t *testing.T) {
	b := Header{Op: OpReadRsp, Version: Version2, Flags: 0xAA, Len: 0x0102, Group: 0x0304, Seq: 5, ID: 6}.Marshal(nil)
	if got := hex.EncodeToString(b); got != "09aa010203040506" {
		t.Fatalf("header = %s", got)
	}
	h, err := ParseHeader(b)
	if err != nil || h.Op != OpReadRsp || h.Version != Version2 || h.Len != 0x0102 || h.Group != 0x0304 {
		t.Fatalf("round trip: %+v %v", h, err)
	}
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

// A packet whose raw size is a multiple of 93 fills every line to exactly 127 bytes.
func TestFrameRoundTripFullLines(t *testing.T) {
	for _, lineMax := range []int{DefaultLineMax, 7, 128, 4096} {
		per := RawPerLine(lineMax)
		for _, n := range []int{0, 1, per - 4, per*3 - 4, per*3 - 3, 1000, 5000} {
			if n < 0 {
				continue
			}
			pkt := make([]byte, n)
			for i := range pkt {
				pkt[i] = byte(i*7 + n)
			}
			wire, err := EncodeFrames(pkt, lineMax)
			if err != nil {
				t.Fatal(err)
			}
			if len(wire) != FrameSize(n, lineMax) {
				t.Fatalf("line %d n %d: wire %d bytes, FrameSize says %d", lineMax, n, len(wire), FrameSize(n, lineMax))
			}
			lines := splitLines(wire)
			for i, l := range lines {
				if len(l) > lineMax {
					t.Fatalf("line %d n %d: line %d has %d bytes > %d", lineMax, n, i, len(l), lineMax)
				}
				if i < len(lines)-1 && len(l) != 3+per/3*4 {
					t.Fatalf("line %d n %d: non-final line %d has %d bytes, want full", lineMax, n, i, len(l))
				}
				if i < len(lines)-1 && strings.Contains(string(l), "=") {
					t.Fatalf("padding in a non-final frame")
				}
			}
			if (n+4)%per == 0 && len(lines[len(lines)-1]) != 3+per/3*4 {
				t.Fatalf("line %d n %d: last line not full", lineMax, n)
			}
			if lineMax == DefaultLineMax && (n+4)%93 == 0 {
				for _, l := range lines {
					if len(l) != 127 {
						t.Fatalf("line of %d bytes, want exactly 127", len(l))
					}
				}
			}
			d := Deframer{LineMax: lineMax}
			var got []byte
			for i, l := range lines {
				p, err := d.Feed(l)
				if err != nil {
					t.Fatal(err)
				}
				if (p != nil) != (i == len(lines)-1) {
					t.Fatalf("packet completed at line %d of %d", i, len(lines))
				}
				got = p
			}
			if !bytes.Equal(got, pkt) {
				t.Fatalf("line %d n %d: round trip differs", lineMax, n)
			}
		}
	}
}

func TestFrameReaderNoise(t *testing.T) {
	p1 := []byte{2, 0, 0, 1, 0, 1, 0x42, 5, 0xa0}
	p2 := bytes.Repeat([]byte{0x5a}, 300)
	w1, _ := EncodeFrames(p1, 127)
	w2, _ := EncodeFrames(p2, 127)
	lines := splitLines(w2)
	var stream bytes.Buffer
	stream.WriteString("[00:00:01.000,000] <inf> app: booting\r\n")
	stream.Write(w1)
	stream.WriteString("uart:~$ \n")
	stream.Write(lines[0])
	stream.WriteString("[00:00:01.500,000] <wrn> flash: slow erase\n") // a log line between frames
	for _, l := range lines[1:] {
		stream.Write(l)
	}
	stream.WriteString(strings.Repeat("x", 70000) + "\n") // runaway noise
	stream.Write(w1)
	fr := NewFrameReader(&stream)
	for i, want := range [][]byte{p1, p2, p1} {
		got, err := fr.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d differs", i)
		}
	}
	if _, err := fr.ReadPacket(); err != io.EOF {
		t.Fatalf("end: %v, want EOF", err)
	}
}

func TestDeframerRejects(t *testing.T) {
	pkt := bytes.Repeat([]byte{1, 2, 3}, 50)
	wire, _ := EncodeFrames(pkt, 127)
	lines := splitLines(wire)

	corrupt := func(line []byte, i int, c byte) []byte {
		l := bytes.Clone(line)
		l[i] = c
		return l
	}
	cases := []struct {
		name  string
		lines [][]byte
		d     Deframer
		want  error
	}{
		{"bad crc", [][]byte{lines[0], corrupt(lines[1], 10, flipB64(lines[1][10]))}, Deframer{}, ErrCRC},
		{"bad base64", [][]byte{corrupt(lines[0], 5, '!')}, Deframer{}, ErrBase64},
		{"lost bytes", [][]byte{append(append([]byte{}, lines[0][:51]...), '\n')}, Deframer{}, ErrBase64},
		{"continuation first", [][]byte{lines[1]}, Deframer{}, ErrFrame},
		{"line too long", [][]byte{lines[0]}, Deframer{LineMax: 100}, ErrLineTooLong},
		{"packet too large", [][]byte{lines[0]}, Deframer{MaxPacket: 100}, ErrTooLarge},
		{"longer than length", [][]byte{lengthLine(5, 12)}, Deframer{}, ErrLengthMismatch},
		{"length below crc", [][]byte{lengthLine(1, 0)}, Deframer{}, ErrFrame},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.d
			var err error
			for _, l := range c.lines {
				var p []byte
				p, err = d.Feed(l)
				if p != nil {
					t.Fatal("a damaged packet was accepted")
				}
				if err != nil {
					break
				}
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Line == 0 || fe.Error() == "" {
				t.Fatalf("not a FrameError with a line number: %#v", err)
			}
			// The decoder recovers for the next packet.
			ok, _ := EncodeFrames([]byte{9, 9, 9}, 127)
			d.LineMax, d.MaxPacket = 0, 0
			if p, err := d.Feed(ok); err != nil || !bytes.Equal(p, []byte{9, 9, 9}) {
				t.Fatalf("no recovery: %v", err)
			}
		})
	}
}

// lengthLine is a first frame whose length field says length and that carries extra bytes.
func lengthLine(length, extra int) []byte {
	raw := append([]byte{byte(length >> 8), byte(length)}, make([]byte, extra)...)
	return []byte("\x06\x09" + base64.StdEncoding.EncodeToString(raw) + "\n")
}

func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func TestResponseErrorForms(t *testing.T) {
	h := Header{Op: OpWriteRsp, Group: GroupImage, ID: CmdImageUpload}
	for _, c := range []struct {
		body string // hex CBOR
		want string
		ok   bool
	}{
		{"a0", "", true},
		{"a16272630", "", true},              // {"rc":0}
		{"a162726300", "", true},             // {"rc":0}
		{"a162726306", "wrong state", false}, // {"rc":6}
		{"a16272630a", "device busy", false}, // {"rc":10}
		{"a1636572726a", "", false},          // malformed
		{"a163657272a26567726f7570016272630e", "no such image slot", false}, // {"err":{"group":1,"rc":14}}
		{"a163657272a26567726f7570016272631863", "image group error 99", false},
	} {
		b, _ := hex.DecodeString(c.body)
		err := ResponseError(h, b)
		if c.ok {
			if err != nil && c.body != "a16272630" {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", c.body)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q does not say %q", c.body, err, c.want)
		}
	}
}

func TestEveryCodeHasWords(t *testing.T) {
	for rc := 1; rc <= 13; rc++ {
		e := &DeviceError{RC: rc}
		if strings.HasPrefix(e.Error(), "device error") || e.Hint() == "" {
			t.Errorf("MGMT rc %d: %q (hint %q)", rc, e.Error(), e.Hint())
		}
	}
	for rc := 1; rc <= 34; rc++ {
		e := ImageError(rc, "")
		if strings.Contains(e.Error(), "image group error") {
			t.Errorf("image rc %d has no name: %q", rc, e.Error())
		}
	}
	if !strings.Contains(ImageError(77, "").Error(), "image group error 77") {
		t.Error("unknown image code")
	}
}

// Old MCUboot serial recovery ends every reply frame with "\n\r": the '\r' then starts the next
// line. Two such replies back to back must both decode.
func TestFrameReaderMCUbootLineEnd(t *testing.T) {
	p1 := []byte{3, 0, 0, 5, 0, 1, 0, 1, 0xa1, 0x63, 'o', 'f', 'f', 0x00}
	p2 := append([]byte{3, 0, 0, 5, 0, 1, 1, 1, 0xa1, 0x63, 'o', 'f', 'f', 0x19, 0x01, 0x00}, bytes.Repeat([]byte{0x11}, 150)...)
	p2[3] = byte(len(p2) - HeaderSize)
	var stream bytes.Buffer
	for _, p := range [][]byte{p1, p2} {
		w, _ := EncodeFrames(p, 127)
		stream.Write(bytes.ReplaceAll(w, []byte("\n"), []byte("\n\r")))
	}
	fr := NewFrameReader(&stream)
	for i, want := range [][]byte{p1, p2} {
		got, err := fr.ReadPacket()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("reply %d differs", i)
		}
	}
}

// v1 replies carry Zephyr's img_mgmt_translate_error_code mapping of image group errors.
func TestLegacyCodesMatchZephyr(t *testing.T) {
	for rc, want := range map[int]int{
		ImgErrNoImage: MgmtNoEntry, ImgErrNoTLVs: MgmtNoEntry,
		ImgErrNoFreeSlot: MgmtBadState, ImgErrCurrentVersionNewer: MgmtBadState, ImgErrImageAlreadyPending: MgmtBadState,
		ImgErrNoFreeMemory: MgmtNoMemory,
		ImgErrInvalidSlot:  MgmtInvalidValue, ImgErrInvalidHash: MgmtInvalidValue, ImgErrInvalidOffset: MgmtInvalidValue,
		ImgErrInvalidLength: MgmtInvalidValue, ImgErrInvalidPageOffset: MgmtInvalidValue,
		ImgErrInvalidImageHeader: MgmtInvalidValue, ImgErrInvalidFlashAddress: MgmtInvalidValue,
		ImgErrHashNotFound: MgmtUnknown, ImgErrImageTooLarge: MgmtUnknown, // ImgErrConfirmationDenied: see legacyCode

		ImgErrTestToActiveDenied: MgmtUnknown, ImgErrFlashContextSet: MgmtUnknown, ImgErrFlashContextNotSet: MgmtUnknown,
		ImgErrDataOverrun: MgmtUnknown, ImgErrInvalidHeaderMagic: MgmtUnknown, ImgErrInvalidVectorTable: MgmtUnknown,
		ImgErrFlashWriteFailed: MgmtUnknown, ImgErrInvalidTLV: MgmtUnknown, ImgErrActiveSlotNotKnown: MgmtUnknown,
	} {
		e := ImageError(rc, "")
		if got := e.legacyCode(); got != want {
			t.Errorf("%s: v1 rc %d, Zephyr sends %d", e.Name(), got, want)
		}
		// The reason in words survives the coarse code.
		if b := errorBody(e, Version1); b["rsn"] != e.Words() {
			t.Errorf("%s: rsn %v", e.Name(), b["rsn"])
		}
	}
}

// A 127-byte line limit (Zephyr's buffer) takes a 127-byte frame whose line ends in "\r\n".
func TestLineMaxCRLF(t *testing.T) {
	pkt := bytes.Repeat([]byte{0x33}, 89) // 93 bytes framed: one line of 2 + 124 + 1
	w, _ := EncodeFrames(pkt, 127)
	if len(w) != 127 {
		t.Fatalf("frame of %d bytes, want 127", len(w))
	}
	line := append(bytes.TrimSuffix(w, []byte("\n")), '\r', '\n')
	d := Deframer{LineMax: 127}
	got, err := d.Feed(line)
	if err != nil || !bytes.Equal(got, pkt) {
		t.Fatalf("128-byte line with CRLF: %v", err)
	}
	d.LineMax = 126
	if _, err := d.Feed(line); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("limit 126: %v", err)
	}
}
