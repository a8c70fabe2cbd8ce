package suit

import (
	"fmt"
	"sort"

	"github.com/suit-studio/suit-studio/model"
)

// Validate runs model.Validate and adds the checks that need the encoding: a severed member
// smaller than its digest (§8.4.12: elements smaller than the digest plus 4 bytes SHOULD NOT be
// severable) and elements that cannot be encoded at all.
func Validate(env *model.Envelope) []model.Finding {
	fs := model.Validate(env)
	if env == nil || env.Manifest == nil {
		return fs
	}
	m := env.Manifest
	check := func(name string, s model.Severance, content func() ([]byte, error)) {
		if !s.Severed || !s.Present {
			return
		}
		b, err := content()
		if err != nil {
			return
		}
		item := wrap(b)
		alg := int64(model.AlgSHA256)
		if s.Digest != nil && s.Digest.Alg != 0 {
			alg = s.Digest.Alg
		}
		dg, err := Digest(alg, item)
		if err != nil {
			return
		}
		limit := len(encodeDigest(dg)) + 4
		if len(item) < limit {
			fs = append(fs, model.Finding{Severity: model.Warning, Path: "envelope/manifest/" + name,
				Message: fmt.Sprintf("%s is %d bytes, smaller than its digest (%d bytes) plus 4: severing it makes the manifest larger (§8.4.12)", name, len(item), limit-4),
				Hint:    "keep it in the manifest"})
		}
	}
	seq := func(s *model.CommandSequence) func() ([]byte, error) {
		return func() ([]byte, error) {
			if s == nil {
				return nil, fmt.Errorf("empty")
			}
			return EncodeSequence(s)
		}
	}
	check("payload-fetch", m.PayloadFetch.Severance, seq(m.PayloadFetch.Seq))
	check("install", m.Install.Severance, seq(m.Install.Seq))
	check("dependency-resolution", m.DependencyResolution.Severance, seq(m.DependencyResolution.Seq))
	check("candidate-verification", m.CandidateVerification.Severance, seq(m.CandidateVerification.Seq))
	check("text", m.Text.Severance, func() ([]byte, error) {
		if m.Text.Text == nil {
			return nil, fmt.Errorf("empty")
		}
		return encodeText(m.Text.Text, "text")
	})
	fs = append(fs, umFindings(m)...) // typed update-management values (umvalues.go)
	if _, err := Encode(env); err != nil {
		path := "envelope"
		if ee, ok := err.(*EncodeError); ok {
			path = ee.Path
		}
		fs = append(fs, model.Finding{Severity: model.Error, Path: path, Message: "cannot be encoded: " + err.Error(), Hint: "fix or remove the element"})
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs
}
