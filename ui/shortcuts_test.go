package ui

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/model"
)

// pressKeys does what Fyne's desktop (GLFW) driver does with a key pressed with modifiers
// (internal/driver/glfw/window.go, triggersShortcut): Ctrl+Z and Ctrl+Y become fyne.ShortcutUndo
// and fyne.ShortcutRedo, other combinations a desktop.CustomShortcut; a main menu item whose
// shortcut has the same name runs first, else the canvas gets it.
func pressKeys(s *Studio, key fyne.KeyName, mod fyne.KeyModifier) {
	var sc fyne.Shortcut = &desktop.CustomShortcut{KeyName: key, Modifier: mod}
	if mod == fyne.KeyModifierControl {
		switch key {
		case fyne.KeyZ:
			sc = &fyne.ShortcutUndo{}
		case fyne.KeyY:
			sc = &fyne.ShortcutRedo{}
		}
	}
	var run func(items []*fyne.MenuItem) bool
	run = func(items []*fyne.MenuItem) bool {
		for _, i := range items {
			if i.Shortcut != nil && i.Shortcut.ShortcutName() == sc.ShortcutName() && i.Action != nil {
				i.Action()
				return true
			}
			if i.ChildMenu != nil && run(i.ChildMenu.Items) {
				return true
			}
		}
		return false
	}
	for _, m := range s.Win.MainMenu().Items {
		if run(m.Items) {
			return
		}
	}
	typeShortcut(s, sc)
}

// Ctrl+Z undoes and Ctrl+Y / Ctrl+Shift+Z redo, as the Edit menu says, through the driver's own
// undo and redo shortcuts.
func TestUndoRedoKeys(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example0(), s.State))
	s.editor.Select(pathManifest)
	s.editor.apply("Set sequence number", func(env *model.Envelope) { env.Manifest.SequenceNumber = 42 }, "")
	pressKeys(s, fyne.KeyZ, fyne.KeyModifierControl)
	if got := s.doc.Envelope().Manifest.SequenceNumber; got != 0 {
		t.Fatalf("after Ctrl+Z the sequence number is %d, want 0", got)
	}
	pressKeys(s, fyne.KeyY, fyne.KeyModifierControl)
	if got := s.doc.Envelope().Manifest.SequenceNumber; got != 42 {
		t.Fatalf("after Ctrl+Y the sequence number is %d, want 42", got)
	}
	pressKeys(s, fyne.KeyZ, fyne.KeyModifierControl)
	pressKeys(s, fyne.KeyZ, fyne.KeyModifierControl|fyne.KeyModifierShift)
	if got := s.doc.Envelope().Manifest.SequenceNumber; got != 42 {
		t.Fatalf("after Ctrl+Shift+Z the sequence number is %d, want 42", got)
	}
}

// Every shortcut the menus list works when pressed as the driver delivers it.
func TestMenuShortcutsReachTheirActions(t *testing.T) {
	s := newTestStudio(t)
	for _, m := range s.Win.MainMenu().Items {
		for _, i := range m.Items {
			ks, ok := i.Shortcut.(fyne.KeyboardShortcut)
			if !ok {
				continue
			}
			mod := ks.Mod()
			if mod == fyne.KeyModifierShortcutDefault {
				mod = fyne.KeyModifierControl
			}
			var sc fyne.Shortcut = &desktop.CustomShortcut{KeyName: ks.Key(), Modifier: mod}
			if mod == fyne.KeyModifierControl && (ks.Key() == fyne.KeyZ || ks.Key() == fyne.KeyY) {
				continue // TestUndoRedoKeys
			}
			if sc.ShortcutName() != i.Shortcut.ShortcutName() {
				t.Errorf("%s > %s: the driver delivers %s, the menu waits for %s", m.Label, i.Label, sc.ShortcutName(), i.Shortcut.ShortcutName())
			}
		}
	}
}

// Ctrl+3 shows the inspector without throwing away the file it inspects; "Inspect the document"
// goes back to the document.
func TestInspectorKeepsFileOnViewSwitch(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example0(), s.State))
	b, err := os.ReadFile(filepath.Join(vectors, "example2.hex"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "example2.hex")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s.ShowView(ViewInspector)
	s.Wait()
	s.inspector.InspectFile(file)
	s.Wait()
	if s.inspector.in == nil || s.inspector.in.Tree.Find("envelope/text") == nil {
		t.Fatal("the file is not inspected")
	}
	want := len(s.inspector.in.Data)
	pressKeys(s, fyne.Key2, fyne.KeyModifierControl)
	s.Wait()
	s.doc.Apply("edit", func(env *model.Envelope) { env.Manifest.SequenceNumber = 7 })
	pressKeys(s, fyne.Key3, fyne.KeyModifierControl)
	s.Wait()
	if s.tabs.SelectedIndex() != 2 {
		t.Fatal("Ctrl+3 does not show the inspector")
	}
	if s.inspector.in == nil || len(s.inspector.in.Data) != want || s.inspector.file != file {
		t.Fatal("Ctrl+3 replaced the inspected file by the document")
	}
	s.inspector.inspectDocument()
	s.Wait()
	if s.inspector.in == nil || s.inspector.in.Tree.Find("envelope/text") != nil || s.inspector.in.Envelope.Manifest.SequenceNumber != 7 {
		t.Fatal("Inspect the document does not show the document")
	}
}
