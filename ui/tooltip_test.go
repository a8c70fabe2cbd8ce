package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// Every toolbar button says what it does and its shortcut while the pointer rests on it; the
// sign button's icon is not the check mark (which reads as "validate").
func TestToolbarTooltips(t *testing.T) {
	old := tipDelay
	tipDelay = 0
	t.Cleanup(func() { tipDelay = old })
	s := newTestStudio(t)
	want := []string{"New from a template (Ctrl+N)", "Open a manifest or envelope (Ctrl+O)", "Save (Ctrl+S)", "Undo (Ctrl+Z)",
		"Redo (Ctrl+Y)", "Sign and export (Ctrl+E)", "Send to the simulator (Ctrl+R)"}
	if len(s.toolTips) != len(want) {
		t.Fatalf("%d toolbar buttons with tips, want %d", len(s.toolTips), len(want))
	}
	for i, a := range s.toolTips {
		if a.btn == nil {
			t.Fatalf("button %d is not in the toolbar", i)
		}
		if a.btn.Tip() != want[i] {
			t.Errorf("button %d tip %q, want %q", i, a.btn.Tip(), want[i])
		}
		a.btn.MouseIn(&desktop.MouseEvent{})
		if !a.btn.tipShown() || !strings.Contains(canvasText(s.Win.Canvas().Overlays().Top()), want[i]) {
			t.Errorf("hovering button %d shows no tip", i)
		}
		a.btn.MouseOut()
		if a.btn.tipShown() {
			t.Errorf("the tip of button %d stays after the pointer left", i)
		}
	}
	sign := s.toolTips[5].btn
	if sign.Icon.Name() == theme.ConfirmIcon().Name() {
		t.Error("sign and export still shows the check mark")
	}
	// A tap still acts (and hides the tip).
	sign.MouseIn(&desktop.MouseEvent{})
	test.Tap(sign)
	if sign.tipShown() || s.signForm == nil {
		t.Errorf("tap: tip shown %v, sign dialog %v", sign.tipShown(), s.signForm != nil)
	}
}
