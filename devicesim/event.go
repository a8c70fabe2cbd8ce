package devicesim

import (
	"errors"
	"fmt"
	"time"
)

// Result of one step.
type Result string

const (
	Pass    Result = "pass"
	Fail    Result = "fail"
	Skipped Result = "skipped"
	Info    Result = "info" // a step that is neither a check nor a command (staging, commit, reset)
)

// Event is one step of the device, in the words a person reading the log needs.
type Event struct {
	Step         int           `json:"step"`
	Procedure    string        `json:"procedure"`           // "update", "invocation", "boot", "staging", "rfc4108"
	Sequence     string        `json:"sequence,omitempty"`  // "authentication", "shared", "payload-fetch", "install", "validate", "load", "invoke", ...
	Component    string        `json:"component,omitempty"` // "#0 [h'00'] (image slot)"
	Command      string        `json:"command"`             // command name from the model registry, or a step name
	Argument     string        `json:"argument,omitempty"`  // the argument in words
	Result       Result        `json:"result"`
	Reason       string        `json:"reason,omitempty"`
	BytesRead    int64         `json:"bytes_read"`    // during this step
	BytesWritten int64         `json:"bytes_written"` // during this step
	RAMInUse     int           `json:"ram_in_use"`
	SimTime      time.Duration `json:"sim_time_ns"`     // simulated time since the device was powered on
	Depth        int           `json:"depth,omitempty"` // nesting (try-each / run-sequence)
	// Policy is the command's reporting policy in words ("rec-pass rec-fail sys-pass sys-fail");
	// Reported says the policy asks the reporting engine to record this result (§8.4.5.1).
	Policy   string `json:"policy,omitempty"`
	Reported bool   `json:"reported,omitempty"`
	// Offset is the command's byte offset in the command sequence being run (a SUIT report's
	// suit-record-section-offset); 0 for steps that are not commands.
	Offset int `json:"offset,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("%-10s %-14s %-22s", e.Procedure, e.Sequence, e.Command)
	if e.Component != "" {
		s += " " + e.Component
	}
	if e.Argument != "" {
		s += " " + e.Argument
	}
	s += " -> " + string(e.Result)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Outcome of a run.
type Outcome string

const (
	Applied  Outcome = "applied"   // the manifest was accepted, committed, and the device boots with it
	Refused  Outcome = "refused"   // the device refused the manifest; it still boots what it had
	PowerCut Outcome = "power-cut" // the injected power cut stopped the device
	NoBoot   Outcome = "no-boot"   // committed, but the invocation procedure failed at boot
)

// Record is what the device reports after a run: success, or the failing step.
type Record struct {
	Outcome        Outcome       `json:"outcome"`
	Reason         string        `json:"reason,omitempty"`
	Failure        *Event        `json:"failure,omitempty"`
	Err            error         `json:"-"`
	SequenceNumber uint64        `json:"sequence_number"`    // of the manifest processed (0 when unknown)
	ManifestDigest []byte        `json:"manifest_digest"`    // SHA-256 of the manifest bstr
	Installed      uint64        `json:"installed_sequence"` // stored sequence number afterwards
	Booted         bool          `json:"booted"`
	BootedImage    []byte        `json:"booted_image_digest,omitempty"` // SHA-256 of the invoked component
	BootReason     string        `json:"boot_reason,omitempty"`
	Steps          int           `json:"steps"`
	BytesRead      int64         `json:"bytes_read"`
	BytesWritten   int64         `json:"bytes_written"`
	RAMPeak        int           `json:"ram_peak"`
	RAMBudget      int           `json:"ram_budget"`
	SimTime        time.Duration `json:"sim_time_ns"`
	FlashOps       int           `json:"flash_ops"` // erases + writes during the run
	// Report holds the steps whose reporting policy asks for a record, in order: what the
	// device's reporting engine would send (it is simulator bookkeeping, not charged to RAM).
	Report []Event `json:"report,omitempty"`
}

// Sentinel reasons a device refuses a manifest. Errors returned by the device wrap one of them
// (or ErrMalformed, ErrInsufficientMemory, ErrPowerCut, ErrFlash) in a *StepError.
var (
	ErrNotProvisioned     = errors.New("device not provisioned")
	ErrUnsigned           = errors.New("unsigned envelope")
	ErrManifestDigest     = errors.New("manifest digest mismatch")
	ErrSignature          = errors.New("signature not verified")
	ErrVersion            = errors.New("unsupported manifest version")
	ErrRollback           = errors.New("lower sequence number")
	ErrTooManyComponents  = errors.New("more components than the device supports")
	ErrUnknownComponent   = errors.New("unsupported component identifier")
	ErrUnsupported        = errors.New("unsupported element")
	ErrUnknownCommand     = errors.New("unknown command")
	ErrUnknownParameter   = errors.New("unsupported parameter")
	ErrCondition          = errors.New("condition failed")
	ErrVendorID           = errors.New("vendor identifier mismatch")
	ErrClassID            = errors.New("class identifier mismatch")
	ErrDeviceID           = errors.New("device identifier mismatch")
	ErrPayloadDigest      = errors.New("payload digest mismatch")
	ErrParamUnset         = errors.New("required parameter not set")
	ErrPayloadUnavailable = errors.New("payload not available")
	ErrPayloadTooLarge    = errors.New("payload too large for the slot")
	ErrPayloadSize        = errors.New("payload size differs from image-size")
	ErrSeveredDigest      = errors.New("severed member digest mismatch")
	ErrSeveredMissing     = errors.New("severed member missing")
	ErrDependencies       = errors.New("dependencies not supported")
	ErrAbort              = errors.New("abort")
	ErrEnvelopeTooLarge   = errors.New("envelope too large")
	ErrInvalid            = errors.New("invalid manifest")
)

// StepError is a refusal at a named step.
type StepError struct {
	Procedure string
	Sequence  string
	Command   string
	Reason    string
	Err       error
}

func (e *StepError) Error() string {
	where := e.Procedure
	if e.Sequence != "" {
		where += "/" + e.Sequence
	}
	if e.Command != "" {
		where += "/" + e.Command
	}
	if e.Reason != "" {
		return where + ": " + e.Reason
	}
	return where + ": " + e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }
