package transport

import (
	"encoding/binary"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Op is the SMP operation in the low three bits of the header's first byte.
type Op uint8

// SMP operations.
const (
	OpRead     Op = 0
	OpReadRsp  Op = 1
	OpWrite    Op = 2
	OpWriteRsp Op = 3
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpReadRsp:
		return "read response"
	case OpWrite:
		return "write"
	case OpWriteRsp:
		return "write response"
	}
	return fmt.Sprintf("op %d", uint8(o))
}

// IsResponse reports whether o is a response operation.
func (o Op) IsResponse() bool { return o == OpReadRsp || o == OpWriteRsp }

// SMP protocol versions (the two bits above the op).
const (
	Version1 = 0 // legacy: errors as {"rc","rsn"}
	Version2 = 1 // errors as {"err":{"group","rc"}}
)

// Groups and commands used here (Zephyr's mgmt_defines.h, os_mgmt.h, img_mgmt.h).
const (
	GroupOS    uint16 = 0
	GroupImage uint16 = 1

	CmdOSEcho   uint8 = 0
	CmdOSReset  uint8 = 5
	CmdOSParams uint8 = 6

	CmdImageState  uint8 = 0
	CmdImageUpload uint8 = 1
	CmdImageErase  uint8 = 5
)

// HeaderSize is the size of the SMP header.
const HeaderSize = 8

// Header is the 8-byte SMP header. All multi-byte fields are big-endian.
type Header struct {
	Op      Op
	Version uint8 // 0 = v1 (legacy), 1 = v2
	Flags   uint8
	Len     uint16 // length of the CBOR body that follows
	Group   uint16
	Seq     uint8
	ID      uint8 // command within the group
}

// Marshal appends the header's 8 bytes to b.
func (h Header) Marshal(b []byte) []byte {
	b = append(b, (h.Version&3)<<3|uint8(h.Op)&7, h.Flags)
	b = binary.BigEndian.AppendUint16(b, h.Len)
	b = binary.BigEndian.AppendUint16(b, h.Group)
	return append(b, h.Seq, h.ID)
}

// ParseHeader decodes the first 8 bytes of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, an SMP header needs 8", ErrShortPacket, len(b))
	}
	return Header{
		Op:      Op(b[0] & 7),
		Version: (b[0] >> 3) & 3,
		Flags:   b[1],
		Len:     binary.BigEndian.Uint16(b[2:]),
		Group:   binary.BigEndian.Uint16(b[4:]),
		Seq:     b[6],
		ID:      b[7],
	}, nil
}

// Packet is one SMP message: header and CBOR body.
type Packet struct {
	Header
	Body []byte
}

// MarshalPacket returns header || body with the header's length set from body.
func MarshalPacket(h Header, body []byte) ([]byte, error) {
	if len(body) > 0xFFFF {
		return nil, fmt.Errorf("%w: body of %d bytes exceeds the 16-bit length field", ErrTooLarge, len(body))
	}
	h.Len = uint16(len(body))
	b := make([]byte, 0, HeaderSize+len(body))
	return append(h.Marshal(b), body...), nil
}

// ParsePacket decodes an SMP packet and checks that the header's length matches the body.
// The body is not copied.
func ParsePacket(b []byte) (Packet, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return Packet{}, err
	}
	body := b[HeaderSize:]
	if int(h.Len) != len(body) {
		return Packet{}, fmt.Errorf("%w: header says %d body bytes, packet has %d (group %d, command %d, seq %d)",
			ErrLengthMismatch, h.Len, len(body), h.Group, h.ID, h.Seq)
	}
	return Packet{Header: h, Body: body}, nil
}

// The CBOR profile: string keys, definite lengths, limits that stop hostile input early.
var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{Sort: cbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      4096,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthAllowed, // zcbor encoders use indefinite maps
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// marshalCBOR encodes v with the package's CBOR profile.
func marshalCBOR(v any) ([]byte, error) { return encMode.Marshal(v) }

// unmarshalCBOR decodes b into v with the package's CBOR profile.
func unmarshalCBOR(b []byte, v any) error { return decMode.Unmarshal(b, v) }

// statusBody is the part of every response that carries an error, in either form.
type statusBody struct {
	RC  *int    `cbor:"rc,omitempty"`
	RSN *string `cbor:"rsn,omitempty"`
	Err *struct {
		Group uint16 `cbor:"group"`
		RC    int    `cbor:"rc"`
	} `cbor:"err,omitempty"`
}

// ResponseError returns the device's error carried in a response body (v1 "rc"/"rsn" or v2 "err"),
// or nil when the response reports success (no rc, rc 0, or an empty map).
func ResponseError(h Header, body []byte) error {
	var s statusBody
	if err := unmarshalCBOR(body, &s); err != nil {
		return &MalformedError{Group: h.Group, ID: h.ID, Seq: h.Seq, Err: err}
	}
	if s.Err != nil && s.Err.RC != 0 {
		e := &DeviceError{Group: s.Err.Group, RC: s.Err.RC, Cmd: h.ID, CmdGroup: h.Group, V2: true}
		if s.RSN != nil {
			e.Reason = *s.RSN
		}
		return e
	}
	if s.RC != nil && *s.RC != 0 {
		e := &DeviceError{RC: *s.RC, Cmd: h.ID, CmdGroup: h.Group}
		if s.RSN != nil {
			e.Reason = *s.RSN
		}
		return e
	}
	return nil
}
