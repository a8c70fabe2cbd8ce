package transport

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Serial framing ("SMP over console", Zephyr subsys/mgmt/mcumgr/transport/src/serial_util.c).
const (
	// DefaultLineMax is Zephyr's default frame size, CONFIG_UART_MCUMGR_RX_BUF_SIZE: 127 bytes per
	// line including the 2-byte marker and the newline.
	DefaultLineMax = 127
	// MinLineMax is the smallest usable line: marker, four base64 characters, newline.
	MinLineMax = 7
	// maxLineHard bounds a line the decoder accepts when no limit is set, so console noise without
	// newlines cannot grow memory without end.
	maxLineHard = 64 << 10
)

// Frame markers.
var (
	markerFirst = [2]byte{0x06, 0x09}
	markerCont  = [2]byte{0x04, 0x14}
)

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return
}()

// CRC16 is CRC-16/XMODEM (poly 0x1021, init 0, not reflected, no final XOR): Zephyr's
// crc16_itu_t(0x0000, ...). Over body||be16(CRC16(body)) it is 0.
func CRC16(b []byte) uint16 { return crcUpdate(0, b) }

func crcUpdate(c uint16, b []byte) uint16 {
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
	}
	return c
}

// RawPerLine returns how many packet bytes one line of lineMax bytes carries: the base64 text of
// a frame is a multiple of 4 characters after the 2-byte marker and before the newline.
func RawPerLine(lineMax int) int { return (lineMax - 3) / 4 * 3 }

// FrameSize returns the number of bytes on the wire for an SMP packet of n bytes.
func FrameSize(n, lineMax int) int {
	raw := n + 4 // length field and CRC
	per := RawPerLine(lineMax)
	full := raw / per
	rest := raw % per
	size := full * (per/3*4 + 3)
	if rest > 0 {
		size += (rest+2)/3*4 + 3
	}
	return size
}

// EncodeFrames frames an SMP packet (header and body) for a serial line: be16(len+2) || packet ||
// be16(crc), cut into lines of at most lineMax bytes, each base64-encoded on its own so that a
// receiver that decodes frame by frame (as Zephyr does) gets whole bytes. Every frame but the last
// carries a multiple of 3 bytes, so only the last one is padded.
func EncodeFrames(pkt []byte, lineMax int) ([]byte, error) {
	return AppendFrames(nil, pkt, lineMax)
}

// AppendFrames is EncodeFrames appending to dst.
func AppendFrames(dst, pkt []byte, lineMax int) ([]byte, error) {
	if lineMax < MinLineMax {
		return nil, fmt.Errorf("%w: line length %d is below the minimum of %d", ErrFrame, lineMax, MinLineMax)
	}
	if len(pkt)+2 > 0xFFFF {
		return nil, fmt.Errorf("%w: %d bytes do not fit the 16-bit length field", ErrTooLarge, len(pkt))
	}
	raw := make([]byte, 0, len(pkt)+4)
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(pkt)+2))
	raw = append(raw, pkt...)
	raw = binary.BigEndian.AppendUint16(raw, CRC16(pkt))
	per := RawPerLine(lineMax)
	for i := 0; i < len(raw); i += per {
		if i == 0 {
			dst = append(dst, markerFirst[:]...)
		} else {
			dst = append(dst, markerCont[:]...)
		}
		end := min(i+per, len(raw))
		dst = base64.StdEncoding.AppendEncode(dst, raw[i:end])
		dst = append(dst, '\n')
	}
	return dst, nil
}

// Deframer reassembles SMP packets from serial lines, one line at a time. Lines that do not start
// with a frame marker are console noise (log output) and are skipped, also between the frames of
// one packet. A zero Deframer accepts any line length up to 64 KiB and any packet length.
type Deframer struct {
	// LineMax, if > 0, rejects longer lines (marker and newline included), as a device with a
	// fixed receive buffer does.
	LineMax int
	// MaxPacket, if > 0, rejects packets whose raw size (length field, SMP packet and CRC) exceeds it.
	MaxPacket int

	buf    []byte // decoded bytes of the packet in progress, without the length field
	want   int    // value of the length field: SMP packet + CRC; 0 when no packet is in progress
	active bool
	line   int
}

// Reset drops any packet in progress.
func (d *Deframer) Reset() { d.buf, d.want, d.active = d.buf[:0], 0, false }

// InProgress reports whether a packet has started and is not complete.
func (d *Deframer) InProgress() bool { return d.active }

// Feed takes one line (with or without its trailing newline) and returns a complete SMP packet
// (header and body, CRC checked and stripped) when the line completes one. It returns a
// *FrameError for a frame it rejects; the decoder is then ready for the next packet. Noise lines
// return (nil, nil). The returned packet is a fresh slice.
func (d *Deframer) Feed(line []byte) ([]byte, error) {
	d.line++
	// The line limit counts the frame and one line end: a device's receive buffer holds the
	// marker, the base64 text and the newline, and a "\r\n" line end is one terminator, not two
	// bytes of frame (so a 127-byte limit takes a 128-byte line ending in "\r\n").
	n := len(bytes.TrimRight(line, "\r\n")) + 1
	// Old MCUboot serial recovery ends its replies with "\n\r", so the '\r' lands at the start of
	// the next line: strip carriage returns and blanks at both ends, as nmxact does.
	line = bytes.Trim(line, " \t\r\n")
	if len(line) < 2 {
		return nil, nil
	}
	first := line[0] == markerFirst[0] && line[1] == markerFirst[1]
	cont := line[0] == markerCont[0] && line[1] == markerCont[1]
	if !first && !cont {
		return nil, nil // console noise
	}
	if d.LineMax > 0 && n > d.LineMax {
		d.Reset()
		return nil, d.errf(ErrLineTooLong, "frame of %d bytes exceeds the %d-byte line limit", n, d.LineMax)
	}
	if first {
		if d.active {
			// A new packet starts before the previous one ended: the old one lost a frame.
			d.Reset()
		}
		d.active = true
	} else if !d.active {
		return nil, d.errf(ErrFrame, "continuation frame without a first frame (a frame was lost)")
	}
	text := line[2:]
	if len(text)%4 != 0 {
		d.Reset()
		return nil, d.errf(ErrBase64, "base64 text of %d characters is not a multiple of 4 (bytes lost on the line)", len(text))
	}
	start := len(d.buf)
	dec, err := base64.StdEncoding.AppendDecode(d.buf, text)
	if err != nil {
		d.Reset()
		return nil, d.errf(ErrBase64, "frame is not valid base64: %v", err)
	}
	d.buf = dec
	if first {
		if len(d.buf)-start < 2 {
			d.Reset()
			return nil, d.errf(ErrFrame, "first frame too short to hold the length field")
		}
		d.want = int(binary.BigEndian.Uint16(d.buf[start:]))
		d.buf = append(d.buf[:start], d.buf[start+2:]...)
		if d.want < 2 {
			d.Reset()
			return nil, d.errf(ErrFrame, "length field %d is smaller than the CRC", d.want)
		}
		if d.MaxPacket > 0 && d.want+2 > d.MaxPacket {
			w := d.want
			d.Reset()
			return nil, d.errf(ErrTooLarge, "packet of %d bytes exceeds the %d-byte buffer", w+2, d.MaxPacket)
		}
	}
	if len(d.buf) < d.want {
		return nil, nil
	}
	if len(d.buf) > d.want {
		got, want := len(d.buf), d.want
		d.Reset()
		return nil, d.errf(ErrLengthMismatch, "packet holds %d bytes, its length field says %d", got, want)
	}
	if crcUpdate(0, d.buf) != 0 {
		d.Reset()
		return nil, d.errf(ErrCRC, "CRC-16 mismatch in a %d-byte packet (corrupted on the line)", d.want)
	}
	pkt := bytes.Clone(d.buf[:len(d.buf)-2])
	d.Reset()
	return pkt, nil
}

func (d *Deframer) errf(sentinel error, format string, args ...any) error {
	return &FrameError{Line: d.line, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// FrameReader reads SMP packets from a byte stream (a serial port).
type FrameReader struct {
	Deframer
	r       *bufio.Reader
	partial []byte
}

// NewFrameReader returns a FrameReader on r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 4096)}
}

// ReadPacket returns the next complete SMP packet. A *FrameError is not fatal: the caller may call
// ReadPacket again. Any other error comes from the underlying reader.
func (f *FrameReader) ReadPacket() ([]byte, error) {
	for {
		chunk, err := f.r.ReadSlice('\n')
		switch {
		case err == nil:
			line := chunk
			if len(f.partial) > 0 {
				line = append(f.partial, chunk...)
				f.partial = f.partial[:0]
			}
			pkt, ferr := f.Feed(line)
			if ferr != nil || pkt != nil {
				return pkt, ferr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if len(f.partial)+len(chunk) > maxLineHard {
				// Runaway noise without newlines: keep one byte that marks the line as noise.
				f.partial = append(f.partial[:0], 0)
				continue
			}
			f.partial = append(f.partial, chunk...)
		default:
			return nil, err
		}
	}
}
