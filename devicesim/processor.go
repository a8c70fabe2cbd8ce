package devicesim

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/model"
)

// failure is a failed command: a condition failure (which soft-failure may absorb) or any other
// failure (which aborts the procedure). It carries the event that reported it.
type failure struct {
	cond bool
	ev   Event
	se   *StepError
}

func (f *failure) Error() string { return f.se.Error() }
func (f *failure) Unwrap() error { return f.se }

// errInvoked unwinds the interpreter after a successful invoke: the image now runs.
var errInvoked = errors.New("invoked")

type rng struct{ off, end int }

func (r rng) n() int { return r.end - r.off }

type payloadEntry struct {
	key rng
	val rng
}

type section struct {
	present bool   // in the manifest (inline or as a digest)
	severed bool   // the manifest holds a digest
	have    bool   // bytes available (inline, or severed member present and checked)
	buf     []byte // the command sequence (a slice of a kept RAM block)
	digest  []byte // expected digest when severed
}

type compParams struct {
	set                                    uint32
	vendor, class, device, digest, content []byte
	uri, invokeArgs, fetchArgs             []byte
	encInfo                                []byte // encryption-info (decrypt.go)
	vendorPEN                              bool
	size, slot, source                     uint64
	um                                     umParams // update-management parameters (updatemgmt.go)
}

func (c *compParams) has(label int) bool { return c.set&(1<<uint(label)) != 0 }

type procComp struct {
	dev    *devComp
	devIdx int
	params compParams
}

// proc is one run of the manifest processor over one envelope.
type proc struct {
	d       *Device
	name    string // "update" or "invocation"
	st      *bootState
	fetcher Fetcher

	envSrc   source
	envFlash *Flash
	envBase  int
	authItem rng
	manItem  rng
	members  map[int]rng
	unlinked uint32 // components suit-directive-unlink marks unused at commit (unlink.go)
	payloads []payloadEntry

	man      *Block // the manifest bstr item, kept in RAM (check and use the same bytes)
	manBody  []byte
	seq      uint64
	digest   [32]byte
	sections map[int]*section
	shared   []byte
	comps    []*procComp

	blocks []*Block

	seqName     string
	sel         []int
	soft        bool
	strictOrder bool
	nested      int
	inShared    bool
	depth       int
	invoked     int
	frame       *orderFrame

	runSeqIsolated    int
	sharedChecked     bool
	sawVendor         bool
	sawClass          bool
	policy            uint64 // reporting policy of the command being executed
	cmdCount          int
	runSeqIndexSet    bool
	runSeqIsolatedAll bool
	cmdAt             int    // offset of the command being executed in its sequence (reports)
	netFetched        uint64 // components whose content a fetch journal vouches for (fetch_net.go)

	td *tdState // trust domains and update management (deps.go, updatemgmt.go)
}

// orderFrame tracks sources and targets while strict-order is False (§6.7).
type orderFrame struct {
	sources, targets uint64
}

func (d *Device) newProc(name string, st *bootState, f Fetcher) *proc {
	return &proc{d: d, name: name, st: st, fetcher: f, members: map[int]rng{}, sections: map[int]*section{}, strictOrder: true, invoked: -1, policy: noPolicy, td: &tdState{slots: new(int)}}
}

func (p *proc) alloc(what string, n int, buf bool) (*Block, error) {
	b, err := p.d.RAM.alloc(what, n, buf)
	if err != nil {
		return nil, err
	}
	p.blocks = append(p.blocks, b)
	return b, nil
}

func (p *proc) free() {
	for _, b := range p.blocks {
		b.Free()
	}
	p.blocks = nil
}

func (p *proc) emit(e Event) Event {
	if e.Procedure == "" {
		e.Procedure = p.name
	}
	if e.Sequence == "" {
		e.Sequence = p.seqName
	}
	e.Depth = p.depth
	if e.Offset == 0 {
		e.Offset = p.cmdAt
	}
	if p.policy != noPolicy && (e.Result == Pass || e.Result == Fail) {
		e.Policy = policyWords(p.policy)
		pol := model.ReportingPolicy(p.policy)
		if (e.Result == Pass && pol&(model.RecordOnSuccess|model.SysinfoOnSuccess) != 0) ||
			(e.Result == Fail && pol&(model.RecordOnFailure|model.SysinfoOnFailure) != 0) {
			e.Reported = true
		}
	}
	e = p.d.emit(e)
	if e.Reported {
		p.d.reported = append(p.d.reported, e)
	}
	return e
}

const noPolicy = ^uint64(0)

// policyWords spells a SUIT_Rep_Policy (§8.4.5.1) in the words of the examples' table.
func policyWords(v uint64) string {
	var w []string
	for bit, name := range []string{"rec-pass", "rec-fail", "sys-pass", "sys-fail"} {
		if v&(1<<uint(bit)) != 0 {
			w = append(w, name)
		}
	}
	if v>>4 != 0 {
		w = append(w, fmt.Sprintf("unknown bits 0x%x", v>>4<<4))
	}
	if len(w) == 0 {
		return "none"
	}
	return strings.Join(w, " ")
}

// fail reports a failed step and returns the failure.
func (p *proc) fail(cond bool, comp int, cmd, arg string, sentinel error, format string, args ...any) error {
	reason := fmt.Sprintf(format, args...)
	ev := p.emit(Event{Component: p.compName(comp), Command: cmd, Argument: arg, Result: Fail, Reason: reason})
	return &failure{cond: cond, ev: ev, se: &StepError{Procedure: p.name, Sequence: p.seqName, Command: cmd, Reason: reason, Err: sentinel}}
}

// failErr reports a failed step caused by an error from below (flash, memory, malformed input).
func (p *proc) failErr(comp int, cmd, arg string, err error) error {
	var f *failure
	if errors.As(err, &f) || errors.Is(err, errInvoked) {
		return err
	}
	return p.fail(false, comp, cmd, arg, err, "%v", err)
}

func (p *proc) pass(comp int, cmd, arg string) {
	p.emit(Event{Component: p.compName(comp), Command: cmd, Argument: arg, Result: Pass})
}

func (p *proc) compName(i int) string {
	if i < 0 || i >= len(p.comps) {
		return ""
	}
	c := p.comps[i].dev
	return fmt.Sprintf("#%d [h'%x'] %s", i, c.ID, c.Name)
}

// ---- loading: envelope scan, authentication, manifest checks ----

func (p *proc) load(src source, fl *Flash, base int) error {
	p.envSrc, p.envFlash, p.envBase = src, fl, base
	p.seqName = "authentication"
	idx, err := p.alloc("envelope index", EnvelopeIndexSize, false)
	_ = idx
	if err != nil {
		return p.failErr(-1, "read envelope", "", err)
	}
	if err := p.scanEnvelope(); err != nil {
		return p.failErr(-1, "read envelope", "", err)
	}
	p.pass(-1, "read envelope", fmt.Sprintf("%d bytes, manifest %d bytes, %d integrated payload(s)", src.size(), p.manItem.n(), len(p.payloads)))
	if err := p.authenticate(); err != nil {
		return err
	}
	p.seqName = "manifest"
	if err := p.parseManifest(); err != nil {
		return err
	}
	return p.checkSequences()
}

func (p *proc) scanEnvelope() error {
	c := newCursor(p.envSrc, "envelope", 0, p.envSrc.size())
	tag, ok, err := c.optTag()
	if err != nil {
		return err
	}
	if ok && tag != model.TagEnvelope {
		return c.errf(0, "tag %d is not SUIT_Envelope_Tagged (107)", tag)
	}
	n, err := c.mapHead()
	if err != nil {
		return err
	}
	last := int64(-1 << 62)
	sawText := false
	for i := 0; i < n; i++ {
		keyAt := c.pos
		major, _, _, err := c.peek()
		if err != nil {
			return err
		}
		if major == majTstr {
			ko, kn, _ := c.tstr()
			vo, vn, err := c.bstr()
			if err != nil {
				return err
			}
			for _, e := range p.payloads {
				if e.key.n() == kn {
					same, err := p.sameBytes(e.key.off, ko, kn)
					if err != nil {
						return err
					}
					if same {
						return c.errf(keyAt, "integrated payload key repeated (duplicate map keys are not allowed)")
					}
				}
			}
			if len(p.payloads) >= 4 {
				return &StepError{Procedure: p.name, Sequence: "authentication", Command: "read envelope", Err: ErrUnsupported, Reason: "more than 4 integrated payloads"}
			}
			if _, err := p.alloc("integrated payload entry", PayloadEntrySize, false); err != nil {
				return err
			}
			p.payloads = append(p.payloads, payloadEntry{key: rng{ko, ko + kn}, val: rng{vo, vo + vn}})
			sawText = true
			continue
		}
		key, err := c.int()
		if err != nil {
			return err
		}
		if sawText || key <= last {
			return c.errf(keyAt, "envelope key %d is out of order or repeated (deterministic encoding required)", key)
		}
		last = key
		switch key {
		case model.EnvAuthentication, model.EnvManifest, model.EnvPayloadFetch, model.EnvInstall, model.EnvText, model.EnvCoswid,
			model.EnvDependencyResolution, model.EnvCandidateVerification:
			vs := c.pos
			if _, _, err := c.bstr(); err != nil {
				return err
			}
			p.members[int(key)] = rng{vs, c.pos}
		case 1: // suit-delegation (trust-domains CDDL; reserved in draft-37): delegation.go
			vs := c.pos
			if _, _, err := c.bstr(); err != nil {
				return err
			}
			p.members[1] = rng{vs, c.pos}
		default:
			return &StepError{Procedure: p.name, Sequence: "authentication", Command: "read envelope", Err: ErrUnsupported,
				Reason: fmt.Sprintf("unknown envelope member %d", key)}
		}
	}
	if c.pos != c.end {
		return c.errf(c.pos, "%d bytes after the envelope", c.end-c.pos)
	}
	a, okA := p.members[model.EnvAuthentication]
	m, okM := p.members[model.EnvManifest]
	if !okA {
		return &StepError{Procedure: p.name, Sequence: "authentication", Command: "read envelope", Err: ErrUnsigned, Reason: "the envelope has no authentication wrapper (key 2)"}
	}
	if !okM {
		return &StepError{Procedure: p.name, Sequence: "authentication", Command: "read envelope", Err: ErrInvalid, Reason: "the envelope has no manifest (key 3)"}
	}
	p.authItem, p.manItem = a, m
	return nil
}

// sameBytes compares two ranges of the envelope through two small accounted buffers.
func (p *proc) sameBytes(a, b, n int) (bool, error) {
	const chunk = 32
	ba, err := p.d.RAM.alloc("key compare buffers", 2*chunk, true)
	if err != nil {
		return false, err
	}
	defer ba.Free()
	same := true
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		x, y := ba.Buf[:k], ba.Buf[chunk:chunk+k]
		if err := p.envSrc.readAt(x, a+done); err != nil {
			return false, err
		}
		if err := p.envSrc.readAt(y, b+done); err != nil {
			return false, err
		}
		if string(x) != string(y) {
			same = false
		}
	}
	return same, nil
}

func (p *proc) readSrc(what string, r rng) (*Block, error) {
	b, err := p.alloc(what, r.n(), true)
	if err != nil {
		return nil, err
	}
	if err := p.envSrc.readAt(b.Buf, r.off); err != nil {
		return nil, err
	}
	return b, nil
}

// hashBuf hashes a buffer held in RAM; the SHA-256 state is charged while it runs.
func (p *proc) hashBuf(what string, b []byte) ([32]byte, error) {
	return p.d.sha256Sum(what, b)
}

func (p *proc) authenticate() error {
	const step = "check manifest digest"
	// Keep the manifest in RAM: what is checked is what is used.
	man, err := p.readSrc(fmt.Sprintf("manifest (%d B, kept)", p.manItem.n()), p.manItem)
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	p.man = man
	if p.digest, err = p.hashBuf("manifest digest", man.Buf); err != nil {
		return p.failErr(-1, step, "", err)
	}

	c := newCursor(p.envSrc, "authentication wrapper", p.authItem.off, p.authItem.end)
	ao, an, err := c.bstr()
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	c, err = newItemCursor(p.envSrc, "authentication wrapper", ao, ao+an)
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	n, err := c.array()
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	if n < 1 {
		return p.fail(false, -1, step, "", ErrMalformed, "the authentication wrapper is empty")
	}
	do, dn, err := c.bstr()
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	if dn > 64 {
		return p.fail(false, -1, step, "", ErrUnsupported, "SUIT_Digest of %d bytes is larger than this device accepts (64)", dn)
	}
	dBlk, err := p.readSrc("SUIT_Digest", rng{do, do + dn})
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	alg, want, err := parseDigest(dBlk.Buf, "authentication wrapper digest")
	if err != nil {
		return p.failErr(-1, step, "", err)
	}
	if alg != model.AlgSHA256 {
		return p.fail(false, -1, step, "", ErrUnsupported, "digest algorithm %d is not supported (this device implements SHA-256, -16)", alg)
	}
	arg := fmt.Sprintf("SHA-256 over the %d-byte manifest bstr = %x…", p.manItem.n(), p.digest[:4])
	if subtle.ConstantTimeCompare(want, p.digest[:]) != 1 {
		return p.fail(false, -1, step, arg, ErrManifestDigest, "manifest digest mismatch: the authentication wrapper says %x, the manifest hashes to %x", want, p.digest)
	}
	p.pass(-1, step, arg)

	if n < 2 {
		return p.fail(false, -1, "verify signature", "", ErrUnsigned, "the envelope carries no authentication block (unsigned envelopes are refused)")
	}
	var lastErr error
	for i := 1; i < n; i++ {
		bo, bn, err := c.bstr()
		if err != nil {
			return p.failErr(-1, "verify signature", "", err)
		}
		ok, err := p.verifyBlock(i, rng{bo, bo + bn}, dBlk.Buf)
		if err != nil {
			var f *failure
			if errors.As(err, &f) {
				lastErr = err
				continue
			}
			return p.failErr(-1, "verify signature", "", err)
		}
		if ok {
			return nil
		}
	}
	if !c.atEnd() {
		return p.fail(false, -1, "verify signature", "", ErrMalformed, "bytes after the authentication blocks")
	}
	if lastErr != nil {
		return lastErr
	}
	return p.fail(false, -1, "verify signature", "", ErrSignature, "no authentication block verifies")
}

// parseDigest reads SUIT_Digest = [alg, bstr] from RAM.
func parseDigest(b []byte, where string) (int64, []byte, error) {
	c := newCursor(ramSource(b), where, 0, len(b))
	n, err := c.array()
	if err != nil {
		return 0, nil, err
	}
	if n != 2 {
		return 0, nil, c.errf(0, "SUIT_Digest has %d elements; this device supports [algorithm, bytes] only", n)
	}
	alg, err := c.int()
	if err != nil {
		return 0, nil, err
	}
	o, l, err := c.bstr()
	if err != nil {
		return 0, nil, err
	}
	if !c.atEnd() {
		return 0, nil, c.errf(c.pos, "bytes after SUIT_Digest")
	}
	if alg == model.AlgSHA256 && l != 32 {
		return 0, nil, c.errf(o, "SHA-256 digest of %d bytes (want 32)", l)
	}
	return alg, b[o : o+l], nil
}

// COSE algorithms the device verifies.
const (
	algES256   = -7
	algEdDSA   = -8
	algESP256  = -9
	algEd25519 = -19
	algHSSLMS  = -46
)

func coseAlgName(a int64) string {
	switch a {
	case algES256:
		return "ES256"
	case algESP256:
		return "ESP256"
	case algEdDSA:
		return "EdDSA"
	case algEd25519:
		return "Ed25519"
	case algHSSLMS:
		return "HSS-LMS"
	}
	return fmt.Sprintf("algorithm %d", a)
}

// verifyBlock checks auth block i (COSE_Sign1_Tagged, detached payload) against the trust anchors.
func (p *proc) verifyBlock(i int, r rng, d []byte) (bool, error) {
	cmd := "verify signature"
	arg := fmt.Sprintf("authentication block %d", i)
	c, err := newItemCursor(p.envSrc, fmt.Sprintf("authentication block %d", i), r.off, r.end)
	if err != nil {
		return false, err
	}
	tag, ok, err := c.optTag()
	if err != nil {
		return false, err
	}
	switch {
	case ok && tag == 18:
	case ok && tag == 17:
		return p.verifyMac0(i, c, d)
	case ok && tag == 97:
		return false, p.fail(false, -1, cmd, arg, ErrUnsupported, "COSE_Mac authentication blocks need a shared key, which this device does not hold")
	case ok && tag == 98:
		return false, p.fail(false, -1, cmd, arg, ErrUnsupported, "COSE_Sign (multi-signer) blocks are not supported; use COSE_Sign1")
	default:
		return false, p.fail(false, -1, cmd, arg, ErrMalformed, "authentication block is not a tagged COSE_Sign1 (tag 18)")
	}
	n, err := c.array()
	if err != nil {
		return false, err
	}
	if n != 4 {
		return false, p.fail(false, -1, cmd, arg, ErrMalformed, "COSE_Sign1 has %d elements, want 4", n)
	}
	// Sig_structure = ["Signature1", protected, h'', bstr(D)] built in RAM (55 bytes for ES256).
	sb, b, prot, so, sn, err := p.coseAuthInput(c, d, cmd, arg, "COSE_Sign1", "Sig_structure", "Signature1")
	if err != nil {
		return false, err
	}
	defer sb.Free()
	alg, err := protectedAlg(prot)
	if err != nil {
		return false, p.fail(false, -1, cmd, arg, ErrMalformed, "%v", err)
	}
	arg = fmt.Sprintf("authentication block %d, COSE_Sign1 %s", i, coseAlgName(alg))
	sig, err := p.alloc("signature", sn, true)
	if err != nil {
		return false, err
	}
	defer sig.Free()
	if err := p.envSrc.readAt(sig.Buf, so); err != nil {
		return false, err
	}
	var kind byte
	switch alg {
	case algES256, algESP256:
		kind = anchorP256
	case algEdDSA, algEd25519:
		kind = anchorEd25519
	case algHSSLMS:
		kind = anchorHSSLMS
	default:
		return false, p.fail(false, -1, cmd, arg, ErrUnsupported, "COSE algorithm %d is not supported (this device verifies ES256 -7, ESP256 -9, EdDSA -8, Ed25519 -19, HSS-LMS -46)", alg)
	}
	if sn != 64 && kind != anchorHSSLMS {
		return false, p.fail(false, -1, cmd, arg, ErrSignature, "%s signature of %d bytes (want 64)", coseAlgName(alg), sn)
	}
	tried, scoped := 0, 0
	for k, a := range p.st.anchors {
		if a.kind != kind {
			continue
		}
		if !p.anchorMaySign(a) {
			scoped++ // deps.go: an anchor for other (dependency) manifests
			continue
		}
		tried++
		ok, err := p.verifyWith(a, b, sig.Buf)
		if err != nil {
			return false, err
		}
		if ok {
			p.pass(-1, cmd, fmt.Sprintf("%s with trust anchor #%d", arg, k+1))
			return true, nil
		}
	}
	if ok, err := p.verifyDelegated(kind, cmd, arg, b, sig.Buf); ok || err != nil {
		return ok, err
	}
	if tried == 0 && p.td.level > 0 {
		return false, p.fail(false, -1, cmd, arg, ErrSignature, "no %s trust anchor on this device may sign the dependency %q (anchors are scoped per dependency)", coseAlgName(alg), p.td.scope)
	}
	if tried == 0 {
		return false, p.fail(false, -1, cmd, arg, ErrSignature, "no trust anchor on this device is a %s key", coseAlgName(alg))
	}
	if scoped > 0 {
		return false, p.fail(false, -1, cmd, arg, ErrSignature, "the signature does not verify with any of the %d %s trust anchor(s) that may sign %s (%d more are scoped to other dependencies): signed by a key not trusted for it, or altered", tried, coseAlgName(alg), p.manifestRole(), scoped)
	}
	return false, p.fail(false, -1, cmd, arg, ErrSignature, "the signature does not verify with any of the %d %s trust anchor(s): signed by another key, or altered", tried, coseAlgName(alg))
}

func (p *proc) verifyWith(a anchor, msg, sig []byte) (bool, error) {
	switch a.kind {
	case anchorP256:
		// Hash the Sig_structure first (its SHA-256 state is freed), then verify.
		h, err := p.hashBuf("Sig_structure", msg)
		if err != nil {
			return false, err
		}
		ctx, err := p.d.RAM.alloc("P-256 verify context", P256VerifyCtxSize, false)
		if err != nil {
			return false, err
		}
		defer ctx.Free()
		p.d.clock += P256VerifyTime
		x, y := elliptic.Unmarshal(elliptic.P256(), a.key) //nolint:staticcheck // raw point from the state area
		if x == nil {
			return false, nil
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
		return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])), nil
	case anchorEd25519:
		ctx, err := p.d.RAM.alloc("Ed25519 verify context", Ed25519VerifyCtxSize, false)
		if err != nil {
			return false, err
		}
		defer ctx.Free()
		p.d.clock += Ed25519VerifyTime
		return len(a.key) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(a.key), msg, sig), nil
	case anchorHSSLMS:
		return p.verifyHSSLMS(a.key, msg, sig)
	}
	return false, nil
}

func protectedAlg(prot []byte) (int64, error) {
	c, err := newItemCursor(ramSource(prot), "protected header", 0, len(prot))
	if err != nil {
		return 0, err
	}
	n, err := c.mapHead()
	if err != nil {
		return 0, err
	}
	alg := int64(0)
	for i := 0; i < n; i++ {
		k, err := c.int()
		if err != nil {
			return 0, err
		}
		switch k {
		case 1:
			if alg, err = c.int(); err != nil {
				return 0, err
			}
		case 2:
			return 0, fmt.Errorf("critical header parameters (crit) are not understood by this device")
		default:
			if err := c.skip(); err != nil {
				return 0, err
			}
		}
	}
	if alg == 0 {
		return 0, fmt.Errorf("protected header has no algorithm (label 1)")
	}
	return alg, nil
}

func headLen(n int) int {
	switch {
	case n < 24:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	}
	return 5
}

func appendHead(b []byte, major byte, n int) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n < 1<<8:
		return append(b, m|24, byte(n))
	case n < 1<<16:
		return append(b, m|25, byte(n>>8), byte(n))
	}
	return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (p *proc) parseManifest() error {
	buf := p.man.Buf
	c := newCursor(ramSource(buf), "manifest", 0, len(buf))
	mo, mn, err := c.bstr()
	if err != nil {
		return p.failErr(-1, "read manifest", "", err)
	}
	p.manBody = buf[mo : mo+mn]
	if c, err = newItemCursor(ramSource(p.manBody), "manifest", 0, mn); err != nil {
		return p.failErr(-1, "read manifest", "", err)
	}
	if tag, ok, err := c.optTag(); err != nil || ok {
		return p.fail(false, -1, "read manifest", "", ErrMalformed, "the manifest inside an envelope must not be tagged (found tag %d)", tag)
	}
	n, err := c.mapHead()
	if err != nil {
		return p.failErr(-1, "read manifest", "", err)
	}
	var version, seq int64 = -1, -1
	var common []byte
	last := int64(-1 << 62)
	for i := 0; i < n; i++ {
		at := c.pos
		key, err := c.int()
		if err != nil {
			return p.failErr(-1, "read manifest", "", err)
		}
		if key <= last {
			return p.failErr(-1, "read manifest", "", c.errf(at, "manifest key %d out of order or repeated", key))
		}
		last = key
		switch key {
		case model.ManVersion:
			v, err := c.uint()
			if err != nil {
				return p.failErr(-1, "read manifest", "", err)
			}
			version = int64(min(v, 1<<62))
		case model.ManSequenceNumber:
			v, err := c.uint()
			if err != nil {
				return p.failErr(-1, "read manifest", "", err)
			}
			p.seq = v
			seq = 0
		case model.ManCommon:
			o, l, err := c.bstr()
			if err != nil {
				return p.failErr(-1, "read manifest", "", err)
			}
			common = p.manBody[o : o+l]
		case model.ManReferenceURI:
			if _, _, err := c.tstr(); err != nil {
				return p.failErr(-1, "read manifest", "", err)
			}
		case model.ManValidate, model.ManLoad, model.ManInvoke, model.ManUninstall:
			o, l, err := c.bstr()
			if err != nil {
				return p.failErr(-1, "read manifest", "", err)
			}
			p.sections[int(key)] = &section{present: true, have: true, buf: p.manBody[o : o+l]}
		case model.ManPayloadFetch, model.ManInstall, model.ManText, model.ManCoswid, model.ManDependencyResolution, model.ManCandidateVerification:
			major, _, _, err := c.peek()
			if err != nil {
				return p.failErr(-1, "read manifest", "", err)
			}
			if major == majArray {
				s, e, err := c.itemRange()
				if err != nil {
					return p.failErr(-1, "read manifest", "", err)
				}
				alg, dg, err := parseDigest(p.manBody[s:e], "manifest member digest")
				if err != nil {
					return p.failErr(-1, "read manifest", "", err)
				}
				if alg != model.AlgSHA256 {
					return p.fail(false, -1, "read manifest", "", ErrUnsupported, "digest algorithm %d for severed member %d is not supported", alg, key)
				}
				p.sections[int(key)] = &section{present: true, severed: true, digest: dg}
			} else {
				o, l, err := c.bstr()
				if err != nil {
					return p.failErr(-1, "read manifest", "", err)
				}
				p.sections[int(key)] = &section{present: true, have: true, buf: p.manBody[o : o+l]}
			}
		case model.ManManifestComponentID, model.ManSetVersion:
			if err := p.manifestExtension(c, key); err != nil { // deps.go, updatemgmt.go
				return err
			}
		default:
			return p.fail(false, -1, "read manifest", "", ErrUnsupported, "unknown manifest member %d", key)
		}
	}
	if !c.atEnd() {
		return p.failErr(-1, "read manifest", "", c.errf(c.pos, "bytes after the manifest map"))
	}
	if version != 1 {
		if version < 0 {
			return p.fail(false, -1, "check manifest version", "", ErrVersion, "the manifest has no version (key 1)")
		}
		return p.fail(false, -1, "check manifest version", fmt.Sprint(version), ErrVersion, "manifest version %d is not supported (only 1)", version)
	}
	p.pass(-1, "check manifest version", "1")
	if seq < 0 {
		return p.fail(false, -1, "check sequence number", "", ErrInvalid, "the manifest has no sequence number (key 2)")
	}
	arg := fmt.Sprintf("manifest %d, device %d", p.seq, p.st.seq)
	if p.td.level > 0 {
		// A dependency's sequence number is its own signer's business: the stored number is the root's.
		arg = fmt.Sprintf("dependency manifest %d (not compared with the root's stored %d)", p.seq, p.st.seq)
	} else if p.seq < p.st.seq {
		return p.fail(false, -1, "check sequence number", arg, ErrRollback, "lower sequence number: manifest %d is older than the installed %d (anti-rollback)", p.seq, p.st.seq)
	}
	p.pass(-1, "check sequence number", arg)
	if common == nil {
		return p.fail(false, -1, "read common", "", ErrInvalid, "the manifest has no suit-common (key 3)")
	}
	if err := p.parseCommon(common); err != nil {
		return err
	}
	return p.checkSevered()
}

func (p *proc) parseCommon(common []byte) error {
	const cmd = "check components"
	c, err := newItemCursor(ramSource(common), "common", 0, len(common))
	if err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	n, err := c.mapHead()
	if err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	var compsAt = -1
	last := int64(-1 << 62)
	for i := 0; i < n; i++ {
		key, err := c.int()
		if err != nil {
			return p.failErr(-1, cmd, "", err)
		}
		if key <= last {
			return p.failErr(-1, cmd, "", c.errf(c.pos, "common key %d out of order or repeated", key))
		}
		last = key
		switch key {
		case model.CommonDependencies:
			if err := p.parseDependencies(c); err != nil { // deps.go
				return err
			}
		case model.CommonComponents:
			compsAt = c.pos
			if err := c.skip(); err != nil {
				return p.failErr(-1, cmd, "", err)
			}
		case model.CommonSharedSequence:
			o, l, err := c.bstr()
			if err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			p.shared = common[o : o+l]
		default:
			return p.fail(false, -1, cmd, "", ErrUnsupported, "unknown suit-common member %d", key)
		}
	}
	if compsAt < 0 {
		return p.fail(false, -1, cmd, "", ErrInvalid, "suit-common has no components (key 2)")
	}
	c.pos = compsAt
	nc, err := c.array()
	if err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	if nc == 0 {
		return p.fail(false, -1, cmd, "", ErrInvalid, "the component list is empty")
	}
	if nc > p.d.cfg.MaxComponents || nc > len(p.d.comps) {
		return p.fail(false, -1, cmd, fmt.Sprintf("%d components", nc), ErrTooManyComponents,
			"the manifest lists %d components; this device supports %d", nc, min(p.d.cfg.MaxComponents, len(p.d.comps)))
	}
	if _, err := p.alloc(fmt.Sprintf("parameters for %d components", nc), nc*ParamStorageSize, false); err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	// The current index selection: up to one byte per component plus its length and flags.
	if _, err := p.alloc("component index selection", nc+4, false); err != nil {
		return p.failErr(-1, cmd, "", err)
	}
	used := map[int]bool{}
	for i := 0; i < nc; i++ {
		at := c.pos
		parts, err := c.array()
		if err != nil {
			return p.failErr(-1, cmd, "", err)
		}
		var idBytes []byte
		for j := 0; j < parts; j++ {
			o, l, err := c.bstr()
			if err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			if j == 0 {
				idBytes = p.d.resolveAlias(common[o : o+l])
			}
		}
		if p.td.deps[i] != nil {
			p.comps = append(p.comps, p.depComp(i)) // deps.go: a dependency is an envelope, not a device slot
			continue
		}
		found := -1
		if parts == 1 {
			for k, dc := range p.d.comps {
				if string(dc.ID) == string(idBytes) {
					found = k
				}
			}
		}
		if found < 0 {
			return p.fail(false, -1, cmd, "", ErrUnknownComponent, "component #%d %s is not on this device (it has %s)", i, diagComponent(common[at:c.pos]), p.deviceComponentList())
		}
		if used[found] {
			return p.fail(false, -1, cmd, "", ErrInvalid, "component [h'%x'] is listed twice", p.d.comps[found].ID)
		}
		used[found] = true
		p.comps = append(p.comps, &procComp{dev: p.d.comps[found], devIdx: found})
	}
	if err := p.extraDependencies(nc); err != nil { // deps.go: dependency indices after the components
		return err
	}
	names := ""
	for i := range p.comps {
		if i > 0 {
			names += ", "
		}
		names += p.compName(i)
	}
	p.pass(-1, cmd, fmt.Sprintf("%d of %d: %s", nc, min(p.d.cfg.MaxComponents, len(p.d.comps)), names))
	return nil
}

func (p *proc) deviceComponentList() string {
	s := ""
	for i, c := range p.d.comps {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("[h'%x'] %s", c.ID, c.Name)
	}
	return s
}

// diagComponent renders an encoded component identifier in diagnostic notation (short).
func diagComponent(b []byte) string {
	c := newCursor(ramSource(b), "component", 0, len(b))
	n, err := c.array()
	if err != nil {
		return fmt.Sprintf("%x", b)
	}
	s := "["
	for i := 0; i < n; i++ {
		o, l, err := c.bstr()
		if err != nil {
			return fmt.Sprintf("%x", b)
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("h'%x'", b[o:o+l])
	}
	return s + "]"
}

var sectionNames = map[int]string{
	model.ManValidate: "validate", model.ManLoad: "load", model.ManInvoke: "invoke",
	model.ManPayloadFetch: "payload-fetch", model.ManInstall: "install", model.ManText: "text", model.ManCoswid: "coswid",
	model.ManDependencyResolution: "dependency-resolution", model.ManCandidateVerification: "candidate-verification", model.ManUninstall: "uninstall",
}

// checkSevered matches severed members in the envelope with the digests in the manifest.
func (p *proc) checkSevered() error {
	for _, key := range []int{model.EnvCoswid, model.EnvDependencyResolution, model.EnvPayloadFetch, model.EnvCandidateVerification, model.EnvInstall, model.EnvText} {
		name := sectionNames[key]
		cmd := "check severed " + name
		r, inEnv := p.members[key]
		s := p.sections[key]
		if inEnv && (s == nil || !s.severed) {
			return p.fail(false, -1, cmd, "", ErrInvalid, "the envelope carries a severed %s (key %d) but the manifest does not hold its digest", name, key)
		}
		if s == nil || !s.severed {
			continue
		}
		if !inEnv {
			p.emit(Event{Command: cmd, Result: Skipped, Reason: fmt.Sprintf("%s is severed and not in the envelope", name)})
			continue
		}
		var got [32]byte
		if key == model.EnvInstall || key == model.EnvPayloadFetch || key == model.EnvDependencyResolution || key == model.EnvCandidateVerification {
			// Executed later: keep it in RAM so the checked bytes are the used bytes.
			b, err := p.readSrc(fmt.Sprintf("severed %s (%d B, kept)", name, r.n()), r)
			if err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			if got, err = p.hashBuf("severed "+name, b.Buf); err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			c := newCursor(ramSource(b.Buf), name, 0, len(b.Buf))
			o, l, err := c.bstr()
			if err != nil {
				return p.failErr(-1, cmd, "", err)
			}
			s.buf = b.Buf[o : o+l]
		} else {
			var err error
			if got, err = p.d.regionDigest(p.envFlash, p.envBase+r.off, r.n()); err != nil {
				return p.failErr(-1, cmd, "", err)
			}
		}
		arg := fmt.Sprintf("SHA-256 over the %d-byte envelope member %d", r.n(), key)
		if subtle.ConstantTimeCompare(got[:], s.digest) != 1 {
			return p.fail(false, -1, cmd, arg, ErrSeveredDigest, "severed %s digest mismatch: the manifest says %x, the envelope member hashes to %x", name, s.digest, got)
		}
		s.have = true
		p.pass(-1, cmd, arg)
	}
	return nil
}

// ---- procedures ----

// runProcedure runs the sections in order, each preceded by the shared sequence.
func (p *proc) runProcedure(keys []int) error {
	for _, key := range keys {
		name := sectionNames[key]
		s := p.sections[key]
		if s == nil && (key == model.ManDependencyResolution || key == model.ManCandidateVerification) {
			continue // trust-domains sections: most manifests have none, say nothing
		}
		if s == nil {
			p.seqName = name
			p.emit(Event{Command: "run " + name, Result: Skipped, Reason: "not in the manifest"})
			continue
		}
		if !s.have {
			p.seqName = name
			return p.fail(false, -1, "run "+name, "", ErrSeveredMissing, "%s is severed (the manifest holds only its digest) and the envelope does not carry it", name)
		}
		if p.shared != nil {
			p.seqName = "shared"
			p.inShared = true
			err := p.execSeq(p.shared, true)
			p.inShared = false
			if err != nil {
				return err
			}
			if !p.sharedChecked {
				p.sharedChecked = true
				if !p.sawVendor || !p.sawClass {
					p.emit(Event{Command: "check shared sequence", Result: Info,
						Reason: "the shared sequence does not check both the vendor and the class identifier (SHOULD, §6.2): this manifest is not tied to a device type"})
				}
			}
		}
		p.seqName = name
		if err := p.execSeq(s.buf, true); err != nil {
			return err
		}
		if p.invoked >= 0 {
			return nil
		}
	}
	return nil
}

// clockTick charges the interpreter overhead of one command.
func (p *proc) clockTick() { p.d.clock += CommandOverhead }

var _ = time.Second

// coseAuthInput reads a COSE_Sign1 or COSE_Mac0 block from c (its array head read: 4 items)
// up to its signature or tag, and builds in RAM what is signed or MACed:
// [context, protected, h”, bstr(D)] (RFC 9052 §4.4, §6.3). It returns that structure's block
// (the caller frees it), its bytes, the protected header inside them, and where the signature
// or tag lies in the envelope. The unprotected header is not trusted, but must be a map.
func (p *proc) coseAuthInput(c *cursor, d []byte, cmd, arg, kind, what, context string) (*Block, []byte, []byte, int, int, error) {
	po, pn, err := c.bstr()
	if err != nil {
		return nil, nil, nil, 0, 0, err
	}
	if pn > 32 {
		return nil, nil, nil, 0, 0, p.fail(false, -1, cmd, arg, ErrUnsupported, "protected header of %d bytes is larger than this device accepts (32)", pn)
	}
	if major, _, _, err := c.peek(); err != nil {
		return nil, nil, nil, 0, 0, err
	} else if major != majMap {
		return nil, nil, nil, 0, 0, p.fail(false, -1, cmd, arg, ErrMalformed, "%s unprotected header is a %s, not a map", kind, majorName(major))
	}
	if err := c.skip(); err != nil {
		return nil, nil, nil, 0, 0, err
	}
	if v, err := c.simple(); err != nil || v != simNull {
		return nil, nil, nil, 0, 0, p.fail(false, -1, cmd, arg, ErrMalformed, "%s payload must be null (the SUIT_Digest is the detached payload)", kind)
	}
	so, sn, err := c.bstr()
	if err != nil {
		return nil, nil, nil, 0, 0, err
	}
	blk, err := p.alloc(what, 1+1+len(context)+headLen(pn)+pn+1+headLen(len(d))+len(d), true)
	if err != nil {
		return nil, nil, nil, 0, 0, err
	}
	b := blk.Buf[:0]
	b = append(b, 0x84)
	b = appendHead(b, majTstr, len(context))
	b = append(b, context...)
	b = appendHead(b, majBstr, pn)
	prot := b[len(b) : len(b)+pn]
	b = b[:len(b)+pn]
	if err := p.envSrc.readAt(prot, po); err != nil {
		blk.Free()
		return nil, nil, nil, 0, 0, err
	}
	b = append(b, 0x40)
	b = appendHead(b, majBstr, len(d))
	b = append(b, d...)
	return blk, b, prot, so, sn, nil
}
