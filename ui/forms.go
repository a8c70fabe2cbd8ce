package ui

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// uintEntry is an entry for an unsigned number that calls set only with valid values.
func uintEntry(v uint64, set func(uint64)) *widget.Entry {
	en := widget.NewEntry()
	en.SetText(strconv.FormatUint(v, 10))
	en.Validator = func(s string) error {
		_, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("a whole number from 0 is needed")
		}
		return nil
	}
	en.OnChanged = func(s string) {
		if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
			set(n)
		}
	}
	return en
}

// hexEntry is an entry for bytes written as hex.
func hexEntry(b []byte, set func([]byte)) *widget.Entry {
	en := widget.NewEntry()
	en.SetText(hex.EncodeToString(b))
	en.Validator = func(s string) error {
		_, err := parseHex(s)
		return err
	}
	en.OnChanged = func(s string) {
		if v, err := parseHex(s); err == nil {
			set(v)
		}
	}
	return en
}

func parseHex(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimPrefix(strings.TrimSpace(s), "h'"))
	s = strings.TrimSuffix(strings.TrimPrefix(s, "0x"), "'")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("hex digits are needed (0-9, a-f), an even number of them")
	}
	return b, nil
}

func (e *editorView) envelopeForm(env *model.Envelope) fyne.CanvasObject {
	tagged := widget.NewCheck("Tagged (CBOR tag 107, as the spec's examples)", func(b bool) {
		e.applyField("Tag the envelope", "", func(env *model.Envelope) { env.Tagged = b })
	})
	tagged.SetChecked(env.Tagged)
	return formPage("Envelope", "The envelope carries the authentication wrapper (signatures), the manifest, severed members and integrated payloads.", tagged)
}

func (e *editorView) authForm(env *model.Envelope) fyne.CanvasObject {
	text := "Not signed. A device refuses a manifest without a valid signature: sign it before you send it."
	if env.Auth != nil && len(env.Auth.Blocks) > 0 {
		text = fmt.Sprintf("%d authentication block(s) over the manifest digest %s. Any edit to the manifest removes them: sign again after editing.",
			len(env.Auth.Blocks), hex.EncodeToString(env.Auth.Digest.Bytes))
	}
	sign := widget.NewButtonWithIcon("Sign and export…", iconSign(), e.s.signDialog)
	sign.Importance = widget.HighImportance
	return formPage("Authentication", text, sign)
}

func (e *editorView) manifestForm(env *model.Envelope) fyne.CanvasObject {
	m := env.Manifest
	seq := uintEntry(m.SequenceNumber, func(n uint64) {
		e.applyField("Set sequence number", "manifest/sequence", func(env *model.Envelope) { env.Manifest.SequenceNumber = n })
	})
	fromTime := widget.NewButtonWithIcon("From the time now", theme.HistoryIcon(), func() {
		t, _ := app.SequenceNumbers(m.SequenceNumber, time.Now())
		seq.SetText(strconv.FormatUint(t, 10))
	})
	plusOne := widget.NewButtonWithIcon("Last + 1", theme.ContentAddIcon(), func() {
		_, n := app.SequenceNumbers(e.s.doc.Envelope().Manifest.SequenceNumber, time.Now())
		seq.SetText(strconv.FormatUint(n, 10))
	})
	ref := widget.NewEntry()
	if m.ReferenceURI != nil {
		ref.SetText(*m.ReferenceURI)
	}
	ref.SetPlaceHolder("optional: where this manifest can be found")
	ref.OnChanged = func(s string) {
		e.applyField("Set reference URI", "manifest/reference-uri", func(env *model.Envelope) {
			if s == "" {
				env.Manifest.ReferenceURI = nil
			} else {
				env.Manifest.ReferenceURI = &s
			}
		})
	}

	vendor, class := app.Identity(env)
	idText := widget.NewLabel(identityText(vendor, class))
	idText.Wrapping = fyne.TextWrapWord
	domain := widget.NewEntry()
	domain.SetPlaceHolder("vendor domain, e.g. example.com")
	modelName := widget.NewEntry()
	modelName.SetPlaceHolder("model name, e.g. sensor-v2")
	// The fields show what the IDs came from: the last values set, or the text when it gives them.
	if d, mn := e.identitySource(env); d != "" {
		domain.SetText(d)
		modelName.SetText(mn)
	}
	setID := widget.NewButton("Set vendor and class IDs", func() {
		var err error
		d, mn := strings.TrimSpace(domain.Text), strings.TrimSpace(modelName.Text)
		e.apply("Set vendor and class IDs", func(env *model.Envelope) {
			if err = app.SetIdentity(env, d, mn); err == nil {
				app.SyncIdentityText(env, d, mn)
			}
		}, "")
		if err != nil {
			e.s.showError("Cannot set the vendor ID", err)
			return
		}
		e.idDomain, e.idModel = d, mn
		e.identityDomain.SetText(d)
		e.identityModel.SetText(mn)
	})
	e.identityDomain, e.identityModel, e.identitySet = domain, modelName, setID

	sections := container.NewVBox()
	for _, name := range topSequences {
		name := name
		s, sev := topSequence(m, name)
		present := widget.NewCheck(name, func(on bool) {
			e.apply(sectionVerb(on)+" "+name, func(env *model.Envelope) {
				if on {
					setTopSequence(env.Manifest, name, &model.CommandSequence{})
				} else {
					setTopSequence(env.Manifest, name, nil)
				}
			}, "")
		})
		present.SetChecked(s != nil)
		row := container.NewHBox(present)
		if sev != nil && s != nil {
			severed := widget.NewCheck("severed", func(on bool) {
				e.apply("Sever "+name, func(env *model.Envelope) {
					_, sv := topSequence(env.Manifest, name)
					sv.Severed = on
					sv.Digest = nil
				}, "")
			})
			severed.SetChecked(sev.Severed)
			row.Add(severed)
		}
		sections.Add(row)
	}
	textOn := widget.NewCheck("text", func(on bool) {
		e.apply(sectionVerb(on)+" text", func(env *model.Envelope) {
			if on {
				env.Manifest.Text = model.SeverableText{Severance: model.Severance{Present: true},
					Text: &model.TextMap{Languages: []model.TextLanguage{{Tag: "en-US"}}}}
			} else {
				env.Manifest.Text = model.SeverableText{}
			}
		}, "")
	})
	textOn.SetChecked(m.Text.Text != nil)
	sections.Add(textOn)

	form := widget.NewForm(
		widget.NewFormItem("Version", widget.NewLabel(strconv.FormatUint(m.Version, 10))),
		widget.NewFormItem("Sequence number", container.NewBorder(nil, nil, nil, container.NewHBox(fromTime, plusOne), seq)),
		widget.NewFormItem("Reference URI", ref),
		e.setVersionItem(m),
	)
	idForm := widget.NewForm(
		widget.NewFormItem("Vendor domain", domain),
		widget.NewFormItem("Model", modelName),
	)
	return formPage("Manifest",
		"The sequence number must grow with every new manifest for the same device: devices refuse a lower number than the one they have.",
		form,
		widget.NewCard("Device identity", "",
			container.NewVBox(wrapLabel("Vendor ID = UUID5(DNS, domain); class ID = UUID5(vendor ID, model) (draft-37 §8.4.8)."), idText, idForm, setID)),
		widget.NewCard("Sections", "", container.NewVBox(wrapLabel("Command sequences in the manifest. Severed ones travel beside the manifest, with only their digest inside."), sections)),
	)
}

// identitySource is the vendor domain and model the manifest's IDs were set from in this
// session, or that its text names when they give the IDs ("" when unknown).
func (e *editorView) identitySource(env *model.Envelope) (domain, modelName string) {
	vendor, class := app.Identity(env)
	if e.idDomain != "" && bytes.Equal(model.VendorID(e.idDomain), vendor) {
		if c, err := model.ClassID(vendor, e.idModel); e.idModel == "" || class == nil || (err == nil && bytes.Equal(c, class)) {
			return e.idDomain, e.idModel
		}
		return e.idDomain, ""
	}
	if d, mn, ok := app.IdentityText(env, 0); ok {
		return d, mn
	}
	return "", ""
}

func sectionVerb(on bool) string {
	if on {
		return "Add"
	}
	return "Remove"
}

func identityText(vendor, class []byte) string {
	v, c := "not set", "not set"
	if vendor != nil {
		v = model.FormatUUID(vendor)
	}
	if class != nil {
		c = model.FormatUUID(class)
	}
	return "Vendor ID: " + v + "\nClass ID: " + c
}

func (e *editorView) componentsForm(env *model.Envelope) fyne.CanvasObject {
	m := env.Manifest
	list := container.NewVBox()
	for i, c := range m.Common.Components {
		i := i
		b := widget.NewButton(fmt.Sprintf("#%d %s", i, app.ComponentName(c)), func() { e.Select(pathComponents + "/" + strconv.Itoa(i)) })
		b.Alignment = widget.ButtonAlignLeading
		list.Add(b)
	}
	add := widget.NewButtonWithIcon("Add component", theme.ContentAddIcon(), func() {
		n := len(m.Common.Components)
		e.apply("Add component", func(env *model.Envelope) {
			env.Manifest.Common.Components = append(env.Manifest.Common.Components, model.ComponentID{{byte(n)}})
		}, pathComponents+"/"+strconv.Itoa(n))
	})
	return formPage("Components",
		"Each component is a place on the device that holds an image: a flash slot, external storage, RAM. With more than one, every sequence starts with set-component-index.",
		list, add, e.dependenciesCard(env))
}

func (e *editorView) componentForm(env *model.Envelope, i int) fyne.CanvasObject {
	m := env.Manifest
	if i >= len(m.Common.Components) {
		return formPage("Component", "This component no longer exists.")
	}
	id := m.Common.Components[i]
	segs := make([]string, len(id))
	for k, s := range id {
		segs[k] = hex.EncodeToString(s)
	}
	idEntry := widget.NewEntry()
	idEntry.SetText(strings.Join(segs, " "))
	idEntry.Validator = func(s string) error { _, err := parseComponentID(s); return err }
	idEntry.OnChanged = func(s string) {
		if c, err := parseComponentID(s); err == nil {
			e.applyField("Set component ID", "component/"+strconv.Itoa(i), func(env *model.Envelope) {
				env.Manifest.Common.Components[i] = c
			})
		}
	}
	dg, size, hasSize := app.ImageOf(env, i)
	img := "No image digest is set for this component yet."
	if dg != nil {
		img = fmt.Sprintf("Image digest: %s %s", suit.DigestName(dg.Alg), hex.EncodeToString(dg.Bytes))
		if hasSize {
			img += fmt.Sprintf("\nImage size: %d bytes", size)
		}
	}
	imgLabel := widget.NewLabel(img)
	imgLabel.Wrapping = fyne.TextWrapWord
	uri := widget.NewEntry()
	uri.SetPlaceHolder("URI the device fetches the image from (leave empty to keep the manifest's)")
	uri.SetText(e.imageURI)
	uri.OnChanged = func(s string) { e.imageURI = s }
	integrate := widget.NewCheck("Carry the image in the envelope (integrated payload)", func(b bool) {
		e.imageIntegrate = b
		if b {
			uri.Disable()
		} else {
			uri.Enable()
		}
	})
	integrate.SetChecked(e.imageIntegrate)
	choose := widget.NewButtonWithIcon("Choose firmware image…", theme.FileIcon(), e.chooseImage)
	choose.Importance = widget.HighImportance
	remove := widget.NewButtonWithIcon("Remove component", theme.DeleteIcon(), func() {
		e.apply("Remove component", func(env *model.Envelope) {
			c := &env.Manifest.Common
			c.Components = append(c.Components[:i], c.Components[i+1:]...)
		}, pathComponents)
	})
	if len(m.Common.Components) <= 1 {
		remove.Disable()
	}
	return formPage(fmt.Sprintf("Component #%d %s", i, app.ComponentName(id)),
		"Drop a firmware image on this window (or choose one) to set this component's digest and size.",
		widget.NewForm(widget.NewFormItem("Identifier (hex segments)", idEntry)),
		imgLabel,
		widget.NewCard("Firmware image", "", container.NewVBox(uri, integrate, choose)),
		remove)
}

// parseComponentID reads a component identifier written as hex segments separated by spaces.
func parseComponentID(s string) (model.ComponentID, error) {
	var c model.ComponentID
	for _, f := range strings.Fields(s) {
		b, err := parseHex(f)
		if err != nil {
			return nil, err
		}
		c = append(c, b)
	}
	if c == nil {
		c = model.ComponentID{}
	}
	return c, nil
}

func (e *editorView) integratedForm(env *model.Envelope) fyne.CanvasObject {
	list := container.NewVBox()
	for _, p := range env.Integrated {
		key := p.Key
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			e.apply("Remove integrated payload "+key, func(env *model.Envelope) {
				out := env.Integrated[:0]
				for _, q := range env.Integrated {
					if q.Key != key {
						out = append(out, q)
					}
				}
				env.Integrated = out
			}, pathIntegrated)
		})
		list.Add(container.NewBorder(nil, nil, nil, rm, widget.NewLabel(fmt.Sprintf("%s: %d bytes", key, len(p.Data)))))
	}
	return formPage("Integrated payloads",
		"Images carried inside the envelope, named by a URI fragment (\"#image\") that a uri parameter points at.", list)
}

func (e *editorView) textForm(env *model.Envelope) fyne.CanvasObject {
	m := env.Manifest
	if m.Text.Text == nil || len(m.Text.Text.Languages) == 0 {
		return formPage("Text", "No text. Turn it on in the manifest's sections.")
	}
	lang := m.Text.Text.Languages[0]
	tag := widget.NewEntry()
	tag.SetText(lang.Tag)
	tag.OnChanged = func(s string) {
		e.applyField("Set text language", "text/tag", func(env *model.Envelope) { env.Manifest.Text.Text.Languages[0].Tag = s })
	}
	entry := func(key int64, multi bool, get func(*model.Envelope) *[]model.TextEntry, field string) fyne.CanvasObject {
		var en *widget.Entry
		if multi {
			en = widget.NewMultiLineEntry()
			en.Wrapping = fyne.TextWrapWord
			en.SetMinRowsVisible(4)
		} else {
			en = widget.NewEntry()
		}
		for _, t := range *get(env) {
			if t.Key == key {
				en.SetText(t.Text)
			}
		}
		en.OnChanged = func(s string) {
			e.applyField("Edit text", "text/"+field, func(env *model.Envelope) { setTextEntry(get(env), key, s) })
		}
		return en
	}
	manifestEntries := func(env *model.Envelope) *[]model.TextEntry { return &env.Manifest.Text.Text.Languages[0].Entries }
	form := widget.NewForm(
		widget.NewFormItem("Language", tag),
		widget.NewFormItem("Manifest description", entry(model.TextManifestDescription, true, manifestEntries, "1")),
		widget.NewFormItem("Update description", entry(model.TextUpdateDescription, true, manifestEntries, "2")),
	)
	objs := []fyne.CanvasObject{form}
	for ci, comp := range m.Common.Components {
		ci, comp := ci, comp
		get := func(env *model.Envelope) *[]model.TextEntry {
			l := &env.Manifest.Text.Text.Languages[0]
			for k := range l.Components {
				if equalComponent(l.Components[k].Component, comp) {
					return &l.Components[k].Entries
				}
			}
			cp := make(model.ComponentID, len(comp))
			for k, seg := range comp {
				cp[k] = append([]byte(nil), seg...)
			}
			l.Components = append(l.Components, model.ComponentText{Component: cp})
			return &l.Components[len(l.Components)-1].Entries
		}
		cf := widget.NewForm()
		for _, f := range []struct {
			key  int64
			name string
		}{
			{model.TextVendorName, "Vendor name"}, {model.TextModelName, "Model name"}, {model.TextVendorDomain, "Vendor domain"},
			{model.TextModelInfo, "Model info"}, {model.TextComponentDescription, "Description"}, {model.TextComponentVersion, "Version"},
			{model.TextVersionRequired, "Version required"}, {model.TextCurrentVersion, "Current version (for people; set-version is the machine's)"},
		} {
			cf.Append(f.name, e.textComponentEntry(env, comp, f.key, get, fmt.Sprintf("%d/%d", ci, f.key)))
		}
		objs = append(objs, widget.NewCard("Component "+app.ComponentName(comp), "", cf))
	}
	return formPage("Text", "Descriptions for people. Severing the text keeps it out of the bytes a device must receive.", objs...)
}

func (e *editorView) textComponentEntry(env *model.Envelope, comp model.ComponentID, key int64, get func(*model.Envelope) *[]model.TextEntry, field string) fyne.CanvasObject {
	en := widget.NewEntry()
	for _, ct := range env.Manifest.Text.Text.Languages[0].Components {
		if equalComponent(ct.Component, comp) {
			for _, t := range ct.Entries {
				if t.Key == key {
					en.SetText(t.Text)
				}
			}
		}
	}
	en.OnChanged = func(s string) {
		e.applyField("Edit component text", "text/c/"+field, func(env *model.Envelope) { setTextEntry(get(env), key, s) })
	}
	return en
}

func setTextEntry(entries *[]model.TextEntry, key int64, s string) {
	for i := range *entries {
		if (*entries)[i].Key == key {
			if s == "" {
				*entries = append((*entries)[:i], (*entries)[i+1:]...)
			} else {
				(*entries)[i].Text = s
			}
			return
		}
	}
	if s == "" {
		return
	}
	*entries = append(*entries, model.TextEntry{Key: key, Text: s})
	// Keys in order, as the encoder writes them.
	for i := len(*entries) - 1; i > 0 && (*entries)[i].Key < (*entries)[i-1].Key; i-- {
		(*entries)[i], (*entries)[i-1] = (*entries)[i-1], (*entries)[i]
	}
}

func equalComponent(a, b model.ComponentID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}
