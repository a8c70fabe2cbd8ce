package model

import (
	"sort"
	"strconv"
)

// ArgKind says what argument a command takes.
type ArgKind int

const (
	ArgPolicy     ArgKind = iota // SUIT_Rep_Policy (uint bits)
	ArgIndex                     // IndexArg: uint / true / [+uint]
	ArgParams                    // { + param => value }
	ArgTryEach                   // [ 2* bstr .cbor SUIT_Command_Sequence, ? nil ]
	ArgSequence                  // bstr .cbor SUIT_Command_Sequence
	ArgMultiple                  // { + uint => { + param => value } }
	ArgCopyParams                // { + uint => [ + int ] }
	ArgRaw                       // unknown or custom: kept as encoded CBOR
)

// CommandInfo describes one registered command.
type CommandInfo struct {
	Label       int64
	Name        string // source-form name (the spec name without its suit-condition-/suit-directive- prefix)
	Condition   bool   // condition (true) or directive (false)
	Arg         ArgKind
	Spec        string // "core", "trust-domains", "update-management"
	Shared      bool   // allowed in the shared sequence
	Description string // plain words, for the UI and the "what it does" view
}

// ValueKind says how a parameter value is encoded.
type ValueKind int

const (
	KindRaw     ValueKind = iota // unknown: encoded CBOR kept as is
	KindUUID                     // bstr .size 16, or #6.112(bstr) CBOR PEN for the vendor id
	KindBytes                    // bstr
	KindUint                     // uint
	KindInt                      // int
	KindBool                     // bool
	KindText                     // tstr
	KindDigest                   // bstr .cbor SUIT_Digest
	KindWrapped                  // bstr .cbor X, X kept as its bytes (encryption-info, version, ...)
)

// ParamInfo describes one registered parameter.
type ParamInfo struct {
	Label       int64
	Name        string
	Kind        ValueKind
	Spec        string
	Description string
}

var commands = []CommandInfo{
	{CondVendorIdentifier, "vendor-identifier", true, ArgPolicy, "core", true, "check the vendor ID"},
	{CondClassIdentifier, "class-identifier", true, ArgPolicy, "core", true, "check the class ID"},
	{CondImageMatch, "image-match", true, ArgPolicy, "core", true, "check the image digest"},
	{CondUseBefore, "use-before", true, ArgPolicy, "update-management", true, "check the manifest is not expired"},
	{CondComponentSlot, "component-slot", true, ArgPolicy, "core", true, "check the component slot"},
	{CondCheckContent, "check-content", true, ArgPolicy, "core", true, "compare the component with the content parameter"},
	{CondDependencyIntegrity, "dependency-integrity", true, ArgPolicy, "trust-domains", true, "verify the dependency manifest"},
	{CondIsDependency, "is-dependency", true, ArgPolicy, "trust-domains", true, "check the component is a dependency"},
	{DirProcessDependency, "process-dependency", false, ArgPolicy, "trust-domains", false, "run the dependency's matching sequence"},
	{DirSetComponentIndex, "set-component-index", false, ArgIndex, "core", true, "select components"},
	{CondAbort, "abort", true, ArgPolicy, "core", true, "abort the procedure"},
	{DirTryEach, "try-each", false, ArgTryEach, "core", true, "try alternatives in order until one succeeds"},
	{DirWrite, "write", false, ArgPolicy, "core", false, "write the content parameter to the component"},
	{DirSetParameters, "set-parameters", false, ArgParams, "trust-domains", true, "set parameters that are not set yet"},
	{DirOverrideParameters, "override-parameters", false, ArgParams, "core", true, "set parameters"},
	{DirFetch, "fetch", false, ArgPolicy, "core", false, "fetch the payload from the URI"},
	{DirCopy, "copy", false, ArgPolicy, "core", false, "copy from the source component"},
	{DirInvoke, "invoke", false, ArgPolicy, "core", false, "boot the component"},
	{CondDeviceIdentifier, "device-identifier", true, ArgPolicy, "core", true, "check the device ID"},
	{CondImageNotMatch, "image-not-match", true, ArgPolicy, "update-management", true, "check the image does not match the digest"},
	{CondMinimumBattery, "minimum-battery", true, ArgPolicy, "update-management", true, "check the battery level"},
	{CondUpdateAuthorized, "update-authorized", true, ArgPolicy, "update-management", true, "check the update is authorized"},
	{CondVersion, "version", true, ArgPolicy, "update-management", true, "check the installed version"},
	{DirWait, "wait", false, ArgPolicy, "update-management", false, "wait for an event"},
	{DirSwap, "swap", false, ArgPolicy, "core", false, "swap with the source component"},
	{DirRunSequence, "run-sequence", false, ArgSequence, "core", true, "run a sub-sequence"},
	{DirUnlink, "unlink", false, ArgPolicy, "trust-domains", false, "unlink the component"},
	{DirOverrideMultiple, "override-multiple", false, ArgMultiple, "update-management", false, "set parameters of several components"},
	{DirCopyParams, "copy-params", false, ArgCopyParams, "update-management", false, "copy parameters from other components"},
}

var params = []ParamInfo{
	{ParamVendorIdentifier, "vendor-identifier", KindUUID, "core", "vendor ID (UUID)"},
	{ParamClassIdentifier, "class-identifier", KindUUID, "core", "class ID (UUID)"},
	{ParamImageDigest, "image-digest", KindDigest, "core", "digest of the image"},
	{ParamUseBefore, "use-before", KindUint, "update-management", "expiry, seconds since 1970 UTC"},
	{ParamComponentSlot, "component-slot", KindUint, "core", "slot index"},
	{ParamStrictOrder, "strict-order", KindBool, "core", "run commands in order"},
	{ParamSoftFailure, "soft-failure", KindBool, "core", "condition failures do not abort"},
	{ParamImageSize, "image-size", KindUint, "core", "size of the image in bytes"},
	{ParamContent, "content", KindBytes, "core", "data for write and check-content"},
	{ParamEncryptionInfo, "encryption-info", KindWrapped, "firmware-encryption", "COSE_Encrypt for the payload"},
	{ParamURI, "uri", KindText, "core", "where to fetch the payload"},
	{ParamSourceComponent, "source-component", KindUint, "core", "component index to copy or swap from"},
	{ParamInvokeArgs, "invoke-args", KindBytes, "core", "arguments for invoke"},
	{ParamDeviceIdentifier, "device-identifier", KindUUID, "core", "device ID (UUID)"},
	{ParamFetchArguments, "fetch-arguments", KindBytes, "core", "arguments for fetch"},
	{ParamMinimumBattery, "minimum-battery", KindUint, "update-management", "minimum battery level in mWh"},
	{ParamUpdatePriority, "update-priority", KindInt, "update-management", "priority (smaller is higher)"},
	{ParamVersion, "version", KindWrapped, "update-management", "version comparison"},
	{ParamWaitInfo, "wait-info", KindWrapped, "update-management", "events to wait for"},
	{ParamComponentMetadata, "component-metadata", KindWrapped, "update-management", "component metadata"},
}

var (
	commandByLabel = map[int64]*CommandInfo{}
	commandByName  = map[string]*CommandInfo{}
	paramByLabel   = map[int64]*ParamInfo{}
	paramByName    = map[string]*ParamInfo{}
)

func init() {
	for i := range commands {
		commandByLabel[commands[i].Label] = &commands[i]
		commandByName[commands[i].Name] = &commands[i]
	}
	for i := range params {
		paramByLabel[params[i].Label] = &params[i]
		paramByName[params[i].Name] = &params[i]
	}
}

// LookupCommand returns the registered command with this label, or nil.
func LookupCommand(label int64) *CommandInfo { return commandByLabel[label] }

// CommandByName returns the registered command with this source-form name, or nil.
func CommandByName(name string) *CommandInfo { return commandByName[name] }

// LookupParam returns the registered parameter with this label, or nil.
func LookupParam(label int64) *ParamInfo { return paramByLabel[label] }

// ParamByName returns the registered parameter with this source-form name, or nil.
func ParamByName(name string) *ParamInfo { return paramByName[name] }

// Commands lists every registered command, by label.
func Commands() []CommandInfo {
	out := append([]CommandInfo(nil), commands...)
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// Params lists every registered parameter, by label.
func Params() []ParamInfo {
	out := append([]ParamInfo(nil), params...)
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// CommandName gives the source-form name of a command label, "custom(-300)" or "unknown(99)" otherwise.
func CommandName(label int64) string {
	if c := commandByLabel[label]; c != nil {
		return c.Name
	}
	return unknownName(label)
}

// ParamName gives the source-form name of a parameter label.
func ParamName(label int64) string {
	if p := paramByLabel[label]; p != nil {
		return p.Name
	}
	return unknownName(label)
}

func unknownName(label int64) string {
	if label <= CustomLimit {
		return "custom(" + strconv.FormatInt(label, 10) + ")"
	}
	return "unknown(" + strconv.FormatInt(label, 10) + ")"
}

// TextManifestNames names the manifest-level keys of SUIT_Text_LMap (the CDDL names without suit-text-).
var TextManifestNames = map[int64]string{
	TextManifestDescription: "manifest-description",
	TextUpdateDescription:   "update-description",
	TextManifestJSONSource:  "manifest-json-source",
	TextManifestYAMLSource:  "manifest-yaml-source",
}

// TextComponentNames names the keys of a component's text map.
var TextComponentNames = map[int64]string{
	TextVendorName:           "vendor-name",
	TextModelName:            "model-name",
	TextVendorDomain:         "vendor-domain",
	TextModelInfo:            "model-info",
	TextComponentDescription: "component-description",
	TextComponentVersion:     "component-version",
	TextVersionRequired:      "version-required",
	TextCurrentVersion:       "current-version",
}

// TextKeyName names a text map key (component: a key of a component's map), or gives its number.
func TextKeyName(key int64, component bool) string {
	names := TextManifestNames
	if component {
		names = TextComponentNames
	}
	if n, ok := names[key]; ok {
		return n
	}
	return strconv.FormatInt(key, 10)
}
