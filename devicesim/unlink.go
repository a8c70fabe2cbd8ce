package devicesim

import "fmt"

// suit-directive-unlink (33, draft-ietf-suit-trust-domains §"suit-directive-unlink"), with the
// simple reference counts of a device that holds one root manifest: a component with content is
// referenced once, by the installed manifest. Unlink drops that reference: the component is
// marked unused (its length becomes 0) in the same state write as the commit, so an aborted
// update unlinks nothing. A manifest decrements a component's count at most once (a second unlink
// of it is skipped with an event). Two cases are ignored by device policy, as the draft allows:
// the boot image slot (the device must keep something to boot) and a component this manifest has
// just written. Unlinking a dependency manifest (which would run its uninstall section) is refused.

func (p *proc) unlink(i int, name string) error {
	if p.isDep(i) {
		return p.fail(false, i, name, "", ErrUnsupported, "unlinking a dependency manifest runs its uninstall section, which this device does not support")
	}
	if i < 0 || i >= len(p.comps) || p.comps[i].dev == nil || p.comps[i].devIdx >= 32 {
		return p.fail(false, i, name, "", ErrInvalid, "component #%d is not a device component", i)
	}
	dc, di := p.comps[i].dev, p.comps[i].devIdx
	switch {
	case p.unlinked&(1<<uint(di)) != 0:
		p.emit(Event{Component: p.compName(i), Command: name, Result: Skipped, Reason: "already unlinked by this manifest (a manifest decrements a reference count once)"})
	case di == 0:
		p.emit(Event{Component: p.compName(i), Command: name, Result: Skipped, Reason: "ignored by device policy: the boot image slot is never left unused"})
	case dc.written:
		p.emit(Event{Component: p.compName(i), Command: name, Result: Skipped, Reason: "ignored by device policy: this manifest has just written the component"})
	case dc.Length == 0:
		p.emit(Event{Component: p.compName(i), Command: name, Result: Skipped, Reason: "reference count already 0: the component holds nothing"})
	default:
		p.unlinked |= 1 << uint(di)
		p.pass(i, name, fmt.Sprintf("reference count 1 -> 0: %d bytes marked unused at commit", dc.Length))
	}
	return nil
}

// applyUnlinks marks the unlinked components unused in the new state (called by commit).
func (p *proc) applyUnlinks(ns *bootState) {
	for i := range p.d.comps {
		if p.unlinked&(1<<uint(i)) != 0 && i < len(ns.activeLen) {
			ns.activeLen[i] = 0
			ns.pending &^= 1 << uint(i)
		}
	}
}
