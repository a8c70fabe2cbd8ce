package ui

import (
	"fyne.io/fyne/v2"

	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/assets"
	"github.com/suit-studio/suit-studio/model"
)

// Ctrl+R with the user's own vendor and class IDs, set without text that names them (as a YAML
// source or another tool makes them): the device is provisioned with the document's IDs, not
// arm.com / suit, the run applies, and the simulator says where its provisioning came from.
func TestSendToSimulatorProvisionsDocumentIDs(t *testing.T) {
	s := newTestStudio(t)
	env := model.TemplateByID("download-install-boot").New()
	env.Manifest.Install.Severed = false
	env.Manifest.ReferenceURI = nil
	env.Manifest.Text = model.SeverableText{}
	if err := app.SetIdentity(env, "example.com", "sensor-v2"); err != nil {
		t.Fatal(err)
	}
	if err := app.SetImage(env, 0, assets.DemoFirmwareV1, app.ImageSource{Integrate: true, Name: "fw.bin"}); err != nil {
		t.Fatal(err)
	}
	s.SetDocument(app.NewDocument(env, s.State))
	s.sim.pace.SetSelected(SimPaceInstant)
	t.Cleanup(func() { s.sim.Stop(); s.sim.Play(); s.sim.Wait() })
	s.rememberKey(fileKey(t))
	pressKeys(s, fyne.KeyR, fyne.KeyModifierControl)
	s.Wait()
	s.sim.Wait()
	if v := s.sim.Verdict(); !strings.HasPrefix(v, "Applied") {
		t.Fatalf("verdict %q (device provisioned as %q / %q)", v, s.sim.vendorEntry.Text, s.sim.modelEntry.Text)
	}
	vendor, class := app.Identity(s.doc.Envelope())
	if s.sim.vendorEntry.Text != model.FormatUUID(vendor) || s.sim.modelEntry.Text != model.FormatUUID(class) {
		t.Errorf("provisioned for %q / %q", s.sim.vendorEntry.Text, s.sim.modelEntry.Text)
	}
	if !s.sim.provNote.Visible() || !strings.Contains(s.sim.provNote.Text, "from the open document") {
		t.Errorf("the simulator does not say where the provisioning came from: %q", s.sim.provNote.Text)
	}
}

func TestDeviceIDsFromNamesOrUUIDs(t *testing.T) {
	v := model.VendorID("example.com")
	c, _ := model.ClassID(v, "sensor")
	for _, tc := range [][2]string{{"example.com", "sensor"}, {model.FormatUUID(v), model.FormatUUID(c)}, {"example.com", model.FormatUUID(c)}} {
		gv, gc, err := deviceIDs(tc[0], tc[1])
		if err != nil || string(gv) != string(v) || string(gc) != string(c) {
			t.Errorf("%v: %x %x %v", tc, gv, gc, err)
		}
	}
	if _, _, err := deviceIDs("", "x"); err == nil {
		t.Error("no vendor accepted")
	}
}
