// Package report encodes, signs, decodes and verifies SUIT reports as specified by
// draft-ietf-suit-report-18 (suit-wg/suit-report at 8c0426b, February 2026):
//
//	SUIT_Report = {
//	  suit-reference        (99) => [ suit-report-manifest-uri: tstr, suit-report-manifest-digest: SUIT_Digest ],
//	  ? suit-report-nonce    (2) => bstr,
//	  suit-report-records    (3) => [ * SUIT_Record / system-property-claims ],
//	  suit-report-result     (4) => true / {
//	    suit-report-result-code   (5) => int,
//	    suit-report-result-record (6) => SUIT_Record,
//	    suit-report-result-reason (7) => SUIT_Report_Reasons,
//	  },
//	  ? suit-report-capability-report (8) => SUIT_Capability_Report,
//	}
//	SUIT_Record = [ manifest-id: [* uint], manifest-section: int, section-offset: uint,
//	                component-index: uint, properties: {* SUIT_Parameters} ]
//	system-property-claims = { system-component-id (0) => SUIT_Component_Identifier, + SUIT_Parameters }
//
// and carried, as §6 of the draft requires, in a COSE_Sign1_Tagged whose payload is the
// encoded SUIT_Report (attached), signed with the device's key.
package report

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"

	"github.com/suit-studio/suit-studio/codec/cose"
)

// Map keys of SUIT_Report and its result (draft-ietf-suit-report-18 §10).
const (
	KeyNonce          = 2
	KeyRecords        = 3
	KeyResult         = 4
	KeyResultCode     = 5
	KeyResultRecord   = 6
	KeyResultReason   = 7
	KeyCapabilities   = 8
	KeyReference      = 99
	SystemComponentID = 0
)

// Reason is a SUIT_Report_Reasons value.
type Reason int64

// The reasons of draft-ietf-suit-report-18 §4.2.
const (
	ReasonOK                    Reason = 0
	ReasonCBORParse             Reason = 1
	ReasonCOSEUnsupported       Reason = 2
	ReasonAlgUnsupported        Reason = 3
	ReasonUnauthorised          Reason = 4
	ReasonCommandUnsupported    Reason = 5
	ReasonComponentUnsupported  Reason = 6
	ReasonComponentUnauthorised Reason = 7
	ReasonParameterUnsupported  Reason = 8
	ReasonSeveringUnsupported   Reason = 9
	ReasonConditionFailed       Reason = 10
	ReasonOperationFailed       Reason = 11
	ReasonInvokePending         Reason = 12
)

var reasonNames = map[Reason]string{
	ReasonOK: "ok", ReasonCBORParse: "cbor-parse", ReasonCOSEUnsupported: "cose-unsupported",
	ReasonAlgUnsupported: "alg-unsupported", ReasonUnauthorised: "unauthorised",
	ReasonCommandUnsupported: "command-unsupported", ReasonComponentUnsupported: "component-unsupported",
	ReasonComponentUnauthorised: "component-unauthorised", ReasonParameterUnsupported: "parameter-unsupported",
	ReasonSeveringUnsupported: "severing-unsupported", ReasonConditionFailed: "condition-failed",
	ReasonOperationFailed: "operation-failed", ReasonInvokePending: "invoke-pending",
}

func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return "suit-report-reason-" + n
	}
	return fmt.Sprintf("reason(%d)", int64(r))
}

// Record is a SUIT_Record: where in the manifest a decision was taken.
type Record struct {
	ManifestID []uint64 // empty: the root manifest
	Section    int64    // the manifest key of the command sequence (7 validate, 16 payload-fetch, 20 install, ...)
	Offset     uint64   // bytes into that command sequence
	Component  uint64   // the component index
	// Properties are the measured SUIT_Parameters (label → encoded value).
	Properties map[int64]cbor.RawMessage
}

// SystemProperties is a system-property-claims map: measured properties of one component.
type SystemProperties struct {
	Component  [][]byte // SUIT_Component_Identifier
	Properties map[int64]cbor.RawMessage
}

// Report is a SUIT_Report.
type Report struct {
	ManifestURI       string
	ManifestDigestAlg int64 // COSE algorithm, -16 for SHA-256
	ManifestDigest    []byte
	Nonce             []byte // nil when absent
	Records           []Record
	Properties        []SystemProperties
	Success           bool // suit-report-result is true
	ResultCode        int64
	ResultRecord      Record
	ResultReason      Reason
	// Capabilities is the encoded SUIT_Capability_Report when present (kept, not interpreted).
	Capabilities cbor.RawMessage
}

// ErrMalformed is the sentinel for a report that does not follow the CDDL.
var ErrMalformed = errors.New("malformed SUIT report")

// ErrSignature is the sentinel for a report whose signature does not verify.
var ErrSignature = errors.New("SUIT report signature does not verify")

var (
	encMode, _ = cbor.CoreDetEncOptions().EncMode()
	decMode, _ = cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, MaxNestedLevels: 16, MaxArrayElements: 4096, MaxMapPairs: 256}.DecMode()
)

func malformed(where, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, where, fmt.Sprintf(format, args...))
}

func (r Record) value() []any {
	id := r.ManifestID
	if id == nil {
		id = []uint64{}
	}
	props := r.Properties
	if props == nil {
		props = map[int64]cbor.RawMessage{}
	}
	return []any{id, r.Section, r.Offset, r.Component, props}
}

// Encode returns the deterministic CBOR encoding of the SUIT_Report.
func (r *Report) Encode() ([]byte, error) {
	m := map[int64]any{
		KeyReference: []any{r.ManifestURI, []any{r.ManifestDigestAlg, r.ManifestDigest}},
	}
	if r.Nonce != nil {
		m[KeyNonce] = r.Nonce
	}
	recs := []any{}
	for _, rec := range r.Records {
		recs = append(recs, rec.value())
	}
	for _, sp := range r.Properties {
		pm := map[int64]any{SystemComponentID: sp.Component}
		for k, v := range sp.Properties {
			if k == SystemComponentID {
				return nil, fmt.Errorf("system-property-claims: parameter label 0 is the component identifier")
			}
			pm[k] = v
		}
		recs = append(recs, pm)
	}
	m[KeyRecords] = recs
	if r.Success {
		m[KeyResult] = true
	} else {
		m[KeyResult] = map[int64]any{KeyResultCode: r.ResultCode, KeyResultRecord: r.ResultRecord.value(), KeyResultReason: int64(r.ResultReason)}
	}
	if r.Capabilities != nil {
		m[KeyCapabilities] = r.Capabilities
	}
	return encMode.Marshal(m)
}

// Decode parses an encoded SUIT_Report.
func Decode(b []byte) (*Report, error) {
	var m map[int64]cbor.RawMessage
	if err := decMode.Unmarshal(b, &m); err != nil {
		return nil, malformed("SUIT_Report", "not a map with integer keys: %v", err)
	}
	r := &Report{}
	ref, ok := m[KeyReference]
	if !ok {
		return nil, malformed("SUIT_Report", "suit-reference (99) is missing")
	}
	var refArr []cbor.RawMessage
	if err := decMode.Unmarshal(ref, &refArr); err != nil || len(refArr) != 2 {
		return nil, malformed("suit-reference", "want [manifest-uri, manifest-digest]")
	}
	if err := decMode.Unmarshal(refArr[0], &r.ManifestURI); err != nil {
		return nil, malformed("suit-reference/manifest-uri", "not a text string")
	}
	var dig []cbor.RawMessage
	if err := decMode.Unmarshal(refArr[1], &dig); err != nil || len(dig) != 2 ||
		decMode.Unmarshal(dig[0], &r.ManifestDigestAlg) != nil || decMode.Unmarshal(dig[1], &r.ManifestDigest) != nil {
		return nil, malformed("suit-reference/manifest-digest", "want a SUIT_Digest [algorithm-id, bytes]")
	}
	if n, ok := m[KeyNonce]; ok {
		if err := decMode.Unmarshal(n, &r.Nonce); err != nil {
			return nil, malformed("suit-report-nonce", "not a byte string")
		}
		if r.Nonce == nil {
			r.Nonce = []byte{}
		}
	}
	rawRecs, ok := m[KeyRecords]
	if !ok {
		return nil, malformed("SUIT_Report", "suit-report-records (3) is missing")
	}
	var recs []cbor.RawMessage
	if err := decMode.Unmarshal(rawRecs, &recs); err != nil {
		return nil, malformed("suit-report-records", "not an array")
	}
	for i, raw := range recs {
		where := fmt.Sprintf("suit-report-records[%d]", i)
		switch raw[0] >> 5 {
		case 4:
			rec, err := decodeRecord(raw, where)
			if err != nil {
				return nil, err
			}
			r.Records = append(r.Records, rec)
		case 5:
			var pm map[int64]cbor.RawMessage
			if err := decMode.Unmarshal(raw, &pm); err != nil {
				return nil, malformed(where, "system-property-claims: %v", err)
			}
			sp := SystemProperties{Properties: map[int64]cbor.RawMessage{}}
			cid, ok := pm[SystemComponentID]
			if !ok || decMode.Unmarshal(cid, &sp.Component) != nil {
				return nil, malformed(where, "system-property-claims needs system-component-id (0) => SUIT_Component_Identifier")
			}
			for k, v := range pm {
				if k != SystemComponentID {
					sp.Properties[k] = v
				}
			}
			if len(sp.Properties) == 0 {
				return nil, malformed(where, "system-property-claims needs at least one SUIT_Parameters entry")
			}
			r.Properties = append(r.Properties, sp)
		default:
			return nil, malformed(where, "neither a SUIT_Record (array) nor system-property-claims (map)")
		}
	}
	res, ok := m[KeyResult]
	if !ok {
		return nil, malformed("SUIT_Report", "suit-report-result (4) is missing")
	}
	if bytes.Equal(res, []byte{0xf5}) {
		r.Success = true
	} else {
		var rm map[int64]cbor.RawMessage
		if err := decMode.Unmarshal(res, &rm); err != nil {
			return nil, malformed("suit-report-result", "want true or a map")
		}
		var reason int64
		c, ok1 := rm[KeyResultCode]
		rr, ok2 := rm[KeyResultRecord]
		rs, ok3 := rm[KeyResultReason]
		if !ok1 || !ok2 || !ok3 || decMode.Unmarshal(c, &r.ResultCode) != nil || decMode.Unmarshal(rs, &reason) != nil {
			return nil, malformed("suit-report-result", "needs result-code (5) int, result-record (6) and result-reason (7) int")
		}
		rec, err := decodeRecord(rr, "suit-report-result/result-record")
		if err != nil {
			return nil, err
		}
		r.ResultRecord, r.ResultReason = rec, Reason(reason)
	}
	if c, ok := m[KeyCapabilities]; ok {
		r.Capabilities = c
	}
	return r, nil
}

func decodeRecord(raw []byte, where string) (Record, error) {
	var arr []cbor.RawMessage
	var rec Record
	if err := decMode.Unmarshal(raw, &arr); err != nil || len(arr) < 5 {
		return rec, malformed(where, "a SUIT_Record is [manifest-id, manifest-section, section-offset, component-index, properties]")
	}
	if err := decMode.Unmarshal(arr[0], &rec.ManifestID); err != nil {
		return rec, malformed(where+"/manifest-id", "not an array of uint")
	}
	if err := decMode.Unmarshal(arr[1], &rec.Section); err != nil {
		return rec, malformed(where+"/manifest-section", "not an int")
	}
	if err := decMode.Unmarshal(arr[2], &rec.Offset); err != nil {
		return rec, malformed(where+"/section-offset", "not a uint")
	}
	if err := decMode.Unmarshal(arr[3], &rec.Component); err != nil {
		return rec, malformed(where+"/component-index", "not a uint")
	}
	if err := decMode.Unmarshal(arr[4], &rec.Properties); err != nil {
		return rec, malformed(where+"/properties", "not a SUIT_Parameters map")
	}
	return rec, nil
}

// Sign encodes r and wraps it in a COSE_Sign1_Tagged with the payload attached (draft §6),
// signed by key with the COSE algorithm alg; kid names the device key.
func Sign(r *Report, rand io.Reader, key crypto.Signer, alg int64, kid []byte) ([]byte, error) {
	payload, err := r.Encode()
	if err != nil {
		return nil, err
	}
	// The Sig_structure is the same for an attached and a detached payload: sign detached, then
	// put the payload in.
	det, err := cose.Sign1(rand, key, alg, kid, payload)
	if err != nil {
		return nil, err
	}
	m, err := cose.Parse(det)
	if err != nil {
		return nil, err
	}
	return encMode.Marshal(cbor.Tag{Number: cose.TagSign1, Content: []any{m.Protected, map[int64]any{}, payload, m.Signature}})
}

// Signed is a verified (or not) signed report.
type Signed struct {
	Report *Report
	KID    []byte
	Alg    int64
}

// Parse decodes a COSE_Sign1_Tagged SUIT report without verifying it (to find its kid).
func Parse(b []byte) (*Signed, *cose.Message, error) {
	m, err := cose.Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: not a COSE_Sign1: %v", ErrMalformed, err)
	}
	if m.Tag != cose.TagSign1 || m.PayloadDetached {
		return nil, nil, malformed("SUIT_Report_Protected", "want a COSE_Sign1_Tagged with the SUIT_Report as its payload")
	}
	r, err := Decode(m.Payload)
	if err != nil {
		return nil, nil, err
	}
	return &Signed{Report: r, KID: m.KID, Alg: m.Alg}, m, nil
}

// Verify parses a signed report and checks its signature with pub.
func Verify(b []byte, pub crypto.PublicKey) (*Signed, error) {
	s, m, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if err := m.VerifySignature(pub, nil); err != nil {
		return s, fmt.Errorf("%w (kid %x): %v", ErrSignature, s.KID, err)
	}
	return s, nil
}
