package ui

import (
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/model"
)

func iconNew() fyne.Resource  { return theme.DocumentCreateIcon() }
func iconOpen() fyne.Resource { return theme.FolderOpenIcon() }
func iconSave() fyne.Resource { return theme.DocumentSaveIcon() }
func iconUndo() fyne.Resource { return theme.ContentUndoIcon() }
func iconRedo() fyne.Resource { return theme.ContentRedoIcon() }

// iconSign is a pen over a line: "sign and export" (a check mark would read as "validate").
func iconSign() fyne.Resource { return theme.NewThemedResource(signIconSVG) }

var signIconSVG = fyne.NewStaticResource("sign.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">`+
	`<path fill="#000000" d="M4 15.6V19h3.4l9.9-9.9-3.4-3.4L4 15.6zm15.7-9.2a.9.9 0 0 0 0-1.3l-2.1-2.1a.9.9 0 0 0-1.3 0l-1.6 1.6 3.4 3.4 1.6-1.6z"/>`+
	`<path fill="#000000" d="M2 21h20v2H2z"/></svg>`))

// startView is the first screen: new from a template (each explained in a line), open a file,
// recent files, and documents recovered from a session that ended without saving.
type startView struct {
	s         *Studio
	content   fyne.CanvasObject
	templates []*widget.Button
	recent    *fyne.Container
	recovered *fyne.Container
}

func newStartView(s *Studio) *startView {
	v := &startView{s: s}
	tpl := container.NewVBox()
	for _, t := range model.Templates() {
		t := t
		b := widget.NewButton(t.Name, func() { s.NewFromTemplate(t) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.HighImportance
		d := widget.NewLabel(t.Description)
		d.Wrapping = fyne.TextWrapWord
		v.templates = append(v.templates, b)
		tpl.Add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(300, b.MinSize().Height), b), nil, d))
	}
	open := widget.NewButtonWithIcon("Open a file…", iconOpen(), s.openDialog)
	hint := widget.NewLabel("Opens .suit and .cbor envelopes, hex text like the spec's examples, and YAML/JSON manifest sources. You can also drop a file on this window.")
	hint.Wrapping = fyne.TextWrapWord
	v.recent = container.NewVBox()
	v.recovered = container.NewVBox()
	title := widget.NewLabelWithStyle("SUIT Studio", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	intro := widget.NewLabel("Create a signed SUIT manifest for a firmware image, or inspect an envelope you received.")
	intro.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(
		title, intro,
		v.recovered,
		widget.NewCard("New from a template", "", container.NewVBox(wrapLabel("The draft's examples as starting points; set your vendor, drop your image, sign."), tpl)),
		widget.NewCard("Open", "", container.NewVBox(open, hint, v.recent)),
	)
	v.content = container.NewVScroll(container.NewPadded(body))
	v.refreshRecent()
	v.refreshRecovered()
	return v
}

func (v *startView) refreshRecent() {
	v.recent.RemoveAll()
	if v.s.State == nil {
		return
	}
	list := v.s.State.Recent()
	if len(list) == 0 {
		return
	}
	v.recent.Add(widget.NewLabelWithStyle("Recent files", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, p := range list {
		p := p
		b := widget.NewButtonWithIcon(filepath.Base(p)+"   "+filepath.Dir(p), theme.FileIcon(), func() { v.s.OpenFile(p) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		v.recent.Add(b)
	}
}

// refreshRecovered offers the documents an earlier session left unsaved.
func (v *startView) refreshRecovered() {
	v.recovered.RemoveAll()
	if v.s.State == nil {
		return
	}
	for _, r := range v.s.State.Recoveries() {
		r := r
		name := "an unsaved new manifest"
		if r.Path != "" {
			name = filepath.Base(r.Path)
		}
		msg := widget.NewLabel(fmt.Sprintf("Recovered %s, last edited %s.", name, r.Time.Local().Format("2006-01-02 15:04")))
		restore := widget.NewButtonWithIcon("Restore", theme.HistoryIcon(), nil)
		discard := widget.NewButtonWithIcon("Discard", theme.DeleteIcon(), nil)
		row := container.NewBorder(nil, nil, nil, container.NewHBox(restore, discard), msg)
		restore.OnTapped = func() {
			doc, err := v.s.State.Restore(r)
			if err != nil {
				v.s.showError("Cannot restore", err)
				return
			}
			v.recovered.Remove(row)
			v.s.SetDocument(doc)
			v.s.ShowView(ViewEditor)
		}
		discard.OnTapped = func() {
			_ = v.s.State.Discard(r)
			v.recovered.Remove(row)
		}
		v.recovered.Add(widget.NewCard("", "", row))
	}
}
