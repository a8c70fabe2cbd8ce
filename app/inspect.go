package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/codec/diag"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// Inspection is everything the inspector shows about one envelope's bytes: the structure with
// byte ranges, the diagnostic notation, the decoded model (when it decodes), what it would do
// and how many bytes each part costs. It needs no key; verification is a separate step.
type Inspection struct {
	Data     []byte
	Tree     *diag.Node // structure with byte ranges
	Notation string     // annotated diagnostic notation, long strings collapsed (Listing's text)
	// Listing is the notation as lines linked to Tree's nodes; Hex the hex dump's rows. Strings
	// longer than CollapseBytes (payloads) are collapsed to their size and digest in both.
	Listing *diag.Listing
	Hex     *HexLayout
	// Envelope is the decoded value; nil when decoding failed (DecodeErr says why). The tree and
	// the notation are still there for well-formed CBOR that is not a valid envelope.
	Envelope  *model.Envelope
	DecodeErr error
	Sizes     []SizePart
	Describe  *Description
}

// SizePart is the cost in bytes of one part of the envelope, head and key included.
type SizePart struct {
	Name  string // "manifest / common"
	Path  string // element path, to select it
	Depth int    // 0 for envelope members, 1 for their parts
	Bytes int
}

// Inspect analyses envelope bytes (binary CBOR; use EnvelopeBytes for hex text). It fails only
// when data is not well-formed CBOR.
func Inspect(data []byte) (*Inspection, error) {
	tree, err := diag.Map(data)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Data: data, Tree: tree}
	in.Listing = diag.Render(data, tree, NotationOptions(nil))
	in.Notation = in.Listing.Text()
	in.Hex = NewHexLayout(data, tree, nil)
	in.Envelope, in.DecodeErr = suit.Decode(data)
	if in.Envelope != nil {
		in.Describe = Describe(in.Envelope)
	}
	in.Sizes = sizeBreakdown(tree, len(data))
	return in, nil
}

// NotationOptions are the inspector's: annotated, 100 columns, strings longer than
// CollapseBytes collapsed unless expand names them.
func NotationOptions(expand func(*diag.Node) bool) diag.Options {
	return diag.Options{Indent: "  ", Annotate: true, MaxWidth: 100, CollapseBytes: CollapseBytes, Expand: expand}
}

// inner skips the wrappers (tag, bstr .cbor) that share their content's path.
func inner(n *diag.Node) *diag.Node {
	for n != nil && len(n.Children) == 1 && n.Children[0].Path == n.Path && (n.Kind == "tag" || n.Kind == "bstr .cbor") {
		n = n.Children[0]
	}
	return n
}

// span is a member's bytes, its key included.
func span(n *diag.Node) int {
	start := n.Start
	if n.KeyStart >= 0 && n.KeyStart < start {
		start = n.KeyStart
	}
	return n.End - start
}

func sizeBreakdown(root *diag.Node, total int) []SizePart {
	out := []SizePart{{Name: "whole envelope", Path: root.Path, Depth: 0, Bytes: total}}
	env := inner(root)
	if env == nil || env.Kind != "map" {
		return out
	}
	for _, m := range env.Children {
		out = append(out, SizePart{Name: m.Label, Path: m.Path, Depth: 1, Bytes: span(m)})
		switch m.Label {
		case "manifest", "authentication-wrapper":
			for _, c := range inner(m).Children {
				out = append(out, SizePart{Name: m.Label + " / " + c.Label, Path: c.Path, Depth: 2, Bytes: span(c)})
			}
		}
	}
	return out
}

// HexBytesPerRow is the width of HexDump's rows.
const HexBytesPerRow = 16

// HexDump formats data as rows of 16 bytes: an 8-digit offset, the bytes in hex, and their
// printable ASCII. HexCell gives the column of a byte.
func HexDump(data []byte) string {
	var b strings.Builder
	for off := 0; off < len(data); off += HexBytesPerRow {
		end := min(off+HexBytesPerRow, len(data))
		fmt.Fprintf(&b, "%08x  ", off)
		for i := off; i < off+HexBytesPerRow; i++ {
			if i < end {
				fmt.Fprintf(&b, "%02x ", data[i])
			} else {
				b.WriteString("   ")
			}
		}
		b.WriteString(" ")
		for i := off; i < end; i++ {
			c := data[i]
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b.WriteByte(c)
		}
		if end < len(data) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// HexCell is where byte offset off appears in HexDump: its row and the column of its first hex
// digit.
func HexCell(off int) (row, col int) {
	return off / HexBytesPerRow, 10 + 3*(off%HexBytesPerRow)
}

// HexOffset is the byte offset shown at row, col of HexDump (hex or ASCII columns), or -1.
func HexOffset(row, col, n int) int {
	var i int
	switch {
	case col >= 10 && col < 10+3*HexBytesPerRow:
		i = (col - 10) / 3
	case col >= 11+3*HexBytesPerRow && col < 11+4*HexBytesPerRow:
		i = col - (11 + 3*HexBytesPerRow)
	default:
		return -1
	}
	off := row*HexBytesPerRow + i
	if row < 0 || off >= n {
		return -1
	}
	return off
}

// KeyLoadError says which trusted key file could not be used.
type KeyLoadError struct {
	Path string
	Err  error
}

func (e *KeyLoadError) Error() string {
	return "trusted key " + strconv.Quote(e.Path) + ": " + e.Err.Error() + " (give a PEM public key, or a private key file whose public half is used)"
}

func (e *KeyLoadError) Unwrap() error { return e.Err }

// VerifyWithFiles verifies envelope bytes against the keys in files (PEM public keys,
// certificates, private key files, COSE_Key and HMAC key files, as LoadVerifyKeys reads them).
// Keys that cannot be loaded are reported in errs and skipped; the verdict covers the others.
func VerifyWithFiles(data []byte, keyFiles []string) (v *suit.Verification, errs []error, err error) {
	var keys []suit.VerifyKey
	for _, p := range keyFiles {
		k, lerr := LoadVerifyKeys([]string{p})
		if lerr != nil {
			errs = append(errs, &KeyLoadError{Path: p, Err: lerr})
			continue
		}
		keys = append(keys, k...)
	}
	v, err = suit.Verify(data, keys)
	if err == nil && len(keys) == 0 && len(keyFiles) == 0 {
		errs = append(errs, errors.New("no trusted keys: add the signer's public key to check who signed this envelope"))
	}
	return v, errs, err
}
