package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/assets"
	"github.com/suit-studio/suit-studio/model"
)

// findingFix is the Fix button of the findings list row that says msg ("" when none).
func findingFix(t *testing.T, s *Studio, msg string) *widget.Button {
	t.Helper()
	fs := s.editor.findingsList()
	for i, f := range fs {
		if !strings.Contains(f.Message, msg) {
			continue
		}
		row := s.editor.findings.CreateItem()
		s.editor.findings.UpdateItem(i, row)
		b := row.(*fyne.Container).Objects[2].(*widget.Button)
		if !b.Visible() {
			t.Fatalf("finding %q has no fix button", f.Message)
		}
		return b
	}
	t.Fatalf("no finding %q in %v", msg, fs)
	return nil
}

// The walk through: New from a template, set the vendor domain and an image. The vendor
// and model the IDs came from stay in the fields; the template's vendor text follows the IDs; the
// sample texts and reference URI are findings, each gone after its one-click fix.
func TestTemplateLeftoversFixedInOneClick(t *testing.T) {
	s := newTestStudio(t)
	s.NewFromTemplate(*model.TemplateByID("download-install-boot"))
	s.editor.Select(pathManifest)
	test.Type(s.editor.identityDomain, "example.com")
	test.Type(s.editor.identityModel, "sensor-v2")
	test.Tap(s.editor.identitySet)
	if s.editor.identityDomain.Text != "example.com" || s.editor.identityModel.Text != "sensor-v2" {
		t.Fatalf("after Set vendor and class IDs the fields say %q / %q", s.editor.identityDomain.Text, s.editor.identityModel.Text)
	}
	if d := app.TextOf(s.doc.Envelope().Manifest, 0, model.TextVendorDomain); d != "example.com" {
		t.Errorf("the text still names the vendor %q", d)
	}
	s.editor.Select(pathComponents + "/0")
	s.editor.imageIntegrate = true
	s.editor.SetImage(0, "fw.bin", assets.DemoFirmwareV1)
	// Back on the manifest form, the fields still say what the IDs came from.
	s.editor.Select(pathManifest)
	if s.editor.identityDomain.Text != "example.com" || s.editor.identityModel.Text != "sensor-v2" {
		t.Errorf("the manifest form's fields say %q / %q", s.editor.identityDomain.Text, s.editor.identityModel.Text)
	}

	test.Tap(findingFix(t, s, "reference URI"))
	if s.doc.Envelope().Manifest.ReferenceURI != nil {
		t.Error("the reference URI is still there")
	}
	for len(s.doc.Leftovers()) > 0 {
		l := s.doc.Leftovers()[0]
		n := len(s.doc.Leftovers())
		test.Tap(findingFix(t, s, l.Message))
		if len(s.doc.Leftovers()) != n-1 {
			t.Fatalf("the fix of %q did not remove it", l.Message)
		}
	}
	// A vendor text from elsewhere (a YAML source): its fix writes the domain the IDs came from.
	s.doc.Apply("edit", func(env *model.Envelope) {
		l := &env.Manifest.Text.Text.Languages[0]
		l.Components = []model.ComponentText{{Component: env.Manifest.Common.Components[0], Entries: []model.TextEntry{{Key: model.TextVendorDomain, Text: "arm.com"}}}}
	})
	test.Tap(findingFix(t, s, `names the vendor "arm.com"`))
	if d := app.TextOf(s.doc.Envelope().Manifest, 0, model.TextVendorDomain); d != "example.com" {
		t.Errorf("after the fix the vendor text is %q", d)
	}
	if n := len(s.doc.Leftovers()); n != 0 {
		t.Errorf("%d leftovers remain: %v", n, s.doc.Leftovers())
	}
}
