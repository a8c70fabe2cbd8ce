package ui

import (
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
)

// devVectors is the spec's vector directory, from the ui package directory.
const devVectors = "../../shared/spec/vectors"

// devEx0Real is the draft's example 0 with the digest of the simulator's factory image instead of
// the placeholder, signed with the spec's private key (the envelope of cmd/suit's h3_push script):
// a device provisioned with arm.com/suit and public_key.pem applies it.
const devEx0Real = "d86ba2025873825824822f58204239fd4f2e74d50114bf41d3b592cf72c332e33e0586f3c93a07bd7354c832d4584ad28443a10126a0f65840f1b3fa7ea720d55a6ea8c1f6ce06d4f13956a9ad07f775e5b9508c0e14a22a374de1737599382811d731623ee8efeadaec4ef1d02e84531d75e3ada4e77196c0035871a50101020003585fa202818141000458568614a40150fa6b4a53d5ad5fdfbe9de663e4d41ffe02501492af1425695e48bf429b2d51f2ab45035824822f58204f50061b5456d74790efd6887afe5a618f60610966da2594c118ad97bc0079550e1987d0010f020f074382030f0943821702"

func devEx0RealBytes(t *testing.T) []byte {
	t.Helper()
	b, ok := app.DecodeHexText([]byte(devEx0Real))
	if !ok {
		t.Fatal("bad test envelope hex")
	}
	return b
}

func newTestSimView(t *testing.T, trust string) (*SimulatorView, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("simulator")
	v := NewSimulatorView(w, SimulatorOptions{TrustKey: trust})
	w.SetContent(v.Content)
	w.Resize(fyne.NewSize(1400, 900))
	t.Cleanup(func() { v.Stop(); v.Play(); v.Wait() })
	return v, w
}

// devTexts collects the text of every label and canvas text drawn under o.
func devTexts(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
			return
		}
		if w, ok := o.(fyne.Widget); ok {
			for _, c := range test.WidgetRenderer(w).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

func devFind(rows []string, parts ...string) (string, bool) {
	for _, r := range rows {
		ok := true
		for _, p := range parts {
			if !strings.Contains(r, p) {
				ok = false
				break
			}
		}
		if ok {
			return r, true
		}
	}
	return "", false
}

// Example 0 of the draft, provisioned as the examples say (arm.com, "suit", the spec's key): the
// device authenticates it, checks vendor and class, and refuses it because its image digest is a
// placeholder that the factory image does not have. Every step is in the list with its mark.
func TestDevSimExample0(t *testing.T) {
	v, w := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	v.RunFile(filepath.Join(devVectors, "example0.hex"))
	v.Wait()

	rows := v.StepRows()
	for _, want := range [][]string{
		{"stage envelope", "NOTE"},
		{"check manifest digest", "PASS"},
		{"verify signature", "trust anchor #1", "PASS"},
		{"vendor-identifier", "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe", "PASS"},
		{"class-identifier", "1492af14-2569-5e48-bf42-9b2d51f2ab45", "PASS"},
		{"payload-fetch", "SKIPPED"},
		{"image-match", "FAIL: payload digest mismatch"},
		{"boot", "start-image", "PASS"},
	} {
		if _, ok := devFind(rows, want...); !ok {
			t.Errorf("no step with %q in:\n%s", want, strings.Join(rows, "\n"))
		}
	}
	verdict := v.Verdict()
	if !strings.HasPrefix(verdict, "Refused at step") || !strings.Contains(verdict, "payload digest mismatch") ||
		!strings.Contains(verdict, "kept what it had and boots it") {
		t.Errorf("verdict = %q", verdict)
	}
	if v.result.Text != verdict {
		t.Errorf("result label %q, verdict %q", v.result.Text, verdict)
	}
	// The board: state area, RAM gauge within the budget.
	st := v.stateLabel.Text
	if !strings.Contains(st, "Stored sequence number: 0") || !strings.Contains(st, "Trust anchors: #1 P-256") ||
		!strings.Contains(st, "Installed manifest: none") {
		t.Errorf("state = %q", st)
	}
	if v.ramPeak <= 0 || v.ramPeak > 10*1024 || v.ram.Max != 10*1024 {
		t.Errorf("RAM peak %d, gauge max %v", v.ramPeak, v.ram.Max)
	}
	if txt := v.ramLabel.Text; !strings.Contains(txt, "budget 10240 B") {
		t.Errorf("RAM gauge text %q", txt)
	}
	devScreenshot(t, w, "simulator-example0")
	// What is drawn: the list shows the last steps (it scrolls to the bottom), the board its map.
	drawn := strings.Join(devTexts(w.Canvas().Content()), "\n")
	if !strings.Contains(drawn, "start-image") || !strings.Contains(drawn, "payload digest mismatch") {
		t.Errorf("the step list does not show the last steps:\n%s", drawn)
	}
	var board []string
	for _, o := range v.boardBox.Objects {
		board = append(board, devCanvasTexts(o)...)
	}
	for _, want := range []string{"boot", "active image", "candidate / staging", "state A", "state B", "internal flash · 100 KiB"} {
		if _, ok := devFind(board, want); !ok {
			t.Errorf("board lacks %q: %q", want, board)
		}
	}
}

// devCanvasTexts collects the canvas.Text strings of a container tree (the board drawing).
func devCanvasTexts(o fyne.CanvasObject) []string {
	var out []string
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, devCanvasTexts(c)...)
		}
	case *canvas.Text:
		out = append(out, x.Text)
	}
	return out
}

// Paused, the device finishes on its own but the list shows nothing until Step is tapped; each
// tap releases exactly one step, and Play releases the rest.
func TestDevSimStepMode(t *testing.T) {
	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	test.Tap(v.pauseBtn)
	v.RunFile(filepath.Join(devVectors, "example0.hex"))
	v.Wait()
	if n := v.stepCount(); n != 0 {
		t.Fatalf("paused, yet %d steps shown", n)
	}
	v.mu.Lock()
	queued := len(v.queue)
	v.mu.Unlock()
	if queued < 10 {
		t.Fatalf("only %d items queued", queued)
	}
	for i := 1; i <= 3; i++ {
		test.Tap(v.stepBtn)
		if n := v.stepCount(); n != i {
			t.Fatalf("after %d taps of Step, %d steps shown", i, n)
		}
	}
	if rows := v.StepRows(); !strings.Contains(rows[0], "stage envelope") || !strings.Contains(rows[2], "check manifest digest") {
		t.Errorf("first steps: %q", rows)
	}
	if v.Verdict() != "" {
		t.Errorf("verdict shown before its step was released: %q", v.Verdict())
	}
	if !strings.Contains(v.status.Text, "paused") || !strings.Contains(v.status.Text, "waiting") {
		t.Errorf("status %q", v.status.Text)
	}
	test.Tap(v.playBtn)
	v.Wait()
	if n := v.stepCount(); n != queued-1 { // the last item is the run's end, not a step
		t.Errorf("after Play: %d steps, %d were queued", n, queued)
	}
	if !strings.HasPrefix(v.Verdict(), "Refused") {
		t.Errorf("verdict %q", v.Verdict())
	}
}

// The power-cut fault stops the device at its next flash write; Reset powers it on and it boots
// its old image; the update then applies when sent again.
func TestDevSimPowerCut(t *testing.T) {
	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	env := devEx0RealBytes(t)

	test.Tap(v.cutBtn)
	if !strings.Contains(v.faultLabel.Text, "power will be cut") {
		t.Fatalf("fault label %q", v.faultLabel.Text)
	}
	v.Run(env)
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Power cut") || !strings.Contains(v.Verdict(), "Press Reset") {
		t.Fatalf("verdict %q", v.Verdict())
	}
	if !v.Session().Device.PoweredOff() {
		t.Error("the device is still on after the power cut")
	}
	if v.faultLabel.Text != "No fault armed." {
		t.Errorf("the fault is still armed: %q", v.faultLabel.Text)
	}
	if _, ok := devFind(devCanvasTextsAll(v), "POWER OFF"); !ok {
		t.Error("the board does not show the power cut")
	}
	// Not "device not provisioned" (which reads as bricked): what it holds, and what to do.
	if st := v.stateLabel.Text; strings.Contains(st, "not provisioned") || !strings.Contains(st, "Power is off") ||
		!strings.Contains(st, "Stored sequence number") || !strings.Contains(st, "Trust anchors: #1") || !strings.Contains(st, "Reset") {
		t.Errorf("state while the power is off: %q", st)
	}

	test.Tap(v.resetBtn)
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Reset: the device boots") {
		t.Fatalf("after reset: %q", v.Verdict())
	}

	v.Run(env)
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Applied") {
		t.Fatalf("retry: %q\n%s", v.Verdict(), strings.Join(v.StepRows(), "\n"))
	}
	if !strings.Contains(v.stateLabel.Text, "Installed manifest: sha-256") {
		t.Errorf("state after the update: %q", v.stateLabel.Text)
	}
}

func devCanvasTextsAll(v *SimulatorView) []string {
	var out []string
	for _, o := range v.boardBox.Objects {
		out = append(out, devCanvasTexts(o)...)
	}
	return out
}

// Tampering with a byte of the staged envelope makes the device refuse it; the fault is spent.
func TestDevSimTamper(t *testing.T) {
	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	env := devEx0RealBytes(t)
	test.Type(v.tamperEntry, "200") // inside the manifest: its digest no longer matches
	test.Tap(v.tamperBtn)
	if !strings.Contains(v.faultLabel.Text, "byte 200") {
		t.Fatalf("fault label %q", v.faultLabel.Text)
	}
	v.Run(env)
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Refused") || !strings.Contains(v.Verdict(), "manifest digest") {
		t.Fatalf("verdict %q", v.Verdict())
	}
	if _, ok := devFind(v.StepRows(), "check manifest digest", "FAIL"); !ok {
		t.Errorf("no failing digest step:\n%s", strings.Join(v.StepRows(), "\n"))
	}
	// Spent: the same envelope now applies.
	v.Run(env)
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Applied") {
		t.Fatalf("second run: %q", v.Verdict())
	}
}

// Rolling back the stored sequence number is a step of its own and shows on the board.
func TestDevSimRollback(t *testing.T) {
	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	v.rollbackEntry.SetText("7")
	test.Tap(v.rollbackBtn)
	v.Wait()
	if _, ok := devFind(v.StepRows(), "roll back sequence number", "0 -> 7"); !ok {
		t.Errorf("steps: %q", v.StepRows())
	}
	if !strings.Contains(v.stateLabel.Text, "Stored sequence number: 7") {
		t.Errorf("state %q", v.stateLabel.Text)
	}
	// The example's sequence number 0 is now lower than the stored one: refused.
	v.Run(devEx0RealBytes(t))
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Refused") || !strings.Contains(v.Verdict(), "sequence") {
		t.Errorf("verdict %q", v.Verdict())
	}
	v.rollbackEntry.SetText("seven")
	test.Tap(v.rollbackBtn)
	if devOverlayText(v.win) == "" {
		t.Error("no error dialog for a bad sequence number")
	}
}

// Bad input gets a dialog that says what to do: no trust anchor, a file that is not an envelope.
func TestDevSimErrors(t *testing.T) {
	v, w := newTestSimView(t, "")
	v.pace.SetSelected(SimPaceInstant)
	v.RunFile(filepath.Join(devVectors, "example0.hex"))
	v.Wait()
	if msg := devOverlayText(w); !strings.Contains(msg, "no trust anchor") || !strings.Contains(msg, "What to do: choose the PEM public key") {
		t.Errorf("dialog %q", msg)
	}
	if v.Session() != nil {
		t.Error("a device was provisioned without a trust anchor")
	}
	devCloseOverlays(w)

	notEnv := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notEnv, []byte("hello: world\n"), 0o644)
	v.trustEntry.SetText(filepath.Join(devVectors, "public_key.pem"))
	v.RunFile(notEnv)
	if msg := devOverlayText(w); !strings.Contains(msg, "signed CBOR envelopes") {
		t.Errorf("dialog %q", msg)
	}
	devCloseOverlays(w)

	v.trustEntry.SetText(filepath.Join(devVectors, "example0.hex"))
	v.Provision()
	v.Wait()
	if msg := devOverlayText(w); !strings.Contains(msg, "example0.hex") {
		t.Errorf("dialog for a trust anchor that is no key: %q", msg)
	}
}

func devOverlayText(w fyne.Window) string {
	top := w.Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	return strings.Join(devTexts(top), "\n")
}

func devCloseOverlays(w fyne.Window) {
	for w.Canvas().Overlays().Top() != nil {
		w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())
	}
}

// devScreenshot writes the window to $SUIT_STUDIO_DEV_SCREENSHOTS/name.png when that variable is
// set (to look at the layout; the tests themselves check content, not pixels).
func devScreenshot(t *testing.T, w fyne.Window, name string) {
	dir := os.Getenv("SUIT_STUDIO_DEV_SCREENSHOTS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The test canvas has no frame loop re-laying out what changed size (a real window does).
	w.Content().Refresh()
	if err := png.Encode(f, w.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
}

// "Run the open envelope" sends what the studio has open in one action; when nothing usable is
// open, the dialog says what to do.
func TestDevSimRunOpenEnvelope(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("simulator")
	var open []byte
	var openErr error
	var results []string
	v := NewSimulatorView(w, SimulatorOptions{
		TrustKey: filepath.Join(devVectors, "public_key.pem"),
		Envelope: func() ([]byte, error) { return open, openErr },
		OnResult: func(s string) { results = append(results, s) },
	})
	w.SetContent(v.Content)
	w.Resize(fyne.NewSize(1200, 800))
	t.Cleanup(func() { v.Stop(); v.Play(); v.Wait() })
	v.pace.SetSelected(SimPaceInstant)
	if !v.runOpenBtn.Visible() {
		t.Fatal("no Run the open envelope button")
	}

	openErr = errors.New("the document has 2 errors")
	test.Tap(v.runOpenBtn)
	if msg := devOverlayText(w); !strings.Contains(msg, "the document has 2 errors") || !strings.Contains(msg, "What to do:") {
		t.Errorf("dialog %q", msg)
	}
	devCloseOverlays(w)

	open, openErr = devEx0RealBytes(t), nil
	test.Tap(v.runOpenBtn)
	v.Wait()
	if !strings.HasPrefix(v.Verdict(), "Applied") || len(results) != 1 || results[0] != v.Verdict() {
		t.Errorf("verdict %q, OnResult got %q", v.Verdict(), results)
	}
	if _, ok := devFind(v.StepRows(), "invocation", "invoke", "PASS"); !ok {
		t.Errorf("no invoke step:\n%s", strings.Join(v.StepRows(), "\n"))
	}
}
