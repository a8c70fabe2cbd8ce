package app

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/suit-studio/suit-studio/model"
)

// Template leftovers: values a template (the draft's examples) put into a new manifest that the
// user has not replaced. They are valid, so validation alone says nothing, but they are wrong for
// the user's device: text that names arm.com for an example.com device, the examples' reference
// URI, their sample image digests. Each is a warning with a fix the editor offers in one click.

// LeftoverKind says what a template leftover is.
type LeftoverKind int

const (
	// LeftoverVendorText is a text vendor-domain (or model-info) that does not give the
	// manifest's vendor ID (class ID). Fix: write the domain (model) the IDs came from, or remove it.
	LeftoverVendorText LeftoverKind = iota + 1
	// LeftoverSampleText is a description copied from a template. Fix: remove it.
	LeftoverSampleText
	// LeftoverReferenceURI is the examples' reference URI. Fix: remove it.
	LeftoverReferenceURI
	// LeftoverSampleDigest is an image digest that is one of the examples' sample patterns, not
	// the digest of a real image. Fix: set the component's image.
	LeftoverSampleDigest
)

// Leftover is one template leftover: a warning finding and what its fix touches.
type Leftover struct {
	model.Finding
	Kind LeftoverKind
	// Comp is the component (-1: the manifest's own text); Key the text key; Lang the language.
	Comp int
	Key  int64
	Lang int
	// Fix says in a few words what the one-click fix does ("Remove the reference URI").
	Fix string
}

// templateSamples are the values the templates use, gathered from the templates themselves so
// that a new template is covered without a list to keep up to date.
type templateSamples struct {
	digests [][]byte
	refs    map[string]bool
	texts   map[string]bool
	domains map[string]bool
}

func gatherSamples() templateSamples {
	s := templateSamples{refs: map[string]bool{}, texts: map[string]bool{}, domains: map[string]bool{}}
	for _, t := range model.Templates() {
		env := t.New()
		m := env.Manifest
		if m.ReferenceURI != nil {
			s.refs[*m.ReferenceURI] = true
		}
		for c := range m.Common.Components {
			forEachOverride(m, c, func(cmd *model.Command) {
				for _, p := range cmd.Params {
					if p.Label == model.ParamImageDigest && p.Value.Digest != nil {
						s.digests = append(s.digests, p.Value.Digest.Bytes)
					}
				}
			})
		}
		if m.Text.Text == nil {
			continue
		}
		for _, l := range m.Text.Text.Languages {
			for _, e := range l.Entries {
				s.texts[e.Text] = true
			}
			for _, ct := range l.Components {
				for _, e := range ct.Entries {
					if e.Key == model.TextVendorDomain {
						s.domains[e.Text] = true
					} else {
						s.texts[e.Text] = true
					}
				}
			}
		}
	}
	return s
}

// samples are the templates' sample values, gathered on first use rather than when any command starts.
var samples = sync.OnceValue(gatherSamples)

// IsSampleDigest tells whether b is one of the templates' sample image digests.
func IsSampleDigest(b []byte) bool {
	for _, d := range samples().digests {
		if bytes.Equal(d, b) {
			return true
		}
	}
	return false
}

// TemplateLeftovers finds the template leftovers of env.
func TemplateLeftovers(env *model.Envelope) []Leftover {
	if env == nil || env.Manifest == nil {
		return nil
	}
	m := env.Manifest
	var out []Leftover
	add := func(l Leftover) {
		l.Severity = model.Warning
		out = append(out, l)
	}
	if m.ReferenceURI != nil && samples().refs[*m.ReferenceURI] {
		add(Leftover{Finding: model.Finding{Path: "envelope/manifest/reference-uri",
			Message: fmt.Sprintf("the reference URI %s is the template's sample", *m.ReferenceURI),
			Hint:    "give the URI where this manifest will be published, or remove it"},
			Kind: LeftoverReferenceURI, Comp: -1, Fix: "Remove the reference URI"})
	}
	for c := range m.Common.Components {
		if dg, _, _ := ImageOf(env, c); dg != nil && IsSampleDigest(dg.Bytes) {
			add(Leftover{Finding: model.Finding{Path: fmt.Sprintf("envelope/manifest/common/components/%d", c),
				Message: fmt.Sprintf("component %d's image digest is the template's sample pattern, not the digest of an image", c),
				Hint:    "set the component's firmware image (drop the file on the component)"},
				Kind: LeftoverSampleDigest, Comp: c, Fix: "Choose the image…"})
		}
	}
	if m.Text.Text == nil {
		return out
	}
	vendor, class := Identity(env)
	for li, l := range m.Text.Text.Languages {
		for _, e := range l.Entries {
			if samples().texts[e.Text] {
				add(Leftover{Finding: model.Finding{Path: "envelope/manifest/text",
					Message: fmt.Sprintf("the %s text is the template's sample (%q)", model.TextKeyName(e.Key, false), clip(e.Text)),
					Hint:    "describe this update, or remove the text"},
					Kind: LeftoverSampleText, Comp: -1, Key: e.Key, Lang: li, Fix: "Remove this text"})
			}
		}
		for _, ct := range l.Components {
			comp := componentIndex(m, ct.Component)
			var domain string
			for _, e := range ct.Entries {
				if e.Key == model.TextVendorDomain {
					domain = strings.TrimSpace(e.Text)
				}
			}
			for _, e := range ct.Entries {
				leftover := Leftover{Kind: LeftoverVendorText, Comp: comp, Key: e.Key, Lang: li}
				leftover.Path = "envelope/manifest/text"
				switch {
				case e.Key == model.TextVendorDomain && vendor != nil && !bytes.Equal(model.VendorID(strings.TrimSpace(e.Text)), vendor):
					leftover.Message = fmt.Sprintf("the text names the vendor %q, but the manifest's vendor ID is not derived from it", e.Text)
					leftover.Hint = "write the vendor domain the vendor ID came from"
					leftover.Fix = "Correct the vendor text"
				case e.Key == model.TextModelInfo && class != nil && domain != "" && vendor != nil &&
					bytes.Equal(model.VendorID(domain), vendor) && !classFrom(vendor, e.Text, class):
					leftover.Message = fmt.Sprintf("the text names the model %q, but the manifest's class ID is not derived from it", e.Text)
					leftover.Hint = "write the model name the class ID came from"
					leftover.Fix = "Correct the model text"
				case e.Key != model.TextVendorDomain && samples().texts[e.Text]:
					leftover.Kind = LeftoverSampleText
					leftover.Message = fmt.Sprintf("the %s text of component %d is the template's sample (%q)", model.TextKeyName(e.Key, true), comp, clip(e.Text))
					leftover.Hint = "describe the component, or remove the text"
					leftover.Fix = "Remove this text"
				default:
					continue
				}
				add(leftover)
			}
		}
	}
	return out
}

func classFrom(vendor []byte, modelName string, class []byte) bool {
	c, err := model.ClassID(vendor, strings.TrimSpace(modelName))
	return err == nil && bytes.Equal(c, class)
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > 48 {
		return string(r[:47]) + "…"
	}
	return s
}

func componentIndex(m *model.Manifest, id model.ComponentID) int {
	for i, c := range m.Common.Components {
		if sameComponent(c, id) {
			return i
		}
	}
	return -1
}

// FixLeftover applies l's fix to env: it removes the sample reference URI or text, and for a
// vendor or model text that does not match the IDs, writes domain or modelName when they give
// the IDs, or removes the text otherwise. A sample digest has no fix here (the image is needed):
// it returns an error saying so.
func FixLeftover(env *model.Envelope, l Leftover, domain, modelName string) error {
	if env == nil || env.Manifest == nil {
		return fmt.Errorf("the envelope has no manifest")
	}
	m := env.Manifest
	switch l.Kind {
	case LeftoverReferenceURI:
		m.ReferenceURI = nil
		return nil
	case LeftoverSampleDigest:
		return fmt.Errorf("component %d needs its firmware image: choose the file", l.Comp)
	case LeftoverSampleText, LeftoverVendorText:
	default:
		return fmt.Errorf("unknown leftover kind %d", l.Kind)
	}
	if m.Text.Text == nil || l.Lang < 0 || l.Lang >= len(m.Text.Text.Languages) {
		return fmt.Errorf("the text is no longer there")
	}
	lang := &m.Text.Text.Languages[l.Lang]
	entries := &lang.Entries
	if l.Comp >= 0 {
		entries = nil
		for k := range lang.Components {
			if l.Comp < len(m.Common.Components) && componentIndex(m, lang.Components[k].Component) == l.Comp {
				entries = &lang.Components[k].Entries
			}
		}
		if entries == nil {
			return fmt.Errorf("the text of component %d is no longer there", l.Comp)
		}
	}
	replacement := ""
	if l.Kind == LeftoverVendorText {
		vendor, class := Identity(env)
		switch {
		case l.Key == model.TextVendorDomain && strings.TrimSpace(domain) != "" && bytes.Equal(model.VendorID(strings.TrimSpace(domain)), vendor):
			replacement = strings.TrimSpace(domain)
		case l.Key == model.TextModelInfo && strings.TrimSpace(modelName) != "" && classFrom(vendor, modelName, class):
			replacement = strings.TrimSpace(modelName)
		}
	}
	for i, e := range *entries {
		if e.Key == l.Key {
			if replacement != "" {
				(*entries)[i].Text = replacement
			} else {
				*entries = append((*entries)[:i], (*entries)[i+1:]...)
			}
			return nil
		}
	}
	return fmt.Errorf("the text is no longer there")
}

// SyncIdentityText rewrites the vendor-domain and model-info texts that are present so that they
// name domain and modelName (after "Set vendor and class IDs" from them). Texts that are absent
// stay absent.
func SyncIdentityText(env *model.Envelope, domain, modelName string) {
	if env == nil || env.Manifest == nil || env.Manifest.Text.Text == nil {
		return
	}
	domain, modelName = strings.TrimSpace(domain), strings.TrimSpace(modelName)
	for li := range env.Manifest.Text.Text.Languages {
		l := &env.Manifest.Text.Text.Languages[li]
		for ci := range l.Components {
			for ei := range l.Components[ci].Entries {
				e := &l.Components[ci].Entries[ei]
				switch {
				case e.Key == model.TextVendorDomain && domain != "":
					e.Text = domain
				case e.Key == model.TextModelInfo && modelName != "":
					e.Text = modelName
				}
			}
		}
	}
}
