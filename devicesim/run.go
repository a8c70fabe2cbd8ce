package devicesim

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/suit-studio/suit-studio/model"
)

// Update runs the update procedure on the staged envelope: authenticate, check version, sequence
// number and components, then shared → payload-fetch, shared → install, shared → validate, writing
// every image to staging regions. When all of it passes the device commits (one atomic state
// write), restarts, and its boot loader installs the staged images and runs the invocation
// procedure. When anything fails the device keeps its state and boots what it had.
func (d *Device) Update(f Fetcher) *Record {
	if d.mb != nil {
		return d.mcubootUpdate()
	}
	d.beginPublic()
	base := d.startRun("update")
	rec := &Record{}
	fail := func(err error) *Record {
		rec.Err = err
		rec.Reason = err.Error()
		var fl *failure
		if errors.As(err, &fl) {
			ev := fl.ev
			rec.Failure = &ev
			rec.Reason = fl.se.Reason
		}
		if errors.Is(err, ErrPowerCut) || d.off {
			rec.Outcome = PowerCut
			rec.Reason = "power cut during the update: " + rec.Reason
			d.emit(Event{Procedure: "update", Command: "power cut", Result: Fail, Reason: "the power failed during a flash operation; the device is off until restarted"})
			return d.finishRecord(rec, base)
		}
		rec.Outcome = Refused
		seqName := ""
		if rec.Failure != nil {
			seqName = rec.Failure.Sequence
		}
		d.emit(Event{Procedure: "update", Sequence: seqName, Command: "abort", Result: Fail, Reason: "update refused: " + rec.Reason})
		// Show that the device still boots what it had.
		b := d.boot()
		rec.Booted, rec.BootedImage, rec.BootReason = b.Booted, b.BootedImage, b.BootReason
		if b.Outcome == PowerCut {
			rec.Outcome = PowerCut
		}
		return d.finishRecord(rec, base)
	}
	if d.off {
		return fail(ErrPowerCut)
	}
	if d.staged < 0 {
		return fail(&StepError{Procedure: "update", Command: "read envelope", Err: ErrInvalid, Reason: "no envelope is staged"})
	}
	st, stBlk, err := d.loadBootState()
	if err != nil {
		return fail(err)
	}
	defer stBlk.Free()
	p := d.newProc("update", st, f)
	defer p.free()
	// Staging regions: [h'00'] is staged in the candidate area after the envelope, sector aligned.
	// Integrated payloads of [h'00'] are not staged again: their candidate is their byte range
	// inside the staged envelope (see fetch).
	ss := d.cfg.SectorSize
	for _, c := range d.comps {
		c.written, c.candLen = false, 0
		if c.Candidate != nil {
			c.areaOff, c.candCap = c.Candidate.Offset, c.Candidate.Size
			c.candOff = c.areaOff
		}
	}
	c0 := d.comps[0]
	c0.areaOff = d.candidate.Offset + (d.staged+ss-1)/ss*ss
	c0.candCap = d.candidate.Offset + d.candidate.Size - c0.areaOff
	c0.candOff = c0.areaOff

	err = p.load(flashSource{d.Int, d.candidate.Offset, d.staged}, d.Int, d.candidate.Offset)
	rec.SequenceNumber = p.seq
	rec.ManifestDigest = append([]byte(nil), p.digest[:]...)
	if err == nil {
		// Staging (dependency-resolution, payload-fetch), installation (candidate-verification,
		// install), validate: draft-ietf-suit-trust-domains §3 order; absent sections are skipped.
		err = p.runProcedure([]int{model.ManDependencyResolution, model.ManPayloadFetch, model.ManCandidateVerification, model.ManInstall, model.ManValidate})
	}
	if err == nil {
		p.seqName = "commit"
		if err = p.checkDependenciesRan(); err == nil { // deps.go
			err = p.commit()
		}
	}
	if err != nil {
		return fail(err)
	}
	p.free()
	b := d.boot()
	rec.Booted, rec.BootedImage, rec.BootReason = b.Booted, b.BootedImage, b.BootReason
	switch {
	case b.Outcome == PowerCut:
		rec.Outcome, rec.Reason = PowerCut, b.Reason
	case b.Booted:
		rec.Outcome = Applied
	default:
		rec.Outcome, rec.Reason, rec.Failure = NoBoot, b.Reason, b.Failure
	}
	return d.finishRecord(rec, base)
}

// commit writes the new boot state: sequence number, manifest, and the staged components to
// install at the next boot. This single state write is the point of no return.
func (p *proc) commit() error {
	d := p.d
	ns := p.st.clone()
	ns.seq = p.seq
	ns.manDigest = p.digest
	ns.pending = 0
	var names []string
	// Every device component: a dependency manifest may have written one the root does not list.
	for i, dc := range d.comps {
		if dc.Candidate != nil && dc.written {
			// The digest the boot loader checks the source and the slot against.
			h, err := d.regionDigest(dc.Candidate.Flash, dc.candOff, dc.candLen)
			if err != nil {
				return p.failErr(-1, "commit", "", err)
			}
			ns.pending |= 1 << uint(i)
			ns.candOff[i] = uint32(dc.candOff)
			ns.candLen[i] = uint32(dc.candLen)
			ns.candHash[i] = h
			where := "staged"
			if dc.candOff < d.candidate.Offset+d.staged && dc.Candidate.Flash == d.Int {
				where = "in the envelope"
			}
			names = append(names, fmt.Sprintf("[h'%x'] %d bytes at 0x%05x (%s)", dc.ID, dc.candLen, dc.candOff, where))
		} else if dc.Candidate == nil {
			ns.activeLen[i] = uint32(dc.Length)
		}
	}
	p.applyUnlinks(ns)
	env := []envPart{
		{lit: []byte{0xd8, 0x6b, 0xa2, 0x02}},
		{f: p.envFlash, off: p.envBase + p.authItem.off, n: p.authItem.n()},
		{lit: []byte{0x03}},
		{lit: p.man.Buf},
	}
	if dl, ok := p.members[1]; ok { // the delegation chain the boot check needs again (delegation.go)
		env = append([]envPart{{lit: []byte{0xd8, 0x6b, 0xa3, 0x01}}, {f: p.envFlash, off: p.envBase + dl.off, n: dl.n()}, {lit: []byte{0x02}}}, env[1:]...)
	}
	if err := d.writeState(ns, env); err != nil {
		return p.failErr(-1, "commit", "", err)
	}
	d.st = ns
	defer p.applySetVersion() // updatemgmt.go
	arg := fmt.Sprintf("sequence number %d, state copy %c", ns.seq, 'A'+ns.copyIdx)
	if len(names) > 0 {
		arg += fmt.Sprintf(", install at boot: %v", names)
	}
	p.pass(-1, "commit", arg)
	return nil
}

// regionDigest hashes n bytes of flash through the accounted chunk buffer.
func (d *Device) regionDigest(f *Flash, off, n int) ([32]byte, error) {
	var out [32]byte
	ctx, err := d.RAM.alloc("SHA-256 context", SHA256CtxSize, false)
	if err != nil {
		return out, err
	}
	defer ctx.Free()
	h := sha256.New()
	if err := d.hashRegion(f, off, n, h); err != nil {
		return out, err
	}
	h.Sum(out[:0])
	return out, nil
}

// Restart powers the device on again after a power cut (or resets it) and runs the boot loader.
func (d *Device) Restart() *Record {
	if !d.off {
		d.cutAt = 0
	}
	d.off = false
	d.RAM.freeAll()
	d.beginPublic()
	d.staged = -1
	d.emit(Event{Procedure: "boot", Command: "reset", Result: Info, Reason: ""})
	if d.mb != nil {
		return d.mcubootBoot()
	}
	return d.boot()
}

// Boot runs the boot loader without a reset (same as Restart on a running device).
func (d *Device) Boot() *Record { return d.Restart() }

// boot is the boot loader: finish a committed installation, then run the invocation procedure
// (shared → validate, shared → load, shared → invoke) of the installed manifest.
func (d *Device) boot() *Record {
	// The boot loader is not cancellable: stopping a run never stops the device from booting.
	saved := d.cancel
	d.cancel = nil
	defer func() { d.cancel = saved }()
	base := d.startRun("boot")
	rec := &Record{}
	done := func(err error) *Record {
		if err != nil {
			rec.Err = err
			rec.Reason = err.Error()
			var fl *failure
			if errors.As(err, &fl) {
				ev := fl.ev
				rec.Failure = &ev
				rec.Reason = fl.se.Reason
			}
			if errors.Is(err, ErrPowerCut) || d.off {
				rec.Outcome = PowerCut
				d.emit(Event{Procedure: "boot", Command: "power cut", Result: Fail, Reason: "the power failed during a flash operation"})
			} else {
				rec.Outcome = NoBoot
				rec.BootReason = "the device does not boot: " + rec.Reason
				d.emit(Event{Procedure: "boot", Command: "halt", Result: Fail, Reason: rec.BootReason})
			}
		}
		return d.finishRecord(rec, base)
	}
	if d.off {
		return done(ErrPowerCut)
	}
	st, stBlk, err := d.loadBootState()
	if err != nil {
		return done(err)
	}
	defer stBlk.Free()
	rec.SequenceNumber = st.seq
	if st.pending != 0 {
		ns := st.clone()
		for i, c := range d.comps {
			if st.pending&(1<<uint(i)) == 0 {
				continue
			}
			if err := d.installPending(c, st, i); err != nil {
				return done(err)
			}
			ns.activeLen[i] = st.candLen[i]
			ns.candHash[i] = [32]byte{}
		}
		ns.pending = 0
		env := []envPart{{f: d.Int, off: st.envOff, n: st.envLen}}
		if err := d.writeState(ns, env); err != nil {
			return done(err)
		}
		d.st = ns
		st = ns
		d.syncLengths()
		d.emit(Event{Procedure: "boot", Sequence: "install", Command: "mark installed", Argument: fmt.Sprintf("state copy %c", 'A'+ns.copyIdx), Result: Pass})
	}
	if st.envLen == 0 {
		c := d.comps[0]
		rec.Booted = true
		rec.BootedImage = d.componentDigest(0)
		rec.BootReason = fmt.Sprintf("no SUIT manifest installed: the boot loader starts the image slot (%d bytes) without a manifest check", c.Length)
		d.emit(Event{Procedure: "boot", Command: "start-image", Component: fmt.Sprintf("[h'%x'] %s", c.ID, c.Name), Argument: "no manifest", Result: Pass, Reason: rec.BootReason})
		rec.Outcome = Applied
		return done(nil)
	}
	p := d.newProc("invocation", st, nil)
	defer p.free()
	for _, c := range d.comps {
		c.written = false
	}
	err = p.load(flashSource{d.Int, st.envOff, st.envLen}, d.Int, st.envOff)
	rec.ManifestDigest = append([]byte(nil), p.digest[:]...)
	if err == nil {
		err = p.runProcedure([]int{model.ManValidate, model.ManLoad, model.ManInvoke})
		if errors.Is(err, errInvoked) {
			err = nil
		}
	}
	if err != nil {
		return done(err)
	}
	inv := p.invoked
	if inv < 0 {
		// No invoke sequence (restart-based invocation, §8.4.6): the boot loader starts the image slot.
		inv = 0
		p.seqName = "invoke"
		for k, pc := range p.comps {
			if pc.devIdx == 0 {
				inv = k
			}
		}
		p.emit(Event{Component: p.compName(inv), Command: "start-image", Argument: "default boot image", Result: Pass,
			Reason: "the manifest has no invoke sequence: the boot loader starts the image slot after validation"})
		if p.comps[inv].devIdx != 0 {
			// The image slot is not in this manifest: start it anyway, it is the only executable slot.
			inv = -1
		}
	}
	rec.Booted = true
	if inv >= 0 {
		rec.BootedImage = d.componentDigest(p.comps[inv].devIdx)
		rec.BootReason = fmt.Sprintf("invoked %s (manifest sequence number %d)", p.compName(inv), p.seq)
	} else {
		rec.BootedImage = d.componentDigest(0)
		rec.BootReason = fmt.Sprintf("started the image slot (manifest sequence number %d)", p.seq)
	}
	rec.Outcome = Applied
	return done(nil)
}

// installPending copies pending component i from its candidate into its slot. It is resumable:
// the source (staging space or staged envelope) is not written until the state says the copy is
// done, so after a power cut at any point the boot loader simply runs it again. With a recorded
// digest it never erases the slot for a source that does not hash to it, it skips a copy that
// already finished (power cut before the state write), and it checks the slot after copying:
// the state is switched only for a slot that holds exactly what the update validated.
func (d *Device) installPending(c *devComp, st *bootState, i int) error {
	comp := fmt.Sprintf("[h'%x'] %s", c.ID, c.Name)
	n, src := int(st.candLen[i]), int(st.candOff[i])
	want := st.candHash[i]
	checked := want != [32]byte{}
	halt := func(reason string) error {
		return &StepError{Procedure: "boot", Sequence: "install", Command: "install staged image", Err: ErrPayloadDigest, Reason: comp + ": " + reason}
	}
	if n > c.Active.Size {
		return halt(fmt.Sprintf("the state asks to install %d bytes into a %d-byte slot: the slot was not touched", n, c.Active.Size))
	}
	if checked {
		got, err := d.regionDigest(c.Active.Flash, c.Active.Offset, n)
		if err != nil {
			return err
		}
		if got == want {
			d.emit(Event{Procedure: "boot", Sequence: "install", Component: comp, Command: "install staged image",
				Argument: fmt.Sprintf("%d bytes already in the slot (sha-256:%x…)", n, want[:6]), Result: Pass,
				Reason: "the slot already holds the staged image (a copy that finished before a power cut, or the same image): only the state is left to write"})
			return nil
		}
		got, err = d.regionDigest(c.Candidate.Flash, src, n)
		if err != nil {
			return err
		}
		if got != want {
			return halt(fmt.Sprintf("the staged image (%d bytes at 0x%05x) does not hash to the digest recorded at commit: the slot was not touched", n, src))
		}
	}
	if err := c.Active.Flash.eraseRange(c.Active.Offset, n); err != nil {
		return err
	}
	if err := d.copyFlash(c.Active.Flash, c.Active.Offset, c.Candidate.Flash, src, n); err != nil {
		return err
	}
	arg := fmt.Sprintf("%d bytes from 0x%05x", n, src)
	if checked {
		got, err := d.regionDigest(c.Active.Flash, c.Active.Offset, n)
		if err != nil {
			return err
		}
		if got != want {
			return halt(fmt.Sprintf("the slot does not hold the staged image after copying %d bytes from 0x%05x (flash fault)", n, src))
		}
		arg += fmt.Sprintf(", slot checked: sha-256:%x…", want[:6])
	}
	d.emit(Event{Procedure: "boot", Sequence: "install", Component: comp, Command: "install staged image", Argument: arg, Result: Pass})
	return nil
}

// RollbackSequence is a fault injection: it rewrites the stored sequence number (as an attacker
// with flash access, or a factory reset tool, would), keeping everything else.
func (d *Device) RollbackSequence(seq uint64) error {
	st, err := d.readState()
	if err != nil {
		return err
	}
	ns := st.clone()
	ns.seq = seq
	var env []envPart
	if st.envLen > 0 {
		env = []envPart{{f: d.Int, off: st.envOff, n: st.envLen}}
	}
	d.evProc = "fault"
	if err := d.writeState(ns, env); err != nil {
		return err
	}
	d.st = ns
	d.emit(Event{Procedure: "fault", Command: "roll back sequence number", Argument: fmt.Sprintf("%d -> %d", st.seq, seq), Result: Info})
	return nil
}

// Verify authenticates the staged envelope and checks its manifest (version, sequence number,
// components, severed members) without running any command sequence and without writing flash.
func (d *Device) Verify() *Record {
	d.beginPublic()
	base := d.startRun("verify")
	rec := &Record{Outcome: Applied}
	if d.staged < 0 {
		rec.Outcome, rec.Err = Refused, ErrInvalid
		rec.Reason = "no envelope is staged"
		return d.finishRecord(rec, base)
	}
	st, err := d.readState()
	if err == nil {
		d.st = st
		p := d.newProc("verify", st, nil)
		err = p.load(flashSource{d.Int, d.candidate.Offset, d.staged}, d.Int, d.candidate.Offset)
		rec.SequenceNumber = p.seq
		rec.ManifestDigest = append([]byte(nil), p.digest[:]...)
		p.free()
	}
	if err != nil {
		rec.Outcome, rec.Err, rec.Reason = Refused, err, err.Error()
		var fl *failure
		if errors.As(err, &fl) {
			ev := fl.ev
			rec.Failure, rec.Reason = &ev, fl.se.Reason
		}
	}
	return d.finishRecord(rec, base)
}

// loadBootState reads the boot state from flash into the RAM it is accounted in (the caller frees
// the block) and brings the components' lengths up to date.
func (d *Device) loadBootState() (*bootState, *Block, error) {
	st, err := d.readState()
	if err != nil {
		return nil, nil, err
	}
	d.st = st
	d.syncLengths()
	blk, err := d.RAM.alloc("boot state", StateStructSize, false)
	if err != nil {
		return nil, nil, err
	}
	return st, blk, nil
}
