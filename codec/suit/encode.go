package suit

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/suit-studio/suit-studio/model"
)

// Encode encodes an envelope deterministically (RFC 8949 §4.2.1). The authentication wrapper's
// digest is recomputed over the encoded manifest. Existing authentication blocks are kept only when
// the manifest digest they were made over is unchanged; blocks over another digest would never
// verify, so they are dropped (compare len(env.Auth.Blocks) with the result of DecodeAuth to tell).
// Severed members that are present are written into the envelope, with their digests in the manifest.
func Encode(env *model.Envelope) ([]byte, error) {
	if env == nil || env.Manifest == nil {
		return nil, &EncodeError{Path: "envelope", Err: errors.New("no manifest")}
	}
	man, severed, err := encodeManifest(env.Manifest, "envelope/manifest")
	if err != nil {
		return nil, err
	}
	manItem := wrap(man)
	alg := int64(model.AlgSHA256)
	if env.Auth != nil && env.Auth.Digest.Alg != 0 {
		alg = env.Auth.Digest.Alg
	}
	dg, err := Digest(alg, manItem)
	if err != nil {
		return nil, &EncodeError{Path: "envelope/authentication-wrapper/digest", Err: err}
	}
	var blocks [][]byte
	if env.Auth != nil && bytes.Equal(env.Auth.Digest.Bytes, dg.Bytes) && env.Auth.Digest.Alg == dg.Alg {
		blocks = env.Auth.Blocks
		dg.Extensions = env.Auth.Digest.Extensions
	}
	var pairs []pair
	pairs = append(pairs, pair{encInt(model.EnvAuthentication), wrap(encodeAuth(dg, blocks))})
	pairs = append(pairs, pair{encInt(model.EnvManifest), manItem})
	pairs = append(pairs, severed...)
	for _, p := range env.Integrated {
		var k writer
		k.text(p.Key)
		pairs = append(pairs, pair{k.buf, wrap(p.Data)})
	}
	for _, u := range env.Unknown {
		pairs = append(pairs, pair{u.Key, u.Value})
	}
	if err := checkDuplicates(pairs, "envelope"); err != nil {
		return nil, err
	}
	var w writer
	if env.Tagged {
		w.tag(model.TagEnvelope)
	}
	w.mapOf(pairs)
	if checkEncodedDepth && mayReachLimits(env) {
		if err := decodable(w.buf); err != nil {
			return nil, err
		}
	}
	return w.buf, nil
}

// checkEncodedDepth is off only in the test that builds over-deep envelopes on purpose.
var checkEncodedDepth = true

// decodable refuses an encoding that the decoder would refuse for its limits (nesting depth
// maxDepth, element and item counts): one set of limits for reading and writing, so that 'suit
// create' never writes an envelope that 'suit show' and the device simulator cannot read.
func decodable(b []byte) error {
	_, err := Decode(b)
	if err != nil && errors.Is(err, ErrLimit) {
		var de *DecodeError
		path := "envelope"
		if errors.As(err, &de) && de.Path != "" {
			path = de.Path
		}
		return &EncodeError{Path: path, Err: err}
	}
	return nil
}

// EncodeManifest encodes the manifest alone (the content of the envelope's key 3, without the
// bstr head). Severed members are represented by their digests.
func EncodeManifest(m *model.Manifest) ([]byte, error) {
	b, _, err := encodeManifest(m, "envelope/manifest")
	return b, err
}

// EncodeAuth encodes a SUIT_Authentication array: [ bstr(digest), * bstr(block) ].
func EncodeAuth(d *model.Digest, blocks [][]byte) []byte { return encodeAuth(d, blocks) }

func encodeAuth(d *model.Digest, blocks [][]byte) []byte {
	var w writer
	w.array(1 + len(blocks))
	w.bytes(encodeDigest(d))
	for _, b := range blocks {
		w.bytes(b)
	}
	return w.buf
}

// EncodeDigest encodes a SUIT_Digest array.
func EncodeDigest(d *model.Digest) []byte { return encodeDigest(d) }

func encodeDigest(d *model.Digest) []byte {
	var w writer
	w.array(2 + len(d.Extensions))
	w.int(d.Alg)
	w.bytes(d.Bytes)
	for _, e := range d.Extensions {
		w.raw(e)
	}
	return w.buf
}

func checkDuplicates(pairs []pair, path string) error {
	seen := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		if seen[string(p.key)] {
			return &EncodeError{Path: path, Err: fmt.Errorf("two members with the same key %x", p.key)}
		}
		seen[string(p.key)] = true
	}
	return nil
}

// encodeManifest returns the manifest map and the envelope members for its present severed members.
func encodeManifest(m *model.Manifest, path string) ([]byte, []pair, error) {
	var pairs, severed []pair
	add := func(key int64, val []byte) { pairs = append(pairs, pair{encInt(key), val}) }
	var w writer
	w.uint(m.Version)
	add(model.ManVersion, w.buf)
	w = writer{}
	w.uint(m.SequenceNumber)
	add(model.ManSequenceNumber, w.buf)
	common, err := encodeCommon(&m.Common, path+"/common")
	if err != nil {
		return nil, nil, err
	}
	add(model.ManCommon, wrap(common))
	if m.ReferenceURI != nil {
		w = writer{}
		w.text(*m.ReferenceURI)
		add(model.ManReferenceURI, w.buf)
	}
	if m.ManifestComponentID != nil {
		add(model.ManManifestComponentID, encodeComponentID(m.ManifestComponentID))
	}
	if m.SetVersion != nil {
		w = writer{}
		w.array(len(m.SetVersion))
		for _, v := range m.SetVersion {
			w.int(v)
		}
		add(model.ManSetVersion, wrap(w.buf))
	}
	for _, s := range []struct {
		key  int64
		seq  *model.CommandSequence
		name string
	}{{model.ManValidate, m.Validate, "validate"}, {model.ManLoad, m.Load, "load"}, {model.ManInvoke, m.Invoke, "invoke"}, {model.ManUninstall, m.Uninstall, "uninstall"}} {
		if s.seq == nil {
			continue
		}
		b, err := encodeSequence(s.seq, path+"/"+s.name)
		if err != nil {
			return nil, nil, err
		}
		add(s.key, wrap(b))
	}
	// Severable members.
	type sev struct {
		key     int64
		s       *model.Severance
		content func() ([]byte, error)
	}
	seqContent := func(seq *model.CommandSequence, p string) func() ([]byte, error) {
		return func() ([]byte, error) {
			if seq == nil {
				return nil, &EncodeError{Path: p, Err: errors.New("marked present but has no command sequence")}
			}
			return encodeSequence(seq, p)
		}
	}
	members := []sev{
		{model.ManPayloadFetch, &m.PayloadFetch.Severance, seqContent(m.PayloadFetch.Seq, path+"/payload-fetch")},
		{model.ManInstall, &m.Install.Severance, seqContent(m.Install.Seq, path+"/install")},
		{model.ManDependencyResolution, &m.DependencyResolution.Severance, seqContent(m.DependencyResolution.Seq, path+"/dependency-resolution")},
		{model.ManCandidateVerification, &m.CandidateVerification.Severance, seqContent(m.CandidateVerification.Seq, path+"/candidate-verification")},
		{model.ManText, &m.Text.Severance, func() ([]byte, error) {
			if m.Text.Text == nil {
				return nil, &EncodeError{Path: path + "/text", Err: errors.New("marked present but has no text map")}
			}
			return encodeText(m.Text.Text, path+"/text")
		}},
		{model.ManCoswid, &m.Coswid.Severance, func() ([]byte, error) { return m.Coswid.Bytes, nil }},
	}
	for _, mem := range members {
		s := mem.s
		switch {
		case s.Present:
			content, err := mem.content()
			if err != nil {
				return nil, nil, err
			}
			item := wrap(content)
			if !s.Severed {
				add(mem.key, item)
				continue
			}
			alg := int64(0)
			if s.Digest != nil {
				alg = s.Digest.Alg
			}
			dg, err := Digest(alg, item)
			if err != nil {
				return nil, nil, &EncodeError{Path: path + "/" + severableName(mem.key), Err: err}
			}
			add(mem.key, encodeDigest(dg))
			severed = append(severed, pair{encInt(mem.key), item})
		case s.Digest != nil:
			add(mem.key, encodeDigest(s.Digest))
		}
	}
	for _, u := range m.Unknown {
		pairs = append(pairs, pair{u.Key, u.Value})
	}
	if err := checkDuplicates(pairs, path); err != nil {
		return nil, nil, err
	}
	w = writer{}
	w.mapOf(pairs)
	return w.buf, severed, nil
}

func encodeComponentID(id model.ComponentID) []byte {
	var w writer
	w.array(len(id))
	for _, b := range id {
		w.bytes(b)
	}
	return w.buf
}

func encodeCommon(c *model.Common, path string) ([]byte, error) {
	var pairs []pair
	if len(c.Dependencies) > 0 {
		var deps []pair
		for _, d := range c.Dependencies {
			var meta []pair
			if d.Prefix != nil {
				meta = append(meta, pair{encInt(1), encodeComponentID(d.Prefix)})
			}
			for _, u := range d.Unknown {
				meta = append(meta, pair{u.Key, u.Value})
			}
			var mw writer
			mw.mapOf(meta)
			var k writer
			k.uint(d.Index)
			deps = append(deps, pair{k.buf, mw.buf})
		}
		if err := checkDuplicates(deps, path+"/dependencies"); err != nil {
			return nil, err
		}
		var w writer
		w.mapOf(deps)
		pairs = append(pairs, pair{encInt(model.CommonDependencies), w.buf})
	}
	if c.Components != nil {
		var w writer
		w.array(len(c.Components))
		for _, id := range c.Components {
			w.raw(encodeComponentID(id))
		}
		pairs = append(pairs, pair{encInt(model.CommonComponents), w.buf})
	}
	if c.SharedSequence != nil {
		b, err := encodeSequence(c.SharedSequence, path+"/shared-sequence")
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, pair{encInt(model.CommonSharedSequence), wrap(b)})
	}
	for _, u := range c.Unknown {
		pairs = append(pairs, pair{u.Key, u.Value})
	}
	if err := checkDuplicates(pairs, path); err != nil {
		return nil, err
	}
	var w writer
	w.mapOf(pairs)
	return w.buf, nil
}

// EncodeSequence encodes a command sequence (without the bstr wrapper).
func EncodeSequence(seq *model.CommandSequence) ([]byte, error) {
	return encodeSequence(seq, "sequence")
}

func encodeSequence(seq *model.CommandSequence, path string) ([]byte, error) {
	var w writer
	w.array(2 * len(seq.Commands))
	for i := range seq.Commands {
		c := &seq.Commands[i]
		p := fmt.Sprintf("%s/%d/%s", path, i, model.CommandName(c.Label))
		w.int(c.Label)
		arg, err := encodeArgument(c, p)
		if err != nil {
			return nil, err
		}
		w.raw(arg)
	}
	return w.buf, nil
}

func encodeArgument(c *model.Command, path string) ([]byte, error) {
	if c.Raw != nil {
		return c.Raw, nil
	}
	info := model.LookupCommand(c.Label)
	if info == nil {
		return nil, &EncodeError{Path: path, Err: fmt.Errorf("command %d is not registered and has no raw argument", c.Label)}
	}
	var w writer
	switch info.Arg {
	case model.ArgPolicy:
		w.uint(uint64(c.Policy))
	case model.ArgIndex:
		ci := c.Index
		switch {
		case ci == nil:
			return nil, &EncodeError{Path: path, Err: errors.New("set-component-index needs an index")}
		case ci.All:
			w.bool(true)
		case len(ci.Indices) == 1 && !ci.List:
			w.uint(ci.Indices[0])
		case len(ci.Indices) == 0:
			return nil, &EncodeError{Path: path, Err: errors.New("set-component-index needs at least one index")}
		default:
			w.array(len(ci.Indices))
			for _, i := range ci.Indices {
				w.uint(i)
			}
		}
	case model.ArgParams:
		b, err := encodeParams(c.Params, path)
		if err != nil {
			return nil, err
		}
		w.raw(b)
	case model.ArgSequence:
		if len(c.Sequences) != 1 || c.Sequences[0] == nil {
			return nil, &EncodeError{Path: path, Err: errors.New("run-sequence needs exactly one sequence")}
		}
		b, err := encodeSequence(c.Sequences[0], path)
		if err != nil {
			return nil, err
		}
		w.bytes(b)
	case model.ArgTryEach:
		w.array(len(c.Sequences))
		for i, s := range c.Sequences {
			if s == nil {
				w.null()
				continue
			}
			b, err := encodeSequence(s, fmt.Sprintf("%s/%d", path, i))
			if err != nil {
				return nil, err
			}
			w.bytes(b)
		}
	case model.ArgMultiple:
		var pairs []pair
		for _, e := range c.Multiple {
			b, err := encodeParams(e.Params, fmt.Sprintf("%s/%d", path, e.Index))
			if err != nil {
				return nil, err
			}
			var k writer
			k.uint(e.Index)
			pairs = append(pairs, pair{k.buf, b})
		}
		if err := checkDuplicates(pairs, path); err != nil {
			return nil, err
		}
		w.mapOf(pairs)
	case model.ArgCopyParams:
		var pairs []pair
		for _, e := range c.CopyParams {
			var k, v writer
			k.uint(e.Index)
			v.array(len(e.Labels))
			for _, l := range e.Labels {
				v.int(l)
			}
			pairs = append(pairs, pair{k.buf, v.buf})
		}
		if err := checkDuplicates(pairs, path); err != nil {
			return nil, err
		}
		w.mapOf(pairs)
	default:
		return nil, &EncodeError{Path: path, Err: errors.New("argument has no encoder")}
	}
	return w.buf, nil
}

// EncodeParams encodes a SUIT_Parameters map.
func EncodeParams(ps []model.Parameter) ([]byte, error) { return encodeParams(ps, "parameters") }

func encodeParams(ps []model.Parameter, path string) ([]byte, error) {
	pairs := make([]pair, 0, len(ps))
	for _, p := range ps {
		v, err := encodeValue(p.Value, path+"/"+model.ParamName(p.Label))
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, pair{encInt(p.Label), v})
	}
	if err := checkDuplicates(pairs, path); err != nil {
		return nil, err
	}
	var w writer
	w.mapOf(pairs)
	return w.buf, nil
}

// EncodeValue encodes one parameter value.
func EncodeValue(v model.Value) ([]byte, error) { return encodeValue(v, "value") }

func encodeValue(v model.Value, path string) ([]byte, error) {
	var w writer
	switch v.Kind {
	case model.KindRaw:
		if len(v.Raw) == 0 {
			return nil, &EncodeError{Path: path, Err: errors.New("raw value is empty")}
		}
		w.raw(v.Raw)
	case model.KindUUID:
		if v.PEN {
			w.tag(model.TagPEN)
		}
		w.bytes(v.Bytes)
	case model.KindBytes:
		w.bytes(v.Bytes)
	case model.KindWrapped:
		w.bytes(v.Bytes)
	case model.KindUint:
		w.uint(v.Uint)
	case model.KindInt:
		w.int(v.Int)
	case model.KindBool:
		w.bool(v.Bool)
	case model.KindText:
		w.text(v.Text)
	case model.KindDigest:
		if v.Digest == nil {
			return nil, &EncodeError{Path: path, Err: errors.New("digest value is missing")}
		}
		w.bytes(encodeDigest(v.Digest))
	default:
		return nil, &EncodeError{Path: path, Err: fmt.Errorf("unknown value kind %d", v.Kind)}
	}
	return w.buf, nil
}

func encodeText(t *model.TextMap, path string) ([]byte, error) {
	var langs []pair
	for _, l := range t.Languages {
		var k writer
		k.text(l.Tag)
		entries := textPairs(l.Entries, nil)
		for _, c := range l.Components {
			ce := textPairs(c.Entries, c.Unknown)
			if err := checkDuplicates(ce, path+"/"+l.Tag); err != nil {
				return nil, err
			}
			var cw writer
			cw.mapOf(ce)
			entries = append(entries, pair{encodeComponentID(c.Component), cw.buf})
		}
		for _, u := range l.Unknown {
			entries = append(entries, pair{u.Key, u.Value})
		}
		if err := checkDuplicates(entries, path+"/"+l.Tag); err != nil {
			return nil, err
		}
		var lw writer
		lw.mapOf(entries)
		langs = append(langs, pair{k.buf, lw.buf})
	}
	if err := checkDuplicates(langs, path); err != nil {
		return nil, err
	}
	var w writer
	w.mapOf(langs)
	return w.buf, nil
}

// textPairs encodes the int => tstr entries of a text map, followed by its unknown members.
func textPairs(entries []model.TextEntry, unknown []model.RawMember) []pair {
	out := make([]pair, 0, len(entries)+len(unknown))
	for _, e := range entries {
		var v writer
		v.text(e.Text)
		out = append(out, pair{encInt(e.Key), v.buf})
	}
	for _, u := range unknown {
		out = append(out, pair{u.Key, u.Value})
	}
	return out
}
