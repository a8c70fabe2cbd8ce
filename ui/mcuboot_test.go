package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/assets"
	"github.com/suit-studio/suit-studio/signer"
	"github.com/suit-studio/suit-studio/transport"
)

// Sign and export → "MCUboot image for a Zephyr board": the demo's firmware becomes an MCUboot
// image signed with the chosen key, with the signed envelope inside, both verifying with the key.
func TestExportForMCUbootBoard(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	key := fileKey(t)
	out := filepath.Join(t.TempDir(), "demo.signed.bin")
	s.signDialog()
	f := s.signForm
	f.key.SetSelected(key)
	f.kind.SetSelected(exportMCUboot)
	if !strings.HasSuffix(f.out.Text, ".signed.bin") {
		t.Errorf("file name %q does not end in .signed.bin", f.out.Text)
	}
	f.out.SetText(out)
	f.submit()
	s.Wait()

	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("nothing exported: %v (status %q)", err, s.editor.status.Text)
	}
	k, err := signer.LoadSigner(key, signer.LoadOptions{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	r, err := app.CheckMCUboot(img, k.Public(), nil)
	if err != nil || !r.Valid {
		t.Fatalf("the exported image does not verify: %v %+v", err, r)
	}
	if !app.IsMCUbootImage(img) || r.Image.Header.Version.String() != "1.0.0+0" || string(r.Image.Body()) != string(assets.DemoFirmwareV1) {
		t.Errorf("version %s, body of %d bytes (demo firmware %d)", r.Image.Header.Version, len(r.Image.Body()), len(assets.DemoFirmwareV1))
	}
	if !strings.Contains(s.editor.status.Text, "MCUboot image version 1.0.0+0") {
		t.Errorf("status %q", s.editor.status.Text)
	}
}

// The push view's advice when a board refused the file for its MCUboot magic.
func TestPushHintForMCUbootBoard(t *testing.T) {
	de := transport.ImageError(transport.ImgErrInvalidHeaderMagic, "")
	err := fmt.Errorf("upload: %w", &app.MCUbootBoardError{Err: de, Certain: true})
	if h := pushHint(err); !strings.Contains(h, exportMCUboot) {
		t.Errorf("hint %q does not name the MCUboot export", h)
	}
	if h := pushHint(fmt.Errorf("upload: %w", de)); h != de.Hint() || !errors.Is(err, de) {
		t.Errorf("a plain device error's hint %q, want the transport's %q", h, de.Hint())
	}
}
