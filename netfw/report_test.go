package netfw_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
)

// The device's signed SUIT report travels to the status tracker over CoAP and over HTTP; the
// tracker verifies it with the device's key and names each recorded step from the manifest it
// served, in the Simulator tab's words.
func TestReportsReachTheStatusTracker(t *testing.T) {
	dir := t.TempDir()
	img := testImage(21, 6000)
	writeFile(t, dir, "fw.bin", img)
	tr := app.NewTracker(dir)
	got := make(chan app.DeviceStatus, 4)
	tr.OnReport = func(s app.DeviceStatus) { got <- s }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, app.ServeOptions{Dir: dir, HTTPAddr: "127.0.0.1:0", CoAPAddr: "127.0.0.1:0", Tracker: tr,
			Ready: func(h, c net.Addr) { addrs <- [2]net.Addr{h, c} }})
	}()
	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}
	httpURL, coapURL := "http://"+a[0].String(), "coap://"+a[1].String()
	env := envelopeFor(t, coapURL+"/fw.bin", img, 9, "")
	writeFile(t, dir, "fw.suit", env)

	s := deviceFor(t)
	c := &netfw.Client{}
	rec, _ := update(t, s, env, c)
	if rec.Outcome != devicesim.Applied {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
	}
	signed, rep, err := s.SignedReport(rec, coapURL+"/fw.suit")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Success || len(rep.Records) == 0 {
		t.Fatalf("report: success %v, %d records", rep.Success, len(rep.Records))
	}
	// Unknown key first: received, but not verified.
	if err := app.SendReport(c, coapURL, signed); err != nil {
		t.Fatal(err)
	}
	st := <-got
	if st.Verified || !strings.Contains(st.Problem, "no trusted key") || st.Outcome != "applied" || st.Manifest != "fw.suit" {
		t.Fatalf("unknown device: %+v", st)
	}
	k, _, _ := s.ReportKey()
	if err := tr.Trust(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := app.SendReport(c, httpURL, signed); err != nil {
		t.Fatal(err)
	}
	st = <-got
	if !st.Verified || st.Proto != "HTTP/1.1" || st.Reports != 2 {
		t.Fatalf("known device: %+v", st)
	}
	joined := strings.Join(st.Steps, "\n")
	for _, want := range []string{"install", "fetch", "image-match", "vendor-identifier", "invoke"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("steps do not name %q:\n%s", want, joined)
		}
	}
	// A report signed by another device's key is not verified.
	other := deviceFor(t)
	forged, _, _ := other.SignedReport(rec, coapURL+"/fw.suit")
	if err := app.SendReport(c, httpURL, forged); err != nil {
		t.Fatal(err)
	}
	if st := <-got; st.Verified {
		t.Fatal("a report from an unknown key was verified")
	}
	// Garbage is refused by the tracker with a clear error.
	if err := app.SendReport(c, coapURL, []byte{0x01, 0x02}); err == nil || !strings.Contains(err.Error(), "4.00") && !strings.Contains(err.Error(), "BadRequest") {
		t.Fatalf("garbage report: %v", err)
	}
	if err := app.SendReport(c, httpURL, []byte{0x01}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("garbage report over HTTP: %v", err)
	}
	if n := len(tr.Devices()); n != 2 {
		t.Fatalf("tracker knows %d devices, want 2", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
