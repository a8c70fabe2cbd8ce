package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"github.com/suit-studio/suit-studio/app"
)

// windowFits fails when the window's content asks for more room than the window has: Fyne then
// grows the window (past the screen, past what the user chose).
func windowFits(t *testing.T, s *Studio, when string) {
	t.Helper()
	win := fyne.NewSize(1200, 800)
	if m := s.Win.Canvas().Content().MinSize(); m.Width > win.Width || m.Height > win.Height {
		t.Errorf("%s: the window's content needs %.0fx%.0f, more than the %.0fx%.0f window", when, m.Width, m.Height, win.Width, win.Height)
	}
	// Each view scrolls rather than grow the window; at the default size it should not even
	// need to (the toolbar and the tab bar take about 80 px).
	for i, it := range s.tabs.Items {
		s.tabs.SelectIndex(i)
		s.Wait() // showing the inspector inspects the document in the background
		inner := it.Content.(*container.Scroll).Content
		if m := inner.MinSize(); m.Width > win.Width || m.Height > win.Height-80 {
			t.Errorf("%s, %s view: needs %.0fx%.0f, more than the %.0fx%.0f window has", when, it.Text, m.Width, m.Height, win.Width, win.Height-80)
		}
	}
}

// No view makes the window larger than the user made it: not a simulator run with its long
// verdict, not a long file name in the inspector, not long texts anywhere.
func TestViewsFitTheWindow(t *testing.T) {
	s := newTestStudio(t)
	s.sim.pace.SetSelected(SimPaceInstant)
	t.Cleanup(func() { s.sim.Stop(); s.sim.Play(); s.sim.Wait() })
	b, err := os.ReadFile(filepath.Join(vectors, "example0.hex"))
	if err != nil {
		t.Fatal(err)
	}
	ex0, _ := app.DecodeHexText(b)
	s.sim.Prefill("arm.com", "suit", filepath.Join(vectors, "public_key.pem"))
	s.ShowView(ViewSimulator)
	s.Wait()
	s.sim.Run(ex0)
	s.sim.Wait()
	if v := s.sim.Verdict(); v == "" {
		t.Fatal("no verdict")
	}
	s.sim.Step()
	s.sim.steps.Select(0)
	windowFits(t, s, "with a step selected")

	// A file with a long name in a deep folder, inspected.
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-very-long-folder-name-", 6), strings.Repeat("and-another-one-", 6))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(vectors, "example2.hex"))
	file := filepath.Join(dir, strings.Repeat("firmware-release-candidate-", 4)+".hex")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s.inspector.InspectFile(file)
	s.Wait()
	s.inspector.SelectPath("envelope/manifest/common/shared-sequence")
	s.editor.status.SetText(strings.Repeat("A long status message that says a great deal. ", 12))
	s.sim.SetProvisionNote(strings.Repeat("Provisioned from somewhere with a long explanation. ", 10))
	windowFits(t, s, "with long messages")
}
