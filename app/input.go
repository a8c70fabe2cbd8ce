package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// InputKind says what an input may be, so that an endless or wrong stream (/dev/zero, /dev/urandom,
// a pipe carrying something else) is refused at its first bytes instead of being read to the cap.
type InputKind int

const (
	// AnyInput: any bytes (a firmware image, a key file): only the size is bounded.
	AnyInput InputKind = iota
	// EnvelopeInput: a binary CBOR envelope (tag 107 d8 6b, or a map) or hex text.
	EnvelopeInput
	// EnvelopeOrPackageInput: an envelope, or an RFC 4108 package (DER, starts with a SEQUENCE 30),
	// binary or as hex text.
	EnvelopeOrPackageInput
	// PackageInput: DER (an RFC 4108 package, receipt or error report).
	PackageInput
	// TextInput: a YAML or JSON source: text, so never a NUL byte.
	TextInput
	// DocumentInput: what the studio opens: an envelope, hex text or a source.
	DocumentInput
)

// ErrNotInput: the first bytes of an input show that it is not of the kind expected.
var ErrNotInput = errors.New("not the expected kind of input")

// ReadInput reads one input of kind from r, at most max bytes (ErrTooLarge beyond). A regular file
// (r is an *os.File, or anything with Stat) is refused by its size before anything is read. An
// unbounded input (a pipe, a terminal, a character device) is read in chunks and refused at the
// first bytes that cannot start (or continue) the expected kind; only AnyInput streams are read
// up to the cap.
func ReadInput(r io.Reader, kind InputKind, max int64) ([]byte, error) {
	if s, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if st, err := s.Stat(); err == nil && st.Mode().IsRegular() {
			if st.Size() > max {
				return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, st.Size(), max)
			}
			buf := bytes.NewBuffer(make([]byte, 0, st.Size()+1))
			if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
				return nil, err
			}
			if int64(buf.Len()) > max {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
			}
			return buf.Bytes(), nil
		}
	}
	var (
		buf   bytes.Buffer
		chunk = make([]byte, 32<<10)
		sn    = sniffer{kind: kind}
	)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			if int64(buf.Len()+n) > max {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
			}
			buf.Write(chunk[:n])
			if serr := sn.check(buf.Bytes()); serr != nil {
				return nil, serr
			}
		}
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// ReadInputFile opens name and reads it with ReadInput.
func ReadInputFile(name string, kind InputKind, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadInput(f, kind, max)
}

// sniffer checks a stream's bytes as they arrive.
type sniffer struct {
	kind InputKind
	mode byte // 0 undecided, 'b' binary (no more checks), 'h' hex text, 't' text
	done int  // bytes already checked
	hexN int  // non-space characters of hex text seen
}

func (s *sniffer) check(b []byte) error {
	for ; s.done < len(b); s.done++ {
		c := b[s.done]
		switch s.mode {
		case 'b':
			return nil
		case 't':
			if c == 0 {
				return s.refuse(b, "a NUL byte: a source is text")
			}
			continue
		case 'h':
			if isSpace(c) {
				continue
			}
			if isHexDigit(c) || (s.hexN == 1 && (c == 'x' || c == 'X') && firstNonSpace(b) == '0') {
				s.hexN++
				continue
			}
			if s.kind == DocumentInput { // not hex: a source that starts with a-f
				s.mode = 't'
				s.done--
				continue
			}
			return s.refuse(b, fmt.Sprintf("byte 0x%02x in hex text", c))
		}
		// Undecided: the first byte (binary) or the first non-space byte (text).
		if s.kind == AnyInput {
			s.mode = 'b'
			return nil
		}
		if s.kind == TextInput {
			s.mode = 't'
			s.done--
			continue
		}
		if s.done == 0 && binaryStart(s.kind, b) {
			if c == 0xd8 && len(b) < 2 {
				return nil // decide when the second byte arrives
			}
			s.mode = 'b'
			return nil
		}
		switch {
		case isSpace(c):
		case s.kind != PackageInput && isHexDigit(c):
			s.mode, s.hexN = 'h', 1
		case s.kind == DocumentInput:
			s.mode = 't'
			s.done--
		default:
			return s.refuse(b, fmt.Sprintf("it starts with byte 0x%02x", c))
		}
	}
	return nil
}

// binaryStart: b can start a binary input of kind (only b[0], and b[1] when there).
func binaryStart(kind InputKind, b []byte) bool {
	c := b[0]
	envelope := c>>5 == 5 || (c == 0xd8 && (len(b) < 2 || b[1] == 0x6b))
	switch kind {
	case EnvelopeInput, DocumentInput:
		return envelope
	case EnvelopeOrPackageInput:
		return envelope || c == 0x30
	case PackageInput:
		return c == 0x30
	}
	return true
}

func (s *sniffer) refuse(b []byte, what string) error {
	want := map[InputKind]string{
		EnvelopeInput:          "a SUIT envelope (binary CBOR starting d8 6b or a map) or hex text",
		EnvelopeOrPackageInput: "a SUIT envelope or an RFC 4108 package (binary or hex text)",
		PackageInput:           "DER (an RFC 4108 package starts with 30)",
		TextInput:              "YAML or JSON text",
		DocumentInput:          "a SUIT envelope, hex text or a YAML/JSON source",
	}[s.kind]
	return fmt.Errorf("%w: %s at byte %d; expected %s", ErrNotInput, what, s.done, want)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func isHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		if !isSpace(c) {
			return c
		}
	}
	return 0
}
