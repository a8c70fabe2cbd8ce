package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Sign and export of an untitled document offers a full path (in the home folder, not the folder
// the studio was started from), has a Choose… button for a save dialog, and a relative name
// typed by hand goes to that folder too.
func TestExportGoesToAFullPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	s.signDialog()
	f := s.signForm
	if !filepath.IsAbs(f.out.Text) || filepath.Dir(f.out.Text) != home {
		t.Fatalf("the export path offered is %q, want a full path in %s", f.out.Text, home)
	}
	if !strings.Contains(canvasText(s.Win.Canvas().Overlays().Top()), "Choose…") {
		t.Error("no Choose… button for a save dialog")
	}
	f.key.SetSelected(fileKey(t))
	f.out.SetText("relative.suit")
	f.submit()
	s.Wait()
	if _, err := os.Stat(filepath.Join(home, "relative.suit")); err != nil {
		t.Fatalf("a relative name was not written to the home folder: %v (status %q)", err, s.editor.status.Text)
	}
	if _, err := os.Stat("relative.suit"); err == nil {
		os.Remove("relative.suit")
		t.Fatal("the export went to the working folder")
	}
	if !strings.Contains(s.editor.status.Text, filepath.Join(home, "relative.suit")) {
		t.Errorf("the status does not give the full path: %q", s.editor.status.Text)
	}
}
