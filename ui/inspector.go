package ui

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/diag"
	"github.com/suit-studio/suit-studio/codec/suit"
)

// inspectorView shows any envelope as it is on the wire: the structure tree, the diagnostic
// notation and the hex bytes side by side, linked by byte ranges; below, verification against
// the trusted keys, what the manifest would do, and the size of each part.
type inspectorView struct {
	s       *Studio
	content fyne.CanvasObject

	in    *app.Inspection
	dirty bool // the document changed since the last inspection
	// file is the file being inspected ("" when the inspector shows the document): showing the
	// inspector again keeps it; "Inspect the document" goes back to the document.
	file string
	gen  int // bumped by each inspection; a completion of an older one is dropped

	nodes    []*diag.Node // tree node id = index
	ids      map[*diag.Node]string
	kids     map[string][]string
	tree     *widget.Tree
	selected *diag.Node

	// The notation and hex panes show only their visible rows (monoLines); payloads longer than
	// app.CollapseBytes are collapsed in both unless "Collapse payloads" is cleared.
	notation  *monoLines
	hex       *monoLines
	listing   *diag.Listing
	hexRows   *app.HexLayout
	hexRange  [2]int // highlighted bytes
	noteLines [2]int // highlighted notation lines (first, last), -1 for none
	collapse  *widget.Check

	header   *widget.Label
	verdict  *fyne.Container
	keys     *fyne.Container
	describe *fyne.Container
	sizes    *fyne.Container
	detail   *widget.Label
	// body shows the envelope view (split) or, for a CMS firmware package, cms.
	body  *fyne.Container
	split fyne.CanvasObject
	cms   *CMSInspector
	// verdictTitle is the verification verdict's headline, kept for tests and screenshots.
	verdictTitle string
	// trustErr is why the trust store could not be read; trustNote what the last change did.
	trustErr  error
	trustNote string
}

func newInspectorView(s *Studio) *inspectorView {
	v := &inspectorView{s: s, dirty: true, noteLines: [2]int{-1, -1}}
	v.tree = widget.NewTree(
		func(uid widget.TreeNodeID) []widget.TreeNodeID { return v.kids[uid] },
		func(uid widget.TreeNodeID) bool { return len(v.kids[uid]) > 0 },
		func(bool) fyne.CanvasObject { return widget.NewLabel("authentication-wrapper: h'0000'") },
		func(uid widget.TreeNodeID, _ bool, o fyne.CanvasObject) {
			if n := v.node(uid); n != nil {
				o.(*widget.Label).SetText(nodeText(n))
			}
		},
	)
	v.tree.OnSelected = func(uid widget.TreeNodeID) {
		if n := v.node(uid); n != nil && n != v.selected {
			v.selectNode(n, false)
		}
	}
	v.notation = newMonoLines(
		func() int {
			if v.listing == nil {
				return 0
			}
			return len(v.listing.Lines)
		},
		func(i int) string { return v.listing.Lines[i] },
		func(i int) [][2]int {
			if i >= v.noteLines[0] && i <= v.noteLines[1] {
				return [][2]int{{0, -1}}
			}
			return nil
		},
		func() int {
			if v.listing == nil {
				return 0
			}
			return v.listing.Longest
		},
		func(row, _ int) {
			if v.listing == nil {
				return
			}
			if n := v.listing.NodeAt(row); n != nil {
				v.selectNode(n, true)
			}
		})
	v.hex = newMonoLines(
		func() int {
			if v.hexRows == nil {
				return 0
			}
			return len(v.hexRows.Rows)
		},
		func(i int) string { return v.hexRows.Text(i) },
		func(i int) [][2]int {
			h0, h1, a0, a1, ok := v.hexRows.Columns(i, v.hexRange[0], v.hexRange[1])
			switch {
			case !ok:
				return nil
			case v.hexRows.Rows[i].Hidden:
				return [][2]int{{0, -1}}
			}
			return [][2]int{{h0, h1}, {a0, a1}}
		},
		func() int { return 11 + 4*app.HexBytesPerRow },
		func(row, col int) {
			if v.hexRows == nil {
				return
			}
			if off := v.hexRows.OffsetAt(row, col); off >= 0 {
				if n := v.in.Tree.At(off); n != nil {
					v.selectNode(n, true)
				}
			}
		})
	v.collapse = widget.NewCheck("Collapse payloads", func(on bool) { v.relayout(!on) })
	v.collapse.Checked = true
	v.header = widget.NewLabel("")
	v.header.Wrapping = fyne.TextWrapWord
	v.detail = widget.NewLabel("Select an element in the tree or tap its bytes.")
	v.detail.Wrapping = fyne.TextWrapWord
	v.verdict = container.NewVBox()
	v.keys = container.NewVBox()
	v.describe = container.NewVBox()
	v.sizes = container.NewVBox()

	openBtn := widget.NewButtonWithIcon("Inspect a file…", iconOpen(), v.openDialog)
	current := widget.NewButtonWithIcon("Inspect the document", theme.ViewRefreshIcon(), v.inspectDocument)
	addKey := widget.NewButtonWithIcon("Add trusted key…", theme.ContentAddIcon(), v.addKeyDialog)

	pair := container.NewHSplit(
		container.NewBorder(widget.NewLabelWithStyle("Diagnostic notation", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, v.notation.Content),
		container.NewBorder(container.NewHBox(widget.NewLabelWithStyle("Bytes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.collapse), v.detail, nil, nil, v.hex.Content),
	)
	pair.Offset = 0.45
	trio := container.NewHSplit(
		container.NewBorder(widget.NewLabelWithStyle("Structure", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, v.tree),
		pair,
	)
	trio.Offset = 0.28
	verification := container.NewVScroll(container.NewVBox(v.verdict, widget.NewSeparator(),
		widget.NewLabelWithStyle("Trusted public keys", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.keys, addKey))
	tabs := container.NewAppTabs(
		container.NewTabItem("Verification", verification),
		container.NewTabItem("What it would do", container.NewVScroll(v.describe)),
		container.NewTabItem("Sizes", container.NewVScroll(v.sizes)),
	)
	split := container.NewVSplit(trio, tabs)
	split.Offset = 0.6
	v.split = split
	v.body = container.NewStack(split)
	v.content = container.NewBorder(container.NewBorder(nil, nil, nil, container.NewHBox(current, openBtn), v.header), nil, nil, nil, v.body)
	v.refreshKeys()
	return v
}

func (v *inspectorView) node(uid string) *diag.Node {
	i, err := strconv.Atoi(uid)
	if err != nil || i < 0 || i >= len(v.nodes) {
		return nil
	}
	return v.nodes[i]
}

func nodeText(n *diag.Node) string {
	s := n.Label
	if n.Summary != "" && len(n.Children) == 0 {
		s += ": " + n.Summary
	}
	return fmt.Sprintf("%s  (%d B)", s, n.End-n.Start)
}

// documentChanged marks the inspection stale; it is redone when the inspector is shown.
func (v *inspectorView) documentChanged() {
	v.dirty = true
}

// inspectDocument goes back from a file to the document ("Inspect the document").
func (v *inspectorView) inspectDocument() {
	v.file = ""
	v.dirty = true
	v.showDocument()
}

// showDocument inspects the current document's encoding (if it changed), unless the inspector
// shows a file.
func (v *inspectorView) showDocument() {
	if !v.dirty || v.file != "" {
		return
	}
	v.dirty = false
	data, err := v.s.doc.Encode()
	if err != nil {
		v.showError("The document cannot be encoded yet: " + err.Error() + ". Fix the errors listed in the editor.")
		return
	}
	v.Inspect(data, "Document "+strings.TrimPrefix(v.s.doc.Title(), "*"))
}

// showEnvelopeView puts the envelope view back in place of a CMS package.
func (v *inspectorView) showEnvelopeView() {
	if v.cms == nil {
		return
	}
	v.cms = nil
	v.body.Objects = []fyne.CanvasObject{v.split}
	v.body.Refresh()
}

// showCMS shows an RFC 4108 CMS firmware package in place of the envelope view, verified
// against the trusted keys.
func (v *inspectorView) showCMS(data []byte, source string) {
	v.gen++
	v.in = nil
	v.header.SetText(source + ": RFC 4108 CMS firmware package (not a SUIT envelope).")
	v.cms = NewCMSInspector(data, CMSInspectorOptions{Source: source, TrustPaths: append([]string(nil), v.s.TrustedKeys...), uiLock: &v.s.doneMu})
	v.body.Objects = []fyne.CanvasObject{v.cms}
	v.body.Refresh()
}

func (v *inspectorView) showError(msg string) {
	v.showEnvelopeView()
	v.in = nil
	v.header.SetText(msg)
	v.nodes, v.kids = nil, nil
	v.tree.Refresh()
	v.listing, v.hexRows = nil, nil
	v.notation.Refresh()
	v.hex.Refresh()
	v.verdict.RemoveAll()
	v.describe.RemoveAll()
	v.sizes.RemoveAll()
}

// Inspect shows envelope bytes (analysis and verification run in the background).
func (v *inspectorView) Inspect(data []byte, source string) {
	keys := append([]string(nil), v.s.TrustedKeys...)
	v.gen++
	gen := v.gen
	v.s.background(func() func() {
		in, err := app.Inspect(data)
		var ver *suit.Verification
		var kerrs []error
		var verr error
		if err == nil {
			ver, kerrs, verr = app.VerifyWithFiles(data, keys)
		}
		return func() {
			if gen != v.gen {
				return // another inspection started since
			}
			if err != nil {
				v.showError(source + ": not a CBOR envelope: " + err.Error())
				return
			}
			v.show(in, source)
			v.showVerification(ver, kerrs, verr)
			if !slices.Equal(keys, v.s.TrustedKeys) {
				v.verify() // the trust store changed meanwhile
			}
		}
	})
}

func (v *inspectorView) show(in *app.Inspection, source string) {
	v.showEnvelopeView()
	v.in = in
	head := fmt.Sprintf("%s: %d bytes.", source, len(in.Data))
	if in.DecodeErr != nil {
		head += " Not a valid SUIT envelope: " + in.DecodeErr.Error()
	}
	v.header.SetText(head)
	v.nodes = nil
	v.ids = map[*diag.Node]string{}
	v.kids = map[string][]string{}
	var add func(n *diag.Node, parent string)
	add = func(n *diag.Node, parent string) {
		n = innerNode(n)
		id := strconv.Itoa(len(v.nodes))
		v.nodes = append(v.nodes, n)
		v.ids[n] = id
		v.kids[parent] = append(v.kids[parent], id)
		for _, c := range n.Children {
			add(c, id)
		}
	}
	add(in.Tree, "")
	v.tree.Refresh()
	v.tree.OpenBranch("0")
	if len(v.kids["0"]) > 0 {
		for _, k := range v.kids["0"] {
			v.tree.OpenBranch(k)
		}
	}
	v.listing, v.hexRows = in.Listing, in.Hex
	v.hexRange = [2]int{0, 0}
	v.noteLines = [2]int{-1, -1}
	v.selected = nil
	v.collapse.Checked = true
	v.collapse.Refresh()
	v.notation.Refresh()
	v.notation.list.ScrollToTop()
	v.hex.Refresh()
	v.hex.list.ScrollToTop()

	v.describe.RemoveAll()
	if in.Describe != nil {
		for _, note := range in.Describe.Notes {
			v.describe.Add(wrapLabel(note))
		}
		for _, p := range in.Describe.Procedures {
			v.describe.Add(widget.NewLabelWithStyle(p.Name+" procedure: "+p.Summary, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
			for _, st := range p.Steps {
				v.describe.Add(stepRow(st))
			}
		}
	} else {
		v.describe.Add(wrapLabel("The envelope does not decode, so what it would do is unknown."))
	}
	v.sizes.RemoveAll()
	total := len(in.Data)
	for _, sp := range in.Sizes {
		sp := sp
		bar := widget.NewProgressBar()
		bar.Max = float64(total)
		bar.SetValue(float64(sp.Bytes))
		bar.TextFormatter = func() string {
			return fmt.Sprintf("%d B (%.0f%%)", sp.Bytes, 100*float64(sp.Bytes)/float64(max(total, 1)))
		}
		name := widget.NewButton(strings.Repeat("    ", sp.Depth)+sp.Name, func() {
			if n := in.Tree.Find(sp.Path); n != nil {
				v.selectNode(n, true)
			}
		})
		name.Alignment = widget.ButtonAlignLeading
		name.Importance = widget.LowImportance
		v.sizes.Add(container.NewGridWithColumns(2, name, bar))
	}
}

func wrapLabel(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// stepRow shows one step of a procedure with an icon for its kind.
func stepRow(st app.Step) fyne.CanvasObject {
	var icon fyne.Resource
	switch st.Kind {
	case app.StepCheck:
		icon = theme.ConfirmIcon()
	case app.StepAction:
		icon = theme.MediaPlayIcon()
	case app.StepSetting:
		icon = theme.SettingsIcon()
	case app.StepNote:
		icon = theme.WarningIcon()
	default:
		icon = theme.ListIcon()
	}
	indent := widget.NewLabel(strings.Repeat("    ", st.Depth))
	return container.NewBorder(nil, nil, container.NewHBox(indent, widget.NewIcon(icon)), nil, wrapLabel(st.Text))
}

func innerNode(n *diag.Node) *diag.Node {
	for n != nil && len(n.Children) == 1 && n.Children[0].Path == n.Path && (n.Kind == "tag" || n.Kind == "bstr .cbor") {
		n = n.Children[0]
	}
	return n
}

// treeID is the tree node that shows n (n itself or the wrapper skipped above it).
func (v *inspectorView) treeID(n *diag.Node) (string, bool) {
	if id, ok := v.ids[n]; ok {
		return id, true
	}
	// n is a wrapper: find the node with the same path below it.
	if in := innerNode(n); in != nil {
		id, ok := v.ids[in]
		return id, ok
	}
	return "", false
}

// selectNode selects n: in the tree (opening its ancestors), and highlights its bytes.
func (v *inspectorView) selectNode(n *diag.Node, inTree bool) {
	v.selected = n
	if inTree {
		if id, ok := v.treeID(n); ok {
			// Open the ancestors: the ids of the nodes whose ranges contain n, outermost first.
			for _, pid := range v.ancestorIDs(id) {
				v.tree.OpenBranch(pid)
			}
			v.tree.Select(id)
			v.tree.ScrollTo(id)
		}
	}
	v.highlight(n)
	text := fmt.Sprintf("%s: bytes %d-%d (%d bytes), %s", n.Path, n.Start, n.End-1, n.End-n.Start, n.Kind)
	if n.KeyStart >= 0 {
		text += fmt.Sprintf("; key at %d", n.KeyStart)
	}
	if n.Note != "" {
		text += ". " + n.Note
	}
	v.detail.SetText(text)
}

func (v *inspectorView) ancestorIDs(id string) []string {
	parent := map[string]string{}
	for p, ks := range v.kids {
		for _, k := range ks {
			parent[k] = p
		}
	}
	var out []string
	for p, ok := parent[id]; ok && p != ""; p, ok = parent[p] {
		out = append([]string{p}, out...)
	}
	return out
}

// highlight marks bytes [start, end) in the hex pane and the lines of n in the notation pane,
// and scrolls both to them.
func (v *inspectorView) highlight(n *diag.Node) {
	v.hexRange = [2]int{n.Start, n.End}
	v.noteLines = [2]int{-1, -1}
	if v.listing != nil {
		if first, last, ok := v.listing.Span(n); ok {
			v.noteLines = [2]int{first, last}
		}
	}
	v.hex.Refresh()
	v.notation.Refresh()
	if v.hexRows != nil {
		v.hex.ScrollTo(v.hexRows.RowOf(n.Start))
	}
	if v.noteLines[0] >= 0 {
		v.notation.ScrollTo(v.noteLines[0])
	}
}

// relayout shows the payloads in full (expand) or collapsed, in the background: a 1 MiB payload
// is 21,000 lines of notation and 65,536 rows of hex.
func (v *inspectorView) relayout(expand bool) {
	in := v.in
	if in == nil {
		return
	}
	var ex func(*diag.Node) bool
	if expand {
		ex = func(*diag.Node) bool { return true }
	}
	v.s.background(func() func() {
		l := diag.Render(in.Data, in.Tree, app.NotationOptions(ex))
		h := app.NewHexLayout(in.Data, in.Tree, ex)
		return func() {
			if v.in != in {
				return
			}
			v.listing, v.hexRows = l, h
			if v.selected != nil {
				v.highlight(v.selected)
			} else {
				v.notation.Refresh()
				v.hex.Refresh()
			}
		}
	})
}

// SelectPath selects the element at path ("envelope/manifest/common").
func (v *inspectorView) SelectPath(path string) bool {
	if v.in == nil {
		return false
	}
	n := v.in.Tree.Find(path)
	if n == nil {
		return false
	}
	v.selectNode(n, true)
	return true
}

func (v *inspectorView) showVerification(ver *suit.Verification, kerrs []error, err error) {
	v.verdict.RemoveAll()
	if err != nil {
		v.verdict.Add(wrapLabel("Cannot verify: " + err.Error()))
		return
	}
	title := "Not verified"
	if ver.Authentic {
		title = "Authentic: signed by a trusted key; covers " + ver.Scope()
	} else if ver.Reason != "" {
		title = "Not verified: " + ver.Reason
	}
	var icon fyne.Resource = theme.NewErrorThemedResource(theme.ErrorIcon())
	if ver.Authentic {
		icon = theme.NewSuccessThemedResource(theme.ConfirmIcon())
	}
	v.verdictTitle = title
	v.verdict.Add(container.NewBorder(nil, nil, widget.NewIcon(icon), nil, widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})))
	dg := "matches"
	if !ver.DigestOK {
		dg = "DOES NOT MATCH the manifest (computed " + hex.EncodeToString(ver.ComputedDigest) + ")"
	}
	v.verdict.Add(wrapLabel(fmt.Sprintf("Manifest digest %s %s: %s", suit.DigestName(ver.Digest.Alg), hex.EncodeToString(ver.Digest.Bytes), dg)))
	if len(ver.Blocks) == 0 {
		v.verdict.Add(wrapLabel("No authentication block: the envelope is not signed. Sign it before sending it to a device."))
	}
	for _, b := range ver.Blocks {
		line := fmt.Sprintf("Block %d: %s, %s", b.Index, b.Kind, b.AlgName)
		if len(b.KID) > 0 {
			line += ", kid " + hex.EncodeToString(b.KID)
		}
		if b.Verified {
			line += ": verified with " + b.KeyName
		} else {
			line += ": not verified: " + b.Reason
		}
		v.verdict.Add(wrapLabel(line))
	}
	for _, m := range ver.Members {
		state := "in the manifest"
		switch {
		case m.Severed && !m.Present:
			state = "severed, not carried in this envelope (the device must get it separately)"
		case m.Severed && m.DigestOK:
			state = "severed, carried, digest matches"
		case m.Severed:
			state = "severed, carried, DIGEST DOES NOT MATCH: " + m.Reason
		}
		v.verdict.Add(wrapLabel(m.Name + ": " + state))
	}
	for _, p := range ver.Payloads {
		v.verdict.Add(wrapLabel(fmt.Sprintf("Integrated payload %q (%d bytes): %s: %s", p.Key, p.Size, p.Status, p.Reason)))
	}
	for _, e := range kerrs {
		v.verdict.Add(wrapLabel(e.Error()))
	}
}

func (v *inspectorView) refreshKeys() {
	v.keys.RemoveAll()
	v.keys.Add(wrapLabel("The trust store of the Keys tab and of 'suit verify': " + v.s.TrustDir))
	if v.trustErr != nil {
		v.keys.Add(wrapLabel("Cannot read the trust store: " + v.trustErr.Error()))
	}
	if len(v.s.TrustedKeys) == 0 {
		v.keys.Add(wrapLabel("None yet. Add the PEM public key of each signer you trust."))
	}
	for _, k := range v.s.TrustedKeys {
		k := k
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { v.s.RemoveTrustedKey(k) })
		name := widget.NewLabel(strings.TrimSuffix(filepath.Base(k), ".pem"))
		name.Truncation = fyne.TextTruncateEllipsis
		v.keys.Add(container.NewBorder(nil, nil, nil, rm, name))
	}
	if v.trustNote != "" {
		v.keys.Add(wrapLabel(v.trustNote))
	}
}

// verify re-runs verification after the trusted keys changed.
func (v *inspectorView) verify() {
	v.refreshKeys()
	if v.cms != nil {
		v.cms.opts.TrustPaths = append([]string(nil), v.s.TrustedKeys...)
		v.cms.Verify() // shows its result under doneMu: not called with it held by a completion
		return
	}
	if v.in == nil {
		return
	}
	data := v.in.Data
	keys := append([]string(nil), v.s.TrustedKeys...)
	v.s.background(func() func() {
		ver, kerrs, err := app.VerifyWithFiles(data, keys)
		return func() { v.showVerification(ver, kerrs, err) }
	})
}

func (v *inspectorView) addKeyDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		v.s.AddTrustedKey(r.URI().Path())
	}, v.s.Win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".pub", ".key", ".crt", ".cer", ".der"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// inspectExts are the files the inspector's open dialog lists: envelopes and CMS packages.
var inspectExts = []string{".suit", ".cbor", ".hex", ".cms", ".p7", ".p7m", ".der"}

// openDialog inspects a file without making it the document.
func (v *inspectorView) openDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		v.InspectFile(r.URI().Path())
	}, v.s.Win)
	d.SetFilter(storage.NewExtensionFileFilter(inspectExts))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// InspectFile inspects the envelope in a file (binary or hex text), or the RFC 4108 CMS
// firmware package in it.
func (v *inspectorView) InspectFile(path string) {
	prev := v.file
	v.file = path
	v.gen++
	gen := v.gen
	v.s.background(func() func() {
		b, err := readFileLimited(path)
		return func() {
			if gen != v.gen {
				return
			}
			if err != nil {
				v.file = prev
				v.s.showError("Cannot inspect", &app.FileError{Op: "read", Path: path, Err: err, Hint: "check the file name and its permissions"})
				return
			}
			if LooksLikeCMS(b) {
				v.dirty = false
				v.showCMS(b, path)
				return
			}
			data, ok := app.EnvelopeBytes(b)
			if !ok {
				v.file = prev
				v.s.showError("Cannot inspect", &app.FileError{Op: "inspect", Path: path, Err: app.ErrUnrecognized, Hint: "the inspector reads CBOR envelopes (binary or hex) and CMS firmware packages; open sources in the editor"})
				return
			}
			v.dirty = false
			v.Inspect(data, path)
		}
	})
}
