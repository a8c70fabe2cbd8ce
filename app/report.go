package app

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/suit-studio/suit-studio/codec/report"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/netfw"
	"github.com/suit-studio/suit-studio/signer"
)

// sectionKeys maps the simulator's sequence names to the manifest keys a SUIT_Record names
// (draft-ietf-suit-report-18 §3). Commands of the shared sequence are recorded under
// suit-common (3), with their offset in the shared sequence; steps outside any command sequence
// (authentication, the commit) under the authentication wrapper (2) at offset 0.
var sectionKeys = map[string]int64{
	"validate": model.ManValidate, "load": model.ManLoad, "invoke": model.ManInvoke,
	"payload-fetch": model.ManPayloadFetch, "install": model.ManInstall, "shared": model.ManCommon,
	"authentication": 2,
}

var sectionNamesByKey = map[int64]string{}

func init() {
	for n, k := range sectionKeys {
		sectionNamesByKey[k] = n
	}
	sectionNamesByKey[model.ManCommon] = "shared"
}

// reasonOf maps the device's refusal to the draft's reasons (§4.2).
func reasonOf(err error) report.Reason {
	switch {
	case errors.Is(err, devicesim.ErrUnsigned), errors.Is(err, devicesim.ErrSignature), errors.Is(err, devicesim.ErrManifestDigest):
		return report.ReasonUnauthorised
	case errors.Is(err, devicesim.ErrUnknownCommand):
		return report.ReasonCommandUnsupported
	case errors.Is(err, devicesim.ErrUnknownComponent), errors.Is(err, devicesim.ErrTooManyComponents):
		return report.ReasonComponentUnsupported
	case errors.Is(err, devicesim.ErrUnknownParameter):
		return report.ReasonParameterUnsupported
	case errors.Is(err, devicesim.ErrCondition), errors.Is(err, devicesim.ErrVendorID), errors.Is(err, devicesim.ErrClassID),
		errors.Is(err, devicesim.ErrDeviceID), errors.Is(err, devicesim.ErrPayloadDigest), errors.Is(err, devicesim.ErrRollback),
		errors.Is(err, devicesim.ErrVersion):
		return report.ReasonConditionFailed
	case errors.Is(err, devicesim.ErrInvalid):
		return report.ReasonCBORParse
	}
	return report.ReasonOperationFailed
}

// resultCodes are this implementation's suit-report-result-code values ("for debugging, not
// interoperable"): the index of the device's sentinel error, 0 when none matches.
var resultCodes = []error{nil, devicesim.ErrNotProvisioned, devicesim.ErrUnsigned, devicesim.ErrManifestDigest, devicesim.ErrSignature,
	devicesim.ErrVersion, devicesim.ErrRollback, devicesim.ErrTooManyComponents, devicesim.ErrUnknownComponent, devicesim.ErrUnsupported,
	devicesim.ErrUnknownCommand, devicesim.ErrUnknownParameter, devicesim.ErrCondition, devicesim.ErrVendorID, devicesim.ErrClassID,
	devicesim.ErrDeviceID, devicesim.ErrPayloadDigest, devicesim.ErrParamUnset, devicesim.ErrPayloadUnavailable,
	devicesim.ErrPayloadTooLarge, devicesim.ErrPayloadSize, devicesim.ErrSeveredDigest, devicesim.ErrSeveredMissing,
	devicesim.ErrDependencies, devicesim.ErrAbort, devicesim.ErrEnvelopeTooLarge, devicesim.ErrInvalid, devicesim.ErrPowerCut}

func resultCode(err error) int64 {
	for i, e := range resultCodes {
		if e != nil && errors.Is(err, e) {
			return int64(i)
		}
	}
	return 0
}

func recordOf(e devicesim.Event) report.Record {
	r := report.Record{ManifestID: []uint64{}, Section: sectionKeys[e.Sequence], Offset: uint64(e.Offset)}
	if strings.HasPrefix(e.Component, "#") {
		if n, err := strconv.Atoi(strings.Fields(e.Component[1:])[0]); err == nil {
			r.Component = uint64(n)
		}
	}
	return r
}

// BuildReport turns the device's record of a run into a SUIT_Report: a SUIT_Record for every
// step whose reporting policy asked for one, system-property-claims (the image digest) when a
// policy asked for system information, and the result. uri is the manifest's reference URI (or,
// when it has none, where the device found it).
func BuildReport(rec *devicesim.Record, uri string) *report.Report {
	r := &report.Report{ManifestURI: uri, ManifestDigestAlg: -16, ManifestDigest: rec.ManifestDigest, Records: []report.Record{}}
	if r.ManifestDigest == nil {
		r.ManifestDigest = []byte{}
	}
	sys := false
	for _, e := range rec.Report {
		r.Records = append(r.Records, recordOf(e))
		sys = sys || strings.Contains(e.Policy, "sys-")
	}
	if sys && rec.BootedImage != nil {
		d, _ := cbor.Marshal([]any{-16, rec.BootedImage})
		ds, _ := cbor.Marshal(d)
		r.Properties = append(r.Properties, report.SystemProperties{Component: [][]byte{{0}},
			Properties: map[int64]cbor.RawMessage{model.ParamImageDigest: ds}})
	}
	if rec.Outcome == devicesim.Applied {
		r.Success = true
		return r
	}
	r.ResultCode = resultCode(rec.Err)
	r.ResultReason = reasonOf(rec.Err)
	if rec.Failure != nil {
		r.ResultRecord = recordOf(*rec.Failure)
	} else {
		r.ResultRecord = report.Record{ManifestID: []uint64{}, Section: 2}
	}
	return r
}

// ReportKey is the device's report-signing key: a P-256 key made on first use and kept in the
// device's state directory (report-key.pem, mode 0600) when it has one. Its kid is the first 8
// bytes of the SHA-256 of its public key (SubjectPublicKeyInfo).
func (s *SimSession) ReportKey() (*ecdsa.PrivateKey, []byte, error) {
	s.smpMu.Lock()
	defer s.smpMu.Unlock()
	if s.reportKey == nil {
		var path string
		if s.dir != "" {
			path = filepath.Join(s.dir, "report-key.pem")
			if k, err := signer.LoadFile(path); err == nil {
				if ek, ok := k.(*ecdsa.PrivateKey); ok {
					s.reportKey = ek
				}
			}
		}
		if s.reportKey == nil {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return nil, nil, err
			}
			s.reportKey = k
			if path != "" {
				der, err := x509.MarshalPKCS8PrivateKey(k)
				if err != nil {
					return nil, nil, err
				}
				if err := writeSecret(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
					return nil, nil, fmt.Errorf("cannot keep the device's report key: %w", err)
				}
			}
		}
	}
	kid, err := KID(&s.reportKey.PublicKey)
	return s.reportKey, kid, err
}

func writeSecret(path string, b []byte) error {
	return WriteFileAtomic(path, b, 0o600)
}

// KID is a device key's identifier in its reports: SHA-256(SubjectPublicKeyInfo)[:8].
func KID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(der)
	return h[:8], nil
}

// SignedReport builds the SUIT report of rec and signs it with the device's key (ES256).
func (s *SimSession) SignedReport(rec *devicesim.Record, uri string) ([]byte, *report.Report, error) {
	k, kid, err := s.ReportKey()
	if err != nil {
		return nil, nil, err
	}
	r := BuildReport(rec, uri)
	b, err := report.Sign(r, rand.Reader, k, -7, kid)
	return b, r, err
}

// SendReport posts a signed report to the status tracker at tracker (http://host:port or
// coap://host:port; /reports is added when the URI has no path).
func SendReport(c *netfw.Client, tracker string, signed []byte) error {
	u := tracker
	if i := strings.Index(u, "://"); i >= 0 && !strings.Contains(u[i+3:], "/") {
		u += netfw.ReportPath
	}
	return c.Post(u, signed)
}

// ---- the status tracker ----

// DeviceStatus is what the status tracker knows of one device: its last report, in words.
type DeviceStatus struct {
	Device         string    `json:"device"` // the report key's kid in hex
	Remote         string    `json:"remote"`
	Proto          string    `json:"proto"`
	Time           time.Time `json:"time"`
	Verified       bool      `json:"verified"`
	Problem        string    `json:"problem,omitempty"` // why the report is not verified or not readable
	Outcome        string    `json:"outcome"`
	ManifestURI    string    `json:"manifest_uri,omitempty"`
	ManifestDigest string    `json:"manifest_digest,omitempty"`
	Manifest       string    `json:"manifest,omitempty"` // the served file whose manifest it is
	Steps          []string  `json:"steps"`
	Reports        int       `json:"reports"`
}

// Summary is one line for a log.
func (d DeviceStatus) Summary() string {
	v := "verified"
	if !d.Verified {
		v = "NOT verified: " + d.Problem
	}
	s := fmt.Sprintf("%s report  %-21s device %s (%s): %s", d.Time.Format("15:04:05.000"), d.Remote, d.Device, v, d.Outcome)
	if d.Manifest != "" {
		s += " [" + d.Manifest + "]"
	}
	for _, st := range d.Steps {
		s += "\n    " + st
	}
	return s
}

// Tracker is the status tracker: it receives signed SUIT reports, verifies them with the
// devices' keys, and reconstructs each record's step from the manifest it served.
type Tracker struct {
	Dir      string
	OnReport func(DeviceStatus)

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	devices map[string]*DeviceStatus
	order   []string
	mans    map[string]manEntry
}

type manEntry struct {
	mod  time.Time
	name string
	env  *model.Envelope
	dig  []byte
}

// NewTracker makes a tracker for the manifests served from dir.
func NewTracker(dir string) *Tracker {
	return &Tracker{Dir: dir, keys: map[string]crypto.PublicKey{}, devices: map[string]*DeviceStatus{}, mans: map[string]manEntry{}}
}

// Trust adds a device's report key.
func (t *Tracker) Trust(pub crypto.PublicKey) error {
	kid, err := KID(pub)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.keys[hex.EncodeToString(kid)] = pub
	t.mu.Unlock()
	return nil
}

// TrustPEM adds a device's report key from PEM.
func (t *Tracker) TrustPEM(b []byte) error {
	pub, err := signer.ParsePublic(b)
	if err != nil {
		return err
	}
	return t.Trust(pub)
}

// Receive takes one report (the server's OnReport).
func (t *Tracker) Receive(r netfw.Report) error {
	st := DeviceStatus{Remote: r.Remote, Proto: r.Proto, Time: r.Time}
	signed, _, err := report.Parse(r.Body)
	if err != nil {
		return err // a malformed report is answered 4.00 / 400
	}
	st.Device = hex.EncodeToString(signed.KID)
	t.mu.Lock()
	pub := t.keys[st.Device]
	t.mu.Unlock()
	switch {
	case pub == nil:
		st.Problem = "no trusted key with this kid (give the device's public key with --device-key)"
	default:
		if _, err := report.Verify(r.Body, pub); err != nil {
			st.Problem = err.Error()
		} else {
			st.Verified = true
		}
	}
	rep := signed.Report
	st.ManifestURI = rep.ManifestURI
	st.ManifestDigest = hex.EncodeToString(rep.ManifestDigest)
	name, env := t.manifest(rep.ManifestDigest)
	st.Manifest = name
	for _, rec := range rep.Records {
		st.Steps = append(st.Steps, t.step(env, rec, "recorded"))
	}
	for _, sp := range rep.Properties {
		var keys []int64
		for k := range sp.Properties {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			st.Steps = append(st.Steps, fmt.Sprintf("system property of %x: %s = %s", sp.Component, model.ParamName(k), diagOf(sp.Properties[k])))
		}
	}
	if rep.Success {
		st.Outcome = "applied"
	} else {
		st.Outcome = fmt.Sprintf("refused: %s (code %d) at %s", rep.ResultReason, rep.ResultCode, t.step(env, rep.ResultRecord, "failed"))
	}
	t.mu.Lock()
	old, ok := t.devices[st.Device]
	if ok {
		st.Reports = old.Reports + 1
	} else {
		st.Reports = 1
		t.order = append(t.order, st.Device)
	}
	t.devices[st.Device] = &st
	t.mu.Unlock()
	if t.OnReport != nil {
		t.OnReport(st)
	}
	return nil
}

// Devices lists every device's last status, in the order they first reported.
func (t *Tracker) Devices() []DeviceStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]DeviceStatus, 0, len(t.order))
	for _, k := range t.order {
		out = append(out, *t.devices[k])
	}
	return out
}

func diagOf(raw []byte) string {
	var v any
	if err := cbor.Unmarshal(raw, &v); err != nil {
		return hex.EncodeToString(raw)
	}
	if b, ok := v.([]byte); ok {
		if err := cbor.Unmarshal(b, &v); err == nil {
			return fmt.Sprintf("<<%v>>", fmtVal(v))
		}
	}
	return fmtVal(v)
}

func fmtVal(v any) string {
	switch x := v.(type) {
	case []byte:
		return fmt.Sprintf("h'%x'", x)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, fmtVal(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// step names a record's command from the manifest, in the Simulator tab's words:
// "install #0 fetch (offset 13): recorded".
func (t *Tracker) step(env *model.Envelope, rec report.Record, what string) string {
	sec := sectionNamesByKey[rec.Section]
	if sec == "" {
		sec = fmt.Sprintf("section %d", rec.Section)
	}
	cmd := "step"
	if env != nil && env.Manifest != nil {
		if seq := sequenceOf(env.Manifest, rec.Section); seq != nil {
			if b, err := suit.EncodeSequence(seq); err == nil && int(rec.Offset) < len(b) {
				var label int64
				if cbor.NewDecoder(bytes.NewReader(b[rec.Offset:])).Decode(&label) == nil {
					cmd = model.CommandName(label)
				}
			}
		}
	}
	if rec.Section == 2 {
		cmd = "authentication"
	}
	return fmt.Sprintf("%-14s #%d %-20s (offset %d): %s", sec, rec.Component, cmd, rec.Offset, what)
}

func sequenceOf(m *model.Manifest, key int64) *model.CommandSequence {
	switch key {
	case model.ManValidate:
		return m.Validate
	case model.ManLoad:
		return m.Load
	case model.ManInvoke:
		return m.Invoke
	case model.ManPayloadFetch:
		return m.PayloadFetch.Seq
	case model.ManInstall:
		return m.Install.Seq
	case model.ManCommon:
		return m.Common.SharedSequence
	}
	return nil
}

// manifest finds the served envelope whose manifest has this digest.
func (t *Tracker) manifest(digest []byte) (string, *model.Envelope) {
	if t.Dir == "" || len(digest) == 0 {
		return "", nil
	}
	ents, err := os.ReadDir(t.Dir)
	if err != nil {
		return "", nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range ents {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".suit") && !strings.HasSuffix(e.Name(), ".cbor")) {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.Size() > 1<<20 {
			continue
		}
		me, ok := t.mans[e.Name()]
		if !ok || !me.mod.Equal(fi.ModTime()) {
			b, err := os.ReadFile(filepath.Join(t.Dir, e.Name()))
			if err != nil {
				continue
			}
			env, err := suit.Decode(b)
			if err != nil || env.Auth == nil {
				t.mans[e.Name()] = manEntry{mod: fi.ModTime(), name: e.Name()}
				continue
			}
			me = manEntry{mod: fi.ModTime(), name: e.Name(), env: env, dig: env.Auth.Digest.Bytes}
			t.mans[e.Name()] = me
		}
		if me.env != nil && bytes.Equal(me.dig, digest) {
			return me.name, me.env
		}
	}
	return "", nil
}
