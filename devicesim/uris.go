package devicesim

import (
	"fmt"

	"github.com/suit-studio/suit-studio/model"
)

// checkSequences walks every command sequence the device holds when it reads the manifest —
// shared, and every section present in the manifest or carried severed and checked — with the
// sequences nested in try-each and run-sequence, before any of them runs: each must be one
// well-formed CBOR item (all items present, nothing trailing) holding label/argument pairs, so
// that a malformed alternative that would never run is refused as the host decoder refuses it.
// It also refuses an envelope that carries an integrated payload no uri parameter names:
// nothing authenticates such bytes (an image's digest authenticates only the payload its fetch
// takes); `suit verify` refuses the same envelope (codec/suit manifestURIs).
func (p *proc) checkSequences() error {
	const cmd = "check command sequences"
	var named uint8
	seqs := [][]byte{p.shared}
	for _, key := range []int{model.ManDependencyResolution, model.ManPayloadFetch, model.ManCandidateVerification, model.ManInstall,
		model.ManValidate, model.ManLoad, model.ManInvoke, model.ManUninstall} {
		if s := p.sections[key]; s != nil && s.have {
			seqs = append(seqs, s.buf)
		}
	}
	for _, sq := range seqs {
		if sq == nil {
			continue
		}
		if err := p.scanURIs(sq, &named); err != nil {
			return p.failErr(-1, cmd, "", err)
		}
	}
	for k, e := range p.payloads {
		if named&(1<<uint(k)) == 0 {
			return p.fail(false, -1, "check integrated payloads", "", ErrInvalid, "integrated payload %d (%d-byte key at byte %d) is named by no uri parameter of the manifest: nothing authenticates it", k+1, e.key.n(), e.key.off)
		}
	}
	if len(p.payloads) > 0 {
		p.pass(-1, "check integrated payloads", fmt.Sprintf("%d named by a uri parameter", len(p.payloads)))
	}
	return nil
}

// scanURIs checks one command sequence (and the sequences nested in try-each and run-sequence)
// and marks the integrated payloads whose key a uri parameter names. Each nesting level holds a
// cursor, charged to the RAM budget.
func (p *proc) scanURIs(seq []byte, named *uint8) error {
	lvl, err := p.d.RAM.alloc("uri scan cursor", CursorSize, false)
	if err != nil {
		return err
	}
	defer lvl.Free()
	c, err := newItemCursor(ramSource(seq), "command sequence", 0, len(seq))
	if err != nil {
		return err
	}
	n, err := c.array()
	if err != nil {
		return err
	}
	if n%2 != 0 {
		return c.errf(0, "command sequence has %d elements; it must be pairs of label and argument", n)
	}
	for i := 0; i < n/2; i++ {
		label, err := c.int()
		if err != nil {
			return err
		}
		switch label {
		case model.DirSetParameters, model.DirOverrideParameters:
			m, err := c.mapHead()
			if err != nil {
				return err
			}
			for j := 0; j < m; j++ {
				k, err := c.int()
				if err != nil {
					return err
				}
				major, _, _, err := c.peek()
				if err != nil {
					return err
				}
				if k != model.ParamURI || major != majTstr {
					if err := c.skip(); err != nil {
						return err
					}
					continue
				}
				o, l, err := c.tstr()
				if err != nil {
					return err
				}
				for pk, e := range p.payloads {
					if e.key.n() != l {
						continue
					}
					same, err := p.sameAsEnvelope(seq[o:o+l], e.key.off)
					if err != nil {
						return err
					}
					if same {
						*named |= 1 << uint(pk)
					}
				}
			}
		case model.DirTryEach:
			alts, err := c.array()
			if err != nil {
				return err
			}
			for k := 0; k < alts; k++ {
				if major, _, _, err := c.peek(); err != nil {
					return err
				} else if major != majBstr {
					if err := c.skip(); err != nil {
						return err
					}
					continue
				}
				o, l, err := c.bstr()
				if err != nil {
					return err
				}
				if err := p.scanURIs(seq[o:o+l], named); err != nil {
					return err
				}
			}
		case model.DirRunSequence:
			o, l, err := c.bstr()
			if err != nil {
				return err
			}
			if err := p.scanURIs(seq[o:o+l], named); err != nil {
				return err
			}
		default:
			if err := c.skip(); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameAsEnvelope compares bytes held in RAM with the envelope's bytes at off, through a small
// accounted buffer.
func (p *proc) sameAsEnvelope(b []byte, off int) (bool, error) {
	const chunk = 32
	buf, err := p.d.RAM.alloc("key compare buffer", chunk, true)
	if err != nil {
		return false, err
	}
	defer buf.Free()
	same := true
	for done := 0; done < len(b); done += chunk {
		k := min(chunk, len(b)-done)
		if err := p.envSrc.readAt(buf.Buf[:k], off+done); err != nil {
			return false, err
		}
		if string(buf.Buf[:k]) != string(b[done:done+k]) {
			same = false
		}
	}
	return same, nil
}
