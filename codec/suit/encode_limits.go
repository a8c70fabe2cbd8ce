package suit

import "github.com/suit-studio/suit-studio/model"

// Encode checks its output with the decoder (decodable) so that one set of limits holds for
// reading and writing. Most manifests cannot come near those limits; for them the check is
// skipped: mayReachLimits says when it is needed.

// shallowNesting: command sequences nested this deep or less (through try-each and run-sequence)
// decode wherever the draft allows a sequence (TestNestingLimitSameBothWays checks each place).
const shallowNesting = 3

// fewItems: an envelope whose model has fewer parts than this stays far below the decoder's
// element and item counts.
const fewItems = maxElements / 8

// mayReachLimits reports whether env could exceed a decoder limit when encoded: nesting beyond
// shallowNesting, raw CBOR kept as is (unknown members, custom arguments, raw values: their own
// depth adds up), a CoSWID, or many parts.
func mayReachLimits(env *model.Envelope) bool {
	if len(env.Unknown) > 0 || len(env.Integrated) > fewItems {
		return true
	}
	m := env.Manifest
	if len(m.Unknown) > 0 || len(m.Common.Unknown) > 0 || m.Coswid.Present || len(m.Common.Components) > fewItems {
		return true
	}
	for _, d := range m.Common.Dependencies {
		if len(d.Unknown) > 0 {
			return true
		}
	}
	if t := m.Text.Text; t != nil {
		for _, l := range t.Languages {
			if len(l.Unknown) > 0 {
				return true
			}
			for _, c := range l.Components {
				if len(c.Unknown) > 0 {
					return true
				}
			}
		}
	}
	parts := 0
	var deep func(s *model.CommandSequence, level int) bool
	deep = func(s *model.CommandSequence, level int) bool {
		if s == nil {
			return false
		}
		if level > shallowNesting {
			return true
		}
		for i := range s.Commands {
			c := &s.Commands[i]
			parts += 1 + len(c.Params) + len(c.Multiple) + len(c.CopyParams)
			if c.Raw != nil || parts > fewItems {
				return true
			}
			for _, p := range c.Params {
				if p.Value.Kind == model.KindRaw {
					return true
				}
			}
			for _, ip := range c.Multiple {
				for _, p := range ip.Params {
					if p.Value.Kind == model.KindRaw {
						return true
					}
				}
			}
			for _, sub := range c.Sequences {
				if deep(sub, level+1) {
					return true
				}
			}
		}
		return false
	}
	for _, s := range []*model.CommandSequence{m.Common.SharedSequence, m.Validate, m.Load, m.Invoke, m.Uninstall,
		m.PayloadFetch.Seq, m.Install.Seq, m.DependencyResolution.Seq, m.CandidateVerification.Seq} {
		if deep(s, 1) {
			return true
		}
	}
	return false
}
