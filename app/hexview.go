package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/suit-studio/suit-studio/codec/diag"
)

// CollapseBytes is the size above which the inspector collapses a byte string (an integrated
// payload, a large image) to its first rows, its size and its digest.
const CollapseBytes = 1024

// HexRow is one row of a HexLayout: HexBytesPerRow bytes from Off (fewer at the end), or, when
// Hidden, the collapsed bytes [Off, Off+N) of a payload.
type HexRow struct {
	Off, N int
	Hidden bool
	Node   *diag.Node // the collapsed string (Hidden rows)
}

// HexLayout is the hex dump of an envelope as rows that a viewer shows a screenful at a time,
// with the middle of each long byte string collapsed into one row that says its size and digest.
type HexLayout struct {
	Data []byte
	Rows []HexRow
}

// NewHexLayout lays out data. Byte strings of tree longer than CollapseBytes are collapsed,
// keeping their first two rows and their last, unless expand says otherwise (nil: none).
func NewHexLayout(data []byte, tree *diag.Node, expand func(*diag.Node) bool) *HexLayout {
	type hole struct {
		from, to int // row-aligned offsets
		n        *diag.Node
	}
	var holes []hole
	if tree != nil {
		opts := diag.Options{CollapseBytes: CollapseBytes}
		tree.Walk(func(n *diag.Node) bool {
			if !diag.Collapsible(n, opts) || (expand != nil && expand(n)) {
				return true
			}
			from := (n.HeadEnd/HexBytesPerRow + 2) * HexBytesPerRow
			to := ((n.End - 1) / HexBytesPerRow) * HexBytesPerRow
			if to > from {
				holes = append(holes, hole{from, to, n})
			}
			return true
		})
	}
	sort.Slice(holes, func(i, j int) bool { return holes[i].from < holes[j].from })
	h := &HexLayout{Data: data}
	off := 0
	for _, hl := range holes {
		if hl.from < off {
			continue
		}
		for ; off < hl.from; off += HexBytesPerRow {
			h.Rows = append(h.Rows, HexRow{Off: off, N: min(HexBytesPerRow, len(data)-off)})
		}
		h.Rows = append(h.Rows, HexRow{Off: hl.from, N: hl.to - hl.from, Hidden: true, Node: hl.n})
		off = hl.to
	}
	for ; off < len(data); off += HexBytesPerRow {
		h.Rows = append(h.Rows, HexRow{Off: off, N: min(HexBytesPerRow, len(data)-off)})
	}
	return h
}

// RowOf is the row that shows byte off (-1 outside the data).
func (h *HexLayout) RowOf(off int) int {
	if off < 0 || off >= len(h.Data) {
		return -1
	}
	i := sort.Search(len(h.Rows), func(i int) bool { return h.Rows[i].Off+h.Rows[i].N > off })
	if i == len(h.Rows) {
		return -1
	}
	return i
}

// Text is row i as HexDump writes it; a hidden row says what it hides.
func (h *HexLayout) Text(i int) string {
	r := h.Rows[i]
	if r.Hidden {
		sum := ""
		if r.Node != nil {
			s := sha256.Sum256(h.Data[r.Node.HeadEnd:r.Node.End])
			sum = fmt.Sprintf(" of a %d-byte string (sha-256 %s…)", r.Node.End-r.Node.HeadEnd, hex.EncodeToString(s[:8]))
		}
		return fmt.Sprintf("%08x  … %d bytes%s collapsed: tap to show", r.Off, r.N, sum)
	}
	return hexLine(h.Data, r.Off, r.N)
}

const hexDigits = "0123456789abcdef"

// hexLine is one HexDump row with the absolute offset.
func hexLine(data []byte, off, n int) string {
	var b strings.Builder
	b.Grow(11 + 4*HexBytesPerRow)
	fmt.Fprintf(&b, "%08x  ", off)
	for i := 0; i < HexBytesPerRow; i++ {
		if i < n {
			c := data[off+i]
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			b.WriteByte(' ')
		} else {
			b.WriteString("   ")
		}
	}
	b.WriteByte(' ')
	for i := off; i < off+n; i++ {
		c := data[i]
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Columns are the cells (first, last+1) that bytes [start, end) occupy in row i, in the hex
// and in the ASCII columns; ok is false when the row shows none of them. A hidden row is one
// cell range over its whole text.
func (h *HexLayout) Columns(i, start, end int) (hex0, hex1, asc0, asc1 int, ok bool) {
	r := h.Rows[i]
	s, e := max(start, r.Off), min(end, r.Off+r.N)
	if s >= e {
		return 0, 0, 0, 0, false
	}
	if r.Hidden {
		return 0, 0, 0, 0, true
	}
	_, hex0 = HexCell(s)
	_, c := HexCell(e - 1)
	hex1 = c + 2
	asc0 = 11 + 3*HexBytesPerRow + (s - r.Off)
	asc1 = 11 + 3*HexBytesPerRow + (e - r.Off)
	return hex0, hex1, asc0, asc1, true
}

// OffsetAt is the byte shown at column col of row i (-1 for none; a hidden row's first byte).
func (h *HexLayout) OffsetAt(i, col int) int {
	if i < 0 || i >= len(h.Rows) {
		return -1
	}
	r := h.Rows[i]
	if r.Hidden {
		return r.Off
	}
	off := HexOffset(0, col, r.N)
	if off < 0 {
		return -1
	}
	return r.Off + off
}
