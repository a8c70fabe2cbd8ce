package app

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countingFile reads like its file and counts what was read.
type countingFile struct {
	*os.File
	n int64
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingFile) Stat() (fs.FileInfo, error) { return c.File.Stat() }

// Endless or wrong streams are refused at their first bytes, not read to the 64 MiB cap; a big
// regular file is refused by its size before a byte is read.
func TestReadInputRefusesEarly(t *testing.T) {
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Skip(err)
	}
	defer zero.Close()
	for _, kind := range []InputKind{EnvelopeInput, EnvelopeOrPackageInput, PackageInput, TextInput, DocumentInput} {
		c := &countingFile{File: zero}
		_, err := ReadInput(c, kind, MaxDocumentSize)
		if !errors.Is(err, ErrNotInput) {
			t.Errorf("kind %d: /dev/zero gave %v, want ErrNotInput", kind, err)
		}
		if c.n > 64<<10 {
			t.Errorf("kind %d: read %d bytes of /dev/zero before refusing", kind, c.n)
		}
	}

	sparse := filepath.Join(t.TempDir(), "sparse.suit")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0xd8, 0x6b, 0xa2})
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, io.SeekStart)
	c := &countingFile{File: f}
	if _, err := ReadInput(c, EnvelopeInput, MaxDocumentSize); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1 GiB sparse file: %v, want ErrTooLarge", err)
	}
	if c.n != 0 {
		t.Errorf("read %d bytes of a file whose size alone refuses it", c.n)
	}
	f.Close()
}

// A pipe carrying a valid input of each kind is read whole; one carrying something else is refused
// where it goes wrong.
func TestReadInputStreams(t *testing.T) {
	env := []byte{0xd8, 0x6b, 0xa2, 0x02, 0x41, 0x00}
	cases := []struct {
		kind InputKind
		in   string
		ok   bool
	}{
		{EnvelopeInput, string(env), true},
		{EnvelopeInput, "\xa1\x01\x02", true},
		{EnvelopeInput, "  d86b a1\n0302\n", true},
		{EnvelopeInput, "0xd86ba10302", true},
		{EnvelopeInput, "\xd8\x6c", false},
		{EnvelopeInput, "d86b zz", false},
		{EnvelopeInput, "manifest:\n", false},
		{EnvelopeInput, "\x30\x03\x02\x01\x00", false},
		{EnvelopeOrPackageInput, "\x30\x03\x02\x01\x00", true},
		{EnvelopeOrPackageInput, "3003020100", true},
		{PackageInput, "\x30\x03\x02\x01\x00", true},
		{PackageInput, "\xd8\x6b", false},
		{TextInput, "manifest:\n  sequence-number: 1\n", true},
		{TextInput, "manifest:\x00", false},
		{DocumentInput, "digest-algorithm: sha-256\nmanifest: {}\n", true},
		{DocumentInput, "d86ba10302", true},
		{DocumentInput, string(env), true},
		{DocumentInput, "manifest: \x00", false},
		{AnyInput, "\x00\x00\xff", true},
	}
	for _, c := range cases {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { w.Write([]byte(c.in)); w.Close() }()
		got, err := ReadInput(r, c.kind, 1<<20)
		r.Close()
		if c.ok && (err != nil || !bytes.Equal(got, []byte(c.in))) {
			t.Errorf("kind %d %q: %q %v", c.kind, c.in, got, err)
		}
		if !c.ok && !errors.Is(err, ErrNotInput) {
			t.Errorf("kind %d %q: accepted (%v)", c.kind, c.in, err)
		}
	}
	// The cap holds for streams of any kind.
	r := io.MultiReader(strings.NewReader("\xd8\x6b"), bytes.NewReader(make([]byte, 2<<20)))
	if _, err := ReadInput(r, EnvelopeInput, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the cap: %v", err)
	}
}

// The studio opens sources under the same rule as 'suit create': file names stay in the
// source's folder unless SUIT_STUDIO_ALLOW_OUTSIDE=1.
func TestOpenRefusesFilesOutsideTheSourceFolder(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "p")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(top, "secret.bin"), []byte("SECRET"), 0o600)
	src := filepath.Join(dir, "m.yaml")
	os.WriteFile(src, []byte("manifest:\n  sequence-number: 1\n  components: [[h'00']]\n"+
		"integrated-payloads:\n  - key: \"#fw\"\n    file: ../secret.bin\n"), 0o644)
	t.Setenv(AllowOutsideEnv, "")
	_, err := Open(src, nil)
	if err == nil || !strings.Contains(err.Error(), "outside") || !strings.Contains(err.Error(), AllowOutsideEnv) {
		t.Fatalf("Open: %v, want a refusal saying the file is outside", err)
	}
	t.Setenv(AllowOutsideEnv, "1")
	d, err := Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Envelope().Integrated[0].Data; string(got) != "SECRET" {
		t.Fatalf("read %q", got)
	}
}
