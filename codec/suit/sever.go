package suit

import (
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// SeverableMembers names the manifest members that may be severed.
var SeverableMembers = []string{"payload-fetch", "install", "text", "dependency-resolution", "candidate-verification", "coswid"}

// severances maps member names to their place in the manifest, with a way to encode their content.
func severances(m *model.Manifest) map[string]struct {
	s       *model.Severance
	content func() ([]byte, error)
} {
	type entry = struct {
		s       *model.Severance
		content func() ([]byte, error)
	}
	seq := func(name string, ss *model.SeverableSequence) entry {
		return entry{&ss.Severance, func() ([]byte, error) {
			if ss.Seq == nil {
				return nil, fmt.Errorf("%s has no commands", name)
			}
			return encodeSequence(ss.Seq, "envelope/manifest/"+name)
		}}
	}
	return map[string]entry{
		"payload-fetch":          seq("payload-fetch", &m.PayloadFetch),
		"install":                seq("install", &m.Install),
		"dependency-resolution":  seq("dependency-resolution", &m.DependencyResolution),
		"candidate-verification": seq("candidate-verification", &m.CandidateVerification),
		"text": {&m.Text.Severance, func() ([]byte, error) {
			if m.Text.Text == nil {
				return nil, fmt.Errorf("text is empty")
			}
			return encodeText(m.Text.Text, "envelope/manifest/text")
		}},
		"coswid": {&m.Coswid.Severance, func() ([]byte, error) { return m.Coswid.Bytes, nil }},
	}
}

// Sever moves severable members out of the manifest: each named member (all present ones when
// names is empty) gets its digest in the manifest. With keep, its content stays in the envelope as a
// severed member; without, the content is removed, as in the draft's severed example 2. It returns
// the members it severed and whether the manifest itself changed (which invalidates signatures).
func Sever(env *model.Envelope, names []string, keep bool) (severed []string, manifestChanged bool, err error) {
	if env == nil || env.Manifest == nil {
		return nil, false, fmt.Errorf("no manifest")
	}
	all := severances(env.Manifest)
	if len(names) == 0 {
		for _, n := range SeverableMembers {
			if all[n].s.Present {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		e, ok := all[n]
		if !ok {
			return nil, false, fmt.Errorf("%q is not a severable member (severable: %s)", n, strings.Join(SeverableMembers, ", "))
		}
		if !e.s.Present {
			if e.s.Digest != nil {
				continue // already severed and not carried
			}
			return nil, false, fmt.Errorf("the manifest has no %s to sever", n)
		}
		content, err := e.content()
		if err != nil {
			return nil, false, err
		}
		alg := int64(0)
		if e.s.Digest != nil {
			alg = e.s.Digest.Alg
		}
		dg, err := Digest(alg, wrap(content))
		if err != nil {
			return nil, false, err
		}
		if !e.s.Severed {
			manifestChanged = true
		}
		e.s.Severed = true
		e.s.Digest = dg
		e.s.Present = keep
		severed = append(severed, n)
	}
	return severed, manifestChanged, nil
}
