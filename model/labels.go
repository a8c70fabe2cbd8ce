package model

// Numbers from draft-ietf-suit-manifest-37 (core), draft-ietf-suit-trust-domains (TD),
// draft-ietf-suit-update-management (UM) and draft-ietf-suit-firmware-encryption (FE).
// install is 20 (it was 17 before draft-28); nothing here uses an older numbering.

// Envelope keys (SUIT_Envelope).
const (
	EnvAuthentication        = 2
	EnvManifest              = 3
	EnvCoswid                = 14 // UM, severed
	EnvDependencyResolution  = 15 // TD, severed
	EnvPayloadFetch          = 16 // severed
	EnvCandidateVerification = 18 // TD
	EnvInstall               = 20 // severed
	EnvText                  = 23 // severed
)

// Manifest keys (SUIT_Manifest).
const (
	ManVersion               = 1
	ManSequenceNumber        = 2
	ManCommon                = 3
	ManReferenceURI          = 4
	ManManifestComponentID   = 5 // TD
	ManSetVersion            = 6 // UM
	ManValidate              = 7
	ManLoad                  = 8
	ManInvoke                = 9
	ManCoswid                = 14 // UM, severable
	ManDependencyResolution  = 15 // TD, severable
	ManPayloadFetch          = 16 // severable
	ManCandidateVerification = 18 // TD, severable
	ManInstall               = 20 // severable
	ManText                  = 23 // severable
	ManUninstall             = 24 // TD
)

// Common keys (SUIT_Common).
const (
	CommonDependencies   = 1 // TD
	CommonComponents     = 2
	CommonSharedSequence = 4
)

// Command labels (conditions and directives).
const (
	CondVendorIdentifier    = 1
	CondClassIdentifier     = 2
	CondImageMatch          = 3
	CondUseBefore           = 4 // UM
	CondComponentSlot       = 5
	CondCheckContent        = 6
	CondDependencyIntegrity = 7  // TD
	CondIsDependency        = 8  // TD
	DirProcessDependency    = 11 // TD
	DirSetComponentIndex    = 12
	CondAbort               = 14
	DirTryEach              = 15
	DirWrite                = 18
	DirSetParameters        = 19 // TD
	DirOverrideParameters   = 20
	DirFetch                = 21
	DirCopy                 = 22
	DirInvoke               = 23
	CondDeviceIdentifier    = 24
	CondImageNotMatch       = 25 // UM
	CondMinimumBattery      = 26 // UM
	CondUpdateAuthorized    = 27 // UM
	CondVersion             = 28 // UM
	DirWait                 = 29 // UM
	DirSwap                 = 31
	DirRunSequence          = 32
	DirUnlink               = 33 // TD
	DirOverrideMultiple     = 34 // UM
	DirCopyParams           = 35 // UM
)

// Parameter labels.
const (
	ParamVendorIdentifier  = 1
	ParamClassIdentifier   = 2
	ParamImageDigest       = 3
	ParamUseBefore         = 4 // UM
	ParamComponentSlot     = 5
	ParamStrictOrder       = 12
	ParamSoftFailure       = 13
	ParamImageSize         = 14
	ParamContent           = 18
	ParamEncryptionInfo    = 19 // FE
	ParamURI               = 21
	ParamSourceComponent   = 22
	ParamInvokeArgs        = 23
	ParamDeviceIdentifier  = 24
	ParamFetchArguments    = 25
	ParamMinimumBattery    = 26 // UM
	ParamUpdatePriority    = 27 // UM
	ParamVersion           = 28 // UM
	ParamWaitInfo          = 29 // UM
	ParamComponentMetadata = 30 // UM
)

// Text map keys (SUIT_Text_LMap and the per-component map).
const (
	TextManifestDescription = 1
	TextUpdateDescription   = 2
	TextManifestJSONSource  = 3
	TextManifestYAMLSource  = 4

	TextVendorName           = 1
	TextModelName            = 2
	TextVendorDomain         = 3
	TextModelInfo            = 4
	TextComponentDescription = 5
	TextComponentVersion     = 6
	TextVersionRequired      = 7 // UM
	TextCurrentVersion       = 8 // UM
)

// Reporting policy bits (SUIT_Rep_Policy).
const (
	RecordOnSuccess  ReportingPolicy = 1 << 0
	RecordOnFailure  ReportingPolicy = 1 << 1
	SysinfoOnSuccess ReportingPolicy = 1 << 2
	SysinfoOnFailure ReportingPolicy = 1 << 3
)

// COSE hash algorithms used in SUIT_Digest.
const (
	AlgSHA256   = -16
	AlgSHAKE128 = -18
	AlgSHA384   = -43
	AlgSHA512   = -44
	AlgSHAKE256 = -45
)

// CBOR tags.
const (
	TagEnvelope = 107
	TagManifest = 1070
	TagPEN      = 112
)

// CustomLimit: labels at or below this are private use (custom commands and parameters).
const CustomLimit = -256
