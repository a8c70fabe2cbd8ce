package diag

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// schema says what SUIT CDDL rule an item is expected to follow. It decides
// the names of its members and which byte strings are `bstr .cbor` (only those
// are expanded: a component id h'00' is valid CBOR too, but it is not embedded
// CBOR).
type schema int

const (
	sAny           schema = iota // unknown structure: generic names, no expansion
	sWrapped                     // content of a declared bstr .cbor without a finer rule
	sStart                       // the top-level item
	sEnvelope                    // SUIT_Envelope
	sAuth                        // SUIT_Authentication
	sDigest                      // SUIT_Digest
	sCOSE                        // a tagged COSE message
	sCOSEArray                   // the array inside a COSE tag (tag kept in builder)
	sHeaders                     // COSE header map
	sManifest                    // SUIT_Manifest
	sCommon                      // SUIT_Common
	sDependencies                // SUIT_Dependencies
	sComponents                  // [ + SUIT_Component_Identifier ]
	sComponentID                 // SUIT_Component_Identifier
	sSequence                    // SUIT_Command_Sequence
	sParams                      // { + param => value }
	sTryEach                     // try-each argument
	sMultiple                    // override-multiple argument
	sCopyParams                  // copy-params argument
	sText                        // SUIT_Text_Map
	sTextLang                    // SUIT_Text_LMap
	sTextComponent               // per-component text map
	sPrintable                   // a bstr shown as 'text' when it is printable
)

// member describes a named map member or array position.
type member struct {
	name    string // path segment and label
	comment string // word used in the annotated notation (defaults to name)
	sch     schema
	wrapped bool // bstr .cbor
}

var envelopeMembers = map[int64]member{
	model.EnvAuthentication:        {"authentication-wrapper", "", sAuth, true},
	model.EnvManifest:              {"manifest", "", sManifest, true},
	model.EnvCoswid:                {"coswid", "", sWrapped, true},
	model.EnvDependencyResolution:  {"dependency-resolution", "", sSequence, true},
	model.EnvPayloadFetch:          {"payload-fetch", "", sSequence, true},
	model.EnvCandidateVerification: {"candidate-verification", "", sSequence, true},
	model.EnvInstall:               {"install", "", sSequence, true},
	model.EnvText:                  {"text", "", sText, true},
}

// Severable manifest members: a SUIT_Digest (array) when severed, else bstr .cbor.
var manifestMembers = map[int64]member{
	model.ManVersion:               {"manifest-version", "", sAny, false},
	model.ManSequenceNumber:        {"manifest-sequence-number", "", sAny, false},
	model.ManCommon:                {"common", "", sCommon, true},
	model.ManReferenceURI:          {"reference-uri", "", sAny, false},
	model.ManManifestComponentID:   {"manifest-component-id", "", sComponentID, false},
	model.ManSetVersion:            {"set-version", "", sWrapped, true},
	model.ManValidate:              {"validate", "", sSequence, true},
	model.ManLoad:                  {"load", "", sSequence, true},
	model.ManInvoke:                {"invoke", "", sSequence, true},
	model.ManCoswid:                {"coswid", "", sWrapped, true},
	model.ManDependencyResolution:  {"dependency-resolution", "", sSequence, true},
	model.ManPayloadFetch:          {"payload-fetch", "", sSequence, true},
	model.ManCandidateVerification: {"candidate-verification", "", sSequence, true},
	model.ManInstall:               {"install", "", sSequence, true},
	model.ManText:                  {"text", "", sText, true},
	model.ManUninstall:             {"uninstall", "", sSequence, true},
}

var severable = map[int64]bool{
	model.ManCoswid: true, model.ManDependencyResolution: true, model.ManPayloadFetch: true,
	model.ManCandidateVerification: true, model.ManInstall: true, model.ManText: true,
}

var commonMembers = map[int64]member{
	model.CommonDependencies:   {"dependencies", "", sDependencies, false},
	model.CommonComponents:     {"components", "", sComponents, false},
	model.CommonSharedSequence: {"shared-sequence", "", sSequence, true},
}

var headerMembers = map[int64]member{
	1: {"alg", "", sAny, false},
	2: {"crit", "", sAny, false},
	3: {"content-type", "", sAny, false},
	4: {"kid", "", sAny, false},
	5: {"iv", "", sAny, false},
	6: {"partial-iv", "", sAny, false},
}

var (
	textLangMembers      = model.TextManifestNames
	textComponentMembers = model.TextComponentNames
)

// Words the spec's examples use for parameters where they differ from the
// registry name.
var paramComment = map[int64]string{
	model.ParamVendorIdentifier: "vendor-id",
	model.ParamClassIdentifier:  "class-id",
	model.ParamComponentSlot:    "slot",
	model.ParamDeviceIdentifier: "device-id",
}

var digestAlgNames = map[int64]string{
	model.AlgSHA256: "sha256", model.AlgSHAKE128: "shake128", model.AlgSHA384: "sha384",
	model.AlgSHA512: "sha512", model.AlgSHAKE256: "shake256",
}

var coseAlgNames = map[int64]string{
	-7: "ES256", -9: "ESP256", -35: "ES384", -51: "ESP384", -36: "ES512", -52: "ESP512",
	-8: "EdDSA", -19: "Ed25519", -46: "HSS-LMS", 5: "HMAC 256/256",
	-3: "A128KW", -4: "A192KW", -5: "A256KW", -29: "ECDH-ES+A128KW", -31: "ECDH-ES+A256KW",
	-25: "ECDH-ES+HKDF-256", 1: "A128GCM", 2: "A192GCM", 3: "A256GCM", 24: "ChaCha20/Poly1305",
	-65534: "A128CTR", -65533: "A192CTR", -65532: "A256CTR",
}

// builder turns parsed items into Nodes, following the SUIT schema.
type builder struct {
	w          *walker
	components []string // diagnostic text of suit-components, for comments
}

func joinPath(parent, seg string) string {
	if parent == "" {
		return seg
	}
	return parent + "/" + seg
}

// segment makes a path segment from key text: "/" would split the path.
func segment(s string) string {
	if !strings.ContainsAny(s, "/%") {
		return s
	}
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(s)
}

// intValue returns an integer item's value.
func intValue(it *item) (int64, bool) {
	switch it.major {
	case 0:
		if it.arg > 1<<63-1 {
			return 0, false
		}
		return int64(it.arg), true
	case 1:
		if it.arg > 1<<63-1 {
			return 0, false
		}
		return -1 - int64(it.arg), true
	}
	return 0, false
}

func (b *builder) node(it *item, path, label string, depth int) *Node {
	return &Node{
		Path: path, Label: label, Start: it.start, End: it.end, HeadEnd: it.headEnd,
		KeyStart: -1, KeyEnd: -1, Kind: kindOf(it), Summary: summary(b.w.data, it, false), it: it,
	}
}

// build makes the node for it following sch.
func (b *builder) build(it *item, path, label string, sch schema, depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, &Error{Offset: it.start, Path: path, Msg: fmt.Sprintf("nesting deeper than %d levels", MaxDepth), Err: ErrLimit}
	}
	switch sch {
	case sStart:
		return b.buildStart(it, depth)
	case sPrintable:
		n := b.node(it, path, label, depth)
		n.text = printableBytes(it, b.w.data)
		return n, nil
	case sWrapped:
		if it.major == 6 && isCOSETag(it.arg) {
			return b.build(it, path, label, sCOSE, depth)
		}
		sch = sAny
	case sCOSE:
		if it.major == 6 {
			n := b.node(it, path, label, depth)
			inner := sAny
			if isCOSETag(it.arg) {
				inner = sCOSEArray
			}
			c, err := b.buildCOSE(it.kids[0], it.arg, path, label, inner, depth+1)
			if err != nil {
				return nil, err
			}
			n.Children = []*Node{c}
			return n, nil
		}
		sch = sAny
	}

	n := b.node(it, path, label, depth)
	switch it.major {
	case 4:
		return n, b.buildArray(n, it, sch, depth)
	case 5:
		return n, b.buildMap(n, it, sch, depth)
	case 6:
		// Outside a declared context a tag says nothing about its content's names.
		c, err := b.build(it.kids[0], path, label, sAny, depth+1)
		if err != nil {
			return nil, err
		}
		n.Children = []*Node{c}
	case 2, 3:
		for i, c := range it.kids { // chunks of an indefinite-length string
			cn := b.node(c, joinPath(path, strconv.Itoa(i)), "["+strconv.Itoa(i)+"]", depth+1)
			n.Children = append(n.Children, cn)
		}
	}
	return n, nil
}

func isCOSETag(t uint64) bool {
	switch t {
	case 16, 17, 18, 96, 97, 98:
		return true
	}
	return false
}

func (b *builder) buildStart(it *item, depth int) (*Node, error) {
	switch {
	case it.major == 6 && it.arg == model.TagEnvelope:
		n := b.node(it, "envelope", "envelope", depth)
		c, err := b.build(it.kids[0], "envelope", "envelope", sEnvelope, depth+1)
		if err != nil {
			return nil, err
		}
		n.Children = []*Node{c}
		return n, nil
	case it.major == 6 && it.arg == model.TagManifest:
		n := b.node(it, "manifest", "manifest", depth)
		c, err := b.build(it.kids[0], "manifest", "manifest", sManifest, depth+1)
		if err != nil {
			return nil, err
		}
		n.Children = []*Node{c}
		return n, nil
	case it.major == 6 && isCOSETag(it.arg):
		return b.build(it, "cose", "COSE", sCOSE, depth)
	case it.major == 5 && (hasIntKey(it, model.EnvAuthentication) || hasIntKey(it, model.EnvManifest)):
		return b.build(it, "envelope", "envelope", sEnvelope, depth)
	}
	return b.build(it, "", "item", sAny, depth)
}

func hasIntKey(m *item, k int64) bool {
	for i := 0; i+1 < len(m.kids); i += 2 {
		if v, ok := intValue(m.kids[i]); ok && v == k {
			return true
		}
	}
	return false
}

// wrapped builds a member the CDDL declares `bstr .cbor X`: the bstr node and,
// when its content is one CBOR item, that item as its only child.
func (b *builder) wrapped(it *item, path, label string, inner schema, depth int) (*Node, error) {
	if it.major != 2 || it.indefinite() {
		return b.build(it, path, label, inner, depth) // not a bstr: show what is there
	}
	n := b.node(it, path, label, depth)
	if it.end == it.headEnd {
		n.Note = "declared bstr .cbor, but empty"
		return n, nil
	}
	saved := b.w.items
	c, err := b.w.parseExact(it.headEnd, it.end, depth+1)
	if err != nil {
		var de *Error
		if errors.As(err, &de) && de.Err == ErrLimit {
			de.Path = path
			return nil, de
		}
		b.w.items = saved
		n.Note = "declared bstr .cbor, but the content is not one CBOR item: " + err.Error()
		return n, nil
	}
	cn, err := b.build(c, path, label, inner, depth+1)
	if err != nil {
		return nil, err
	}
	n.Kind = "bstr .cbor"
	n.Summary = summary(b.w.data, it, true)
	n.Children = []*Node{cn}
	return n, nil
}

// member builds a value with the given description.
func (b *builder) member(v *item, path string, m member, depth int) (*Node, error) {
	if m.wrapped {
		return b.wrapped(v, path, m.name, m.sch, depth)
	}
	return b.build(v, path, m.name, m.sch, depth)
}

func (b *builder) buildArray(n *Node, it *item, sch schema, depth int) error {
	data := b.w.data
	switch sch {
	case sSequence:
		n.seq = true
		return b.buildSequence(n, it, depth)
	case sCOSEArray:
		return fmt.Errorf("internal: COSE array without tag")
	}
	for i, c := range it.kids {
		seg := strconv.Itoa(i)
		label := "[" + seg + "]"
		path := joinPath(n.Path, seg)
		var cn *Node
		var err error
		switch sch {
		case sAuth:
			if i == 0 {
				cn, err = b.wrapped(c, path, "digest", sDigest, depth+1)
				if cn != nil {
					cn.pre = "digest:"
				}
			} else {
				cn, err = b.wrapped(c, path, "signature", sCOSE, depth+1)
				if cn != nil {
					cn.pre = "signature:"
				}
			}
		case sDigest:
			cn, err = b.build(c, path, label, sAny, depth+1)
			if cn != nil {
				switch i {
				case 0:
					cn.Label, cn.pre = "algorithm-id", "algorithm-id"
					if v, ok := intValue(c); ok {
						if name, ok := digestAlgNames[v]; ok {
							cn.post = strconv.Quote(name)
						}
					}
				case 1:
					cn.Label, cn.pre = "digest-bytes", "digest-bytes"
				}
			}
		case sComponentID:
			cn, err = b.build(c, path, label, sAny, depth+1)
			if err == nil {
				cn.text = printableBytes(c, data)
			}
		case sComponents:
			cn, err = b.build(c, path, label, sComponentID, depth+1)
			if err == nil {
				b.components = append(b.components, inlineText(data, c))
			}
		case sTryEach:
			if c.major == 7 && c.ai == 22 {
				cn, err = b.build(c, path, label, sAny, depth+1)
			} else {
				cn, err = b.wrapped(c, path, label, sSequence, depth+1)
			}
		default:
			cn, err = b.build(c, path, label, sAny, depth+1)
		}
		if err != nil {
			return err
		}
		n.Children = append(n.Children, cn)
	}
	return nil
}

// buildCOSE builds the array inside a COSE tag.
func (b *builder) buildCOSE(arr *item, tag uint64, path, label string, sch schema, depth int) (*Node, error) {
	if sch != sCOSEArray || arr.major != 4 {
		return b.build(arr, path, label, sAny, depth)
	}
	n := b.node(arr, path, label, depth)
	names := []string{"protected", "unprotected", "payload", "signature"}
	switch tag {
	case 17:
		names[3] = "tag"
	case 97:
		names = []string{"protected", "unprotected", "payload", "tag", "recipients"}
	case 98:
		names = []string{"protected", "unprotected", "payload", "signatures"}
	case 96:
		names = []string{"protected", "unprotected", "ciphertext", "recipients"}
	case 16:
		names = []string{"protected", "unprotected", "ciphertext"}
	case 0: // COSE_recipient
		names = []string{"protected", "unprotected", "ciphertext", "recipients"}
	case 1: // COSE_Signature (pseudo tag)
		names = []string{"protected", "unprotected", "signature"}
	}
	for i, c := range arr.kids {
		seg := strconv.Itoa(i)
		p := joinPath(path, seg)
		name := "[" + seg + "]"
		if i < len(names) {
			name = names[i]
		}
		var cn *Node
		var err error
		switch {
		case i == 0 && c.major == 2 && c.end > c.headEnd:
			cn, err = b.wrapped(c, p, name, sHeaders, depth+1)
		case i == 1:
			cn, err = b.build(c, p, name, sHeaders, depth+1)
		case name == "recipients" || name == "signatures":
			cn, err = b.build(c, p, name, sAny, depth+1)
			if err == nil && c.major == 4 {
				cn.Children = nil
				for j, r := range c.kids {
					rp := joinPath(p, strconv.Itoa(j))
					pseudo := uint64(0)
					if name == "signatures" {
						pseudo = 1
					}
					rn, err := b.buildCOSE(r, pseudo, rp, "["+strconv.Itoa(j)+"]", sCOSEArray, depth+2)
					if err != nil {
						return nil, err
					}
					cn.Children = append(cn.Children, rn)
				}
			}
		default:
			cn, err = b.build(c, p, name, sAny, depth+1)
			if err == nil && name == "payload" && c.major == 7 && c.ai == 22 {
				cn.post = "nil"
			}
		}
		if err != nil {
			return nil, err
		}
		cn.pre = name
		n.Children = append(n.Children, cn)
	}
	return n, nil
}

func (b *builder) buildSequence(n *Node, it *item, depth int) error {
	for i := 0; i < len(it.kids); i += 2 {
		idx := strconv.Itoa(i / 2)
		lab := it.kids[i]
		path := joinPath(n.Path, idx)
		v, isInt := intValue(lab)
		name, comment := "command", ""
		var info *model.CommandInfo
		if isInt {
			name = model.CommandName(v)
			info = model.LookupCommand(v)
			switch {
			case info != nil && info.Condition:
				comment = "condition-" + name
			case info != nil:
				comment = "directive-" + name
			default:
				comment = name
			}
		}
		ln, err := b.build(lab, path, name, sAny, depth+1)
		if err != nil {
			return err
		}
		ln.pre = comment
		n.Children = append(n.Children, ln)
		if i+1 >= len(it.kids) {
			ln.Note = "command label without an argument: a command sequence has an even number of items"
			break
		}
		arg := it.kids[i+1]
		ap := joinPath(path, segment(name))
		var an *Node
		kind := model.ArgRaw
		if info != nil {
			kind = info.Arg
		}
		switch kind {
		case model.ArgParams:
			an, err = b.build(arg, ap, name, sParams, depth+1)
		case model.ArgTryEach:
			an, err = b.build(arg, ap, name, sTryEach, depth+1)
		case model.ArgSequence:
			an, err = b.wrapped(arg, ap, name, sSequence, depth+1)
		case model.ArgMultiple:
			an, err = b.build(arg, ap, name, sMultiple, depth+1)
		case model.ArgCopyParams:
			an, err = b.build(arg, ap, name, sCopyParams, depth+1)
		case model.ArgPolicy:
			an, err = b.build(arg, ap, "reporting-policy", sAny, depth+1)
		default:
			an, err = b.build(arg, ap, name, sAny, depth+1)
		}
		if err != nil {
			return err
		}
		n.Children = append(n.Children, an)
	}
	return nil
}

func (b *builder) buildMap(n *Node, it *item, sch schema, depth int) error {
	data := b.w.data
	for i := 0; i+1 < len(it.kids); i += 2 {
		k, v := it.kids[i], it.kids[i+1]
		keyText := inlineText(data, k)
		seg := segment(keyText)
		if k.major == 3 && !k.indefinite() {
			seg = segment(string(k.content(data)))
		}
		label := keyText
		kv, isInt := intValue(k)
		m, known := member{}, false
		if isInt {
			switch sch {
			case sEnvelope:
				m, known = envelopeMembers[kv]
			case sManifest:
				m, known = manifestMembers[kv]
				if known && severable[kv] && v.major == 4 {
					m.sch, m.wrapped = sDigest, false // severed: only its digest is here
				}
			case sCommon:
				m, known = commonMembers[kv]
			case sHeaders:
				m, known = headerMembers[kv]
			case sParams:
				if p := model.LookupParam(kv); p != nil {
					m, known = member{name: p.Name, sch: sAny}, true
					m.comment = paramComment[kv]
					switch p.Kind {
					case model.KindDigest:
						m.sch, m.wrapped = sDigest, true
					case model.KindWrapped:
						m.sch, m.wrapped = sWrapped, true
					}
					if kv == model.ParamContent || kv == model.ParamInvokeArgs {
						m.sch = sPrintable
					}
				}
			case sTextLang:
				if name, ok := textLangMembers[kv]; ok {
					m, known = member{name: name, sch: sAny}, true
				}
			case sTextComponent:
				if name, ok := textComponentMembers[kv]; ok {
					m, known = member{name: name, sch: sAny}, true
				}
			case sDependencies:
				m, known = member{name: seg, comment: "component-index", sch: sAny}, true
			case sMultiple:
				m, known = member{name: seg, comment: "component-index", sch: sParams}, true
			case sCopyParams:
				m, known = member{name: seg, comment: "component-index", sch: sAny}, true
			}
		}
		var cn *Node
		var err error
		path := ""
		switch {
		case known:
			path = joinPath(n.Path, segment(m.name))
			if sch == sDependencies {
				cn, err = b.buildDependency(v, path, m.name, depth+1)
			} else {
				cn, err = b.member(v, path, m, depth+1)
			}
			if err == nil {
				cn.Label = m.name
				if m.comment != "" {
					cn.pre = m.comment
				} else {
					cn.pre = m.name
				}
			}
		case sch == sEnvelope && k.major == 3:
			path = joinPath(n.Path, seg)
			cn, err = b.integrated(v, path, keyText, depth+1)
		case sch == sText:
			path = joinPath(n.Path, seg)
			cn, err = b.build(v, path, label, sTextLang, depth+1)
		case sch == sTextLang && k.major == 4:
			path = joinPath(n.Path, seg)
			cn, err = b.build(v, path, label, sTextComponent, depth+1)
		default:
			path = joinPath(n.Path, seg)
			cn, err = b.build(v, path, label, sAny, depth+1)
		}
		if err != nil {
			return err
		}
		cn.key = k
		cn.KeyStart, cn.KeyEnd = k.start, k.end
		b.annotateValue(cn, sch, kv, isInt, v)
		n.Children = append(n.Children, cn)
	}
	return nil
}

// buildDependency: { ? 1 (dependency-prefix) => SUIT_Component_Identifier }.
func (b *builder) buildDependency(v *item, path, label string, depth int) (*Node, error) {
	n, err := b.build(v, path, label, sAny, depth)
	if err != nil || v.major != 5 {
		return n, err
	}
	for i, c := range n.Children {
		if kv, ok := intValue(v.kids[2*i]); ok && kv == 1 {
			cid, err := b.build(v.kids[2*i+1], c.Path, c.Label, sComponentID, depth+1)
			if err != nil {
				return nil, err
			}
			cid.key, cid.KeyStart, cid.KeyEnd = c.key, c.KeyStart, c.KeyEnd
			n.Children[i], c = cid, cid
			c.Label, c.pre = "dependency-prefix", "dependency-prefix"
			renamePaths(c, joinPath(path, "dependency-prefix"))
		}
	}
	return n, nil
}

func renamePaths(n *Node, path string) {
	old := n.Path
	n.Walk(func(d *Node) bool {
		if d.Path == old || strings.HasPrefix(d.Path, old+"/") {
			d.Path = path + d.Path[len(old):]
		}
		return true
	})
}

// integrated builds an integrated payload: a plain bstr, unless it is a whole
// SUIT envelope (an integrated dependency, trust-domains §5.1).
func (b *builder) integrated(v *item, path, label string, depth int) (*Node, error) {
	data := b.w.data
	if v.major == 2 && !v.indefinite() && v.end-v.headEnd > 2 {
		c := data[v.headEnd:v.end]
		if (c[0] == 0xd8 && c[1] == byte(model.TagEnvelope)) || c[0]>>5 == 5 {
			saved := b.w.items
			inner, err := b.w.parseExact(v.headEnd, v.end, depth+1)
			if err == nil && ((inner.major == 6 && inner.arg == model.TagEnvelope) ||
				(inner.major == 5 && hasIntKey(inner, model.EnvAuthentication) && hasIntKey(inner, model.EnvManifest))) {
				sub := &builder{w: b.w}
				cn, err := sub.buildStart(inner, depth+1)
				if err != nil {
					return nil, err
				}
				renamePaths(cn, path)
				n := b.node(v, path, label, depth)
				n.Kind, n.Summary = "bstr .cbor", summary(data, v, true)
				n.Children = []*Node{cn}
				return n, nil
			}
			b.w.items = saved
		}
	}
	return b.build(v, path, label, sAny, depth)
}

// annotateValue adds the value comments the spec's examples show.
func (b *builder) annotateValue(cn *Node, sch schema, key int64, isInt bool, v *item) {
	if !isInt {
		return
	}
	data := b.w.data
	switch sch {
	case sHeaders:
		if key == 1 {
			if a, ok := intValue(v); ok {
				if name, ok := coseAlgNames[a]; ok {
					cn.post = strconv.Quote(name)
				}
			}
		}
	case sParams:
		switch key {
		case model.ParamVendorIdentifier, model.ParamClassIdentifier, model.ParamDeviceIdentifier:
			if v.major == 2 && v.end-v.headEnd == 16 {
				cn.post = uuidText(v.content(data))
			}
		case model.ParamSourceComponent:
			if i, ok := intValue(v); ok && i >= 0 && i < int64(len(b.components)) {
				cn.post = b.components[i]
			}
		}
	}
}

// printableBytes tells whether a definite bstr is text-like enough to show as
// 'text' (a component id segment such as 'dependent.suit').
func printableBytes(it *item, data []byte) bool {
	if it.major != 2 || it.indefinite() || it.end-it.headEnd < 2 {
		return false
	}
	for _, c := range it.content(data) {
		if c < 0x20 || c > 0x7e || c == '\'' || c == '\\' {
			return false
		}
	}
	return true
}

func uuidText(u []byte) string {
	const hexd = "0123456789abcdef"
	var sb strings.Builder
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			sb.WriteByte('-')
		}
		sb.WriteByte(hexd[c>>4])
		sb.WriteByte(hexd[c&15])
	}
	return sb.String()
}

// Map parses data (one CBOR item, no trailing bytes) and returns the tree of
// its data items with byte ranges. A SUIT envelope (tagged 107 or untagged),
// a SUIT_Manifest_Tagged (1070) or a COSE message gets the spec's names and
// its `bstr .cbor` members expanded; anything else that is CBOR gets generic
// names. Errors are *Error with the byte offset (ErrMalformed, ErrLimit).
func Map(data []byte) (*Node, error) {
	w := &walker{data: data}
	it, err := w.parseExact(0, len(data), 0)
	if err != nil {
		return nil, err
	}
	b := &builder{w: w}
	return b.build(it, "", "", sStart, 0)
}
