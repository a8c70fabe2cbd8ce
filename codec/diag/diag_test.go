package diag

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

const vectorsDir = "../../../shared/spec/vectors"

func readHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return r
		}
		return -1
	}, string(raw))
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// vectorFiles lists every CBOR vector: the official examples, trust-domains
// and firmware-encryption (manifests and encryption-info structures).
func vectorFiles(t testing.TB) []string {
	var files []string
	for _, g := range []string{"example*.hex", "trust-domains/*.hex", "firmware-encryption/suit-*.hex", "firmware-encryption/*.hex.signed"} {
		m, _ := filepath.Glob(filepath.Join(vectorsDir, g))
		files = append(files, m...)
	}
	if len(files) < 25 {
		t.Fatalf("only %d vector files found in %s", len(files), vectorsDir)
	}
	sort.Strings(files)
	return files
}

var wellformed = func() cbor.DecMode {
	dm, err := cbor.DecOptions{MaxNestedLevels: 256, DupMapKey: cbor.DupMapKeyQuiet}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// checkTree checks the invariants of a Map result against its input.
func checkTree(t testing.TB, data []byte, root *Node) int {
	t.Helper()
	count := 0
	var check func(n *Node)
	check = func(n *Node) {
		count++
		if n.Start < 0 || n.Start >= n.HeadEnd || n.HeadEnd > n.End || n.End > len(data) {
			t.Fatalf("%s: bad range [%d,%d) head end %d (input %d bytes)", n.Path, n.Start, n.End, n.HeadEnd, len(data))
		}
		if err := wellformed.Wellformed(data[n.Start:n.End]); err != nil {
			t.Fatalf("%s: bytes [%d,%d) are not one CBOR item: %v", n.Path, n.Start, n.End, err)
		}
		prev := n.HeadEnd
		if n.Kind == "bstr .cbor" && len(n.Children) != 1 {
			t.Fatalf("%s: bstr .cbor with %d children", n.Path, len(n.Children))
		}
		for _, c := range n.Children {
			first := c.Start
			if c.KeyStart >= 0 {
				first = c.KeyStart
				if c.KeyEnd != c.Start {
					t.Fatalf("%s: key [%d,%d) does not end where the value starts (%d)", c.Path, c.KeyStart, c.KeyEnd, c.Start)
				}
			}
			if first < prev || c.End > n.End {
				t.Fatalf("%s [%d,%d) is not inside its parent %s [%d,%d) after %d", c.Path, first, c.End, n.Path, n.Start, n.End, prev)
			}
			if n.Kind == "bstr .cbor" && (c.Start != n.HeadEnd || c.End != n.End) {
				t.Fatalf("%s: embedded item [%d,%d) does not fill the bstr content [%d,%d)", c.Path, c.Start, c.End, n.HeadEnd, n.End)
			}
			prev = c.End
			check(c)
		}
	}
	check(root)
	return count
}

func TestMapVectors(t *testing.T) {
	for _, f := range vectorFiles(t) {
		name, _ := filepath.Rel(vectorsDir, f)
		t.Run(name, func(t *testing.T) {
			data := readHex(t, f)
			root, err := Map(data)
			if err != nil {
				t.Fatal(err)
			}
			if root.Start != 0 || root.End != len(data) {
				t.Fatalf("root covers [%d,%d) of %d bytes", root.Start, root.End, len(data))
			}
			if n := checkTree(t, data, root); n < 10 {
				t.Fatalf("only %d nodes", n)
			}
		})
	}
}

func TestMapKnownPaths(t *testing.T) {
	cases := []struct {
		file, path, label, kind, summary string
	}{
		{"example0.hex", "envelope", "envelope", "tag", "107({...})"},
		{"example0.hex", "envelope/authentication-wrapper", "authentication-wrapper", "bstr .cbor", ""},
		{"example0.hex", "envelope/authentication-wrapper/0/1", "digest-bytes", "bstr", "h'6658ea56…' (32 bytes)"},
		{"example0.hex", "envelope/authentication-wrapper/1", "signature", "bstr .cbor", ""},
		{"example0.hex", "envelope/authentication-wrapper/1/0", "protected", "bstr .cbor", ""},
		{"example0.hex", "envelope/authentication-wrapper/1/0/alg", "alg", "nint", "-7"},
		{"example0.hex", "envelope/manifest/common/components/0", "[0]", "array", "[1 items]"},
		{"example0.hex", "envelope/manifest/common/components/0/0", "[0]", "bstr", "h'00'"},
		{"example0.hex", "envelope/manifest/manifest-sequence-number", "manifest-sequence-number", "uint", "0"},
		{"example0.hex", "envelope/manifest/common/shared-sequence/0/override-parameters/vendor-identifier", "vendor-identifier", "bstr", "h'fa6b4a53…' (16 bytes)"},
		{"example0.hex", "envelope/manifest/common/shared-sequence/0/override-parameters/image-size", "image-size", "uint", "34768"},
		{"example0.hex", "envelope/manifest/common/shared-sequence/1", "vendor-identifier", "uint", "1"},
		{"example0.hex", "envelope/manifest/common/shared-sequence/1/vendor-identifier", "reporting-policy", "uint", "15"},
		{"example0.hex", "envelope/manifest/common/shared-sequence/0/override-parameters/image-digest/1", "digest-bytes", "bstr", ""},
		{"example2.hex", "envelope/install", "install", "bstr .cbor", ""},
		{"example2.hex", "envelope/text", "text", "bstr .cbor", ""},
		{"example2.hex", "envelope/text/en-US/[h'00']/vendor-domain", "vendor-domain", "tstr", `"arm.com"`},
		{"example2.hex", "envelope/manifest/install", "install", "array", "[2 items]"},
		{"example2.hex", "envelope/manifest/install/0", "algorithm-id", "nint", "-16"},
		{"example2.hex", "envelope/manifest/reference-uri", "reference-uri", "tstr", `"https://git.io/JJYoj"`},
		{"example3.hex", "envelope/manifest/common/shared-sequence/1/try-each/1/2/override-parameters/image-size", "image-size", "uint", "76834"},
		{"example4.hex", "envelope/manifest/load/1/override-parameters/source-component", "source-component", "uint", "0"},
		{"example4.hex", "envelope/manifest/payload-fetch/2", "fetch", "uint", "21"},
		{"trust-domains/example2_integrated.hex", "envelope/#dependent.suit", "\"#dependent.suit\"", "bstr .cbor", ""},
		{"trust-domains/example2_integrated.hex", "envelope/#dependent.suit/manifest/install/0/override-parameters/content", "content", "bstr", ""},
		{"trust-domains/example2_integrated.hex", "envelope/manifest/common/dependencies/1/dependency-prefix/0", "[0]", "bstr", ""},
		{"trust-domains/example1_process.hex", "envelope/manifest/install/3/process-dependency", "reporting-policy", "uint", "0"},
		{"firmware-encryption/suit-manifest-es-ecdh-content.signed.hex", "envelope/manifest/install/1/override-parameters/encryption-info/3/0/1/-1", "-1", "map", ""},
		{"firmware-encryption/suit-manifest-aes-kw.signed.hex", "envelope/authentication-wrapper/1/3", "tag", "bstr", ""},
		{"firmware-encryption/suit-encryption-info-aes-kw-aes-ctr.hex", "cose/3/0/2", "ciphertext", "bstr", ""},
	}
	for _, c := range cases {
		root, err := Map(readHex(t, filepath.Join(vectorsDir, c.file)))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		n := root.Find(c.path)
		if n == nil {
			var paths []string
			root.Walk(func(n *Node) bool { paths = append(paths, n.Path); return true })
			t.Errorf("%s: no %s; paths:\n%s", c.file, c.path, strings.Join(paths, "\n"))
			continue
		}
		if n.Label != c.label || n.Kind != c.kind || (c.summary != "" && n.Summary != c.summary) {
			t.Errorf("%s %s: label %q kind %q summary %q; want %q %q %q", c.file, c.path, n.Label, n.Kind, n.Summary, c.label, c.kind, c.summary)
		}
	}
}

// A component id h'00' is valid CBOR (0), but it is not `bstr .cbor`: Map must
// not expand it, nor any other bstr the CDDL does not declare as embedded.
func TestMapExpandsOnlyDeclaredBstr(t *testing.T) {
	declared := map[string]bool{"authentication-wrapper": true, "digest": true, "signature": true, "manifest": true,
		"common": true, "shared-sequence": true, "validate": true, "load": true, "invoke": true, "install": true,
		"payload-fetch": true, "text": true, "image-digest": true, "protected": true, "encryption-info": true,
		"dependency-resolution": true, "candidate-verification": true, "uninstall": true, "run-sequence": true}
	tryEach := regexp.MustCompile(`/try-each/\d+$`)
	for _, f := range vectorFiles(t) {
		root, err := Map(readHex(t, f))
		if err != nil {
			t.Fatal(err)
		}
		root.Walk(func(n *Node) bool {
			if n.Kind == "bstr .cbor" && !declared[n.Label] && !tryEach.MatchString(n.Path) && !strings.HasPrefix(n.Label, `"#`) {
				t.Errorf("%s: %s expanded as embedded CBOR", f, n.Path)
			}
			if strings.Contains(n.Path, "components/") && n.Kind == "bstr .cbor" {
				t.Errorf("%s: component id %s expanded", f, n.Path)
			}
			return true
		})
	}
}

func TestAt(t *testing.T) {
	data := readHex(t, filepath.Join(vectorsDir, "example2.hex"))
	root, err := Map(data)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off++ {
		n := root.At(off)
		if n == nil {
			t.Fatalf("At(%d) = nil", off)
		}
		inKey := n.KeyStart >= 0 && off >= n.KeyStart && off < n.KeyEnd
		if !inKey && (off < n.Start || off >= n.End) {
			t.Fatalf("At(%d) = %s [%d,%d)", off, n.Path, n.Start, n.End)
		}
		if inKey {
			continue
		}
		for _, c := range n.Children {
			if off >= c.Start && off < c.End || c.KeyStart >= 0 && off >= c.KeyStart && off < c.KeyEnd {
				t.Fatalf("At(%d) = %s, but child %s holds it", off, n.Path, c.Path)
			}
		}
	}
	if root.At(-1) != nil || root.At(len(data)) != nil {
		t.Fatal("At outside the input is not nil")
	}
	// The image-size value 34768 (0x19 0x87 0xd0): every byte selects it.
	i := bytes.Index(data, []byte{0x0e, 0x19, 0x87, 0xd0})
	for off := i + 1; off < i+4; off++ {
		if n := root.At(off); n.Label != "image-size" || n.Summary != "34768" {
			t.Fatalf("At(%d) = %s %q", off, n.Path, n.Summary)
		}
	}
	if n := root.At(i); n.Label != "image-size" { // its key
		t.Fatalf("At(key %d) = %s", i, n.Path)
	}
}

func TestMapHostile(t *testing.T) {
	data := readHex(t, filepath.Join(vectorsDir, "example2.hex"))
	for i := 0; i < len(data); i++ {
		_, err := Map(data[:i])
		var de *Error
		if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) || de.Offset < 0 || de.Offset > i {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	deep := append(bytes.Repeat([]byte{0x81}, 200), 0x00)
	if _, err := Map(deep); !errors.Is(err, ErrLimit) {
		t.Fatalf("deep nesting: %v", err)
	}
	// Nesting through embedded CBOR counts too.
	inner := []byte{0x00}
	for i := 0; i < 100; i++ {
		inner = append([]byte{0xa1, 0x02}, append(appendBstrHead(nil, len(inner)), inner...)...)
	}
	env := append([]byte{0xd8, 0x6b}, inner...)
	if _, err := Map(env); err != nil && !errors.Is(err, ErrLimit) {
		t.Fatalf("nested auth wrappers: %v", err)
	}
	many := append([]byte{0x9a, 0x00, 0x10, 0x00, 0x00}, make([]byte, 1<<20)...)
	if _, err := Map(many); !errors.Is(err, ErrLimit) {
		t.Fatalf("a million items: %v", err)
	}
	cases := map[string][]byte{
		"huge array":   {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"huge map":     {0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00},
		"huge bstr":    {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"trailing":     {0x00, 0x00},
		"reserved ai":  {0x1c},
		"stray break":  {0xff},
		"no break":     {0x9f, 0x01},
		"bad chunk":    {0x5f, 0x61, 0x61, 0xff},
		"simple < 32":  {0xf8, 0x10},
		"indef int":    {0x1f},
		"odd indefmap": {0xbf, 0x01, 0xff},
	}
	for name, in := range cases {
		if _, err := Map(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Notation(in, Options{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("Notation %s: %v", name, err)
		}
	}
	var de *Error
	_, err := Map([]byte{0x82, 0x01, 0x5a, 0x00, 0x00, 0x10, 0x00})
	if !errors.As(err, &de) || de.Offset != 2 || !strings.Contains(err.Error(), "byte 2") || !strings.Contains(err.Error(), "4096 bytes") {
		t.Fatalf("error text: %v", err)
	}
}

func appendBstrHead(b []byte, n int) []byte {
	switch {
	case n < 24:
		return append(b, 0x40|byte(n))
	case n < 256:
		return append(b, 0x58, byte(n))
	default:
		return append(b, 0x59, byte(n>>8), byte(n))
	}
}

// Things that are CBOR but not SUIT get generic names.
func TestMapGeneric(t *testing.T) {
	// {"a/b": [1, h'00', 1.5, true, null, 24_0, (_ h'01', h'02'), 6(-1)]}
	in := []byte{0xa1, 0x63, 'a', '/', 'b', 0x88, 0x01, 0x41, 0x00, 0xf9, 0x3e, 0x00, 0xf5, 0xf6, 0x18, 0x01, 0x5f, 0x41, 0x01, 0x41, 0x02, 0xff, 0xc6, 0x20}
	root, err := Map(in)
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, in, root)
	if n := root.Find("a%2Fb/1"); n == nil || n.Kind != "bstr" || len(n.Children) != 0 {
		t.Fatalf("generic bstr: %+v", n)
	}
	if n := root.Find("a%2Fb/2"); n == nil || n.Kind != "float" {
		t.Fatalf("float: %+v", n)
	}
	s, err := Notation(in, Options{Annotate: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"a/b":`, "1.5_1", "true", "null", "1_0", "(_ h'01', h'02')", "6(-1)"} {
		if !strings.Contains(s, want) {
			t.Errorf("notation lacks %q:\n%s", want, s)
		}
	}
	back := parseDiag(t, s)
	if !bytes.Equal(back, in) {
		t.Fatalf("round trip\n got %x\nwant %x\n%s", back, in, s)
	}
}

// The notation, parsed back by an independent little EDN parser, must give
// the input bytes exactly, for every vector and every option set.
func TestNotationRoundTrip(t *testing.T) {
	for _, f := range vectorFiles(t) {
		data := readHex(t, f)
		for _, opts := range []Options{{}, {Annotate: true}, {Annotate: true, MaxWidth: 60, Indent: "  "}, {MaxWidth: 30, Indent: "\t"}} {
			s, err := Notation(data, opts)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			back := parseDiag(t, s)
			if !bytes.Equal(back, data) {
				t.Fatalf("%s %+v: notation does not re-encode to the input\n got %x\nwant %x\n%s", f, opts, back, data, s)
			}
			if opts.MaxWidth > 0 {
				for _, line := range strings.Split(s, "\n") {
					if strings.HasPrefix(strings.TrimSpace(line), "h'") && utf8.RuneCountInString(line) > opts.MaxWidth+8 {
						t.Errorf("%s: hex line wider than %d: %q", f, opts.MaxWidth, line)
					}
				}
			}
		}
	}
}

// The annotated notation uses the comment words of the spec's own examples.
func TestNotationLikeOfficial(t *testing.T) {
	word := regexp.MustCompile(`/ ([a-z][a-z-]*:?) /`)
	for i := 0; i <= 5; i++ {
		hexFile := fmt.Sprintf("example%d.hex", i)
		if i == 2 {
			hexFile = "example2.severed-signed.hex"
		}
		official, err := os.ReadFile(filepath.Join(vectorsDir, fmt.Sprintf("example%d.diag", i)))
		if err != nil {
			t.Fatal(err)
		}
		ours, err := Notation(readHex(t, filepath.Join(vectorsDir, hexFile)), Options{Annotate: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range word.FindAllStringSubmatch(string(official), -1) {
			if !strings.Contains(ours, "/ "+m[1]+" /") {
				t.Errorf("example %d: official comment %q missing from ours", i, m[1])
			}
		}
		for _, frag := range []string{`-16 / "sha256" /`, `1:-7 / "ES256" /`, "null / nil /", "/ fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe /", "/ authentication-wrapper / 2:<< [", "/ condition-vendor-identifier / 1,15"} {
			if !strings.Contains(ours, frag) {
				t.Errorf("example %d: no %q in\n%s", i, frag, ours)
			}
		}
		// The official text, parsed by the same parser, gives the same bytes.
		if got := parseDiag(t, string(official)); !bytes.Equal(got, readHex(t, filepath.Join(vectorsDir, hexFile))) {
			t.Errorf("example %d: test parser disagrees with the official notation", i)
		}
	}
}

// ---- a small, independent EDN parser used only to check Notation ----

type ednParser struct {
	t   testing.TB
	s   string
	pos int
}

func parseDiag(t testing.TB, s string) []byte {
	t.Helper()
	p := &ednParser{t: t, s: s}
	out := p.item()
	p.skip()
	if p.pos != len(p.s) {
		p.fail("trailing text")
	}
	return out
}

func (p *ednParser) fail(msg string) {
	p.t.Helper()
	end := min(p.pos+40, len(p.s))
	p.t.Fatalf("diag parse: %s at %d: %q", msg, p.pos, p.s[p.pos:end])
}

func (p *ednParser) skip() {
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			p.pos++
		case c == '/':
			end := strings.IndexByte(p.s[p.pos+1:], '/')
			if end < 0 {
				p.fail("unterminated comment")
			}
			p.pos += end + 2
		default:
			return
		}
	}
}

func (p *ednParser) peek(lit string) bool {
	p.skip()
	return strings.HasPrefix(p.s[p.pos:], lit)
}

func (p *ednParser) expect(lit string) {
	if !p.peek(lit) {
		p.fail("want " + lit)
	}
	p.pos += len(lit)
}

// indicator reads an optional _0.._3 and returns the additional-info width (-1 = shortest).
func (p *ednParser) indicator() int {
	if p.pos+1 < len(p.s) && p.s[p.pos] == '_' && p.s[p.pos+1] >= '0' && p.s[p.pos+1] <= '3' {
		p.pos += 2
		return int(p.s[p.pos-1] - '0')
	}
	return -1
}

func head(major byte, v uint64, ind int) []byte {
	if ind < 0 {
		switch {
		case v < 24:
			return []byte{major<<5 | byte(v)}
		case v <= 0xff:
			ind = 0
		case v <= 0xffff:
			ind = 1
		case v <= 0xffffffff:
			ind = 2
		default:
			ind = 3
		}
	}
	n := 1 << ind
	b := []byte{major<<5 | byte(24+ind)}
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func (p *ednParser) item() []byte {
	p.skip()
	if p.pos >= len(p.s) {
		p.fail("unexpected end")
	}
	rest := p.s[p.pos:]
	switch {
	case strings.HasPrefix(rest, "<<"):
		p.pos += 2
		inner := p.item()
		p.expect(">>")
		return append(head(2, uint64(len(inner)), -1), inner...)
	case rest[0] == '[' || rest[0] == '{':
		major, close := byte(4), "]"
		if rest[0] == '{' {
			major, close = 5, "}"
		}
		p.pos++
		indef := false
		ind := -1
		if p.pos < len(p.s) && p.s[p.pos] == '_' {
			if ind = p.indicator(); ind < 0 {
				p.pos++
				indef = true
			}
		}
		var body []byte
		n := 0
		for !p.peek(close) {
			if n > 0 {
				p.expect(",")
			}
			body = append(body, p.item()...)
			if major == 5 {
				p.expect(":")
				body = append(body, p.item()...)
			}
			n++
		}
		p.pos++
		if indef {
			return append(append([]byte{major<<5 | 31}, body...), 0xff)
		}
		return append(head(major, uint64(n), ind), body...)
	case strings.HasPrefix(rest, "(_"):
		p.pos += 2
		var body []byte
		var major byte = 2
		for i := 0; !p.peek(")"); i++ {
			if i > 0 {
				p.expect(",")
			}
			chunk := p.item()
			major = chunk[0] >> 5
			body = append(body, chunk...)
		}
		p.pos++
		return append(append([]byte{major<<5 | 31}, body...), 0xff)
	case strings.HasPrefix(rest, "''_") && !indicatorNext(rest[3:]):
		p.pos += 3
		return []byte{0x5f, 0xff}
	case strings.HasPrefix(rest, `""_`) && !indicatorNext(rest[3:]):
		p.pos += 3
		return []byte{0x7f, 0xff}
	case strings.HasPrefix(rest, "h'"):
		end := strings.IndexByte(rest[2:], '\'')
		if end < 0 {
			p.fail("unterminated h''")
		}
		hx := strings.Join(strings.Fields(rest[2:2+end]), "")
		b, err := hex.DecodeString(hx)
		if err != nil {
			p.fail(err.Error())
		}
		p.pos += end + 3
		return append(head(2, uint64(len(b)), p.indicator()), b...)
	case rest[0] == '\'':
		end := strings.IndexByte(rest[1:], '\'')
		b := []byte(rest[1 : 1+end])
		p.pos += end + 2
		return append(head(2, uint64(len(b)), p.indicator()), b...)
	case rest[0] == '"':
		s, err := strconv.Unquote(p.quoted())
		if err != nil {
			p.fail(err.Error())
		}
		return append(head(3, uint64(len(s)), p.indicator()), s...)
	case strings.HasPrefix(rest, "true"):
		p.pos += 4
		return []byte{0xf5}
	case strings.HasPrefix(rest, "false"):
		p.pos += 5
		return []byte{0xf4}
	case strings.HasPrefix(rest, "null"):
		p.pos += 4
		return []byte{0xf6}
	case strings.HasPrefix(rest, "undefined"):
		p.pos += 9
		return []byte{0xf7}
	case strings.HasPrefix(rest, "simple("):
		p.pos += 7
		v := p.number()
		p.expect(")")
		if v < 24 {
			return []byte{0xe0 | byte(v)}
		}
		return []byte{0xf8, byte(v)}
	}
	// number, float or tag
	start := p.pos
	neg := false
	if p.s[p.pos] == '-' {
		neg = true
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.s) && (p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] == '.' || p.s[p.pos] == 'e') {
		p.pos++
	}
	text := p.s[digits:p.pos]
	if strings.ContainsAny(text, ".e") {
		f, err := strconv.ParseFloat(p.s[start:p.pos], 64)
		if err != nil {
			p.fail(err.Error())
		}
		switch p.indicator() {
		case 1:
			return []byte{0xf9, byte(float32ToHalf(float32(f)) >> 8), byte(float32ToHalf(float32(f)))}
		case 2:
			return binary.BigEndian.AppendUint32([]byte{0xfa}, math.Float32bits(float32(f)))
		default:
			return binary.BigEndian.AppendUint64([]byte{0xfb}, math.Float64bits(f))
		}
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		p.fail("number: " + err.Error())
	}
	ind := p.indicator()
	if p.pos < len(p.s) && p.s[p.pos] == '(' && !neg {
		p.pos++
		content := p.item()
		p.expect(")")
		return append(head(6, v, ind), content...)
	}
	if neg {
		return head(1, v-1, ind)
	}
	return head(0, v, ind)
}

func indicatorNext(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '3' }

func (p *ednParser) number() uint64 {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	v, err := strconv.ParseUint(p.s[start:p.pos], 10, 64)
	if err != nil {
		p.fail(err.Error())
	}
	return v
}

func (p *ednParser) quoted() string {
	i := p.pos + 1
	for i < len(p.s) {
		switch p.s[i] {
		case '\\':
			i += 2
			continue
		case '"':
			q := p.s[p.pos : i+1]
			p.pos = i + 1
			return q
		}
		i++
	}
	p.fail("unterminated string")
	return ""
}

func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	frac := uint16(b>>13) & 0x3ff
	if exp <= 0 || exp >= 31 {
		return sign // only normal numbers are used here
	}
	return sign | uint16(exp)<<10 | frac
}
