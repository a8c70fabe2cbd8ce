package devicesim

import (
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// Trust domains (draft-ietf-suit-trust-domains): dependencies, process-dependency, per-dependency
// trust anchors.
//
// A dependency is a component listed in suit-dependencies. Its content is a SUIT_Envelope: an
// integrated one (envelope key "#name") is used in place inside the staged envelope; a fetched one
// is written to a dependency envelope slot (the last sectors of the download area [h'02'] in
// external flash, one sector each). process-dependency authenticates it against the trust anchors
// (an anchor with a scope may sign only the dependencies whose suit-dependency-prefix it lists),
// then runs its common sequence and the section matching the dependent's current one, with a
// processor of its own whose RAM is charged while it runs: the nesting depth is bounded by
// Config.MaxDependencyDepth. The dependency is read from flash; what a level keeps in RAM is its
// manifest (as for the root) and DepLevelSize of processing state.

// DepLevelSize is the processing state of one dependency level: its envelope index pointer,
// section table, component map, saved selection and the dependent's return point.
const DepLevelSize = 160

// DepEntrySize is one entry of the dependency table (component index, prefix reference, flags).
const DepEntrySize = 12

// maxDependencies is the size of the dependency table per manifest.
const maxDependencies = 4

// tdState is the trust-domains and update-management state of one processor level.
type tdState struct {
	level     int    // 0 = root manifest, n = dependency nesting level
	scope     []byte // the identity the dependent gave this dependency (prefix), nil for the root
	deps      map[int]*depInfo
	manCompID []byte
	setVer    []int64 // suit-set-version (updatemgmt.go)
	slots     *int    // dependency envelope slots handed out in this run (all levels)
}

type depInfo struct {
	prefix  []byte // first element of suit-dependency-prefix (nil when none)
	checked bool   // dependency-integrity (or image-match over it) passed since the last fetch
	ran     bool   // process-dependency ran it at least once
}

// manifestExtension reads the manifest members of the extensions (keys 5 and 6).
func (p *proc) manifestExtension(c *cursor, key int64) error {
	switch key {
	case model.ManManifestComponentID:
		s, e, err := c.itemRange()
		if err != nil {
			return p.failErr(-1, "read manifest", "", err)
		}
		p.td.manCompID = p.manBody[s:e]
		what := "used for storing a root manifest"
		if p.td.level > 0 {
			what = "ignored for a dependency (trust-domains §4.1)"
		}
		p.emit(Event{Command: "manifest-component-id", Argument: diagComponent(p.td.manCompID), Result: Info, Reason: what})
		return nil
	case model.ManSetVersion:
		return p.readSetVersion(c)
	}
	return p.fail(false, -1, "read manifest", "", ErrUnsupported, "unknown manifest member %d", key)
}

// parseDependencies reads suit-dependencies = { + uint => { ? 1 => SUIT_Component_Identifier } }.
func (p *proc) parseDependencies(c *cursor) error {
	const cmd = "check dependencies"
	buf := c.src.(ramSource)
	n, err := c.mapHead()
	if err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	if n == 0 {
		return p.fail(false, -1, cmd, "", ErrInvalid, "suit-dependencies is empty (it needs at least one entry)")
	}
	if n > maxDependencies {
		return p.fail(false, -1, cmd, "", ErrUnsupported, "the manifest declares %d dependencies; this device holds %d per manifest", n, maxDependencies)
	}
	if _, err := p.alloc(fmt.Sprintf("dependency table (%d)", n), n*DepEntrySize, false); err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	p.td.deps = map[int]*depInfo{}
	last := int64(-1)
	var words []string
	for k := 0; k < n; k++ {
		at := c.pos
		idx, err := c.uint()
		if err != nil {
			return p.failErr(-1, cmd, "", err)
		}
		if int64(idx) <= last || idx > 255 {
			return p.failErr(-1, cmd, "", c.errf(at, "dependency index %d out of order, repeated or too large", idx))
		}
		last = int64(idx)
		m, err := c.mapHead()
		if err != nil {
			return p.failErr(-1, cmd, "", err)
		}
		dep := &depInfo{}
		for j := 0; j < m; j++ {
			mk, err := c.int()
			if err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			if mk != 1 {
				return p.fail(false, -1, cmd, "", ErrUnsupported, "dependency #%d: unknown dependency metadata %d (only dependency-prefix, 1)", idx, mk)
			}
			parts, err := c.array()
			if err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			for q := 0; q < parts; q++ {
				o, l, err := c.bstr()
				if err != nil {
					return p.failErr(-1, cmd, "", err)
				}
				if q == 0 {
					dep.prefix = buf[o : o+l]
				}
			}
		}
		p.td.deps[int(idx)] = dep
		w := fmt.Sprintf("#%d", idx)
		if dep.prefix != nil {
			w += fmt.Sprintf(" prefix %q", dep.prefix)
		}
		words = append(words, w)
	}
	p.pass(-1, cmd, strings.Join(words, ", "))
	return nil
}

// depComp is the processor's component for dependency i: an envelope, not a device slot.
func (p *proc) depComp(i int) *procComp {
	dep := p.td.deps[i]
	id := dep.prefix
	if id == nil {
		id = []byte(fmt.Sprintf("dependency-%d", i))
	}
	return &procComp{dev: &devComp{ComponentInfo: ComponentInfo{ID: id, Name: "dependency manifest"}}, devIdx: -1}
}

// extraDependencies appends the dependencies whose indices follow the component list (the
// trust-domains examples number them after suit-components).
func (p *proc) extraDependencies(nc int) error {
	for idx := range p.td.deps {
		if idx < nc {
			continue
		}
		if idx >= nc+len(p.td.deps) {
			return p.fail(false, -1, "check dependencies", "", ErrInvalid, "dependency index %d is neither a component (the manifest lists %d) nor directly after them", idx, nc)
		}
	}
	for idx := nc; p.td.deps[idx] != nil; idx++ {
		p.comps = append(p.comps, p.depComp(idx))
	}
	for idx := range p.td.deps {
		if idx >= len(p.comps) {
			return p.fail(false, -1, "check dependencies", "", ErrInvalid, "dependency indices after the %d components must be consecutive (index %d)", nc, idx)
		}
	}
	return nil
}

func (p *proc) isDep(i int) bool {
	return p.td.deps[i] != nil && i < len(p.comps) && p.comps[i].devIdx < 0
}

// anchorMaySign says whether trust anchor a may sign the manifest this processor authenticates.
func (p *proc) anchorMaySign(a anchor) bool {
	if len(a.scope) == 0 {
		return true
	}
	if p.td.level == 0 || p.td.scope == nil {
		return false
	}
	for _, s := range a.scope {
		if string(s) == string(p.td.scope) {
			return true
		}
	}
	return false
}

func encodeScope(a TrustAnchor) ([][]byte, error) {
	if len(a.Scope) > 8 {
		return nil, fmt.Errorf("%w: trust anchor %q: at most 8 scope entries", ErrNotProvisioned, a.Name)
	}
	var out [][]byte
	for _, s := range a.Scope {
		if s == "" || len(s) > 64 {
			return nil, fmt.Errorf("%w: trust anchor %q: scope entries are 1 to 64 bytes", ErrNotProvisioned, a.Name)
		}
		out = append(out, []byte(s))
	}
	return out, nil
}

func readScope(f *Flash, pos, end int) ([][]byte, int, error) {
	var n [1]byte
	if pos+1 > end {
		return nil, 0, fmt.Errorf("truncated anchor scope")
	}
	f.ReadAt(n[:], pos)
	pos++
	var out [][]byte
	for i := 0; i < int(n[0]); i++ {
		var l [1]byte
		if pos+1 > end {
			return nil, 0, fmt.Errorf("truncated anchor scope")
		}
		f.ReadAt(l[:], pos)
		pos++
		if pos+int(l[0]) > end {
			return nil, 0, fmt.Errorf("truncated anchor scope")
		}
		b := make([]byte, l[0])
		f.ReadAt(b, pos)
		pos += int(l[0])
		out = append(out, b)
	}
	return out, pos, nil
}

func scopeWords(sc [][]byte) string {
	if len(sc) == 0 {
		return ""
	}
	var w []string
	for _, s := range sc {
		w = append(w, fmt.Sprintf("%q", s))
	}
	return " (dependencies " + strings.Join(w, ", ") + " only)"
}

// fetchDep fetches dependency i's envelope: an integrated one is used where it is, a remote one
// is written to a dependency envelope slot.
func (p *proc) fetchDep(i int, name string) error {
	pc := p.comps[i]
	pp, dc, dep := &pc.params, pc.dev, p.td.deps[i]
	if !pp.has(model.ParamURI) {
		return p.fail(false, i, name, "", ErrParamUnset, "fetch needs the uri parameter")
	}
	uri := string(pp.uri)
	arg := fmt.Sprintf("%q", uri)
	dep.checked = false // any fetch into the dependency invalidates its integrity check
	if strings.HasPrefix(uri, "#") {
		if e, found, err := p.integrated(uri); err != nil {
			return p.failErr(i, name, arg, err)
		} else if found {
			n := e.val.n()
			dc.Active = Region{"integrated dependency " + uri, p.envFlash, p.envBase + e.val.off, n}
			dc.Length = n
			arg += fmt.Sprintf(" (integrated dependency envelope, %d bytes)", n)
			if err := p.checkSize(i, name, arg, n); err != nil {
				return err
			}
			p.pass(i, name, fmt.Sprintf("%s, used in place at 0x%05x (not copied)", arg, p.envBase+e.val.off))
			return nil
		}
		return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: the envelope has no integrated dependency %q", uri)
	}
	if p.d.Ext == nil || len(p.d.comps) < 3 {
		return p.fail(false, i, name, arg, ErrUnsupported, "this device has no external flash to store a fetched dependency envelope: integrate it in the envelope instead")
	}
	if dc.Active.Flash == nil || dc.Active.Flash != p.d.Ext {
		k := *p.td.slots
		ss := p.d.cfg.SectorSize
		area := p.d.comps[2].Active
		if k >= maxDependencies || (k+1)*ss > area.Size/2 {
			return p.fail(false, i, name, arg, ErrUnsupported, "no free dependency envelope slot (%d in use)", k)
		}
		*p.td.slots = k + 1
		dc.Active = Region{fmt.Sprintf("dependency envelope slot %d", k), area.Flash, area.Offset + area.Size - (k+1)*ss, ss}
	}
	return p.fetch(i, name)
}

// depManifest finds the manifest bstr item (envelope key 3) of the dependency envelope in flash.
func (p *proc) depManifest(i int) (int, int, error) {
	dc := p.comps[i].dev
	src := flashSource{dc.Active.Flash, dc.Active.Offset, dc.Length}
	c := newCursor(src, "dependency envelope", 0, dc.Length)
	tag, ok, err := c.optTag()
	if err != nil {
		return 0, 0, err
	}
	if ok && tag != model.TagEnvelope {
		return 0, 0, c.errf(0, "tag %d is not SUIT_Envelope_Tagged (107)", tag)
	}
	n, err := c.mapHead()
	if err != nil {
		return 0, 0, err
	}
	for k := 0; k < n; k++ {
		major, _, _, err := c.peek()
		if err != nil {
			return 0, 0, err
		}
		if major == majTstr {
			if err := c.skip(); err != nil {
				return 0, 0, err
			}
			if err := c.skip(); err != nil {
				return 0, 0, err
			}
			continue
		}
		key, err := c.int()
		if err != nil {
			return 0, 0, err
		}
		s, e, err := c.itemRange()
		if err != nil {
			return 0, 0, err
		}
		if key == model.EnvManifest {
			return s, e - s, nil
		}
	}
	return 0, 0, c.errf(0, "the dependency envelope has no manifest (key 3)")
}

// depImageMatch is image-match over a dependency: the digest of its bstr-wrapped manifest
// (trust-domains §4.2), which is also the first element of its authentication wrapper.
func (p *proc) depImageMatch(i int, name string) error {
	pc := p.comps[i]
	pp, dc := &pc.params, pc.dev
	if !pp.has(model.ParamImageDigest) {
		return p.fail(true, i, name, "", ErrParamUnset, "image-digest is not set for this dependency")
	}
	if dc.Length == 0 {
		return p.fail(true, i, name, "", ErrPayloadUnavailable, "the dependency has not been fetched")
	}
	off, n, err := p.depManifest(i)
	if err != nil {
		return p.failErr(i, name, "", err)
	}
	got, err := p.d.regionDigest(dc.Active.Flash, dc.Active.Offset+off, n)
	if err != nil {
		return p.failErr(i, name, "", err)
	}
	arg := fmt.Sprintf("sha-256:%x… over the dependency's %d-byte manifest bstr", pp.digest[:6], n)
	if subtle.ConstantTimeCompare(got[:], pp.digest) != 1 {
		return p.fail(true, i, name, arg, ErrPayloadDigest, "dependency digest mismatch: the dependent wants manifest %x, the dependency's manifest hashes to %x", pp.digest, got)
	}
	p.td.deps[i].checked = true
	p.pass(i, name, arg)
	return nil
}

// child loads dependency i with a processor of its own (one nesting level deeper).
func (p *proc) child(i int, name string) (*proc, error) {
	dc := p.comps[i].dev
	dep := p.td.deps[i]
	if dc.Length == 0 {
		return nil, p.fail(false, i, name, "", ErrPayloadUnavailable, "the dependency envelope is not available (not fetched in this procedure)")
	}
	level := p.td.level + 1
	if level > p.d.cfg.MaxDependencyDepth {
		return nil, p.fail(false, i, name, fmt.Sprintf("level %d", level), ErrDependencies,
			"dependency nesting too deep: this would be level %d, the device processes %d level(s) of dependencies", level, p.d.cfg.MaxDependencyDepth)
	}
	ch := p.d.newProc(p.name, p.st, p.fetcher)
	ch.td = &tdState{level: level, scope: dep.prefix, slots: p.td.slots}
	ch.depth = p.depth + 1
	ch.cmdCount = p.cmdCount
	if _, err := ch.alloc(fmt.Sprintf("dependency level %d state", level), DepLevelSize, false); err != nil {
		ch.free()
		return nil, p.failErr(i, name, "", err)
	}
	p.emit(Event{Component: p.compName(i), Command: name, Argument: fmt.Sprintf("%d-byte envelope", dc.Length), Result: Info,
		Reason: fmt.Sprintf("loading the dependency (level %d): authenticate, then parse", level)})
	if err := ch.load(flashSource{dc.Active.Flash, dc.Active.Offset, dc.Length}, dc.Active.Flash, dc.Active.Offset); err != nil {
		ch.free()
		return nil, err
	}
	// A component both manifests name has one parameter set: what the dependent set reaches
	// the dependency, and what the dependency sets persists in the dependent (trust-domains §5).
	for k, cc := range ch.comps {
		for _, pc := range p.comps {
			if cc.devIdx >= 0 && pc.devIdx == cc.devIdx {
				ch.comps[k] = pc
			}
		}
	}
	return ch, nil
}

// release frees a dependency's processor. Byte-string parameters it set on shared components
// point into its manifest, which leaves RAM now: they are unset (integers persist).
func (p *proc) release(ch *proc) {
	if ch.man != nil {
		// A slice of the dependency's manifest block shares the end of its backing array.
		buf := ch.man.Buf
		end := &buf[:cap(buf)][cap(buf)-1]
		in := func(b []byte) bool { return cap(b) > 0 && &b[:cap(b)][cap(b)-1] == end }
		for _, pc := range p.comps {
			pp := &pc.params
			for label, f := range map[int]*[]byte{
				model.ParamVendorIdentifier: &pp.vendor, model.ParamClassIdentifier: &pp.class, model.ParamDeviceIdentifier: &pp.device,
				model.ParamImageDigest: &pp.digest, model.ParamContent: &pp.content, model.ParamURI: &pp.uri,
				model.ParamInvokeArgs: &pp.invokeArgs, model.ParamFetchArguments: &pp.fetchArgs, model.ParamEncryptionInfo: &pp.encInfo,
				model.ParamVersion: &pp.um.version, model.ParamWaitInfo: &pp.um.waitInfo, model.ParamComponentMetadata: &pp.um.metadata,
			} {
				if in(*f) {
					*f = nil
					pp.set &^= 1 << uint(label)
				}
			}
		}
	}
	p.cmdCount = max(p.cmdCount, ch.cmdCount)
	ch.free()
}

// checkDependenciesRan: at the end of the update procedure every declared dependency must have
// been processed (trust-domains §3: the dependent processes each dependency's sections).
func (p *proc) checkDependenciesRan() error {
	for idx, dep := range p.td.deps {
		if !dep.ran {
			return p.fail(false, -1, "check dependencies", fmt.Sprintf("#%d", idx), ErrDependencies,
				"the manifest declares dependencies but never processes dependency #%d (no process-dependency ran it): refused", idx)
		}
	}
	return nil
}

// sectionKey maps the name of the running section back to its manifest key.
func sectionKey(name string) (int, bool) {
	for k, v := range sectionNames {
		if v == name {
			return k, true
		}
	}
	return 0, false
}

// tdCommand runs the trust-domains conditions and directives on component i.
func (p *proc) tdCommand(label int64, name string, i int) error {
	pp := &p.comps[i].params
	switch label {
	case model.CondIsDependency:
		if !p.isDep(i) {
			return p.fail(true, i, name, "", ErrCondition, "component #%d is not a dependency", i)
		}
		p.pass(i, name, "")
		return nil

	case model.CondDependencyIntegrity:
		if !p.isDep(i) {
			return p.fail(false, i, name, "", ErrInvalid, "component #%d is not in suit-dependencies", i)
		}
		if !pp.has(model.ParamImageDigest) {
			return p.fail(false, i, name, "", ErrParamUnset, "dependency-integrity needs the image-digest parameter")
		}
		ch, err := p.child(i, name)
		if err != nil {
			return err
		}
		got := ch.digest
		p.release(ch)
		arg := fmt.Sprintf("sha-256:%x…", pp.digest[:6])
		if subtle.ConstantTimeCompare(got[:], pp.digest) != 1 {
			return p.fail(false, i, name, arg, ErrManifestDigest, "dependency digest mismatch: the dependent wants manifest %x, the dependency's authenticated manifest is %x", pp.digest, got)
		}
		p.td.deps[i].checked = true
		p.pass(i, name, arg+", signature and digest verified")
		return nil

	case model.DirProcessDependency:
		if !p.isDep(i) && len(p.selected()) > 1 {
			// With index True (or an array) the directive applies to the dependencies (trust-domains §6.2).
			p.emit(Event{Component: p.compName(i), Command: name, Result: Skipped, Reason: "not a dependency: process-dependency over several components applies to the dependencies only"})
			return nil
		}
		if !p.isDep(i) {
			return p.fail(false, i, name, "", ErrInvalid, "component #%d is not in suit-dependencies: abort", i)
		}
		if !p.td.deps[i].checked {
			return p.fail(false, i, name, "", ErrInvalid, "the dependency has not passed dependency-integrity (or image-match) since it was fetched: abort")
		}
		key, ok := sectionKey(p.seqName)
		if !ok || p.inShared {
			return p.fail(false, i, name, "", ErrInvalid, "process-dependency in the %s sequence: abort", p.seqName)
		}
		ch, err := p.child(i, name)
		if err != nil {
			return err
		}
		defer p.release(ch)
		p.td.deps[i].ran = true
		if pp.has(model.ParamImageDigest) && subtle.ConstantTimeCompare(ch.digest[:], pp.digest) != 1 {
			return p.fail(false, i, name, "", ErrManifestDigest, "dependency digest mismatch: the dependent wants manifest %x, the dependency's is %x", pp.digest, ch.digest)
		}
		err = ch.runProcedure([]int{key})
		p.cmdCount = max(p.cmdCount, ch.cmdCount)
		if err != nil {
			return err
		}
		if ch.invoked >= 0 {
			return p.fail(false, i, name, "", ErrUnsupported, "invoke inside a dependency is not supported by this device")
		}
		p.seqName = sectionNames[key]
		p.pass(i, name, fmt.Sprintf("common + %s of the dependency done", sectionNames[key]))
		return nil

	case model.DirUnlink:
		return p.unlink(i, name) // unlink.go
	}
	return p.fail(false, i, name, "", ErrUnknownCommand, "command %s is not implemented", name)
}

// extCommand runs the commands of the trust-domains and update-management extensions.
func (p *proc) extCommand(label int64, name string, i int) (bool, error) {
	switch label {
	case model.CondDependencyIntegrity, model.CondIsDependency, model.DirProcessDependency, model.DirUnlink:
		return true, p.tdCommand(label, name, i)
	case model.CondUseBefore, model.CondImageNotMatch, model.CondMinimumBattery, model.CondUpdateAuthorized,
		model.CondVersion, model.DirWait:
		return true, p.umCommand(label, name, i)
	}
	return false, nil
}

// manifestRole names the manifest being authenticated, for messages.
func (p *proc) manifestRole() string {
	if p.td.level == 0 {
		return "a root manifest"
	}
	return fmt.Sprintf("the dependency %q", p.td.scope)
}
