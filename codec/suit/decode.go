package suit

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/suit-studio/suit-studio/model"
)

// Decode decodes a SUIT_Envelope (tagged with 107 or untagged) or a bare SUIT_Manifest_Tagged
// (1070), as draft-ietf-suit-manifest-37 defines it. Severed members carried in the envelope are
// checked against their digests in the manifest and attached to it. Unknown members, commands and
// parameters are kept. Decode does not verify signatures: see Verify.
func Decode(data []byte) (*model.Envelope, error) {
	d := &decoder{r: reader{data: data}}
	env, err := d.envelope()
	if err != nil {
		return nil, err
	}
	return env, nil
}

type decoder struct {
	r reader
}

func (d *decoder) errf(path string, it item, format string, args ...any) error {
	return &DecodeError{Path: path, Offset: it.start, Err: fmt.Errorf("%w: "+format, append([]any{ErrStructure}, args...)...)}
}

// fix fills in the path of errors raised by the low-level reader.
func fix(err error, path string) error {
	if de, ok := err.(*DecodeError); ok && de.Path == "" {
		de.Path = path
	}
	return err
}

func (d *decoder) item(off, depth int, path string) (item, error) {
	it, err := d.r.next(off, depth)
	return it, fix(err, path)
}

func (d *decoder) kids(it item, depth int, path string) ([]item, error) {
	c, err := d.r.children(it, depth)
	return c, fix(err, path)
}

// embedded decodes the CBOR item inside a byte string (bstr .cbor X); it must fill the string exactly.
func (d *decoder) embedded(bs item, depth int, path string) (item, error) {
	if bs.major != majBytes {
		return item{}, d.errf(path, bs, "expected a byte string holding CBOR (bstr .cbor), found %s", kindName(bs))
	}
	inner, err := d.item(bs.headEnd, depth+1, path)
	if err != nil {
		return item{}, err
	}
	if inner.end > bs.end {
		return item{}, &DecodeError{Path: path, Offset: bs.headEnd, Err: fmt.Errorf("%w: embedded CBOR runs past the end of its byte string", ErrMalformed)}
	}
	if inner.end != bs.end {
		return item{}, &DecodeError{Path: path, Offset: inner.end, Err: fmt.Errorf("%w: %d trailing bytes after the embedded CBOR item", ErrStructure, bs.end-inner.end)}
	}
	return inner, nil
}

func kindName(it item) string {
	switch it.major {
	case majUint:
		return "an unsigned integer"
	case majNint:
		return "a negative integer"
	case majBytes:
		return "a byte string"
	case majText:
		return "a text string"
	case majArray:
		return "an array"
	case majMap:
		return "a map"
	case majTag:
		return fmt.Sprintf("tag %d", it.arg)
	}
	switch it.arg {
	case 20, 21:
		return "a boolean"
	case 22:
		return "null"
	}
	return "a simple value or float"
}

func (d *decoder) raw(it item) []byte { return bytes.Clone(d.r.data[it.start:it.end]) }

func (d *decoder) envelope() (*model.Envelope, error) {
	data := d.r.data
	top, err := d.item(0, 0, "envelope")
	if err != nil {
		return nil, err
	}
	if top.end != len(data) {
		return nil, &DecodeError{Path: "envelope", Offset: top.end, Err: fmt.Errorf("%w: %d bytes after the envelope", ErrStructure, len(data)-top.end),
			Hint: "the file holds more than one CBOR item; give the envelope alone"}
	}
	env := &model.Envelope{}
	it := top
	if it.major == majTag {
		switch it.arg {
		case model.TagEnvelope:
			env.Tagged = true
		case model.TagManifest:
			inner, err := d.item(it.headEnd, 1, "manifest")
			if err != nil {
				return nil, err
			}
			m, err := d.manifest(inner, 1, "envelope/manifest")
			if err != nil {
				return nil, err
			}
			env.Manifest = m
			return env, nil
		default:
			return nil, d.errf("envelope", it, "tag %d is neither SUIT_Envelope_Tagged (107) nor SUIT_Manifest_Tagged (1070)", it.arg)
		}
		it, err = d.item(it.headEnd, 1, "envelope")
		if err != nil {
			return nil, err
		}
	}
	if it.major != majMap {
		return nil, &DecodeError{Path: "envelope", Offset: it.start, Err: fmt.Errorf("%w: a SUIT envelope is a map, found %s", ErrStructure, kindName(it)),
			Hint: "is this a SUIT envelope? (suit show takes binary CBOR or hex text)"}
	}
	kids, err := d.kids(it, 1, "envelope")
	if err != nil {
		return nil, err
	}
	type severed struct {
		it   item
		path string
	}
	members := map[int64]severed{}
	var manifestItem *item
	seen := map[string]bool{}
	for i := 0; i < len(kids); i += 2 {
		k, v := kids[i], kids[i+1]
		kb := string(data[k.start:k.end])
		if seen[kb] {
			return nil, d.errf("envelope", k, "duplicate map key")
		}
		seen[kb] = true
		if k.major == majText {
			key := string(k.content(data))
			path := "envelope/" + key
			if v.major != majBytes {
				return nil, d.errf(path, v, "an integrated payload must be a byte string, found %s", kindName(v))
			}
			env.Integrated = append(env.Integrated, model.IntegratedPayload{Key: key, Data: bytes.Clone(v.content(data))})
			continue
		}
		key, ok := intValue(k)
		if !ok {
			env.Unknown = append(env.Unknown, model.RawMember{Key: d.raw(k), Value: d.raw(v)})
			continue
		}
		switch key {
		case model.EnvAuthentication:
			a, err := d.auth(v, 1, "envelope/authentication-wrapper")
			if err != nil {
				return nil, err
			}
			env.Auth = a
		case model.EnvManifest:
			vv := v
			manifestItem = &vv
		case model.EnvPayloadFetch, model.EnvInstall, model.EnvText, model.EnvDependencyResolution, model.EnvCandidateVerification, model.EnvCoswid:
			members[key] = severed{v, "envelope/" + severableName(key)}
		default:
			env.Unknown = append(env.Unknown, model.RawMember{Key: d.raw(k), Value: d.raw(v)})
		}
	}
	if manifestItem == nil {
		return nil, &DecodeError{Path: "envelope", Offset: it.start, Err: fmt.Errorf("%w: no manifest (key 3)", ErrStructure)}
	}
	inner, err := d.embedded(*manifestItem, 1, "envelope/manifest")
	if err != nil {
		return nil, err
	}
	m, err := d.manifest(inner, 2, "envelope/manifest")
	if err != nil {
		return nil, err
	}
	env.Manifest = m
	keys := make([]int64, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, key := range keys {
		s := members[key]
		if err := d.attachSevered(m, key, s.it, s.path); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func severableName(key int64) string {
	switch key {
	case model.ManPayloadFetch:
		return "payload-fetch"
	case model.ManInstall:
		return "install"
	case model.ManText:
		return "text"
	case model.ManDependencyResolution:
		return "dependency-resolution"
	case model.ManCandidateVerification:
		return "candidate-verification"
	case model.ManCoswid:
		return "coswid"
	}
	return fmt.Sprint(key)
}

// attachSevered checks a severed member carried in the envelope against the manifest's digest.
func (d *decoder) attachSevered(m *model.Manifest, key int64, v item, path string) error {
	sev := severanceOf(m, key)
	if sev == nil || sev.Digest == nil {
		if sev != nil && sev.Present {
			return d.errf(path, v, "the envelope carries %s, but the manifest holds it inline too", severableName(key))
		}
		return d.errf(path, v, "the envelope carries %s, but the manifest has no digest for it", severableName(key))
	}
	if v.major != majBytes {
		return d.errf(path, v, "a severed member must be a byte string, found %s", kindName(v))
	}
	whole := d.r.data[v.start:v.end]
	got, err := digestBytes(sev.Digest.Alg, whole)
	if err != nil {
		return &DecodeError{Path: path, Offset: v.start, Err: err}
	}
	if !bytes.Equal(got, sev.Digest.Bytes) {
		return &DecodeError{Path: path, Offset: v.start, Err: fmt.Errorf("%w: %s in the envelope hashes to %x, the manifest says %x", ErrDigestMismatch, severableName(key), got, sev.Digest.Bytes),
			Hint: "the severed member was altered or belongs to another manifest"}
	}
	switch key {
	case model.ManText:
		inner, err := d.embedded(v, 1, path)
		if err != nil {
			return err
		}
		t, err := d.text(inner, 2, path)
		if err != nil {
			return err
		}
		m.Text.Text = t
	case model.ManCoswid:
		m.Coswid.Bytes = bytes.Clone(v.content(d.r.data))
	default:
		seq, err := d.sequenceBstr(v, 1, path)
		if err != nil {
			return err
		}
		severableSeq(m, key).Seq = seq
	}
	sev.Present = true
	return nil
}

func severanceOf(m *model.Manifest, key int64) *model.Severance {
	switch key {
	case model.ManText:
		return &m.Text.Severance
	case model.ManCoswid:
		return &m.Coswid.Severance
	}
	if s := severableSeq(m, key); s != nil {
		return &s.Severance
	}
	return nil
}

func severableSeq(m *model.Manifest, key int64) *model.SeverableSequence {
	switch key {
	case model.ManPayloadFetch:
		return &m.PayloadFetch
	case model.ManInstall:
		return &m.Install
	case model.ManDependencyResolution:
		return &m.DependencyResolution
	case model.ManCandidateVerification:
		return &m.CandidateVerification
	}
	return nil
}

func (d *decoder) auth(bs item, depth int, path string) (*model.Authentication, error) {
	it, err := d.embedded(bs, depth, path)
	if err != nil {
		return nil, err
	}
	if it.major != majArray || it.arg < 1 {
		return nil, d.errf(path, it, "the authentication wrapper is an array starting with the manifest digest, found %s", kindName(it))
	}
	kids, err := d.kids(it, depth+1, path)
	if err != nil {
		return nil, err
	}
	a := &model.Authentication{}
	dg, err := d.embedded(kids[0], depth+1, path+"/digest")
	if err != nil {
		return nil, err
	}
	dig, err := d.digest(dg, depth+2, path+"/digest")
	if err != nil {
		return nil, err
	}
	if _, err := digestBytes(dig.Alg, nil); err != nil {
		return nil, &DecodeError{Path: path + "/digest", Offset: dg.start, Err: err, Hint: "SUIT manifests are hashed with SHA-256 (-16)"}
	}
	a.Digest = *dig
	for i, k := range kids[1:] {
		p := fmt.Sprintf("%s/%d", path, i+1)
		if k.major != majBytes {
			return nil, d.errf(p, k, "an authentication block must be a byte string holding a COSE structure, found %s", kindName(k))
		}
		// The COSE structure inside is parsed by codec/cose when it is verified: COSE does not require
		// deterministic encoding, so the strict SUIT reader does not judge it here.
		a.Blocks = append(a.Blocks, bytes.Clone(k.content(d.r.data)))
	}
	return a, nil
}

func (d *decoder) digest(it item, depth int, path string) (*model.Digest, error) {
	if it.major != majArray || it.arg < 2 {
		return nil, d.errf(path, it, "a SUIT_Digest is [algorithm, digest bytes], found %s", kindName(it))
	}
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return nil, err
	}
	alg, ok := intValue(kids[0])
	if !ok {
		return nil, d.errf(path, kids[0], "the digest algorithm must be an integer (e.g. -16 for SHA-256)")
	}
	if kids[1].major != majBytes {
		return nil, d.errf(path, kids[1], "the digest must be a byte string, found %s", kindName(kids[1]))
	}
	dg := &model.Digest{Alg: alg, Bytes: bytes.Clone(kids[1].content(d.r.data))}
	for _, e := range kids[2:] {
		dg.Extensions = append(dg.Extensions, d.raw(e))
	}
	return dg, nil
}

func (d *decoder) uintOf(it item, path string) (uint64, error) {
	if it.major != majUint {
		return 0, d.errf(path, it, "expected an unsigned integer, found %s", kindName(it))
	}
	return it.arg, nil
}

func (d *decoder) textOf(it item, path string) (string, error) {
	if it.major != majText {
		return "", d.errf(path, it, "expected a text string, found %s", kindName(it))
	}
	b := it.content(d.r.data)
	if !utf8.Valid(b) {
		return "", d.errf(path, it, "text string is not valid UTF-8")
	}
	return string(b), nil
}

func (d *decoder) manifest(it item, depth int, path string) (*model.Manifest, error) {
	if it.major != majMap {
		return nil, d.errf(path, it, "a manifest is a map, found %s", kindName(it))
	}
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return nil, err
	}
	m := &model.Manifest{}
	var haveVersion, haveSeq, haveCommon bool
	seen := map[string]bool{}
	for i := 0; i < len(kids); i += 2 {
		k, v := kids[i], kids[i+1]
		kb := string(d.r.data[k.start:k.end])
		if seen[kb] {
			return nil, d.errf(path, k, "duplicate map key")
		}
		seen[kb] = true
		key, ok := intValue(k)
		if !ok {
			m.Unknown = append(m.Unknown, model.RawMember{Key: d.raw(k), Value: d.raw(v)})
			continue
		}
		switch key {
		case model.ManVersion:
			m.Version, err = d.uintOf(v, path+"/manifest-version")
			haveVersion = true
		case model.ManSequenceNumber:
			m.SequenceNumber, err = d.uintOf(v, path+"/manifest-sequence-number")
			haveSeq = true
		case model.ManCommon:
			var inner item
			inner, err = d.embedded(v, depth, path+"/common")
			if err == nil {
				err = d.common(inner, depth+2, path+"/common", &m.Common)
			}
			haveCommon = true
		case model.ManReferenceURI:
			var s string
			s, err = d.textOf(v, path+"/reference-uri")
			m.ReferenceURI = &s
		case model.ManManifestComponentID:
			m.ManifestComponentID, err = d.componentID(v, depth+1, path+"/manifest-component-id")
		case model.ManSetVersion:
			m.SetVersion, err = d.setVersion(v, depth, path+"/set-version")
		case model.ManValidate:
			m.Validate, err = d.sequenceBstr(v, depth, path+"/validate")
		case model.ManLoad:
			m.Load, err = d.sequenceBstr(v, depth, path+"/load")
		case model.ManInvoke:
			m.Invoke, err = d.sequenceBstr(v, depth, path+"/invoke")
		case model.ManUninstall:
			m.Uninstall, err = d.sequenceBstr(v, depth, path+"/uninstall")
		case model.ManPayloadFetch, model.ManInstall, model.ManDependencyResolution, model.ManCandidateVerification, model.ManText, model.ManCoswid:
			err = d.severableMember(m, key, v, depth, path+"/"+severableName(key))
		default:
			m.Unknown = append(m.Unknown, model.RawMember{Key: d.raw(k), Value: d.raw(v)})
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case !haveVersion:
		return nil, d.errf(path, it, "manifest-version (key 1) is missing")
	case !haveSeq:
		return nil, d.errf(path, it, "manifest-sequence-number (key 2) is missing")
	case !haveCommon:
		return nil, d.errf(path, it, "common (key 3) is missing")
	}
	return m, nil
}

// severableMember decodes a manifest member that is either inline (bstr) or severed (SUIT_Digest).
func (d *decoder) severableMember(m *model.Manifest, key int64, v item, depth int, path string) error {
	sev := severanceOf(m, key)
	if v.major == majArray {
		dg, err := d.digest(v, depth+1, path)
		if err != nil {
			return err
		}
		sev.Severed = true
		sev.Digest = dg
		return nil
	}
	if v.major != majBytes {
		return d.errf(path, v, "expected the member inline (a byte string) or severed (a digest array), found %s", kindName(v))
	}
	sev.Present = true
	switch key {
	case model.ManText:
		inner, err := d.embedded(v, depth, path)
		if err != nil {
			return err
		}
		t, err := d.text(inner, depth+2, path)
		if err != nil {
			return err
		}
		m.Text.Text = t
	case model.ManCoswid:
		m.Coswid.Bytes = bytes.Clone(v.content(d.r.data))
	default:
		seq, err := d.sequenceBstr(v, depth, path)
		if err != nil {
			return err
		}
		severableSeq(m, key).Seq = seq
	}
	return nil
}

func (d *decoder) setVersion(v item, depth int, path string) ([]int64, error) {
	inner, err := d.embedded(v, depth, path)
	if err != nil {
		return nil, err
	}
	if inner.major != majArray {
		return nil, d.errf(path, inner, "set-version is an array of integers, found %s", kindName(inner))
	}
	kids, err := d.kids(inner, depth+2, path)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(kids))
	for _, k := range kids {
		n, ok := intValue(k)
		if !ok {
			return nil, d.errf(path, k, "set-version holds integers only")
		}
		out = append(out, n)
	}
	return out, nil
}

func (d *decoder) componentID(it item, depth int, path string) (model.ComponentID, error) {
	if it.major != majArray {
		return nil, d.errf(path, it, "a component identifier is an array of byte strings, found %s", kindName(it))
	}
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return nil, err
	}
	id := make(model.ComponentID, 0, len(kids))
	for _, k := range kids {
		if k.major != majBytes {
			return nil, d.errf(path, k, "a component identifier holds byte strings only, found %s", kindName(k))
		}
		id = append(id, bytes.Clone(k.content(d.r.data)))
	}
	return id, nil
}

func (d *decoder) common(it item, depth int, path string, c *model.Common) error {
	if it.major != majMap {
		return d.errf(path, it, "common is a map, found %s", kindName(it))
	}
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := 0; i < len(kids); i += 2 {
		k, v := kids[i], kids[i+1]
		kb := string(d.r.data[k.start:k.end])
		if seen[kb] {
			return d.errf(path, k, "duplicate map key")
		}
		seen[kb] = true
		key, ok := intValue(k)
		if !ok {
			c.Unknown = append(c.Unknown, model.RawMember{Key: d.raw(k), Value: d.raw(v)})
			continue
		}
		switch key {
		case model.CommonComponents:
			p := path + "/components"
			if v.major != majArray {
				return d.errf(p, v, "components is an array of component identifiers, found %s", kindName(v))
			}
			ks, err := d.kids(v, depth+1, p)
			if err != nil {
				return err
			}
			for j, ci := range ks {
				id, err := d.componentID(ci, depth+2, fmt.Sprintf("%s/%d", p, j))
				if err != nil {
					return err
				}
				c.Components = append(c.Components, id)
			}
		case model.CommonSharedSequence:
			c.SharedSequence, err = d.sequenceBstr(v, depth, path+"/shared-sequence")
			if err != nil {
				return err
			}
		case model.CommonDependencies:
			if err := d.dependencies(v, depth+1, path+"/dependencies", c); err != nil {
				return err
			}
		default:
			c.Unknown = append(c.Unknown, model.RawMember{Key: d.raw(k), Value: d.raw(v)})
		}
	}
	return nil
}

func (d *decoder) dependencies(v item, depth int, path string, c *model.Common) error {
	if v.major != majMap {
		return d.errf(path, v, "dependencies is a map of component index to metadata, found %s", kindName(v))
	}
	kids, err := d.kids(v, depth, path)
	if err != nil {
		return err
	}
	if err := d.noDuplicateKeys(kids, path); err != nil {
		return err
	}
	for i := 0; i < len(kids); i += 2 {
		k, meta := kids[i], kids[i+1]
		idx, err := d.uintOf(k, path)
		if err != nil {
			return err
		}
		p := fmt.Sprintf("%s/%d", path, idx)
		if meta.major != majMap {
			return d.errf(p, meta, "dependency metadata is a map, found %s", kindName(meta))
		}
		dep := model.Dependency{Index: idx}
		ms, err := d.kids(meta, depth+1, p)
		if err != nil {
			return err
		}
		for j := 0; j < len(ms); j += 2 {
			if key, ok := intValue(ms[j]); ok && key == 1 {
				dep.Prefix, err = d.componentID(ms[j+1], depth+2, p+"/dependency-prefix")
				if err != nil {
					return err
				}
				continue
			}
			dep.Unknown = append(dep.Unknown, model.RawMember{Key: d.raw(ms[j]), Value: d.raw(ms[j+1])})
		}
		c.Dependencies = append(c.Dependencies, dep)
	}
	return nil
}

func (d *decoder) sequenceBstr(v item, depth int, path string) (*model.CommandSequence, error) {
	inner, err := d.embedded(v, depth, path)
	if err != nil {
		return nil, err
	}
	return d.sequence(inner, depth+2, path)
}

func (d *decoder) sequence(it item, depth int, path string) (*model.CommandSequence, error) {
	if it.major != majArray {
		return nil, d.errf(path, it, "a command sequence is an array, found %s", kindName(it))
	}
	if it.arg%2 != 0 {
		return nil, d.errf(path, it, "a command sequence alternates labels and arguments, but it has an odd number (%d) of items", it.arg)
	}
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return nil, err
	}
	seq := &model.CommandSequence{Commands: make([]model.Command, 0, len(kids)/2)}
	for i := 0; i < len(kids); i += 2 {
		n := i / 2
		label, ok := intValue(kids[i])
		if !ok {
			return nil, d.errf(fmt.Sprintf("%s/%d", path, n), kids[i], "a command label must be an integer, found %s", kindName(kids[i]))
		}
		p := fmt.Sprintf("%s/%d/%s", path, n, model.CommandName(label))
		cmd, err := d.command(label, kids[i+1], depth+1, p)
		if err != nil {
			return nil, err
		}
		seq.Commands = append(seq.Commands, cmd)
	}
	return seq, nil
}

func (d *decoder) command(label int64, arg item, depth int, path string) (model.Command, error) {
	cmd := model.Command{Label: label}
	info := model.LookupCommand(label)
	if info == nil {
		cmd.Raw = d.raw(arg)
		return cmd, nil
	}
	// An argument of the wrong type for a known command is kept as it was (Validate reports it).
	keepRaw := func() (model.Command, error) { cmd.Raw = d.raw(arg); return cmd, nil }
	switch info.Arg {
	case model.ArgPolicy:
		if arg.major != majUint {
			return keepRaw()
		}
		cmd.Policy = model.ReportingPolicy(arg.arg)
	case model.ArgIndex:
		switch {
		case arg.major == majUint:
			cmd.Index = &model.ComponentIndex{Indices: []uint64{arg.arg}}
		case arg.major == majSimple && arg.arg == 21:
			cmd.Index = &model.ComponentIndex{All: true}
		case arg.major == majArray:
			kids, err := d.kids(arg, depth, path)
			if err != nil {
				return cmd, err
			}
			if len(kids) == 0 {
				return keepRaw() // IndexArg is [+uint]: an empty list is not an index
			}
			ci := &model.ComponentIndex{List: true}
			for _, k := range kids {
				if k.major != majUint {
					return keepRaw()
				}
				ci.Indices = append(ci.Indices, k.arg)
			}
			cmd.Index = ci
		default:
			return keepRaw()
		}
	case model.ArgParams:
		if arg.major != majMap {
			return keepRaw()
		}
		ps, err := d.params(arg, depth, path)
		if err != nil {
			return cmd, err
		}
		cmd.Params = ps
	case model.ArgSequence:
		if arg.major != majBytes {
			return keepRaw()
		}
		s, err := d.sequenceBstr(arg, depth, path)
		if err != nil {
			return cmd, err
		}
		cmd.Sequences = []*model.CommandSequence{s}
	case model.ArgTryEach:
		if arg.major != majArray {
			return keepRaw()
		}
		kids, err := d.kids(arg, depth, path)
		if err != nil {
			return cmd, err
		}
		for j, k := range kids {
			if k.major == majSimple && k.arg == 22 {
				cmd.Sequences = append(cmd.Sequences, nil)
				continue
			}
			s, err := d.sequenceBstr(k, depth+1, fmt.Sprintf("%s/%d", path, j))
			if err != nil {
				return cmd, err
			}
			cmd.Sequences = append(cmd.Sequences, s)
		}
	case model.ArgMultiple:
		ok, err := d.indexedMap(arg, depth, path, majMap, func(idx uint64, v item) (bool, error) {
			ps, err := d.params(v, depth+1, fmt.Sprintf("%s/%d", path, idx))
			cmd.Multiple = append(cmd.Multiple, model.IndexedParams{Index: idx, Params: ps})
			return true, err
		})
		if err != nil || !ok {
			cmd.Multiple = nil
			if err != nil {
				return cmd, err
			}
			return keepRaw()
		}
	case model.ArgCopyParams:
		ok, err := d.indexedMap(arg, depth, path, majArray, func(idx uint64, v item) (bool, error) {
			ls, err := d.kids(v, depth+1, path)
			if err != nil {
				return false, err
			}
			e := model.IndexedLabels{Index: idx}
			for _, l := range ls {
				n, ok := intValue(l)
				if !ok {
					return false, nil
				}
				e.Labels = append(e.Labels, n)
			}
			cmd.CopyParams = append(cmd.CopyParams, e)
			return true, nil
		})
		if err != nil || !ok {
			cmd.CopyParams = nil
			if err != nil {
				return cmd, err
			}
			return keepRaw()
		}
	default:
		return keepRaw()
	}
	return cmd, nil
}

func (d *decoder) params(it item, depth int, path string) ([]model.Parameter, error) {
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return nil, err
	}
	out := make([]model.Parameter, 0, len(kids)/2)
	seen := map[int64]bool{}
	for i := 0; i < len(kids); i += 2 {
		label, ok := intValue(kids[i])
		if !ok {
			return nil, d.errf(path, kids[i], "a parameter label must be an integer, found %s", kindName(kids[i]))
		}
		if seen[label] {
			return nil, d.errf(path, kids[i], "parameter %s appears twice", model.ParamName(label))
		}
		seen[label] = true
		val, err := d.value(label, kids[i+1], depth+1, path+"/"+model.ParamName(label))
		if err != nil {
			return nil, err
		}
		out = append(out, model.Parameter{Label: label, Value: val})
	}
	return out, nil
}

// value decodes a parameter value by its registered kind; a value of another shape is kept raw.
func (d *decoder) value(label int64, v item, depth int, path string) (model.Value, error) {
	raw := model.Value{Kind: model.KindRaw, Raw: d.raw(v)}
	info := model.LookupParam(label)
	if info == nil {
		return raw, nil
	}
	data := d.r.data
	switch info.Kind {
	case model.KindUUID:
		if v.major == majBytes {
			return model.Value{Kind: model.KindUUID, Bytes: bytes.Clone(v.content(data))}, nil
		}
		if v.major == majTag && v.arg == model.TagPEN && label == model.ParamVendorIdentifier {
			in, err := d.item(v.headEnd, depth+1, path)
			if err != nil {
				return raw, err
			}
			if in.major == majBytes {
				return model.Value{Kind: model.KindUUID, PEN: true, Bytes: bytes.Clone(in.content(data))}, nil
			}
		}
	case model.KindBytes:
		if v.major == majBytes {
			return model.Value{Kind: model.KindBytes, Bytes: bytes.Clone(v.content(data))}, nil
		}
	case model.KindWrapped:
		if v.major == majBytes {
			return model.Value{Kind: model.KindWrapped, Bytes: bytes.Clone(v.content(data))}, nil
		}
	case model.KindUint:
		if v.major == majUint {
			return model.Value{Kind: model.KindUint, Uint: v.arg}, nil
		}
	case model.KindInt:
		if n, ok := intValue(v); ok {
			return model.Value{Kind: model.KindInt, Int: n}, nil
		}
	case model.KindBool:
		if v.major == majSimple && (v.arg == 20 || v.arg == 21) {
			return model.Value{Kind: model.KindBool, Bool: v.arg == 21}, nil
		}
	case model.KindText:
		if v.major == majText {
			s, err := d.textOf(v, path)
			if err != nil {
				return raw, err
			}
			return model.Value{Kind: model.KindText, Text: s}, nil
		}
	case model.KindDigest:
		if v.major == majBytes {
			inner, err := d.embedded(v, depth, path)
			if err != nil {
				return raw, err
			}
			dg, err := d.digest(inner, depth+2, path)
			if err != nil {
				return raw, err
			}
			return model.Value{Kind: model.KindDigest, Digest: dg}, nil
		}
	}
	return raw, nil
}

func (d *decoder) text(it item, depth int, path string) (*model.TextMap, error) {
	if it.major != majMap {
		return nil, d.errf(path, it, "the text map is a map of language tags, found %s", kindName(it))
	}
	kids, err := d.kids(it, depth, path)
	if err != nil {
		return nil, err
	}
	if err := d.noDuplicateKeys(kids, path); err != nil {
		return nil, err
	}
	tm := &model.TextMap{}
	for i := 0; i < len(kids); i += 2 {
		k, v := kids[i], kids[i+1]
		tag, err := d.textOf(k, path)
		if err != nil {
			return nil, err
		}
		p := path + "/" + tag
		if v.major != majMap {
			return nil, d.errf(p, v, "the text for a language is a map, found %s", kindName(v))
		}
		lang := model.TextLanguage{Tag: tag}
		ls, err := d.kids(v, depth+1, p)
		if err != nil {
			return nil, err
		}
		if err := d.noDuplicateKeys(ls, p); err != nil {
			return nil, err
		}
		for j := 0; j < len(ls); j += 2 {
			lk, lv := ls[j], ls[j+1]
			if n, ok := intValue(lk); ok && lv.major == majText {
				s, err := d.textOf(lv, p)
				if err != nil {
					return nil, err
				}
				lang.Entries = append(lang.Entries, model.TextEntry{Key: n, Text: s})
				continue
			}
			if lk.major == majArray && lv.major == majMap {
				id, err := d.componentID(lk, depth+2, p)
				if err != nil {
					return nil, err
				}
				ct := model.ComponentText{Component: id}
				cs, err := d.kids(lv, depth+2, p)
				if err != nil {
					return nil, err
				}
				if err := d.noDuplicateKeys(cs, p); err != nil {
					return nil, err
				}
				for x := 0; x < len(cs); x += 2 {
					if n, ok := intValue(cs[x]); ok && cs[x+1].major == majText {
						s, err := d.textOf(cs[x+1], p)
						if err != nil {
							return nil, err
						}
						ct.Entries = append(ct.Entries, model.TextEntry{Key: n, Text: s})
						continue
					}
					ct.Unknown = append(ct.Unknown, model.RawMember{Key: d.raw(cs[x]), Value: d.raw(cs[x+1])})
				}
				lang.Components = append(lang.Components, ct)
				continue
			}
			lang.Unknown = append(lang.Unknown, model.RawMember{Key: d.raw(lk), Value: d.raw(lv)})
		}
		tm.Languages = append(tm.Languages, lang)
	}
	return tm, nil
}

// noDuplicateKeys rejects a map (given as alternating key and value items) with a key twice. With
// shortest-form heads enforced, equal keys have equal encodings.
func (d *decoder) noDuplicateKeys(kids []item, path string) error {
	seen := make(map[string]bool, len(kids)/2)
	for i := 0; i < len(kids); i += 2 {
		k := string(d.r.data[kids[i].start:kids[i].end])
		if seen[k] {
			return d.errf(path, kids[i], "duplicate map key")
		}
		seen[k] = true
	}
	return nil
}

// indexedMap walks an argument that maps component indexes to values of one major type
// (override-multiple, copy-params). It reports false, without error, when the argument has another
// shape, so that the caller keeps it raw.
func (d *decoder) indexedMap(arg item, depth int, path string, valueMajor byte, each func(idx uint64, v item) (bool, error)) (bool, error) {
	if arg.major != majMap {
		return false, nil
	}
	kids, err := d.kids(arg, depth, path)
	if err != nil {
		return false, err
	}
	if err := d.noDuplicateKeys(kids, path); err != nil {
		return false, err
	}
	for j := 0; j < len(kids); j += 2 {
		if kids[j].major != majUint || kids[j+1].major != valueMajor {
			return false, nil
		}
		if ok, err := each(kids[j].arg, kids[j+1]); !ok || err != nil {
			return ok, err
		}
	}
	return true, nil
}
