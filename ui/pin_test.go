package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/signer"
)

// pinTimeout bounds every wait for a dialog or an answer, so that a broken dialog fails the test
// instead of hanging it.
const pinTimeout = 20 * time.Second

func newPINTestWindow(t *testing.T) (fyne.Window, *PINDialog, chan *pinPrompt) {
	t.Helper()
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel("studio"))
	w.Resize(fyne.NewSize(1000, 700))
	p := NewPINDialog(w)
	shown := make(chan *pinPrompt, 4)
	p.onShow = func(pr *pinPrompt) { shown <- pr }
	return w, p, shown
}

func waitPrompt(t *testing.T, shown chan *pinPrompt) *pinPrompt {
	t.Helper()
	select {
	case pr := <-shown:
		return pr
	case <-time.After(pinTimeout):
		t.Fatal("no PIN dialog was shown")
	}
	return nil
}

type pinResult struct {
	pin string
	err error
}

func askPIN(p *PINDialog, ctx context.Context, req signer.PINRequest) chan pinResult {
	got := make(chan pinResult, 1)
	go func() {
		pin, err := p.PIN(ctx, req)
		got <- pinResult{pin, err}
	}()
	return got
}

func waitResult(t *testing.T, got chan pinResult) pinResult {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(pinTimeout):
		t.Fatal("PIN call did not return")
	}
	return pinResult{}
}

// canvasText gathers the text of every label, entry and button under o.
func canvasText(o fyne.CanvasObject) string {
	var b strings.Builder
	walkObjects(o, func(o fyne.CanvasObject) bool {
		switch x := o.(type) {
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *widget.Button:
			b.WriteString(x.Text + "\n")
		case *widget.Entry:
			b.WriteString(x.Text + "\n")
		}
		return false
	})
	return b.String()
}

func TestPINDialogAnswersPINSource(t *testing.T) {
	w, p, shown := newPINTestWindow(t)
	got := askPIN(p, context.Background(), signer.PINRequest{Token: "fw-token", URI: "pkcs11:token=fw-token"})
	pr := waitPrompt(t, shown)
	if !pr.entry.Password {
		t.Error("the PIN entry does not hide what is typed")
	}
	text := canvasText(w.Canvas().Overlays().Top())
	if !strings.Contains(text, "fw-token") || strings.Contains(text, "Wrong PIN") {
		t.Errorf("dialog text:\n%s", text)
	}
	test.Type(pr.entry, "4711-pin")
	test.Tap(pr.ok)
	r := waitResult(t, got)
	if r.err != nil || r.pin != "4711-pin" {
		t.Fatalf("PIN = %q, %v", r.pin, r.err)
	}
	if pr.entry.Text != "" {
		t.Error("the entry still holds the PIN after use")
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Error("the dialog is still showing")
	}

	// Enter in the entry answers as well.
	got = askPIN(p, context.Background(), signer.PINRequest{Token: "fw-token"})
	pr = waitPrompt(t, shown)
	test.Type(pr.entry, "0000")
	pr.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if r := waitResult(t, got); r.err != nil || r.pin != "0000" {
		t.Fatalf("PIN after Enter = %q, %v", r.pin, r.err)
	}
}

func TestPINDialogRetryCancelAndContext(t *testing.T) {
	w, p, shown := newPINTestWindow(t)

	// A retry says the PIN was wrong; cancel returns ErrPINCancelled.
	got := askPIN(p, context.Background(), signer.PINRequest{Token: "fw-token", Retry: true})
	pr := waitPrompt(t, shown)
	if pr.message.Text != pinRetryText || !strings.Contains(canvasText(w.Canvas().Overlays().Top()), "Wrong PIN") {
		t.Errorf("retry message %q", pr.message.Text)
	}
	test.Type(pr.entry, "half-typed")
	test.Tap(pr.cancel)
	r := waitResult(t, got)
	if !errors.Is(r.err, ErrPINCancelled) || r.pin != "" {
		t.Fatalf("cancel = %q, %v", r.pin, r.err)
	}
	if pr.entry.Text != "" {
		t.Error("the entry keeps what was typed after cancel")
	}

	// The caller's context ends the prompt and closes the dialog.
	ctx, cancel := context.WithCancel(context.Background())
	got = askPIN(p, ctx, signer.PINRequest{Token: "fw-token"})
	waitPrompt(t, shown)
	cancel()
	if r := waitResult(t, got); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("after cancel: %q, %v", r.pin, r.err)
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Error("the dialog stays after the context ended")
	}
}

// A real token: the first PIN is wrong, the dialog comes back saying so, the second one logs in.
func TestPINDialogWrongPINOnToken(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-pin")
	_, p, shown := newPINTestWindow(t)
	uri := (&signer.URI{Token: "ui-pin", ModulePath: h.module}).String()

	type res struct {
		s   *signer.Session
		err error
	}
	done := make(chan res, 1)
	go func() {
		s, err := signer.OpenSession(uri, signer.LoadOptions{PIN: p, Getenv: noEnv})
		done <- res{s, err}
	}()
	pr := waitPrompt(t, shown)
	if pr.message.Text == pinRetryText {
		t.Error("the first prompt says the PIN was wrong")
	}
	test.Type(pr.entry, "not-the-pin")
	test.Tap(pr.ok)
	pr = waitPrompt(t, shown)
	if pr.message.Text != pinRetryText {
		t.Errorf("second prompt: %q", pr.message.Text)
	}
	test.Type(pr.entry, testUIPIN)
	test.Tap(pr.ok)
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.s.Token().Label != "ui-pin" {
			t.Errorf("logged in to %q", r.s.Token().Label)
		}
		r.s.Close()
	case <-time.After(pinTimeout):
		t.Fatal("login did not finish")
	}
}
