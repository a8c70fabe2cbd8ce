package mcuboot

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The oracle: MCUboot's own imgtool, run from the shared folder, never copied in.
const imgtoolPath = "../../../shared/tools/imgtool/run"

var (
	imgtoolOnce sync.Once
	imgtoolErr  error
)

// imgtool runs MCUboot's imgtool with args and returns its standard output. It skips the test,
// loudly, only when Debian's python3 lacks imgtool's modules (scripts/install-deps.sh installs
// them); a missing imgtool is a failure.
func imgtool(t testing.TB, args ...string) (string, error) {
	t.Helper()
	abs, err := filepath.Abs(imgtoolPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("imgtool not found at %s: %v", abs, err)
	}
	imgtoolOnce.Do(func() {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		out, err := exec.Command(py, "-c", "import click, cryptography, intelhex, cbor2, yaml").CombinedOutput()
		if err != nil {
			imgtoolErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if imgtoolErr != nil {
		t.Skipf("SKIPPED: MCUboot's imgtool cannot run: /usr/bin/python3 lacks its modules (apt-get install python3-click python3-cryptography python3-intelhex python3-cbor2 python3-yaml, or scripts/install-deps.sh): %v", imgtoolErr)
	}
	cmd := exec.Command(abs, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("imgtool %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// keygen makes a key with imgtool keygen (types: ed25519, ecdsa-p256, ecdsa-p384, rsa-2048,
// rsa-3072) and returns its path and the parsed private key.
func keygen(t testing.TB, dir, typ string) (string, crypto.Signer) {
	t.Helper()
	p := filepath.Join(dir, typ+".pem")
	if _, err := imgtool(t, "keygen", "-k", p, "-t", typ); err != nil {
		t.Fatal(err)
	}
	return p, loadKey(t, p)
}

// goKey writes a fresh Ed25519 key as PKCS#8 PEM (without running imgtool keygen).
func goKey(t testing.TB, dir string) (string, crypto.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p := write(t, dir, "ed25519.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return p, priv
}

func loadKey(t testing.TB, p string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", p)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return k.(crypto.Signer)
}

func firmware(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func u32(v uint32) *uint32 { return &v }

// TestEd25519ByteIdenticalToImgtool: Ed25519 is deterministic, so for the same key, version,
// header size and input, our image and imgtool's must be the same bytes, option for option.
func TestEd25519ByteIdenticalToImgtool(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := goKey(t, dir) // a PKCS#8 file as openssl writes it; imgtool reads it too
	fw := firmware(5000, 1)
	raw := write(t, dir, "fw.bin", fw)
	zephyr := write(t, dir, "zephyr.bin", append(make([]byte, 0x200), fw...)) // header area reserved by the linker
	envelope := write(t, dir, "envelope.suit", firmware(300, 2))
	vendor2 := write(t, dir, "vendor.bin", []byte("second vendor TLV"))
	cases := []struct {
		name    string
		in      string
		args    []string
		opts    Options
		imgArgs []string
	}{
		{name: "pad-header", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 2, 3, 4}},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "1.2.3+4", "-S", "0x20000"}},
		{name: "zero header area", in: zephyr, opts: Options{HeaderSize: 0x200, Version: Version{0, 9, 0, 0}},
			imgArgs: []string{"-H", "0x200", "-v", "0.9", "-S", "0x20000"}},
		{name: "header 32", in: raw, opts: Options{HeaderSize: 32, PadHeader: true, Version: Version{255, 255, 65535, 4294967295}},
			imgArgs: []string{"-H", "32", "--pad-header", "-v", "255.255.65535+4294967295", "-S", "0x20000"}},
		{name: "pad", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 0, 0, 0}, SlotSize: 0x8000, Pad: true},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "1.0.0", "-S", "0x8000", "--pad"}},
		{name: "confirm align 4", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 0, 0, 0}, SlotSize: 0x8000, Confirm: true, Align: 4},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "1.0.0", "-S", "0x8000", "--confirm", "--align", "4"}},
		{name: "confirm align 16 max-align 16", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 0, 0, 0}, SlotSize: 0x10000, Confirm: true, Align: 16},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "1.0.0", "-S", "0x10000", "--confirm", "--align", "16"}},
		{name: "confirm overwrite-only", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 0, 0, 0}, SlotSize: 0x8000, Confirm: true, OverwriteOnly: true},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "1.0.0", "-S", "0x8000", "--confirm", "--overwrite-only"}},
		{name: "security counter", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{2, 1, 0, 7}, SecurityCounter: u32(42)},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "2.1.0+7", "-S", "0x20000", "-s", "42"}},
		{name: "security counter, SUIT envelope TLV, vendor TLV, pad, confirm", in: raw,
			opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{3, 0, 1, 0}, SecurityCounter: u32(0x03000001), SlotSize: 0x8000, Confirm: true,
				Protected: []TLV{{Type: TLVSUITEnvelope, Value: mustRead(t, envelope)}, {Type: 0x01a5, Value: []byte("second vendor TLV")}}},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "3.0.1", "-S", "0x8000", "-s", "auto", "--confirm",
				"--custom-tlv-file", "0x53a0", envelope, "--custom-tlv-file", "0x01a5", vendor2}},
		{name: "erased 0 max-sectors 32", in: raw, opts: Options{HeaderSize: 0x100, PadHeader: true, Version: Version{1, 0, 0, 0}, SlotSize: 0x4000, Pad: true, ErasedZero: true, MaxSectors: 32, Align: 8},
			imgArgs: []string{"-H", "0x100", "--pad-header", "-v", "1.0.0", "-S", "0x4000", "--pad", "-R", "0", "-M", "32", "--align", "8"}},
		{name: "load address", in: raw, opts: Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 0, 0, 0}, LoadAddr: 0x20000000},
			imgArgs: []string{"-H", "0x200", "--pad-header", "-v", "1.0.0", "-S", "0x20000", "-L", "0x20000000"}},
	}
	for i, c := range cases {
		if testing.Short() && !strings.HasPrefix(c.name, "security counter, SUIT") {
			continue // each imgtool run takes about a second: -short keeps the case that covers most
		}
		t.Run(c.name, func(t *testing.T) {
			want := filepath.Join(dir, fmt.Sprintf("imgtool%d.bin", i))
			args := append([]string{"sign", "-k", keyPath}, c.imgArgs...)
			if _, err := imgtool(t, append(args, c.in, want)...); err != nil {
				t.Fatal(err)
			}
			wantB := mustRead(t, want)
			got, err := Sign(mustRead(t, c.in), key, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantB) {
				t.Fatalf("our image (%d bytes) differs from imgtool's (%d bytes) at byte 0x%x", len(got), len(wantB), firstDiff(got, wantB))
			}
			v, im, err := Verify(got, key.Public())
			if err != nil || !v.Valid {
				t.Fatalf("our verify: %v %+v", err, v)
			}
			if c.opts.Pad || c.opts.Confirm {
				if im.Trailer == nil {
					t.Fatal("no trailer found in a padded image")
				}
				wantOK := byte(0xff)
				if c.opts.ErasedZero {
					wantOK = 0
				}
				if c.opts.Confirm && !c.opts.OverwriteOnly {
					wantOK = 1
				}
				if im.Trailer.ImageOK != wantOK {
					t.Errorf("image_ok 0x%02x, want 0x%02x", im.Trailer.ImageOK, wantOK)
				}
			}
		})
	}
}

// TestImgtoolVerifiesOurImages and the other way round, for the randomised signatures (ECDSA,
// RSA-PSS) and for Ed25519; imgtool dumpinfo parses ours.
func TestImgtoolVerifiesOurImages(t *testing.T) {
	if testing.Short() {
		t.Skip("long (imgtool takes a second or more a run): run by make test-long")
	}
	types := []string{"ecdsa-p256", "ed25519", "rsa-2048", "ecdsa-p384", "rsa-3072"}
	dir := t.TempDir()
	fw := firmware(20000, 3)
	raw := write(t, dir, "fw.bin", fw)
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			keyPath, key := keygen(t, dir, typ)
			ours, err := Sign(fw, key, Options{HeaderSize: 0x200, PadHeader: true, Version: Version{1, 4, 0, 9}, SecurityCounter: u32(5),
				Protected: []TLV{{Type: TLVSUITEnvelope, Value: []byte("an envelope")}}})
			if err != nil {
				t.Fatal(err)
			}
			oursPath := write(t, dir, typ+".ours.bin", ours)
			out, err := imgtool(t, "verify", "-k", keyPath, oursPath)
			if err != nil || !strings.Contains(out, "Image was correctly validated") || !strings.Contains(out, "1.4.0+9") {
				t.Fatalf("imgtool does not validate our image: %v\n%s", err, out)
			}
			if out, err := imgtool(t, "dumpinfo", oursPath); err != nil || !strings.Contains(out, "0x53a0") {
				t.Fatalf("imgtool dumpinfo: %v\n%s", err, out)
			}

			theirs := filepath.Join(dir, typ+".imgtool.bin")
			if _, err := imgtool(t, "sign", "-k", keyPath, "-H", "0x200", "--pad-header", "-v", "1.4.0+9", "-S", "0x40000", "--confirm", "-s", "5", raw, theirs); err != nil {
				t.Fatal(err)
			}
			v, im, err := Verify(mustRead(t, theirs), key.Public())
			if err != nil || !v.Valid || !v.HashOK || !v.KeyHashOK || !v.SignatureOK {
				t.Fatalf("we do not validate imgtool's image: %v %+v", err, v)
			}
			if im.Trailer == nil || im.Trailer.ImageOK != 1 || len(im.Raw) != 0x40000 {
				t.Fatalf("trailer of imgtool's confirmed image: %+v", im.Trailer)
			}
			if sc := im.Find(TLVSecCnt); sc == nil || !bytes.Equal(sc.Value, []byte{5, 0, 0, 0}) || !sc.Protected {
				t.Fatalf("security counter TLV: %+v", sc)
			}

			// A changed body byte breaks the hash for both tools.
			bad := append([]byte(nil), ours...)
			bad[0x200+100] ^= 1
			badPath := write(t, dir, typ+".bad.bin", bad)
			if out, err := imgtool(t, "verify", "-k", keyPath, badPath); err == nil || !strings.Contains(out, "invalid hash") {
				t.Fatalf("imgtool accepts a tampered image: %v\n%s", err, out)
			}
			if v, _, err := Verify(bad, key.Public()); err != nil || v.Valid || v.HashOK {
				t.Fatalf("we accept a tampered image: %v %+v", err, v)
			}
		})
	}
}

// TestKeyHashIsWhatImgtoolComputes: KEYHASH is the SHA-256 of the key as MCUboot embeds it (DER
// SubjectPublicKeyInfo for ECDSA and Ed25519, PKCS#1 for RSA); imgtool getpubhash says the same.
func TestKeyHashIsWhatImgtoolComputes(t *testing.T) {
	if testing.Short() {
		t.Skip("long: run by make test-long")
	}
	dir := t.TempDir()
	for _, typ := range []string{"ecdsa-p256", "ed25519", "rsa-2048"} {
		p, key := keygen(t, dir, typ)
		out, err := imgtool(t, "getpubhash", "-k", p, "-e", "raw", "-o", filepath.Join(dir, typ+".hash"))
		if err != nil {
			t.Fatalf("%s: %v %s", typ, err, out)
		}
		want := mustRead(t, filepath.Join(dir, typ+".hash"))
		got, err := KeyHash(key.Public())
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: key hash %x, imgtool %x (%v)", typ, got, want, err)
		}
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
