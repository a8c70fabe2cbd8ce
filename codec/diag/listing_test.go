package diag

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Without collapsing, the listing is the notation, and every node's lines are where its text is.
func TestRenderMatchesNotation(t *testing.T) {
	opts := Options{Indent: "  ", Annotate: true, MaxWidth: 100}
	for _, f := range vectorFiles(t) {
		data := readHex(t, f)
		root, err := Map(data)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Notation(data, opts)
		l := Render(data, root, opts)
		if got := l.Text(); got != want {
			t.Fatalf("%s: listing differs from the notation", f)
		}
		root.Walk(func(n *Node) bool {
			first, last, ok := l.Span(n)
			if !ok {
				return true
			}
			if first > last || last >= len(l.Lines) {
				t.Fatalf("%s %s: span %d-%d of %d lines", f, n.Path, first, last, len(l.Lines))
			}
			// The line that shows a node is owned by it, one of its descendants, or (a command's
			// argument after its label) an item that follows it on the same line.
			o := l.NodeAt(first)
			if o == nil || o.Start < n.Start || (o.End > n.End && o.Start < n.End) {
				t.Fatalf("%s %s [%d,%d): line %d owned by %v", f, n.Path, n.Start, n.End, first, o)
			}
			return true
		})
	}
}

func TestRenderSpansKnownElements(t *testing.T) {
	data := readHex(t, filepath.Join(vectorsDir, "example2.hex"))
	root, err := Map(data)
	if err != nil {
		t.Fatal(err)
	}
	l := Render(data, root, Options{Indent: "  ", Annotate: true, MaxWidth: 100})
	for path, text := range map[string]string{
		"envelope/manifest/manifest-sequence-number":                     "manifest-sequence-number",
		"envelope/manifest/reference-uri":                                `"https://git.io/JJYoj"`,
		"envelope/text/en-US/[h'00']/vendor-domain":                      `"arm.com"`,
		"envelope/authentication-wrapper/0/1":                            "digest-bytes",
		"envelope/manifest/common/shared-sequence/0/override-parameters": "override-parameters",
	} {
		n := root.Find(path)
		first, _, ok := l.Span(n)
		if n == nil || !ok {
			t.Fatalf("%s: no node or no span", path)
		}
		if !strings.Contains(l.Lines[first], text) {
			t.Errorf("%s: line %d %q does not show %s", path, first, l.Lines[first], text)
		}
	}
}

// A 1 MiB integrated payload is collapsed to one line with its size and digest, and expands on
// request.
func TestRenderCollapsesPayloads(t *testing.T) {
	payload := bytes.Repeat([]byte{0xa5, 0x5a, 0x00, 0x7f}, 1<<18)
	// {"#fw": h'...', 3: h'a0'} as an envelope-like map under tag 107.
	var b bytes.Buffer
	b.Write([]byte{0xd8, 0x6b, 0xa2, 0x63, '#', 'f', 'w', 0x5a})
	b.Write([]byte{byte(len(payload) >> 24), byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload))})
	b.Write(payload)
	b.Write([]byte{0x03, 0x41, 0xa0})
	data := b.Bytes()
	root, err := Map(data)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Indent: "  ", Annotate: true, MaxWidth: 100, CollapseBytes: 1024}
	l := Render(data, root, opts)
	sum := sha256.Sum256(payload)
	text := l.Text()
	if len(l.Lines) > 10 || !strings.Contains(text, strconv.Itoa(len(payload))+" bytes, sha-256 "+hex.EncodeToString(sum[:])) {
		t.Fatalf("not collapsed (%d lines):\n%.600s", len(l.Lines), text)
	}
	var pn *Node
	root.Walk(func(n *Node) bool {
		if Collapsible(n, opts) {
			pn = n
		}
		return true
	})
	if pn == nil {
		t.Fatal("no collapsible node")
	}
	first, _, ok := l.Span(pn)
	if !ok || l.NodeAt(first) != pn {
		t.Fatalf("payload line %d owned by %v", first, l.NodeAt(first))
	}
	opts.Expand = func(n *Node) bool { return n == pn }
	full := Render(data, root, opts)
	if len(full.Lines) < len(payload)*2/100 {
		t.Fatalf("expanded payload has only %d lines", len(full.Lines))
	}
	f, la, _ := full.Span(pn)
	if la-f < len(payload)*2/100-2 || full.NodeAt((f+la)/2) != pn {
		t.Fatalf("expanded payload spans lines %d-%d", f, la)
	}
}

func BenchmarkRender1MiB(b *testing.B) {
	payload := make([]byte, 1<<20)
	var buf bytes.Buffer
	buf.Write([]byte{0xd8, 0x6b, 0xa1, 0x63, '#', 'f', 'w', 0x5a, 0x00, 0x10, 0x00, 0x00})
	buf.Write(payload)
	data := buf.Bytes()
	root, err := Map(data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Render(data, root, Options{Indent: "  ", Annotate: true, MaxWidth: 100, CollapseBytes: 1024})
	}
}
