package suit

import (
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// Encoders and decoders of the typed update-management values: the contents (X of
// "bstr .cbor X") of suit-parameter-version, suit-parameter-wait-info and
// suit-parameter-component-metadata, as model.Value{Kind: model.KindWrapped} holds them.

// EncodeVersionMatch encodes SUIT_Parameter_Version_Match.
func EncodeVersionMatch(v model.VersionMatch) []byte {
	var w writer
	w.array(2)
	w.int(v.Type)
	w.array(len(v.Version))
	for _, n := range v.Version {
		w.int(n)
	}
	return w.buf
}

// top reads the single data item that must make up b.
func top(b []byte, what string) (*reader, item, error) {
	r := &reader{data: b}
	it, err := r.next(0, 0)
	if err != nil {
		return nil, item{}, fmt.Errorf("%s: %w", what, err)
	}
	if it.end != len(b) {
		return nil, item{}, fmt.Errorf("%s: %d bytes after the value at offset %d", what, len(b)-it.end, it.end)
	}
	return r, it, nil
}

// DecodeVersionMatch decodes SUIT_Parameter_Version_Match.
func DecodeVersionMatch(b []byte) (model.VersionMatch, error) {
	const what = "version: [comparison type, [+int]]"
	r, it, err := top(b, what)
	if err != nil {
		return model.VersionMatch{}, err
	}
	kids, err := r.children(it, 0)
	if err != nil || it.major != majArray || len(kids) != 2 {
		return model.VersionMatch{}, fmt.Errorf("%s: not an array of two items", what)
	}
	t, ok := intValue(kids[0])
	if !ok {
		return model.VersionMatch{}, fmt.Errorf("%s: the comparison type at offset %d is not an integer", what, kids[0].start)
	}
	if kids[1].major != majArray || kids[1].arg == 0 {
		return model.VersionMatch{}, fmt.Errorf("%s: the version at offset %d is not a non-empty array", what, kids[1].start)
	}
	vs, err := r.children(kids[1], 1)
	if err != nil {
		return model.VersionMatch{}, err
	}
	out := model.VersionMatch{Type: t}
	for _, k := range vs {
		n, ok := intValue(k)
		if !ok {
			return model.VersionMatch{}, fmt.Errorf("%s: version part at offset %d is not an integer", what, k.start)
		}
		out.Version = append(out.Version, n)
	}
	return out, nil
}

// EncodeWaitEvents encodes SUIT_Wait_Event (members sorted as deterministic CBOR sorts them).
func EncodeWaitEvents(evs []model.WaitEvent) []byte {
	pairs := make([]pair, 0, len(evs))
	for _, e := range evs {
		val := e.Raw
		if val == nil {
			val = encInt(e.Int)
		}
		pairs = append(pairs, pair{encInt(e.Key), val})
	}
	var w writer
	w.mapOf(pairs)
	return w.buf
}

// DecodeWaitEvents decodes SUIT_Wait_Event, in encoded order.
func DecodeWaitEvents(b []byte) ([]model.WaitEvent, error) {
	const what = "wait-info: { + event => argument }"
	r, it, err := top(b, what)
	if err != nil {
		return nil, err
	}
	if it.major != majMap {
		return nil, fmt.Errorf("%s: not a map", what)
	}
	kids, err := r.children(it, 0)
	if err != nil {
		return nil, err
	}
	var out []model.WaitEvent
	for i := 0; i+1 < len(kids); i += 2 {
		k, ok := intValue(kids[i])
		if !ok {
			return nil, fmt.Errorf("%s: the key at offset %d is not an integer", what, kids[i].start)
		}
		v := kids[i+1]
		ev := model.WaitEvent{Key: k}
		if n, ok := intValue(v); ok && k != model.WaitOtherDeviceVersion && waitKnown(k) {
			ev.Int = n
		} else {
			ev.Raw = append([]byte(nil), b[v.start:v.end]...)
		}
		out = append(out, ev)
	}
	return out, nil
}

func waitKnown(k int64) bool {
	for _, w := range model.WaitEvents {
		if w.Key == k {
			return true
		}
	}
	return false
}

func encActor(w *writer, a model.ActorID) {
	switch a.Kind {
	case model.ActorInt:
		w.int(a.Int)
	case model.ActorUUID:
		w.tag(37)
		w.bytes(a.Bytes)
	case model.ActorBytes:
		w.bytes(a.Bytes)
	default:
		w.text(a.Text)
	}
}

func encPerms(ps []model.Permission) []byte {
	pairs := make([]pair, 0, len(ps))
	for _, p := range ps {
		var k, v writer
		encActor(&k, p.Actor)
		v.uint(p.Bits)
		pairs = append(pairs, pair{k.buf, v.buf})
	}
	var w writer
	w.mapOf(pairs)
	return w.buf
}

// EncodeComponentMetadata encodes SUIT_Component_Metadata.
func EncodeComponentMetadata(m model.ComponentMetadata) []byte {
	var pairs []pair
	u := func(key int64, v *uint64, tag bool) {
		if v == nil {
			return
		}
		var w writer
		if tag {
			w.tag(1)
		}
		w.uint(*v)
		pairs = append(pairs, pair{encInt(key), w.buf})
	}
	u(model.MetaDefaultPermissions, m.DefaultPermissions, false)
	for _, pm := range []struct {
		key int64
		ps  []model.Permission
	}{{model.MetaUserPermissions, m.User}, {model.MetaGroupPermissions, m.Group}, {model.MetaRolePermissions, m.Role}} {
		if pm.ps != nil {
			pairs = append(pairs, pair{encInt(pm.key), encPerms(pm.ps)})
		}
	}
	u(model.MetaFileType, m.FileType, false)
	u(model.MetaModificationTime, m.ModificationTime, true)
	u(model.MetaCreationTime, m.CreationTime, true)
	if m.Creator != nil {
		var w writer
		encActor(&w, *m.Creator)
		pairs = append(pairs, pair{encInt(model.MetaCreator), w.buf})
	}
	for _, x := range m.Unknown {
		pairs = append(pairs, pair{x.Key, x.Value})
	}
	var w writer
	w.mapOf(pairs)
	return w.buf
}

func decActor(r *reader, it item, what string) (model.ActorID, error) {
	b := r.data
	if n, ok := intValue(it); ok {
		return model.ActorID{Kind: model.ActorInt, Int: n}, nil
	}
	switch it.major {
	case majText:
		return model.ActorID{Kind: model.ActorText, Text: string(it.content(b))}, nil
	case majBytes:
		return model.ActorID{Kind: model.ActorBytes, Bytes: append([]byte(nil), it.content(b)...)}, nil
	case majTag:
		if it.arg == 37 {
			c, err := r.next(it.headEnd, 1)
			if err == nil && c.major == majBytes {
				return model.ActorID{Kind: model.ActorUUID, Bytes: append([]byte(nil), c.content(b)...)}, nil
			}
		}
	}
	return model.ActorID{}, fmt.Errorf("%s: the actor at offset %d is not a UUID (#6.37), bstr, tstr or int", what, it.start)
}

// DecodeComponentMetadata decodes SUIT_Component_Metadata.
func DecodeComponentMetadata(b []byte) (model.ComponentMetadata, error) {
	const what = "component-metadata"
	var m model.ComponentMetadata
	r, it, err := top(b, what)
	if err != nil {
		return m, err
	}
	if it.major != majMap {
		return m, fmt.Errorf("%s: not a map", what)
	}
	kids, err := r.children(it, 0)
	if err != nil {
		return m, err
	}
	uintAt := func(v item, tag bool, name string) (*uint64, error) {
		if tag {
			if v.major != majTag || v.arg != 1 {
				return nil, fmt.Errorf("%s: %s at offset %d is not #6.1(uint)", what, name, v.start)
			}
			c, err := r.next(v.headEnd, 1)
			if err != nil {
				return nil, err
			}
			v = c
		}
		if v.major != majUint {
			return nil, fmt.Errorf("%s: %s at offset %d is not an unsigned integer", what, name, v.start)
		}
		n := v.arg
		return &n, nil
	}
	for i := 0; i+1 < len(kids); i += 2 {
		k, v := kids[i], kids[i+1]
		key, ok := intValue(k)
		if !ok || key < model.MetaDefaultPermissions || key > model.MetaCreator {
			m.Unknown = append(m.Unknown, model.RawMember{Key: append([]byte(nil), b[k.start:k.end]...), Value: append([]byte(nil), b[v.start:v.end]...)})
			continue
		}
		switch key {
		case model.MetaDefaultPermissions:
			m.DefaultPermissions, err = uintAt(v, false, "default-permissions")
		case model.MetaFileType:
			m.FileType, err = uintAt(v, false, "file-type")
		case model.MetaModificationTime:
			m.ModificationTime, err = uintAt(v, true, "modification-time")
		case model.MetaCreationTime:
			m.CreationTime, err = uintAt(v, true, "creation-time")
		case model.MetaCreator:
			var a model.ActorID
			a, err = decActor(r, v, what+": creator")
			m.Creator = &a
		default:
			if v.major != majMap {
				return m, fmt.Errorf("%s: permission map %d at offset %d is not a map", what, key, v.start)
			}
			var pk []item
			pk, err = r.children(v, 1)
			ps := []model.Permission{}
			for j := 0; err == nil && j+1 < len(pk); j += 2 {
				var a model.ActorID
				a, err = decActor(r, pk[j], what)
				if err == nil && pk[j+1].major != majUint {
					err = fmt.Errorf("%s: permissions at offset %d are not an unsigned integer", what, pk[j+1].start)
				}
				ps = append(ps, model.Permission{Actor: a, Bits: pk[j+1].arg})
			}
			switch key {
			case model.MetaUserPermissions:
				m.User = ps
			case model.MetaGroupPermissions:
				m.Group = ps
			default:
				m.Role = ps
			}
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// EncodeOtherDeviceVersion encodes SUIT_Wait_Event_Argument_Other_Device_Version.
func EncodeOtherDeviceVersion(o model.OtherDeviceVersion) []byte {
	var w writer
	w.array(2)
	w.bytes(o.Device)
	w.array(len(o.Versions))
	for _, v := range o.Versions {
		w.raw(EncodeVersionMatch(v))
	}
	return w.buf
}

// DecodeOtherDeviceVersion decodes SUIT_Wait_Event_Argument_Other_Device_Version.
func DecodeOtherDeviceVersion(b []byte) (model.OtherDeviceVersion, error) {
	const what = "other-device-version: [bstr, [+ version match]]"
	var o model.OtherDeviceVersion
	r, it, err := top(b, what)
	if err != nil {
		return o, err
	}
	kids, err := r.children(it, 0)
	if err != nil || it.major != majArray || len(kids) != 2 || kids[0].major != majBytes || kids[1].major != majArray || kids[1].arg == 0 {
		return o, fmt.Errorf("%s: not an array of a byte string and a non-empty array", what)
	}
	o.Device = append([]byte{}, kids[0].content(b)...)
	ms, err := r.children(kids[1], 1)
	if err != nil {
		return o, err
	}
	for _, m := range ms {
		vm, err := DecodeVersionMatch(b[m.start:m.end])
		if err != nil {
			return o, fmt.Errorf("%s: at offset %d: %w", what, m.start, err)
		}
		o.Versions = append(o.Versions, vm)
	}
	return o, nil
}

// umComment is a comment for the source form that says what a wrapped update-management value
// holds ("" for other values): the bytes stay the source of truth.
func umComment(label int64, v model.Value) string {
	if v.Kind != model.KindWrapped {
		return ""
	}
	switch label {
	case model.ParamVersion:
		if vm, err := DecodeVersionMatch(v.Bytes); err == nil {
			name, ok := model.VersionComparisonNames[vm.Type]
			if !ok {
				name = fmt.Sprintf("comparison %d", vm.Type)
			}
			return name + " " + model.FormatVersion(vm.Version)
		}
	case model.ParamWaitInfo:
		if evs, err := DecodeWaitEvents(v.Bytes); err == nil {
			var parts []string
			for _, e := range evs {
				name := fmt.Sprintf("event %d", e.Key)
				for _, w := range model.WaitEvents {
					if w.Key == e.Key {
						name = w.Name
					}
				}
				if e.Key == model.WaitOtherDeviceVersion {
					name = "other-device-version"
				}
				if e.Raw == nil {
					name += fmt.Sprintf(" %d", e.Int)
				}
				parts = append(parts, name)
			}
			return "wait for " + strings.Join(parts, ", ")
		}
	}
	return ""
}
