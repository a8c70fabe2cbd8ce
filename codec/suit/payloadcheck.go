package suit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// PayloadStatus says what verification established about one integrated payload.
type PayloadStatus int

const (
	// PayloadMatches: an image-match (or dependency-integrity) of the manifest checks this payload,
	// and its bytes match the image-digest (and image-size) the signed manifest sets there.
	PayloadMatches PayloadStatus = iota + 1
	// PayloadMismatch: every check the manifest makes of this payload fails: it was altered.
	PayloadMismatch
	// PayloadNotChecked: a check may exist but cannot be determined statically (an unknown command,
	// a severed sequence not carried, too many alternatives, a digest algorithm not supported).
	PayloadNotChecked
	// PayloadNotCovered: nothing in the manifest checks the payload's bytes: they are not covered by
	// the signature.
	PayloadNotCovered
)

func (s PayloadStatus) String() string {
	switch s {
	case PayloadMatches:
		return "verified"
	case PayloadMismatch:
		return "MISMATCH"
	case PayloadNotChecked:
		return "not checked"
	case PayloadNotCovered:
		return "not covered by the signature"
	}
	return "unknown"
}

// PayloadResult is the verdict on one integrated payload.
type PayloadResult struct {
	Key    string
	Size   int
	Status PayloadStatus
	// Where is the check that decided (sequence, try-each alternative, component), when one did.
	Where string
	// Reason is one line: what matched or what did not.
	Reason string
}

// maxPaths bounds the number of paths through try-each alternatives the analysis follows.
const maxPaths = 256

// maxWork bounds the analysis: component parameter sets touched, over all paths and commands.
const maxWork = 1 << 20

// maxDependencyDepth bounds the recursion into integrated dependencies.
const maxDependencyDepth = 4

// payloadCheck is one place where the manifest would check a payload's bytes.
type payloadCheck struct {
	where      string
	digest     *model.Digest // nil: the image-digest parameter is not a SUIT_Digest
	size       *uint64
	dependency bool   // the component is a dependency: its digest is its manifest's digest
	content    []byte // check-content: the expected bytes
	isContent  bool
}

// pathState is the processor's state along one path through the manifest's sequences.
type pathState struct {
	// params are shared between the paths forked from one another until one writes (copy on write).
	params  []map[int64]model.Value
	owned   []bool
	content []string // integrated payload key stored in each component ("" when none)
	current []int
	facts   map[[2]int64]string // device properties this path assumes (condition, component) -> value
	trail   []string
}

func (s *pathState) clone() *pathState {
	c := &pathState{
		params:  append([]map[int64]model.Value(nil), s.params...),
		owned:   make([]bool, len(s.params)),
		content: append([]string(nil), s.content...),
		current: append([]int(nil), s.current...),
		facts:   make(map[[2]int64]string, len(s.facts)),
		trail:   append([]string(nil), s.trail...),
	}
	// Neither copy may now write the shared parameter sets in place.
	for i := range s.owned {
		s.owned[i] = false
	}
	for k, v := range s.facts {
		c.facts[k] = v
	}
	return c
}

// set writes a parameter of component i, copying its set first when it is shared.
func (s *pathState) set(i int, label int64, v model.Value) {
	if !s.owned[i] {
		m := make(map[int64]model.Value, len(s.params[i])+1)
		for k, x := range s.params[i] {
			m[k] = x
		}
		s.params[i] = m
		s.owned[i] = true
	}
	s.params[i][label] = v
}

// clearParams empties every parameter set (a new procedure).
func (s *pathState) clearParams() {
	for i := range s.params {
		s.params[i] = map[int64]model.Value{}
		s.owned[i] = true
	}
}

type payloadAnalysis struct {
	env      *model.Envelope
	ncomp    int
	deps     map[int]bool
	payloads map[string][]byte
	checks   map[string][]payloadCheck
	fetched  map[string]string // where each payload is first fetched
	// unsure is why a payload that no check matched may still be checked in a way this analysis
	// cannot follow.
	unsure  []string
	depth   int
	work    int // parameter sets touched so far
	digests map[digestKey]digestResult
	gaveUp  bool // maxWork reached: the analysis stopped
}

// CheckPayloads finds, for every integrated payload of env, the image-match conditions that would
// check it (following the sequences as a processor runs them: the shared sequence before each,
// set-component-index, override/set-parameters, try-each alternatives, run-sequence, fetch, copy,
// swap), and compares the payload with the image-digest and image-size set there.
func CheckPayloads(env *model.Envelope) []PayloadResult {
	return checkPayloads(env, 0)
}

func checkPayloads(env *model.Envelope, depth int) []PayloadResult {
	if env == nil || env.Manifest == nil || len(env.Integrated) == 0 {
		return nil
	}
	m := env.Manifest
	a := &payloadAnalysis{env: env, deps: map[int]bool{}, payloads: map[string][]byte{}, checks: map[string][]payloadCheck{}, fetched: map[string]string{}, depth: depth, digests: map[digestKey]digestResult{}}
	a.ncomp = len(m.Common.Components)
	for _, d := range m.Common.Dependencies {
		a.deps[int(d.Index)] = true
		if int(d.Index) >= a.ncomp && d.Index < 1<<16 {
			a.ncomp = int(d.Index) + 1
		}
	}
	for _, p := range env.Integrated {
		a.payloads[p.Key] = p.Data
	}
	a.run()
	out := make([]PayloadResult, 0, len(env.Integrated))
	for _, p := range env.Integrated {
		out = append(out, a.result(p))
	}
	return out
}

type section struct {
	name string
	seq  *model.SeverableSequence
	bare *model.CommandSequence
}

func (a *payloadAnalysis) fresh() *pathState {
	s := &pathState{params: make([]map[int64]model.Value, a.ncomp), owned: make([]bool, a.ncomp), content: make([]string, a.ncomp), facts: map[[2]int64]string{}}
	s.clearParams()
	if a.ncomp == 1 {
		s.current = []int{0}
	}
	return s
}

func (a *payloadAnalysis) run() {
	m := a.env.Manifest
	update := []section{
		{name: "dependency-resolution", seq: &m.DependencyResolution},
		{name: "payload-fetch", seq: &m.PayloadFetch},
		{name: "candidate-verification", seq: &m.CandidateVerification},
		{name: "install", seq: &m.Install},
		{name: "validate", bare: m.Validate},
	}
	invocation := []section{{name: "validate", bare: m.Validate}, {name: "load", bare: m.Load}, {name: "invoke", bare: m.Invoke}}
	states := []*pathState{a.fresh()}
	states = a.procedure(update, states)
	// The invocation procedure starts with cleared parameters; the components keep what the update
	// procedure stored.
	for _, s := range states {
		s.clearParams()
		s.current = nil
		if a.ncomp == 1 {
			s.current = []int{0}
		}
	}
	a.procedure(invocation, states)
}

func (a *payloadAnalysis) procedure(secs []section, states []*pathState) []*pathState {
	for _, sec := range secs {
		seq := sec.bare
		if sec.seq != nil {
			if sec.seq.Severed && !sec.seq.Present {
				a.unsure = append(a.unsure, sec.name+" is severed and not carried in this envelope, so what it checks is unknown")
				continue
			}
			seq = sec.seq.Seq
		}
		if seq == nil {
			continue
		}
		if sh := a.env.Manifest.Common.SharedSequence; sh != nil {
			states = a.sequence(sh, "shared-sequence (before "+sec.name+")", states)
		}
		states = a.sequence(seq, sec.name, states)
	}
	return states
}

// sequence runs s on every state; a state whose path fails (a condition known to fail, abort)
// is dropped.
func (a *payloadAnalysis) sequence(s *model.CommandSequence, name string, states []*pathState) []*pathState {
	if s == nil {
		return states
	}
	for i := range s.Commands {
		var next []*pathState
		for _, st := range states {
			if !a.spend(1 + len(st.current)) {
				return nil
			}
			next = append(next, a.command(&s.Commands[i], name, st)...)
			if len(next) > maxPaths {
				a.unsure = append(a.unsure, fmt.Sprintf("the manifest has more than %d paths through its try-each alternatives; only the first were followed", maxPaths))
				next = next[:maxPaths]
				break
			}
		}
		states = next
	}
	return states
}

func where(st *pathState, name string, comp int) string {
	w := name
	if len(st.trail) > 0 {
		w += " (" + strings.Join(st.trail, ", ") + ")"
	}
	return fmt.Sprintf("%s, component %d", w, comp)
}

// valueKey identifies a parameter value (for comparing the values two conditions assume).
func valueKey(v model.Value) string {
	b := make([]byte, 0, 32)
	b = append(b, byte(v.Kind), boolByte(v.PEN), boolByte(v.Bool))
	b = binary.BigEndian.AppendUint64(b, v.Uint)
	b = binary.BigEndian.AppendUint64(b, uint64(v.Int))
	for _, f := range [][]byte{v.Bytes, []byte(v.Text), v.Raw} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return string(b)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// command applies one command to st and returns the states that follow (none when the path fails).
func (a *payloadAnalysis) command(c *model.Command, name string, st *pathState) []*pathState {
	info := model.LookupCommand(c.Label)
	if c.Raw != nil || info == nil {
		a.unsure = append(a.unsure, fmt.Sprintf("%s uses %s, which this tool cannot follow", name, model.CommandName(c.Label)))
		return []*pathState{st}
	}
	switch c.Label {
	case model.DirSetComponentIndex:
		st.current = nil
		if c.Index == nil {
			return nil
		}
		if c.Index.All {
			for i := range a.ncomp {
				st.current = append(st.current, i)
			}
			return []*pathState{st}
		}
		for _, i := range c.Index.Indices {
			if i >= uint64(a.ncomp) {
				return nil // the processor aborts
			}
			st.current = append(st.current, int(i))
		}
		return []*pathState{st}
	case model.DirOverrideParameters, model.DirSetParameters:
		for _, i := range st.current {
			for _, p := range c.Params {
				if _, set := st.params[i][p.Label]; set && c.Label == model.DirSetParameters {
					continue
				}
				st.set(i, p.Label, p.Value)
			}
		}
		return []*pathState{st}
	case model.DirOverrideMultiple:
		for _, e := range c.Multiple {
			if e.Index >= uint64(a.ncomp) {
				return nil
			}
			for _, p := range e.Params {
				st.set(int(e.Index), p.Label, p.Value)
			}
		}
		return []*pathState{st}
	case model.DirCopyParams:
		for _, e := range c.CopyParams {
			if e.Index >= uint64(a.ncomp) {
				return nil
			}
			for _, i := range st.current {
				for _, l := range e.Labels {
					if v, ok := st.params[e.Index][l]; ok {
						st.set(i, l, v)
					}
				}
			}
		}
		return []*pathState{st}
	case model.DirFetch:
		for _, i := range st.current {
			u, ok := st.params[i][model.ParamURI]
			if !ok {
				return nil // fetch without a uri fails
			}
			st.content[i] = ""
			if u.Kind != model.KindText {
				continue
			}
			if _, carried := a.payloads[u.Text]; carried {
				st.content[i] = u.Text
				if _, seen := a.fetched[u.Text]; !seen {
					a.fetched[u.Text] = where(st, name, i)
				}
			} else if strings.HasPrefix(u.Text, "#") {
				return nil // an integrated payload the envelope does not carry: the fetch fails
			}
		}
		return []*pathState{st}
	case model.DirWrite:
		for _, i := range st.current {
			st.content[i] = ""
		}
		return []*pathState{st}
	case model.DirCopy, model.DirSwap:
		for _, i := range st.current {
			src, ok := st.params[i][model.ParamSourceComponent]
			if !ok || src.Kind != model.KindUint || src.Uint >= uint64(a.ncomp) {
				return nil
			}
			j := int(src.Uint)
			if _, decrypts := st.params[i][model.ParamEncryptionInfo]; decrypts && c.Label == model.DirCopy {
				// draft-ietf-suit-firmware-encryption: the copy decrypts, so the component holds
				// the plaintext, not the payload's bytes.
				st.content[i] = ""
			} else if c.Label == model.DirCopy {
				st.content[i] = st.content[j]
			} else {
				st.content[i], st.content[j] = st.content[j], st.content[i]
			}
		}
		return []*pathState{st}
	case model.CondAbort:
		return nil
	case model.CondImageMatch, model.CondDependencyIntegrity, model.CondCheckContent:
		for _, i := range st.current {
			key := st.content[i]
			if key == "" {
				continue // the device's own content: nothing of this envelope
			}
			chk := payloadCheck{where: where(st, name, i), dependency: a.deps[i] || c.Label == model.CondDependencyIntegrity}
			if c.Label == model.CondCheckContent {
				v, ok := st.params[i][model.ParamContent]
				if !ok {
					return nil
				}
				chk.isContent, chk.content = true, v.Bytes
			} else {
				d, ok := st.params[i][model.ParamImageDigest]
				if !ok {
					return nil // image-match without a digest fails
				}
				if d.Kind == model.KindDigest {
					chk.digest = d.Digest
				}
				if s, ok := st.params[i][model.ParamImageSize]; ok && s.Kind == model.KindUint {
					chk.size = &s.Uint
				}
			}
			a.checks[key] = append(a.checks[key], chk)
			if !a.passes(key, chk) {
				return nil // the condition fails: this path ends
			}
		}
		return []*pathState{st}
	case model.CondVendorIdentifier, model.CondClassIdentifier, model.CondDeviceIdentifier, model.CondComponentSlot:
		// Each compares a fixed property of the device with a parameter: a path that assumes two
		// different values cannot happen.
		plabel := map[int64]int64{model.CondVendorIdentifier: model.ParamVendorIdentifier, model.CondClassIdentifier: model.ParamClassIdentifier,
			model.CondDeviceIdentifier: model.ParamDeviceIdentifier, model.CondComponentSlot: model.ParamComponentSlot}[c.Label]
		for _, i := range st.current {
			v, ok := st.params[i][plabel]
			if !ok {
				return nil
			}
			fk := [2]int64{c.Label, int64(i)}
			vk := valueKey(v)
			if old, seen := st.facts[fk]; seen && old != vk {
				return nil
			}
			st.facts[fk] = vk
		}
		return []*pathState{st}
	case model.DirTryEach, model.DirRunSequence:
		cur := st.current
		if len(cur) <= 1 {
			return a.nested(c, name, st)
		}
		// With several components selected, the sub-sequence runs once per component.
		states := []*pathState{st}
		for _, i := range cur {
			var next []*pathState
			for _, s := range states {
				if !a.spend(1) {
					return nil
				}
				s.current = []int{i}
				next = append(next, a.nested(c, name, s)...)
			}
			if len(next) > maxPaths {
				a.unsure = append(a.unsure, fmt.Sprintf("the manifest has more than %d paths through its try-each alternatives; only the first were followed", maxPaths))
				next = next[:maxPaths]
			}
			states = next
		}
		for _, s := range states {
			s.current = cur
		}
		return states
	}
	// Other conditions (assumed to pass) and directives that move no bytes (invoke, process-dependency,
	// unlink, wait, ...).
	return []*pathState{st}
}

// spend accounts for n units of work; false once the budget is exhausted (the analysis stops and
// says so).
func (a *payloadAnalysis) spend(n int) bool {
	if a.gaveUp {
		return false
	}
	if a.work += n; a.work > maxWork {
		a.gaveUp = true
		a.unsure = append(a.unsure, "the manifest is too large to follow (its sequences and alternatives exceed this tool's budget)")
		return false
	}
	return true
}

// nested runs the sub-sequences of try-each (each alternative on its own copy of the state) or
// run-sequence.
func (a *payloadAnalysis) nested(c *model.Command, name string, st *pathState) []*pathState {
	if c.Label == model.DirRunSequence {
		if len(c.Sequences) == 0 {
			return []*pathState{st}
		}
		return a.sequence(c.Sequences[0], name, []*pathState{st})
	}
	var out []*pathState
	for j, alt := range c.Sequences {
		if !a.spend(1 + 2*len(st.params)) { // the copy of the per-component slices
			return nil
		}
		s := st.clone()
		s.trail = append(s.trail, fmt.Sprintf("try-each alternative %d", j+1))
		res := a.sequence(alt, name, []*pathState{s})
		for _, r := range res {
			r.trail = r.trail[:len(st.trail)]
		}
		out = append(out, res...)
	}
	return out
}

// evaluate compares a payload with one check: ok, the reason, and whether the check could be made.
func (a *payloadAnalysis) evaluate(key string, chk payloadCheck) (ok bool, reason string, decided bool) {
	data := a.payloads[key]
	if chk.isContent {
		if bytes.Equal(data, chk.content) {
			return true, "equals the content parameter (check-content, " + chk.where + ")", true
		}
		return false, "differs from the content parameter (check-content, " + chk.where + ")", true
	}
	if chk.digest == nil {
		return true, "the image-digest at " + chk.where + " is not a SUIT_Digest this tool reads", false
	}
	what := "hashes"
	if chk.dependency {
		what = "has a manifest that hashes"
	}
	got, err := a.digestOf(key, chk.digest.Alg, chk.dependency)
	if err != nil {
		return true, fmt.Sprintf("cannot be checked at %s: %v", chk.where, err), false
	}
	digestOK := bytes.Equal(got, chk.digest.Bytes)
	sizeOK := chk.size == nil || *chk.size == uint64(len(data))
	if !digestOK || !sizeOK {
		size := ""
		if chk.size != nil {
			size = fmt.Sprintf(", image-size %d", *chk.size)
		}
		problem := map[[2]bool]string{{false, true}: "the digest differs", {true, false}: "the size differs", {false, false}: "the digest and the size differ"}[[2]bool{digestOK, sizeOK}]
		return false, fmt.Sprintf("%s: it is %d bytes and %s to %s %x, but the manifest at %s sets image-digest %x%s", problem, len(data), what, DigestName(chk.digest.Alg), got, chk.where, chk.digest.Bytes, size), true
	}
	s := fmt.Sprintf("%s %s matches the image-digest", DigestName(chk.digest.Alg), map[bool]string{true: "of its manifest", false: "of its bytes"}[chk.dependency])
	if chk.size != nil {
		s += " and image-size"
	}
	return true, s + " at " + chk.where, true
}

// passes is evaluate without the words: whether the condition holds on this path (a check that
// cannot be made is assumed to pass, and reported later).
func (a *payloadAnalysis) passes(key string, chk payloadCheck) bool {
	data := a.payloads[key]
	switch {
	case chk.isContent:
		return bytes.Equal(data, chk.content)
	case chk.digest == nil:
		return true
	}
	got, err := a.digestOf(key, chk.digest.Alg, chk.dependency)
	if err != nil {
		return true
	}
	return bytes.Equal(got, chk.digest.Bytes) && (chk.size == nil || *chk.size == uint64(len(data)))
}

type digestKey struct {
	key        string
	alg        int64
	dependency bool
}

type digestResult struct {
	b   []byte
	err error
}

// digestOf computes (once) the digest of a payload, or of its manifest for a dependency.
func (a *payloadAnalysis) digestOf(key string, alg int64, dependency bool) ([]byte, error) {
	k := digestKey{key, alg, dependency}
	if r, ok := a.digests[k]; ok {
		return r.b, r.err
	}
	var r digestResult
	if dependency {
		r.b, r.err = a.dependencyDigest(a.payloads[key], alg)
	} else {
		r.b, r.err = digestBytes(alg, a.payloads[key])
	}
	a.digests[k] = r
	return r.b, r.err
}

// dependencyDigest is the identity of an integrated dependency: the digest of its manifest.
// Its own integrated payloads must be covered by its manifest in turn.
func (a *payloadAnalysis) dependencyDigest(data []byte, alg int64) ([]byte, error) {
	re, err := SplitEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("not a SUIT envelope: %w", err)
	}
	d, err := re.ManifestDigest(alg)
	if err != nil {
		return nil, err
	}
	if a.depth >= maxDependencyDepth {
		return nil, fmt.Errorf("dependencies nested more than %d deep", maxDependencyDepth)
	}
	dep, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("the dependency does not decode: %w", err)
	}
	for _, r := range checkPayloads(dep, a.depth+1) {
		if r.Status != PayloadMatches {
			return nil, fmt.Errorf("its integrated payload %q is %s: %s", r.Key, r.Status, r.Reason)
		}
	}
	return d.Bytes, nil
}

func (a *payloadAnalysis) result(p model.IntegratedPayload) PayloadResult {
	r := PayloadResult{Key: p.Key, Size: len(p.Data)}
	var firstBad, undecided string
	var badWhere string
	for _, chk := range a.checks[p.Key] {
		ok, reason, decided := a.evaluate(p.Key, chk)
		switch {
		case !decided:
			if undecided == "" {
				undecided = reason
			}
		case ok:
			// The bytes are what the signed manifest expects on this path.
			r.Status, r.Where, r.Reason = PayloadMatches, chk.where, reason
			return r
		case firstBad == "":
			firstBad, badWhere = reason, chk.where
		}
	}
	unsure := dedupe(a.unsure)
	switch {
	case undecided != "":
		r.Status, r.Reason = PayloadNotChecked, undecided
	case len(unsure) > 0:
		r.Status, r.Reason = PayloadNotChecked, strings.Join(unsure, "; ")
		if firstBad != "" {
			r.Reason = firstBad + " (as far as this tool can follow: " + r.Reason + ")"
		}
	case firstBad != "":
		r.Status, r.Where, r.Reason = PayloadMismatch, badWhere, firstBad
	case a.fetched[p.Key] != "":
		r.Status, r.Reason = PayloadNotCovered, "fetched at "+a.fetched[p.Key]+", but no image-match checks it afterwards"
	default:
		r.Status, r.Reason = PayloadNotCovered, "no sequence of the manifest fetches it (no uri parameter names it where a fetch uses it)"
	}
	return r
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
