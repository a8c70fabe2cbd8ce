package devicesim

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// execSeq runs one SUIT_Command_Sequence held in RAM. top marks a section (shared, validate, ...)
// as opposed to a sequence nested in try-each or run-sequence.
func (p *proc) execSeq(seq []byte, top bool) error {
	c, err := newItemCursor(ramSource(seq), p.seqName, 0, len(seq))
	if err != nil {
		return p.failErr(-1, "read "+p.seqName, "", err)
	}
	n, err := c.array()
	if err != nil {
		return p.failErr(-1, "read "+p.seqName, "", err)
	}
	if n%2 != 0 {
		return p.failErr(-1, "read "+p.seqName, "", c.errf(0, "command sequence has %d elements; it must be pairs of label and argument", n))
	}
	if top {
		p.sel = []int{0}
		p.soft = false
		p.strictOrder = true
		p.frame = nil
	}
	frame, err := p.alloc("sequence frame", FrameSize, false)
	if err != nil {
		return p.failErr(-1, "read "+p.seqName, "", err)
	}
	defer frame.Free()
	for i := 0; i < n/2; i++ {
		at := c.pos
		label, err := c.int()
		if err != nil {
			return p.failErr(-1, "read "+p.seqName, "", err)
		}
		if top && i == 0 && len(p.comps) > 1 && label != model.DirSetComponentIndex {
			return p.fail(false, -1, model.CommandName(label), "", ErrInvalid,
				"with %d components every command sequence must begin with set-component-index (§6.2); %s begins with %s", len(p.comps), p.seqName, model.CommandName(label))
		}
		p.clockTick()
		if p.d.cancel != nil {
			if err := p.d.cancel(); err != nil {
				return p.fail(false, -1, model.CommandName(label), "", ErrAbort, "stopped: %v", err)
			}
		}
		p.cmdCount++
		if p.cmdCount > p.d.cfg.MaxCommands {
			return p.fail(false, -1, model.CommandName(label), "", ErrAbort,
				"watchdog: more than %d commands executed in one procedure (nested try-each/run-sequence over many components?)", p.d.cfg.MaxCommands)
		}
		outer := p.cmdAt
		p.cmdAt = at
		err = p.command(c, label, at)
		p.cmdAt = outer
		if err != nil {
			return err
		}
	}
	return nil
}

// selected returns the component indices the current index selects.
func (p *proc) selected() []int { return p.sel }

func (p *proc) command(c *cursor, label int64, at int) error {
	info := model.LookupCommand(label)
	name := model.CommandName(label)
	if info == nil {
		_ = c.skip()
		if label <= model.CustomLimit {
			return p.fail(false, -1, name, "", ErrUnknownCommand, "custom command %d is not supported by this device (custom commands are refused, never skipped)", label)
		}
		return p.fail(false, -1, name, "", ErrUnknownCommand, "unknown command %d at byte %d of %s (not in draft-ietf-suit-manifest-37): refused, never skipped", label, at, p.seqName)
	}
	if p.inShared && !info.Shared {
		_ = c.skip()
		return p.fail(false, -1, name, "", ErrInvalid, "%s is not allowed in the shared sequence (§8.4.5: conditions and flow control only)", name)
	}
	switch label {
	case model.DirSetComponentIndex:
		return p.setIndex(c)
	case model.DirOverrideParameters, model.DirSetParameters:
		return p.setParameters(c, label == model.DirOverrideParameters, name)
	case model.DirTryEach:
		return p.tryEach(c)
	case model.DirRunSequence:
		return p.runSequence(c)
	case model.DirOverrideMultiple, model.DirCopyParams:
		return p.multiParams(c, label, name) // updatemgmt.go
	}
	// Every other command takes a reporting policy.
	policy, err := c.uint()
	if err != nil {
		return p.failErr(-1, name, "", err)
	}
	p.policy = policy
	defer func() { p.policy = noPolicy }()
	switch label {
	case model.CondVendorIdentifier, model.CondClassIdentifier, model.CondDeviceIdentifier,
		model.CondImageMatch, model.CondComponentSlot, model.CondCheckContent, model.CondAbort,
		model.DirWrite, model.DirFetch, model.DirCopy, model.DirInvoke, model.DirSwap:
	case model.CondDependencyIntegrity, model.CondIsDependency, model.DirProcessDependency, model.DirUnlink,
		model.CondUseBefore, model.CondImageNotMatch, model.CondMinimumBattery, model.CondUpdateAuthorized,
		model.CondVersion, model.DirWait:
		// deps.go and updatemgmt.go
	default:
		return p.fail(false, -1, name, "", ErrUnknownCommand, "%s (%s extension) is not supported by this device: refused, never skipped", name, info.Spec)
	}
	for _, i := range p.selected() {
		if err := p.exec1(label, name, i); err != nil {
			return err
		}
		if p.invoked >= 0 {
			return errInvoked
		}
	}
	return nil
}

func (p *proc) setIndex(c *cursor) error {
	const name = "set-component-index"
	if p.runSeqIsolated > 0 {
		if p.runSeqIndexSet || p.runSeqIsolatedAll {
			return p.fail(false, -1, name, "", ErrInvalid, "set-component-index inside run-sequence while strict-order is False (§6.7)")
		}
		p.runSeqIndexSet = true
	}
	major, arg, _, err := c.peek()
	if err != nil {
		return p.failErr(-1, name, "", err)
	}
	nc := len(p.comps)
	switch major {
	case majUint:
		c.uint()
		if arg >= uint64(nc) {
			return p.fail(false, -1, name, fmt.Sprint(arg), ErrInvalid, "component index %d is out of range (the manifest lists %d)", arg, nc)
		}
		p.sel = []int{int(arg)}
		p.pass(int(arg), name, fmt.Sprintf("%d", arg))
	case majOther:
		v, err := c.simple()
		if err != nil || v != simTrue {
			return p.fail(false, -1, name, "", ErrMalformed, "set-component-index takes an unsigned integer, true, or an array of integers")
		}
		p.sel = p.sel[:0:0]
		for i := 0; i < nc; i++ {
			p.sel = append(p.sel, i)
		}
		p.pass(-1, name, "true (all components)")
	case majArray:
		n, err := c.array()
		if err != nil {
			return p.failErr(-1, name, "", err)
		}
		var sel []int
		var words []string
		for i := 0; i < n; i++ {
			v, err := c.uint()
			if err != nil {
				return p.failErr(-1, name, "", err)
			}
			if v >= uint64(nc) {
				return p.fail(false, -1, name, "", ErrInvalid, "component index %d is out of range (the manifest lists %d)", v, nc)
			}
			sel = append(sel, int(v))
			words = append(words, fmt.Sprint(v))
		}
		if n == 0 {
			return p.fail(false, -1, name, "[]", ErrInvalid, "empty component index array")
		}
		p.sel = sel
		p.pass(-1, name, "["+strings.Join(words, ", ")+"]")
	default:
		return p.fail(false, -1, name, "", ErrMalformed, "set-component-index takes an unsigned integer, true, or an array of integers")
	}
	return nil
}

// setParameters runs override-parameters (override=true) or set-parameters for each selected component.
func (p *proc) setParameters(c *cursor, override bool, name string) error {
	start := c.pos
	end := start
	for _, i := range p.selected() {
		c.pos = start
		words, err := p.paramsInto(c, i, override)
		if err != nil {
			var f *failure
			if errors.As(err, &f) {
				return err
			}
			return p.failErr(i, name, "", err)
		}
		p.pass(i, name, words)
		end = c.pos
	}
	if len(p.selected()) == 0 {
		if err := c.skip(); err != nil {
			return p.failErr(-1, name, "", err)
		}
		end = c.pos
	}
	c.pos = end
	return nil
}

func (p *proc) paramsInto(c *cursor, i int, override bool) (string, error) {
	name := "override-parameters"
	if !override {
		name = "set-parameters"
	}
	n, err := c.mapHead()
	if err != nil {
		return "", err
	}
	pp := &p.comps[i].params
	buf := c.src.(ramSource)
	var words []string
	for k := 0; k < n; k++ {
		key, err := c.int()
		if err != nil {
			return "", err
		}
		if key < 0 || key > 31 || model.LookupParam(key) == nil {
			_ = c.skip()
			if key <= model.CustomLimit {
				return "", p.fail(false, i, name, "", ErrUnknownParameter, "custom parameter %d is not supported by this device", key)
			}
			return "", p.fail(false, i, name, "", ErrUnknownParameter, "unknown parameter %d: refused, never skipped", key)
		}
		pname := model.ParamName(key)
		keep := override || !pp.has(int(key))
		var word string
		switch key {
		case model.ParamVendorIdentifier, model.ParamClassIdentifier, model.ParamDeviceIdentifier:
			pen := false
			if key == model.ParamVendorIdentifier {
				if tag, ok, err := c.optTag(); err != nil {
					return "", err
				} else if ok {
					if tag != model.TagPEN {
						return "", c.errf(c.pos, "vendor-identifier tagged %d (only 112, CBOR PEN, is defined)", tag)
					}
					pen = true
				}
			}
			o, l, err := c.bstr()
			if err != nil {
				return "", err
			}
			v := buf[o : o+l]
			if !pen && l != 16 {
				return "", p.fail(false, i, name, "", ErrInvalid, "%s must be a 16-byte UUID, got %d bytes", pname, l)
			}
			if keep {
				switch key {
				case model.ParamVendorIdentifier:
					pp.vendor, pp.vendorPEN = v, pen
				case model.ParamClassIdentifier:
					pp.class = v
				default:
					pp.device = v
				}
			}
			if pen {
				word = fmt.Sprintf("%s=PEN %x", pname, v)
			} else {
				word = fmt.Sprintf("%s=%s", pname, model.FormatUUID(v))
			}
		case model.ParamImageDigest:
			o, l, err := c.bstr()
			if err != nil {
				return "", err
			}
			v := buf[o : o+l]
			alg, dg, err := parseDigest(v, "image-digest")
			if err != nil {
				return "", err
			}
			if alg != model.AlgSHA256 {
				return "", p.fail(false, i, name, "", ErrUnsupported, "image-digest algorithm %d is not supported (SHA-256, -16, only)", alg)
			}
			if keep {
				pp.digest = dg
			}
			word = fmt.Sprintf("image-digest=sha-256:%x…", dg[:6])
		case model.ParamComponentSlot, model.ParamImageSize, model.ParamSourceComponent:
			v, err := c.uint()
			if err != nil {
				return "", err
			}
			if keep {
				switch key {
				case model.ParamComponentSlot:
					pp.slot = v
				case model.ParamImageSize:
					pp.size = v
				default:
					pp.source = v
				}
			}
			word = fmt.Sprintf("%s=%d", pname, v)
		case model.ParamStrictOrder, model.ParamSoftFailure:
			v, err := c.bool()
			if err != nil {
				return "", err
			}
			if key == model.ParamSoftFailure {
				if p.nested == 0 {
					return "", p.fail(false, i, name, "", ErrAbort, "soft-failure may only be set inside try-each or run-sequence (§8.4.8.15): abort")
				}
				p.soft = v
			} else {
				p.strictOrder = v
				if !v && p.frame == nil {
					p.frame = &orderFrame{}
				}
			}
			word = fmt.Sprintf("%s=%v", pname, v)
			continue
		case model.ParamContent, model.ParamInvokeArgs, model.ParamFetchArguments:
			o, l, err := c.bstr()
			if err != nil {
				return "", err
			}
			v := buf[o : o+l]
			if keep {
				switch key {
				case model.ParamContent:
					pp.content = v
				case model.ParamInvokeArgs:
					pp.invokeArgs = v
				default:
					pp.fetchArgs = v
				}
			}
			word = fmt.Sprintf("%s=%d bytes", pname, l)
		case model.ParamEncryptionInfo:
			o, l, err := c.bstr()
			if err != nil {
				return "", err
			}
			if keep {
				pp.encInfo = buf[o : o+l]
			}
			word = fmt.Sprintf("%s=%d bytes", pname, l)
		case model.ParamURI:
			o, l, err := c.tstr()
			if err != nil {
				return "", err
			}
			if keep {
				pp.uri = buf[o : o+l]
			}
			word = fmt.Sprintf("uri=%q", buf[o:o+l])
		default:
			w, ok, err := p.extParam(c, i, key, keep) // updatemgmt.go
			if err != nil {
				return "", err
			}
			if !ok {
				_ = c.skip()
				return "", p.fail(false, i, name, "", ErrUnknownParameter, "parameter %s (%s extension) is not supported by this device: refused, never skipped", pname, model.LookupParam(key).Spec)
			}
			word = w
		}
		if keep {
			pp.set |= 1 << uint(key)
		} else {
			word += " (already set, kept)"
		}
		words = append(words, word)
	}
	return strings.Join(words, ", "), nil
}

// alternatives reads a try-each argument: [2* bstr, ?nil].
func (p *proc) tryEach(c *cursor) error {
	const name = "try-each"
	buf := c.src.(ramSource)
	n, err := c.array()
	if err != nil {
		return p.failErr(-1, name, "", err)
	}
	if n < 2 {
		return p.fail(false, -1, name, "", ErrMalformed, "try-each needs at least two alternatives, has %d", n)
	}
	tbl, err := p.alloc("try-each alternatives", 4*n, false)
	if err != nil {
		return p.failErr(-1, name, "", err)
	}
	defer tbl.Free()
	alts := make([]rng, n)
	for k := 0; k < n; k++ {
		major, _, _, err := c.peek()
		if err != nil {
			return p.failErr(-1, name, "", err)
		}
		if major == majOther {
			if v, err := c.simple(); err != nil || v != simNull || k != n-1 {
				return p.fail(false, -1, name, "", ErrMalformed, "try-each alternative %d: only a final null may replace a sequence", k+1)
			}
			alts[k] = rng{-1, -1}
			continue
		}
		o, l, err := c.bstr()
		if err != nil {
			return p.failErr(-1, name, "", err)
		}
		alts[k] = rng{o, o + l}
	}
	saved := p.sel
	defer func() { p.sel = saved }()
	for _, i := range saved {
		p.sel = []int{i}
		p.emit(Event{Component: p.compName(i), Command: name, Argument: fmt.Sprintf("%d alternatives", n), Result: Info})
		ok := false
		for k, a := range alts {
			if a.off < 0 {
				p.pass(i, name, fmt.Sprintf("alternative %d: empty (null), succeeds", k+1))
				ok = true
				break
			}
			savedSoft, savedStrict, savedFrame := p.soft, p.strictOrder, p.frame
			p.soft = true
			p.nested++
			p.depth++
			err := p.execSeq(buf[a.off:a.end], false)
			soft := p.soft
			p.soft, p.strictOrder, p.frame = savedSoft, savedStrict, savedFrame
			p.nested--
			p.depth--
			p.sel = []int{i}
			if err == nil {
				p.pass(i, name, fmt.Sprintf("alternative %d of %d succeeded", k+1, n))
				for j := k + 1; j < n; j++ {
					p.emit(Event{Component: p.compName(i), Command: name, Argument: fmt.Sprintf("alternative %d", j+1), Result: Skipped, Reason: "an earlier alternative succeeded"})
				}
				ok = true
				break
			}
			if errors.Is(err, errInvoked) {
				return err
			}
			var f *failure
			if errors.As(err, &f) && f.cond && soft {
				p.emit(Event{Component: p.compName(i), Command: name, Argument: fmt.Sprintf("alternative %d of %d", k+1, n), Result: Info, Reason: "condition failed with soft-failure: trying the next alternative"})
				continue
			}
			return err
		}
		if !ok {
			return p.fail(true, i, name, "", ErrCondition, "no alternative of try-each succeeded")
		}
	}
	return nil
}

func (p *proc) runSequence(c *cursor) error {
	const name = "run-sequence"
	buf := c.src.(ramSource)
	o, l, err := c.bstr()
	if err != nil {
		return p.failErr(-1, name, "", err)
	}
	saved := p.sel
	defer func() { p.sel = saved }()
	all := len(saved) > 1
	for _, i := range saved {
		p.sel = []int{i}
		savedSoft, savedStrict, savedFrame := p.soft, p.strictOrder, p.frame
		savedIso, savedSet, savedAll := p.runSeqIsolated, p.runSeqIndexSet, p.runSeqIsolatedAll
		if !p.strictOrder {
			// §6.7: the sub-sequence is isolated; strict-order is preset to True.
			p.runSeqIsolated++
			p.runSeqIndexSet = false
			p.runSeqIsolatedAll = all
			p.strictOrder = true
			p.frame = nil
		}
		p.soft = false
		p.nested++
		p.depth++
		p.emit(Event{Component: p.compName(i), Command: name, Argument: fmt.Sprintf("%d-byte sequence", l), Result: Info})
		err := p.execSeq(buf[o:o+l], false)
		soft := p.soft
		p.soft, p.strictOrder, p.frame = savedSoft, savedStrict, savedFrame
		p.runSeqIsolated, p.runSeqIndexSet, p.runSeqIsolatedAll = savedIso, savedSet, savedAll
		p.nested--
		p.depth--
		p.sel = []int{i}
		if err == nil {
			p.pass(i, name, "sequence completed")
			continue
		}
		if errors.Is(err, errInvoked) {
			return err
		}
		var f *failure
		if errors.As(err, &f) && f.cond && soft {
			p.pass(i, name, "condition failed with soft-failure: sequence halted, processing continues")
			continue
		}
		return err
	}
	return nil
}

// ---- conditions and directives on one component ----

func (p *proc) exec1(label int64, name string, i int) error {
	pc := p.comps[i]
	pp := &pc.params
	dc := pc.dev
	switch label {
	case model.CondVendorIdentifier, model.CondClassIdentifier, model.CondDeviceIdentifier:
		var want []byte
		var have []byte
		var sentinel error
		param := model.ParamVendorIdentifier
		switch label {
		case model.CondVendorIdentifier:
			want, have, sentinel = pp.vendor, p.st.vendor[:], ErrVendorID
		case model.CondClassIdentifier:
			param, want, have, sentinel = model.ParamClassIdentifier, pp.class, p.st.class[:], ErrClassID
		default:
			param, want, have, sentinel = model.ParamDeviceIdentifier, pp.device, p.st.device[:], ErrDeviceID
		}
		if !pp.has(param) {
			return p.fail(true, i, name, "", ErrParamUnset, "%s is not set for this component", model.ParamName(int64(param)))
		}
		arg := model.FormatUUID(want)
		if label == model.CondDeviceIdentifier && !p.st.hasDevice {
			return p.fail(true, i, name, arg, sentinel, "this device was provisioned without a device ID")
		}
		if label == model.CondVendorIdentifier && pp.vendorPEN {
			return p.fail(true, i, name, "PEN", sentinel, "the manifest gives a CBOR PEN vendor ID; this device's vendor ID is the UUID %s", model.FormatUUID(have))
		}
		if p.inShared {
			p.sawVendor = p.sawVendor || label == model.CondVendorIdentifier
			p.sawClass = p.sawClass || label == model.CondClassIdentifier
		}
		if subtle.ConstantTimeCompare(want, have) != 1 {
			what := strings.TrimSuffix(model.ParamName(int64(param)), "entifier")
			return p.fail(true, i, name, arg, sentinel, "wrong %s: the manifest wants %s, this device is %s", strings.Replace(what, "-id", " ID", 1), arg, model.FormatUUID(have))
		}
		p.pass(i, name, arg)
		return nil

	case model.CondImageMatch:
		if p.isDep(i) {
			return p.depImageMatch(i, name) // deps.go: the digest of the dependency's manifest
		}
		if !pp.has(model.ParamImageDigest) {
			return p.fail(true, i, name, "", ErrParamUnset, "image-digest is not set for this component")
		}
		arg := fmt.Sprintf("sha-256:%x…", pp.digest[:6])
		f, off, n := p.contentOf(i)
		ctx, err := p.alloc("SHA-256 context", SHA256CtxSize, false)
		if err != nil {
			return p.failErr(i, name, arg, err)
		}
		h := sha256.New()
		err = p.d.hashRegion(f, off, n, h)
		ctx.Free()
		if err != nil {
			return p.failErr(i, name, arg, err)
		}
		got := h.Sum(nil)
		arg = fmt.Sprintf("sha-256:%x… over %d bytes", pp.digest[:6], n)
		if subtle.ConstantTimeCompare(got, pp.digest) != 1 {
			p.dropFetchJournal(i) // fetch_net.go: never resume into bytes that failed the digest
			return p.fail(true, i, name, arg, ErrPayloadDigest, "payload digest mismatch: the manifest wants %x, %s holds %x", pp.digest, dc.Name, got)
		}
		p.pass(i, name, arg)
		return nil

	case model.CondComponentSlot:
		if !pp.has(model.ParamComponentSlot) {
			return p.fail(true, i, name, "", ErrParamUnset, "component-slot is not set for this component")
		}
		arg := fmt.Sprintf("slot %d", pp.slot)
		if pp.slot != dc.Slot {
			return p.fail(true, i, name, arg, ErrCondition, "%s is slot %d, not slot %d", dc.Name, dc.Slot, pp.slot)
		}
		p.pass(i, name, arg)
		return nil

	case model.CondCheckContent:
		if !pp.has(model.ParamContent) {
			return p.fail(true, i, name, "", ErrParamUnset, "content is not set for this component")
		}
		arg := fmt.Sprintf("%d bytes", len(pp.content))
		f, off, n := p.contentOf(i)
		// Constant time over the content: no early exit on the first difference.
		buf, err := p.alloc("compare chunk buffer", min(p.d.cfg.ChunkSize, max(len(pp.content), 1)), true)
		if err != nil {
			return p.failErr(i, name, arg, err)
		}
		defer buf.Free()
		diff := 0
		if n != len(pp.content) {
			diff = 1
		}
		for done := 0; done < len(pp.content); {
			k := min(len(buf.Buf), len(pp.content)-done)
			avail := max(0, min(k, n-done))
			for j := range buf.Buf[:k] {
				buf.Buf[j] = 0
			}
			if avail > 0 {
				if err := f.ReadAt(buf.Buf[:avail], off+done); err != nil {
					return p.failErr(i, name, arg, err)
				}
			}
			diff |= 1 - subtle.ConstantTimeCompare(buf.Buf[:k], pp.content[done:done+k])
			done += k
		}
		if diff != 0 {
			return p.fail(true, i, name, arg, ErrCondition, "%s does not hold the expected content", dc.Name)
		}
		p.pass(i, name, arg)
		return nil

	case model.CondAbort:
		return p.fail(true, i, name, "", ErrAbort, "the manifest asks to abort")

	case model.DirWrite:
		if !pp.has(model.ParamContent) {
			return p.fail(false, i, name, "", ErrParamUnset, "write needs the content parameter")
		}
		arg := fmt.Sprintf("%d bytes of content", len(pp.content))
		if err := p.checkOrder(i, -1); err != nil {
			return err
		}
		if pp.has(model.ParamEncryptionInfo) {
			return p.decrypt(i, -1, name, arg)
		}
		if err := p.store(i, name, arg, len(pp.content), func(dst *Flash, off int) error { return dst.Write(off, pp.content) }); err != nil {
			return err
		}
		p.pass(i, name, arg)
		return nil

	case model.DirFetch:
		if p.isDep(i) {
			return p.fetchDep(i, name) // deps.go
		}
		return p.fetch(i, name)

	case model.DirCopy, model.DirSwap:
		if !pp.has(model.ParamSourceComponent) {
			return p.fail(false, i, name, "", ErrParamUnset, "%s needs the source-component parameter", name)
		}
		if pp.source >= uint64(len(p.comps)) {
			return p.fail(false, i, name, "", ErrInvalid, "source-component %d is not a component of this manifest", pp.source)
		}
		src := int(pp.source)
		if src == i {
			return p.fail(false, i, name, "", ErrInvalid, "source and destination are the same component")
		}
		arg := fmt.Sprintf("from %s", p.compName(src))
		if err := p.checkOrder(i, src); err != nil {
			return err
		}
		if label == model.DirSwap {
			return p.swap(i, src, name, arg)
		}
		if pp.has(model.ParamEncryptionInfo) {
			return p.decrypt(i, src, name, arg)
		}
		sf, soff, sn := p.contentOf(src)
		if sn == 0 {
			return p.fail(false, i, name, arg, ErrPayloadUnavailable, "the source component %s is empty", p.compName(src))
		}
		if err := p.store(i, name, arg, sn, func(dst *Flash, off int) error { return p.d.copyFlash(dst, off, sf, soff, sn) }); err != nil {
			return err
		}
		p.pass(i, name, fmt.Sprintf("%s, %d bytes", arg, sn))
		return nil

	case model.DirInvoke:
		if p.name != "invocation" {
			return p.fail(false, i, name, "", ErrUnsupported, "invoke during the %s procedure is not supported: this device invokes images from its boot loader", p.name)
		}
		if !dc.Executable {
			return p.fail(false, i, name, "", ErrInvalid, "%s is not executable", dc.Name)
		}
		_, _, n := p.contentOf(i)
		if n == 0 {
			return p.fail(false, i, name, "", ErrPayloadUnavailable, "%s is empty", dc.Name)
		}
		arg := fmt.Sprintf("jump to %s (%d bytes)", dc.Name, n)
		if pp.has(model.ParamInvokeArgs) {
			arg += fmt.Sprintf(", %d bytes of invoke-args", len(pp.invokeArgs))
		}
		p.pass(i, name, arg)
		p.invoked = i
		return nil
	}
	if done, err := p.extCommand(label, name, i); done { // deps.go, updatemgmt.go
		return err
	}
	return p.fail(false, i, name, "", ErrUnknownCommand, "command %s is not implemented", name)
}

// checkOrder enforces §6.7: with strict-order False no component may be both source and target.
func (p *proc) checkOrder(dst, src int) error {
	if p.strictOrder || p.frame == nil {
		return nil
	}
	f := p.frame
	bad := f.sources&(1<<uint(dst)) != 0
	if src >= 0 {
		bad = bad || f.targets&(1<<uint(src)) != 0
		f.sources |= 1 << uint(src)
	}
	f.targets |= 1 << uint(dst)
	if bad {
		return p.fail(false, dst, "strict-order", "", ErrAbort, "with strict-order False a component is both the source and the target of an operation (§6.7): abort")
	}
	return nil
}

// contentOf says where component i's current content is.
func (p *proc) contentOf(i int) (*Flash, int, int) {
	dc := p.comps[i].dev
	if p.name == "update" && dc.written && dc.Candidate != nil {
		return dc.Candidate.Flash, dc.candOff, dc.candLen
	}
	return dc.Active.Flash, dc.Active.Offset, dc.Length
}

// store prepares component i for n bytes, calls write, and records the new content.
// During the update procedure, components with a candidate region are written there and become
// active only at commit; others (scratch storage) are written in place.
func (p *proc) store(i int, name, arg string, n int, write func(*Flash, int) error) error {
	dc := p.comps[i].dev
	staged := p.name == "update" && dc.Candidate != nil
	capacity := dc.Active.Size
	if staged {
		capacity = min(capacity, dc.candCap)
	}
	if n > capacity {
		where := dc.Name
		if staged && dc.candCap < dc.Active.Size {
			where = fmt.Sprintf("%s (the staging space after the envelope holds %d)", dc.Name, dc.candCap)
		}
		return p.fail(false, i, name, arg, ErrPayloadTooLarge, "payload too large for the slot: %d bytes, %s holds %d", n, where, capacity)
	}
	f, off := dc.Active.Flash, dc.Active.Offset
	if staged {
		f, off = dc.Candidate.Flash, dc.areaOff
		dc.candOff = dc.areaOff
	}
	if err := f.eraseRange(off, n); err != nil {
		return p.failErr(i, name, arg, err)
	}
	if staged {
		dc.written, dc.candLen = true, n
	} else {
		dc.Length = 0
	}
	if err := write(f, off); err != nil {
		return p.failErr(i, name, arg, err)
	}
	if !staged {
		dc.Length = n
	}
	return nil
}

// inPlace makes the integrated payload at [off, off+n) of the staged envelope the candidate of
// component i without copying it, when that component is staged in the flash that holds the
// envelope. The payload was authenticated with the envelope, the envelope stays untouched until
// the boot loader has installed it (nothing else writes the envelope's sectors), and the commit
// records this range and its digest: the boot loader copies it into the slot from there. This is
// what lets a 32 KiB image travel in an envelope on a device whose candidate area could not hold
// the envelope and a second copy of the image.
func (p *proc) inPlace(i, off, n int) bool {
	dc := p.comps[i].dev
	if p.name != "update" || dc.Candidate == nil || dc.Candidate.Flash != p.envFlash {
		return false
	}
	if off < dc.Candidate.Offset || off+n > dc.Candidate.Offset+dc.Candidate.Size {
		return false
	}
	dc.written, dc.candOff, dc.candLen = true, off, n
	return true
}

// copyFlash copies n bytes through the accounted transfer buffer.
func (d *Device) copyFlash(dst *Flash, doff int, src *Flash, soff, n int) error {
	buf, err := d.RAM.alloc("transfer buffer", d.cfg.ChunkSize, true)
	if err != nil {
		return err
	}
	defer buf.Free()
	for done := 0; done < n; {
		k := min(len(buf.Buf), n-done)
		if err := src.ReadAt(buf.Buf[:k], soff+done); err != nil {
			return err
		}
		if err := dst.Write(doff+done, buf.Buf[:k]); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// integrated finds the envelope's integrated payload (or dependency) whose key is uri ("#..."),
// comparing each key of that length from flash through a small RAM buffer.
func (p *proc) integrated(uri string) (payloadEntry, bool, error) {
	for _, e := range p.payloads {
		if e.key.n() != len(uri) {
			continue
		}
		kb, err := p.d.RAM.alloc("payload key", e.key.n(), true)
		if err != nil {
			return payloadEntry{}, false, err
		}
		err = p.envSrc.readAt(kb.Buf, e.key.off)
		same := string(kb.Buf) == uri
		kb.Free()
		if err != nil {
			return payloadEntry{}, false, err
		}
		if same {
			return e, true, nil
		}
	}
	return payloadEntry{}, false, nil
}

func (p *proc) fetch(i int, name string) error {
	pp := &p.comps[i].params
	if !pp.has(model.ParamURI) {
		return p.fail(false, i, name, "", ErrParamUnset, "fetch needs the uri parameter")
	}
	uri := string(pp.uri)
	arg := fmt.Sprintf("%q", uri)
	if err := p.checkOrder(i, -1); err != nil {
		return err
	}
	if strings.HasPrefix(uri, "#") {
		if e, found, err := p.integrated(uri); err != nil {
			return p.failErr(i, name, arg, err)
		} else if found {
			n := e.val.n()
			arg += fmt.Sprintf(" (integrated payload, %d bytes)", n)
			if err := p.checkSize(i, name, arg, n); err != nil {
				return err
			}
			if p.inPlace(i, p.envBase+e.val.off, n) {
				p.pass(i, name, fmt.Sprintf("%s, taken in place at 0x%05x (not copied)", arg, p.envBase+e.val.off))
				return nil
			}
			if err := p.store(i, name, arg, n, func(dst *Flash, off int) error {
				return p.d.copyFlash(dst, off, p.envFlash, p.envBase+e.val.off, n)
			}); err != nil {
				return err
			}
			p.pass(i, name, arg)
			return nil
		}
		return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: the envelope has no integrated payload %q", uri)
	}
	if nf, ok := p.fetcher.(NetFetcher); ok && nf.Streams(uri) {
		return p.fetchNet(i, name, arg, nf, uri) // fetch_net.go: streamed over HTTP or CoAP
	}
	if p.fetcher == nil {
		return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: nothing serves %q (map a file to this URI)", uri)
	}
	data, err := p.fetcher.Fetch(uri)
	if err != nil {
		return p.fail(false, i, name, arg, ErrPayloadUnavailable, "%v", err)
	}
	n := len(data)
	arg += fmt.Sprintf(" (%d bytes over the link)", n)
	if err := p.checkSize(i, name, arg, n); err != nil {
		return err
	}
	if err := p.store(i, name, arg, n, func(dst *Flash, off int) error {
		buf, err := p.d.RAM.alloc("receive buffer", p.d.cfg.ChunkSize, true)
		if err != nil {
			return err
		}
		defer buf.Free()
		for done := 0; done < n; {
			k := copy(buf.Buf, data[done:])
			if err := dst.Write(off+done, buf.Buf[:k]); err != nil {
				return err
			}
			done += k
		}
		return nil
	}); err != nil {
		return err
	}
	p.pass(i, name, arg)
	return nil
}

// checkSize refuses a payload that is larger than the slot or differs from image-size.
func (p *proc) checkSize(i int, name, arg string, n int) error {
	pp := &p.comps[i].params
	dc := p.comps[i].dev
	if n > dc.Active.Size {
		return p.fail(false, i, name, arg, ErrPayloadTooLarge, "payload too large for the slot: %d bytes, %s holds %d", n, dc.Name, dc.Active.Size)
	}
	if pp.has(model.ParamImageSize) && uint64(n) != pp.size {
		return p.fail(false, i, name, arg, ErrPayloadSize, "the payload is %d bytes but image-size says %d", n, pp.size)
	}
	return nil
}

func (p *proc) swap(i, src int, name, arg string) error {
	a, b := p.comps[i].dev, p.comps[src].dev
	if p.name != "update" || a.Candidate == nil || b.Candidate == nil {
		return p.fail(false, i, name, arg, ErrUnsupported, "swap needs two components with staging regions during the update procedure (here: %s and %s)", a.Name, b.Name)
	}
	if a.written || b.written {
		return p.fail(false, i, name, arg, ErrUnsupported, "swap of a component already written in this update is not supported")
	}
	// Stage both directions; the commit copies both, so the swap is resumable after a power cut.
	if a.Length > min(a.candCap, a.Active.Size) || b.Length > min(b.candCap, b.Active.Size) {
		return p.fail(false, i, name, arg, ErrPayloadTooLarge, "payload too large for the slot: the swapped images do not fit each other's slots")
	}
	bl, al := b.Length, a.Length
	if err := p.store(i, name, arg, bl, func(dst *Flash, off int) error {
		return p.d.copyFlash(dst, off, b.Active.Flash, b.Active.Offset, bl)
	}); err != nil {
		return err
	}
	if err := p.store(src, name, arg, al, func(dst *Flash, off int) error {
		return p.d.copyFlash(dst, off, a.Active.Flash, a.Active.Offset, al)
	}); err != nil {
		return err
	}
	p.pass(i, name, fmt.Sprintf("%s, %d and %d bytes", arg, bl, al))
	return nil
}
