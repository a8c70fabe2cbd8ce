package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/diag"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// envelopeWithPayload is a tagged map {"#fw": payload, 3: h'a0'}: enough CBOR for the layout.
func envelopeWithPayload(payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xd8, 0x6b, 0xa2, 0x63, '#', 'f', 'w', 0x5a})
	n := len(payload)
	b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	b.Write(payload)
	b.Write([]byte{0x03, 0x41, 0xa0})
	return b.Bytes()
}

func TestHexLayoutMatchesHexDump(t *testing.T) {
	data := envelopeWithPayload([]byte("short payload, not collapsed"))
	tree, err := diag.Map(data)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHexLayout(data, tree, nil)
	want := strings.Split(HexDump(data), "\n")
	if len(h.Rows) != len(want) {
		t.Fatalf("%d rows, HexDump has %d", len(h.Rows), len(want))
	}
	for i := range want {
		if got := h.Text(i); got != want[i] {
			t.Fatalf("row %d: %q, want %q", i, got, want[i])
		}
	}
}

func TestHexLayoutCollapsesPayload(t *testing.T) {
	payload := bytes.Repeat([]byte{1, 2, 3, 4}, 1<<18)
	data := envelopeWithPayload(payload)
	tree, err := diag.Map(data)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHexLayout(data, tree, nil)
	if len(h.Rows) > 8 {
		t.Fatalf("%d rows for a collapsed 1 MiB payload", len(h.Rows))
	}
	hidden := -1
	for i, r := range h.Rows {
		if r.Hidden {
			hidden = i
		}
	}
	if hidden < 0 || !strings.Contains(h.Text(hidden), "1048576-byte string (sha-256 ") {
		t.Fatalf("no hidden row saying the payload's size and digest: %q", h.Text(max(hidden, 0)))
	}
	// Every byte maps to the row that covers it, and back.
	for _, off := range []int{0, 12, 12 + 40, 500000, len(data) - 3, len(data) - 1} {
		i := h.RowOf(off)
		r := h.Rows[i]
		if off < r.Off || off >= r.Off+r.N {
			t.Fatalf("byte %d in row %d [%d,+%d)", off, i, r.Off, r.N)
		}
		if !r.Hidden {
			_, col := HexCell(off - r.Off)
			if got := h.OffsetAt(i, col); got != off {
				t.Fatalf("row %d col %d is byte %d, want %d", i, col, got, off)
			}
		}
	}
	// The key 3 after the payload is on the last row; its columns are exact.
	last := len(h.Rows) - 1
	h0, h1, a0, a1, ok := h.Columns(last, len(data)-3, len(data)-2)
	line := h.Text(last)
	if !ok || line[h0:h1] != "03" || line[a0:a1] != "." {
		t.Fatalf("columns %d-%d %d-%d of %q", h0, h1, a0, a1, line)
	}
	// Expanded, the payload has all its rows.
	full := NewHexLayout(data, tree, func(*diag.Node) bool { return true })
	if len(full.Rows) != (len(data)+15)/16 {
		t.Fatalf("expanded: %d rows", len(full.Rows))
	}
}

// Inspect of an envelope with a 1 MiB integrated payload: byte map, collapsed notation, hex
// rows, decode, description and sizes (what the inspector does off the event goroutine).
func BenchmarkInspect1MiB(b *testing.B) {
	env := model.Example1()
	payload := make([]byte, 1<<20)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	if err := SetImage(env, 0, payload, ImageSource{Integrate: true, Name: "fw.bin"}); err != nil {
		b.Fatal(err)
	}
	data, err := suit.Encode(env)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		in, err := Inspect(data)
		if err != nil || len(in.Hex.Rows) > 100 {
			b.Fatal(err)
		}
	}
}
