package ui

// Typed editors for draft-ietf-suit-update-management: the version comparison, use-before,
// wait events, component metadata, set-version, override-multiple and copy-params. Every edit
// goes through app.Document (apply / applyField), so it is undoable.

import (
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// defaultUMCommand fills in the starting argument of override-multiple and copy-params.
func defaultUMCommand(c *model.Command) {
	switch c.Label {
	case model.DirOverrideMultiple:
		c.Multiple = []model.IndexedParams{{Index: 0, Params: []model.Parameter{}}}
	case model.DirCopyParams:
		c.CopyParams = []model.IndexedLabels{{Index: 0, Labels: []int64{model.ParamImageDigest}}}
	}
}

// umDefaultValue is the starting value of a wrapped update-management parameter, or false.
func umDefaultValue(label int64) (model.Value, bool) {
	switch label {
	case model.ParamVersion:
		return model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeVersionMatch(model.VersionMatch{Type: model.VersionGreaterEqual, Version: []int64{1, 0, 0}})}, true
	case model.ParamWaitInfo:
		return model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeWaitEvents([]model.WaitEvent{{Key: model.WaitPower, Int: 1}})}, true
	case model.ParamComponentMetadata:
		ft := uint64(model.FileRegular)
		return model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeComponentMetadata(model.ComponentMetadata{FileType: &ft})}, true
	}
	return model.Value{}, false
}

// parseTime reads a time as RFC 3339 ("2027-01-01T00:00:00Z") or as seconds since 1970 UTC.
func parseTime(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("write a time as RFC 3339 (2027-01-01T00:00:00Z) or as seconds since 1970 UTC")
	}
	if t.Before(time.Unix(0, 0)) {
		return 0, fmt.Errorf("a time before 1970-01-01 cannot be encoded (the spec's type is a uint)")
	}
	return uint64(t.Unix()), nil
}

func formatTime(n uint64) string {
	if n > 1<<62 {
		return strconv.FormatUint(n, 10)
	}
	return time.Unix(int64(n), 0).UTC().Format(time.RFC3339)
}

// timeEntry is an entry for a timestamp (RFC 3339 or seconds); set gets valid values only.
func timeEntry(n uint64, set func(uint64)) *widget.Entry {
	en := widget.NewEntry()
	en.SetText(formatTime(n))
	en.SetPlaceHolder("2027-01-01T00:00:00Z")
	en.Validator = func(s string) error { _, err := parseTime(s); return err }
	en.OnChanged = func(s string) {
		if v, err := parseTime(s); err == nil {
			set(v)
		}
	}
	return en
}

// setDate puts day d into a time entry, keeping the time of day it shows (00:00:00Z when none).
func setDate(en *widget.Entry, d time.Time) {
	cur := time.Unix(0, 0).UTC()
	if n, err := parseTime(en.Text); err == nil && n < 1<<62 {
		cur = time.Unix(int64(n), 0).UTC()
	}
	t := time.Date(d.Year(), d.Month(), d.Day(), cur.Hour(), cur.Minute(), cur.Second(), 0, time.UTC)
	en.SetText(t.Format(time.RFC3339))
}

// datePicker is a button that picks the day of a time entry from a calendar.
func (e *editorView) datePicker(en *widget.Entry) fyne.CanvasObject {
	return widget.NewButtonWithIcon("Date…", theme.CalendarIcon(), func() {
		start := time.Now().UTC()
		if n, err := parseTime(en.Text); err == nil && n > 0 && n < 1<<62 {
			start = time.Unix(int64(n), 0).UTC()
		}
		var dlg dialog.Dialog
		cal := widget.NewCalendar(start, func(d time.Time) {
			setDate(en, d)
			dlg.Hide()
		})
		dlg = dialog.NewCustom("Use before (UTC)", "Cancel", cal, e.s.Win)
		dlg.Show()
	})
}

// umValueEditor is the typed editor of an update-management parameter, or nil for others. set
// is a field edit (the form stays), setS a structural one (the form is rebuilt).
func (e *editorView) umValueEditor(label int64, v model.Value, set func(model.Value), setS func(string, model.Value)) fyne.CanvasObject {
	switch {
	case label == model.ParamUseBefore && v.Kind == model.KindUint:
		en := timeEntry(v.Uint, func(n uint64) { set(model.Value{Kind: model.KindUint, Uint: n}) })
		return container.NewVBox(container.NewBorder(nil, nil, nil, e.datePicker(en), en),
			widget.NewLabel("RFC 3339 (UTC), or seconds since 1970; stored as seconds (uint)."))
	case label == model.ParamMinimumBattery && v.Kind == model.KindUint:
		en := uintEntry(v.Uint, func(n uint64) { set(model.Value{Kind: model.KindUint, Uint: n}) })
		return container.NewBorder(nil, nil, nil, widget.NewLabel("mWh"), en)
	case label == model.ParamVersion && v.Kind == model.KindWrapped:
		vm, err := suit.DecodeVersionMatch(v.Bytes)
		if err != nil {
			return nil // not decodable: the hex editor keeps it as it is
		}
		return e.versionMatchEditor(vm, func(vm model.VersionMatch) {
			set(model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeVersionMatch(vm)})
		})
	case label == model.ParamWaitInfo && v.Kind == model.KindWrapped:
		evs, err := suit.DecodeWaitEvents(v.Bytes)
		if err != nil {
			return nil
		}
		return e.waitEditor(evs, func(evs []model.WaitEvent) {
			set(model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeWaitEvents(evs)})
		}, func(desc string, evs []model.WaitEvent) {
			setS(desc, model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeWaitEvents(evs)})
		})
	case label == model.ParamComponentMetadata && v.Kind == model.KindWrapped:
		md, err := suit.DecodeComponentMetadata(v.Bytes)
		if err != nil {
			return nil
		}
		return e.metadataEditor(md, func(md model.ComponentMetadata) {
			set(model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeComponentMetadata(md)})
		}, func(desc string, md model.ComponentMetadata) {
			setS(desc, model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeComponentMetadata(md)})
		})
	}
	return nil
}

var versionTypes = []string{"greater", "greater-equal", "equal", "lesser-equal", "lesser"}

// versionMatchEditor edits SUIT_Parameter_Version_Match: a comparison and a version.
func (e *editorView) versionMatchEditor(vm model.VersionMatch, set func(model.VersionMatch)) fyne.CanvasObject {
	cmp := widget.NewSelect(versionTypes, nil)
	if n, ok := model.VersionComparisonNames[vm.Type]; ok {
		cmp.SetSelected(n)
	}
	ver := widget.NewEntry()
	ver.SetText(model.FormatVersion(vm.Version))
	ver.SetPlaceHolder("1.2.3 or 2.0-rc.1")
	ver.Validator = func(s string) error { _, err := model.ParseVersion(s); return err }
	cmp.OnChanged = func(s string) {
		for t, n := range model.VersionComparisonNames {
			if n == s && t != vm.Type {
				vm.Type = t
				set(vm)
			}
		}
	}
	ver.OnChanged = func(s string) {
		if v, err := model.ParseVersion(s); err == nil {
			vm.Version = v
			set(vm)
		}
	}
	e.umVersionType, e.umVersionEntry = cmp, ver
	return container.NewBorder(nil, nil, cmp, nil, ver)
}

// waitEditor edits SUIT_Wait_Event: one row per event.
func (e *editorView) waitEditor(evs []model.WaitEvent, set func([]model.WaitEvent), setS func(string, []model.WaitEvent)) fyne.CanvasObject {
	box := container.NewVBox()
	present := map[int64]bool{}
	clone := func() []model.WaitEvent { return append([]model.WaitEvent(nil), evs...) }
	for i := range evs {
		i := i
		ev := evs[i]
		present[ev.Key] = true
		name := fmt.Sprintf("event %d", ev.Key)
		var info *model.WaitEventInfo
		for k := range model.WaitEvents {
			if model.WaitEvents[k].Key == ev.Key {
				info = &model.WaitEvents[k]
				name = info.Name
			}
		}
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			out := clone()
			setS("Remove wait event "+name, append(out[:i], out[i+1:]...))
		})
		var ed fyne.CanvasObject
		other, oerr := suit.DecodeOtherDeviceVersion(ev.Raw)
		switch {
		case ev.Key == model.WaitOtherDeviceVersion && ev.Raw != nil && oerr == nil:
			name = "other-device-version"
			ed = e.otherDeviceEditor(other, func(o model.OtherDeviceVersion) {
				evs[i].Raw = suit.EncodeOtherDeviceVersion(o)
				set(clone())
			}, func(desc string, o model.OtherDeviceVersion) {
				out := clone()
				out[i].Raw = suit.EncodeOtherDeviceVersion(o)
				setS(desc, out)
			})
		case ev.Raw != nil:
			ed = widget.NewLabel("argument kept as it is: " + hex.EncodeToString(ev.Raw))
		case info != nil && info.Key == model.WaitTime:
			ed = timeEntry(uint64(max(ev.Int, 0)), func(n uint64) {
				evs[i].Int = int64(n)
				set(clone())
			})
		case info != nil && info.Unsigned:
			ed = uintEntry(uint64(max(ev.Int, 0)), func(n uint64) {
				evs[i].Int = int64(n)
				set(clone())
			})
		default:
			en := widget.NewEntry()
			en.SetText(strconv.FormatInt(ev.Int, 10))
			en.Validator = func(s string) error { _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); return err }
			en.OnChanged = func(s string) {
				if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
					evs[i].Int = n
					set(clone())
				}
			}
			ed = en
		}
		box.Add(container.NewBorder(nil, nil, widget.NewLabel(name), rm, ed))
	}
	var names []string
	byName := map[string]int64{}
	for _, w := range model.WaitEvents {
		if !present[w.Key] {
			n := w.Name + " - " + w.Description
			names = append(names, n)
			byName[n] = w.Key
		}
	}
	const otherName = "other-device-version - wait until another device has a matching version"
	if !present[model.WaitOtherDeviceVersion] {
		names = append(names, otherName)
		byName[otherName] = model.WaitOtherDeviceVersion
	}
	pick := widget.NewSelect(names, nil)
	pick.PlaceHolder = "Choose an event to wait for"
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() {
		k, ok := byName[pick.Selected]
		if !ok {
			return
		}
		ev := model.WaitEvent{Key: k}
		if k == model.WaitOtherDeviceVersion {
			ev.Raw = suit.EncodeOtherDeviceVersion(model.OtherDeviceVersion{Device: []byte{}, Versions: []model.VersionMatch{{Type: model.VersionGreaterEqual, Version: []int64{1}}}})
		}
		out := append(clone(), ev)
		sort.SliceStable(out, func(a, b int) bool { return out[a].Key < out[b].Key })
		setS("Add wait event", out)
	})
	e.umWaitPick, e.umWaitAdd = pick, add
	box.Add(container.NewBorder(nil, nil, nil, add, pick))
	return box
}

// permBits is a row of check boxes for SUIT_meta_permissions.
func permBits(bits uint64, set func(uint64)) fyne.CanvasObject {
	grid := container.NewGridWithColumns(4)
	for b, name := range model.MetaPermissionBits {
		bit := uint64(1) << uint(b)
		ch := widget.NewCheck(name, func(on bool) {
			if on {
				bits |= bit
			} else {
				bits &^= bit
			}
			set(bits)
		})
		ch.Checked = bits&bit != 0
		grid.Add(ch)
	}
	return grid
}

var fileTypes = []string{"absent", "regular", "directory", "symlink"}

// actorEditor edits a SUIT_meta_actor_id: text, an int, a UUID (#6.37) or bytes.
func actorEditor(a model.ActorID, set func(model.ActorID)) fyne.CanvasObject {
	kinds := []string{"text", "int", "UUID", "bytes (hex)"}
	kind := widget.NewSelect(kinds, nil)
	en := widget.NewEntry()
	text := func(a model.ActorID) string {
		switch a.Kind {
		case model.ActorInt:
			return strconv.FormatInt(a.Int, 10)
		case model.ActorUUID:
			if len(a.Bytes) == 16 {
				return model.FormatUUID(a.Bytes)
			}
			return hex.EncodeToString(a.Bytes)
		case model.ActorBytes:
			return hex.EncodeToString(a.Bytes)
		}
		return a.Text
	}
	parse := func(k model.ActorKind, s string) (model.ActorID, error) {
		s = strings.TrimSpace(s)
		switch k {
		case model.ActorInt:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return model.ActorID{}, fmt.Errorf("an integer is needed")
			}
			return model.ActorID{Kind: k, Int: n}, nil
		case model.ActorUUID:
			b, err := model.ParseUUID(s)
			return model.ActorID{Kind: k, Bytes: b}, err
		case model.ActorBytes:
			b, err := parseHex(s)
			return model.ActorID{Kind: k, Bytes: b}, err
		}
		return model.ActorID{Kind: model.ActorText, Text: s}, nil
	}
	kind.SetSelected(kinds[a.Kind])
	en.SetText(text(a))
	en.Validator = func(s string) error { _, err := parse(a.Kind, s); return err }
	en.OnChanged = func(s string) {
		if v, err := parse(a.Kind, s); err == nil {
			a = v
			set(a)
		}
	}
	kind.OnChanged = func(s string) {
		for k, n := range kinds {
			if n == s && model.ActorKind(k) != a.Kind {
				a.Kind = model.ActorKind(k)
				if v, err := parse(a.Kind, en.Text); err == nil {
					a = v
					set(a)
				}
				en.Validate()
			}
		}
	}
	return container.NewBorder(nil, nil, kind, nil, en)
}

// metadataEditor edits SUIT_Component_Metadata field by field.
func (e *editorView) metadataEditor(md model.ComponentMetadata, set func(model.ComponentMetadata), setS func(string, model.ComponentMetadata)) fyne.CanvasObject {
	form := widget.NewForm()
	// Default permissions: absent, or a set of bits.
	hasPerm := widget.NewCheck("set", nil)
	hasPerm.Checked = md.DefaultPermissions != nil
	hasPerm.OnChanged = func(on bool) {
		if on {
			var z uint64
			md.DefaultPermissions = &z
		} else {
			md.DefaultPermissions = nil
		}
		setS("Set default permissions", md)
	}
	perms := fyne.CanvasObject(hasPerm)
	if md.DefaultPermissions != nil {
		perms = container.NewVBox(hasPerm, permBits(*md.DefaultPermissions, func(b uint64) {
			md.DefaultPermissions = &b
			set(md)
		}))
	}
	form.Append("Default permissions", perms)
	for _, pm := range []struct {
		name string
		get  func(*model.ComponentMetadata) *[]model.Permission
	}{
		{"User permissions", func(m *model.ComponentMetadata) *[]model.Permission { return &m.User }},
		{"Group permissions", func(m *model.ComponentMetadata) *[]model.Permission { return &m.Group }},
		{"Role permissions", func(m *model.ComponentMetadata) *[]model.Permission { return &m.Role }},
	} {
		pm := pm
		list := *pm.get(&md)
		box := container.NewVBox()
		for j := range list {
			j := j
			rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
				l := append([]model.Permission(nil), list...)
				l = append(l[:j], l[j+1:]...)
				if len(l) == 0 {
					l = nil
				}
				*pm.get(&md) = l
				setS("Remove "+strings.ToLower(pm.name), md)
			})
			box.Add(container.NewBorder(nil, nil, nil, rm, actorEditor(list[j].Actor, func(a model.ActorID) {
				list[j].Actor = a
				set(md)
			})))
			box.Add(permBits(list[j].Bits, func(b uint64) {
				list[j].Bits = b
				set(md)
			}))
		}
		add := widget.NewButtonWithIcon("Add actor", theme.ContentAddIcon(), func() {
			l := append(append([]model.Permission(nil), list...), model.Permission{Actor: model.ActorID{Kind: model.ActorText, Text: "actor"}})
			*pm.get(&md) = l
			setS("Add "+strings.ToLower(pm.name), md)
		})
		box.Add(add)
		form.Append(pm.name, box)
	}
	ft := widget.NewSelect(fileTypes, func(s string) {
		for k, n := range fileTypes {
			if n == s {
				if k == 0 {
					md.FileType = nil
				} else {
					v := uint64(k)
					md.FileType = &v
				}
				set(md)
			}
		}
	})
	switch {
	case md.FileType == nil:
		ft.Selected = fileTypes[0]
	case *md.FileType < uint64(len(fileTypes)):
		ft.Selected = fileTypes[*md.FileType]
	default:
		ft.Selected = strconv.FormatUint(*md.FileType, 10)
	}
	form.Append("File type", ft)
	optTime := func(p **uint64) fyne.CanvasObject {
		en := widget.NewEntry()
		en.SetPlaceHolder("absent; or 2027-01-01T00:00:00Z")
		if *p != nil {
			en.SetText(formatTime(**p))
		}
		en.Validator = func(s string) error {
			if strings.TrimSpace(s) == "" {
				return nil
			}
			_, err := parseTime(s)
			return err
		}
		en.OnChanged = func(s string) {
			if strings.TrimSpace(s) == "" {
				*p = nil
				set(md)
			} else if n, err := parseTime(s); err == nil {
				*p = &n
				set(md)
			}
		}
		return en
	}
	mt, ct := optTime(&md.ModificationTime), optTime(&md.CreationTime)
	form.Append("Modification time", mt)
	form.Append("Creation time", ct)
	hasCreator := widget.NewCheck("set", func(on bool) {
		if on {
			md.Creator = &model.ActorID{Kind: model.ActorText, Text: "creator"}
		} else {
			md.Creator = nil
		}
		setS("Set creator", md)
	})
	hasCreator.Checked = md.Creator != nil
	creator := fyne.CanvasObject(hasCreator)
	if md.Creator != nil {
		creator = container.NewBorder(nil, nil, hasCreator, nil, actorEditor(*md.Creator, func(a model.ActorID) {
			md.Creator = &a
			set(md)
		}))
	}
	form.Append("Creator", creator)
	if len(md.Unknown) > 0 {
		form.Append("Extensions", widget.NewLabel(fmt.Sprintf("%d member(s) kept as they are", len(md.Unknown))))
	}
	e.umMetaFileType, e.umMetaModTime = ft, mt.(*widget.Entry)
	return form
}

// setVersionItem edits the manifest's suit-set-version: a version, or empty for none.
func (e *editorView) setVersionItem(m *model.Manifest) *widget.FormItem {
	en := widget.NewEntry()
	en.SetPlaceHolder("optional: the version this manifest installs, e.g. 1.2.3 or 2.0-rc.1")
	if m.SetVersion != nil {
		en.SetText(model.FormatVersion(m.SetVersion))
	}
	en.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		_, err := model.ParseVersion(s)
		return err
	}
	en.OnChanged = func(s string) {
		if strings.TrimSpace(s) == "" {
			e.applyField("Remove set-version", "manifest/set-version", func(env *model.Envelope) { env.Manifest.SetVersion = nil })
		} else if v, err := model.ParseVersion(s); err == nil {
			e.applyField("Set set-version", "manifest/set-version", func(env *model.Envelope) { env.Manifest.SetVersion = v })
		}
	}
	e.umSetVersion = en
	return widget.NewFormItem("Set version", en)
}

// componentNames lists the components as "#i name", marking the dependencies.
func componentNames(m *model.Manifest) []string {
	names := make([]string, len(m.Common.Components))
	for k := range m.Common.Components {
		names[k] = componentName(m, k)
	}
	return names
}

// componentName is "#i name" for component i, with "(dependency)" for a dependency.
func componentName(m *model.Manifest, i int) string {
	n := fmt.Sprintf("#%d %s", i, app.ComponentName(m.Common.Components[i]))
	for _, d := range m.Common.Dependencies {
		if d.Index == uint64(i) {
			return n + " (dependency)"
		}
	}
	return n
}

// componentSelect picks a component by index; set gets the index chosen.
func componentSelect(m *model.Manifest, cur uint64, set func(uint64)) *widget.Select {
	names := componentNames(m)
	sel := widget.NewSelect(names, nil)
	if int(cur) < len(names) {
		sel.Selected = names[cur]
	} else {
		sel.PlaceHolder = fmt.Sprintf("#%d (no such component)", cur)
	}
	sel.OnChanged = func(s string) {
		for k, n := range names {
			if n == s && uint64(k) != cur {
				set(uint64(k))
			}
		}
	}
	return sel
}

// freeIndex is the first component index not used by any entry (used reports them).
func freeIndex(n int, used func(uint64) bool) (uint64, bool) {
	for k := 0; k < n; k++ {
		if !used(uint64(k)) {
			return uint64(k), true
		}
	}
	return 0, false
}

// indexedEntryControls makes the component picker and the remove button of entry j of an
// override-multiple or copy-params list (indices: each entry's component). Choosing a component
// another entry already has is refused with taken (a format for the index).
func (e *editorView) indexedEntryControls(m *model.Manifest, indices []uint64, j int, taken string, change func(uint64), remove func()) (*widget.Select, *widget.Button) {
	sel := componentSelect(m, indices[j], func(ix uint64) {
		for k, x := range indices {
			if k != j && x == ix {
				e.s.showError("Cannot choose this component", fmt.Errorf(taken, ix))
				e.refresh(true)
				return
			}
		}
		change(ix)
	})
	return sel, widget.NewButtonWithIcon("", theme.DeleteIcon(), remove)
}

// multipleEditor edits override-multiple: per component, a parameter list.
func (e *editorView) multipleEditor(env *model.Envelope, path string, entries []model.IndexedParams) fyne.CanvasObject {
	m := env.Manifest
	box := container.NewVBox(wrapLabel("Parameters per component: each list overrides the parameters of its component (the current component index does not change)."))
	entry := func(env *model.Envelope, j int) *model.IndexedParams {
		s, k := cmdAt(env, path)
		return &s.Commands[k].Multiple[j]
	}
	indices := make([]uint64, len(entries))
	for j, en := range entries {
		indices[j] = en.Index
	}
	for j := range entries {
		j := j
		sel, rm := e.indexedEntryControls(m, indices, j, "component #%d already has an entry: edit its parameters there",
			func(ix uint64) {
				e.apply("Change component of override-multiple entry", func(env *model.Envelope) { entry(env, j).Index = ix }, "")
			},
			func() {
				e.apply("Remove override-multiple entry", func(env *model.Envelope) {
					s, k := cmdAt(env, path)
					c := &s.Commands[k]
					c.Multiple = append(c.Multiple[:j], c.Multiple[j+1:]...)
				}, "")
			})
		params := e.paramsList(env, fmt.Sprintf("%s/%d", path, j), entries[j].Params, func(env *model.Envelope) *[]model.Parameter {
			return &entry(env, j).Params
		})
		box.Add(widget.NewCard("", "", container.NewVBox(container.NewBorder(nil, nil, widget.NewLabel("Component"), rm, sel), params)))
	}
	add := widget.NewButtonWithIcon("Add component", theme.ContentAddIcon(), func() {
		ix, ok := freeIndex(len(m.Common.Components), func(x uint64) bool { return slices.Contains(indices, x) })
		if !ok {
			e.s.showError("Cannot add an entry", fmt.Errorf("every component already has an entry: add a component first"))
			return
		}
		e.apply("Add override-multiple entry", func(env *model.Envelope) {
			s, k := cmdAt(env, path)
			c := &s.Commands[k]
			c.Multiple = append(c.Multiple, model.IndexedParams{Index: ix, Params: []model.Parameter{}})
		}, "")
	})
	e.umMultipleAdd = add
	box.Add(add)
	return box
}

// copyParamsEditor edits copy-params: per source component, the parameters to copy.
func (e *editorView) copyParamsEditor(env *model.Envelope, path string, entries []model.IndexedLabels) fyne.CanvasObject {
	m := env.Manifest
	box := container.NewVBox(wrapLabel("Copy parameters from other components into the current one: per source component, the parameters to copy."))
	entry := func(env *model.Envelope, j int) *model.IndexedLabels {
		s, k := cmdAt(env, path)
		return &s.Commands[k].CopyParams[j]
	}
	e.umCopyChecks = nil
	indices := make([]uint64, len(entries))
	for j, en := range entries {
		indices[j] = en.Index
	}
	for j := range entries {
		j := j
		sel, rm := e.indexedEntryControls(m, indices, j, "component #%d already is a source: choose its parameters there",
			func(ix uint64) {
				e.apply("Change source of copy-params entry", func(env *model.Envelope) { entry(env, j).Index = ix }, "")
			},
			func() {
				e.apply("Remove copy-params entry", func(env *model.Envelope) {
					s, k := cmdAt(env, path)
					c := &s.Commands[k]
					c.CopyParams = append(c.CopyParams[:j], c.CopyParams[j+1:]...)
				}, "")
			})
		has := map[int64]bool{}
		for _, l := range entries[j].Labels {
			has[l] = true
		}
		grid := container.NewGridWithColumns(3)
		checks := map[int64]*widget.Check{}
		for _, p := range model.Params() {
			label := p.Label
			ch := widget.NewCheck(p.Name, func(on bool) {
				if cur := entry(e.s.doc.Envelope(), j).Labels; !on && len(cur) == 1 && cur[0] == label && !e.building {
					e.s.showError("Cannot copy nothing", fmt.Errorf("copy-params needs at least one parameter per source component: tick another first, or remove the entry"))
					e.refresh(true)
					return
				}
				e.applyField("Choose parameters to copy", fmt.Sprintf("%s/%d/labels", path, j), func(env *model.Envelope) {
					en := entry(env, j)
					out := en.Labels[:0:0]
					for _, l := range en.Labels {
						if l != label {
							out = append(out, l)
						}
					}
					if on {
						out = append(out, label)
						sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
					}
					en.Labels = out
				})
			})
			ch.Checked = has[label]
			checks[label] = ch
			grid.Add(ch)
		}
		for _, l := range entries[j].Labels {
			if model.LookupParam(l) == nil {
				grid.Add(widget.NewLabel(model.ParamName(l) + " (kept)"))
			}
		}
		e.umCopyChecks = append(e.umCopyChecks, checks)
		box.Add(widget.NewCard("", "", container.NewVBox(container.NewBorder(nil, nil, widget.NewLabel("From component"), rm, sel), grid)))
	}
	add := widget.NewButtonWithIcon("Add source component", theme.ContentAddIcon(), func() {
		ix, ok := freeIndex(len(m.Common.Components), func(x uint64) bool { return slices.Contains(indices, x) })
		if !ok {
			e.s.showError("Cannot add an entry", fmt.Errorf("every component already is a source: add a component first"))
			return
		}
		e.apply("Add copy-params entry", func(env *model.Envelope) {
			s, k := cmdAt(env, path)
			c := &s.Commands[k]
			c.CopyParams = append(c.CopyParams, model.IndexedLabels{Index: ix, Labels: []int64{model.ParamImageDigest}})
		}, "")
	})
	e.umCopyAdd = add
	box.Add(add)
	return box
}

// umWidgets are widgets of the update-management and dependency editors, kept for tests.
type umWidgets struct {
	umVersionType       *widget.Select
	umVersionEntry      *widget.Entry
	umWaitPick          *widget.Select
	umWaitAdd           *widget.Button
	umMetaFileType      *widget.Select
	umMetaModTime       *widget.Entry
	umSetVersion        *widget.Entry
	umMultipleAdd       *widget.Button
	umCopyAdd           *widget.Button
	umCopyChecks        []map[int64]*widget.Check
	umManifestComponent *widget.Entry
	depState
}

// umCommandLabel summarizes override-multiple and copy-params: "copy-params: #0 uri, image-digest".
func umCommandLabel(c *model.Command) string {
	var parts []string
	for _, e := range c.Multiple {
		var ps []string
		for _, p := range e.Params {
			ps = append(ps, model.ParamName(p.Label))
		}
		parts = append(parts, fmt.Sprintf("#%d %s", e.Index, strings.Join(ps, ", ")))
	}
	for _, e := range c.CopyParams {
		var ps []string
		for _, l := range e.Labels {
			ps = append(ps, model.ParamName(l))
		}
		parts = append(parts, fmt.Sprintf("from #%d %s", e.Index, strings.Join(ps, ", ")))
	}
	return model.CommandName(c.Label) + ": " + strings.Join(parts, "; ")
}

// otherDeviceEditor edits the other-device-version wait event: the other device's identifier
// (an opaque byte string, defined by the deployment) and the version comparisons it must meet.
func (e *editorView) otherDeviceEditor(o model.OtherDeviceVersion, set func(model.OtherDeviceVersion), setS func(string, model.OtherDeviceVersion)) fyne.CanvasObject {
	dev := hexEntry(o.Device, func(b []byte) {
		o.Device = b
		set(o)
	})
	dev.SetPlaceHolder("device identifier (bytes, hex; the deployment defines them)")
	box := container.NewVBox(dev)
	for j := range o.Versions {
		j := j
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			c := o
			c.Versions = append(append([]model.VersionMatch(nil), o.Versions[:j]...), o.Versions[j+1:]...)
			setS("Remove version comparison", c)
		})
		if len(o.Versions) == 1 {
			rm.Disable() // the spec needs at least one
		}
		box.Add(container.NewBorder(nil, nil, nil, rm, e.versionMatchEditor(o.Versions[j], func(vm model.VersionMatch) {
			o.Versions[j] = vm
			set(o)
		})))
	}
	add := widget.NewButtonWithIcon("Add comparison", theme.ContentAddIcon(), func() {
		c := o
		c.Versions = append(append([]model.VersionMatch(nil), o.Versions...), model.VersionMatch{Type: model.VersionLesser, Version: []int64{2}})
		setS("Add version comparison", c)
	})
	box.Add(add)
	return box
}

// manifestComponentItem edits suit-manifest-component-id (trust domains): the component that
// holds this manifest, as hex segments; empty for none. A dependent that adds this manifest as
// a dependency uses it as the dependency's component identifier.
func (e *editorView) manifestComponentItem(m *model.Manifest) *widget.FormItem {
	en := widget.NewEntry()
	en.SetPlaceHolder("optional: component holding this manifest, hex segments")
	if m.ManifestComponentID != nil {
		segs := make([]string, len(m.ManifestComponentID))
		for k, s := range m.ManifestComponentID {
			segs[k] = hex.EncodeToString(s)
		}
		en.SetText(strings.Join(segs, " "))
	}
	en.Validator = func(s string) error { _, err := parseComponentID(s); return err }
	en.OnChanged = func(s string) {
		c, err := parseComponentID(s)
		if err != nil {
			return
		}
		if len(c) == 0 {
			c = nil
		}
		e.applyField("Set manifest component ID", "manifest/manifest-component-id", func(env *model.Envelope) { env.Manifest.ManifestComponentID = c })
	}
	e.umManifestComponent = en
	return widget.NewFormItem("Manifest component ID", en)
}
