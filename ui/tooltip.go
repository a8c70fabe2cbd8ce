package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Fyne 2.7 has no tooltips: toolbar buttons are bare icons. tipAction is a toolbar item whose
// button shows what it does (and its shortcut) in a small pop-up under it while the pointer
// rests on it.

// tipDelay is how long the pointer rests on a button before its tip shows.
var tipDelay = 500 * time.Millisecond

// tipAction is a toolbar action with a tooltip.
type tipAction struct {
	icon fyne.Resource
	tip  string
	do   func()
	win  fyne.Window
	btn  *tipButton
}

func newTipAction(win fyne.Window, icon fyne.Resource, tip string, do func()) *tipAction {
	return &tipAction{icon: icon, tip: tip, do: do, win: win}
}

// ToolbarObject implements widget.ToolbarItem.
func (a *tipAction) ToolbarObject() fyne.CanvasObject {
	if a.btn == nil {
		a.btn = newTipButton(a.win, a.icon, a.tip, a.do)
	}
	return a.btn
}

// tipButton is an icon button that shows its tip while hovered.
type tipButton struct {
	widget.Button
	tip   string
	win   fyne.Window
	popup *widget.PopUp
	hover int // bumped by each MouseIn and MouseOut: a pending tip shows only if still hovered
}

func newTipButton(win fyne.Window, icon fyne.Resource, tip string, do func()) *tipButton {
	b := &tipButton{tip: tip, win: win}
	b.Icon = icon
	b.OnTapped = do
	b.Importance = widget.LowImportance
	b.ExtendBaseWidget(b)
	return b
}

// MouseIn starts the tip's delay.
func (b *tipButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	b.hover++
	h := b.hover
	if tipDelay <= 0 {
		b.showTip()
		return
	}
	time.AfterFunc(tipDelay, func() {
		fyne.Do(func() {
			if b.hover == h {
				b.showTip()
			}
		})
	})
}

// MouseOut hides the tip.
func (b *tipButton) MouseOut() {
	b.Button.MouseOut()
	b.hover++
	b.hideTip()
}

// Tapped hides the tip and acts.
func (b *tipButton) Tapped(e *fyne.PointEvent) {
	b.hover++
	b.hideTip()
	b.Button.Tapped(e)
}

func (b *tipButton) showTip() {
	if b.win == nil || b.tip == "" {
		return
	}
	if b.popup == nil {
		l := widget.NewLabel(b.tip)
		b.popup = widget.NewPopUp(l, b.win.Canvas())
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
	pos = pos.AddXY(0, b.Size().Height+theme.Padding())
	// Keep it inside the window.
	if w := b.win.Canvas().Size().Width; pos.X+b.popup.MinSize().Width > w {
		pos.X = max(0, w-b.popup.MinSize().Width)
	}
	b.popup.ShowAtPosition(pos)
}

func (b *tipButton) hideTip() {
	if b.popup != nil {
		b.popup.Hide()
	}
}

// Tip is the tooltip text (tests).
func (b *tipButton) Tip() string { return b.tip }

// tipShown tells whether the tip is showing (tests).
func (b *tipButton) tipShown() bool { return b.popup != nil && b.popup.Visible() }
