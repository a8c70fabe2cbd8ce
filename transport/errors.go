package transport

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of these or is a *DeviceError,
// *FrameError or *MalformedError, so callers can tell them apart with errors.Is / errors.As.
var (
	ErrShortPacket    = errors.New("smp: packet too short")
	ErrLengthMismatch = errors.New("smp: length field does not match the packet")
	ErrTooLarge       = errors.New("smp: packet too large")
	ErrCRC            = errors.New("smp: CRC mismatch")
	ErrBase64         = errors.New("smp: bad base64 in frame")
	ErrFrame          = errors.New("smp: bad frame")
	ErrLineTooLong    = errors.New("smp: line too long")
	ErrTimeout        = errors.New("smp: no reply")
	ErrClosed         = errors.New("smp: connection closed")
	ErrUnplugged      = errors.New("link unplugged")
	ErrNoProgress     = errors.New("smp: upload makes no progress")
	ErrImageMismatch  = errors.New("smp: device's image differs from the one sent")
)

// MGMT_ERR_* codes: the SMP-level result codes (Zephyr's mgmt_defines.h). A v1 response carries
// one of these in "rc"; a v2 response uses them for errors that belong to no group.
const (
	MgmtOK             = 0
	MgmtUnknown        = 1
	MgmtNoMemory       = 2
	MgmtInvalidValue   = 3
	MgmtTimeout        = 4
	MgmtNoEntry        = 5
	MgmtBadState       = 6
	MgmtTooLarge       = 7
	MgmtNotSupported   = 8
	MgmtCorrupt        = 9
	MgmtBusy           = 10
	MgmtAccessDenied   = 11
	MgmtUnsupportedOld = 12
	MgmtUnsupportedNew = 13
)

type codeText struct{ name, words, hint string }

var mgmtCodes = map[int]codeText{
	MgmtOK:             {"MGMT_ERR_EOK", "ok", ""},
	MgmtUnknown:        {"MGMT_ERR_EUNKNOWN", "unknown error", "check the device's log"},
	MgmtNoMemory:       {"MGMT_ERR_ENOMEM", "device is out of memory", "send smaller packets or reset the device"},
	MgmtInvalidValue:   {"MGMT_ERR_EINVAL", "invalid value in the request", "check the command's arguments"},
	MgmtTimeout:        {"MGMT_ERR_ETIMEOUT", "device timed out", "retry"},
	MgmtNoEntry:        {"MGMT_ERR_ENOENT", "no such entry", "check the image or slot number"},
	MgmtBadState:       {"MGMT_ERR_EBADSTATE", "device is in the wrong state for this command", "finish or erase the pending update first"},
	MgmtTooLarge:       {"MGMT_ERR_EMSGSIZE", "message too large for the device", "lower the buffer size or line length"},
	MgmtNotSupported:   {"MGMT_ERR_ENOTSUP", "command not supported by the device", "enable the command group in the device's firmware"},
	MgmtCorrupt:        {"MGMT_ERR_ECORRUPT", "data corrupt", "push the image again"},
	MgmtBusy:           {"MGMT_ERR_EBUSY", "device busy", "retry (a reset may be forced with --force)"},
	MgmtAccessDenied:   {"MGMT_ERR_EACCESSDENIED", "access denied", "the device refuses this command"},
	MgmtUnsupportedOld: {"MGMT_ERR_UNSUPPORTED_TOO_OLD", "protocol version too old for the device", "use SMP version 2"},
	MgmtUnsupportedNew: {"MGMT_ERR_UNSUPPORTED_TOO_NEW", "protocol version too new for the device", "use SMP version 1"},
}

// Image group result codes (Zephyr img_mgmt.h, enum img_mgmt_err_code_t), reported in v2 "err".
const (
	ImgErrUnknown              = 1
	ImgErrFlashConfigQueryFail = 2
	ImgErrNoImage              = 3
	ImgErrNoTLVs               = 4
	ImgErrInvalidTLV           = 5
	ImgErrTLVMultipleHashes    = 6
	ImgErrTLVInvalidSize       = 7
	ImgErrHashNotFound         = 8
	ImgErrNoFreeSlot           = 9
	ImgErrFlashOpenFailed      = 10
	ImgErrFlashReadFailed      = 11
	ImgErrFlashWriteFailed     = 12
	ImgErrFlashEraseFailed     = 13
	ImgErrInvalidSlot          = 14
	ImgErrNoFreeMemory         = 15
	ImgErrFlashContextSet      = 16
	ImgErrFlashContextNotSet   = 17
	ImgErrFlashAreaDeviceNull  = 18
	ImgErrInvalidPageOffset    = 19
	ImgErrInvalidOffset        = 20
	ImgErrInvalidLength        = 21
	ImgErrInvalidImageHeader   = 22
	ImgErrInvalidHeaderMagic   = 23
	ImgErrInvalidHash          = 24
	ImgErrInvalidFlashAddress  = 25
	ImgErrVersionGetFailed     = 26
	ImgErrCurrentVersionNewer  = 27
	ImgErrImageAlreadyPending  = 28
	ImgErrInvalidVectorTable   = 29
	ImgErrImageTooLarge        = 30
	ImgErrDataOverrun          = 31
	ImgErrConfirmationDenied   = 32
	ImgErrTestToActiveDenied   = 33
	ImgErrActiveSlotNotKnown   = 34
)

var imgCodes = map[int]codeText{
	ImgErrUnknown:              {"IMG_MGMT_ERR_UNKNOWN", "unknown image error", "check the device's log"},
	ImgErrFlashConfigQueryFail: {"IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL", "device could not query its flash layout", "check the device's flash configuration"},
	ImgErrNoImage:              {"IMG_MGMT_ERR_NO_IMAGE", "no image in that slot", "upload an image first"},
	ImgErrNoTLVs:               {"IMG_MGMT_ERR_NO_TLVS", "image has no TLVs", "sign the image (imgtool) before uploading"},
	ImgErrInvalidTLV:           {"IMG_MGMT_ERR_INVALID_TLV", "image has an invalid TLV", "rebuild and re-sign the image"},
	ImgErrTLVMultipleHashes:    {"IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND", "image has several hash TLVs", "rebuild and re-sign the image"},
	ImgErrTLVInvalidSize:       {"IMG_MGMT_ERR_TLV_INVALID_SIZE", "image TLV has an invalid size", "rebuild and re-sign the image"},
	ImgErrHashNotFound:         {"IMG_MGMT_ERR_HASH_NOT_FOUND", "no image with that hash", "run 'suit image list' for the hashes the device holds"},
	ImgErrNoFreeSlot:           {"IMG_MGMT_ERR_NO_FREE_SLOT", "no free slot for the image", "erase the candidate slot first"},
	ImgErrFlashOpenFailed:      {"IMG_MGMT_ERR_FLASH_OPEN_FAILED", "device could not open its flash area", "check the device's partitions"},
	ImgErrFlashReadFailed:      {"IMG_MGMT_ERR_FLASH_READ_FAILED", "flash read failed on the device", "retry; the flash may be failing"},
	ImgErrFlashWriteFailed:     {"IMG_MGMT_ERR_FLASH_WRITE_FAILED", "flash write failed on the device", "retry; the flash may be failing"},
	ImgErrFlashEraseFailed:     {"IMG_MGMT_ERR_FLASH_ERASE_FAILED", "flash erase failed on the device", "retry; the flash may be failing"},
	ImgErrInvalidSlot:          {"IMG_MGMT_ERR_INVALID_SLOT", "device has no such image slot", "run 'suit image list' for the slots it has"},
	ImgErrNoFreeMemory:         {"IMG_MGMT_ERR_NO_FREE_MEMORY", "device is out of memory", "reset the device"},
	ImgErrFlashContextSet:      {"IMG_MGMT_ERR_FLASH_CONTEXT_ALREADY_SET", "flash context already set", "reset the device"},
	ImgErrFlashContextNotSet:   {"IMG_MGMT_ERR_FLASH_CONTEXT_NOT_SET", "flash context not set", "reset the device"},
	ImgErrFlashAreaDeviceNull:  {"IMG_MGMT_ERR_FLASH_AREA_DEVICE_NULL", "flash area has no device", "check the device's partitions"},
	ImgErrInvalidPageOffset:    {"IMG_MGMT_ERR_INVALID_PAGE_OFFSET", "invalid flash page offset", "push again from the start"},
	ImgErrInvalidOffset:        {"IMG_MGMT_ERR_INVALID_OFFSET", "invalid upload offset", "push again from the start"},
	ImgErrInvalidLength:        {"IMG_MGMT_ERR_INVALID_LENGTH", "invalid image length", "check the file"},
	ImgErrInvalidImageHeader:   {"IMG_MGMT_ERR_INVALID_IMAGE_HEADER", "image is shorter than an image header", "check the file"},
	ImgErrInvalidHeaderMagic:   {"IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC", "image header magic is wrong", "this device expects an MCUboot image"},
	ImgErrInvalidHash:          {"IMG_MGMT_ERR_INVALID_HASH", "hash does not match", "push the image again"},
	ImgErrInvalidFlashAddress:  {"IMG_MGMT_ERR_INVALID_FLASH_ADDRESS", "image load address does not match the slot", "rebuild the image for this slot"},
	ImgErrVersionGetFailed:     {"IMG_MGMT_ERR_VERSION_GET_FAILED", "device could not read its running version", "check the device's log"},
	ImgErrCurrentVersionNewer:  {"IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER", "device runs a newer version", "raise the version (sequence number) of the update"},
	ImgErrImageAlreadyPending:  {"IMG_MGMT_ERR_IMAGE_ALREADY_PENDING", "an update is already pending", "reset the device to apply it, or erase it"},
	ImgErrInvalidVectorTable:   {"IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE", "image vector table is invalid", "rebuild the image"},
	ImgErrImageTooLarge:        {"IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE", "image too large for the slot", "make the image smaller"},
	ImgErrDataOverrun:          {"IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN", "more data sent than the announced length", "push again from the start"},
	ImgErrConfirmationDenied:   {"IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED", "device refused to confirm the image", "the device rejected the update; see its verdict"},
	ImgErrTestToActiveDenied:   {"IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED", "cannot mark the running image for test", "confirm it instead"},
	ImgErrActiveSlotNotKnown:   {"IMG_MGMT_ERR_ACTIVE_SLOT_NOT_KNOWN", "device does not know its active slot", "check the device's boot loader"},
}

// Zephyr's OS group result codes (os_mgmt.h, enum os_mgmt_err_code_t).
var osCodes = map[int]codeText{
	1: {"OS_MGMT_ERR_UNKNOWN", "unknown OS error", "check the device's log"},
	2: {"OS_MGMT_ERR_INVALID_FORMAT", "invalid format", "check the command's arguments"},
	3: {"OS_MGMT_ERR_QUERY_YIELDS_NO_ANSWER", "query has no answer", ""},
	4: {"OS_MGMT_ERR_RTC_NOT_SET", "device clock not set", ""},
	5: {"OS_MGMT_ERR_RTC_COMMAND_FAILED", "clock command failed", ""},
	6: {"OS_MGMT_ERR_QUERY_RESPONSE_VALUE_NOT_VALID", "query answer not valid", ""},
}

// DeviceError is an error code the device returned. V2 errors name their group; v1 errors
// are MGMT_ERR_* codes.
type DeviceError struct {
	V2       bool
	Group    uint16 // the group of a v2 error
	RC       int
	Reason   string // the device's "rsn", if any
	CmdGroup uint16 // the request's group and command
	Cmd      uint8
}

func (e *DeviceError) text() codeText {
	if !e.V2 {
		if e.RC == MgmtUnknown && e.Reason == "magic mismatch" {
			// Zephyr's verbose reason for IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC, which a v1
			// client only sees as MGMT_ERR_EUNKNOWN: say what it means and what to do.
			t := imgCodes[ImgErrInvalidHeaderMagic]
			return codeText{mgmtCodes[MgmtUnknown].name, t.words, t.hint}
		}
		if t, ok := mgmtCodes[e.RC]; ok {
			return t
		}
		return codeText{fmt.Sprintf("MGMT_ERR %d", e.RC), fmt.Sprintf("device error %d", e.RC), "check the device's log"}
	}
	var table map[int]codeText
	switch e.Group {
	case GroupImage:
		table = imgCodes
	case GroupOS:
		table = osCodes
	}
	if t, ok := table[e.RC]; ok {
		return t
	}
	switch e.Group {
	case GroupImage:
		return codeText{fmt.Sprintf("image group error %d", e.RC), fmt.Sprintf("image group error %d", e.RC), "check the device's log"}
	case GroupOS:
		return codeText{fmt.Sprintf("OS group error %d", e.RC), fmt.Sprintf("OS group error %d", e.RC), "check the device's log"}
	}
	return codeText{fmt.Sprintf("group %d error %d", e.Group, e.RC), fmt.Sprintf("group %d error %d", e.Group, e.RC), "check the device's log"}
}

func (e *DeviceError) Error() string {
	t := e.text()
	s := fmt.Sprintf("%s (%s, rc %d)", t.words, t.name, e.RC)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if t.hint != "" {
		s += ": " + t.hint
	}
	return s
}

// Words is the short description of the code, without name or hint ("device busy").
func (e *DeviceError) Words() string { return e.text().words }

// Hint says what to do about the error.
func (e *DeviceError) Hint() string { return e.text().hint }

// Name is the C name of the code (MGMT_ERR_EBUSY, IMG_MGMT_ERR_NO_FREE_SLOT, ...).
func (e *DeviceError) Name() string { return e.text().name }

// Busy reports whether the device said it was busy: the request may be retried.
func (e *DeviceError) Busy() bool { return !e.V2 && e.RC == MgmtBusy }

// MgmtError returns a v1 (MGMT_ERR_*) device error, for a Device implementation to return.
func MgmtError(rc int, reason string) *DeviceError { return &DeviceError{RC: rc, Reason: reason} }

// ImageError returns an image group error, for a Device implementation to return.
func ImageError(rc int, reason string) *DeviceError {
	return &DeviceError{V2: true, Group: GroupImage, RC: rc, Reason: reason}
}

// legacyCode maps a group error to the MGMT_ERR_* code a v1 response carries: Zephyr's
// img_mgmt_translate_error_code, code for code, so a v1 client sees what a real device sends. The
// detail that the coarse code loses travels in "rsn" (see errorBody).
func (e *DeviceError) legacyCode() int {
	if !e.V2 {
		return e.RC
	}
	if e.Group != GroupImage {
		return MgmtUnknown
	}
	switch e.RC {
	case ImgErrNoImage, ImgErrNoTLVs:
		return MgmtNoEntry
	case ImgErrNoFreeSlot, ImgErrCurrentVersionNewer, ImgErrImageAlreadyPending:
		return MgmtBadState
	case ImgErrNoFreeMemory:
		return MgmtNoMemory
	case ImgErrInvalidSlot, ImgErrInvalidPageOffset, ImgErrInvalidOffset, ImgErrInvalidLength,
		ImgErrInvalidImageHeader, ImgErrInvalidHash, ImgErrInvalidFlashAddress:
		return MgmtInvalidValue
	}
	// FLASH_CONFIG_QUERY_FAIL, VERSION_GET_FAILED, the TLV errors, HASH_NOT_FOUND, the flash and
	// flash-context errors, HEADER_MAGIC, VECTOR_TABLE, TOO_LARGE, DATA_OVERRUN, UNKNOWN and
	// anything newer (TEST_TO_ACTIVE_DENIED, ACTIVE_SLOT_NOT_KNOWN).
	return MgmtUnknown
}

// FrameError is a serial frame the decoder rejected: which line and why.
type FrameError struct {
	Line   int // 1-based line number in the stream, 0 if unknown
	Reason string
	Err    error // one of ErrCRC, ErrBase64, ErrFrame, ErrLineTooLong, ErrTooLarge, ErrLengthMismatch
}

func (e *FrameError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("serial line %d: %s", e.Line, e.Reason)
	}
	return e.Reason
}

func (e *FrameError) Unwrap() error { return e.Err }

// MalformedError is a response whose CBOR body could not be decoded.
type MalformedError struct {
	Group uint16
	ID    uint8
	Seq   uint8
	Err   error
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed reply to group %d command %d (seq %d): %v", e.Group, e.ID, e.Seq, e.Err)
}

func (e *MalformedError) Unwrap() error { return e.Err }
