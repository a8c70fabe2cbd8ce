package ui

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/assets"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

const vectors = "../../shared/spec/vectors"

func newTestStudio(t *testing.T) *Studio {
	t.Helper()
	a := test.NewTempApp(t)
	s := New(a, &app.State{Dir: t.TempDir()})
	s.Win.Resize(fyne.NewSize(1200, 800))
	s.useTrustDir(filepath.Join(t.TempDir(), "trust")) // each test its own trust store
	// No background work of the constructor may still be running when the test starts to act:
	// the test driver runs completions on their own goroutines.
	s.Wait()
	return s
}

func typeShortcut(s *Studio, sc fyne.Shortcut) {
	s.Win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(sc)
}

// The whole flow of the issue: new from template -> set vendor domain -> drop an image -> no
// validation errors -> sign -> export -> reopen -> the inspector verifies with the public key.
func TestFlowTemplateToVerifiedEnvelope(t *testing.T) {
	s := newTestStudio(t)
	dir := t.TempDir()

	// New from the "download, install and boot" template, through the start screen's button.
	var tapped bool
	for _, b := range s.start.templates {
		if b.Text == "Download, install and boot (severed)" {
			test.Tap(b)
			tapped = true
		}
	}
	if !tapped {
		t.Fatal("no template button")
	}
	if s.tabs.SelectedIndex() != 1 {
		t.Fatal("the editor is not shown after choosing a template")
	}

	// Set the vendor domain and model with the manifest form's helper.
	s.editor.Select(pathManifest)
	test.Type(s.editor.identityDomain, "example.com")
	test.Type(s.editor.identityModel, "sensor-v2")
	test.Tap(s.editor.identitySet)
	vendor, class := app.Identity(s.doc.Envelope())
	wantClass, _ := model.ClassID(model.VendorID("example.com"), "sensor-v2")
	if !bytes.Equal(vendor, model.VendorID("example.com")) || !bytes.Equal(class, wantClass) {
		t.Fatalf("identity = %x / %x", vendor, class)
	}

	// Drop a firmware image on the component, carried as an integrated payload.
	img := filepath.Join(dir, "sensor-v2.bin")
	if err := os.WriteFile(img, assets.DemoFirmwareV2, 0o644); err != nil {
		t.Fatal(err)
	}
	s.editor.Select(pathComponents + "/0")
	s.editor.imageIntegrate = true
	s.editor.dropImage(img)
	s.Wait()
	dg, size, _ := app.ImageOf(s.doc.Envelope(), 0)
	want, _ := suit.Digest(model.AlgSHA256, assets.DemoFirmwareV2)
	if dg == nil || !bytes.Equal(dg.Bytes, want.Bytes) || size != uint64(len(assets.DemoFirmwareV2)) {
		t.Fatalf("image digest/size not set: %+v %d", dg, size)
	}
	if n := s.doc.Errors(); n != 0 {
		t.Fatalf("%d validation errors: %v", n, s.doc.Findings())
	}
	if !strings.HasPrefix(s.Win.Title(), "*") {
		t.Errorf("title %q lacks the modified marker", s.Win.Title())
	}

	// Sign with the spec's example key and export the envelope.
	out := filepath.Join(dir, "sensor-v2.suit")
	var signErr error
	s.SignAndExport(SignRequest{KeyRef: filepath.Join(vectors, "private_key.pem"), Kind: exportEnvelope, Path: out}, func(err error) { signErr = err })
	s.Wait()
	if signErr != nil {
		t.Fatal(signErr)
	}
	if env := s.doc.Envelope(); env.Auth == nil || len(env.Auth.Blocks) != 1 {
		t.Fatal("the document does not carry the signature")
	}
	// Save the document (so that reopening does not ask about unsaved changes).
	s.saveTo(filepath.Join(dir, "sensor-v2.suit.yaml"), app.FormatSource)
	if s.doc.Modified() || strings.HasPrefix(s.Win.Title(), "*") {
		t.Fatal("still modified after save")
	}

	// Reopen the exported envelope and verify it in the inspector with the public key.
	s.OpenFile(out)
	s.Wait()
	if s.doc.Path() != out || s.doc.Format() != app.FormatEnvelope {
		t.Fatalf("reopened %q as %v", s.doc.Path(), s.doc.Format())
	}
	s.AddTrustedKey(filepath.Join(vectors, "public_key.pem"))
	s.Wait()
	s.ShowView(ViewInspector)
	s.Wait()
	if !strings.HasPrefix(s.inspector.verdictTitle, "Authentic") {
		t.Fatalf("inspector verdict: %q", s.inspector.verdictTitle)
	}
	// The exported file has the integrated payload and passes the codec's own verification.
	data, _ := os.ReadFile(out)
	env, err := suit.Decode(data)
	if err != nil || len(env.Integrated) != 1 || !bytes.Equal(env.Integrated[0].Data, assets.DemoFirmwareV2) {
		t.Fatalf("exported envelope: %v", err)
	}
}

func TestUndoRedoShortcutsAndTitle(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(pathManifest)
	before := s.doc.Envelope().Manifest.SequenceNumber
	// The Last+1 helper proposes the next sequence number.
	var plus *widget.Button
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Last + 1" {
			plus = b
		}
	})
	if plus == nil {
		t.Fatal("no Last + 1 button")
	}
	test.Tap(plus)
	if got := s.doc.Envelope().Manifest.SequenceNumber; got != before+1 {
		t.Fatalf("sequence number %d, want %d", got, before+1)
	}
	if !strings.HasPrefix(s.Win.Title(), "*Untitled") {
		t.Errorf("title %q", s.Win.Title())
	}
	typeShortcut(s, shortcutUndo)
	if got := s.doc.Envelope().Manifest.SequenceNumber; got != before {
		t.Fatalf("after Ctrl+Z: %d, want %d", got, before)
	}
	typeShortcut(s, shortcutRedo)
	if got := s.doc.Envelope().Manifest.SequenceNumber; got != before+1 {
		t.Fatalf("after Ctrl+Shift+Z: %d, want %d", got, before+1)
	}
	// Switching views by keyboard.
	typeShortcut(s, shortcutView3)
	s.Wait()
	if s.tabs.SelectedIndex() != 2 {
		t.Error("Ctrl+3 does not show the inspector")
	}
	typeShortcut(s, shortcutView1)
	if s.tabs.SelectedIndex() != 0 {
		t.Error("Ctrl+1 does not show the start screen")
	}
}

func TestCommandEditing(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	install := pathManifest + "/install"
	s.editor.Select(install)
	if s.editor.Selected() != install {
		t.Fatalf("selected %q", s.editor.Selected())
	}
	// Add an invoke command through the picker.
	for _, o := range s.editor.addCommandPick.Options {
		if strings.HasPrefix(o, "invoke - ") {
			s.editor.addCommandPick.SetSelected(o)
		}
	}
	test.Tap(s.editor.addCommandButton)
	seq := s.doc.Envelope().Manifest.Install.Seq
	if n := len(seq.Commands); n != 4 || seq.Commands[3].Label != model.DirInvoke || seq.Commands[3].Policy != 2 {
		t.Fatalf("install = %+v", seq.Commands)
	}
	if s.editor.Selected() != install+"/3/invoke" {
		t.Fatalf("new command not selected: %q", s.editor.Selected())
	}
	// Its reporting policy: tick "send a record on success".
	var record *widget.Check
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && c.Text == "send a record on success" {
			record = c
		}
	})
	test.Tap(record)
	if p := s.doc.Envelope().Manifest.Install.Seq.Commands[3].Policy; p != 3 {
		t.Fatalf("policy = %d, want 3", p)
	}
	// Add a parameter to the override-parameters of install: image-size, then type a value.
	s.editor.Select(install + "/0/override-parameters")
	for _, o := range s.editor.addParamPick.Options {
		if strings.HasPrefix(o, "image-size - ") {
			s.editor.addParamPick.SetSelected(o)
		}
	}
	test.Tap(s.editor.addParamButton)
	ps := s.doc.Envelope().Manifest.Install.Seq.Commands[0].Params
	if len(ps) != 2 || ps[1].Label != model.ParamImageSize || ps[1].Value.Kind != model.KindUint {
		t.Fatalf("params = %+v", ps)
	}
	// Findings link to the element: select a finding's path.
	s.editor.Select("envelope/manifest/install/0/override-parameters/image-size")
	if s.editor.Selected() != install+"/0/override-parameters" {
		t.Fatalf("finding path selects %q", s.editor.Selected())
	}
	// Undo removes the parameter again.
	typeShortcut(s, shortcutUndo)
	if n := len(s.doc.Envelope().Manifest.Install.Seq.Commands[0].Params); n != 1 {
		t.Fatalf("after undo: %d params", n)
	}
}

func TestTreeCoversExample3TryEach(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example3(), s.State))
	tr := s.editor.model
	shared := tr.children(pathShared)
	var tryEach string
	for _, c := range shared {
		if strings.HasSuffix(c, "/try-each") {
			tryEach = c
		}
	}
	if tryEach == "" {
		t.Fatalf("no try-each in %v", shared)
	}
	alts := tr.children(tryEach)
	if len(alts) != 2 || tr.kind(alts[0]) != nodeSequence {
		t.Fatalf("alternatives: %v", alts)
	}
	cmds := tr.children(alts[1])
	if len(cmds) == 0 || tr.kind(cmds[0]) != nodeCommand {
		t.Fatalf("commands of alternative 2: %v", cmds)
	}
	// The form of a command inside an alternative edits the right command.
	s.editor.Select(cmds[0])
	if got := tr.label(cmds[0]); !strings.HasPrefix(got, "override-parameters") {
		t.Errorf("label %q", got)
	}
}

func TestInspectorLinksBytesAndTree(t *testing.T) {
	s := newTestStudio(t)
	b, _ := os.ReadFile(filepath.Join(vectors, "example2.hex"))
	data, _ := app.DecodeHexText(b)
	s.inspector.Inspect(data, "example2")
	s.Wait()
	if s.inspector.in == nil {
		t.Fatal("nothing inspected")
	}
	if !s.inspector.SelectPath("envelope/manifest/common") {
		t.Fatal("cannot select common")
	}
	if r := s.inspector.hexRange; r[0] != 130 || r[1] != 227 {
		t.Fatalf("common highlights bytes %v, want [130 227)", r)
	}
	// ... and its lines in the diagnostic notation, from "/ common / 3:<< {" to its "} >>".
	nl := s.inspector.noteLines
	lines := s.inspector.listing.Lines
	if nl[0] < 0 || !strings.Contains(lines[nl[0]], "/ common /") || !strings.Contains(lines[nl[1]], "}") || nl[1]-nl[0] < 5 {
		t.Fatalf("common highlights notation lines %v: %q .. %q", nl, lines[max(nl[0], 0)], lines[max(nl[1], 0)])
	}
	// Tapping a notation line selects what it shows.
	for i, l := range lines {
		if strings.Contains(l, "/ reference-uri /") {
			s.inspector.notation.onTap(i, 4)
			break
		}
	}
	if s.inspector.selected == nil || s.inspector.selected.Path != "envelope/manifest/reference-uri" {
		t.Fatalf("tap on the reference-uri line selects %+v", s.inspector.selected)
	}
	if r := s.inspector.hexRange; r[0] >= 235 || r[1] <= 235 {
		t.Fatalf("the reference URI highlights bytes %v", r)
	}
	// Tapping the bytes of the reference URI selects it.
	row, col := app.HexCell(235)
	s.inspector.hex.onTap(row, col)
	if s.inspector.selected == nil || s.inspector.selected.Path != "envelope/manifest/reference-uri" {
		t.Fatalf("tap at byte 235 selects %+v", s.inspector.selected)
	}
	if !strings.HasPrefix(s.inspector.verdictTitle, "Not verified") {
		t.Errorf("without trusted keys the verdict is %q", s.inspector.verdictTitle)
	}
}

func TestQuitAsksWithUnsavedChanges(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example0(), s.State))
	s.doc.Apply("x", func(env *model.Envelope) { env.Manifest.SequenceNumber = 5 })
	closed := false
	s.Win.SetOnClosed(func() { closed = true })
	s.quit()
	if closed {
		t.Fatal("quit closed the window without asking")
	}
	// A dialog is showing in the overlay.
	if s.Win.Canvas().Overlays().Top() == nil {
		t.Fatal("no confirmation dialog")
	}
}

func TestDemoDocumentIsValid(t *testing.T) {
	doc := DemoDocument(nil)
	if n := doc.Errors(); n != 0 {
		t.Fatalf("demo document has %d errors: %v", n, doc.Findings())
	}
	if _, err := doc.Encode(); err != nil {
		t.Fatal(err)
	}
}

func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	f(o)
	switch c := o.(type) {
	case *fyne.Container:
		for _, k := range c.Objects {
			walk(k, f)
		}
	case fyne.Widget:
		r := test.WidgetRenderer(c)
		for _, k := range r.Objects() {
			walk(k, f)
		}
	}
}

func TestExportKinds(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	dir := t.TempDir()
	key := filepath.Join(vectors, "private_key.pem")
	sizes := map[string]int{}
	for _, kind := range exportKinds {
		if kind == exportCMS {
			continue // the CMS dialog's own flow: TestExportCMSAndInspect
		}
		out := filepath.Join(dir, "demo"+exportExt(kind))
		var gotErr error
		s.SignAndExport(SignRequest{KeyRef: key, Kind: kind, Path: out}, func(err error) { gotErr = err })
		s.Wait()
		if gotErr != nil {
			t.Fatalf("%s: %v", kind, gotErr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sizes[kind] = len(b)
		switch kind {
		case exportEnvelope, exportSevered:
			v, _, err := app.VerifyWithFiles(b, []string{filepath.Join(vectors, "public_key.pem")})
			if err != nil || !v.Authentic {
				t.Fatalf("%s does not verify: %v %+v", kind, err, v)
			}
		case exportDiag:
			if !strings.Contains(string(b), "authentication-wrapper") {
				t.Errorf("diag export lacks annotations")
			}
		case exportCHeader:
			if !strings.Contains(string(b), "static const uint8_t demo[") {
				t.Errorf("C header:\n%.200s", b)
			}
		case exportSource:
			if _, err := suit.ParseSource(b, dir); err != nil {
				t.Errorf("source export does not parse: %v", err)
			}
		}
	}
	// The demo severs its text: the severed envelope leaves it out.
	if sizes[exportSevered] >= sizes[exportEnvelope] {
		t.Errorf("severed envelope %d bytes, full %d", sizes[exportSevered], sizes[exportEnvelope])
	}
}
