package app

// Dependencies (draft-ietf-suit-trust-domains): adding a signed envelope as a dependency of the
// manifest, and reading the manifest hierarchy back.

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// DependencySource says how the device gets a dependency envelope.
type DependencySource struct {
	// URI the device fetches the dependency from. Ignored when Integrate.
	URI string
	// Integrate carries the dependency envelope in this envelope, under "#"+Name.
	Integrate bool
	Name      string
	// Component is the dependency's component identifier; when nil, the dependency's
	// manifest-component-id, else ["dependency", n].
	Component model.ComponentID
}

// AddDependency makes the signed envelope data a dependency of env, as the Dependency Template
// of draft-ietf-suit-trust-domains §8.1 writes it: a new component listed in suit-dependencies;
// in the shared sequence set-component-index and set-parameters with the image digest (the
// dependency's authentication-wrapper digest); in dependency-resolution set-component-index,
// set-parameters with the URI, fetch, dependency-integrity and process-dependency; in validate
// set-component-index, dependency-integrity and process-dependency. It returns the new
// component's index.
func AddDependency(env *model.Envelope, data []byte, src DependencySource) (int, error) {
	if env == nil || env.Manifest == nil {
		return 0, errors.New("the envelope has no manifest")
	}
	dep, err := suit.Decode(data)
	if err != nil {
		return 0, fmt.Errorf("the dependency is not a SUIT envelope: %w", err)
	}
	if dep.Manifest == nil {
		return 0, errors.New("the dependency has no manifest")
	}
	if dep.Auth == nil || len(dep.Auth.Digest.Bytes) == 0 {
		return 0, errors.New("the dependency has no authentication wrapper: sign it with its own key first (each manifest of a hierarchy is signed by its own author)")
	}
	if len(dep.Auth.Blocks) == 0 {
		return 0, errors.New("the dependency is not signed: sign it with its own key first (a device refuses an unsigned dependency at dependency-integrity)")
	}
	v, err := suit.Verify(data, nil)
	if err != nil {
		return 0, fmt.Errorf("cannot check the dependency: %w", err)
	}
	if !v.DigestOK {
		return 0, errors.New("the dependency's manifest does not match the digest of its authentication wrapper: it was changed after signing; sign it again")
	}
	m := env.Manifest
	comp := src.Component
	if comp == nil {
		comp = dep.Manifest.ManifestComponentID
	}
	if comp == nil {
		comp = model.ComponentID{[]byte("dependency"), {byte(len(m.Common.Dependencies))}}
	}
	for _, c := range m.Common.Components {
		if sameComponent(c, comp) {
			return 0, fmt.Errorf("component %s already exists: give the dependency another component identifier", ComponentName(comp))
		}
	}
	uri := strings.TrimSpace(src.URI)
	if src.Integrate {
		name := strings.TrimPrefix(src.Name, "#")
		if name == "" {
			name = fmt.Sprintf("dependency%d", len(m.Common.Dependencies))
		}
		uri = "#" + name
		for _, p := range env.Integrated {
			if p.Key == uri {
				return 0, fmt.Errorf("the envelope already carries %q: choose another name", uri)
			}
		}
		env.Integrated = append(env.Integrated, model.IntegratedPayload{Key: uri, Data: append([]byte(nil), data...)})
		sort.Slice(env.Integrated, func(i, j int) bool {
			a, b := env.Integrated[i].Key, env.Integrated[j].Key
			return len(a) < len(b) || len(a) == len(b) && a < b
		})
	} else if uri == "" {
		return 0, errors.New("a URI is needed for a dependency that is not carried in the envelope")
	}
	// From one component to several: every sequence must now say which component it means.
	if len(m.Common.Components) == 1 {
		for _, s := range allSequences(m) {
			if s != nil && len(s.Commands) > 0 && s.Commands[0].Label != model.DirSetComponentIndex {
				s.Commands = append([]model.Command{model.SetIndex(0)}, s.Commands...)
			}
		}
	}
	n := uint64(len(m.Common.Components))
	m.Common.Components = append(m.Common.Components, append(model.ComponentID(nil), comp...))
	m.Common.Dependencies = append(m.Common.Dependencies, model.Dependency{Index: n})
	d := dep.Auth.Digest
	dg := model.Parameter{Label: model.ParamImageDigest, Value: model.Value{Kind: model.KindDigest,
		Digest: &model.Digest{Alg: d.Alg, Bytes: append([]byte(nil), d.Bytes...)}}}
	if m.Common.SharedSequence == nil {
		m.Common.SharedSequence = &model.CommandSequence{}
	}
	sh := m.Common.SharedSequence
	sh.Commands = append(sh.Commands, model.SetIndex(n), model.Command{Label: model.DirSetParameters, Params: []model.Parameter{dg}})
	if m.DependencyResolution.Seq == nil {
		m.DependencyResolution = model.SeverableSequence{Severance: model.Severance{Present: true}, Seq: &model.CommandSequence{}}
	}
	dr := m.DependencyResolution.Seq
	dr.Commands = append(dr.Commands, model.SetIndex(n),
		model.Command{Label: model.DirSetParameters, Params: []model.Parameter{model.TextParam(model.ParamURI, uri)}},
		model.Cond(model.DirFetch, 2), model.Cond(model.CondDependencyIntegrity, 15), model.Cond(model.DirProcessDependency, 2))
	if m.Validate == nil {
		m.Validate = &model.CommandSequence{}
	}
	m.Validate.Commands = append(m.Validate.Commands, model.SetIndex(n),
		model.Cond(model.CondDependencyIntegrity, 15), model.Cond(model.DirProcessDependency, 2))
	return int(n), nil
}

func allSequences(m *model.Manifest) []*model.CommandSequence {
	return []*model.CommandSequence{m.Common.SharedSequence, m.Validate, m.Load, m.Invoke, m.Uninstall,
		m.PayloadFetch.Seq, m.Install.Seq, m.DependencyResolution.Seq, m.CandidateVerification.Seq}
}

// DependencyNode is one manifest of a hierarchy: the root, or a dependency of its parent.
type DependencyNode struct {
	Index     uint64 // component index in the parent (0 for the root)
	Component model.ComponentID
	Digest    *model.Digest // the image digest the parent sets for it (nil when none found)
	URI       string        // the URI the parent sets for it ("#name" when integrated)
	// Envelope is the dependency, decoded, when the parent carries it (integrated); nil otherwise.
	Envelope *model.Envelope
	Signed   bool // the carried envelope has authentication blocks
	Sequence uint64
	Children []DependencyNode
	Problem  string // why the carried dependency could not be read, or "" when it could
}

// Dependencies reads the manifest hierarchy below env: its dependencies with the digest and URI
// the manifest sets for each, and, for integrated ones, their own dependencies (to depth 8).
func Dependencies(env *model.Envelope) []DependencyNode { return dependencies(env, 0) }

func dependencies(env *model.Envelope, depth int) []DependencyNode {
	if env == nil || env.Manifest == nil || depth > 8 {
		return nil
	}
	m := env.Manifest
	var out []DependencyNode
	for _, d := range m.Common.Dependencies {
		node := DependencyNode{Index: d.Index}
		if int(d.Index) < len(m.Common.Components) {
			node.Component = m.Common.Components[d.Index]
		}
		for _, s := range []*model.CommandSequence{m.Common.SharedSequence, m.DependencyResolution.Seq, m.Install.Seq, m.Validate} {
			paramsFor(s, d.Index, func(p model.Parameter) {
				switch {
				case p.Label == model.ParamImageDigest && p.Value.Digest != nil && node.Digest == nil:
					node.Digest = p.Value.Digest
				case p.Label == model.ParamURI && p.Value.Kind == model.KindText && node.URI == "":
					node.URI = p.Value.Text
				}
			})
		}
		if strings.HasPrefix(node.URI, "#") {
			for _, p := range env.Integrated {
				if p.Key == node.URI {
					de, err := suit.Decode(p.Data)
					if err != nil {
						node.Problem = err.Error()
						break
					}
					node.Envelope = de
					node.Signed = de.Auth != nil && len(de.Auth.Blocks) > 0
					if de.Manifest != nil {
						node.Sequence = de.Manifest.SequenceNumber
					}
					node.Children = dependencies(de, depth+1)
				}
			}
		}
		out = append(out, node)
	}
	return out
}

// paramsFor calls f for each parameter a sequence sets while idx is the current component
// (following set-component-index; try-each alternatives are not followed).
func paramsFor(s *model.CommandSequence, idx uint64, f func(model.Parameter)) {
	if s == nil {
		return
	}
	cur := map[uint64]bool{0: true}
	all := false
	for _, c := range s.Commands {
		switch c.Label {
		case model.DirSetComponentIndex:
			cur, all = map[uint64]bool{}, false
			if c.Index != nil {
				all = c.Index.All
				for _, i := range c.Index.Indices {
					cur[i] = true
				}
			}
		case model.DirSetParameters, model.DirOverrideParameters:
			if all || cur[idx] {
				for _, p := range c.Params {
					f(p)
				}
			}
		case model.DirOverrideMultiple:
			for _, e := range c.Multiple {
				if e.Index == idx {
					for _, p := range e.Params {
						f(p)
					}
				}
			}
		}
	}
}

// DependencyName is a short name for a dependency file: its base name without extension.
func DependencyName(file string) string {
	b := path.Base(strings.ReplaceAll(file, "\\", "/"))
	if i := strings.IndexByte(b, '.'); i > 0 {
		b = b[:i]
	}
	return b
}

// RemoveDependency takes out the dependency at component index idx: its entry in
// suit-dependencies, its component, the commands that act on it (from each set-component-index
// that selects only it to the next set-component-index) and the envelope it integrates. Only the
// last component can go (the indices of the others do not change).
func RemoveDependency(env *model.Envelope, idx uint64) error {
	if env == nil || env.Manifest == nil {
		return errors.New("the envelope has no manifest")
	}
	m := env.Manifest
	k := -1
	for i, d := range m.Common.Dependencies {
		if d.Index == idx {
			k = i
		}
	}
	if k < 0 {
		return fmt.Errorf("component #%d is not a dependency", idx)
	}
	if int(idx) != len(m.Common.Components)-1 {
		return fmt.Errorf("component #%d is not the last component: remove the dependencies after it first (the other components keep their indices)", idx)
	}
	var uri string
	for _, n := range Dependencies(env) {
		if n.Index == idx {
			uri = n.URI
		}
	}
	for _, s := range allSequences(m) {
		if s == nil {
			continue
		}
		out := s.Commands[:0:0]
		skip := false
		for _, c := range s.Commands {
			if c.Label == model.DirSetComponentIndex {
				skip = c.Index != nil && !c.Index.All && len(c.Index.Indices) == 1 && c.Index.Indices[0] == idx
			}
			if !skip {
				out = append(out, c)
			}
		}
		s.Commands = out
	}
	if s := m.DependencyResolution.Seq; s != nil && len(s.Commands) == 0 && len(m.Common.Dependencies) == 1 {
		m.DependencyResolution = model.SeverableSequence{}
	}
	m.Common.Dependencies = append(m.Common.Dependencies[:k], m.Common.Dependencies[k+1:]...)
	if len(m.Common.Dependencies) == 0 {
		m.Common.Dependencies = nil
	}
	m.Common.Components = m.Common.Components[:idx]
	if strings.HasPrefix(uri, "#") {
		out := env.Integrated[:0:0]
		for _, p := range env.Integrated {
			if p.Key != uri {
				out = append(out, p)
			}
		}
		env.Integrated = out
	}
	return nil
}
