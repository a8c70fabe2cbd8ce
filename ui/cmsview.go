package ui

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/signer"
)

// This file shows RFC 4108 CMS firmware packages (attributes in plain words, the verification
// verdict with the RFC's error code) and the dialog that makes them.

// LooksLikeCMS tells whether data is a CMS ContentInfo holding SignedData (DER), so that the
// inspector can send such files to NewCMSInspector instead of the SUIT envelope view.
func LooksLikeCMS(data []byte) bool {
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	_, err := asn1.Unmarshal(data, &ci)
	return err == nil && ci.ContentType.Equal(cms.OIDSignedData)
}

// CMSInspectorOptions configure NewCMSInspector.
type CMSInspectorOptions struct {
	// Source names the package in the header (a file name).
	Source string
	// TrustPaths are the trusted keys: certificates and public keys in files (the studio's
	// trusted keys and the trust store's files). A package verifies only against one of them.
	TrustPaths []string
	// HardwareType is the device's hardware module type (dotted OID) the package is checked
	// against, as a device would (wrongHardware); "" does not check. The view has a field for it.
	HardwareType string
	// StaleVersion, when set, is the newest version the device refuses (stalePackage).
	StaleVersion *int64

	// uiLock, when set, is held while a verification's result is shown: the studio's lock of
	// background completions (fyne's test driver runs fyne.Do on the calling goroutine).
	uiLock sync.Locker
}

// CMSInspector shows a CMS firmware package. It is a widget: put it where the inspector shows an
// envelope. Verification runs in the background.
type CMSInspector struct {
	widget.BaseWidget
	data      []byte
	opts      CMSInspectorOptions
	verifyGen atomic.Int64 // bumped by each Verify; only the latest shows its verdict
	bg        sync.WaitGroup

	header     *widget.Label
	verdictIco *widget.Icon
	verdict    *widget.Label
	detail     *widget.Label
	hardware   *widget.Entry
	stale      *widget.Entry
	verifyBtn  *widget.Button
	attrs      *fyne.Container
	content    fyne.CanvasObject

	// Last results, on the event goroutine (tests, screenshots).
	verdictTitle string
	code         cms.ErrorCode // 0 when valid
	lines        []string
}

// NewCMSInspector shows the package in data and verifies it with opts.
//
// Wiring: when the inspector opens a file for which LooksLikeCMS is true, show
// NewCMSInspector(data, CMSInspectorOptions{Source: name, TrustPaths: the studio's trusted keys
// plus the trust store's files}) in place of the envelope view.
func NewCMSInspector(data []byte, opts CMSInspectorOptions) *CMSInspector {
	v := &CMSInspector{data: data, opts: opts}
	src := opts.Source
	if src == "" {
		src = "CMS package"
	}
	v.header = wrapLabel(fmt.Sprintf("%s: %d bytes, RFC 4108 CMS firmware package.", src, len(data)))
	v.verdictIco = widget.NewIcon(theme.InfoIcon())
	v.verdict = bold("Verifying…")
	v.detail = wrapLabel("")
	v.hardware = widget.NewEntry()
	v.hardware.SetPlaceHolder("device hardware type (OID), e.g. 1.3.6.1.4.1.99999.2.1 (empty: not checked)")
	v.hardware.SetText(opts.HardwareType)
	v.stale = widget.NewEntry()
	v.stale.SetPlaceHolder("newest version the device refuses (empty: not checked)")
	if opts.StaleVersion != nil {
		v.stale.SetText(strconv.FormatInt(*opts.StaleVersion, 10))
	}
	v.verifyBtn = widget.NewButtonWithIcon("Verify as this device", theme.ViewRefreshIcon(), v.Verify)
	v.hardware.OnSubmitted = func(string) { v.Verify() }
	v.stale.OnSubmitted = func(string) { v.Verify() }
	v.attrs = container.NewVBox()
	device := widget.NewForm(
		widget.NewFormItem("Hardware type", v.hardware),
		widget.NewFormItem("Stale version", v.stale),
	)
	trust := fmt.Sprintf("Verified against %d trusted key file(s).", len(opts.TrustPaths))
	if len(opts.TrustPaths) == 0 {
		trust = "No trusted keys: add the signer's public key or certificate to the trusted keys to verify the signature."
	}
	top := container.NewVBox(v.header,
		container.NewBorder(nil, nil, v.verdictIco, nil, v.verdict), v.detail,
		wrapLabel(trust), device, container.NewHBox(v.verifyBtn), widget.NewSeparator(),
		bold("What the package says"))
	v.content = container.NewBorder(top, nil, nil, nil, container.NewVScroll(v.attrs))
	v.ExtendBaseWidget(v)
	v.Verify()
	return v
}

// CreateRenderer shows the inspector's content.
func (v *CMSInspector) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(v.content)
}

// Wait blocks until the verification started so far has finished (tests, screenshots).
func (v *CMSInspector) Wait() { v.bg.Wait() }

// Verify checks the package again with the hardware type and stale version in the fields.
func (v *CMSInspector) Verify() {
	req := app.CMSVerifyRequest{HardwareType: strings.TrimSpace(v.hardware.Text)}
	if s := strings.TrimSpace(v.stale.Text); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			v.setVerdict("Cannot verify", 0, fmt.Sprintf("The stale version %q is not a whole number: type the newest version the device refuses, or leave it empty.", s), nil)
			return
		}
		req.StaleVersion = &n
	}
	if req.HardwareType != "" {
		if _, err := cms.ParseOID(req.HardwareType); err != nil {
			v.setVerdict("Cannot verify", 0, fmt.Sprintf("The hardware type %q is not an OID: %v. Type a dotted OID such as 1.3.6.1.4.1.99999.2.1, or leave it empty.", req.HardwareType, err), nil)
			return
		}
	}
	v.verdict.SetText("Verifying…")
	paths := append([]string(nil), v.opts.TrustPaths...)
	data := v.data
	gen := v.verifyGen.Add(1)
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		trust, terr := app.LoadTrust(paths)
		req.Trust = trust
		p, err := app.VerifyCMS(context.Background(), data, req)
		if p == nil {
			// Parse what can be parsed, to show the attributes of a package that failed.
			p, _ = cms.Parse(data)
		}
		var lines []string
		if p != nil {
			lines = app.DescribeCMS(p)
		}
		fyne.DoAndWait(func() {
			if v.opts.uiLock != nil {
				v.opts.uiLock.Lock()
				defer v.opts.uiLock.Unlock()
			}
			if gen != v.verifyGen.Load() {
				return // a later verification (new trusted keys) shows its verdict
			}
			if err == nil {
				what := "The signature is from a trusted key and the firmware digest matches."
				if req.HardwareType != "" {
					what += " The package targets hardware " + req.HardwareType + "."
				}
				if req.StaleVersion != nil {
					what += fmt.Sprintf(" Its version is newer than %d.", *req.StaleVersion)
				}
				v.setVerdict("Valid firmware package", 0, what, lines)
				return
			}
			code := cms.CodeOf(err)
			msg := err.Error()
			if terr != nil {
				msg += "\n\nA trusted key file could not be read: " + terr.Error()
			}
			if h := cmsHint(code); h != "" {
				msg += "\n\nWhat this means: " + h
			}
			v.setVerdict(fmt.Sprintf("Refused: %s (error code %d)", code, int(code)), code, msg, lines)
		})
	}()
}

func (v *CMSInspector) setVerdict(title string, code cms.ErrorCode, detail string, lines []string) {
	v.verdictTitle, v.code = title, code
	v.verdict.SetText(title)
	v.detail.SetText(detail)
	switch {
	case strings.HasPrefix(title, "Valid"):
		v.verdictIco.SetResource(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
	case code != 0:
		v.verdictIco.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
	default:
		v.verdictIco.SetResource(theme.WarningIcon())
	}
	if lines != nil || code != 0 {
		v.lines = lines
		v.attrs.RemoveAll()
		for _, l := range lines {
			v.attrs.Add(cmsLine(l))
		}
		if len(lines) == 0 {
			v.attrs.Add(wrapLabel("The package does not decode, so nothing in it can be shown."))
		}
	}
}

// cmsLine shows a "name: value" line of app.DescribeCMS with the name in bold.
func cmsLine(l string) fyne.CanvasObject {
	name, value, ok := strings.Cut(l, ": ")
	if !ok {
		return wrapLabel(l)
	}
	return container.NewBorder(nil, nil, bold(name), nil, wrapLabel(value))
}

// cmsHint explains an RFC 4108 error code and what to do about it.
func cmsHint(c cms.ErrorCode) string {
	switch c {
	case cms.NoTrustAnchor:
		return "none of the trusted keys signed the package. Add the signer's public key or certificate to the trusted keys (Keys > Trusted keys), then verify again."
	case cms.SignatureFailure:
		return "the signature does not match: the package was changed after signing, or signed with another key than the trusted one with the same identifier. Do not load it."
	case cms.WrongHardware:
		return "the package is for other hardware: the device's hardware type is not among its targets. Check the hardware type, or create the package with this target."
	case cms.StalePackage:
		return "the version is not newer than the one the device refuses: a device that loaded a newer package would refuse this one (rollback protection). Create the package with a higher version."
	case cms.NotInCommunity:
		return "the device is in none of the package's communities."
	case cms.DecodeFailure, cms.BadContentInfo, cms.BadSignedData, cms.BadEncapContent:
		return "the file is not a well-formed CMS firmware package (DER). Check that it is the right file and was not truncated."
	case cms.BadSignedAttrs, cms.BadSignerInfo:
		return "a required signed attribute (content-type, message-digest, firmware-package-identifier, target-hardware-module-identifiers) is missing or malformed: the tool that made the package does not follow RFC 4108."
	case cms.BadDigestAlgorithm, cms.BadSignatureAlgorithm, cms.UnsupportedKeySize:
		return "the package uses an algorithm or key size this verifier does not accept."
	case cms.ContentTypeMismatch:
		return "the signed content type is not id-ct-firmwarePackage."
	}
	return ""
}

// CMSExportOptions configure ShowCMSExportDialog; the fields pre-fill the form.
type CMSExportOptions struct {
	FirmwareID  string   // dotted OID of the firmware package
	Version     int64    // package version
	Targets     []string // dotted OIDs of target hardware
	Description string
	Output      string // default: the image path + ".cms"
	// Key configures the signing key picker (recent keys, key manager options).
	Key KeyPickerOptions
	// PIN asks for token PINs; nil means NewPINDialog(w).
	PIN signer.PINSource
	// OnDone runs on the event goroutine after the package was written (path) or creating it
	// failed (err, already shown to the user).
	OnDone func(path string, err error)
}

// CMSExport is an open CMS export dialog.
type CMSExport struct {
	win  fyne.Window
	opts CMSExportOptions
	pin  signer.PINSource
	bg   sync.WaitGroup

	dlg         *dialog.CustomDialog
	image       *widget.Entry
	fwID        *widget.Entry
	version     *widget.Entry
	targets     *widget.Entry
	stale       *widget.Entry
	description *widget.Entry
	key         *KeyPicker
	cert        *widget.Select
	certPath    *widget.Entry
	pss         *widget.Check
	output      *widget.Entry
	create      *widget.Button
	status      *widget.Label
}

// Certificate choices of the export dialog.
const (
	certNone = "None: devices trust the signing key itself"
	certFile = "Embed a certificate file"
	certMake = "Create a self-signed certificate with the key (written to the file below)"
)

// ShowCMSExportDialog shows the dialog that creates an RFC 4108 firmware package from a
// firmware image: package identifier (OID and version), target hardware, optional stale
// version and description, a signing key in a file or on a token, an optional certificate.
// The package is written atomically (temporary file, then rename).
//
// Wiring: "Export as CMS firmware package…" in the File menu and in the sign and export dialog,
// with imagePath the selected component's image when the document has one.
func ShowCMSExportDialog(w fyne.Window, imagePath string, opts CMSExportOptions) *CMSExport {
	e := &CMSExport{win: w, opts: opts, pin: opts.PIN}
	if e.pin == nil {
		e.pin = NewPINDialog(w)
	}
	e.image = widget.NewEntry()
	e.image.SetPlaceHolder("firmware image file")
	e.image.SetText(imagePath)
	e.fwID = widget.NewEntry()
	e.fwID.SetPlaceHolder("dotted OID naming the firmware, e.g. 1.3.6.1.4.1.99999.1.1")
	e.fwID.SetText(opts.FirmwareID)
	e.version = widget.NewEntry()
	e.version.SetText(strconv.FormatInt(max(opts.Version, 1), 10))
	e.targets = widget.NewMultiLineEntry()
	e.targets.SetPlaceHolder("target hardware OIDs, one per line")
	e.targets.SetText(strings.Join(opts.Targets, "\n"))
	e.targets.SetMinRowsVisible(2)
	e.stale = widget.NewEntry()
	e.stale.SetPlaceHolder("optional: devices then refuse this version and older")
	e.description = widget.NewEntry()
	e.description.SetPlaceHolder("optional: what the firmware is (content-hints)")
	e.description.SetText(opts.Description)
	e.key = NewKeyPicker(w, opts.Key)
	e.cert = widget.NewSelect([]string{certNone, certFile, certMake}, nil)
	e.certPath = widget.NewEntry()
	e.certPath.SetPlaceHolder("certificate file (PEM or DER)")
	e.cert.OnChanged = func(s string) {
		if s == certNone {
			e.certPath.Disable()
		} else {
			e.certPath.Enable()
		}
	}
	e.cert.SetSelected(certNone)
	e.pss = widget.NewCheck("RSA keys: sign with RSASSA-PSS (otherwise PKCS#1 v1.5)", nil)
	e.output = widget.NewEntry()
	out := opts.Output
	if out == "" && imagePath != "" {
		out = imagePath + ".cms"
	}
	e.output.SetText(out)
	e.image.OnChanged = func(s string) {
		if e.output.Text == "" || strings.HasSuffix(e.output.Text, ".cms") {
			e.output.SetText(strings.TrimSpace(s) + ".cms")
		}
	}
	browse := widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			e.image.SetText(r.URI().Path())
		}, w)
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	form := widget.NewForm(
		widget.NewFormItem("Firmware image", container.NewBorder(nil, nil, nil, browse, e.image)),
		widget.NewFormItem("Package ID (OID)", e.fwID),
		widget.NewFormItem("Version", e.version),
		widget.NewFormItem("Target hardware", e.targets),
		widget.NewFormItem("Stale version", e.stale),
		widget.NewFormItem("Description", e.description),
		widget.NewFormItem("Signing key", e.key),
		widget.NewFormItem("", e.pss),
		widget.NewFormItem("Certificate", e.cert),
		widget.NewFormItem("", e.certPath),
		widget.NewFormItem("Write to", savePathField(w, e.output, exportDir(imagePath))),
	)
	e.status = wrapLabel("RFC 4108: SignedData with the firmware inside, signed attributes content-type, message-digest, firmware-package-identifier and target-hardware-module-identifiers, signer named by subjectKeyIdentifier, SHA-256.")
	e.create = widget.NewButtonWithIcon("Create package", theme.DocumentSaveIcon(), e.Create)
	e.create.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { e.dlg.Hide() })
	e.dlg = dialog.NewCustomWithoutButtons("Export a CMS firmware package (RFC 4108)", container.NewVBox(form, e.status), w)
	e.dlg.SetButtons([]fyne.CanvasObject{cancel, e.create})
	e.dlg.Resize(fyne.NewSize(820, 640))
	e.dlg.Show()
	return e
}

// Wait blocks until the package being created is written (tests).
func (e *CMSExport) Wait() { e.bg.Wait() }

// request reads the form; the error says which field is wrong and how to fix it.
func (e *CMSExport) request() (app.CMSCreateRequest, string, string, error) {
	var req app.CMSCreateRequest
	image := expandHome(strings.TrimSpace(e.image.Text))
	out := fullPath(e.output.Text, exportDir(image))
	if image == "" {
		return req, "", "", errors.New("choose the firmware image to package")
	}
	if out == "" {
		return req, "", "", errors.New("give the file to write the package to")
	}
	req.FirmwareID = strings.TrimSpace(e.fwID.Text)
	if _, err := cms.ParseOID(req.FirmwareID); err != nil {
		return req, "", "", fmt.Errorf("package ID %q: %v: give a dotted OID such as 1.3.6.1.4.1.99999.1.1 (your organisation's arc)", req.FirmwareID, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(e.version.Text), 10, 64)
	if err != nil || v < 0 {
		return req, "", "", fmt.Errorf("version %q: give a whole number (devices compare versions as numbers)", e.version.Text)
	}
	req.Version = v
	for _, t := range strings.FieldsFunc(e.targets.Text, func(r rune) bool { return r == '\n' || r == ',' || r == ' ' || r == '\r' }) {
		if _, err := cms.ParseOID(t); err != nil {
			return req, "", "", fmt.Errorf("target hardware %q: %v: give dotted OIDs, one per line", t, err)
		}
		req.Targets = append(req.Targets, t)
	}
	if len(req.Targets) == 0 {
		return req, "", "", errors.New("give at least one target hardware OID: RFC 4108 requires target-hardware-module-identifiers")
	}
	if s := strings.TrimSpace(e.stale.Text); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return req, "", "", fmt.Errorf("stale version %q: give a whole number or leave it empty", s)
		}
		req.Stale = &n
	}
	req.Description = strings.TrimSpace(e.description.Text)
	req.KeyRef = e.key.Selected()
	if req.KeyRef == "" {
		return req, "", "", errors.New("choose the signing key: a PEM file or a token key (Token key…)")
	}
	switch e.cert.Selected {
	case certFile:
		req.CertFile = expandHome(strings.TrimSpace(e.certPath.Text))
	case certMake:
		req.MakeCertFile = expandHome(strings.TrimSpace(e.certPath.Text))
	}
	if e.cert.Selected != certNone && strings.TrimSpace(e.certPath.Text) == "" {
		return req, "", "", errors.New("give the certificate file, or choose no certificate")
	}
	req.RSAPSS = e.pss.Checked
	req.SigningTime = time.Now().UTC().Truncate(time.Second)
	return req, image, out, nil
}

// Create checks the form and creates the package in the background (a token key may ask for
// its PIN). The dialog closes when the file is written; errors show over it.
func (e *CMSExport) Create() {
	req, image, out, err := e.request()
	if err != nil {
		showKeyError(e.win, "Cannot create the package", err)
		return
	}
	confirmReplace(e.win, []string{out, req.MakeCertFile}, func(overwrite bool) {
		req.Overwrite = overwrite
		e.createPackage(req, image, out)
	})
}

// createPackage signs and writes the package (out and a made certificate are replaced only when
// req.Overwrite is set).
func (e *CMSExport) createPackage(req app.CMSCreateRequest, image, out string) {
	e.create.Disable()
	e.status.SetText("Signing…")
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		var der []byte
		img, err := readImage(image)
		if err == nil {
			req.Image = img
			der, err = app.CreateCMS(context.Background(), req, signer.LoadOptions{PIN: e.pin})
		}
		if err == nil {
			if werr := app.WriteFile(out, der, 0o644, req.Overwrite); werr != nil {
				err = &app.FileError{Op: "write", Path: out, Err: werr, Hint: "check that the folder exists and is writable"}
			}
		}
		fyne.DoAndWait(func() {
			e.create.Enable()
			if err != nil {
				e.status.SetText("")
				showKeyError(e.win, "Cannot create the package", err)
			} else {
				e.status.SetText(fmt.Sprintf("Wrote %s (%d bytes).", out, len(der)))
				e.dlg.Hide()
			}
			if e.opts.OnDone != nil {
				e.opts.OnDone(out, err)
			}
		})
	}()
}

// readImage reads a firmware image, refusing files larger than app.MaxDocumentSize.
func readImage(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &app.FileError{Op: "read", Path: path, Err: err, Hint: "check the image file's name"}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, app.MaxDocumentSize+1))
	if err != nil {
		return nil, &app.FileError{Op: "read", Path: path, Err: err}
	}
	if len(b) > app.MaxDocumentSize {
		return nil, &app.FileError{Op: "read", Path: filepath.Clean(path), Err: fmt.Errorf("%w: more than %d bytes", app.ErrTooLarge, app.MaxDocumentSize), Hint: "a firmware package holds the whole image in memory; split the image"}
	}
	return b, nil
}
