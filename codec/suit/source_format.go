package suit

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"

	yaml "go.yaml.in/yaml/v3"

	"github.com/suit-studio/suit-studio/model"
)

// The source form is a human-editable YAML (or JSON) description of a whole envelope: readable names
// for commands and parameters, component IDs, text, and firmware images referenced by file path.
// FormatSource writes it; ParseSource reads it back. For any envelope, ParseSource(FormatSource(env))
// encodes to the same bytes as env (signatures aside: the source form describes an unsigned envelope).
//
// Byte strings are written h'00ff' as in CBOR diagnostic notation. Anything the model keeps as raw
// CBOR (unknown members, custom commands and parameters, arguments of the wrong type) is written
// {cbor: h'...'} and survives the round trip.

// FormatSource returns the YAML source form of an envelope.
func FormatSource(env *model.Envelope) ([]byte, error) {
	if env == nil || env.Manifest == nil {
		return nil, fmt.Errorf("no manifest to format")
	}
	root := mapNode()
	root.HeadComment = "SUIT envelope source (draft-ietf-suit-manifest-37). Build it with: suit create FILE\n" +
		"Byte strings are h'hex'; names follow the draft without their suit-condition-/suit-directive-/suit-parameter- prefixes."
	if env.Auth != nil && len(env.Auth.Blocks) > 0 {
		root.HeadComment += fmt.Sprintf("\nThe original envelope had %d authentication block(s); sign again with: suit sign --key KEY", len(env.Auth.Blocks))
	}
	addKV(root, "tagged", boolNode(env.Tagged))
	if env.Auth != nil && env.Auth.Digest.Alg != 0 && env.Auth.Digest.Alg != model.AlgSHA256 {
		addKV(root, "digest-algorithm", digestAlgNode(env.Auth.Digest.Alg))
	}
	mn, err := formatManifest(env.Manifest)
	if err != nil {
		return nil, err
	}
	addKV(root, "manifest", mn)
	if len(env.Integrated) > 0 {
		list := seqNode()
		for _, p := range env.Integrated {
			e := mapNode()
			addKV(e, "key", strNode(p.Key))
			addKV(e, "data", bytesNode(p.Data))
			list.Content = append(list.Content, e)
		}
		addKV(root, "integrated-payloads", list)
	}
	addUnknown(root, env.Unknown)
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }
func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode} }
func flowSeq() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle} }
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if needsQuotes(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	if bytes.ContainsRune([]byte(s), '\n') {
		n.Style = yaml.LiteralStyle
		if s != "" && (s[len(s)-1] == '\n' || s[0] == ' ') {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	return n
}

// needsQuotes: strings that YAML would read as another type, or as a byte string (h'..'), are quoted.
func needsQuotes(s string) bool {
	if s == "" {
		return true
	}
	if isHexLiteral(s) {
		return true
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return true
	}
	if str, ok := v.(string); !ok || str != s {
		return true
	}
	return false
}

func isHexLiteral(s string) bool {
	return len(s) >= 3 && s[0] == 'h' && s[1] == '\'' && s[len(s)-1] == '\''
}

func intNode(v int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)}
}
func uintNode(v uint64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v, 10)}
}
func boolNode(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}
func nullNode() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"} }
func bytesNode(b []byte) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "h'" + hex.EncodeToString(b) + "'"}
}
func rawNode(b []byte) *yaml.Node {
	n := mapNode()
	n.Style = yaml.FlowStyle
	addKV(n, "cbor", bytesNode(b))
	return n
}

func addKV(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func addUnknown(m *yaml.Node, us []model.RawMember) {
	if len(us) == 0 {
		return
	}
	list := seqNode()
	for _, u := range us {
		e := mapNode()
		e.Style = yaml.FlowStyle
		addKV(e, "key", bytesNode(u.Key))
		addKV(e, "value", bytesNode(u.Value))
		list.Content = append(list.Content, e)
	}
	addKV(m, "unknown-members", list)
}

func componentNode(id model.ComponentID) *yaml.Node {
	n := flowSeq()
	for _, b := range id {
		n.Content = append(n.Content, bytesNode(b))
	}
	return n
}

var digestAlgNames = map[int64]string{
	model.AlgSHA256: "sha-256", model.AlgSHA384: "sha-384", model.AlgSHA512: "sha-512",
	model.AlgSHAKE128: "shake128", model.AlgSHAKE256: "shake256",
}

func digestAlgNode(alg int64) *yaml.Node {
	if n, ok := digestAlgNames[alg]; ok {
		return strNode(n)
	}
	return intNode(alg)
}

func digestNode(d *model.Digest) *yaml.Node {
	n := mapNode()
	addKV(n, "algorithm", digestAlgNode(d.Alg))
	addKV(n, "digest", bytesNode(d.Bytes))
	if len(d.Extensions) > 0 {
		l := flowSeq()
		for _, e := range d.Extensions {
			l.Content = append(l.Content, bytesNode(e))
		}
		addKV(n, "extensions", l)
	}
	return n
}

func formatManifest(m *model.Manifest) (*yaml.Node, error) {
	n := mapNode()
	addKV(n, "version", uintNode(m.Version))
	addKV(n, "sequence-number", uintNode(m.SequenceNumber))
	if m.ReferenceURI != nil {
		addKV(n, "reference-uri", strNode(*m.ReferenceURI))
	}
	if m.ManifestComponentID != nil {
		addKV(n, "manifest-component-id", componentNode(m.ManifestComponentID))
	}
	if m.SetVersion != nil {
		l := flowSeq()
		for _, v := range m.SetVersion {
			l.Content = append(l.Content, intNode(v))
		}
		addKV(n, "set-version", l)
	}
	c := m.Common
	comps := seqNode()
	for _, id := range c.Components {
		comps.Content = append(comps.Content, componentNode(id))
	}
	addKV(n, "components", comps)
	if len(c.Dependencies) > 0 {
		l := seqNode()
		for _, d := range c.Dependencies {
			e := mapNode()
			addKV(e, "index", uintNode(d.Index))
			if d.Prefix != nil {
				addKV(e, "prefix", componentNode(d.Prefix))
			}
			addUnknown(e, d.Unknown)
			l.Content = append(l.Content, e)
		}
		addKV(n, "dependencies", l)
	}
	if c.SharedSequence != nil {
		addKV(n, "shared-sequence", sequenceNode(c.SharedSequence))
	}
	if len(c.Unknown) > 0 {
		cu := mapNode()
		addUnknown(cu, c.Unknown)
		addKV(n, "common-unknown-members", cu.Content[1])
	}
	sev := func(name string, s model.Severance, content func() *yaml.Node) {
		switch {
		case s.Present && !s.Severed:
			addKV(n, name, content())
		case s.Present && s.Severed:
			e := mapNode()
			addKV(e, "severed", boolNode(true))
			if s.Digest != nil && s.Digest.Alg != 0 && s.Digest.Alg != model.AlgSHA256 {
				addKV(e, "digest-algorithm", digestAlgNode(s.Digest.Alg))
			}
			cn := content()
			if cn.Kind == yaml.MappingNode && name == "text" {
				e.Content = append(e.Content, cn.Content...)
			} else {
				addKV(e, "content", cn)
			}
			addKV(n, name, e)
		case s.Digest != nil:
			e := mapNode()
			addKV(e, "severed", boolNode(true))
			addKV(e, "digest", digestNode(s.Digest))
			e.Content[len(e.Content)-2].LineComment = "content not carried in this envelope"
			addKV(n, name, e)
		}
	}
	seqFn := func(s *model.CommandSequence) func() *yaml.Node {
		return func() *yaml.Node { return sequenceNode(s) }
	}
	sev("dependency-resolution", m.DependencyResolution.Severance, seqFn(m.DependencyResolution.Seq))
	sev("payload-fetch", m.PayloadFetch.Severance, seqFn(m.PayloadFetch.Seq))
	sev("candidate-verification", m.CandidateVerification.Severance, seqFn(m.CandidateVerification.Seq))
	sev("install", m.Install.Severance, seqFn(m.Install.Seq))
	for _, s := range []struct {
		name string
		seq  *model.CommandSequence
	}{{"validate", m.Validate}, {"load", m.Load}, {"invoke", m.Invoke}, {"uninstall", m.Uninstall}} {
		if s.seq != nil {
			addKV(n, s.name, sequenceNode(s.seq))
		}
	}
	sev("text", m.Text.Severance, func() *yaml.Node { return textNode(m.Text.Text) })
	sev("coswid", m.Coswid.Severance, func() *yaml.Node { return bytesNode(m.Coswid.Bytes) })
	addUnknown(n, m.Unknown)
	return n, nil
}

func sequenceNode(s *model.CommandSequence) *yaml.Node {
	l := seqNode()
	if s == nil {
		return l
	}
	for i := range s.Commands {
		l.Content = append(l.Content, commandNode(&s.Commands[i]))
	}
	return l
}

func commandNode(c *model.Command) *yaml.Node {
	n := mapNode()
	name := model.CommandName(c.Label)
	info := model.LookupCommand(c.Label)
	if c.Raw != nil || info == nil {
		addKV(n, name, rawNode(c.Raw))
		return n
	}
	var arg *yaml.Node
	switch info.Arg {
	case model.ArgPolicy:
		arg = uintNode(uint64(c.Policy))
	case model.ArgIndex:
		switch {
		case c.Index == nil:
			arg = nullNode()
		case c.Index.All:
			arg = boolNode(true)
		case len(c.Index.Indices) == 1 && !c.Index.List:
			arg = uintNode(c.Index.Indices[0])
		default:
			arg = flowSeq()
			for _, i := range c.Index.Indices {
				arg.Content = append(arg.Content, uintNode(i))
			}
		}
	case model.ArgParams:
		arg = paramsNode(c.Params)
	case model.ArgSequence:
		if len(c.Sequences) > 0 {
			arg = sequenceNode(c.Sequences[0])
		} else {
			arg = seqNode()
		}
	case model.ArgTryEach:
		arg = seqNode()
		for _, s := range c.Sequences {
			if s == nil {
				arg.Content = append(arg.Content, nullNode())
			} else {
				arg.Content = append(arg.Content, sequenceNode(s))
			}
		}
	case model.ArgMultiple:
		arg = mapNode()
		for _, e := range c.Multiple {
			addKV(arg, strconv.FormatUint(e.Index, 10), paramsNode(e.Params))
		}
	case model.ArgCopyParams:
		arg = mapNode()
		for _, e := range c.CopyParams {
			l := flowSeq()
			for _, lb := range e.Labels {
				l.Content = append(l.Content, intNode(lb))
			}
			addKV(arg, strconv.FormatUint(e.Index, 10), l)
		}
	}
	addKV(n, name, arg)
	return n
}

func paramsNode(ps []model.Parameter) *yaml.Node {
	n := mapNode()
	for _, p := range ps {
		v := valueNode(p.Label, p.Value)
		addKV(n, model.ParamName(p.Label), v)
	}
	return n
}

func valueNode(label int64, v model.Value) *yaml.Node {
	switch v.Kind {
	case model.KindUUID:
		if v.PEN {
			n := mapNode()
			n.Style = yaml.FlowStyle
			addKV(n, "pen", bytesNode(v.Bytes))
			return n
		}
		if len(v.Bytes) == 16 {
			n := strNode(model.FormatUUID(v.Bytes))
			if label == model.ParamVendorIdentifier {
				for _, d := range knownVendors {
					if bytes.Equal(model.VendorID(d), v.Bytes) {
						n.LineComment = fmt.Sprintf("UUID5(DNS, %q)", d)
					}
				}
			}
			return n
		}
		return bytesNode(v.Bytes)
	case model.KindBytes, model.KindWrapped:
		n := bytesNode(v.Bytes)
		n.LineComment = umComment(label, v) // "greater-equal 1.2.3" for a version (umvalues.go)
		return n
	case model.KindUint:
		return uintNode(v.Uint)
	case model.KindInt:
		return intNode(v.Int)
	case model.KindBool:
		return boolNode(v.Bool)
	case model.KindText:
		return strNode(v.Text)
	case model.KindDigest:
		if v.Digest != nil {
			n := digestNode(v.Digest)
			n.Style = yaml.FlowStyle
			return n
		}
	}
	return rawNode(v.Raw)
}

// knownVendors are domains whose vendor IDs get a comment in the source form.
var knownVendors = []string{"arm.com", "nordicsemi.com", "example.com"}

var (
	manifestTextNames  = model.TextManifestNames
	componentTextNames = model.TextComponentNames
)

func textEntryKey(names map[int64]string, k int64) string {
	if n, ok := names[k]; ok {
		return n
	}
	return strconv.FormatInt(k, 10)
}

func textNode(t *model.TextMap) *yaml.Node {
	n := mapNode()
	langs := seqNode()
	if t != nil {
		for _, l := range t.Languages {
			e := mapNode()
			addKV(e, "tag", strNode(l.Tag))
			for _, te := range l.Entries {
				addKV(e, textEntryKey(manifestTextNames, te.Key), strNode(te.Text))
			}
			if len(l.Components) > 0 {
				cl := seqNode()
				for _, c := range l.Components {
					ce := mapNode()
					addKV(ce, "component", componentNode(c.Component))
					for _, te := range c.Entries {
						addKV(ce, textEntryKey(componentTextNames, te.Key), strNode(te.Text))
					}
					addUnknown(ce, c.Unknown)
					cl.Content = append(cl.Content, ce)
				}
				addKV(e, "components", cl)
			}
			addUnknown(e, l.Unknown)
			langs.Content = append(langs.Content, e)
		}
	}
	addKV(n, "languages", langs)
	return n
}

// FormatSourceJSON returns the source form as JSON (same structure as the YAML, members in order).
func FormatSourceJSON(env *model.Envelope) ([]byte, error) {
	y, err := FormatSource(env)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(y, &doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, doc.Content[0], ""); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node, indent string) error {
	in := indent + "  "
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			buf.WriteString("{}")
			return nil
		}
		buf.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			buf.WriteString(in)
			buf.WriteString(strconv.Quote(n.Content[i].Value))
			buf.WriteString(": ")
			if err := writeJSON(buf, n.Content[i+1], in); err != nil {
				return err
			}
			if i+2 < len(n.Content) {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			buf.WriteString("[]")
			return nil
		}
		buf.WriteString("[\n")
		for i, c := range n.Content {
			buf.WriteString(in)
			if err := writeJSON(buf, c, in); err != nil {
				return err
			}
			if i+1 < len(n.Content) {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "]")
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!bool", "!!null":
			buf.WriteString(n.Value)
		default:
			b, err := jsonString(n.Value)
			if err != nil {
				return err
			}
			buf.Write(b)
		}
	default:
		return fmt.Errorf("cannot write YAML node kind %d as JSON", n.Kind)
	}
	return nil
}

func jsonString(s string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.Bytes(), nil
}
