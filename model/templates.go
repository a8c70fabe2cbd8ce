package model

// Template is a starting point for a new manifest: one of the draft's examples (Appendix B),
// built from the templates of §7. Each New() returns a fresh, unsigned envelope equal to the
// example (the image digests are the spec's sample patterns until an image is set).
type Template struct {
	ID          string
	Name        string
	Description string
	New         func() *Envelope
}

// Templates lists the starting points: the draft's examples 0-5, then the
// templates built on the MTI profiles (mti.go).
func Templates() []Template { return append(ExampleTemplates(), MTITemplates()...) }

// ExampleTemplates lists the templates of the draft's examples 0-5, in order.
func ExampleTemplates() []Template {
	return []Template{
		{"secure-boot", "Secure boot", "Check vendor, class and image digest, then boot the image (example 0).", Example0},
		{"download-install", "Download and install", "Fetch the image from a URI into the component and check its digest; no boot (example 1).", Example1},
		{"download-install-boot", "Download, install and boot (severed)", "Fetch, install, check and boot, with install and text severed from the manifest (example 2).", Example2},
		{"ab-slots", "A/B slots", "Pick the image and URI for the free slot A or B with try-each and component-slot (example 3).", Example3},
		{"external-storage", "Load from external storage", "Fetch into external storage, install by copy, then load into RAM and boot (example 4).", Example4},
		{"two-images", "Two images", "Fetch and check two images, boot the first (example 5).", Example5},
	}
}

// TemplateByID returns the template with this ID, or nil.
func TemplateByID(id string) *Template {
	for _, t := range Templates() {
		if t.ID == id {
			t := t
			return &t
		}
	}
	return nil
}

var (
	sampleDigestA = []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	sampleDigestB = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
)

// Command and parameter builders, used by the templates and handy for tests and the editor.

// Cond returns a condition or policy-argument directive with reporting policy p.
func Cond(label int64, p ReportingPolicy) Command { return Command{Label: label, Policy: p} }

// SetIndex returns set-component-index with one index.
func SetIndex(i uint64) Command {
	return Command{Label: DirSetComponentIndex, Index: &ComponentIndex{Indices: []uint64{i}}}
}

// Override returns override-parameters with the given parameters.
func Override(ps ...Parameter) Command { return Command{Label: DirOverrideParameters, Params: ps} }

// TryEach returns try-each over the alternatives.
func TryEach(alts ...*CommandSequence) Command { return Command{Label: DirTryEach, Sequences: alts} }

// Seq returns a command sequence.
func Seq(cs ...Command) *CommandSequence { return &CommandSequence{Commands: cs} }

// UUIDParam returns a vendor, class or device identifier parameter.
func UUIDParam(label int64, id []byte) Parameter {
	return Parameter{Label: label, Value: Value{Kind: KindUUID, Bytes: id}}
}

// DigestParam returns image-digest.
func DigestParam(alg int64, b []byte) Parameter {
	return Parameter{Label: ParamImageDigest, Value: Value{Kind: KindDigest, Digest: &Digest{Alg: alg, Bytes: b}}}
}

// UintParam returns an unsigned parameter (image-size, component-slot, source-component, ...).
func UintParam(label int64, v uint64) Parameter {
	return Parameter{Label: label, Value: Value{Kind: KindUint, Uint: v}}
}

// TextParam returns a text parameter (uri).
func TextParam(label int64, s string) Parameter {
	return Parameter{Label: label, Value: Value{Kind: KindText, Text: s}}
}

func exampleIDs() (vendor, class []byte) {
	vendor = VendorID("arm.com")
	class, _ = ClassID(vendor, "suit")
	return
}

func newEnvelope(seq uint64, components []ComponentID, shared *CommandSequence) *Envelope {
	return &Envelope{
		Tagged: true,
		Auth:   &Authentication{Digest: Digest{Alg: AlgSHA256}},
		Manifest: &Manifest{
			Version:        1,
			SequenceNumber: seq,
			Common:         Common{Components: components, SharedSequence: shared},
		},
	}
}

var comp0 = ComponentID{{0x00}}

// Example0 is secure boot: compatibility check, image-match in validate, invoke.
func Example0() *Envelope {
	v, c := exampleIDs()
	env := newEnvelope(0, []ComponentID{comp0}, Seq(
		Override(UUIDParam(ParamVendorIdentifier, v), UUIDParam(ParamClassIdentifier, c),
			DigestParam(AlgSHA256, sampleDigestA), UintParam(ParamImageSize, 34768)),
		Cond(CondVendorIdentifier, 15), Cond(CondClassIdentifier, 15)))
	env.Manifest.Validate = Seq(Cond(CondImageMatch, 15))
	env.Manifest.Invoke = Seq(Cond(DirInvoke, 2))
	return env
}

// Example1 is download and install.
func Example1() *Envelope {
	env := Example0()
	m := env.Manifest
	m.SequenceNumber = 1
	m.Invoke = nil
	m.Install = SeverableSequence{Severance: Severance{Present: true}, Seq: Seq(
		Override(TextParam(ParamURI, "http://example.com/file.bin")),
		Cond(DirFetch, 2), Cond(CondImageMatch, 15))}
	return env
}

// Example2 is download, install and boot, with install and text severed.
func Example2() *Envelope {
	env := Example0()
	m := env.Manifest
	m.SequenceNumber = 2
	ref := "https://git.io/JJYoj"
	m.ReferenceURI = &ref
	m.Install = SeverableSequence{Severance: Severance{Present: true, Severed: true}, Seq: Seq(
		Override(TextParam(ParamURI, "http://example.com/very/long/path/to/file/file.bin")),
		Cond(DirFetch, 2), Cond(CondImageMatch, 15))}
	m.Text = SeverableText{Severance: Severance{Present: true, Severed: true}, Text: &TextMap{Languages: []TextLanguage{{
		Tag: "en-US",
		Entries: []TextEntry{{TextManifestDescription, "## Example 2: Simultaneous Download, Installation, Secure Boot, Severed Fields\n\n" +
			"    This example covers the following templates:\n    \n" +
			"    * Compatibility Check ({{template-compatibility-check}})\n" +
			"    * Secure Boot ({{template-secure-boot}})\n" +
			"    * Firmware Download ({{firmware-download-template}})\n    \n" +
			"    This example also demonstrates severable elements ({{ovr-severable}}), and text ({{manifest-digest-text}})."}},
		Components: []ComponentText{{Component: comp0, Entries: []TextEntry{
			{TextVendorDomain, "arm.com"},
			{TextComponentDescription, "This component is a demonstration. The digest is a sample pattern, not a real one."}}}},
	}}}}
	return env
}

func slotAlt(slot uint64, ps ...Parameter) *CommandSequence {
	return Seq(Override(UintParam(ParamComponentSlot, slot)), Cond(CondComponentSlot, 5), Override(ps...))
}

// Example3 is A/B images: try-each picks the slot, digest, size and URI.
func Example3() *Envelope {
	v, c := exampleIDs()
	env := newEnvelope(3, []ComponentID{comp0}, Seq(
		Override(UUIDParam(ParamVendorIdentifier, v), UUIDParam(ParamClassIdentifier, c)),
		TryEach(
			slotAlt(0, DigestParam(AlgSHA256, sampleDigestA), UintParam(ParamImageSize, 34768)),
			slotAlt(1, DigestParam(AlgSHA256, sampleDigestB), UintParam(ParamImageSize, 76834))),
		Cond(CondVendorIdentifier, 15), Cond(CondClassIdentifier, 15)))
	m := env.Manifest
	m.Validate = Seq(Cond(CondImageMatch, 15))
	m.Install = SeverableSequence{Severance: Severance{Present: true}, Seq: Seq(
		TryEach(
			slotAlt(0, TextParam(ParamURI, "http://example.com/file1.bin")),
			slotAlt(1, TextParam(ParamURI, "http://example.com/file2.bin"))),
		Cond(DirFetch, 2), Cond(CondImageMatch, 15))}
	return env
}

// Example4 loads from external storage: fetch into [h'01'], install by copy into [h'00'], load
// into [h'02'] and boot it.
func Example4() *Envelope {
	v, c := exampleIDs()
	env := newEnvelope(4, []ComponentID{comp0, {{0x02}}, {{0x01}}}, Seq(
		SetIndex(0),
		Override(UUIDParam(ParamVendorIdentifier, v), UUIDParam(ParamClassIdentifier, c),
			DigestParam(AlgSHA256, sampleDigestA), UintParam(ParamImageSize, 34768)),
		Cond(CondVendorIdentifier, 15), Cond(CondClassIdentifier, 15)))
	m := env.Manifest
	m.Validate = Seq(SetIndex(0), Cond(CondImageMatch, 15))
	m.Load = Seq(SetIndex(2),
		Override(DigestParam(AlgSHA256, sampleDigestB), UintParam(ParamImageSize, 76834), UintParam(ParamSourceComponent, 0)),
		Cond(DirCopy, 2), Cond(CondImageMatch, 15))
	m.Invoke = Seq(SetIndex(2), Cond(DirInvoke, 2))
	m.PayloadFetch = SeverableSequence{Severance: Severance{Present: true}, Seq: Seq(SetIndex(1),
		Override(DigestParam(AlgSHA256, sampleDigestA), TextParam(ParamURI, "http://example.com/file.bin")),
		Cond(DirFetch, 2), Cond(CondImageMatch, 15))}
	m.Install = SeverableSequence{Severance: Severance{Present: true}, Seq: Seq(SetIndex(0),
		Override(UintParam(ParamSourceComponent, 1)),
		Cond(DirCopy, 2), Cond(CondImageMatch, 15))}
	return env
}

// Example5 is two images: fetch and check both, boot the first.
func Example5() *Envelope {
	v, c := exampleIDs()
	env := newEnvelope(5, []ComponentID{comp0, {{0x01}}}, Seq(
		SetIndex(0),
		Override(UUIDParam(ParamVendorIdentifier, v), UUIDParam(ParamClassIdentifier, c),
			DigestParam(AlgSHA256, sampleDigestA), UintParam(ParamImageSize, 34768)),
		Cond(CondVendorIdentifier, 15), Cond(CondClassIdentifier, 15),
		SetIndex(1),
		Override(DigestParam(AlgSHA256, sampleDigestB), UintParam(ParamImageSize, 76834))))
	m := env.Manifest
	m.Validate = Seq(SetIndex(0), Cond(CondImageMatch, 15), SetIndex(1), Cond(CondImageMatch, 15))
	m.Invoke = Seq(SetIndex(0), Cond(DirInvoke, 2))
	m.Install = SeverableSequence{Severance: Severance{Present: true}, Seq: Seq(
		SetIndex(0), Override(TextParam(ParamURI, "http://example.com/file1.bin")), Cond(DirFetch, 2), Cond(CondImageMatch, 15),
		SetIndex(1), Override(TextParam(ParamURI, "http://example.com/file2.bin")), Cond(DirFetch, 2), Cond(CondImageMatch, 15))}
	return env
}
