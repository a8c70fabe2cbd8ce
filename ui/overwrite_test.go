package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// overlayButton finds the button labelled text in the window's top overlay (a dialog).
func overlayButton(w fyne.Window, text string) *widget.Button {
	var find func(o fyne.CanvasObject) *widget.Button
	find = func(o fyne.CanvasObject) *widget.Button {
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text {
				return v
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				if b := find(c); b != nil {
					return b
				}
			}
			return nil
		}
		if wd, ok := o.(fyne.Widget); ok {
			for _, c := range test.WidgetRenderer(wd).Objects() {
				if b := find(c); b != nil {
					return b
				}
			}
		}
		return nil
	}
	if top := w.Canvas().Overlays().Top(); top != nil {
		return find(top)
	}
	return nil
}

// TestExportAsksBeforeReplacing: exporting over an existing file asks first; "No" leaves the
// file as it was, "Yes" replaces it. A new file is written without a question.
func TestExportAsksBeforeReplacing(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	key := fileKey(t)
	out := filepath.Join(t.TempDir(), "demo.suit")
	os.WriteFile(out, []byte("old"), 0o644)
	export := func() {
		s.signDialog()
		f := s.signForm
		f.key.SetSelected(key)
		f.kind.SetSelected(exportEnvelope)
		f.out.SetText(out)
		f.submit()
	}
	export()
	if msg := devOverlayText(s.Win); !strings.Contains(msg, "Replace the file?") || !strings.Contains(msg, out) {
		t.Fatalf("no question before replacing %s; overlay %q", out, msg)
	}
	no := overlayButton(s.Win, "No")
	if no == nil {
		t.Fatal("the question has no No button")
	}
	test.Tap(no)
	s.Wait()
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Fatalf("the file was replaced after No: %d bytes", len(b))
	}
	devCloseOverlays(s.Win)

	export()
	test.Tap(overlayButton(s.Win, "Yes"))
	s.Wait()
	if b, _ := os.ReadFile(out); string(b) == "old" || len(b) < 100 {
		t.Fatalf("the file was not replaced after Yes: %q (status %q)", b, s.editor.status.Text)
	}
	devCloseOverlays(s.Win)

	fresh := filepath.Join(filepath.Dir(out), "new.suit")
	out = fresh
	export()
	s.Wait()
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("a new file was not written without a question: %v; overlay %q", err, devOverlayText(s.Win))
	}
}
