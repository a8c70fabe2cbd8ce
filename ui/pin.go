package ui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/signer"
)

// ErrPINCancelled is what a PINDialog returns when the user cancels: the login then fails with
// signer.ErrNoPIN wrapping it, and nothing is tried on the token.
var ErrPINCancelled = errors.New("PIN entry cancelled")

// PINDialog is the GUI's signer.PINSource: it asks for a token's user PIN in a dialog over a
// window. Pass it as signer.LoadOptions.PIN (or to NewKeyManager, ShowCMSExportDialog) so that
// tokens without a pin-source ask the person at the screen.
//
// PIN blocks until the user answers, so it must be called off the event goroutine: token work
// (login, key listing, signing) runs in the background anyway, and the dialog itself is shown
// through fyne.Do. Requests are served one at a time. The PIN goes to the caller and nowhere
// else: the entry is emptied as soon as it is read, and nothing logs or keeps it.
type PINDialog struct {
	win  fyne.Window
	busy chan struct{} // one dialog at a time

	// onShow, when set (tests), runs on the event goroutine once a prompt is showing.
	onShow func(*pinPrompt)
}

// pinPrompt is one showing PIN dialog.
type pinPrompt struct {
	dlg     *dialog.CustomDialog
	entry   *widget.Entry
	message *widget.Label
	ok      *widget.Button
	cancel  *widget.Button
}

// NewPINDialog returns a PIN source showing its dialogs over w.
func NewPINDialog(w fyne.Window) *PINDialog {
	return &PINDialog{win: w, busy: make(chan struct{}, 1)}
}

var _ signer.PINSource = (*PINDialog)(nil)

// pinRetryText is shown when the token refused the previous PIN.
const pinRetryText = "Wrong PIN: the token refused it. Type it again; after a few wrong PINs the token locks the PIN."

// PIN shows the dialog for req and returns the PIN typed, ErrPINCancelled when the user
// cancels, or ctx's error when ctx ends first (the dialog is then closed).
func (p *PINDialog) PIN(ctx context.Context, req signer.PINRequest) (string, error) {
	select {
	case p.busy <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-p.busy }()

	type answer struct {
		pin string
		err error
	}
	answers := make(chan answer, 1)
	var pr *pinPrompt
	fyne.DoAndWait(func() {
		pr = p.build(req, func(pin string, err error) {
			select {
			case answers <- answer{pin, err}:
			default: // already answered (double tap)
			}
		})
		pr.dlg.Show()
		p.win.Canvas().Focus(pr.entry)
		if p.onShow != nil {
			p.onShow(pr)
		}
	})
	select {
	case a := <-answers:
		return a.pin, a.err
	case <-ctx.Done():
		fyne.Do(func() {
			pr.entry.SetText("")
			pr.dlg.Hide()
		})
		return "", ctx.Err()
	}
}

// build makes the dialog for req; answer receives the PIN or ErrPINCancelled.
func (p *PINDialog) build(req signer.PINRequest, answer func(string, error)) *pinPrompt {
	pr := &pinPrompt{entry: widget.NewPasswordEntry()}
	pr.entry.SetPlaceHolder("user PIN")
	token := req.Token
	if token == "" {
		token = "(no label)"
	}
	text := fmt.Sprintf("The token %q needs its user PIN to continue.", token)
	if req.Retry {
		text = pinRetryText
	}
	pr.message = wrapLabel(text)
	if req.Retry {
		pr.message.Importance = widget.DangerImportance
	}
	submit := func() {
		pin := pr.entry.Text
		pr.entry.SetText("")
		pr.dlg.Hide()
		answer(pin, nil)
	}
	pr.entry.OnSubmitted = func(string) { submit() }
	pr.ok = widget.NewButtonWithIcon("Log in", theme.ConfirmIcon(), submit)
	pr.ok.Importance = widget.HighImportance
	pr.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		pr.entry.SetText("")
		pr.dlg.Hide()
		answer("", ErrPINCancelled)
	})
	where := widget.NewLabelWithStyle("Token: "+token, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	content := container.NewVBox(where, pr.message, pr.entry)
	if req.URI != "" {
		content.Add(widget.NewLabelWithStyle(req.URI, fyne.TextAlignLeading, fyne.TextStyle{Italic: true}))
	}
	pr.dlg = dialog.NewCustomWithoutButtons("PIN for "+token, content, p.win)
	pr.dlg.SetButtons([]fyne.CanvasObject{pr.cancel, pr.ok})
	pr.dlg.Resize(fyne.NewSize(480, 260))
	return pr
}
