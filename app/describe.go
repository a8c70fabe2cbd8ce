package app

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// Description says, in plain words, what a manifest would make a device do: the update and the
// invocation procedures (draft-ietf-suit-manifest-37 §8.4.6), command by command, with the
// components each command acts on. It is written for a reviewer who does not read CBOR.
type Description struct {
	// Components names each component of suit-common by index, e.g. "[h'00']".
	Components []string
	// Procedures: "Update" then "Invocation"; an empty procedure is still listed so that its
	// absence is visible.
	Procedures []Procedure
	// Notes are remarks about the envelope as a whole (severed members missing, no components).
	Notes []string
}

// Procedure is one of the manifest's procedures, the sequences it runs in order.
type Procedure struct {
	Name    string // "Update" or "Invocation"
	Summary string // one line: what the procedure achieves
	Steps   []Step
}

// StepKind tells a check (a condition: the device refuses when it fails) from an action.
type StepKind int

const (
	StepCheck   StepKind = iota // a condition
	StepAction                  // a directive with an effect: fetch, write, copy, swap, invoke...
	StepSetting                 // parameters set or components selected
	StepFlow                    // try-each, run-sequence, headers of sequences
	StepNote                    // something the description cannot resolve (a severed sequence absent)
)

// Step is one line of a procedure.
type Step struct {
	Kind  StepKind
	Depth int // nesting: 0 for sequence headers, 1 for commands, deeper in try-each/run-sequence
	// Path is the element path of the command, as codec/suit and model.Validate write it
	// ("envelope/manifest/install/1/fetch"; try-each alternatives add "/<n>", run-sequence adds
	// nothing), so that a UI can select the command when the step is clicked.
	Path string
	Text string
}

// describeState is the parameter storage of the abstract machine, per component (§6.4), kept
// only as far as is needed to name what each command does.
type describeState struct {
	names    []string
	selected []int
	params   []map[int64]model.Value
	desc     *Description
	proc     *Procedure
}

// Describe explains what env would make a device do. It never fails: what it cannot resolve
// (a severed sequence that is not in the envelope, an unknown command) it says in words.
func Describe(env *model.Envelope) *Description {
	d := &Description{}
	if env == nil || env.Manifest == nil {
		d.Notes = append(d.Notes, "The envelope has no manifest: there is nothing a device would do.")
		return d
	}
	m := env.Manifest
	for _, c := range m.Common.Components {
		d.Components = append(d.Components, ComponentName(c))
	}
	if len(d.Components) == 0 {
		d.Notes = append(d.Notes, "The manifest declares no components: every command would fail.")
	}
	type seqRef struct {
		name string
		seq  *model.CommandSequence
		sev  *model.Severance
	}
	run := func(p *Procedure, refs []seqRef) {
		for _, r := range refs {
			path := "envelope/manifest/" + r.name
			if r.seq == nil {
				if r.sev != nil && r.sev.Severed && !r.sev.Present {
					p.Steps = append(p.Steps, Step{Kind: StepNote, Path: path,
						Text: r.name + ": severed and not in this envelope; the device must receive it separately before it can run it"})
				}
				continue
			}
			// The shared sequence runs before each command sequence, with fresh parameters.
			st := newDescribeState(d, p, len(m.Common.Components))
			p.Steps = append(p.Steps, Step{Kind: StepFlow, Path: path, Text: r.name + ":"})
			if m.Common.SharedSequence != nil && len(m.Common.SharedSequence.Commands) > 0 {
				st.sequence(m.Common.SharedSequence, "envelope/manifest/common/shared-sequence", 1)
			}
			st.sequence(r.seq, path, 1)
		}
	}
	sev := func(s model.SeverableSequence) seqRef { return seqRef{seq: s.Seq, sev: &s.Severance} }
	up := Procedure{Name: "Update", Summary: "runs when the device receives this manifest: gets the payloads, installs them and checks the result"}
	refs := []seqRef{}
	for _, r := range []struct {
		name string
		s    model.SeverableSequence
	}{
		{"dependency-resolution", m.DependencyResolution},
		{"payload-fetch", m.PayloadFetch},
		{"candidate-verification", m.CandidateVerification},
		{"install", m.Install},
	} {
		x := sev(r.s)
		x.name = r.name
		refs = append(refs, x)
	}
	refs = append(refs, seqRef{name: "validate", seq: m.Validate})
	run(&up, refs)
	if len(up.Steps) == 0 {
		up.Steps = append(up.Steps, Step{Kind: StepNote, Text: "nothing: the manifest has no update sequences, so a device installs nothing"})
	}
	inv := Procedure{Name: "Invocation", Summary: "runs at every boot: checks what is installed and starts it"}
	run(&inv, []seqRef{{name: "validate", seq: m.Validate}, {name: "load", seq: m.Load}, {name: "invoke", seq: m.Invoke}})
	if len(inv.Steps) == 0 {
		inv.Steps = append(inv.Steps, Step{Kind: StepNote, Text: "nothing: the manifest has no validate, load or invoke sequence"})
	}
	d.Procedures = []Procedure{up, inv}
	return d
}

func newDescribeState(d *Description, p *Procedure, n int) *describeState {
	st := &describeState{names: d.Components, desc: d, proc: p, params: make([]map[int64]model.Value, n)}
	for i := range st.params {
		st.params[i] = map[int64]model.Value{}
	}
	if n > 0 {
		st.selected = []int{0} // the component index starts at 0 (§6.4)
	}
	return st
}

func (st *describeState) add(kind StepKind, depth int, path, format string, a ...any) {
	st.proc.Steps = append(st.proc.Steps, Step{Kind: kind, Depth: depth, Path: path, Text: fmt.Sprintf(format, a...)})
}

func (st *describeState) sequence(seq *model.CommandSequence, path string, depth int) {
	if seq == nil {
		return
	}
	for i := range seq.Commands {
		c := &seq.Commands[i]
		st.command(c, path+"/"+strconv.Itoa(i)+"/"+model.CommandName(c.Label), depth)
	}
}

// on names the selected components: "component [h'00']", "components [h'00'] and [h'01']".
func (st *describeState) on() string {
	if len(st.selected) == 0 {
		return "no component"
	}
	var names []string
	for _, i := range st.selected {
		names = append(names, st.name(i))
	}
	if len(names) == 1 {
		return "component " + names[0]
	}
	return "components " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (st *describeState) name(i int) string {
	if i >= 0 && i < len(st.names) {
		return st.names[i]
	}
	return "#" + strconv.Itoa(i) + " (not declared)"
}

// param returns the value of label shared by the selected components (the first one's).
func (st *describeState) param(label int64) (model.Value, bool) {
	for _, i := range st.selected {
		if i >= 0 && i < len(st.params) {
			v, ok := st.params[i][label]
			return v, ok
		}
	}
	return model.Value{}, false
}

func (st *describeState) command(c *model.Command, path string, depth int) {
	info := model.LookupCommand(c.Label)
	switch c.Label {
	case model.DirSetComponentIndex:
		st.selectIndex(c.Index)
		st.add(StepSetting, depth, path, "select %s", st.on())
	case model.DirOverrideParameters, model.DirSetParameters:
		var parts []string
		for _, p := range c.Params {
			for _, i := range st.selected {
				if i < 0 || i >= len(st.params) {
					continue
				}
				if _, set := st.params[i][p.Label]; c.Label == model.DirSetParameters && set {
					continue
				}
				st.params[i][p.Label] = p.Value
			}
			parts = append(parts, model.ParamName(p.Label)+" = "+DescribeValue(p.Label, p.Value))
		}
		verb := "set"
		if c.Label == model.DirSetParameters {
			verb = "set (where not yet set)"
		}
		st.add(StepSetting, depth, path, "%s for %s: %s", verb, st.on(), strings.Join(parts, ", "))
	case model.CondVendorIdentifier:
		st.check(path, depth, model.ParamVendorIdentifier, "check that %s is from vendor %s")
	case model.CondClassIdentifier:
		st.check(path, depth, model.ParamClassIdentifier, "check that %s is of class %s")
	case model.CondDeviceIdentifier:
		st.check(path, depth, model.ParamDeviceIdentifier, "check that %s is device %s")
	case model.CondImageMatch:
		st.check(path, depth, model.ParamImageDigest, "verify that the digest of %s is %s")
	case model.CondImageNotMatch:
		st.check(path, depth, model.ParamImageDigest, "check that the digest of %s is not %s")
	case model.CondComponentSlot:
		st.check(path, depth, model.ParamComponentSlot, "check that %s is slot %s")
	case model.CondCheckContent:
		st.check(path, depth, model.ParamContent, "check that %s holds exactly %s")
	case model.CondUseBefore:
		st.check(path, depth, model.ParamUseBefore, "check that the manifest for %s has not expired (use before %s)")
	case model.CondMinimumBattery:
		st.check(path, depth, model.ParamMinimumBattery, "check that the battery of %s holds at least %s")
	case model.CondVersion:
		st.check(path, depth, model.ParamVersion, "check the installed version of %s against %s")
	case model.CondAbort:
		st.add(StepCheck, depth, path, "abort: this path always fails")
	case model.DirFetch:
		what := "the payload"
		if v, ok := st.param(model.ParamURI); ok {
			what = DescribeValue(model.ParamURI, v)
			if strings.HasPrefix(v.Text, "#") {
				what = "the integrated payload " + strconv.Quote(v.Text) + " (carried in this envelope)"
			}
		}
		size := ""
		if v, ok := st.param(model.ParamImageSize); ok {
			size = fmt.Sprintf(" (%d bytes)", v.Uint)
		}
		st.add(StepAction, depth, path, "fetch %s%s into %s", what, size, st.on())
	case model.DirWrite:
		n := "the content"
		if v, ok := st.param(model.ParamContent); ok {
			n = fmt.Sprintf("%d bytes", len(v.Bytes))
		}
		st.add(StepAction, depth, path, "write %s to %s%s", n, st.on(), decryptWords(st))
	case model.DirCopy, model.DirSwap:
		src := "the source component (not set: this fails)"
		if v, ok := st.param(model.ParamSourceComponent); ok {
			src = "component " + st.name(int(v.Uint))
		}
		size := ""
		if v, ok := st.param(model.ParamImageSize); ok {
			size = fmt.Sprintf(" %d bytes", v.Uint)
		}
		if c.Label == model.DirCopy {
			st.add(StepAction, depth, path, "copy%s from %s into %s%s", size, src, st.on(), decryptWords(st))
		} else {
			st.add(StepAction, depth, path, "swap %s with %s", st.on(), src)
		}
	case model.DirInvoke:
		args := ""
		if v, ok := st.param(model.ParamInvokeArgs); ok {
			args = " with arguments " + DescribeValue(model.ParamInvokeArgs, v)
		}
		st.add(StepAction, depth, path, "boot %s%s", st.on(), args)
	case model.DirTryEach:
		st.add(StepFlow, depth, path, "try each of %d alternatives in order, until one succeeds:", len(c.Sequences))
		saved := st.snapshot()
		for i, s := range c.Sequences {
			st.restore(saved)
			p := path + "/" + strconv.Itoa(i)
			if s == nil {
				st.add(StepFlow, depth+1, p, "alternative %d: do nothing (always succeeds)", i+1)
				continue
			}
			st.add(StepFlow, depth+1, p, "alternative %d:", i+1)
			st.sequence(s, p, depth+2)
		}
	case model.DirRunSequence:
		st.add(StepFlow, depth, path, "run a sub-sequence on %s:", st.on())
		if len(c.Sequences) > 0 {
			st.sequence(c.Sequences[0], path, depth+1)
		}
	case model.DirProcessDependency:
		st.add(StepAction, depth, path, "process the dependency manifest in %s", st.on())
	case model.CondDependencyIntegrity:
		st.add(StepCheck, depth, path, "verify the signature and digest of the dependency manifest in %s", st.on())
	case model.CondIsDependency:
		st.add(StepCheck, depth, path, "check that %s is a dependency", st.on())
	case model.DirUnlink:
		st.add(StepAction, depth, path, "unlink %s", st.on())
	case model.DirWait:
		st.add(StepAction, depth, path, "wait for the events set in wait-info on %s", st.on())
	case model.CondUpdateAuthorized:
		st.add(StepCheck, depth, path, "check that the update of %s is authorized", st.on())
	case model.DirOverrideMultiple:
		var parts []string
		for _, ip := range c.Multiple {
			var ps []string
			for _, p := range ip.Params {
				if int(ip.Index) < len(st.params) {
					st.params[ip.Index][p.Label] = p.Value
				}
				ps = append(ps, model.ParamName(p.Label)+" = "+DescribeValue(p.Label, p.Value))
			}
			parts = append(parts, st.name(int(ip.Index))+": "+strings.Join(ps, ", "))
		}
		st.add(StepSetting, depth, path, "set parameters of several components: %s", strings.Join(parts, "; "))
	case model.DirCopyParams:
		st.add(StepSetting, depth, path, "copy parameters from other components into %s", st.on())
	default:
		if info != nil {
			st.add(StepAction, depth, path, "%s on %s", info.Description, st.on())
		} else {
			st.add(StepNote, depth, path, "%s: a command this studio does not know; a device that does not know it refuses the manifest", model.CommandName(c.Label))
		}
	}
}

func (st *describeState) check(path string, depth int, label int64, format string) {
	v, ok := st.param(label)
	val := "(not set: this check fails)"
	if ok {
		val = DescribeValue(label, v)
	}
	st.add(StepCheck, depth, path, format, st.on(), val)
}

func (st *describeState) selectIndex(ix *model.ComponentIndex) {
	st.selected = nil
	if ix == nil {
		return
	}
	if ix.All {
		for i := range st.names {
			st.selected = append(st.selected, i)
		}
		return
	}
	for _, i := range ix.Indices {
		st.selected = append(st.selected, int(i))
	}
}

type describeSnapshot struct {
	selected []int
	params   []map[int64]model.Value
}

func (st *describeState) snapshot() describeSnapshot {
	s := describeSnapshot{selected: append([]int(nil), st.selected...)}
	for _, p := range st.params {
		m := make(map[int64]model.Value, len(p))
		for k, v := range p {
			m[k] = v
		}
		s.params = append(s.params, m)
	}
	return s
}

func (st *describeState) restore(s describeSnapshot) {
	st.selected = append([]int(nil), s.selected...)
	for i := range st.params {
		st.params[i] = make(map[int64]model.Value, len(s.params[i]))
		for k, v := range s.params[i] {
			st.params[i][k] = v
		}
	}
}

// ComponentName formats a component identifier the way the spec writes it: [h'00'], or
// ['bin', 'app'] when every segment is printable text.
func ComponentName(c model.ComponentID) string {
	parts := make([]string, len(c))
	for i, seg := range c {
		if printable(seg) {
			parts[i] = "'" + string(seg) + "'"
		} else {
			parts[i] = "h'" + hex.EncodeToString(seg) + "'"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func printable(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\'' {
			return false
		}
	}
	return true
}

// DescribeValue formats a parameter value for people: UUIDs as UUIDs, digests as algorithm and
// hex, sizes with their unit.
func DescribeValue(label int64, v model.Value) string {
	if s, ok := describeUM(label, v); ok { // update-management types (describe_um.go)
		return s
	}
	switch v.Kind {
	case model.KindUUID:
		if v.PEN {
			return "CBOR PEN h'" + hex.EncodeToString(v.Bytes) + "'"
		}
		return model.FormatUUID(v.Bytes)
	case model.KindDigest:
		if v.Digest == nil {
			return "(empty digest)"
		}
		return suit.DigestName(v.Digest.Alg) + " " + hex.EncodeToString(v.Digest.Bytes)
	case model.KindUint:
		if label == model.ParamImageSize {
			return strconv.FormatUint(v.Uint, 10) + " bytes"
		}
		return strconv.FormatUint(v.Uint, 10)
	case model.KindInt:
		return strconv.FormatInt(v.Int, 10)
	case model.KindBool:
		return strconv.FormatBool(v.Bool)
	case model.KindText:
		return strconv.Quote(v.Text)
	case model.KindBytes, model.KindWrapped:
		if len(v.Bytes) > 32 {
			return fmt.Sprintf("%d bytes h'%s…'", len(v.Bytes), hex.EncodeToString(v.Bytes[:32]))
		}
		return "h'" + hex.EncodeToString(v.Bytes) + "'"
	default:
		return fmt.Sprintf("(encoded CBOR h'%s')", hex.EncodeToString(v.Raw))
	}
}
