package diag

import (
	"bytes"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// exactText reports whether Notation can describe the input exactly: every
// text string is valid UTF-8 and there are no floats (whose NaN payloads and
// subnormals the test parser does not rebuild).
func exactText(data []byte, it *item) bool {
	if it.major == 3 && !it.indefinite() && !utf8.Valid(it.content(data)) {
		return false
	}
	if it.major == 7 && it.ai >= 25 && it.ai <= 27 {
		return false
	}
	for _, k := range it.kids {
		if !exactText(data, k) {
			return false
		}
	}
	return true
}

func FuzzMap(f *testing.F) {
	for _, file := range vectorFiles(f) {
		f.Add(readHex(f, file))
	}
	f.Add([]byte{0xd8, 0x6b, 0xa1, 0x02, 0x41, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := Map(data)
		if err != nil {
			var de *Error
			if e, ok := err.(*Error); ok {
				de = e
			}
			if de == nil || de.Offset < 0 || de.Offset > len(data) {
				t.Fatalf("error without a valid offset: %v", err)
			}
			return
		}
		checkTree(t, data, root)
		for _, off := range []int{0, len(data) / 2, len(data) - 1} {
			if n := root.At(off); n == nil {
				t.Fatalf("At(%d) = nil", off)
			}
		}
		s, err := Notation(data, Options{Annotate: true, MaxWidth: 40})
		if err != nil {
			t.Fatal(err)
		}
		exact := true
		root.Walk(func(n *Node) bool {
			exact = exactText(data, n.it) && (n.key == nil || exactText(data, n.key))
			return exact
		})
		if exact {
			if back := parseDiag(t, s); !bytes.Equal(back, data) {
				t.Fatalf("round trip\n got %x\nwant %x\n%s", back, data, s)
			}
		}
	})
}

func BenchmarkMapExample2(b *testing.B) {
	data := readHex(b, filepath.Join(vectorsDir, "example2.hex"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Map(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNotationExample2(b *testing.B) {
	data := readHex(b, filepath.Join(vectorsDir, "example2.hex"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Notation(data, Options{Annotate: true, MaxWidth: 80}); err != nil {
			b.Fatal(err)
		}
	}
}
