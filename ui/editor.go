package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/model"
)

// editorView is the manifest editor: the tree of the envelope on the left, a form for the
// selected node on the right, and the live list of validation findings below.
type editorView struct {
	s       *Studio
	content fyne.CanvasObject

	tree     *widget.Tree
	model    envTree
	selected string

	formBox  *fyne.Container // holds the current form
	findings *widget.List
	status   *widget.Label
	note     string // appended to the findings line (the demo's signing key hint)
	search   *widget.Entry

	// imageSource is the choice of the component form: how the device gets a dropped image.
	imageURI       string
	imageIntegrate bool

	// The manifest form's identity helper, kept for keyboard focus and tests.
	identityDomain, identityModel *widget.Entry
	identitySet                   *widget.Button
	// idDomain and idModel are what the vendor and class IDs were last set from, so that the
	// fields keep them and the leftover fixes can write them into the text.
	idDomain, idModel string
	// building is true while a form is being made (see showForm).
	building bool
	// The sequence form's and the parameter editor's pickers, kept for tests.
	addCommandPick   *widget.Select
	addCommandButton *widget.Button
	addParamPick     *widget.Select
	addParamButton   *widget.Button
	umWidgets        // the update-management and dependency editors' widgets, kept for tests
}

func newEditorView(s *Studio) *editorView {
	e := &editorView{s: s}
	e.model = envTree{env: func() *model.Envelope {
		if s.doc == nil {
			return nil
		}
		return s.doc.Envelope()
	}}
	e.tree = widget.NewTree(
		func(uid widget.TreeNodeID) []widget.TreeNodeID { return e.model.children(uid) },
		func(uid widget.TreeNodeID) bool { return e.model.isBranch(uid) },
		func(bool) fyne.CanvasObject { return widget.NewLabel("override-parameters: vendor-identifier") },
		func(uid widget.TreeNodeID, _ bool, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(e.model.label(uid))
		},
	)
	e.tree.OnSelected = func(uid widget.TreeNodeID) {
		if uid != e.selected {
			e.selected = uid
			e.showForm()
		}
	}
	e.formBox = container.NewStack()
	e.findings = widget.NewList(
		func() int { return len(e.findingsList()) },
		func() fyne.CanvasObject {
			fix := widget.NewButton("Fix", nil)
			fix.Importance = widget.LowImportance
			return container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), fix, widget.NewLabel("finding"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			fs := e.findingsList()
			if i >= len(fs) {
				return
			}
			f := fs[i]
			c := o.(*fyne.Container)
			lbl := c.Objects[0].(*widget.Label)
			icon := c.Objects[1].(*widget.Icon)
			fix := c.Objects[2].(*widget.Button)
			if l := e.leftoverAt(i); l != nil {
				fix.SetText(l.Fix)
				fix.OnTapped = func() { e.fixLeftover(*l) }
				fix.Show()
			} else {
				fix.OnTapped = nil
				fix.Hide()
			}
			if f.Severity == model.Error {
				icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
			} else {
				icon.SetResource(theme.NewWarningThemedResource(theme.WarningIcon()))
			}
			text := f.Message
			if f.Hint != "" {
				text += " - " + f.Hint
			}
			lbl.SetText(text)
			lbl.Truncation = fyne.TextTruncateEllipsis
		},
	)
	e.findings.OnSelected = func(i widget.ListItemID) {
		fs := e.findingsList()
		if i < len(fs) {
			e.Select(fs[i].Path)
		}
		e.findings.UnselectAll()
	}
	e.status = widget.NewLabel("")
	e.status.Wrapping = fyne.TextWrapWord // long messages (warnings) wrap instead of widening the window
	e.search = widget.NewEntry()
	e.search.SetPlaceHolder("Find in the tree (Ctrl+F), Enter for next")
	e.search.OnSubmitted = func(q string) { e.findNext(q) }

	left := container.NewBorder(e.search, nil, nil, nil, e.tree)
	// The form pane scrolls both ways: a wide form never widens the window.
	split := container.NewHSplit(left, container.NewScroll(container.NewPadded(e.formBox)))
	split.Offset = 0.38
	bottom := container.NewBorder(e.status, nil, nil, nil, e.findings)
	vs := container.NewVSplit(split, bottom)
	vs.Offset = 0.78
	e.content = vs
	return e
}

func (e *editorView) findingsList() []model.Finding {
	if e.s.doc == nil {
		return nil
	}
	return e.s.doc.Findings()
}

// leftoverAt is the template leftover that finding i is, or nil. The document lists its
// leftovers after the other findings.
func (e *editorView) leftoverAt(i int) *app.Leftover {
	if e.s.doc == nil {
		return nil
	}
	ls := e.s.doc.Leftovers()
	j := i - (len(e.s.doc.Findings()) - len(ls))
	if j < 0 || j >= len(ls) {
		return nil
	}
	return &ls[j]
}

// fixLeftover is the one-click fix of a template leftover: remove the sample, write the domain
// or model the IDs came from, or (a sample digest) choose the component's image.
func (e *editorView) fixLeftover(l app.Leftover) {
	if l.Kind == app.LeftoverSampleDigest {
		e.Select(l.Path)
		e.chooseImage()
		return
	}
	domain, modelName := e.idDomain, e.idModel
	var err error
	e.apply("Fix: "+strings.TrimSuffix(l.Fix, "…"), func(env *model.Envelope) {
		err = app.FixLeftover(env, l, domain, modelName)
	}, "")
	if err != nil {
		e.s.showError("Cannot fix this", err)
	}
}

// refresh follows a document change. reload: the whole value changed, rebuild the form too.
func (e *editorView) refresh(reload bool) {
	e.tree.Refresh()
	e.findings.Refresh()
	doc := e.s.doc
	errs := doc.Errors()
	warns := len(doc.Findings()) - errs
	switch {
	case errs == 0 && warns == 0:
		e.status.SetText("No findings: the manifest is valid.")
	default:
		e.status.SetText(fmt.Sprintf("%d error(s), %d warning(s). Click one to go to it.", errs, warns))
	}
	if e.note != "" {
		e.status.SetText(e.status.Text + " " + e.note)
	}
	if reload {
		if e.selected == "" || e.model.kind(e.selected) == nodeUnknown && e.selected != pathEnvelope {
			e.selected = pathManifest
		}
		e.tree.OpenBranch(pathEnvelope)
		e.tree.OpenBranch(pathManifest)
		e.tree.OpenBranch(pathCommon)
		e.tree.Select(e.selected)
		e.showForm()
	}
}

// Select selects the tree node that best shows path (e.g. a finding's path).
func (e *editorView) Select(path string) {
	uid := e.model.nodeFor(path)
	for _, a := range ancestors(uid) {
		e.tree.OpenBranch(a)
	}
	e.selected = uid
	e.tree.Select(uid)
	e.tree.ScrollTo(uid)
	e.showForm()
}

// Selected is the path of the selected node.
func (e *editorView) Selected() string { return e.selected }

// findNext selects the next node after the selection whose label contains q.
func (e *editorView) findNext(q string) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return
	}
	var all []string
	var walk func(uid string)
	walk = func(uid string) {
		for _, c := range e.model.children(uid) {
			all = append(all, c)
			walk(c)
		}
	}
	walk("")
	start := 0
	for i, uid := range all {
		if uid == e.selected {
			start = i + 1
		}
	}
	for k := 0; k < len(all); k++ {
		uid := all[(start+k)%len(all)]
		if strings.Contains(strings.ToLower(e.model.label(uid)), q) {
			e.Select(uid)
			return
		}
	}
	e.status.SetText(fmt.Sprintf("%q not found.", q))
}

// apply makes a structural edit (the form is rebuilt afterwards). next, when not empty, is the
// node to select after the edit.
func (e *editorView) apply(desc string, edit func(env *model.Envelope), next string) {
	if e.building {
		return
	}
	e.s.doc.Apply(desc, edit)
	if next != "" {
		e.selected = next
	}
	e.refresh(true)
}

// applyField makes an edit from a field being typed in: the form stays as it is.
func (e *editorView) applyField(desc, key string, edit func(env *model.Envelope)) {
	if e.building {
		return
	}
	e.s.doc.ApplyKeyed(desc, key, edit)
}

func (e *editorView) showForm() {
	// Setting the initial state of check boxes and selects calls their OnChanged: those calls
	// are not edits.
	e.building = true
	defer func() { e.building = false }()
	var form fyne.CanvasObject
	env := e.s.doc.Envelope()
	switch e.model.kind(e.selected) {
	case nodeEnvelope:
		form = e.envelopeForm(env)
	case nodeAuth:
		form = e.authForm(env)
	case nodeManifest:
		form = e.manifestForm(env)
	case nodeCommon, nodeComponents:
		form = e.componentsForm(env)
	case nodeComponent:
		i, _ := strconv.Atoi(e.selected[len(pathComponents)+1:])
		form = e.componentForm(env, i)
	case nodeSequence:
		form = e.sequenceForm(env, e.selected)
	case nodeCommand:
		form = e.commandForm(env, e.selected)
	case nodeNullAlternative:
		form = formPage("Alternative: nothing", "The trailing null alternative of try-each: when every other alternative fails, try-each still succeeds and processing continues.")
	case nodeTextMap:
		form = e.textForm(env)
	case nodeIntegrated, nodeIntegratedPayload:
		form = e.integratedForm(env)
	default:
		form = formPage("Nothing selected", "Select an element in the tree.")
	}
	e.formBox.Objects = []fyne.CanvasObject{form}
	e.formBox.Refresh()
}

// formPage is a titled page with an explanation and any widgets below.
func formPage(title, explanation string, objs ...fyne.CanvasObject) fyne.CanvasObject {
	t := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	box := container.NewVBox(t)
	if explanation != "" {
		l := widget.NewLabel(explanation)
		l.Wrapping = fyne.TextWrapWord
		box.Add(l)
	}
	for _, o := range objs {
		box.Add(o)
	}
	return box
}

// acceptsImage reports whether a dropped firmware image has a component to go to.
func (e *editorView) acceptsImage() bool {
	env := e.s.doc.Envelope()
	return env != nil && env.Manifest != nil && len(env.Manifest.Common.Components) > 0
}

// imageComponent is the component a dropped image is for: the selected one, or component 0.
func (e *editorView) imageComponent() int {
	if e.model.kind(e.selected) == nodeComponent {
		i, _ := strconv.Atoi(e.selected[len(pathComponents)+1:])
		return i
	}
	return 0
}

// dropImage reads a firmware image in the background and sets the digest, size and URI or
// integrated payload of the selected component.
func (e *editorView) dropImage(path string) {
	comp := e.imageComponent()
	e.s.background(func() func() {
		data, err := os.ReadFile(path)
		return func() {
			if err != nil {
				e.s.showError("Cannot read the firmware image", &app.FileError{Op: "read", Path: path, Err: err, Hint: "check the file name and its permissions"})
				return
			}
			if e.SetImage(comp, filepath.Base(path), data) {
				e.s.imageFiles[comp] = path
			}
		}
	})
}

// SetImage sets component comp's image from data (what dropping a file does, after reading it),
// and reports whether it did.
func (e *editorView) SetImage(comp int, name string, data []byte) bool {
	src := app.ImageSource{URI: strings.TrimSpace(e.imageURI), Integrate: e.imageIntegrate, Name: name}
	var err error
	e.apply(fmt.Sprintf("Set image of component %d from %s", comp, name), func(env *model.Envelope) {
		err = app.SetImage(env, comp, data, src)
	}, pathComponents+"/"+strconv.Itoa(comp))
	if err != nil {
		e.s.showError("Cannot set the image", err)
		return false
	}
	e.status.SetText(fmt.Sprintf("Component %d: digest and size (%d bytes) set from %s.", comp, len(data), name))
	return true
}

func (e *editorView) chooseImage() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		e.dropImage(r.URI().Path())
	}, e.s.Win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}
