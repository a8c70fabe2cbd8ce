package model

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// languageTag is the pattern of the text map's keys (tag38-ltag in the CDDL).
var languageTag = regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`)

// Severity of a validation finding.
type Severity int

const (
	// Warning: allowed by the draft, but probably not what the author wants (a SHOULD is broken).
	Warning Severity = iota
	// Error: the draft forbids it, or a processor will refuse the manifest.
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Finding is one validation result: what is wrong, where, and what to do.
type Finding struct {
	Severity Severity
	// Path is the "/"-separated element path, e.g.
	// "envelope/manifest/common/shared-sequence/2/override-parameters/image-digest"
	// (positions in a command sequence are command indexes, not array indexes).
	Path    string
	Message string
	Hint    string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s: %s", f.Severity, f.Path, f.Message)
	if f.Hint != "" {
		s += " (" + f.Hint + ")"
	}
	return s
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// Validate checks an envelope against the rules of draft-ietf-suit-manifest-37 (§5, §6, §7, §8)
// that can be checked without encoding: structure, component indexes, the shared sequence's
// restrictions, try-each arity, parameter types, the compatibility check and the image digest
// check after every write. Findings are sorted by path.
func Validate(env *Envelope) []Finding {
	v := &validator{}
	if env == nil || env.Manifest == nil {
		v.add(Error, "envelope", "the envelope has no manifest", "create a manifest from a template")
		return v.out
	}
	v.manifest(env)
	sort.SliceStable(v.out, func(i, j int) bool { return v.out[i].Path < v.out[j].Path })
	return v.out
}

type validator struct {
	out   []Finding
	m     *Manifest
	ncomp int // components plus dependencies: the valid component indexes are 0..ncomp-1
	ndeps int
}

func (v *validator) add(s Severity, path, msg, hint string) {
	v.out = append(v.out, Finding{Severity: s, Path: path, Message: msg, Hint: hint})
}

const manPath = "envelope/manifest"

func (v *validator) manifest(env *Envelope) {
	m := env.Manifest
	v.m = m
	v.ncomp = len(m.Common.Components)
	for _, d := range m.Common.Dependencies {
		// trust-domains: a dependency takes a component index past the components. (§5.1 of the
		// trust-domains draft speaks of entries of suit-components, but its own examples number
		// dependencies after the components; we follow the examples.)
		if d.Index >= uint64(v.ncomp) && d.Index < uint64(v.ncomp+len(m.Common.Dependencies)) {
			v.ndeps++
		}
	}
	v.ncomp += v.ndeps
	if m.Version != 1 {
		v.add(Error, manPath+"/manifest-version", fmt.Sprintf("manifest version is %d; draft-37 defines only version 1", m.Version), "set the manifest version to 1")
	}
	if len(m.Common.Components) == 0 {
		v.add(Error, manPath+"/common/components", "the manifest declares no components", "add at least one component, e.g. [h'00']")
	}
	seen := map[string]int{}
	for i, c := range m.Common.Components {
		k := fmt.Sprint(c)
		if j, dup := seen[k]; dup {
			v.add(Error, fmt.Sprintf("%s/common/components/%d", manPath, i), fmt.Sprintf("component %s is declared twice (also at %d)", FormatComponentID(c), j), "give each component a unique identifier")
		}
		seen[k] = i
	}
	for _, d := range m.Common.Dependencies {
		if d.Index >= uint64(v.ncomp) {
			v.add(Error, fmt.Sprintf("%s/common/dependencies/%d", manPath, d.Index), fmt.Sprintf("dependency index %d is beyond the %d components and %d dependencies", d.Index, len(m.Common.Components), len(m.Common.Dependencies)), "number dependencies right after the components")
		}
	}

	shared := m.Common.SharedSequence
	if shared == nil {
		v.add(Warning, manPath+"/common/shared-sequence", "there is no shared sequence, so no vendor or class check", "add override-parameters with vendor and class IDs, then the vendor-identifier and class-identifier conditions")
	} else {
		v.sequence(shared, manPath+"/common/shared-sequence", true, false)
		if !hasCommand(shared, CondVendorIdentifier) || !hasCommand(shared, CondClassIdentifier) {
			v.add(Warning, manPath+"/common/shared-sequence", "the shared sequence does not check both the vendor ID and the class ID (§6.3: it SHOULD)", "add the vendor-identifier and class-identifier conditions after override-parameters")
		}
	}
	type namedSeq struct {
		name string
		seq  *CommandSequence
	}
	seqs := []namedSeq{
		{"dependency-resolution", m.DependencyResolution.Seq},
		{"payload-fetch", m.PayloadFetch.Seq},
		{"candidate-verification", m.CandidateVerification.Seq},
		{"install", m.Install.Seq},
		{"validate", m.Validate},
		{"load", m.Load},
		{"invoke", m.Invoke},
		{"uninstall", m.Uninstall},
	}
	for _, s := range seqs {
		if s.seq != nil {
			v.sequence(s.seq, manPath+"/"+s.name, false, false)
		}
	}
	if m.Invoke != nil && m.Validate == nil {
		v.add(Warning, manPath+"/invoke", "the manifest invokes an image but has no validate sequence", "add a validate sequence with image-match so the image is checked before it boots")
	}
	if m.Validate == nil && (m.Install.Exists() || m.Invoke != nil) {
		v.add(Warning, manPath, "there is no validate sequence, so nothing checks the installed image before use (§8.4.6)", "add a validate sequence with image-match")
	}
	v.digestChecks(seqs[1].seq, "payload-fetch")
	v.digestChecks(m.Install.Seq, "install")
	v.digestChecks(m.Load, "load")

	if t := m.Text.Text; t != nil {
		if len(t.Languages) == 0 {
			v.add(Error, manPath+"/text", "the text map has no language (the CDDL requires at least one)", "add a language such as en-US, or remove the text")
		}
		for _, l := range t.Languages {
			if !languageTag.MatchString(l.Tag) {
				v.add(Error, manPath+"/text/"+l.Tag, fmt.Sprintf("%q is not a language tag ([a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*)", l.Tag), "use a tag such as en-US")
			}
			for _, c := range l.Components {
				if v.indexOf(c.Component) < 0 {
					v.add(Error, manPath+"/text/"+l.Tag, fmt.Sprintf("text describes component %s, which is not in components", FormatComponentID(c.Component)), "use a component identifier from common/components")
				}
			}
		}
	}
}

func (v *validator) indexOf(id ComponentID) int {
	for i, c := range v.m.Common.Components {
		if equalID(c, id) {
			return i
		}
	}
	return -1
}

func equalID(a, b ComponentID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

func hasCommand(s *CommandSequence, label int64) bool {
	if s == nil {
		return false
	}
	for _, c := range s.Commands {
		if c.Label == label {
			return true
		}
		for _, sub := range c.Sequences {
			if hasCommand(sub, label) {
				return true
			}
		}
	}
	return false
}

// sequence checks one command sequence; nested is true inside try-each and run-sequence.
func (v *validator) sequence(s *CommandSequence, path string, shared, nested bool) {
	if len(s.Commands) == 0 {
		v.add(Error, path, "the command sequence is empty (the CDDL requires at least one command)", "remove the sequence or add a command")
		return
	}
	if v.ncomp > 1 && !nested && s.Commands[0].Label != DirSetComponentIndex {
		v.add(Error, path+"/0", fmt.Sprintf("the manifest has %d components, but this sequence does not start with set-component-index (§6.5: it MUST)", v.ncomp), "insert set-component-index at the start of the sequence")
	}
	for i := range s.Commands {
		v.command(&s.Commands[i], fmt.Sprintf("%s/%d/%s", path, i, CommandName(s.Commands[i].Label)), shared, nested)
	}
}

func (v *validator) command(c *Command, path string, shared, nested bool) {
	info := LookupCommand(c.Label)
	if info == nil {
		if c.Label <= CustomLimit {
			if shared {
				v.add(Error, path, "custom commands MUST NOT be used in the shared sequence", "move the custom command to another sequence")
			} else {
				v.add(Warning, path, fmt.Sprintf("custom command %d: only processors that know it will accept this manifest", c.Label), "")
			}
			return
		}
		v.add(Error, path, fmt.Sprintf("command %d is not defined by draft-37 or its extensions; a processor will refuse the manifest", c.Label), "remove it, or use a custom label below -255")
		return
	}
	if shared && !info.Shared {
		v.add(Error, path, fmt.Sprintf("%s is not allowed in the shared sequence (only conditions, set-component-index, run-sequence, try-each and override-parameters)", info.Name), "move it to payload-fetch, install, load or invoke")
	}
	if c.Raw != nil {
		v.add(Error, path, fmt.Sprintf("the argument of %s has the wrong type", info.Name), argHint(info.Arg))
		return
	}
	switch info.Arg {
	case ArgPolicy:
		if c.Policy > 15 {
			v.add(Warning, path, fmt.Sprintf("reporting policy %d sets bits beyond the four defined ones", c.Policy), "use a value from 0 to 15")
		}
	case ArgIndex:
		if c.Index == nil {
			v.add(Error, path, "set-component-index has no index", "give an index, true, or a list")
			return
		}
		for _, i := range c.Index.Indices {
			if i >= uint64(v.ncomp) {
				v.add(Error, path, fmt.Sprintf("component index %d is out of range: the manifest has %d components", i, v.ncomp), fmt.Sprintf("use an index from 0 to %d", v.ncomp-1))
			}
		}
	case ArgParams:
		v.params(c.Params, path, shared, c.Label == DirSetParameters)
	case ArgTryEach:
		if len(c.Sequences) < 2 {
			v.add(Error, path, fmt.Sprintf("try-each has %d alternative(s); it needs at least two", len(c.Sequences)), "add an alternative, or a trailing empty (null) one, or use run-sequence")
		}
		for i, s := range c.Sequences {
			if s == nil {
				if i != len(c.Sequences)-1 {
					v.add(Error, fmt.Sprintf("%s/%d", path, i), "only the last try-each alternative may be null", "move the null alternative to the end")
				}
				continue
			}
			v.sequence(s, fmt.Sprintf("%s/%d", path, i), shared, true)
		}
	case ArgSequence:
		for _, s := range c.Sequences {
			if s != nil {
				v.sequence(s, path, shared, true)
			}
		}
	case ArgMultiple:
		for _, e := range c.Multiple {
			if e.Index >= uint64(v.ncomp) {
				v.add(Error, fmt.Sprintf("%s/%d", path, e.Index), fmt.Sprintf("component index %d is out of range", e.Index), "")
			}
			v.params(e.Params, fmt.Sprintf("%s/%d", path, e.Index), shared, false)
		}
	case ArgCopyParams:
		for _, e := range c.CopyParams {
			if e.Index >= uint64(v.ncomp) {
				v.add(Error, fmt.Sprintf("%s/%d", path, e.Index), fmt.Sprintf("component index %d is out of range", e.Index), "")
			}
		}
	}
}

func argHint(a ArgKind) string {
	switch a {
	case ArgPolicy:
		return "give a reporting policy (an unsigned integer, e.g. 15)"
	case ArgIndex:
		return "give a component index, true, or a list of indexes"
	case ArgParams:
		return "give a map of parameters"
	case ArgTryEach:
		return "give a list of command sequences"
	case ArgSequence:
		return "give a command sequence"
	}
	return ""
}

func (v *validator) params(ps []Parameter, path string, shared, setParams bool) {
	for _, p := range ps {
		pp := path + "/" + ParamName(p.Label)
		info := LookupParam(p.Label)
		if info == nil {
			if p.Label <= CustomLimit {
				if shared {
					v.add(Error, pp, "custom parameters MUST NOT be used in the shared sequence", "set it in another sequence")
				}
				continue
			}
			v.add(Error, pp, fmt.Sprintf("parameter %d is not defined by draft-37 or its extensions", p.Label), "remove it, or use a custom label below -255")
			continue
		}
		if p.Value.Kind != info.Kind {
			v.add(Error, pp, fmt.Sprintf("%s has a value of the wrong type", info.Name), kindHint(info.Kind))
			continue
		}
		switch info.Kind {
		case KindUUID:
			if !p.Value.PEN && len(p.Value.Bytes) != 16 {
				v.add(Error, pp, fmt.Sprintf("%s must be a 16-byte UUID, it has %d bytes", info.Name, len(p.Value.Bytes)), "derive it from a domain name (vendor) or a model name (class)")
			}
			if p.Value.PEN && p.Label != ParamVendorIdentifier {
				v.add(Error, pp, "only the vendor ID may be a CBOR PEN", "")
			}
		case KindDigest:
			d := p.Value.Digest
			switch d.Alg {
			case AlgSHA256, AlgSHA384, AlgSHA512, AlgSHAKE128, AlgSHAKE256:
			default:
				v.add(Error, pp, fmt.Sprintf("digest algorithm %d is not a SUIT digest algorithm", d.Alg), "use SHA-256 (-16)")
			}
			if want := digestLen(d.Alg); want > 0 && len(d.Bytes) != want {
				v.add(Error, pp, fmt.Sprintf("a %d-byte digest for an algorithm that gives %d bytes", len(d.Bytes), want), "recompute the digest from the image")
			}
			if setParams {
				v.add(Warning, pp, "a digest SHOULD be set with override-parameters, not set-parameters (§7)", "use override-parameters")
			}
		}
		if (p.Label == ParamSoftFailure) && !pathNested(path) {
			v.add(Error, pp, "soft-failure may only be set inside try-each or run-sequence (§8.4.8.15)", "move it into a try-each alternative or a run-sequence")
		}
	}
}

// pathNested reports whether a parameter path lies inside try-each or run-sequence.
func pathNested(path string) bool {
	return strings.Contains(path, "/try-each/") || strings.Contains(path, "/run-sequence/")
}

func digestLen(alg int64) int {
	switch alg {
	case AlgSHA256, AlgSHAKE128:
		return 32
	case AlgSHA384:
		return 48
	case AlgSHA512, AlgSHAKE256:
		return 64
	}
	return 0
}

func kindHint(k ValueKind) string {
	switch k {
	case KindUUID:
		return "give a 16-byte UUID"
	case KindBytes, KindWrapped:
		return "give a byte string"
	case KindUint:
		return "give an unsigned integer"
	case KindInt:
		return "give an integer"
	case KindBool:
		return "give true or false"
	case KindText:
		return "give a text string"
	case KindDigest:
		return "give a digest [algorithm, bytes]"
	}
	return ""
}

// digestChecks reports components written by fetch, copy, write or swap that are not checked with
// image-match (or check-content) later in the same sequence or in validate.
func (v *validator) digestChecks(s *CommandSequence, name string) {
	if s == nil || v.ncomp == 0 {
		return
	}
	written := map[int]int{} // component -> command position of the last write
	checked := map[int]bool{}
	cur := []int{0}
	// Commands nested in try-each and run-sequence count at the position of their parent.
	var flat []Command
	var pos []int
	var flatten func(cs []Command, at int)
	flatten = func(cs []Command, at int) {
		for i, c := range cs {
			p := at
			if p < 0 {
				p = i
			}
			flat, pos = append(flat, c), append(pos, p)
			for _, sub := range c.Sequences {
				if sub != nil {
					flatten(sub.Commands, p)
				}
			}
		}
	}
	flatten(s.Commands, -1)
	for n, c := range flat {
		i := pos[n]
		switch c.Label {
		case DirSetComponentIndex:
			if c.Index != nil {
				cur = selected(c.Index, v.ncomp)
			}
		case DirFetch, DirCopy, DirSwap:
			// write is not here: its content is in the manifest, authenticated already.
			for _, k := range cur {
				written[k] = i
				checked[k] = false
			}
		case CondImageMatch, CondCheckContent:
			for _, k := range cur {
				checked[k] = true
			}
		}
	}
	validated := map[int]bool{}
	if v.m.Validate != nil {
		cur = []int{0}
		for _, c := range v.m.Validate.Commands {
			switch c.Label {
			case DirSetComponentIndex:
				if c.Index != nil {
					cur = selected(c.Index, v.ncomp)
				}
			case CondImageMatch, CondCheckContent:
				for _, k := range cur {
					validated[k] = true
				}
			}
		}
	}
	keys := make([]int, 0, len(written))
	for k := range written {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		if !checked[k] && !validated[k] {
			i := written[k]
			v.add(Warning, fmt.Sprintf("%s/%s/%d/%s", manPath, name, i, CommandName(s.Commands[i].Label)),
				fmt.Sprintf("component %s is written but its image digest is never checked", v.componentName(k)),
				"add image-match after the write (with image-digest set), or in validate")
		}
	}
}

func selected(ci *ComponentIndex, n int) []int {
	if ci.All {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var out []int
	for _, i := range ci.Indices {
		if i < uint64(n) {
			out = append(out, int(i))
		}
	}
	return out
}

// FormatComponentID writes a component identifier as in diagnostic notation: [h'00', h'02'].
func FormatComponentID(id ComponentID) string {
	s := "["
	for i, b := range id {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("h'%x'", b)
	}
	return s + "]"
}

func (v *validator) componentName(i int) string {
	if i < len(v.m.Common.Components) {
		return FormatComponentID(v.m.Common.Components[i])
	}
	return fmt.Sprintf("#%d (dependency)", i)
}
