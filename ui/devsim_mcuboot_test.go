package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Simulator tab's Board choice: "Zephyr + MCUboot" provisions the mcuboot board with the trust
// anchor as MCUboot's built-in key, runs an image signed by MCUboot's imgtool (test swap, shown
// step by step) and describes the slots and trailers.
func TestDevSimMCUbootBoard(t *testing.T) {
	imgtool := "../../shared/tools/imgtool/run"
	dir := t.TempDir()
	fw, img := filepath.Join(dir, "fw.bin"), filepath.Join(dir, "app.signed.bin")
	if err := os.WriteFile(fw, []byte("application firmware for the simulated Zephyr board\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(imgtool, "sign", "--key", filepath.Join(devVectors, "private_key.pem"), "--version", "1.2.3",
		"--header-size", "0x200", "--slot-size", "0xa000", "--pad-header", fw, img).CombinedOutput()
	if err != nil {
		t.Fatalf("imgtool sign: %v\n%s", err, out)
	}
	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.boardSel.SetSelected(simBoardMCUboot)
	v.Provision()
	v.Wait()
	s := v.Session()
	if s == nil || !s.Device.IsMCUboot() {
		t.Fatal("the Board choice did not give an MCUboot device")
	}
	v.RunFile(img)
	v.Wait()
	if verdict := v.Verdict(); !strings.Contains(verdict, "MCUboot validated the image") || !strings.Contains(verdict, "version 1.2.3") {
		t.Fatalf("verdict %q", verdict)
	}
	if txt := v.stateLabel.Text; !strings.Contains(txt, "Zephyr + MCUboot") || !strings.Contains(txt, "runs 1.2.3") {
		t.Fatalf("board state %q", txt)
	}
	found := false
	v.mu.Lock()
	for _, e := range v.released {
		found = found || strings.Contains(e.Command, "signature verified with key hash")
	}
	v.mu.Unlock()
	if !found {
		t.Error("the step list does not show the signature check")
	}
	// Back to the SUIT board: a fresh SUIT device.
	v.boardSel.SetSelected(simBoardSUIT)
	v.Provision()
	v.Wait()
	if v.Session().Device.IsMCUboot() {
		t.Fatal("the SUIT choice kept the MCUboot device")
	}
}
