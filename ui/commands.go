package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// sequencePurpose explains each sequence in a line.
var sequencePurpose = map[string]string{
	"shared-sequence":        "Runs before every other sequence: checks that the manifest is for this device and sets the parameters they share. Only conditions and parameter commands are allowed here.",
	"payload-fetch":          "Update: gets the payloads into temporary storage.",
	"install":                "Update: fetches or copies the payloads into their components and verifies them.",
	"validate":               "Update and every boot: checks that the installed images are the right ones.",
	"load":                   "Every boot: copies or decompresses images into the component they run from.",
	"invoke":                 "Every boot: starts the image.",
	"dependency-resolution":  "Update (trust domains): gets the manifests this one depends on.",
	"candidate-verification": "Update (trust domains): checks the candidate images before installation.",
	"uninstall":              "Trust domains: runs when the component is no longer needed.",
}

// defaultCommand is the command a new entry starts as: the reporting policy the spec's examples
// use, a component index of 0, two empty alternatives for try-each.
func defaultCommand(info model.CommandInfo) model.Command {
	c := model.Command{Label: info.Label}
	switch info.Arg {
	case model.ArgPolicy:
		c.Policy = 2
		if info.Condition {
			c.Policy = 15
		}
	case model.ArgIndex:
		c.Index = &model.ComponentIndex{Indices: []uint64{0}}
	case model.ArgParams:
		c.Params = []model.Parameter{}
	case model.ArgTryEach:
		c.Sequences = []*model.CommandSequence{{}, {}}
	case model.ArgSequence:
		c.Sequences = []*model.CommandSequence{{}}
	case model.ArgRaw:
		c.Raw = []byte{0xf6}
	case model.ArgMultiple, model.ArgCopyParams:
		defaultUMCommand(&c)
	}
	return c
}

// commandChoices lists the commands that may be added to a sequence ("name - description").
func commandChoices(shared bool) ([]string, map[string]model.CommandInfo) {
	var names []string
	byName := map[string]model.CommandInfo{}
	for _, c := range model.Commands() {
		if shared && !c.Shared {
			continue
		}
		n := c.Name + " - " + c.Description
		names = append(names, n)
		byName[n] = c
	}
	return names, byName
}

func (e *editorView) sequenceForm(env *model.Envelope, path string) fyne.CanvasObject {
	seq := seqAt(env, path)
	name := path[strings.LastIndexByte(path, '/')+1:]
	title := name
	if strings.Contains(path, "/try-each/") && !strings.HasSuffix(path, "/run-sequence") {
		j, _ := strconv.Atoi(name)
		title = fmt.Sprintf("try-each alternative %d", j+1)
	}
	if seq == nil {
		return formPage(title, "This sequence no longer exists.")
	}
	list := container.NewVBox()
	for i := range seq.Commands {
		i := i
		c := &seq.Commands[i]
		cp := commandPath(path, i, c)
		open := widget.NewButton(fmt.Sprintf("%d. %s", i+1, commandLabel(c, env.Manifest)), func() { e.Select(cp) })
		open.Alignment = widget.ButtonAlignLeading
		list.Add(container.NewBorder(nil, nil, nil, e.moveButtons(path, i, len(seq.Commands)), open))
	}
	if len(seq.Commands) == 0 {
		list.Add(widget.NewLabel("No commands yet."))
	}
	shared := path == pathShared
	choices, byName := commandChoices(shared)
	pick := widget.NewSelect(choices, nil)
	pick.PlaceHolder = "Choose a command to add"
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() {
		info, ok := byName[pick.Selected]
		if !ok {
			return
		}
		n := len(seqAt(e.s.doc.Envelope(), path).Commands)
		cmd := defaultCommand(info)
		e.apply("Add "+info.Name, func(env *model.Envelope) {
			s := seqAt(env, path)
			s.Commands = append(s.Commands, cmd)
		}, commandPath(path, n, &cmd))
	})
	e.addCommandPick, e.addCommandButton = pick, add
	objs := []fyne.CanvasObject{list, container.NewBorder(nil, nil, nil, add, pick)}
	if _, sev := topSequence(env.Manifest, name); sev != nil && path == pathManifest+"/"+name {
		severed := widget.NewCheck("Severed: travels beside the manifest, which keeps only its digest", func(on bool) {
			e.apply("Sever "+name, func(env *model.Envelope) {
				_, sv := topSequence(env.Manifest, name)
				sv.Severed = on
				sv.Digest = nil
			}, "")
		})
		severed.SetChecked(sev.Severed)
		objs = append(objs, severed)
	}
	return formPage(title, sequencePurpose[name], objs...)
}

// moveButtons are the up / down / remove buttons of command i of the sequence at seqPath.
func (e *editorView) moveButtons(seqPath string, i, n int) fyne.CanvasObject {
	up := widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() {
		e.apply("Move command up", func(env *model.Envelope) {
			s := seqAt(env, seqPath)
			s.Commands[i-1], s.Commands[i] = s.Commands[i], s.Commands[i-1]
		}, "")
	})
	down := widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() {
		e.apply("Move command down", func(env *model.Envelope) {
			s := seqAt(env, seqPath)
			s.Commands[i+1], s.Commands[i] = s.Commands[i], s.Commands[i+1]
		}, "")
	})
	rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		e.apply("Remove command", func(env *model.Envelope) {
			s := seqAt(env, seqPath)
			s.Commands = append(s.Commands[:i], s.Commands[i+1:]...)
		}, "")
	})
	if i == 0 {
		up.Disable()
	}
	if i == n-1 {
		down.Disable()
	}
	return container.NewHBox(up, down, rm)
}

func (e *editorView) commandForm(env *model.Envelope, path string) fyne.CanvasObject {
	seq, i := cmdAt(env, path)
	c := &seq.Commands[i]
	seqPath, _, _ := splitCommandPath(path)
	info := model.LookupCommand(c.Label)
	title := model.CommandName(c.Label)
	explain := "A command this studio does not know; it is kept as it is."
	if info != nil {
		kind := "Directive"
		if info.Condition {
			kind = "Condition (the device stops when it fails)"
		}
		explain = fmt.Sprintf("%s: %s. Label %d, from %s.", kind, info.Description, info.Label, info.Spec)
	}
	var arg fyne.CanvasObject
	switch {
	case info == nil || c.Raw != nil:
		arg = widget.NewForm(widget.NewFormItem("Argument (encoded CBOR, hex)", hexEntry(c.Raw, func(b []byte) {
			e.applyField("Edit argument", path+"/raw", func(env *model.Envelope) {
				s, k := cmdAt(env, path)
				s.Commands[k].Raw = b
			})
		})))
	case info.Arg == model.ArgPolicy:
		arg = e.policyEditor(path, c.Policy)
	case info.Arg == model.ArgIndex:
		arg = e.indexEditor(env, path, c.Index)
	case info.Arg == model.ArgParams:
		arg = e.paramsEditor(env, path, c.Params)
	case info.Arg == model.ArgTryEach:
		arg = e.tryEachEditor(path, c)
	case info.Arg == model.ArgMultiple:
		arg = e.multipleEditor(env, path, c.Multiple)
	case info.Arg == model.ArgCopyParams:
		arg = e.copyParamsEditor(env, path, c.CopyParams)
	case info.Arg == model.ArgSequence:
		arg = widget.NewLabel("Its commands are listed under it in the tree; select the command to add to it there.")
		if len(c.Sequences) > 0 {
			arg = e.sequenceForm(env, path)
		}
	default:
		arg = widget.NewLabel("This argument has no form yet: edit it in the YAML source (File > Save as… .yaml).")
	}
	moves := e.moveButtons(seqPath, i, len(seq.Commands))
	return formPage(fmt.Sprintf("%s (command %d of %s)", title, i+1, seqName(seqPath)), explain, arg, widget.NewSeparator(), moves)
}

func seqName(seqPath string) string {
	return seqPath[strings.LastIndexByte(seqPath, '/')+1:]
}

// policyEditor edits a reporting policy as four check boxes.
func (e *editorView) policyEditor(path string, p model.ReportingPolicy) fyne.CanvasObject {
	box := container.NewVBox(widget.NewLabel("Reporting policy: what the device reports about this command"))
	for _, b := range []struct {
		bit  model.ReportingPolicy
		name string
	}{
		{model.RecordOnSuccess, "send a record on success"},
		{model.RecordOnFailure, "send a record on failure"},
		{model.SysinfoOnSuccess, "send system information on success"},
		{model.SysinfoOnFailure, "send system information on failure"},
	} {
		bit := b.bit
		ch := widget.NewCheck(b.name, func(on bool) {
			e.applyField("Set reporting policy", path+"/policy", func(env *model.Envelope) {
				s, k := cmdAt(env, path)
				if on {
					s.Commands[k].Policy |= bit
				} else {
					s.Commands[k].Policy &^= bit
				}
			})
		})
		ch.SetChecked(p&bit != 0)
		box.Add(ch)
	}
	return box
}

// indexEditor edits set-component-index: one component, all (true), or a list.
func (e *editorView) indexEditor(env *model.Envelope, path string, ix *model.ComponentIndex) fyne.CanvasObject {
	names := componentNames(env.Manifest) // dependencies are marked
	set := func(desc string, nix model.ComponentIndex) {
		e.apply(desc, func(env *model.Envelope) {
			s, k := cmdAt(env, path)
			s.Commands[k].Index = &nix
		}, "")
	}
	mode := widget.NewRadioGroup([]string{"one component", "all components", "a list"}, nil)
	one := widget.NewSelect(names, nil)
	checks := container.NewVBox()
	cur := model.ComponentIndex{Indices: []uint64{0}}
	if ix != nil {
		cur = *ix
	}
	switch {
	case cur.All:
		mode.SetSelected("all components")
	case cur.List || len(cur.Indices) > 1:
		mode.SetSelected("a list")
	default:
		mode.SetSelected("one component")
		if len(cur.Indices) == 1 && int(cur.Indices[0]) < len(names) {
			one.SetSelected(names[cur.Indices[0]])
		}
	}
	for k := range names {
		k := k
		ch := widget.NewCheck(names[k], func(on bool) {
			var list []uint64
			for _, x := range cur.Indices {
				if int(x) != k {
					list = append(list, x)
				}
			}
			if on {
				list = append(list, uint64(k))
			}
			set("Set component list", model.ComponentIndex{List: true, Indices: list})
		})
		for _, x := range cur.Indices {
			if int(x) == k && !cur.All {
				ch.SetChecked(true)
			}
		}
		checks.Add(ch)
	}
	one.OnChanged = func(s string) {
		for k, n := range names {
			if n == s && !(len(cur.Indices) == 1 && int(cur.Indices[0]) == k && !cur.List && !cur.All) {
				set("Select component", model.ComponentIndex{Indices: []uint64{uint64(k)}})
			}
		}
	}
	mode.OnChanged = func(s string) {
		switch s {
		case "all components":
			if !cur.All {
				set("Select all components", model.ComponentIndex{All: true})
			}
		case "a list":
			if !cur.List {
				set("Select a list of components", model.ComponentIndex{List: true, Indices: append([]uint64(nil), cur.Indices...)})
			}
		case "one component":
			if cur.All || cur.List {
				set("Select one component", model.ComponentIndex{Indices: []uint64{0}})
			}
		}
	}
	mode.Horizontal = true
	var detail fyne.CanvasObject = widget.NewLabel("Every following command applies to each component, in order.")
	switch mode.Selected {
	case "one component":
		detail = one
	case "a list":
		detail = checks
	}
	return container.NewVBox(widget.NewLabel("Components the following commands apply to"), mode, detail)
}

// tryEachEditor adds and removes the alternatives of try-each.
func (e *editorView) tryEachEditor(path string, c *model.Command) fyne.CanvasObject {
	n := len(c.Sequences)
	hasNull := n > 0 && c.Sequences[n-1] == nil
	add := widget.NewButtonWithIcon("Add alternative", theme.ContentAddIcon(), func() {
		e.apply("Add alternative", func(env *model.Envelope) {
			s, k := cmdAt(env, path)
			cmd := &s.Commands[k]
			if hasNull {
				cmd.Sequences = append(cmd.Sequences[:len(cmd.Sequences)-1], &model.CommandSequence{}, nil)
			} else {
				cmd.Sequences = append(cmd.Sequences, &model.CommandSequence{})
			}
		}, "")
	})
	null := widget.NewCheck("End with \"nothing\" (try-each succeeds even when every alternative fails)", func(on bool) {
		e.apply("Toggle the empty alternative", func(env *model.Envelope) {
			s, k := cmdAt(env, path)
			cmd := &s.Commands[k]
			if on {
				cmd.Sequences = append(cmd.Sequences, nil)
			} else if len(cmd.Sequences) > 0 && cmd.Sequences[len(cmd.Sequences)-1] == nil {
				cmd.Sequences = cmd.Sequences[:len(cmd.Sequences)-1]
			}
		}, "")
	})
	null.SetChecked(hasNull)
	rm := widget.NewButtonWithIcon("Remove last alternative", theme.ContentRemoveIcon(), func() {
		e.apply("Remove alternative", func(env *model.Envelope) {
			s, k := cmdAt(env, path)
			cmd := &s.Commands[k]
			last := len(cmd.Sequences) - 1
			if hasNull {
				last--
			}
			if last >= 0 {
				cmd.Sequences = append(cmd.Sequences[:last], cmd.Sequences[last+1:]...)
			}
		}, "")
	})
	if n-btoi(hasNull) <= 2 {
		rm.Disable()
	}
	return container.NewVBox(
		widget.NewLabel(fmt.Sprintf("%d alternatives, tried in order until one succeeds. Select one in the tree to edit its commands.", n)),
		container.NewHBox(add, rm), null)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// paramsEditor edits override-parameters / set-parameters: one row per parameter with a typed
// value editor, and a picker of parameter names to add.
func (e *editorView) paramsEditor(env *model.Envelope, path string, ps []model.Parameter) fyne.CanvasObject {
	return e.paramsList(env, path, ps, func(env *model.Envelope) *[]model.Parameter {
		s, k := cmdAt(env, path)
		return &s.Commands[k].Params
	})
}

// paramsList edits the parameter list get returns (key names the list for undo merging).
func (e *editorView) paramsList(env *model.Envelope, path string, ps []model.Parameter, get func(*model.Envelope) *[]model.Parameter) fyne.CanvasObject {
	rows := widget.NewForm()
	for j := range ps {
		j := j
		p := ps[j]
		label := p.Label
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			e.apply("Remove parameter "+model.ParamName(label), func(env *model.Envelope) {
				params := get(env)
				for x := range *params {
					if (*params)[x].Label == label {
						*params = append((*params)[:x], (*params)[x+1:]...)
						break
					}
				}
			}, "")
		})
		editor := e.valueEditor(env, path, p, get)
		rows.Append(model.ParamName(p.Label), container.NewBorder(nil, nil, nil, rm, editor))
	}
	present := map[int64]bool{}
	for _, p := range ps {
		present[p.Label] = true
	}
	var names []string
	byName := map[string]model.ParamInfo{}
	for _, p := range model.Params() {
		if present[p.Label] {
			continue
		}
		n := p.Name + " - " + p.Description
		names = append(names, n)
		byName[n] = p
	}
	pick := widget.NewSelect(names, nil)
	pick.PlaceHolder = "Choose a parameter to add"
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() {
		info, ok := byName[pick.Selected]
		if !ok {
			return
		}
		e.apply("Add parameter "+info.Name, func(env *model.Envelope) {
			params := get(env)
			*params = append(*params, model.Parameter{Label: info.Label, Value: defaultValue(info)})
		}, "")
	})
	e.addParamPick, e.addParamButton = pick, add
	return container.NewVBox(rows, container.NewBorder(nil, nil, nil, add, pick))
}

// defaultValue is the starting value of a new parameter of its registered kind.
func defaultValue(info model.ParamInfo) model.Value {
	if v, ok := umDefaultValue(info.Label); ok {
		return v
	}
	v := model.Value{Kind: info.Kind}
	switch info.Kind {
	case model.KindUUID:
		v.Bytes = make([]byte, 16)
	case model.KindDigest:
		v.Digest = &model.Digest{Alg: model.AlgSHA256, Bytes: make([]byte, 32)}
	case model.KindBool:
		v.Bool = true
	case model.KindRaw:
		v.Raw = []byte{0xf6}
	}
	return v
}

// valueEditor is the typed editor of one parameter value.
func (e *editorView) valueEditor(env *model.Envelope, path string, p model.Parameter, get func(*model.Envelope) *[]model.Parameter) fyne.CanvasObject {
	label := p.Label
	key := path + "/" + model.ParamName(label)
	put := func(env *model.Envelope, v model.Value) {
		params := get(env)
		for x := range *params {
			if (*params)[x].Label == label {
				(*params)[x].Value = v
			}
		}
	}
	set := func(v model.Value) {
		e.applyField("Set "+model.ParamName(label), key, func(env *model.Envelope) { put(env, v) })
	}
	v := p.Value
	if w := e.umValueEditor(label, v, set, func(desc string, v model.Value) {
		e.apply(desc, func(env *model.Envelope) { put(env, v) }, "")
	}); w != nil {
		return w
	}
	switch v.Kind {
	case model.KindUUID:
		if v.PEN {
			return hexEntry(v.Bytes, func(b []byte) { set(model.Value{Kind: model.KindUUID, PEN: true, Bytes: b}) })
		}
		en := widget.NewEntry()
		en.SetText(model.FormatUUID(v.Bytes))
		en.Validator = func(s string) error { _, err := model.ParseUUID(strings.TrimSpace(s)); return err }
		en.OnChanged = func(s string) {
			if b, err := model.ParseUUID(strings.TrimSpace(s)); err == nil {
				set(model.Value{Kind: model.KindUUID, Bytes: b})
			}
		}
		if label == model.ParamVendorIdentifier {
			return container.NewBorder(nil, nil, nil, e.uuidHelper("From domain…", "Vendor domain name", func(s string) ([]byte, error) {
				return model.VendorID(strings.TrimSpace(s)), nil
			}, en), en)
		}
		if label == model.ParamClassIdentifier {
			return container.NewBorder(nil, nil, nil, e.uuidHelper("From model…", "Model name (the vendor ID of the manifest is the namespace)", func(s string) ([]byte, error) {
				vendor, _ := app.Identity(e.s.doc.Envelope())
				if vendor == nil {
					return nil, fmt.Errorf("set the vendor ID first: the class ID is derived from it")
				}
				return model.ClassID(vendor, strings.TrimSpace(s))
			}, en), en)
		}
		return en
	case model.KindDigest:
		d := model.Digest{Alg: model.AlgSHA256}
		if v.Digest != nil {
			d = *v.Digest
		}
		algs := []string{"SHA-256", "SHA-384", "SHA-512", "SHAKE128", "SHAKE256"}
		ids := map[string]int64{"SHA-256": model.AlgSHA256, "SHA-384": model.AlgSHA384, "SHA-512": model.AlgSHA512, "SHAKE128": model.AlgSHAKE128, "SHAKE256": model.AlgSHAKE256}
		alg := widget.NewSelect(algs, nil)
		alg.SetSelected(suit.DigestName(d.Alg))
		bytesEn := hexEntry(d.Bytes, func(b []byte) {
			d.Bytes = b
			nd := d
			set(model.Value{Kind: model.KindDigest, Digest: &nd})
		})
		alg.OnChanged = func(s string) {
			if id, ok := ids[s]; ok && id != d.Alg {
				d.Alg = id
				nd := d
				set(model.Value{Kind: model.KindDigest, Digest: &nd})
			}
		}
		return container.NewBorder(nil, nil, alg, nil, bytesEn)
	case model.KindUint:
		return uintEntry(v.Uint, func(n uint64) { set(model.Value{Kind: model.KindUint, Uint: n}) })
	case model.KindInt:
		en := widget.NewEntry()
		en.SetText(strconv.FormatInt(v.Int, 10))
		en.Validator = func(s string) error { _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); return err }
		en.OnChanged = func(s string) {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				set(model.Value{Kind: model.KindInt, Int: n})
			}
		}
		return en
	case model.KindBool:
		ch := widget.NewCheck("true", func(b bool) { set(model.Value{Kind: model.KindBool, Bool: b}) })
		ch.SetChecked(v.Bool)
		return ch
	case model.KindText:
		en := widget.NewEntry()
		en.SetText(v.Text)
		en.OnChanged = func(s string) { set(model.Value{Kind: model.KindText, Text: s}) }
		return en
	case model.KindBytes, model.KindWrapped:
		kind := v.Kind
		return hexEntry(v.Bytes, func(b []byte) { set(model.Value{Kind: kind, Bytes: b}) })
	default:
		return hexEntry(v.Raw, func(b []byte) { set(model.Value{Kind: model.KindRaw, Raw: b}) })
	}
}

// uuidHelper is a button that asks for a name and derives a UUID from it into en.
func (e *editorView) uuidHelper(text, prompt string, derive func(string) ([]byte, error), en *widget.Entry) fyne.CanvasObject {
	return widget.NewButton(text, func() {
		in := widget.NewEntry()
		showForm(e.s.Win, text, prompt, in, func() {
			b, err := derive(in.Text)
			if err != nil {
				e.s.showError("Cannot derive the ID", err)
				return
			}
			en.SetText(model.FormatUUID(b))
		})
	})
}
