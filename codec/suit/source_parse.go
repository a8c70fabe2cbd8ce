package suit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/suit-studio/suit-studio/model"
)

// maxSourceFile bounds a file a source refers to (images are for constrained devices).
const maxSourceFile = 64 << 20

// ErrSource: the source file is not a valid SUIT source description.
var ErrSource = errors.New("invalid source")

// SourceError says where in a source file something is wrong and what to do.
type SourceError struct {
	Line, Column int
	Path         string // element path in the source, e.g. "manifest/install/1/fetch"
	Msg          string
	Hint         string
}

func (e *SourceError) Error() string {
	s := fmt.Sprintf("line %d, column %d: %s: %s", e.Line, e.Column, e.Path, e.Msg)
	return s
}

func (e *SourceError) Unwrap() error { return ErrSource }

// ParseSource reads the YAML or JSON source form of an envelope (see FormatSource). File names
// (image-file, {file: ...}) are relative to baseDir and may not leave it (see SourceOptions).
func ParseSource(src []byte, baseDir string) (*model.Envelope, error) {
	return ParseSourceWith(src, SourceOptions{BaseDir: baseDir})
}

// SourceOptions tune ParseSourceWith.
type SourceOptions struct {
	// BaseDir is the folder file names in the source are relative to (the source file's own
	// folder; "" is the working directory).
	BaseDir string
	// AllowOutside lets file names leave BaseDir: absolute paths, "..", symbolic links pointing
	// out. Off by default, so that a source from elsewhere cannot embed any file the user can read
	// (/etc/shadow, a private key) into an envelope: it reads files below BaseDir only (os.Root).
	AllowOutside bool
}

// ParseSourceWith is ParseSource with options.
func ParseSourceWith(src []byte, opts SourceOptions) (*model.Envelope, error) {
	if err := checkFlowNesting(src); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line, msg := yamlError(err)
		return nil, &SourceError{Line: line, Column: 1, Path: "source", Msg: "not valid YAML or JSON: " + msg, Hint: "check indentation and quoting"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &SourceError{Line: 1, Column: 1, Path: "source", Msg: "the source is empty", Hint: "start from 'suit show --source' of an example, or a template in the studio"}
	}
	p := &parser{base: opts.BaseDir, allowOutside: opts.AllowOutside}
	if p.base == "" {
		p.base = "."
	}
	defer func() {
		if p.root != nil {
			p.root.Close()
		}
	}()
	return p.envelope(doc.Content[0])
}

type parser struct {
	base         string
	allowOutside bool
	root         *os.Root // BaseDir, opened at the first file name
	nesting      int      // command sequences entered and not yet left
}

func (p *parser) fail(n *yaml.Node, path, hint, format string, args ...any) error {
	return &SourceError{Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// fields returns the members of a mapping node in order, rejecting duplicates and unknown keys.
func (p *parser) fields(n *yaml.Node, path string, allowed ...string) ([][2]*yaml.Node, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.fail(n, path, "", "expected a map of named fields, found %s", nodeKind(n))
	}
	seen := map[string]bool{}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return nil, p.fail(k, path, "remove one of them", "%s appears twice", excerpt(k.Value))
		}
		seen[k.Value] = true
		if allowed != nil && !contains(allowed, k.Value) {
			return nil, p.fail(k, path, "known fields here: "+strings.Join(allowed, ", "), "unknown field %s", excerpt(k.Value))
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return excerpt(n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (p *parser) uint(n *yaml.Node, path string) (uint64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, p.fail(n, path, "", "expected an unsigned integer, found %s", nodeKind(n))
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		return 0, p.fail(n, path, "", "expected an unsigned integer, found %s", excerpt(n.Value))
	}
	return v, nil
}

func (p *parser) int(n *yaml.Node, path string) (int64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, p.fail(n, path, "", "expected an integer, found %s", nodeKind(n))
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		return 0, p.fail(n, path, "", "expected an integer, found %s", excerpt(n.Value))
	}
	return v, nil
}

func (p *parser) bool(n *yaml.Node, path string) (bool, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		return strconv.ParseBool(strings.ToLower(n.Value))
	}
	return false, p.fail(n, path, "", "expected true or false, found %s", nodeKind(n))
}

func (p *parser) str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return "", p.fail(n, path, "", "expected a text string, found %s", nodeKind(n))
	}
	return n.Value, nil
}

// hexBytes parses h'..' (spaces allowed inside).
func (p *parser) hexBytes(n *yaml.Node, path string) ([]byte, error) {
	if n.Kind != yaml.ScalarNode || !isHexLiteral(n.Value) {
		return nil, p.fail(n, path, "write byte strings as h'00ff'", "expected a byte string h'...', found %s", nodeKind(n))
	}
	s := strings.Join(strings.Fields(n.Value[2:len(n.Value)-1]), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, p.fail(n, path, "use an even number of hex digits", "bad hex in %s: %v", excerpt(n.Value), err)
	}
	return b, nil
}

func (p *parser) readFile(n *yaml.Node, path string) ([]byte, error) {
	name, err := p.str(n, path)
	if err != nil {
		return nil, err
	}
	f, shown, err := p.openFile(name)
	if err != nil {
		if errors.Is(err, errOutside) {
			return nil, p.fail(n, path, "file names are relative to the source file's folder and must stay inside it, so that a source from elsewhere cannot embed other files you can read; "+
				"if you trust this source, pass --allow-outside to 'suit create' (the studio: SUIT_STUDIO_ALLOW_OUTSIDE=1)", "%s is outside the source's folder %s", name, p.base)
		}
		return nil, p.fail(n, path, "file names are relative to the source file's folder", "cannot read %s: %v", shown, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, p.fail(n, path, "", "cannot read %s: %v", shown, err)
	}
	if !st.Mode().IsRegular() {
		return nil, p.fail(n, path, "give a regular file (a firmware image)", "%s is not a regular file", shown)
	}
	if st.Size() > maxSourceFile {
		return nil, p.fail(n, path, "", "%s is %d bytes, more than the %d a payload may have", shown, st.Size(), maxSourceFile)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSourceFile+1))
	if err == nil && len(b) > maxSourceFile {
		err = fmt.Errorf("more than %d bytes", maxSourceFile)
	}
	if err != nil {
		return nil, p.fail(n, path, "file names are relative to the source file's folder", "cannot read %s: %v", shown, err)
	}
	return b, nil
}

// errOutside: a file name leaves the source's folder.
var errOutside = errors.New("outside the source's folder")

// openFile opens a file the source names: below p.base only (through os.Root, which also refuses
// symbolic links and ".." that lead out), unless allowOutside. It returns the name to show.
func (p *parser) openFile(name string) (*os.File, string, error) {
	if p.allowOutside {
		if !filepath.IsAbs(name) {
			name = filepath.Join(p.base, name)
		}
		f, err := os.Open(name)
		return f, name, err
	}
	shown := filepath.Join(p.base, name)
	if filepath.IsAbs(name) || !filepath.IsLocal(filepath.Clean(name)) {
		return nil, shown, errOutside
	}
	if p.root == nil {
		r, err := os.OpenRoot(p.base)
		if err != nil {
			return nil, shown, err
		}
		p.root = r
	}
	f, err := p.root.Open(name)
	if err != nil {
		// os.Root says "path escapes from parent" for a link that leads out; tell it apart from a
		// missing file by looking without the root.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, shown, err
		}
		if _, serr := os.Stat(shown); serr == nil {
			return nil, shown, errOutside
		}
		return nil, shown, err
	}
	return f, shown, nil
}

// bytesValue accepts h'..', {text: "..."}, {file: path}.
func (p *parser) bytesValue(n *yaml.Node, path string) ([]byte, error) {
	if n.Kind == yaml.MappingNode {
		fs, err := p.fields(n, path, "text", "file")
		if err != nil {
			return nil, err
		}
		if len(fs) != 1 {
			return nil, p.fail(n, path, "", "give one of text or file")
		}
		if fs[0][0].Value == "text" {
			s, err := p.str(fs[0][1], path)
			return []byte(s), err
		}
		return p.readFile(fs[0][1], path+"/file")
	}
	return p.hexBytes(n, path)
}

func (p *parser) rawCBOR(n *yaml.Node, path string) ([]byte, bool, error) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 || n.Content[0].Value != "cbor" {
		return nil, false, nil
	}
	b, err := p.hexBytes(n.Content[1], path+"/cbor")
	if err != nil {
		return nil, true, err
	}
	if _, err := (&reader{data: b}).next(0, 0); err != nil {
		return nil, true, p.fail(n.Content[1], path, "give one complete CBOR data item", "not well-formed CBOR: %v", err)
	}
	return b, true, nil
}

func (p *parser) unknownMembers(n *yaml.Node, path string) ([]model.RawMember, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.fail(n, path, "", "unknown-members is a list of {key, value}")
	}
	var out []model.RawMember
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s/%d", path, i)
		fs, err := p.fields(e, ep, "key", "value")
		if err != nil {
			return nil, err
		}
		var m model.RawMember
		for _, f := range fs {
			b, err := p.hexBytes(f[1], ep+"/"+f[0].Value)
			if err != nil {
				return nil, err
			}
			if f[0].Value == "key" {
				m.Key = b
			} else {
				m.Value = b
			}
		}
		if m.Key == nil || m.Value == nil {
			return nil, p.fail(e, ep, "", "an unknown member needs both key and value (encoded CBOR)")
		}
		out = append(out, m)
	}
	return out, nil
}

func (p *parser) envelope(n *yaml.Node) (*model.Envelope, error) {
	fs, err := p.fields(n, "", "tagged", "digest-algorithm", "manifest", "integrated-payloads", "unknown-members")
	if err != nil {
		return nil, err
	}
	env := &model.Envelope{Tagged: true, Auth: &model.Authentication{Digest: model.Digest{Alg: model.AlgSHA256}}}
	for _, f := range fs {
		k, v := f[0].Value, f[1]
		switch k {
		case "tagged":
			env.Tagged, err = p.bool(v, k)
		case "digest-algorithm":
			env.Auth.Digest.Alg, err = p.digestAlg(v, k)
		case "manifest":
			env.Manifest, err = p.manifest(v, "manifest")
		case "integrated-payloads":
			if v.Kind != yaml.SequenceNode {
				return nil, p.fail(v, k, "", "integrated-payloads is a list of {key, data | file}")
			}
			for i, e := range v.Content {
				ep := fmt.Sprintf("%s/%d", k, i)
				efs, err := p.fields(e, ep, "key", "data", "file")
				if err != nil {
					return nil, err
				}
				var ip model.IntegratedPayload
				for _, ef := range efs {
					switch ef[0].Value {
					case "key":
						ip.Key, err = p.str(ef[1], ep+"/key")
					case "data":
						ip.Data, err = p.hexBytes(ef[1], ep+"/data")
					case "file":
						ip.Data, err = p.readFile(ef[1], ep+"/file")
					}
					if err != nil {
						return nil, err
					}
				}
				if ip.Key == "" {
					return nil, p.fail(e, ep, "e.g. key: \"#image\"", "an integrated payload needs a key")
				}
				env.Integrated = append(env.Integrated, ip)
			}
		case "unknown-members":
			env.Unknown, err = p.unknownMembers(v, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if env.Manifest == nil {
		return nil, p.fail(n, "", "add a manifest: section", "no manifest")
	}
	return env, nil
}

func (p *parser) digestAlg(n *yaml.Node, path string) (int64, error) {
	for alg, name := range digestAlgNames {
		if strings.EqualFold(n.Value, name) || strings.EqualFold(strings.ReplaceAll(n.Value, "-", ""), strings.ReplaceAll(name, "-", "")) {
			return alg, nil
		}
	}
	v, err := p.int(n, path)
	if err != nil {
		return 0, p.fail(n, path, "use sha-256, sha-384, sha-512, shake128, shake256 or a COSE algorithm number", "unknown digest algorithm %s", excerpt(n.Value))
	}
	return v, nil
}

var manifestFields = []string{"version", "sequence-number", "reference-uri", "manifest-component-id", "set-version",
	"components", "dependencies", "shared-sequence", "common-unknown-members", "dependency-resolution", "payload-fetch",
	"candidate-verification", "install", "validate", "load", "invoke", "uninstall", "text", "coswid", "unknown-members"}

func (p *parser) manifest(n *yaml.Node, path string) (*model.Manifest, error) {
	fs, err := p.fields(n, path, manifestFields...)
	if err != nil {
		return nil, err
	}
	m := &model.Manifest{Version: 1}
	haveSeq, haveComponents := false, false
	for _, f := range fs {
		k, v := f[0].Value, f[1]
		kp := path + "/" + k
		switch k {
		case "version":
			m.Version, err = p.uint(v, kp)
		case "sequence-number":
			m.SequenceNumber, err = p.uint(v, kp)
			haveSeq = true
		case "reference-uri":
			var s string
			s, err = p.str(v, kp)
			m.ReferenceURI = &s
		case "manifest-component-id":
			m.ManifestComponentID, err = p.componentID(v, kp)
		case "set-version":
			if v.Kind != yaml.SequenceNode {
				return nil, p.fail(v, kp, "e.g. [1, 2, 0]", "set-version is a list of integers")
			}
			m.SetVersion = []int64{}
			for i, e := range v.Content {
				x, err := p.int(e, fmt.Sprintf("%s/%d", kp, i))
				if err != nil {
					return nil, err
				}
				m.SetVersion = append(m.SetVersion, x)
			}
		case "components":
			haveComponents = true
			if v.Kind != yaml.SequenceNode {
				return nil, p.fail(v, kp, "e.g. components: [[h'00']]", "components is a list of component identifiers")
			}
			for i, e := range v.Content {
				id, err := p.componentID(e, fmt.Sprintf("%s/%d", kp, i))
				if err != nil {
					return nil, err
				}
				m.Common.Components = append(m.Common.Components, id)
			}
		case "dependencies":
			err = p.dependencies(v, kp, &m.Common)
		case "shared-sequence":
			m.Common.SharedSequence, err = p.sequence(v, kp)
		case "common-unknown-members":
			m.Common.Unknown, err = p.unknownMembers(v, kp)
		case "dependency-resolution":
			err = p.severableSeq(v, kp, &m.DependencyResolution)
		case "payload-fetch":
			err = p.severableSeq(v, kp, &m.PayloadFetch)
		case "candidate-verification":
			err = p.severableSeq(v, kp, &m.CandidateVerification)
		case "install":
			err = p.severableSeq(v, kp, &m.Install)
		case "validate":
			m.Validate, err = p.sequence(v, kp)
		case "load":
			m.Load, err = p.sequence(v, kp)
		case "invoke":
			m.Invoke, err = p.sequence(v, kp)
		case "uninstall":
			m.Uninstall, err = p.sequence(v, kp)
		case "text":
			err = p.text(v, kp, &m.Text)
		case "coswid":
			err = p.coswid(v, kp, &m.Coswid)
		case "unknown-members":
			m.Unknown, err = p.unknownMembers(v, kp)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveSeq {
		return nil, p.fail(n, path, "add sequence-number: N (it must grow with every release; a UTC timestamp works)", "sequence-number is missing")
	}
	if !haveComponents {
		return nil, p.fail(n, path, "add components: [[h'00']]", "components is missing")
	}
	return m, nil
}

func (p *parser) componentID(n *yaml.Node, path string) (model.ComponentID, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.fail(n, path, "e.g. [h'00'] or [h'6578742d666c617368', h'01']", "a component identifier is a list of byte strings, found %s", nodeKind(n))
	}
	id := model.ComponentID{}
	for i, e := range n.Content {
		b, err := p.bytesValue(e, fmt.Sprintf("%s/%d", path, i))
		if err != nil {
			return nil, err
		}
		id = append(id, b)
	}
	return id, nil
}

func (p *parser) dependencies(n *yaml.Node, path string, c *model.Common) error {
	if n.Kind != yaml.SequenceNode {
		return p.fail(n, path, "", "dependencies is a list of {index, prefix}")
	}
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s/%d", path, i)
		fs, err := p.fields(e, ep, "index", "prefix", "unknown-members")
		if err != nil {
			return err
		}
		var d model.Dependency
		haveIndex := false
		for _, f := range fs {
			switch f[0].Value {
			case "index":
				d.Index, err = p.uint(f[1], ep+"/index")
				haveIndex = true
			case "prefix":
				d.Prefix, err = p.componentID(f[1], ep+"/prefix")
			case "unknown-members":
				d.Unknown, err = p.unknownMembers(f[1], ep+"/unknown-members")
			}
			if err != nil {
				return err
			}
		}
		if !haveIndex {
			return p.fail(e, ep, "", "a dependency needs its component index")
		}
		c.Dependencies = append(c.Dependencies, d)
	}
	return nil
}

// severance parses the {severed, digest-algorithm, digest} part of a severable member written as a map.
func (p *parser) severance(fs [][2]*yaml.Node, path string, s *model.Severance) error {
	var err error
	for _, f := range fs {
		switch f[0].Value {
		case "severed":
			s.Severed, err = p.bool(f[1], path+"/severed")
		case "digest-algorithm":
			var alg int64
			alg, err = p.digestAlg(f[1], path+"/digest-algorithm")
			s.Digest = &model.Digest{Alg: alg}
		case "digest":
			s.Digest, err = p.digest(f[1], path+"/digest")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// severable parses a severable member: its content inline (a list for a sequence, a byte string
// for coswid), or a map {severed, content, digest-algorithm, digest}. content parses the content.
func (p *parser) severable(n *yaml.Node, path string, sev *model.Severance, inline yaml.Kind, content func(n *yaml.Node, path string) error) error {
	if n.Kind == inline {
		sev.Present = true
		return content(n, path)
	}
	fs, err := p.fields(n, path, "severed", "content", "digest-algorithm", "digest")
	if err != nil {
		return err
	}
	if err := p.severance(fs, path, sev); err != nil {
		return err
	}
	for _, f := range fs {
		if f[0].Value == "content" {
			if err := content(f[1], path+"/content"); err != nil {
				return err
			}
			sev.Present = true
		}
	}
	return p.checkSeverance(n, path, *sev)
}

func (p *parser) severableSeq(n *yaml.Node, path string, out *model.SeverableSequence) error {
	return p.severable(n, path, &out.Severance, yaml.SequenceNode, func(n *yaml.Node, path string) (err error) {
		out.Seq, err = p.sequence(n, path)
		return err
	})
}

func (p *parser) checkSeverance(n *yaml.Node, path string, s model.Severance) error {
	if s.Present && s.Digest != nil && len(s.Digest.Bytes) > 0 {
		return p.fail(n, path, "give the content, or the digest of content that is not carried, not both", "both content and a digest")
	}
	if !s.Present && (s.Digest == nil || len(s.Digest.Bytes) == 0) {
		return p.fail(n, path, "give content (a list of commands) or severed: true with a digest", "neither content nor digest")
	}
	if !s.Present && !s.Severed {
		return p.fail(n, path, "a member known only by its digest is severed: add severed: true", "a digest without severed: true")
	}
	return nil
}

func (p *parser) coswid(n *yaml.Node, path string, out *model.SeverableBytes) error {
	return p.severable(n, path, &out.Severance, yaml.ScalarNode, func(n *yaml.Node, path string) (err error) {
		out.Bytes, err = p.bytesValue(n, path)
		return err
	})
}

func (p *parser) digest(n *yaml.Node, path string) (*model.Digest, error) {
	fs, err := p.fields(n, path, "algorithm", "digest", "extensions", "file")
	if err != nil {
		return nil, err
	}
	d := &model.Digest{Alg: model.AlgSHA256}
	var file *yaml.Node
	haveDigest := false
	for _, f := range fs {
		switch f[0].Value {
		case "algorithm":
			d.Alg, err = p.digestAlg(f[1], path+"/algorithm")
		case "digest":
			d.Bytes, err = p.hexBytes(f[1], path+"/digest")
			haveDigest = true
		case "extensions":
			if f[1].Kind != yaml.SequenceNode {
				return nil, p.fail(f[1], path+"/extensions", "", "extensions is a list of encoded CBOR items h'...'")
			}
			for i, e := range f[1].Content {
				b, err := p.hexBytes(e, fmt.Sprintf("%s/extensions/%d", path, i))
				if err != nil {
					return nil, err
				}
				d.Extensions = append(d.Extensions, b)
			}
		case "file":
			file = f[1]
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case file != nil && haveDigest:
		return nil, p.fail(n, path, "", "give digest or file, not both")
	case file != nil:
		data, err := p.readFile(file, path+"/file")
		if err != nil {
			return nil, err
		}
		if d.Bytes, err = digestBytes(d.Alg, data); err != nil {
			return nil, p.fail(n, path, "use sha-256", "%v", err)
		}
	case !haveDigest:
		return nil, p.fail(n, path, "e.g. {algorithm: sha-256, digest: h'...'} or {file: firmware.bin}", "a digest needs digest bytes or a file")
	}
	return d, nil
}

// maxSequenceNesting bounds how deep command sequences nest (through try-each and run-sequence)
// before anything is built, so that a hostile source cannot make create spend memory and time on
// thousands of levels. It derives from the decoder's maxDepth: each nested sequence costs the
// decoder at least 3 levels (the command's argument, the byte string it is wrapped in, the
// sequence's array), so a deeper nesting can never be decoded. The exact limit is then the
// decoder's own: Encode refuses what Decode would refuse.
const maxSequenceNesting = maxDepth/3 + 1

// maxFlowNesting bounds the [ and { nesting of a source (JSON is all flow style) before the YAML
// parser sees it: its cost grows with the square of the depth (3000 levels: over 100 MB). A
// decodable manifest needs far less: about 3 levels per nested sequence (maxSequenceNesting) and
// a few for the envelope around them.
const maxFlowNesting = 4 * maxDepth

// checkFlowNesting measures the flow nesting of src, skipping quoted scalars and comments.
func checkFlowNesting(src []byte) error {
	depth, line, col := 0, 1, 0
	tokenStart := true // at a place where a quoted scalar or a comment may start
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		switch {
		case c == '\n':
			line, col, tokenStart = line+1, 0, true
			continue
		case (c == '"' || c == '\'') && tokenStart:
			for i++; i < len(src) && src[i] != c; i++ {
				if c == '"' && src[i] == '\\' {
					i++
				} else if src[i] == '\n' {
					line++
				}
			}
		case c == '#' && tokenStart:
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '[' || c == '{':
			depth++
			if depth > maxFlowNesting {
				return &SourceError{Line: line, Column: col, Path: "source", Msg: fmt.Sprintf("nesting deeper than %d levels of [ and {", maxFlowNesting),
					Hint: "a manifest a device can decode nests far less (" + strconv.Itoa(maxDepth) + " levels of CBOR)"}
			}
		case c == ']' || c == '}':
			depth--
		}
		tokenStart = c == ' ' || c == '\t' || c == '\r' || c == '[' || c == '{' || c == ',' || c == ':'
	}
	return nil
}

func (p *parser) sequence(n *yaml.Node, path string) (*model.CommandSequence, error) {
	p.nesting++
	defer func() { p.nesting-- }()
	if p.nesting > maxSequenceNesting {
		return nil, p.fail(n, path, "flatten the try-each / run-sequence nesting (a device's decoder refuses more than "+strconv.Itoa(maxDepth)+" levels of CBOR nesting)",
			"command sequences nest more than %d deep", maxSequenceNesting)
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.fail(n, path, "write commands as a list: - vendor-identifier: 15", "a command sequence is a list of commands, found %s", nodeKind(n))
	}
	seq := &model.CommandSequence{Commands: []model.Command{}}
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s/%d", path, i)
		if e.Kind != yaml.MappingNode || len(e.Content) != 2 {
			return nil, p.fail(e, ep, "write each command as a one-entry map: - fetch: 2", "a command is a map with one entry (name: argument), found %s", nodeKind(e))
		}
		cmd, err := p.command(e.Content[0], e.Content[1], ep)
		if err != nil {
			return nil, err
		}
		seq.Commands = append(seq.Commands, *cmd)
	}
	return seq, nil
}

// labelFromName resolves a registry name, "custom(-300)", "unknown(99)" or a plain integer.
func labelFromName(name string, byName func(string) (int64, bool)) (int64, bool) {
	if l, ok := byName(name); ok {
		return l, true
	}
	for _, pre := range []string{"custom(", "unknown("} {
		if strings.HasPrefix(name, pre) && strings.HasSuffix(name, ")") {
			v, err := strconv.ParseInt(name[len(pre):len(name)-1], 10, 64)
			return v, err == nil
		}
	}
	v, err := strconv.ParseInt(name, 10, 64)
	return v, err == nil
}

func commandLabel(name string) (int64, bool) {
	return labelFromName(name, func(s string) (int64, bool) {
		if c := model.CommandByName(s); c != nil {
			return c.Label, true
		}
		return 0, false
	})
}

func paramLabel(name string) (int64, bool) {
	return labelFromName(name, func(s string) (int64, bool) {
		if c := model.ParamByName(s); c != nil {
			return c.Label, true
		}
		return 0, false
	})
}

func suggest(name string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s?", best)
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func commandNames() []string {
	var out []string
	for _, c := range model.Commands() {
		out = append(out, c.Name)
	}
	return out
}

func paramNames() []string {
	out := []string{"image-file"}
	for _, c := range model.Params() {
		out = append(out, c.Name)
	}
	return out
}

func (p *parser) command(k, v *yaml.Node, path string) (*model.Command, error) {
	label, ok := commandLabel(k.Value)
	if !ok {
		return nil, p.fail(k, path, suggest(k.Value, commandNames()), "unknown command %s", excerpt(k.Value))
	}
	path = path + "/" + model.CommandName(label)
	cmd := &model.Command{Label: label}
	if raw, isRaw, err := p.rawCBOR(v, path); isRaw {
		cmd.Raw = raw
		return cmd, err
	}
	info := model.LookupCommand(label)
	if info == nil {
		return nil, p.fail(v, path, "write the argument as {cbor: h'...'}", "command %d is not registered, so its argument must be given as encoded CBOR", label)
	}
	var err error
	switch info.Arg {
	case model.ArgPolicy:
		cmd.Policy, err = p.policy(v, path)
	case model.ArgIndex:
		cmd.Index, err = p.index(v, path)
	case model.ArgParams:
		cmd.Params, err = p.params(v, path)
	case model.ArgSequence:
		var s *model.CommandSequence
		s, err = p.sequence(v, path)
		cmd.Sequences = []*model.CommandSequence{s}
	case model.ArgTryEach:
		if v.Kind != yaml.SequenceNode {
			return nil, p.fail(v, path, "", "try-each takes a list of alternatives (each a list of commands, the last may be null)")
		}
		for i, alt := range v.Content {
			if isNull(alt) {
				cmd.Sequences = append(cmd.Sequences, nil)
				continue
			}
			s, err := p.sequence(alt, fmt.Sprintf("%s/%d", path, i))
			if err != nil {
				return nil, err
			}
			cmd.Sequences = append(cmd.Sequences, s)
		}
	case model.ArgMultiple:
		fs, ferr := p.fields(v, path)
		if ferr != nil {
			return nil, ferr
		}
		for _, f := range fs {
			idx, err := p.uint(f[0], path)
			if err != nil {
				return nil, err
			}
			ps, err := p.params(f[1], fmt.Sprintf("%s/%d", path, idx))
			if err != nil {
				return nil, err
			}
			cmd.Multiple = append(cmd.Multiple, model.IndexedParams{Index: idx, Params: ps})
		}
	case model.ArgCopyParams:
		fs, ferr := p.fields(v, path)
		if ferr != nil {
			return nil, ferr
		}
		for _, f := range fs {
			idx, err := p.uint(f[0], path)
			if err != nil {
				return nil, err
			}
			if f[1].Kind != yaml.SequenceNode {
				return nil, p.fail(f[1], path, "", "copy-params maps a component index to a list of parameter labels")
			}
			e := model.IndexedLabels{Index: idx}
			for _, l := range f[1].Content {
				lb, ok := paramLabel(l.Value)
				if !ok {
					return nil, p.fail(l, path, suggest(l.Value, paramNames()), "unknown parameter %s", excerpt(l.Value))
				}
				e.Labels = append(e.Labels, lb)
			}
			cmd.CopyParams = append(cmd.CopyParams, e)
		}
	}
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

var policyBits = map[string]model.ReportingPolicy{
	"record-on-success": model.RecordOnSuccess, "record-on-failure": model.RecordOnFailure,
	"sysinfo-on-success": model.SysinfoOnSuccess, "sysinfo-on-failure": model.SysinfoOnFailure,
}

// policy accepts an unsigned integer or a list of bit names.
func (p *parser) policy(n *yaml.Node, path string) (model.ReportingPolicy, error) {
	if n.Kind == yaml.SequenceNode {
		var rp model.ReportingPolicy
		for _, e := range n.Content {
			b, ok := policyBits[e.Value]
			if !ok {
				return 0, p.fail(e, path, "use record-on-success, record-on-failure, sysinfo-on-success, sysinfo-on-failure", "unknown reporting policy bit %s", excerpt(e.Value))
			}
			rp |= b
		}
		return rp, nil
	}
	v, err := p.uint(n, path)
	if err != nil {
		return 0, p.fail(n, path, "a reporting policy is a number 0-15 or a list of bit names", "expected a reporting policy, found %s", nodeKind(n))
	}
	return model.ReportingPolicy(v), nil
}

func (p *parser) index(n *yaml.Node, path string) (*model.ComponentIndex, error) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
		b, err := p.bool(n, path)
		if err != nil || !b {
			return nil, p.fail(n, path, "use true for all components", "set-component-index takes an index, true or a list")
		}
		return &model.ComponentIndex{All: true}, nil
	case n.Kind == yaml.SequenceNode:
		ci := &model.ComponentIndex{List: true}
		for _, e := range n.Content {
			v, err := p.uint(e, path)
			if err != nil {
				return nil, err
			}
			ci.Indices = append(ci.Indices, v)
		}
		return ci, nil
	}
	v, err := p.uint(n, path)
	if err != nil {
		return nil, err
	}
	return &model.ComponentIndex{Indices: []uint64{v}}, nil
}

func (p *parser) params(n *yaml.Node, path string) ([]model.Parameter, error) {
	fs, err := p.fields(n, path)
	if err != nil {
		return nil, err
	}
	ps := []model.Parameter{}
	seen := map[int64]*yaml.Node{}
	add := func(k *yaml.Node, prm model.Parameter) error {
		if prev, dup := seen[prm.Label]; dup {
			return p.fail(k, path, "", "parameter %s is set twice (also at line %d)", model.ParamName(prm.Label), prev.Line)
		}
		seen[prm.Label] = k
		ps = append(ps, prm)
		return nil
	}
	for _, f := range fs {
		k, v := f[0], f[1]
		if k.Value == "image-file" {
			// Convenience: image-digest (SHA-256) and image-size from a firmware file.
			data, err := p.readFile(v, path+"/image-file")
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(data)
			if err := add(k, model.DigestParam(model.AlgSHA256, sum[:])); err != nil {
				return nil, err
			}
			if err := add(k, model.UintParam(model.ParamImageSize, uint64(len(data)))); err != nil {
				return nil, err
			}
			continue
		}
		label, ok := paramLabel(k.Value)
		if !ok {
			return nil, p.fail(k, path, suggest(k.Value, paramNames()), "unknown parameter %s", excerpt(k.Value))
		}
		val, err := p.value(label, v, path+"/"+model.ParamName(label), fs)
		if err != nil {
			return nil, err
		}
		if err := add(k, model.Parameter{Label: label, Value: val}); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

func (p *parser) value(label int64, n *yaml.Node, path string, siblings [][2]*yaml.Node) (model.Value, error) {
	if raw, isRaw, err := p.rawCBOR(n, path); isRaw {
		return model.Value{Kind: model.KindRaw, Raw: raw}, err
	}
	info := model.LookupParam(label)
	if info == nil {
		return model.Value{}, p.fail(n, path, "write the value as {cbor: h'...'}", "parameter %d is not registered, so its value must be given as encoded CBOR", label)
	}
	var err error
	v := model.Value{Kind: info.Kind}
	switch info.Kind {
	case model.KindUUID:
		v.Bytes, v.PEN, err = p.uuid(label, n, path, siblings)
	case model.KindBytes, model.KindWrapped:
		v.Bytes, err = p.bytesValue(n, path)
	case model.KindUint:
		if n.Kind == yaml.MappingNode && label == model.ParamImageSize {
			fs, ferr := p.fields(n, path, "file")
			if ferr != nil {
				return v, ferr
			}
			data, rerr := p.readFile(fs[0][1], path+"/file")
			v.Uint, err = uint64(len(data)), rerr
			break
		}
		v.Uint, err = p.uint(n, path)
	case model.KindInt:
		v.Int, err = p.int(n, path)
	case model.KindBool:
		v.Bool, err = p.bool(n, path)
	case model.KindText:
		v.Text, err = p.str(n, path)
	case model.KindDigest:
		v.Digest, err = p.digest(n, path)
	}
	return v, err
}

// uuid accepts a UUID string, h'..', {domain: D} (vendor), {vendor-domain: D, model: M} (class),
// {model: M} (class, with the vendor ID from a sibling vendor-identifier) and {pen: h'..'} (vendor).
func (p *parser) uuid(label int64, n *yaml.Node, path string, siblings [][2]*yaml.Node) ([]byte, bool, error) {
	if n.Kind == yaml.ScalarNode {
		if isHexLiteral(n.Value) {
			b, err := p.hexBytes(n, path)
			return b, false, err
		}
		b, err := model.ParseUUID(n.Value)
		if err != nil {
			return nil, false, p.fail(n, path, "give a UUID like fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe, h'...', {domain: example.com} or {vendor-domain: example.com, model: NAME}", "%v", err)
		}
		return b, false, nil
	}
	fs, err := p.fields(n, path, "domain", "vendor-domain", "model", "pen")
	if err != nil {
		return nil, false, err
	}
	get := func(name string) *yaml.Node {
		for _, f := range fs {
			if f[0].Value == name {
				return f[1]
			}
		}
		return nil
	}
	if pen := get("pen"); pen != nil {
		if label != model.ParamVendorIdentifier {
			return nil, false, p.fail(n, path, "", "only the vendor ID may be a CBOR PEN")
		}
		b, err := p.hexBytes(pen, path+"/pen")
		return b, true, err
	}
	if d := get("domain"); d != nil && get("model") == nil {
		return model.VendorID(d.Value), false, nil
	}
	m := get("model")
	if m == nil {
		return nil, false, p.fail(n, path, "", "give {domain: D} for a vendor ID or {vendor-domain: D, model: M} for a class ID")
	}
	var vendor []byte
	if d := get("vendor-domain"); d != nil {
		vendor = model.VendorID(d.Value)
	} else if d := get("domain"); d != nil {
		vendor = model.VendorID(d.Value)
	} else {
		for _, s := range siblings {
			if s[0].Value == "vendor-identifier" {
				vendor, _, err = p.uuid(model.ParamVendorIdentifier, s[1], path, nil)
				if err != nil {
					return nil, false, err
				}
			}
		}
	}
	if vendor == nil {
		return nil, false, p.fail(n, path, "add vendor-domain: D", "a class ID from a model name needs the vendor")
	}
	b, err := model.ClassID(vendor, m.Value)
	if err != nil {
		return nil, false, p.fail(n, path, "", "%v", err)
	}
	return b, false, nil
}

func (p *parser) text(n *yaml.Node, path string, out *model.SeverableText) error {
	fs, err := p.fields(n, path, "severed", "digest-algorithm", "digest", "languages")
	if err != nil {
		return err
	}
	if err := p.severance(fs, path, &out.Severance); err != nil {
		return err
	}
	for _, f := range fs {
		if f[0].Value != "languages" {
			continue
		}
		out.Present = true
		out.Text = &model.TextMap{}
		if f[1].Kind != yaml.SequenceNode {
			return p.fail(f[1], path+"/languages", "", "languages is a list of {tag: en-US, ...}")
		}
		for i, ln := range f[1].Content {
			lp := fmt.Sprintf("%s/languages/%d", path, i)
			lfs, err := p.fields(ln, lp)
			if err != nil {
				return err
			}
			var lang model.TextLanguage
			for _, lf := range lfs {
				k, v := lf[0].Value, lf[1]
				switch k {
				case "tag":
					lang.Tag, err = p.str(v, lp+"/tag")
				case "components":
					err = p.textComponents(v, lp+"/components", &lang)
				case "unknown-members":
					lang.Unknown, err = p.unknownMembers(v, lp+"/unknown-members")
				default:
					var e model.TextEntry
					e, err = p.textEntry(lf[0], v, lp, manifestTextNames)
					lang.Entries = append(lang.Entries, e)
				}
				if err != nil {
					return err
				}
			}
			if lang.Tag == "" {
				return p.fail(ln, lp, "e.g. tag: en-US", "a language needs its tag")
			}
			out.Text.Languages = append(out.Text.Languages, lang)
		}
	}
	return p.checkSeverance(n, path, out.Severance)
}

func (p *parser) textEntry(k, v *yaml.Node, path string, names map[int64]string) (model.TextEntry, error) {
	for key, name := range names {
		if name == k.Value {
			s, err := p.str(v, path+"/"+name)
			return model.TextEntry{Key: key, Text: s}, err
		}
	}
	key, err := strconv.ParseInt(k.Value, 10, 64)
	if err != nil {
		var known []string
		for _, n := range names {
			known = append(known, n)
		}
		return model.TextEntry{}, p.fail(k, path, suggest(k.Value, known), "unknown text field %s", excerpt(k.Value))
	}
	s, err := p.str(v, path+"/"+k.Value)
	return model.TextEntry{Key: key, Text: s}, err
}

func (p *parser) textComponents(n *yaml.Node, path string, lang *model.TextLanguage) error {
	if n.Kind != yaml.SequenceNode {
		return p.fail(n, path, "", "components is a list of {component: [h'00'], vendor-domain: ..., ...}")
	}
	for i, cn := range n.Content {
		cp := fmt.Sprintf("%s/%d", path, i)
		fs, err := p.fields(cn, cp)
		if err != nil {
			return err
		}
		var ct model.ComponentText
		have := false
		for _, f := range fs {
			switch f[0].Value {
			case "component":
				ct.Component, err = p.componentID(f[1], cp+"/component")
				have = true
			case "unknown-members":
				ct.Unknown, err = p.unknownMembers(f[1], cp+"/unknown-members")
			default:
				var e model.TextEntry
				e, err = p.textEntry(f[0], f[1], cp, componentTextNames)
				ct.Entries = append(ct.Entries, e)
			}
			if err != nil {
				return err
			}
		}
		if !have {
			return p.fail(cn, cp, "add component: [h'00']", "component text needs the component identifier")
		}
		lang.Components = append(lang.Components, ct)
	}
	return nil
}
