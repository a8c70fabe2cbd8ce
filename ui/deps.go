package ui

// The manifest hierarchy of draft-ietf-suit-trust-domains: the dependencies of the manifest (and
// of the integrated ones, below them), and adding a dependency from a signed envelope file.

import (
	"context"
	"encoding/hex"
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
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// depState is the dependency card's choices: how the device gets the next dependency added.
type depState struct {
	depURI       string
	depIntegrate bool
	depName      string
	depHierarchy *widget.Label // the hierarchy as text, kept for tests
	depAdd       *widget.Button
	depRemove    []*widget.Button
	depKey       *KeyPicker // the dependency author's key, when the studio signs the dependency
}

// hierarchyText writes the manifest hierarchy, one manifest a line, indented by level.
func hierarchyText(env *model.Envelope) string {
	var b strings.Builder
	seq := uint64(0)
	if env != nil && env.Manifest != nil {
		seq = env.Manifest.SequenceNumber
	}
	fmt.Fprintf(&b, "this manifest (sequence %d)\n", seq)
	var write func(nodes []app.DependencyNode, depth int)
	write = func(nodes []app.DependencyNode, depth int) {
		for _, n := range nodes {
			ind := strings.Repeat("    ", depth)
			fmt.Fprintf(&b, "%s└ #%d %s", ind, n.Index, app.ComponentName(n.Component))
			if n.Digest != nil {
				fmt.Fprintf(&b, "  %s %s", suit.DigestName(n.Digest.Alg), shortHex(n.Digest.Bytes))
			} else {
				b.WriteString("  (no digest set: dependency-integrity fails)")
			}
			switch {
			case n.URI == "":
				b.WriteString("  (no URI)")
			case n.Envelope != nil:
				signed := "signed"
				if !n.Signed {
					signed = "NOT signed"
				}
				fmt.Fprintf(&b, "  integrated %s, sequence %d, %s", n.URI, n.Sequence, signed)
			case n.Problem != "":
				fmt.Fprintf(&b, "  %s: cannot read it: %s", n.URI, n.Problem)
			default:
				fmt.Fprintf(&b, "  fetched from %s", n.URI)
			}
			b.WriteString("\n")
			write(n.Children, depth+1)
		}
	}
	write(app.Dependencies(env), 1)
	return strings.TrimRight(b.String(), "\n")
}

func shortHex(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// dependenciesCard is the Components page's card for the manifest hierarchy.
func (e *editorView) dependenciesCard(env *model.Envelope) fyne.CanvasObject {
	h := widget.NewLabel(hierarchyText(env))
	h.Wrapping = fyne.TextWrapWord
	e.depHierarchy = h
	uri := widget.NewEntry()
	uri.SetPlaceHolder("URI the device fetches the dependency from")
	uri.SetText(e.depURI)
	uri.OnChanged = func(s string) { e.depURI = s }
	name := widget.NewEntry()
	name.SetPlaceHolder("name in the envelope (default: the file name)")
	name.SetText(e.depName)
	name.OnChanged = func(s string) { e.depName = s }
	integrate := widget.NewCheck("Carry the dependency in this envelope (integrated)", func(b bool) {
		e.depIntegrate = b
		if b {
			uri.Disable()
			name.Enable()
		} else {
			uri.Enable()
			name.Disable()
		}
	})
	integrate.SetChecked(e.depIntegrate)
	if !e.depIntegrate {
		name.Disable()
	}
	e.depKey = NewKeyPicker(e.s.Win, KeyPickerOptions{Keys: e.s.recentKeys(), Manager: e.s.keyManagerOptions()})
	keyRow := widget.NewForm(widget.NewFormItem("Sign it with", e.depKey))
	keyNote := wrapLabel("Leave the key empty to add a file that is already signed. With a key (the dependency author's, not yours), the file - any manifest the studio opens - is signed with it first; a dependency fetched by URI is written signed beside it as NAME.signed.suit, to publish.")
	add := widget.NewButtonWithIcon("Add dependency from a file…", theme.FileIcon(), e.chooseDependency)
	e.depAdd = add
	removes := container.NewHBox()
	e.depRemove = nil
	last := uint64(len(env.Manifest.Common.Components) - 1)
	for _, d := range env.Manifest.Common.Dependencies {
		idx := d.Index
		rm := widget.NewButtonWithIcon(fmt.Sprintf("Remove #%d", idx), theme.DeleteIcon(), func() {
			var err error
			e.apply(fmt.Sprintf("Remove dependency #%d", idx), func(env *model.Envelope) { err = app.RemoveDependency(env, idx) }, pathComponents)
			if err != nil {
				e.s.showError("Cannot remove the dependency", err)
			}
		})
		if idx != last {
			rm.Disable() // only the last component can go: the others keep their indices
		}
		e.depRemove = append(e.depRemove, rm)
		removes.Add(rm)
	}
	return widget.NewCard("Dependencies (trust domains)", "",
		container.NewVBox(
			wrapLabel("A dependency is another manifest, signed by its own author with its own key: sign it first (open it and use Sign and export), then add the signed file here. Its digest goes into this manifest (image-digest, checked by dependency-integrity); this manifest is signed with your key."),
			h, removes, uri, integrate, name, keyRow, keyNote, add))
}

func (e *editorView) chooseDependency() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		e.addDependencyFile(r.URI().Path())
	}, e.s.Win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// addDependencyFile reads a dependency file and adds it (in the background; the edit itself runs
// on the event goroutine through the document, so it is undoable). With a key chosen in the card,
// the file is signed with it first.
func (e *editorView) addDependencyFile(path string) {
	keyRef := ""
	if e.depKey != nil {
		keyRef = e.depKey.Selected()
	}
	integrate := e.depIntegrate
	opts := signer.LoadOptions{PIN: e.s.pin, Context: context.Background()}
	e.s.background(func() func() {
		data, written, err := readDependency(path, keyRef, !integrate, opts)
		return func() {
			if err != nil {
				e.s.showError("Cannot add the dependency", err)
				return
			}
			if e.AddDependency(filepath.Base(path), data) && written != "" {
				e.status.SetText(e.status.Text + " The signed dependency is in " + written + ": publish it at the URI.")
			}
		}
	})
}

// readDependency reads a dependency file; with keyRef it parses it (any format the studio opens),
// signs it with that key and, when write, saves the signed envelope beside it (written).
func readDependency(path, keyRef string, write bool, opts signer.LoadOptions) (data []byte, written string, err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, "", &app.FileError{Op: "read", Path: path, Err: err, Hint: "check the file name and its permissions"}
	}
	if keyRef == "" {
		if raw, ok := app.EnvelopeBytes(data); ok {
			data = raw
		}
		return data, "", nil
	}
	env, _, err := app.ParseDocument(data, filepath.Dir(path))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	enc, err := suit.Encode(env)
	if err != nil {
		return nil, "", fmt.Errorf("%s cannot be encoded: %w", filepath.Base(path), err)
	}
	key, err := signer.LoadPrivate(keyRef, opts)
	if err != nil {
		return nil, "", err
	}
	defer signer.CloseKey(key)
	if data, err = app.SignEnvelope(enc, []any{key}, app.SignOptions{Replace: true}); err != nil {
		return nil, "", err
	}
	if write {
		base := filepath.Base(path)
		for _, ext := range []string{filepath.Ext(base), ".suit"} {
			base = strings.TrimSuffix(base, ext)
		}
		written = filepath.Join(filepath.Dir(path), base+".signed.suit")
		if err := app.WriteExport(written, data, false); err != nil {
			return nil, "", err
		}
	}
	return data, written, nil
}

// AddDependency adds the signed envelope data (from a file called name) as a dependency, with
// the card's choices, and reports whether it did.
func (e *editorView) AddDependency(name string, data []byte) bool {
	src := app.DependencySource{URI: strings.TrimSpace(e.depURI), Integrate: e.depIntegrate, Name: strings.TrimSpace(e.depName)}
	if src.Integrate && src.Name == "" {
		src.Name = app.DependencyName(name)
	}
	// Try on a copy first: a refused dependency leaves no step in the undo history.
	if _, err := app.AddDependency(app.CloneEnvelope(e.s.doc.Envelope()), data, src); err != nil {
		e.s.showError("Cannot add the dependency", err)
		return false
	}
	var (
		n   int
		err error
	)
	e.apply("Add dependency "+name, func(env *model.Envelope) {
		n, err = app.AddDependency(env, data, src)
	}, pathComponents)
	if err != nil {
		e.s.showError("Cannot add the dependency", err)
		return false
	}
	e.status.SetText("Dependency " + name + " added as component #" + strconv.Itoa(n) + ". Sign this manifest again with your key.")
	return true
}
