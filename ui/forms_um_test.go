package ui

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

const umInstallParams = pathManifest + "/install/0/override-parameters"

// addParamByName adds a parameter with the parameter editor's picker (the form must show it).
func addParamByName(t *testing.T, s *Studio, name string) {
	t.Helper()
	found := false
	for _, o := range s.editor.addParamPick.Options {
		if strings.HasPrefix(o, name+" - ") {
			s.editor.addParamPick.SetSelected(o)
			found = true
		}
	}
	if !found {
		t.Fatalf("no parameter %q in the picker", name)
	}
	test.Tap(s.editor.addParamButton)
}

// addCommandByName adds a command with the sequence form's picker.
func addCommandByName(t *testing.T, s *Studio, name string) {
	t.Helper()
	found := false
	for _, o := range s.editor.addCommandPick.Options {
		if strings.HasPrefix(o, name+" - ") {
			s.editor.addCommandPick.SetSelected(o)
			found = true
		}
	}
	if !found {
		t.Fatalf("no command %q in the palette", name)
	}
	test.Tap(s.editor.addCommandButton)
}

func installParam(t *testing.T, env *model.Envelope, label int64) model.Value {
	t.Helper()
	for _, p := range env.Manifest.Install.Seq.Commands[0].Params {
		if p.Label == label {
			return p.Value
		}
	}
	t.Fatalf("no parameter %s in install", model.ParamName(label))
	return model.Value{}
}

// reencoded encodes the document with codec/suit and decodes it again: what a device would get.
func reencoded(t *testing.T, s *Studio) (*model.Envelope, []byte) {
	t.Helper()
	b, err := suit.Encode(s.doc.Envelope())
	if err != nil {
		t.Fatal(err)
	}
	env, err := suit.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return env, b
}

func findEntry(o fyne.CanvasObject, placeholder string) *widget.Entry {
	var out *widget.Entry
	walk(o, func(o fyne.CanvasObject) {
		if en, ok := o.(*widget.Entry); ok && out == nil && en.PlaceHolder == placeholder {
			out = en
		}
	})
	return out
}

func TestUMVersionEditor(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(umInstallParams)
	addParamByName(t, s, "version")
	s.editor.umVersionType.SetSelected("greater-equal")
	s.editor.umVersionEntry.SetText("1.2.3")
	// SUIT_Parameter_Version_Match = [2 (greater-equal), [1, 2, 3]].
	want := "820283010203"
	if v := installParam(t, s.doc.Envelope(), model.ParamVersion); hex.EncodeToString(v.Bytes) != want {
		t.Fatalf("version = %x, want %s", v.Bytes, want)
	}
	env, b := reencoded(t, s)
	// In the envelope: 28 => bstr .cbor [...] = 18 1c 46 82 02 83 01 02 03.
	if !bytes.Contains(b, []byte{0x18, 0x1c, 0x46, 0x82, 0x02, 0x83, 0x01, 0x02, 0x03}) {
		t.Fatal("the encoded envelope does not carry the version parameter as the spec encodes it")
	}
	if v := installParam(t, env, model.ParamVersion); hex.EncodeToString(v.Bytes) != want {
		t.Fatalf("decoded version = %x", v.Bytes)
	}
	s.editor.umVersionType.SetSelected("lesser")
	if v := installParam(t, s.doc.Envelope(), model.ParamVersion); hex.EncodeToString(v.Bytes) != "820583010203" {
		t.Fatalf("version = %x after choosing lesser", v.Bytes)
	}
	// A wrong version is refused by the entry and leaves the document as it was.
	s.editor.umVersionEntry.SetText("1.x")
	if s.editor.umVersionEntry.Validate() == nil {
		t.Fatal("1.x accepted")
	}
	if v := installParam(t, s.doc.Envelope(), model.ParamVersion); hex.EncodeToString(v.Bytes) != "820583010203" {
		t.Fatalf("version = %x after a bad entry", v.Bytes)
	}
	// Undo goes back through app.Document: first the edits, then the added parameter.
	if err := s.doc.Undo(); err != nil {
		t.Fatal(err)
	}
	if err := s.doc.Undo(); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.doc.Envelope().Manifest.Install.Seq.Commands[0].Params {
		if p.Label == model.ParamVersion {
			t.Fatal("undo did not remove the version parameter")
		}
	}
}

func TestUMUseBeforeEditor(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(umInstallParams)
	addParamByName(t, s, "use-before")
	en := findEntry(s.editor.formBox, "2027-01-01T00:00:00Z")
	if en == nil {
		t.Fatal("no RFC 3339 entry for use-before")
	}
	en.SetText("2027-03-01T12:00:00+01:00")
	want := uint64(time.Date(2027, 3, 1, 11, 0, 0, 0, time.UTC).Unix())
	v := installParam(t, s.doc.Envelope(), model.ParamUseBefore)
	if v.Kind != model.KindUint || v.Uint != want {
		t.Fatalf("use-before = %+v, want uint %d", v, want)
	}
	env, b := reencoded(t, s)
	if dv := installParam(t, env, model.ParamUseBefore); dv.Uint != want {
		t.Fatalf("decoded use-before = %d", dv.Uint)
	}
	// 4 => uint (1a + 4 bytes big-endian).
	if !bytes.Contains(b, []byte{0x04, 0x1a, byte(want >> 24), byte(want >> 16), byte(want >> 8), byte(want)}) {
		t.Fatal("use-before is not encoded as a uint")
	}
	// The Date… button opens a calendar.
	var dateBtn *widget.Button
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Date…" {
			dateBtn = b
		}
	})
	if dateBtn == nil {
		t.Fatal("no Date… button")
	}
	test.Tap(dateBtn)
	var cal *widget.Calendar
	if top := s.Win.Canvas().Overlays().Top(); top != nil {
		walk(top, func(o fyne.CanvasObject) {
			if c, ok := o.(*widget.Calendar); ok {
				cal = c
			}
		})
	}
	if cal == nil {
		t.Fatal("the Date… button shows no calendar")
	}
	s.Win.Canvas().Overlays().Top().Hide()
	// The calendar's day keeps the time of day.
	setDate(en, time.Date(2028, 2, 29, 0, 0, 0, 0, time.Local))
	if got := installParam(t, s.doc.Envelope(), model.ParamUseBefore).Uint; got != uint64(time.Date(2028, 2, 29, 11, 0, 0, 0, time.UTC).Unix()) {
		t.Fatalf("after picking a day: %s", formatTime(got))
	}
	want = uint64(time.Date(2028, 2, 29, 11, 0, 0, 0, time.UTC).Unix())
	en.SetText("yesterday")
	if en.Validate() == nil || installParam(t, s.doc.Envelope(), model.ParamUseBefore).Uint != want {
		t.Fatal("a bad time changed the document")
	}
}

func TestUMWaitInfoEditor(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(umInstallParams)
	addParamByName(t, s, "wait-info")
	for _, o := range s.editor.umWaitPick.Options {
		if strings.HasPrefix(o, "time - ") {
			s.editor.umWaitPick.SetSelected(o)
		}
	}
	test.Tap(s.editor.umWaitAdd)
	en := findEntry(s.editor.formBox, "2027-01-01T00:00:00Z")
	if en == nil {
		t.Fatal("no time entry for the time event")
	}
	en.SetText("2027-01-01T00:00:00Z")
	ts := uint64(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	// { 2 (power) => 1, 5 (time) => uint }
	want := []byte{0xa2, 0x02, 0x01, 0x05, 0x1a, byte(ts >> 24), byte(ts >> 16), byte(ts >> 8), byte(ts)}
	if v := installParam(t, s.doc.Envelope(), model.ParamWaitInfo); !bytes.Equal(v.Bytes, want) {
		t.Fatalf("wait-info = %x, want %x", v.Bytes, want)
	}
	env, _ := reencoded(t, s)
	evs, err := suit.DecodeWaitEvents(installParam(t, env, model.ParamWaitInfo).Bytes)
	if err != nil || len(evs) != 2 || evs[1].Key != model.WaitTime || uint64(evs[1].Int) != ts {
		t.Fatalf("decoded wait events %+v %v", evs, err)
	}
}

func TestUMComponentMetadataEditor(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(umInstallParams)
	addParamByName(t, s, "component-metadata")
	s.editor.umMetaFileType.SetSelected("directory")
	s.editor.umMetaModTime.SetText("2027-01-01T00:00:00Z")
	ts := uint64(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	// { 5 (file-type) => 2 (directory), 6 (modification-time) => #6.1(uint) }
	want := []byte{0xa2, 0x05, 0x02, 0x06, 0xc1, 0x1a, byte(ts >> 24), byte(ts >> 16), byte(ts >> 8), byte(ts)}
	if v := installParam(t, s.doc.Envelope(), model.ParamComponentMetadata); !bytes.Equal(v.Bytes, want) {
		t.Fatalf("component-metadata = %x, want %x", v.Bytes, want)
	}
	// Default permissions: tick "set", then read_attr (bit 4).
	var set, readAttr *widget.Check
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && c.Text == "set" && set == nil {
			set = c
		}
	})
	test.Tap(set)
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && c.Text == "read_attr" && readAttr == nil {
			readAttr = c
		}
	})
	if readAttr == nil {
		t.Fatal("no permission bits after setting default permissions")
	}
	test.Tap(readAttr)
	env, _ := reencoded(t, s)
	md, err := suit.DecodeComponentMetadata(installParam(t, env, model.ParamComponentMetadata).Bytes)
	if err != nil || md.DefaultPermissions == nil || *md.DefaultPermissions != 1<<4 || md.FileType == nil || *md.FileType != 2 {
		t.Fatalf("decoded metadata %+v %v", md, err)
	}
}

func TestUMSetVersionEditor(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(pathManifest)
	s.editor.umSetVersion.SetText("1.2.3")
	env, b := reencoded(t, s)
	if got := model.FormatVersion(env.Manifest.SetVersion); got != "1.2.3" {
		t.Fatalf("set-version = %q", got)
	}
	// 6 => bstr .cbor [1, 2, 3]
	if !bytes.Contains(b, []byte{0x06, 0x44, 0x83, 0x01, 0x02, 0x03}) {
		t.Fatal("set-version is not encoded as bstr .cbor [+int]")
	}
	if err := s.doc.Undo(); err != nil {
		t.Fatal(err)
	}
	if s.doc.Envelope().Manifest.SetVersion != nil {
		t.Fatal("undo did not remove set-version")
	}
}

func TestUMOverrideMultipleAndCopyParams(t *testing.T) {
	s := newTestStudio(t)
	env := model.Example1()
	env.Manifest.Common.Components = append(env.Manifest.Common.Components, model.ComponentID{[]byte("ext")})
	s.SetDocument(app.NewDocument(env, s.State))
	install := pathManifest + "/install"
	s.editor.Select(install)
	addCommandByName(t, s, "override-multiple")
	n := len(s.doc.Envelope().Manifest.Install.Seq.Commands) - 1
	if s.editor.Selected() != commandPath(install, n, &model.Command{Label: model.DirOverrideMultiple}) {
		t.Fatalf("selected %q", s.editor.Selected())
	}
	// Component 0's list: add image-size with the parameter editor and type a size.
	addParamByName(t, s, "image-size")
	test.Tap(s.editor.umMultipleAdd) // an entry for component 1
	addParamByName(t, s, "uri")      // into the last list (component 1)
	var sizeEntry, uriEntry *widget.Entry
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if en, ok := o.(*widget.Entry); ok {
			if en.Text == "0" && sizeEntry == nil {
				sizeEntry = en
			} else if en.Text == "" && uriEntry == nil {
				uriEntry = en
			}
		}
	})
	// Choosing a component that already has an entry is refused.
	var sels []*widget.Select
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if sel, ok := o.(*widget.Select); ok && len(sel.Options) == 2 && strings.HasPrefix(sel.Options[0], "#0 ") {
			sels = append(sels, sel)
		}
	})
	if len(sels) != 2 {
		t.Fatalf("%d component pickers", len(sels))
	}
	sels[1].SetSelected(sels[1].Options[0])
	if m := s.doc.Envelope().Manifest.Install.Seq.Commands[n].Multiple; m[1].Index != 1 {
		t.Fatal("two entries for component 0")
	}
	sizeEntry, uriEntry = nil, nil
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if en, ok := o.(*widget.Entry); ok {
			if en.Text == "0" && sizeEntry == nil {
				sizeEntry = en
			} else if en.Text == "" && uriEntry == nil {
				uriEntry = en
			}
		}
	})
	sizeEntry.SetText("4096")
	uriEntry.SetText("coap://example.com/ext.bin")
	got, _ := reencoded(t, s)
	c := got.Manifest.Install.Seq.Commands[n]
	if c.Label != model.DirOverrideMultiple || len(c.Multiple) != 2 ||
		c.Multiple[0].Index != 0 || c.Multiple[0].Params[0].Label != model.ParamImageSize || c.Multiple[0].Params[0].Value.Uint != 4096 ||
		c.Multiple[1].Index != 1 || c.Multiple[1].Params[0].Value.Text != "coap://example.com/ext.bin" {
		t.Fatalf("override-multiple = %+v", c.Multiple)
	}

	// copy-params: default {0: [image-digest]}; tick uri.
	s.editor.Select(install)
	addCommandByName(t, s, "copy-params")
	s.editor.umCopyChecks[0][model.ParamURI].SetChecked(true)
	got, b := reencoded(t, s)
	c = got.Manifest.Install.Seq.Commands[n+1]
	if c.Label != model.DirCopyParams || len(c.CopyParams) != 1 || c.CopyParams[0].Index != 0 ||
		len(c.CopyParams[0].Labels) != 2 || c.CopyParams[0].Labels[0] != model.ParamImageDigest || c.CopyParams[0].Labels[1] != model.ParamURI {
		t.Fatalf("copy-params = %+v", c.CopyParams)
	}
	if l := commandLabel(&c, got.Manifest); l != "copy-params: from #0 image-digest, uri" {
		t.Fatalf("tree label %q", l)
	}
	// 35 => {0: [3, 21]}
	if !bytes.Contains(b, []byte{0x18, 0x23, 0xa1, 0x00, 0x82, 0x03, 0x15}) {
		t.Fatal("copy-params is not encoded as { uint => [+int] }")
	}
	if err := s.doc.Undo(); err != nil {
		t.Fatal(err)
	}
	if l := s.doc.Envelope().Manifest.Install.Seq.Commands[n+1].CopyParams[0].Labels; len(l) != 1 {
		t.Fatalf("undo: labels %v", l)
	}
}

func TestUMWaitOtherDeviceVersion(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.Select(umInstallParams)
	addParamByName(t, s, "wait-info")
	for _, o := range s.editor.umWaitPick.Options {
		if strings.HasPrefix(o, "other-device-version - ") {
			s.editor.umWaitPick.SetSelected(o)
		}
	}
	test.Tap(s.editor.umWaitAdd)
	dev := findEntry(s.editor.formBox, "device identifier (bytes, hex; the deployment defines them)")
	if dev == nil {
		t.Fatal("no device identifier entry")
	}
	dev.SetText("0a0b")
	s.editor.umVersionType.SetSelected("equal")
	s.editor.umVersionEntry.SetText("3.1")
	// { 2 => 1, 4 => [h'0a0b', [[3, [3, 1]]]] }
	want := "a2020104" + "82420a0b" + "81" + "8203820301"
	env, _ := reencoded(t, s)
	if got := hex.EncodeToString(installParam(t, env, model.ParamWaitInfo).Bytes); got != want {
		t.Fatalf("wait-info = %s, want %s", got, want)
	}
}

func TestUMTextVersionKeys(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	s.editor.apply("text on", func(env *model.Envelope) {
		env.Manifest.Text = model.SeverableText{Severance: model.Severance{Present: true},
			Text: &model.TextMap{Languages: []model.TextLanguage{{Tag: "en-US"}}}}
	}, pathText)
	s.editor.Select(pathText)
	var cur *widget.Entry
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if f, ok := o.(*widget.Form); ok {
			for _, it := range f.Items {
				if strings.HasPrefix(it.Text, "Current version") {
					cur, _ = it.Widget.(*widget.Entry)
				}
			}
		}
	})
	if cur == nil {
		t.Fatal("no current-version field in the text form")
	}
	cur.SetText("1.2.3-beta+build.7")
	env, _ := reencoded(t, s)
	cs := env.Manifest.Text.Text.Languages[0].Components
	if len(cs) != 1 || len(cs[0].Entries) != 1 || cs[0].Entries[0].Key != model.TextCurrentVersion || cs[0].Entries[0].Text != "1.2.3-beta+build.7" {
		t.Fatalf("text components %+v", cs)
	}
}
