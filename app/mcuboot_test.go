package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/suit-studio/suit-studio/codec/mcuboot"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
	"github.com/suit-studio/suit-studio/transport"
)

// zephyrBoard is the device side of a stock Zephyr board with MCUboot, as far as SMP shows it:
// img_mgmt's upload rules (the first chunk must start with the MCUboot image magic, else
// IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC with "rsn" "magic mismatch", or a bare
// MGMT_ERR_EUNKNOWN without CONFIG_MCUMGR_GRP_IMG_VERBOSE_ERR), slot hashes taken from the
// image's SHA256 TLV, a state write naming the upload by that hash, and an MCUboot that swaps a
// pending image in at reset only if its signature verifies with the board's key.
type zephyrBoard struct {
	mu        sync.Mutex
	key       crypto.PublicKey
	verbose   bool
	slots     [2][]byte
	area      []byte
	pending   bool
	permanent bool
	setHash   []byte
	resets    int
}

func (b *zephyrBoard) Params() transport.Params { return transport.Params{BufSize: 2048, BufCount: 4} }

func (b *zephyrBoard) ImageState() ([]transport.ImageSlot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []transport.ImageSlot
	for i, s := range b.slots {
		if s == nil {
			continue
		}
		im, err := mcuboot.Parse(s)
		if err != nil {
			continue
		}
		out = append(out, transport.ImageSlot{Slot: i, Version: im.Header.Version.String(), Hash: MCUbootImageHash(s),
			Bootable: true, Active: i == 0, Confirmed: i == 0, Pending: i == 1 && b.pending, Permanent: i == 1 && b.permanent})
	}
	return out, nil
}

func (b *zephyrBoard) SetState(hash []byte, confirm bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if hash == nil {
		return nil // confirms the running image
	}
	if b.slots[1] == nil || !bytes.Equal(hash, MCUbootImageHash(b.slots[1])) {
		return transport.ImageError(transport.ImgErrHashNotFound, "")
	}
	b.setHash = bytes.Clone(hash)
	b.pending, b.permanent = true, confirm
	return nil
}

func (b *zephyrBoard) BeginUpload(image, size int, upgrade bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.area = make([]byte, 0, size)
	return nil
}

func (b *zephyrBoard) WriteUpload(image, off int, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if off == 0 && !mcuboot.IsImage(data) {
		if b.verbose {
			return transport.ImageError(transport.ImgErrInvalidHeaderMagic, "magic mismatch")
		}
		// A v1 client of a board without verbose errors sees only this (img_mgmt_translate_error_code).
		return transport.MgmtError(transport.MgmtUnknown, "")
	}
	b.area = append(b.area, data...)
	return nil
}

func (b *zephyrBoard) EndUpload(image int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.slots[1], b.area, b.pending = b.area, nil, false
	return nil
}

func (b *zephyrBoard) AbortUpload(image int) { b.mu.Lock(); b.area = nil; b.mu.Unlock() }
func (b *zephyrBoard) Erase(slot int) error  { b.mu.Lock(); b.slots[1] = nil; b.mu.Unlock(); return nil }
func (b *zephyrBoard) Echo(s string) (string, error) {
	return s, nil
}

func (b *zephyrBoard) Reset(force bool) (func(), error) {
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.resets++
		if !b.pending {
			return
		}
		b.pending = false
		// MCUboot: swap only an image whose hash, key hash and signature verify.
		if v, _, err := mcuboot.Verify(b.slots[1], b.key); err == nil && v.Valid {
			b.slots[0], b.slots[1] = b.slots[1], b.slots[0]
		}
	}, nil
}

func (b *zephyrBoard) slot(i int) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.slots[i])
}

// boardPty serves dev over SMP on the master side of a raw pseudo-terminal and returns the
// slave's path: a serial port as `suit push` opens it.
func boardPty(t *testing.T, dev transport.Device) string {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &transport.Server{Device: dev, LineMax: 127}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, master); close(done) }()
	t.Cleanup(func() { cancel(); master.Close(); slave.Close(); <-done })
	return slave.Name()
}

func testFirmware(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

// signedEnvelopeFor makes a signed SUIT envelope whose manifest describes body.
func signedEnvelopeFor(t testing.TB, key signer.Key, body []byte, seq uint64) []byte {
	t.Helper()
	env := &model.Envelope{Tagged: true, Manifest: &model.Manifest{Version: 1, SequenceNumber: seq,
		Common: model.Common{Components: []model.ComponentID{{[]byte{0}}}}}}
	if err := SetImage(env, 0, body, ImageSource{}); err != nil {
		t.Fatal(err)
	}
	enc, err := suit.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := SignEnvelope(enc, []any{key}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func p256Key(t testing.TB) signer.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signer.NewKey(priv, "test P-256")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPushMCUbootImageOverPty: an MCUboot image goes to a Zephyr board over a real pseudo-terminal
// byte for byte as exported, is named by its hash in the state write, and MCUboot (which
// verifies its signature) swaps it in at reset.
func TestPushMCUbootImageOverPty(t *testing.T) {
	key := p256Key(t)
	board := &zephyrBoard{key: key.Public(), verbose: true}
	board.slots[0] = must(SignMCUboot(MCUbootSignRequest{Firmware: testFirmware(3000), Key: key,
		Options: mcuboot.Options{PadHeader: true, Version: mcuboot.Version{Major: 1}}}))
	port := boardPty(t, board)

	fw := testFirmware(20000)
	img, err := SignMCUboot(MCUbootSignRequest{Firmware: fw, Key: key,
		Options:  mcuboot.Options{PadHeader: true, Version: mcuboot.Version{Major: 1, Minor: 2, Revision: 3}},
		Envelope: signedEnvelopeFor(t, key, fw, 7)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Push(ctx, port, img, PushOptions{PortOptions: PortOptions{Baud: 115200, Timeout: 3 * time.Second}})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if got := board.slot(0); !bytes.Equal(got, img) {
		t.Fatalf("the board runs %d bytes, not the %d-byte image pushed (first difference at %d)", len(got), len(img), firstDifference(got, img))
	}
	if !bytes.Equal(board.setHash, MCUbootImageHash(img)) || !board.permanent || board.resets != 1 {
		t.Errorf("state write hash %x permanent %v resets %d; want the image's SHA256 TLV %x, permanent, 1 reset",
			board.setHash, board.permanent, board.resets, MCUbootImageHash(img))
	}
	if !strings.Contains(res.Verdict, "runs the MCUboot image, version 1.2.3+0") {
		t.Errorf("verdict %q", res.Verdict)
	}

	// --test marks it for a test swap; --no-confirm leaves it in the secondary slot.
	img2 := must(SignMCUboot(MCUbootSignRequest{Firmware: testFirmware(5000), Key: key,
		Options: mcuboot.Options{PadHeader: true, Version: mcuboot.Version{Major: 1, Minor: 3}}}))
	res, err = Push(ctx, port, img2, PushOptions{PortOptions: PortOptions{Timeout: 3 * time.Second}, NoConfirm: true})
	if err != nil || !bytes.Equal(board.slot(1), img2) || board.pending || !strings.Contains(res.Verdict, "secondary slot") {
		t.Fatalf("no-confirm push: %v, slot 1 holds the image: %v, pending %v, verdict %q", err, bytes.Equal(board.slot(1), img2), board.pending, res.Verdict)
	}
	if _, err = Push(ctx, port, img2, PushOptions{PortOptions: PortOptions{Timeout: 3 * time.Second}, Test: true, NoReset: true}); err != nil {
		t.Fatal(err)
	}
	if !board.pending || board.permanent {
		t.Errorf("test push: pending %v permanent %v, want a test swap", board.pending, board.permanent)
	}
}

// TestPushEnvelopeToMCUbootBoard: a raw SUIT envelope pushed to an MCUboot board fails with the
// hint to export for MCUboot, for each way the board may say so.
func TestPushEnvelopeToMCUbootBoard(t *testing.T) {
	key := p256Key(t)
	envelope := signedEnvelopeFor(t, key, testFirmware(100), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		name    string
		verbose bool
		version uint8
		certain bool
	}{
		{"v1 client, verbose board (rc 1, rsn magic mismatch)", true, transport.Version1, true},
		{"v1 client, board without verbose errors (bare rc 1)", false, transport.Version1, false},
		{"v2 client (err group 1 rc 23)", true, transport.Version2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			board := &zephyrBoard{key: key.Public(), verbose: c.verbose}
			port := boardPty(t, board)
			p, err := transport.OpenPort(port, 115200)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := transport.NewClient(p, transport.ClientOptions{Timeout: 3 * time.Second, Version: c.version})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			_, err = PushOn(ctx, cl, envelope, PushOptions{})
			var mb *MCUbootBoardError
			if !errors.As(err, &mb) {
				t.Fatalf("push error %v (%T) is not an MCUbootBoardError", err, errors.Unwrap(err))
			}
			if mb.Certain != c.certain || !strings.Contains(mb.Hint(), "suit mcuboot sign") {
				t.Errorf("certain %v (want %v), hint %q", mb.Certain, c.certain, mb.Hint())
			}
			var de *transport.DeviceError
			if !errors.As(err, &de) {
				t.Fatalf("the device's code is lost: %v", err)
			}
			t.Logf("%s: %v", c.name, err)
		})
	}
}

func TestBoardWantsMCUboot(t *testing.T) {
	img := must(SignMCUboot(MCUbootSignRequest{Firmware: testFirmware(100), Key: p256Key(t),
		Options: mcuboot.Options{PadHeader: true}}))
	raw := []byte{0xd8, 0x6b, 0xa2}
	upload := func(e *transport.DeviceError) error {
		e.CmdGroup, e.Cmd = transport.GroupImage, transport.CmdImageUpload
		return fmt.Errorf("upload: %w", e)
	}
	for _, c := range []struct {
		name         string
		err          error
		data         []byte
		yes, certain bool
	}{
		{"v2 magic", transport.ImageError(transport.ImgErrInvalidHeaderMagic, ""), raw, true, true},
		{"v1 rsn", upload(transport.MgmtError(transport.MgmtUnknown, "magic mismatch")), raw, true, true},
		{"v1 bare unknown on upload", upload(transport.MgmtError(transport.MgmtUnknown, "")), raw, true, false},
		{"v1 unknown with another reason", upload(transport.MgmtError(transport.MgmtUnknown, "flash write failed")), raw, false, false},
		{"v1 unknown on echo", transport.MgmtError(transport.MgmtUnknown, ""), raw, false, false},
		{"v2 other image error", transport.ImageError(transport.ImgErrNoFreeSlot, ""), raw, false, false},
		{"an MCUboot image refused", transport.ImageError(transport.ImgErrInvalidHeaderMagic, ""), img, false, false},
		{"a timeout", transport.ErrTimeout, raw, false, false},
	} {
		yes, certain := BoardWantsMCUboot(c.err, c.data)
		if yes != c.yes || certain != c.certain {
			t.Errorf("%s: (%v, %v), want (%v, %v)", c.name, yes, certain, c.yes, c.certain)
		}
	}
}

// TestSignMCUbootBindsManifest: the embedded envelope must describe the body (digest and size),
// be signed, and it travels in the protected TLV 0x53a0 under MCUboot's signature.
func TestSignMCUbootBindsManifest(t *testing.T) {
	key := p256Key(t)
	fw := testFirmware(4000)
	zephyr := append(make([]byte, 0x200), fw...)
	env := signedEnvelopeFor(t, key, fw, 3)

	// The same manifest fits a bare binary (--pad-header) and a Zephyr binary with its empty
	// header area: in both the body is fw.
	for _, in := range []struct {
		data []byte
		pad  bool
	}{{fw, true}, {zephyr, false}} {
		img, err := SignMCUboot(MCUbootSignRequest{Firmware: in.data, Key: key, Envelope: env,
			Options: mcuboot.Options{PadHeader: in.pad, Version: mcuboot.Version{Major: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := CheckMCUboot(img, key.Public(), nil)
		if err != nil || !r.Valid || !r.Binding.OK || r.SUIT == nil || !r.SUIT.Authentic {
			t.Fatalf("check: %v %+v", err, r)
		}
		if tl := r.EnvelopeTLV; tl == nil || !tl.Protected || !bytes.Equal(tl.Value, env) {
			t.Fatalf("envelope TLV %+v", tl)
		}
		if sum := sha256.Sum256(r.Image.Body()); !bytes.Equal(sum[:], r.Binding.Digest.Bytes) || r.Binding.Size != uint64(len(fw)) {
			t.Fatalf("binding %+v", r.Binding)
		}
	}

	// Another body: refused before anything is signed.
	if _, err := SignMCUboot(MCUbootSignRequest{Firmware: testFirmware(4001), Key: key, Envelope: env,
		Options: mcuboot.Options{PadHeader: true}}); !errors.Is(err, ErrManifestMismatch) || !strings.Contains(err.Error(), "image-size") && !strings.Contains(err.Error(), "image-digest") {
		t.Fatalf("mismatched body: %v", err)
	}
	// An unsigned envelope is refused.
	unsigned, _ := suit.StripAuthBlocks(env)
	if _, err := SignMCUboot(MCUbootSignRequest{Firmware: fw, Key: key, Envelope: unsigned,
		Options: mcuboot.Options{PadHeader: true}}); !errors.Is(err, ErrEnvelopeUnsigned) {
		t.Fatalf("unsigned envelope: %v", err)
	}

	// A manifest changed after signing (its digest no longer matches) is refused.
	// (manifest-version 1, sequence-number 3 -> 4: the bytes a signature covers, changed)
	i := bytes.Index(env, []byte{0x01, 0x01, 0x02, 0x03})
	if i < 0 {
		t.Fatal("sequence number not found in the envelope")
	}
	changed := bytes.Clone(env)
	changed[i+3] = 0x04
	if _, err := SignMCUboot(MCUbootSignRequest{Firmware: fw, Key: key, Envelope: changed,
		Options: mcuboot.Options{PadHeader: true}}); !errors.Is(err, ErrEnvelopeUnsigned) || !strings.Contains(err.Error(), "changed after signing") {
		t.Fatalf("changed envelope: %v", err)
	}

	// A manifest signed by another key: MCUboot's verdict holds, the SUIT verdict fails.
	other := p256Key(t)
	img := must(SignMCUboot(MCUbootSignRequest{Firmware: fw, Key: key, Envelope: signedEnvelopeFor(t, other, fw, 3),
		Options: mcuboot.Options{PadHeader: true}}))
	r, err := CheckMCUboot(img, key.Public(), nil)
	if err != nil || r.Valid || !r.Verification.Valid || r.SUIT.Authentic {
		t.Fatalf("other SUIT key: %v valid %v mcuboot %v", err, r.Valid, r.Verification.Valid)
	}
	if r, _ := CheckMCUboot(img, key.Public(), []suit.VerifyKey{{Name: "other", Public: other.Public()}}); !r.Valid {
		t.Fatalf("with the SUIT key given: %s", r.Reason)
	}

	// A changed envelope byte breaks MCUboot's hash: the envelope is under its signature.
	bad := bytes.Clone(img)
	bad[r.EnvelopeTLV.Offset+4+20] ^= 1
	if r, err := CheckMCUboot(bad, key.Public(), nil); err != nil || r.Valid || r.Verification.HashOK {
		t.Fatalf("tampered envelope accepted: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkMCUbootSignVerify64K: sign and verify a 64 KiB image, per key type.
func BenchmarkMCUbootSignVerify64K(b *testing.B) {
	fw := testFirmware(64 << 10)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ed, _ := signer.NewKey(edPriv, "ed25519")
	for _, k := range []struct {
		name string
		key  signer.Key
	}{{"P-256", p256Key(b)}, {"Ed25519", ed}} {
		b.Run("sign/"+k.name, func(b *testing.B) {
			b.SetBytes(int64(len(fw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SignMCUboot(MCUbootSignRequest{Firmware: fw, Key: k.key, Options: mcuboot.Options{PadHeader: true}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		img := must(SignMCUboot(MCUbootSignRequest{Firmware: fw, Key: k.key, Options: mcuboot.Options{PadHeader: true}}))
		b.Run("verify/"+k.name, func(b *testing.B) {
			b.SetBytes(int64(len(img)))
			b.ReportAllocs()
			for b.Loop() {
				if v, _, err := mcuboot.Verify(img, k.key.Public()); err != nil || !v.Valid {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignMCUbootLayoutAdvice: a manifest made from the wrong bytes (header area included, or
// --pad-header given to a binary that has one) gets advice naming the layout problem.
func TestSignMCUbootLayoutAdvice(t *testing.T) {
	key := p256Key(t)
	fw := testFirmware(3000)
	zephyr := append(make([]byte, 0x200), fw...)
	_, err := SignMCUboot(MCUbootSignRequest{Firmware: zephyr, Key: key, Envelope: signedEnvelopeFor(t, key, zephyr, 1)})
	if !errors.Is(err, ErrManifestMismatch) || !strings.Contains(err.Error(), "empty header area included") {
		t.Errorf("manifest of the whole zephyr.bin: %v", err)
	}
	_, err = SignMCUboot(MCUbootSignRequest{Firmware: zephyr, Key: key, Envelope: signedEnvelopeFor(t, key, fw, 1),
		Options: mcuboot.Options{PadHeader: true}})
	if !errors.Is(err, ErrManifestMismatch) || !strings.Contains(err.Error(), "leave out --pad-header") {
		t.Errorf("--pad-header on a binary with a header area: %v", err)
	}
}

func TestExportMCUboot(t *testing.T) {
	key := p256Key(t)
	fw := testFirmware(2000)
	env := signedEnvelopeFor(t, key, fw, 9)
	for _, in := range [][]byte{fw, append(make([]byte, 0x200), fw...)} {
		ex, err := ExportMCUboot(env, in, 0, key)
		if err != nil {
			t.Fatal(err)
		}
		r, err := CheckMCUboot(ex.Image, key.Public(), nil)
		if err != nil || !r.Valid || ex.Version != (mcuboot.Version{Build: 9}) || ex.PadHeader != (len(in) == len(fw)) {
			t.Fatalf("export of %d bytes: %v %+v pad %v version %v", len(in), err, r, ex.PadHeader, ex.Version)
		}
	}
	if _, err := ExportMCUboot(env, testFirmware(2001), 0, key); !errors.Is(err, ErrManifestMismatch) {
		t.Fatalf("other firmware: %v", err)
	}
}
