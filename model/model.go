// Package model is the SUIT information model (RFC 9124) in the structure of
// draft-ietf-suit-manifest-37, as plain Go values: no CBOR, no crypto, no I/O.
//
// An Envelope holds the authentication wrapper, the Manifest, severable members and
// integrated payloads. A Manifest holds the Common block (components and the shared
// sequence) and command sequences. Every command and parameter that is not known to
// this package is kept (as its encoded bytes in Raw) and never silently dropped.
package model

// Digest is a SUIT_Digest: a COSE hash algorithm and the digest bytes.
type Digest struct {
	Alg   int64
	Bytes []byte
	// Extensions holds any further array items, encoded, in order.
	Extensions [][]byte
}

// ComponentID is a SUIT_Component_Identifier: a list of byte strings.
type ComponentID [][]byte

// ReportingPolicy is SUIT_Rep_Policy.
type ReportingPolicy uint64

// Envelope is a SUIT_Envelope.
type Envelope struct {
	// Tagged reports (and on encoding, selects) the CBOR tag 107 around the envelope.
	Tagged bool
	// Auth is the authentication wrapper: the digest of the manifest and zero or more
	// authentication blocks (COSE_Sign1/Mac0/..., tagged, each as its encoded bytes).
	Auth *Authentication
	// Manifest is the decoded manifest.
	Manifest *Manifest
	// Integrated are the integrated payloads and dependencies (tstr keys), in key order.
	Integrated []IntegratedPayload
	// Unknown envelope members (keys that are neither registered nor text), kept encoded.
	Unknown []RawMember
}

// Authentication is SUIT_Authentication.
type Authentication struct {
	Digest Digest
	Blocks [][]byte // each a COSE_*_Tagged structure, encoded (without the bstr wrapper)
}

// IntegratedPayload is a payload (or an integrated dependency) carried in the envelope.
type IntegratedPayload struct {
	Key  string // e.g. "#image"
	Data []byte
}

// RawMember is a map member this package does not interpret: its key and value, each encoded.
type RawMember struct {
	Key   []byte
	Value []byte
}

// Manifest is a SUIT_Manifest.
type Manifest struct {
	Version        uint64
	SequenceNumber uint64
	Common         Common
	ReferenceURI   *string
	// ManifestComponentID (trust-domains) names the component that holds this manifest.
	ManifestComponentID ComponentID
	// SetVersion (update-management): the version this manifest installs, nil when absent.
	SetVersion []int64

	Validate  *CommandSequence
	Load      *CommandSequence
	Invoke    *CommandSequence
	Uninstall *CommandSequence // trust-domains

	// Severable members.
	PayloadFetch          SeverableSequence
	Install               SeverableSequence
	DependencyResolution  SeverableSequence // trust-domains
	CandidateVerification SeverableSequence // trust-domains
	Text                  SeverableText
	Coswid                SeverableBytes // update-management; the concise-swid-tag as its bytes

	Unknown []RawMember
}

// Severance says where a severable member lives.
type Severance struct {
	// Severed: the manifest carries only Digest; the content, when Present, sits in the envelope.
	Severed bool
	// Present: the content is available (inline in the manifest, or as a severed envelope member).
	Present bool
	// Digest is the digest found in the manifest for a severed member. On encoding a Present
	// severed member, the digest is recomputed with Digest.Alg (SHA-256 when zero).
	Digest *Digest
}

// Exists reports whether the member is in the manifest at all (inline or as a digest).
func (s Severance) Exists() bool { return s.Present || s.Digest != nil }

// SeverableSequence is a command sequence that may be severed.
type SeverableSequence struct {
	Severance
	Seq *CommandSequence
}

// SeverableText is the text map, which may be severed.
type SeverableText struct {
	Severance
	Text *TextMap
}

// SeverableBytes is a severable member kept as its encoded content (bstr .cbor X, X as bytes).
type SeverableBytes struct {
	Severance
	Bytes []byte
}

// Common is SUIT_Common.
type Common struct {
	Dependencies   []Dependency // trust-domains, by component index
	Components     []ComponentID
	SharedSequence *CommandSequence
	Unknown        []RawMember
}

// Dependency is one entry of suit-dependencies (trust-domains).
type Dependency struct {
	Index  uint64
	Prefix ComponentID // dependency-prefix, nil when absent
	// Unknown members of the dependency metadata map.
	Unknown []RawMember
}

// CommandSequence is SUIT_Command_Sequence.
type CommandSequence struct {
	Commands []Command
}

// Command is one (label, argument) pair of a command sequence.
type Command struct {
	Label int64

	// Policy is the argument of conditions and simple directives (ArgPolicy).
	Policy ReportingPolicy
	// Index is the argument of set-component-index.
	Index *ComponentIndex
	// Params is the argument of override-parameters and set-parameters.
	Params []Parameter
	// Sequences: one entry for run-sequence, the alternatives for try-each (a nil entry is
	// the trailing null alternative).
	Sequences []*CommandSequence
	// Multiple is the argument of override-multiple.
	Multiple []IndexedParams
	// CopyParams is the argument of copy-params.
	CopyParams []IndexedLabels
	// Raw is the encoded argument of an unknown or custom command.
	Raw []byte
}

// ComponentIndex is IndexArg: a single index, true (all components) or a list.
type ComponentIndex struct {
	All     bool
	Indices []uint64 // one entry for a single uint
	List    bool     // encoded as an array (even with one entry)
}

// IndexedParams is one entry of override-multiple.
type IndexedParams struct {
	Index  uint64
	Params []Parameter
}

// IndexedLabels is one entry of copy-params.
type IndexedLabels struct {
	Index  uint64
	Labels []int64
}

// Parameter is one label => value of SUIT_Parameters.
type Parameter struct {
	Label int64
	Value Value
}

// Value is a parameter value. Kind selects the field in use.
type Value struct {
	Kind   ValueKind
	Bytes  []byte  // KindUUID, KindBytes, KindWrapped
	PEN    bool    // KindUUID: a #6.112 CBOR PEN instead of a UUID
	Uint   uint64  // KindUint
	Int    int64   // KindInt
	Bool   bool    // KindBool
	Text   string  // KindText
	Digest *Digest // KindDigest
	Raw    []byte  // KindRaw: encoded CBOR
}

// TextMap is SUIT_Text_Map: one localized map per language tag, in key order.
type TextMap struct {
	Languages []TextLanguage
}

// TextLanguage is SUIT_Text_LMap for one language tag.
type TextLanguage struct {
	Tag        string
	Entries    []TextEntry // manifest-level keys (1..4 and unknown ints)
	Components []ComponentText
	Unknown    []RawMember
}

// TextEntry is one int => tstr pair.
type TextEntry struct {
	Key  int64
	Text string
}

// ComponentText is the text for one component.
type ComponentText struct {
	Component ComponentID
	Entries   []TextEntry
	Unknown   []RawMember
}
