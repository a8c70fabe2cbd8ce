package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/transport"
)

// newTestPushView builds a window holding the simulator view and the push view, as the studio's
// tabs would. The port list has the built-in simulator only (no enumeration of the machine's ports).
func newTestPushView(t *testing.T, extra ...transport.PortInfo) (*PushView, *SimulatorView, fyne.Window, *int) {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("push")
	sim := NewSimulatorView(w, SimulatorOptions{TrustKey: filepath.Join(devVectors, "public_key.pem")})
	sim.pace.SetSelected(SimPaceInstant)
	shown := new(int)
	pv := NewPushView(w, PushViewOptions{
		Simulator:       sim,
		OnSimulatorPush: func() { *shown++ },
		ListPorts: func() ([]transport.PortInfo, error) {
			return append([]transport.PortInfo{{Name: app.SimulatorPort, Product: "SUIT Studio simulated Class 1 device"}}, extra...), nil
		},
	})
	pv.Wait() // the port list is read in the background
	w.SetContent(container.NewHSplit(pv.Content, sim.Content))
	w.Resize(fyne.NewSize(1400, 900))
	t.Cleanup(func() { pv.Cancel(); pv.Wait(); sim.Stop(); sim.Play(); sim.Wait() })
	return pv, sim, w, shown
}

func devWriteFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func devLogHas(pv *PushView, parts ...string) bool {
	_, ok := devFind(pv.Log(), parts...)
	return ok
}

// Pushing to the built-in simulator: the simulator is listed first, the upload reaches 100%, the
// device applies the envelope, the log gives the bytes, the throughput and the verdict, the
// image list shows the installed manifest, and the simulator view shows the device's steps.
func TestDevPushSimulator(t *testing.T) {
	pv, sim, w, shown := newTestPushView(t)
	if n := pv.portCount(); n != 1 {
		t.Fatalf("%d ports listed", n)
	}
	pv.portList.Select(0)
	if pv.portEntry.Text != app.SimulatorPort || !strings.Contains(pv.portInfo.Text, "Built-in simulator") {
		t.Fatalf("port %q, info %q", pv.portEntry.Text, pv.portInfo.Text)
	}
	pv.fileEntry.SetText(devWriteFile(t, "ex0.hex", []byte(devEx0Real)))
	test.Tap(pv.pushBtn)
	pv.Wait()
	sim.Wait()

	// The push view stays (its progress is what the user watches); a button shows the simulator.
	if *shown != 0 {
		t.Errorf("the push switched to the simulator by itself (%d times)", *shown)
	}
	if !pv.watchBtn.Visible() {
		t.Error("no button to watch the device in the simulator")
	}
	test.Tap(pv.watchBtn)
	if *shown != 1 {
		t.Errorf("Watch it in the simulator: OnSimulatorPush called %d times", *shown)
	}
	if pv.progress.Value != 1 {
		t.Errorf("progress %v, want 1", pv.progress.Value)
	}
	if !strings.Contains(pv.speed.Text, "0.2 of 0.2 KB") || !strings.Contains(pv.speed.Text, "KB/s") {
		t.Errorf("speed %q", pv.speed.Text)
	}
	if !devLogHas(pv, "sent 237 bytes in", "KB/s") || !devLogHas(pv, "device: applied: the device runs version 0") {
		t.Errorf("log:\n%s", strings.Join(pv.Log(), "\n"))
	}
	if !strings.Contains(pv.images.Text, "slot 0: version 0 · hash 4239fd4f") || !strings.Contains(pv.images.Text, "active") {
		t.Errorf("images %q", pv.images.Text)
	}
	devScreenshot(t, w, "push-simulator")
	rows := sim.StepRows()
	for _, want := range [][]string{{"stage envelope", "237 bytes"}, {"verify signature", "PASS"}, {"commit"}, {"boot", "reset"}} {
		if _, ok := devFind(rows, want...); !ok {
			t.Errorf("simulator steps lack %q:\n%s", want, strings.Join(rows, "\n"))
		}
	}
	if v := sim.Verdict(); !strings.HasPrefix(v, "Applied") || !strings.Contains(v, "After the reset: Reset: the device boots") {
		t.Errorf("simulator verdict %q", v)
	}
	if pv.pushBtn.Disabled() || !pv.cancelBtn.Disabled() {
		t.Error("buttons not back to idle: Push should be enabled, Cancel disabled")
	}

	// The image list on demand.
	pv.images.SetText("")
	test.Tap(pv.imagesBtn)
	pv.Wait()
	if !strings.Contains(pv.images.Text, "version 0") {
		t.Errorf("image list %q", pv.images.Text)
	}
}

// The device refuses the draft's example 0 (placeholder digest): the refusal is a verdict in the
// log and in the simulator view, not an error dialog.
func TestDevPushSimulatorRefused(t *testing.T) {
	pv, sim, w, _ := newTestPushView(t)
	pv.portEntry.SetText(app.SimulatorPort)
	pv.fileEntry.SetText(filepath.Join(devVectors, "example0.hex"))
	test.Tap(pv.pushBtn)
	pv.Wait()
	sim.Wait()
	if pv.progress.Value != 1 {
		t.Errorf("progress %v", pv.progress.Value)
	}
	if !devLogHas(pv, "device: refused:", "payload digest mismatch") {
		t.Errorf("log:\n%s", strings.Join(pv.Log(), "\n"))
	}
	if !strings.HasPrefix(sim.Verdict(), "Refused") {
		t.Errorf("simulator verdict %q", sim.Verdict())
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Errorf("a refusal opened a dialog: %q", devOverlayText(w))
	}
}

// A device served over a real pseudo-terminal (as `suit sim serve --pty` does): the push view
// opens it as a serial port by path, at 115200 baud.
func TestDevPushPty(t *testing.T) {
	sess, _, err := app.NewSimSession(app.SimProvisioning{
		TrustPEM: [][]byte{devReadFile(t, filepath.Join(devVectors, "public_key.pem"))}, VendorDomain: "arm.com", Model: "suit",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	port, stop := devPtyServer(t, sess)
	pv, _, _, shown := newTestPushView(t, transport.PortInfo{Name: port, IsUSB: true, VID: "2fe3", PID: "0100", Product: "Zephyr SMP board", SerialNumber: "42"})
	if n := pv.portCount(); n != 2 {
		t.Fatalf("%d ports", n)
	}
	pv.portList.Select(1)
	if !strings.Contains(pv.portInfo.Text, "Zephyr SMP board · USB 2fe3:0100 SN 42") {
		t.Errorf("port info %q", pv.portInfo.Text)
	}
	pv.fileEntry.SetText(devWriteFile(t, "ex0.suit", devEx0RealBytes(t)))
	test.Tap(pv.pushBtn)
	pv.Wait()
	if *shown != 0 {
		t.Error("a push to a serial port showed the simulator")
	}
	stop() // the device may still be rebooting after the reset's reply
	if pv.progress.Value != 1 || !devLogHas(pv, "at 115200 baud") || !devLogHas(pv, "device: applied") {
		t.Fatalf("progress %v, log:\n%s", pv.progress.Value, strings.Join(pv.Log(), "\n"))
	}
	if _, digest, ok := sess.Device.Installed(); !ok || !bytes.HasPrefix(digest, []byte{0x42, 0x39, 0xfd, 0x4f}) {
		t.Errorf("the device behind the pty did not install the manifest: %x", digest)
	}
}

// Cancel stops a slow upload with a clear message and a hint; the next push goes through.
func TestDevPushCancel(t *testing.T) {
	pv, _, w, _ := newTestPushView(t)
	pv.portEntry.SetText(app.SimulatorPort)
	// 32 KiB that start like an envelope: the upload does not care, the device refuses it at
	// confirm. At 38400 baud the upload takes over 10 s; Cancel comes after its first chunk.
	big := append([]byte{0xd8, 0x6b, 0xa2}, bytes.Repeat([]byte{0x55}, 32<<10)...)
	pv.fileEntry.SetText(devWriteFile(t, "big.suit", big))
	pv.baud.SetSelected("38400")
	test.Tap(pv.pushBtn)
	if pv.cancelBtn.Disabled() || !pv.pushBtn.Disabled() {
		t.Fatal("buttons not in pushing state")
	}
	deadline := time.Now().Add(20 * time.Second)
	for pv.progressValue() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	test.Tap(pv.cancelBtn)
	pv.Wait()
	if pv.progressValue() >= 1 {
		t.Fatal("the upload finished before Cancel: make the envelope larger")
	}
	if !devLogHas(pv, "failed:", "canceled") {
		t.Errorf("log:\n%s", strings.Join(pv.Log(), "\n"))
	}
	if msg := devOverlayText(w); !strings.Contains(msg, "pushing again resumes") {
		t.Errorf("dialog %q", msg)
	}
	devCloseOverlays(w)

	pv.baud.SetSelected("1000000")
	test.Tap(pv.pushBtn)
	pv.Wait()
	if pv.progressValue() != 1 || !devLogHas(pv, "device: refused") {
		t.Errorf("retry: progress %v, log:\n%s", pv.progressValue(), strings.Join(pv.Log(), "\n"))
	}
}

// Missing input: a dialog that says what to do.
func TestDevPushErrors(t *testing.T) {
	pv, _, w, _ := newTestPushView(t)
	test.Tap(pv.pushBtn)
	if msg := devOverlayText(w); !strings.Contains(msg, "no port chosen") || !strings.Contains(msg, "What to do: choose a port") {
		t.Errorf("dialog %q", msg)
	}
	devCloseOverlays(w)
	pv.portEntry.SetText(app.SimulatorPort)
	test.Tap(pv.pushBtn)
	if msg := devOverlayText(w); !strings.Contains(msg, "no file chosen") {
		t.Errorf("dialog %q", msg)
	}
	devCloseOverlays(w)
	pv.fileEntry.SetText(filepath.Join(t.TempDir(), "missing.suit"))
	test.Tap(pv.pushBtn)
	pv.Wait()
	if msg := devOverlayText(w); !strings.Contains(msg, "missing.suit") || !strings.Contains(msg, "check the file name") {
		t.Errorf("dialog %q", msg)
	}
}

func (v *PushView) progressValue() float64 {
	var f float64
	devDoAndWait(func() { f = v.progress.Value })
	return f
}

func devReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// devPtyServer serves the session's device over SMP on the master side of a raw pseudo-terminal
// and returns the path of its slave side, the way `suit sim serve --pty` does, and a func that
// stops the server (so that the test may read the device).
func devPtyServer(t *testing.T, s *app.SimSession) (string, func()) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &transport.Server{Device: s.SMP()}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, master); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			master.Close()
			slave.Close()
			<-done
		})
	}
	t.Cleanup(stop)
	return slave.Name(), stop
}
