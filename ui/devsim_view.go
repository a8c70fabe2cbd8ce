package ui

// The simulator view: the simulated Class 1 device of package devicesim drawn as a board (flash
// map, sector use, RAM gauge, trust anchors, stored sequence number), with a step list that fills
// in live from the device's events. The device runs in a goroutine and never waits for the
// display: its events are queued and released to the list at a chosen pace, or one per tap of
// Step, so a run can be watched, paused and replayed step by step without holding the device
// (which matters when the run is driven over SMP by a push with reply timeouts).

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/model"
)

// The Board choices of the Simulator tab.
const (
	simBoardSUIT    = "SUIT device"
	simBoardMCUboot = "Zephyr + MCUboot"
)

// ErrSimulatorBusy is returned by (*SimulatorView).Drive while another run holds the device.
var ErrSimulatorBusy = errors.New("the simulated device is busy with another run: press Stop in the simulator view, or wait for it to end")

// SimulatorOptions configure NewSimulatorView. The zero value is usable: the user then picks the
// trust anchor before the first run.
type SimulatorOptions struct {
	// Envelope returns the envelope open in the studio (editor or inspector) as CBOR bytes, or an
	// error saying why there is none. nil hides the "Run the open envelope" button.
	Envelope func() ([]byte, error)
	// TrustKey is the PEM file of the key the device trusts: by default the public key of the
	// key the studio signs with (a private key PEM also works: only its public half is kept, in
	// memory). The user can pick another file or type a path.
	TrustKey string
	// VendorDomain and Model give the device's vendor and class IDs (UUIDv5, §8.4.8.1-2). Empty
	// means arm.com and "suit", the provisioning of the draft's examples.
	VendorDomain, Model string
	// Config is the simulated hardware (zero: 100 KiB flash, 10 KiB RAM, nRF52840 timing).
	Config devicesim.Config
	// OnResult, if set, receives each run's verdict in plain words (for a status bar).
	OnResult func(verdict string)
}

// Pace choices of the step list: how fast queued events are released.
const (
	SimPaceInstant = "Instant"
	SimPaceFast    = "Fast (20 steps/s)"
	SimPaceNormal  = "Normal (5 steps/s)"
	SimPaceSlow    = "Slow (1 step/s)"
)

var simPaces = map[string]time.Duration{
	SimPaceInstant: 0,
	SimPaceFast:    50 * time.Millisecond,
	SimPaceNormal:  200 * time.Millisecond,
	SimPaceSlow:    time.Second,
}

// SimulatorView is the simulator's screen. Put Content in a tab; call Run to send an envelope.
type SimulatorView struct {
	// Content is the view's root object.
	Content fyne.CanvasObject

	win  fyne.Window
	opts SimulatorOptions
	pol  simPolicyView // the device policy card (devsim_policy.go)

	vendorEntry, modelEntry, trustEntry *widget.Entry
	boardSel                            *widget.Select // "SUIT device" or "Zephyr + MCUboot"
	payloadEntry                        *widget.Entry
	deviceKeysEntry                     *widget.Entry // devsim_keys.go
	provisionBtn, pickKeyBtn            *widget.Button

	runOpenBtn, runFileBtn                   *widget.Button
	playBtn, pauseBtn, stepBtn, stopBtn      *widget.Button
	pace                                     *widget.Select
	tamperEntry, rollbackEntry, cutEntry     *widget.Entry
	tamperBtn, cutBtn, rollbackBtn, resetBtn *widget.Button
	faultLabel                               *widget.Label

	provNote   *widget.Label        // where the provisioning came from ("from the document …")
	lastInfo   *devicesim.StateInfo // the state area when last read (shown while the power is off)
	boardBox   *fyne.Container
	left       *fyne.Container // the column holding the board, re-laid out when the board changes
	ram        *widget.ProgressBar
	ramLabel   *widget.Label
	stateLabel *widget.Label
	steps      *widget.List
	detail     *widget.Label
	status     *widget.Label
	result     *widget.Label

	// devMu is held by the goroutine that uses the device (a run, a reset, a fault, a push).
	devMu sync.Mutex

	mu        sync.Mutex // guards everything below
	sess      *app.SimSession
	cancel    context.CancelFunc
	queue     []simItem
	released  []devicesim.Event
	gen       int // bumped by each run; items of older runs are dropped
	playing   bool
	interval  time.Duration
	releasing bool
	ramInUse  int
	ramPeak   int
	ramBudget int
	simTime   time.Duration
	verdict   string
	cutAt     int // power cut at this flash write or erase of the next run (0: none)
	tamperAt  int // -1: none

	bg sync.WaitGroup
}

// simItem is one queued entry of the step list: an event, or the end of a run.
type simItem struct {
	gen int
	ev  *devicesim.Event
	end *simEnd
}

// simEnd closes a run: its verdict in words and the board as it is afterwards.
type simEnd struct {
	title   string
	verdict string
	err     error // shown in a dialog when the run could not happen at all
	hint    string
	rec     *devicesim.Record
	board   *simBoard
}

// NewSimulatorView builds the simulator view for window w.
func NewSimulatorView(w fyne.Window, opts SimulatorOptions) *SimulatorView {
	if opts.VendorDomain == "" {
		opts.VendorDomain = "arm.com"
	}
	if opts.Model == "" {
		opts.Model = "suit"
	}
	v := &SimulatorView{win: w, opts: opts, playing: true, interval: simPaces[SimPaceNormal], tamperAt: -1,
		ramBudget: devicesimBudget(opts.Config)}

	v.vendorEntry = widget.NewEntry()
	v.vendorEntry.SetPlaceHolder("vendor domain, or vendor ID (UUID)")
	v.vendorEntry.SetText(opts.VendorDomain)
	v.provNote = widget.NewLabel("")
	v.provNote.Wrapping = fyne.TextWrapWord
	v.provNote.Hide()
	v.modelEntry = widget.NewEntry()
	v.modelEntry.SetText(opts.Model)
	v.trustEntry = widget.NewEntry()
	v.trustEntry.SetPlaceHolder("public key the device trusts (PEM file)")
	v.trustEntry.SetText(opts.TrustKey)
	v.pickKeyBtn = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), v.pickKey)
	v.provisionBtn = widget.NewButtonWithIcon("Provision a fresh device", theme.ViewRefreshIcon(), v.Provision)
	v.payloadEntry = widget.NewMultiLineEntry()
	v.payloadEntry.SetPlaceHolder("payloads behind URIs, one a line: URI=FILE")
	v.payloadEntry.SetMinRowsVisible(2)

	v.boardSel = widget.NewSelect([]string{simBoardSUIT, simBoardMCUboot}, nil)
	v.boardSel.SetSelected(simBoardSUIT)
	if opts.Config.Board == devicesim.BoardMCUboot {
		v.boardSel.SetSelected(simBoardMCUboot)
	}
	provForm := widget.NewForm(
		widget.NewFormItem("Board", v.boardSel),
		widget.NewFormItem("Vendor", v.vendorEntry),
		widget.NewFormItem("Model (class)", v.modelEntry),
		widget.NewFormItem("Trust anchor", container.NewBorder(nil, nil, nil, v.pickKeyBtn, v.trustEntry)),
		widget.NewFormItem("Payload files", v.payloadEntry),
		v.deviceKeysItem(),
	)

	// Run controls.
	v.runOpenBtn = widget.NewButtonWithIcon("Run the open envelope", theme.MediaPlayIcon(), v.RunOpen)
	v.runOpenBtn.Importance = widget.HighImportance
	if opts.Envelope == nil {
		v.runOpenBtn.Hide()
	}
	v.runFileBtn = widget.NewButtonWithIcon("Run a file…", theme.FileIcon(), v.runFileDialog)
	v.playBtn = widget.NewButtonWithIcon("Play", theme.MediaPlayIcon(), v.Play)
	v.pauseBtn = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), v.Pause)
	v.stepBtn = widget.NewButtonWithIcon("Step", theme.MediaSkipNextIcon(), v.Step)
	v.stopBtn = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), v.Stop)
	v.pace = widget.NewSelect([]string{SimPaceInstant, SimPaceFast, SimPaceNormal, SimPaceSlow}, v.setPace)
	v.pace.SetSelected(SimPaceNormal)

	// Faults.
	v.tamperEntry = widget.NewEntry()
	v.tamperEntry.SetPlaceHolder("byte offset")
	v.tamperBtn = widget.NewButtonWithIcon("Tamper a byte", theme.WarningIcon(), v.armTamper)
	v.cutBtn = widget.NewButtonWithIcon("Cut power at flash write no.", theme.WarningIcon(), v.armPowerCut)
	v.cutEntry = widget.NewEntry()
	v.cutEntry.SetText("1")
	v.rollbackEntry = widget.NewEntry()
	v.rollbackEntry.SetText("0")
	v.rollbackBtn = widget.NewButtonWithIcon("Roll back the sequence number to", theme.WarningIcon(), v.rollback)
	v.resetBtn = widget.NewButtonWithIcon("Reset (reboot)", theme.ViewRefreshIcon(), v.Reset)
	v.faultLabel = widget.NewLabel("No fault armed.")
	v.faultLabel.Wrapping = fyne.TextWrapWord
	faults := widget.NewCard("Faults", "", container.NewVBox(
		container.NewBorder(nil, nil, nil, v.tamperBtn, v.tamperEntry),
		container.NewBorder(nil, nil, nil, v.cutEntry, v.cutBtn),
		container.NewBorder(nil, nil, nil, v.rollbackEntry, v.rollbackBtn),
		v.resetBtn,
		v.faultLabel,
	))

	// Board.
	v.boardBox = container.NewStack()
	v.ram = widget.NewProgressBar()
	v.ram.Max = float64(v.ramBudget)
	// The figures go in a label of their own, in the theme's text colour: written on the bar
	// (white on its light fill) they were about 2:1 in the light theme, far below WCAG's 4.5:1.
	v.ram.TextFormatter = func() string { return "" }
	v.ramLabel = widget.NewLabel(v.ramText())
	v.ramLabel.Truncation = fyne.TextTruncateEllipsis
	v.stateLabel = widget.NewLabel("Not provisioned yet: choose the trust anchor, then run an envelope or press Provision.")
	v.stateLabel.Wrapping = fyne.TextWrapWord
	v.setBoard(nil)

	// Step list.
	v.steps = widget.NewList(v.stepCount, v.stepTemplate, v.stepUpdate)
	v.steps.OnSelected = v.stepSelected
	v.detail = widget.NewLabel("")
	v.detail.Wrapping = fyne.TextWrapWord
	v.status = widget.NewLabel("")
	v.status.Truncation = fyne.TextTruncateEllipsis
	v.result = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.result.Wrapping = fyne.TextWrapWord

	// Two rows that scroll sideways when the pane is narrow, and the status below: the controls
	// never widen the window (a run's status grows as it goes).
	controls := container.NewVBox(
		container.NewHScroll(container.NewHBox(v.runOpenBtn, v.runFileBtn, v.pace)),
		container.NewHScroll(container.NewHBox(v.playBtn, v.pauseBtn, v.stepBtn, v.stopBtn)),
		v.status)
	bottom := container.NewVScroll(container.NewVBox(v.detail, v.result))
	bottom.SetMinSize(fyne.NewSize(0, 150))
	stepPane := container.NewBorder(controls, container.NewVBox(widget.NewSeparator(), bottom), nil, nil, v.steps)

	v.left = container.NewVBox(
		widget.NewCard("Provisioning", "", container.NewVBox(v.provNote, provForm, v.provisionBtn)),
		v.boardBox,
		v.ram,
		v.ramLabel,
		v.stateLabel,
		faults,
		v.policyCard(),
	)
	split := container.NewHSplit(container.NewScroll(v.left), stepPane)
	split.Offset = 0.42
	v.Content = split
	return v
}

func devicesimBudget(c devicesim.Config) int {
	if c.RAMBudget > 0 {
		return c.RAMBudget
	}
	return 10 * 1024
}

// Wait blocks until the runs and releases started so far are over (for tests and scripts). In
// paused mode, queued steps stay queued.
func (v *SimulatorView) Wait() { v.bg.Wait() }

// Verdict is the plain-words result of the last run shown.
func (v *SimulatorView) Verdict() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.verdict
}

// Session returns the simulated device's session (nil until the first run or provisioning).
func (v *SimulatorView) Session() *app.SimSession {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sess
}

// ---- provisioning ----

// simProv is what the provisioning fields say, read on the UI goroutine.
type simProv struct {
	domain, model, trust, board string
	payloads                    []string // URI=FILE lines
	keys                        []string // [KID=]FILE lines: the device's own keys (devsim_keys.go)
}

func (v *SimulatorView) readProv() simProv {
	p := simProv{domain: strings.TrimSpace(v.vendorEntry.Text), model: strings.TrimSpace(v.modelEntry.Text), trust: strings.TrimSpace(v.trustEntry.Text),
		board: v.boardSel.Selected}
	for _, l := range strings.Split(v.payloadEntry.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			p.payloads = append(p.payloads, l)
		}
	}
	p.keys = v.readDeviceKeys()
	return p
}

// provisioning turns the fields into app.SimProvisioning (reads the trust anchor file).
func (v *SimulatorView) provisioning(p simProv) (app.SimProvisioning, error) {
	if p.trust == "" {
		return app.SimProvisioning{}, &simHintError{err: errors.New("the device has no trust anchor"),
			hint: "choose the PEM public key the device should accept manifests from (the public half of your signing key)"}
	}
	pem, err := readBounded(p.trust, 64<<10)
	if err != nil {
		return app.SimProvisioning{}, &app.FileError{Op: "read the trust anchor", Path: p.trust, Err: err, Hint: "choose a PEM public key file (P-256 or Ed25519)"}
	}
	vendor, class, err := deviceIDs(p.domain, p.model)
	if err != nil {
		return app.SimProvisioning{}, err
	}
	cfg := v.opts.Config
	cfg.Board = devicesim.BoardSUIT
	if p.board == simBoardMCUboot {
		cfg.Board = devicesim.BoardMCUboot
	}
	keys, err := loadDeviceKeys(p.keys)
	if err != nil {
		return app.SimProvisioning{}, err
	}
	return app.SimProvisioning{
		TrustPEM: [][]byte{pem}, TrustNames: []string{filepath.Base(p.trust)},
		VendorID: vendor, ClassID: class, Config: cfg, Keys: keys,
	}, nil
}

// deviceIDs are the vendor and class IDs of the provisioning fields: each field holds a name
// (a vendor domain, a model: UUID5 as in §8.4.8.1-2) or the ID itself as a UUID (what "Send to
// simulator" puts there when the document's IDs are not derived from its text).
func deviceIDs(domain, modelName string) (vendor, class []byte, err error) {
	if domain == "" || modelName == "" {
		return nil, nil, &simHintError{err: errors.New("the device needs a vendor and a model"),
			hint: "give the vendor domain (or vendor ID) and the model (or class ID) of the manifests it should accept"}
	}
	if vendor, err = model.ParseUUID(domain); err != nil {
		vendor = model.VendorID(domain)
	}
	if class, err = model.ParseUUID(modelName); err != nil {
		if class, err = model.ClassID(vendor, modelName); err != nil {
			return nil, nil, err
		}
	}
	return vendor, class, nil
}

// session returns the device, provisioning a fresh one when there is none or fresh is set.
// It runs with devMu held.
func (v *SimulatorView) session(p simProv, fresh bool) (*app.SimSession, error) {
	v.mu.Lock()
	s := v.sess
	v.mu.Unlock()
	if s != nil && !fresh && s.Device.IsMCUboot() == (p.board == simBoardMCUboot) {
		return s, nil
	}
	prov, err := v.provisioning(p)
	if err != nil {
		return nil, err
	}
	s, _, err = app.NewSimSession(prov, "")
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.sess = s
	v.ramBudget = s.Device.RAM.Budget()
	v.mu.Unlock()
	return s, nil
}

// payloadMap reads the URI=FILE lines (on the run's goroutine).
func payloadMap(lines []string) (map[string][]byte, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	out := map[string][]byte{}
	for i, l := range lines {
		uri, file, ok := strings.Cut(l, "=")
		uri, file = strings.TrimSpace(uri), strings.TrimSpace(file)
		if !ok || uri == "" || file == "" {
			return nil, &app.FileError{Op: "read payload files", Err: fmt.Errorf("line %d %q is not URI=FILE", i+1, l),
				Hint: "write one payload a line, as coaps://example.com/file.bin=/path/to/file.bin"}
		}
		b, err := readBounded(file, app.MaxDocumentSize)
		if err != nil {
			return nil, &app.FileError{Op: "read the payload for " + uri, Path: file, Err: err, Hint: "check the file name after '=' on that line"}
		}
		out[uri] = b
	}
	return out, nil
}

// readBounded reads at most limit bytes of a file and refuses a larger one.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", app.ErrTooLarge, limit)
	}
	return b, nil
}

func (v *SimulatorView) pickKey() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		v.trustEntry.SetText(r.URI().Path())
	}, v.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".pub", ".key"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// Provision replaces the device by a freshly provisioned one (factory image, stored sequence
// number 0, the trust anchor and IDs of the fields).
func (v *SimulatorView) Provision() {
	p := v.readProv()
	v.start("Provisioning", p, true, func(ctx context.Context, s *app.SimSession, emit func(devicesim.Event)) simEnd {
		return simEnd{verdict: fmt.Sprintf("Provisioned a fresh device: vendor %s, model %s, trust anchor %s, stored sequence number 0. It runs its factory image.",
			p.domain, p.model, filepath.Base(p.trust))}
	})
}

// SetProvisionNote says above the provisioning fields where they came from ("" hides it).
func (v *SimulatorView) SetProvisionNote(text string) {
	v.provNote.SetText(text)
	if text == "" {
		v.provNote.Hide()
	} else {
		v.provNote.Show()
	}
}

// Prefill sets the provisioning fields for the envelope about to run (the studio's "Send to
// simulator": the document's vendor domain and model, the key that signed it). Empty values leave
// a field as it is. When a field changes, the next run provisions a fresh device with the new
// values (a device keeps the identity and trust anchor it was provisioned with).
func (v *SimulatorView) Prefill(domain, model, trust string) {
	changed := false
	set := func(e *widget.Entry, val string) {
		if val != "" && strings.TrimSpace(e.Text) != val {
			e.SetText(val)
			changed = true
		}
	}
	set(v.vendorEntry, domain)
	set(v.modelEntry, model)
	set(v.trustEntry, trust)
	if changed {
		v.mu.Lock()
		v.sess = nil
		v.mu.Unlock()
	}
}

// ---- runs ----

// Run sends an envelope (CBOR bytes) to the device: it powers on, stages it and processes it,
// with the armed faults. The steps appear in the list at the chosen pace. Call it on the UI
// goroutine (a button, a menu); it returns at once.
func (v *SimulatorView) Run(envelope []byte) {
	if app.IsCMSPackage(envelope) {
		v.showError("Cannot run this file here", errors.New("this is an RFC 4108 firmware package, not a SUIT envelope"),
			"run it with 'suit sim run --hw-type OID' on the command line, or push it to the simulator from the push view")
		return
	}
	p := v.readProv()
	v.mu.Lock()
	tamper, cut := v.tamperAt, v.cutAt
	v.mu.Unlock()
	if tamper >= len(envelope) {
		v.showError("Cannot tamper with that byte", fmt.Errorf("the envelope has %d bytes: there is no byte %d", len(envelope), tamper),
			fmt.Sprintf("give an offset from 0 to %d, or clear the fault by tapping Reset", len(envelope)-1))
		return
	}
	started := v.start(fmt.Sprintf("Running a %d-byte envelope", len(envelope)), p, false,
		func(ctx context.Context, s *app.SimSession, emit func(devicesim.Event)) simEnd {
			payloads, err := payloadMap(p.payloads)
			if err != nil {
				return simEnd{err: err}
			}
			rec, err := s.Run(ctx, envelope, app.SimRun{Payloads: payloads, TamperAt: tamper, PowerCutAt: cut, OnEvent: emit})
			return simEnd{rec: rec, err: err, verdict: simVerdict(rec, err)}
		})
	if started {
		v.mu.Lock()
		v.tamperAt, v.cutAt = -1, 0
		v.mu.Unlock()
		devUIMu.Lock() // the run's steps may already be drawing
		v.showFaults()
		devUIMu.Unlock()
	}
}

// RunOpen runs the envelope the studio has open (SimulatorOptions.Envelope): the one action behind
// "Send to simulator" in the editor and the inspector. When there is none, a dialog says why.
func (v *SimulatorView) RunOpen() {
	if v.opts.Envelope == nil {
		return
	}
	b, err := v.opts.Envelope()
	if err != nil {
		v.showError("No envelope to run", err, "open or build an envelope in the editor (fix the errors it lists), or run a file")
		return
	}
	v.Run(b)
}

func (v *SimulatorView) runFileDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		v.RunFile(r.URI().Path())
	}, v.win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// RunFile runs the envelope in a file (binary CBOR or hex text, as the spec's vectors).
func (v *SimulatorView) RunFile(path string) {
	b, err := readBounded(path, app.MaxDocumentSize)
	if err != nil {
		v.showError("Cannot run "+filepath.Base(path), err, "check the file name and its permissions")
		return
	}
	env, ok := app.EnvelopeBytes(b)
	if !ok && v.boardSel.Selected == simBoardMCUboot {
		env, ok = b, true // an MCUboot image: the board checks its header
	}
	if !ok {
		v.showError("Cannot run "+filepath.Base(path), app.ErrUnrecognized,
			"the simulator takes signed CBOR envelopes, binary or hex: build and sign a source in the editor first")
		return
	}
	v.Run(env)
}

// Reset restarts the device (after a power cut: powers it on); its boot loader finishes or rolls
// back an interrupted installation and boots. It also clears armed faults.
func (v *SimulatorView) Reset() {
	v.mu.Lock()
	v.tamperAt, v.cutAt = -1, 0
	v.mu.Unlock()
	v.showFaults()
	v.start("Reset", v.readProv(), false, func(ctx context.Context, s *app.SimSession, emit func(devicesim.Event)) simEnd {
		rec, err := s.Restart(emit)
		return simEnd{rec: rec, err: err, verdict: simBootVerdict(rec, err)}
	})
}

func (v *SimulatorView) rollback() {
	seq, err := strconv.ParseUint(strings.TrimSpace(v.rollbackEntry.Text), 10, 64)
	if err != nil {
		v.showError("Cannot roll back", fmt.Errorf("%q is not a sequence number", v.rollbackEntry.Text), "type a whole number, such as 0")
		return
	}
	v.start("Rolling back the sequence number", v.readProv(), false, func(ctx context.Context, s *app.SimSession, emit func(devicesim.Event)) simEnd {
		s.Device.SetEventHandler(emit)
		defer s.Device.SetEventHandler(nil)
		if err := s.RollbackSequence(seq); err != nil {
			return simEnd{err: err, hint: "reset the device, then try again"}
		}
		return simEnd{verdict: fmt.Sprintf("Fault: the stored sequence number is now %d, as if an attacker with flash access had rewritten it. The device would now accept older manifests.", seq)}
	})
}

func (v *SimulatorView) armTamper() {
	n, err := strconv.Atoi(strings.TrimSpace(v.tamperEntry.Text))
	if err != nil || n < 0 {
		v.showError("Cannot tamper", fmt.Errorf("%q is not a byte offset", v.tamperEntry.Text),
			"type the offset of the envelope byte to flip, counted from 0 (the inspector's hex view shows offsets)")
		return
	}
	v.mu.Lock()
	v.tamperAt = n
	v.mu.Unlock()
	v.showFaults()
}

func (v *SimulatorView) armPowerCut() {
	n, err := strconv.Atoi(strings.TrimSpace(v.cutEntry.Text))
	if err != nil || n < 1 {
		v.showError("Cannot arm the power cut", fmt.Errorf("%q is not a flash operation number", v.cutEntry.Text),
			"type 1 to cut at the next flash write or erase, or N for the N-th one of the next run (the step list shows bytes written per step)")
		return
	}
	v.mu.Lock()
	v.cutAt = n
	v.mu.Unlock()
	v.showFaults()
}

func (v *SimulatorView) showFaults() {
	v.mu.Lock()
	var f []string
	if v.tamperAt >= 0 {
		f = append(f, fmt.Sprintf("byte %d of the staged envelope will be flipped", v.tamperAt))
	}
	switch {
	case v.cutAt == 1:
		f = append(f, "power will be cut at the next flash write or erase")
	case v.cutAt > 1:
		f = append(f, fmt.Sprintf("power will be cut at flash write or erase number %d", v.cutAt))
	}
	v.mu.Unlock()
	if len(f) == 0 {
		v.faultLabel.SetText("No fault armed.")
		return
	}
	v.faultLabel.SetText("Armed for the next run: " + strings.Join(f, "; ") + ". Reset clears them.")
}

// start runs work on the device in a goroutine, streaming its events into a fresh step list. It
// returns false (and says why) when the device is busy.
func (v *SimulatorView) start(title string, p simProv, fresh bool, work func(context.Context, *app.SimSession, func(devicesim.Event)) simEnd) bool {
	if !v.devMu.TryLock() {
		v.showError("The simulator is busy", ErrSimulatorBusy, "")
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	gen := v.beginRun(title, cancel)
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		defer v.devMu.Unlock()
		defer cancel()
		v.runOn(ctx, gen, title, p, fresh, work)
	}()
	return true
}

// runOn does one run with devMu held.
func (v *SimulatorView) runOn(ctx context.Context, gen int, title string, p simProv, fresh bool, work func(context.Context, *app.SimSession, func(devicesim.Event)) simEnd) {
	s, err := v.session(p, fresh)
	if err != nil {
		v.enqueue(simItem{gen: gen, end: &simEnd{title: title, err: err}})
		return
	}
	before := simCounts(s.Device)
	prior, priorErr := s.Device.StateInfo()
	end := work(ctx, s, func(e devicesim.Event) { v.enqueue(simItem{gen: gen, ev: &e}) })
	end.title = title
	end.board = simSnapshot(s.Device, before)
	if priorErr == nil {
		end.board.prior = &prior
	}
	v.enqueue(simItem{gen: gen, end: &end})
}

// beginRun clears the step list for a new run.
func (v *SimulatorView) beginRun(title string, cancel context.CancelFunc) int {
	v.mu.Lock()
	v.gen++
	gen := v.gen
	v.queue, v.released = nil, nil
	v.cancel = cancel
	v.ramInUse, v.ramPeak, v.simTime = 0, 0, 0
	v.verdict = ""
	v.mu.Unlock()
	devDo(func() {
		v.steps.UnselectAll()
		v.steps.Refresh()
		v.detail.SetText("")
		v.result.SetText(title + "…")
		v.ram.SetValue(0)
		v.ramLabel.SetText(v.ramText())
		v.showStatus()
	})
	return gen
}

// Drive runs f with the simulated device held and its steps streaming into the step list, the
// way a push to the built-in simulator is shown (the device processes the envelope when the push
// confirms it). Call it from a background goroutine; it returns f's error, or ErrSimulatorBusy.
// verdict is f's one-line summary; the device's own records are shown with it.
func (v *SimulatorView) Drive(ctx context.Context, title string, f func(ctx context.Context, s *app.SimSession) (verdict string, err error)) error {
	if !v.devMu.TryLock() {
		return ErrSimulatorBusy
	}
	defer v.devMu.Unlock()
	var p simProv
	devDoAndWait(func() { p = v.readProv() })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gen := v.beginRun(title, cancel)
	var ferr error
	v.runOn(ctx, gen, title, p, false, func(ctx context.Context, s *app.SimSession, emit func(devicesim.Event)) simEnd {
		var recs []*devicesim.Record
		var rmu sync.Mutex
		smp := s.SMP()
		s.Device.SetEventHandler(emit)
		smp.OnRecord = func(r *devicesim.Record) { rmu.Lock(); recs = append(recs, r); rmu.Unlock() }
		verdict, err := f(ctx, s)
		ferr = err
		smp.OnRecord = nil
		s.Device.SetEventHandler(nil)
		end := simEnd{verdict: verdict}
		rmu.Lock()
		defer rmu.Unlock()
		if len(recs) > 0 {
			end.rec = recs[0]
			end.verdict = simVerdict(recs[0], nil)
			if len(recs) > 1 {
				end.verdict += "\nAfter the reset: " + simBootVerdict(recs[len(recs)-1], nil)
			}
		} else if err != nil {
			end.verdict = title + " failed: " + err.Error()
		}
		return end
	})
	return ferr
}

// Stop cancels the run in progress: the processor stops before its next command (the boot
// loader is never stopped) and the device keeps a valid state.
func (v *SimulatorView) Stop() {
	v.mu.Lock()
	c := v.cancel
	v.mu.Unlock()
	if c != nil {
		c()
	}
}

// ---- pacing ----

func (v *SimulatorView) enqueue(it simItem) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if it.gen != v.gen {
		return
	}
	v.queue = append(v.queue, it)
	v.kick()
}

// kick starts the releasing goroutine when playing and there is something to release (mu held).
func (v *SimulatorView) kick() {
	if v.playing && !v.releasing && len(v.queue) > 0 {
		v.releasing = true
		v.bg.Add(1)
		go v.release()
	}
}

func (v *SimulatorView) release() {
	defer v.bg.Done()
	for {
		v.mu.Lock()
		if !v.playing || len(v.queue) == 0 {
			v.releasing = false
			v.mu.Unlock()
			return
		}
		n := 1
		if v.interval == 0 {
			n = len(v.queue)
		}
		batch := append([]simItem(nil), v.queue[:n]...)
		v.queue = v.queue[n:]
		interval := v.interval
		v.mu.Unlock()
		devDoAndWait(func() { v.apply(batch) })
		if interval > 0 {
			time.Sleep(interval)
		}
	}
}

// Play releases queued steps at the chosen pace.
func (v *SimulatorView) Play() {
	devUIMu.Lock()
	defer devUIMu.Unlock()
	v.mu.Lock()
	v.playing = true
	v.mu.Unlock()
	v.showStatus()
	v.mu.Lock()
	v.kick()
	v.mu.Unlock()
}

// Pause stops releasing steps; the device itself goes on and its steps wait in the queue.
func (v *SimulatorView) Pause() {
	devUIMu.Lock()
	defer devUIMu.Unlock()
	v.mu.Lock()
	v.playing = false
	v.mu.Unlock()
	v.showStatus()
}

// Step pauses and releases exactly one queued step.
func (v *SimulatorView) Step() {
	devUIMu.Lock()
	defer devUIMu.Unlock()
	v.mu.Lock()
	v.playing = false
	var batch []simItem
	if len(v.queue) > 0 {
		batch = v.queue[:1:1]
		v.queue = v.queue[1:]
	}
	v.mu.Unlock()
	v.apply(batch)
	v.showStatus()
}

func (v *SimulatorView) setPace(s string) {
	d, ok := simPaces[s]
	if !ok {
		return
	}
	v.mu.Lock()
	v.interval = d
	v.mu.Unlock()
}

// apply shows released items (UI goroutine).
func (v *SimulatorView) apply(batch []simItem) {
	var ends []*simEnd
	for _, it := range batch {
		v.mu.Lock()
		if it.gen != v.gen {
			v.mu.Unlock()
			continue
		}
		if it.ev != nil {
			e := *it.ev
			v.released = append(v.released, e)
			v.ramInUse = e.RAMInUse
			v.ramPeak = max(v.ramPeak, e.RAMInUse)
			v.simTime = e.SimTime
		}
		if it.end != nil {
			ends = append(ends, it.end)
			if it.end.rec != nil {
				v.ramPeak = max(v.ramPeak, it.end.rec.RAMPeak)
			}
			if it.end.board != nil {
				v.ramInUse = it.end.board.ramInUse
				v.simTime = it.end.board.clock
			}
			v.cancel = nil
		}
		v.mu.Unlock()
	}
	v.steps.Refresh()
	if len(batch) > 0 {
		v.steps.ScrollToBottom()
	}
	v.mu.Lock()
	v.ram.Max = float64(v.ramBudget)
	v.mu.Unlock()
	v.ram.SetValue(float64(v.ramInUse))
	v.ramLabel.SetText(v.ramText())
	v.showStatus()
	for _, e := range ends {
		v.finish(e)
	}
}

func (v *SimulatorView) finish(e *simEnd) {
	if e.board != nil {
		v.setBoard(e.board)
	}
	if e.err != nil && e.rec == nil {
		v.result.SetText(e.title + ": not done.")
		v.showError(e.title+": not done", e.err, e.hint)
		return
	}
	v.mu.Lock()
	v.verdict = e.verdict
	v.mu.Unlock()
	v.result.SetText(e.verdict)
	if v.opts.OnResult != nil {
		v.opts.OnResult(e.verdict)
	}
}

func (v *SimulatorView) showStatus() {
	v.mu.Lock()
	q, n, playing, t := len(v.queue), len(v.released), v.playing, v.simTime
	v.mu.Unlock()
	s := fmt.Sprintf("%d steps shown", n)
	if q > 0 {
		s += fmt.Sprintf(", %d waiting", q)
	}
	if !playing {
		s += " · paused"
	}
	if t > 0 {
		s += " · t = " + simDuration(t)
	}
	v.status.SetText(s)
}

func (v *SimulatorView) ramText() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return fmt.Sprintf("RAM %d B in use · peak %d B · budget %d B", v.ramInUse, v.ramPeak, v.ramBudget)
}

// ---- step list ----

func (v *SimulatorView) stepCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.released)
}

func (v *SimulatorView) stepTemplate() fyne.CanvasObject {
	title := widget.NewLabel("")
	title.Truncation = fyne.TextTruncateEllipsis
	title.TextStyle.Bold = true
	detail := widget.NewLabel("")
	detail.Truncation = fyne.TextTruncateEllipsis
	return container.NewBorder(nil, nil, widget.NewIcon(theme.InfoIcon()), nil, container.NewVBox(title, detail))
}

func (v *SimulatorView) stepUpdate(id widget.ListItemID, o fyne.CanvasObject) {
	e, ok := v.stepAt(id)
	if !ok {
		return
	}
	c := o.(*fyne.Container)
	var icon *widget.Icon
	var box *fyne.Container
	for _, obj := range c.Objects {
		switch x := obj.(type) {
		case *widget.Icon:
			icon = x
		case *fyne.Container:
			box = x
		}
	}
	icon.SetResource(simResultIcon(e.Result))
	box.Objects[0].(*widget.Label).SetText(simStepTitle(e))
	box.Objects[1].(*widget.Label).SetText(simStepDetail(e))
}

func (v *SimulatorView) stepAt(id int) (devicesim.Event, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if id < 0 || id >= len(v.released) {
		return devicesim.Event{}, false
	}
	return v.released[id], true
}

func (v *SimulatorView) stepSelected(id widget.ListItemID) {
	e, ok := v.stepAt(id)
	if !ok {
		return
	}
	s := simStepTitle(e) + "\n" + simStepDetail(e)
	if e.Policy != "" {
		s += "\nreporting policy: " + e.Policy
		if e.Reported {
			s += " (recorded in the report)"
		}
	}
	v.detail.SetText(s)
}

// StepRows returns the released steps as the list shows them: the result mark in words, then
// the step and its details (for tests, and to copy a run as text).
func (v *SimulatorView) StepRows() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, len(v.released))
	for i, e := range v.released {
		out[i] = simStepTitle(e) + " | " + simStepDetail(e)
	}
	return out
}

func simResultIcon(r devicesim.Result) fyne.Resource {
	switch r {
	case devicesim.Pass:
		return theme.NewSuccessThemedResource(theme.ConfirmIcon())
	case devicesim.Fail:
		return theme.NewErrorThemedResource(theme.CancelIcon())
	case devicesim.Skipped:
		return theme.NewDisabledResource(theme.MediaSkipNextIcon())
	}
	return theme.InfoIcon()
}

// simResultWord is the mark in words (the icon's meaning, for people who cannot tell colours).
func simResultWord(r devicesim.Result) string {
	switch r {
	case devicesim.Pass:
		return "PASS"
	case devicesim.Fail:
		return "FAIL"
	case devicesim.Skipped:
		return "SKIPPED"
	}
	return "NOTE"
}

func simStepTitle(e devicesim.Event) string {
	where := e.Procedure
	if e.Sequence != "" {
		where += " / " + e.Sequence
	}
	s := fmt.Sprintf("%s%d. %s · %s", strings.Repeat("   ", e.Depth), e.Step, where, e.Command)
	if e.Component != "" {
		s += " " + e.Component
	}
	if e.Argument != "" {
		s += ": " + e.Argument
	}
	return s
}

func simStepDetail(e devicesim.Event) string {
	s := simResultWord(e.Result)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	s += fmt.Sprintf(" · read %d B, wrote %d B · RAM %d B · t = %s", e.BytesRead, e.BytesWritten, e.RAMInUse, simDuration(e.SimTime))
	return s
}

func simDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d µs", d/time.Microsecond)
}

// ---- verdicts ----

// simVerdict says what a run did, in plain words.
func simVerdict(rec *devicesim.Record, err error) string {
	if rec == nil {
		if err != nil {
			return "The run did not happen: " + err.Error()
		}
		return ""
	}
	var s string
	switch rec.Outcome {
	case devicesim.Applied:
		s = fmt.Sprintf("Applied: the device accepted the manifest (sequence number %d), installed it and boots it.", rec.SequenceNumber)
		if strings.HasPrefix(rec.BootReason, "MCUboot") {
			s = "Applied: MCUboot validated the image and boots it."
		}
		if rec.BootReason != "" {
			s += " Boot: " + rec.BootReason + "."
		}
	case devicesim.Refused:
		s = "Refused"
		if f := rec.Failure; f != nil {
			where := f.Procedure
			if f.Sequence != "" {
				where += " / " + f.Sequence
			}
			s += fmt.Sprintf(" at step %d (%s · %s)", f.Step, where, f.Command)
		}
		s += ": " + rec.Reason + "."
		if rec.Booted {
			s += " The device kept what it had and boots it"
			if rec.BootReason != "" {
				s += ": " + rec.BootReason
			}
			s += "."
		} else {
			s += " The device kept what it had."
		}
	case devicesim.PowerCut:
		s = fmt.Sprintf("Power cut: the device lost power (%s) and is off. Press Reset to power it on: its boot loader boots a valid image, the old one or, if the update had been committed, the new one; then the update can be sent again.", rec.Reason)
	case devicesim.NoBoot:
		s = "Installed, but the device does not boot: " + rec.BootReason
		if rec.BootReason == "" {
			s += rec.Reason
		}
		s += "."
	default:
		s = string(rec.Outcome) + ": " + rec.Reason
	}
	if rec.Steps > 0 {
		s += fmt.Sprintf("\nRAM peak %d of %d bytes · flash read %d B, written %d B, %d writes/erases · %d steps · simulated time %s",
			rec.RAMPeak, rec.RAMBudget, rec.BytesRead, rec.BytesWritten, rec.FlashOps, rec.Steps, simDuration(rec.SimTime))
	}
	if err != nil {
		s += "\n(" + err.Error() + ")"
	}
	return s
}

// simBootVerdict says what a reset did.
func simBootVerdict(rec *devicesim.Record, err error) string {
	if rec == nil {
		if err != nil {
			return "The reset did not happen: " + err.Error()
		}
		return ""
	}
	var s string
	if rec.Booted {
		s = "Reset: the device boots. " + rec.BootReason
	} else {
		s = "Reset: the device does not boot: " + rec.BootReason
		if rec.BootReason == "" {
			s += rec.Reason
		}
	}
	if rec.BootedImage != nil {
		s += fmt.Sprintf(" (image sha-256 %x…)", rec.BootedImage[:8])
	}
	if err != nil {
		s += "\n(" + err.Error() + ")"
	}
	return s
}

// ---- board ----

// simBoard is the device as the board drawing shows it, read with devMu held.
type simBoard struct {
	flashes  []simFlash
	regions  []simRegion
	info     devicesim.StateInfo
	infoErr  error
	mcuboot  string // the mcuboot board's slots and trailers in words
	ramInUse int
	ramPeak  int
	budget   int
	off      bool
	clock    time.Duration
	ops      int
	prior    *devicesim.StateInfo // the state area before the run (nil when it could not be read)
}

type simFlash struct {
	name               string
	size, sector       int
	erases, writes     []uint32
	runErase, runWrite []uint32 // during the last run
}

type simRegion struct {
	name, flash    string
	off, size      int
	erases, writes uint32
}

type simCountsT map[string][2][]uint32

func simCounts(d *devicesim.Device) simCountsT {
	out := simCountsT{}
	for _, f := range []*devicesim.Flash{d.Int, d.Ext} {
		if f != nil {
			e, w := f.SectorCounts()
			out[f.Name] = [2][]uint32{e, w}
		}
	}
	return out
}

func simSnapshot(d *devicesim.Device, before simCountsT) *simBoard {
	b := &simBoard{ramInUse: d.RAM.InUse(), ramPeak: d.RAM.Peak(), budget: d.RAM.Budget(), off: d.PoweredOff(), clock: d.Clock(), ops: d.FlashOps()}
	b.info, b.infoErr = d.StateInfo()
	b.mcuboot = d.MCUbootSummary()
	for _, f := range []*devicesim.Flash{d.Int, d.Ext} {
		if f == nil {
			continue
		}
		e, w := f.SectorCounts()
		sf := simFlash{name: f.Name, size: f.Size(), sector: f.SectorSize(), erases: e, writes: w,
			runErase: make([]uint32, len(e)), runWrite: make([]uint32, len(w))}
		if old, ok := before[f.Name]; ok {
			for i := range e {
				if i < len(old[0]) {
					sf.runErase[i] = e[i] - old[0][i]
					sf.runWrite[i] = w[i] - old[1][i]
				}
			}
		}
		b.flashes = append(b.flashes, sf)
	}
	for _, r := range d.FlashMap() {
		sr := simRegion{name: r.Name, flash: r.Flash.Name, off: r.Offset, size: r.Size}
		e, w := r.Flash.SectorCounts()
		ss := r.Flash.SectorSize()
		for i := r.Offset / ss; i < (r.Offset+r.Size+ss-1)/ss && i < len(e); i++ {
			sr.erases += e[i]
			sr.writes += w[i]
		}
		b.regions = append(b.regions, sr)
	}
	return b
}

var (
	simPCB       = color.NRGBA{R: 0x1d, G: 0x5c, B: 0x3a, A: 0xff}
	simChip      = color.NRGBA{R: 0x22, G: 0x22, B: 0x26, A: 0xff}
	simWhite     = color.NRGBA{R: 0xf2, G: 0xf2, B: 0xf2, A: 0xff}
	simHot       = color.NRGBA{R: 0xff, G: 0x9f, B: 0x1c, A: 0xff}
	simIdle      = color.NRGBA{R: 0x55, G: 0x5b, B: 0x66, A: 0xff}
	simRegionCol = []color.NRGBA{
		{R: 0x6c, G: 0x75, B: 0x7d, A: 0xff}, // boot loader
		{R: 0x2e, G: 0x86, B: 0xde, A: 0xff}, // active image
		{R: 0x9b, G: 0x59, B: 0xb6, A: 0xff}, // candidate
		{R: 0xd3, G: 0x54, B: 0x00, A: 0xff}, // state A
		{R: 0xe6, G: 0x7e, B: 0x22, A: 0xff}, // state B
		{R: 0x16, G: 0xa0, B: 0x85, A: 0xff},
		{R: 0x27, G: 0xae, B: 0x60, A: 0xff},
		{R: 0x8e, G: 0x44, B: 0xad, A: 0xff},
	}
)

// simShort names a region in the few letters a bar segment has room for.
func simShort(name string) string {
	switch {
	case strings.HasPrefix(name, "boot loader"):
		return "boot"
	case strings.HasPrefix(name, "image slot"):
		return "active image"
	case strings.HasPrefix(name, "candidate"):
		return "candidate / staging"
	case strings.HasPrefix(name, "state copy"):
		return "state " + name[len(name)-1:]
	case strings.HasPrefix(name, "staged"):
		return "staged"
	case strings.HasPrefix(name, "download"):
		return "download"
	case strings.HasPrefix(name, "second"):
		return "image 2"
	}
	return name
}

// setBoard redraws the board (UI goroutine). b nil draws an empty, unprovisioned board.
func (v *SimulatorView) setBoard(b *simBoard) {
	title := canvas.NewText("Simulated Class 1 device · nRF52840-class MCU", simWhite)
	title.TextStyle.Bold = true
	objs := []fyne.CanvasObject{title}
	if b == nil {
		objs = append(objs, simText("flash and state appear after provisioning", 12))
	} else {
		power := "power on"
		if b.off {
			power = "POWER OFF (cut): press Reset"
		}
		objs = append(objs, simText(fmt.Sprintf("%s · %d flash writes/erases so far · clock %s", power, b.ops, simDuration(b.clock)), 11))
		for fi, f := range b.flashes {
			objs = append(objs, simText(fmt.Sprintf("%s flash · %d KiB · %d sectors of %d KiB", f.name, f.size/1024, len(f.erases), f.sector/1024), 12))
			var segs []fyne.CanvasObject
			var weights []float32
			ci := 0
			if fi > 0 {
				ci = 5
			}
			for _, r := range b.regions {
				if r.flash != f.name || strings.HasPrefix(r.name, "staged image") {
					continue
				}
				col := simRegionCol[ci%len(simRegionCol)]
				ci++
				rect := canvas.NewRectangle(col)
				lbl := canvas.NewText(simShort(r.name), simWhite)
				lbl.TextSize = 10
				segs = append(segs, container.NewStack(rect, container.NewCenter(lbl)))
				weights = append(weights, float32(r.size))
			}
			objs = append(objs, container.New(&simPropLayout{weights: weights, height: 26}, segs...))
			// Sector strip: orange = erased or written during the last run; brighter grey = more wear.
			var cells []fyne.CanvasObject
			var cw []float32
			maxWear := uint32(1)
			for i := range f.erases {
				maxWear = max(maxWear, f.erases[i])
			}
			for i := range f.erases {
				c := simIdle
				if f.runErase[i] > 0 || f.runWrite[i] > 0 {
					c = simHot
				} else if f.erases[i] > 0 {
					c.A = uint8(0x80 + 0x7f*f.erases[i]/maxWear)
					c.R, c.G, c.B = 0xa0, 0xa8, 0xb4
				}
				cell := canvas.NewRectangle(c)
				cell.StrokeColor = simPCB
				cell.StrokeWidth = 1
				cells = append(cells, cell)
				cw = append(cw, 1)
			}
			objs = append(objs, container.New(&simPropLayout{weights: cw, height: 10}, cells...))
		}
		objs = append(objs, simText("sectors: orange = erased or written in the last run, light = erased before", 10))
		for _, r := range b.regions {
			objs = append(objs, simText(fmt.Sprintf("%s · %s 0x%05x · %d KiB · %d erases, %d writes", r.name, r.flash, r.off, r.size/1024, r.erases, r.writes), 10))
		}
	}
	chip := container.NewStack(canvas.NewRectangle(simChip), container.NewPadded(container.NewVBox(objs...)))
	bg := canvas.NewRectangle(simPCB)
	bg.CornerRadius = 10
	v.boardBox.Objects = []fyne.CanvasObject{bg, container.NewPadded(container.NewPadded(chip))}
	v.boardBox.Refresh()
	if v.left != nil {
		v.left.Refresh()
	}

	if b == nil {
		return
	}
	v.mu.Lock()
	v.ramBudget = b.budget
	v.mu.Unlock()
	if b.infoErr == nil {
		info := b.info
		v.lastInfo = &info
	} else if b.prior != nil {
		v.lastInfo = b.prior
	}
	v.stateLabel.SetText(simStateText(b, v.lastInfo))
}

func simText(s string, size float32) *canvas.Text {
	t := canvas.NewText(s, simWhite)
	t.TextSize = size
	return t
}

// simStateText says what the device holds. While its power is off (a power cut) its flash cannot
// be read, which is not the same as an empty device: the text then says so, with what the state
// area held when last read, and that Reset powers it on again.
func simStateText(b *simBoard, last *devicesim.StateInfo) string {
	if b.mcuboot != "" {
		return fmt.Sprintf("%s\nRAM peak since power-on: %d of %d bytes", b.mcuboot, b.ramPeak, b.budget)
	}
	var sb strings.Builder
	in := b.info
	if b.infoErr != nil {
		if !b.off || last == nil {
			return "State area: " + b.infoErr.Error()
		}
		sb.WriteString("Power is off after the cut, so the flash cannot be read now. The device is not erased: its flash " +
			"keeps what was written before the cut (the map above), and Reset powers it on; the boot loader then uses " +
			"whichever of the two state copies is intact. When last read, the state area held:\n")
		in = *last
	}
	fmt.Fprintf(&sb, "Stored sequence number: %d\n", in.Sequence)
	fmt.Fprintf(&sb, "Trust anchors: %s\n", strings.Join(in.TrustAnchors, ", "))
	fmt.Fprintf(&sb, "Vendor ID: %s · class ID: %s\n", model.FormatUUID(in.VendorID), model.FormatUUID(in.ClassID))
	if in.DeviceID != nil {
		fmt.Fprintf(&sb, "Device ID: %s\n", model.FormatUUID(in.DeviceID))
	}
	if in.ManifestDigest != nil {
		fmt.Fprintf(&sb, "Installed manifest: sha-256 %x…\n", in.ManifestDigest[:8])
	} else {
		sb.WriteString("Installed manifest: none (factory image)\n")
	}
	pending := "no"
	if in.PendingInstall {
		pending = "yes: the boot loader installs staged images at the next boot"
	}
	fmt.Fprintf(&sb, "State copy in force: %s · pending install: %s", in.StateCopy, pending)
	if b.infoErr == nil {
		fmt.Fprintf(&sb, "\nRAM peak since power-on: %d of %d bytes", b.ramPeak, b.budget)
	}
	return sb.String()
}

// simPropLayout lays children side by side, each as wide as its share of the weights.
type simPropLayout struct {
	weights []float32
	height  float32
}

func (l *simPropLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(float32(len(objs))*4, l.height)
}

func (l *simPropLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	var total float32
	for i := range objs {
		if i < len(l.weights) {
			total += l.weights[i]
		}
	}
	if total == 0 {
		return
	}
	x := float32(0)
	for i, o := range objs {
		w := float32(0)
		if i < len(l.weights) {
			w = size.Width * l.weights[i] / total
		}
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x += w
	}
}

var _ fyne.Layout = (*simPropLayout)(nil)

// showError shows err in a dialog that says what went wrong and what to do.
func (v *SimulatorView) showError(title string, err error, hint string) {
	simErrorDialog(v.win, title, err, hint)
}

// simErrorDialog is the error dialog of the simulator and push views: the message, then what to
// do (the hint given, or the FileError's own).
func simErrorDialog(w fyne.Window, title string, err error, hint string) {
	msg := err.Error()
	var fe *app.FileError
	var he *simHintError
	switch {
	case hint != "":
	case errors.As(err, &he):
		hint = he.hint
	case errors.As(err, &fe):
		hint = fe.Hint
	}
	if hint != "" && !strings.Contains(msg, hint) {
		msg += "\n\nWhat to do: " + hint
	}
	lbl := widget.NewLabel(msg)
	lbl.Wrapping = fyne.TextWrapWord
	dialog.NewCustom(title, "Close", container.NewGridWrap(fyne.NewSize(480, 160), lbl), w).Show()
}

// simHintError carries what to do about an error to the dialog that shows it.
type simHintError struct {
	err  error
	hint string
}

func (e *simHintError) Error() string { return e.err.Error() }
func (e *simHintError) Unwrap() error { return e.err }

// devUIMu serialises the simulator and push views' background updates of their widgets, and the
// handlers that update widgets while background work may be running. On a real display all of
// them run on the event goroutine and the lock is never contended; fyne's test driver runs
// fyne.Do on the calling goroutine, where without it two goroutines could redraw the same label
// at once. Nothing called under it may take it again.
var devUIMu sync.Mutex

// devDo runs f on the event goroutine (fyne.Do), serialised by devUIMu.
func devDo(f func()) {
	fyne.Do(func() {
		devUIMu.Lock()
		defer devUIMu.Unlock()
		f()
	})
}

// devDoAndWait is devDo that waits for f to have run (fyne.DoAndWait).
func devDoAndWait(f func()) {
	fyne.DoAndWait(func() {
		devUIMu.Lock()
		defer devUIMu.Unlock()
		f()
	})
}
