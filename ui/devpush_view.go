package ui

// The push view: send an envelope (or an RFC 4108 package) to a board over USB serial with
// MCUmgr SMP (app.Push), with a progress bar, speed and ETA, cancel, the device's image list and
// a log. The built-in simulator is listed first; a push to it is shown step by step in the
// simulator view (SimulatorView.Drive).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/transport"
)

// PushViewOptions configure NewPushView.
type PushViewOptions struct {
	// Envelope returns the envelope open in the studio as CBOR bytes, or an error saying why
	// there is none. nil offers files only.
	Envelope func() ([]byte, error)
	// Simulator is the built-in simulator's view. Pushing to the "simulator" port drives it and
	// its step list shows the device's steps. nil leaves the built-in simulator out.
	Simulator *SimulatorView
	// OnSimulatorPush, if set, shows the simulator (the studio selects its tab). A push to the
	// built-in simulator stays in the push view, where its progress shows; a "Watch it in the
	// simulator" button calls this.
	OnSimulatorPush func()
	// ListPorts lists the serial ports (default app.ListPorts).
	ListPorts func() ([]transport.PortInfo, error)
}

// Baud rates offered; the simulator's link is paced at the chosen rate as a UART would be.
var pushBauds = []string{"9600", "19200", "38400", "57600", "115200", "230400", "460800", "921600", "1000000"}

const (
	pushSourceOpen = "The open envelope"
	pushSourceFile = "A file"
)

// PushView is the push screen. Put Content in a tab.
type PushView struct {
	// Content is the view's root object.
	Content fyne.CanvasObject

	win  fyne.Window
	opts PushViewOptions

	portList   *widget.List
	portEntry  *widget.Entry
	portInfo   *widget.Label
	refreshBtn *widget.Button
	baud       *widget.Select

	source    *widget.RadioGroup
	fileEntry *widget.Entry
	browseBtn *widget.Button

	pushBtn, cancelBtn, imagesBtn *widget.Button
	watchBtn                      *widget.Button // shows the simulator (pushes to the built-in simulator)
	progress                      *widget.ProgressBar
	speed                         *widget.Label
	images                        *widget.Label
	logLabel                      *widget.Label
	logScroll                     *container.Scroll

	mu      sync.Mutex // guards ports, cancel, logText, lastPct
	ports   []transport.PortInfo
	cancel  context.CancelFunc
	logText []string
	busy    bool

	bg sync.WaitGroup
}

// NewPushView builds the push view for window w and lists the ports.
func NewPushView(w fyne.Window, opts PushViewOptions) *PushView {
	if opts.ListPorts == nil {
		opts.ListPorts = app.ListPorts
	}
	v := &PushView{win: w, opts: opts}

	v.portEntry = widget.NewEntry()
	v.portEntry.SetPlaceHolder("port: choose one above or type a path (/dev/ttyACM0, COM3)")
	v.portEntry.OnChanged = func(string) { v.showPortInfo() }
	v.portInfo = widget.NewLabel("")
	v.portInfo.Wrapping = fyne.TextWrapWord
	v.portList = widget.NewList(v.portCount, func() fyne.CanvasObject {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		if p, ok := v.portAt(id); ok {
			o.(*widget.Label).SetText(pushPortLabel(p))
		}
	})
	v.portList.OnSelected = func(id widget.ListItemID) {
		if p, ok := v.portAt(id); ok {
			v.portEntry.SetText(p.Name)
		}
	}
	v.refreshBtn = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), v.Refresh)
	v.baud = widget.NewSelect(pushBauds, nil)
	v.baud.SetSelected(strconv.Itoa(transport.DefaultBaud))

	v.fileEntry = widget.NewEntry()
	v.fileEntry.SetPlaceHolder("envelope file (CBOR or hex) or RFC 4108 package")
	v.browseBtn = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), v.browse)
	choices := []string{pushSourceFile}
	if opts.Envelope != nil {
		choices = []string{pushSourceOpen, pushSourceFile}
	}
	v.source = widget.NewRadioGroup(choices, nil)
	v.source.Horizontal = true
	v.source.SetSelected(choices[0])
	v.fileEntry.OnChanged = func(s string) {
		if s != "" {
			v.source.SetSelected(pushSourceFile)
		}
	}

	v.pushBtn = widget.NewButtonWithIcon("Push", theme.UploadIcon(), v.Push)
	v.pushBtn.Importance = widget.HighImportance
	v.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), v.Cancel)
	v.cancelBtn.Disable()
	v.imagesBtn = widget.NewButtonWithIcon("Read image list", theme.ListIcon(), v.ReadImages)
	v.progress = widget.NewProgressBar()
	v.speed = widget.NewLabel("")
	v.images = widget.NewLabel("Image list: not read yet.")
	v.images.Wrapping = fyne.TextWrapWord
	v.logLabel = widget.NewLabel("")
	v.logLabel.Wrapping = fyne.TextWrapWord
	v.logScroll = container.NewVScroll(v.logLabel)
	v.logScroll.SetMinSize(fyne.NewSize(200, 160))

	v.watchBtn = widget.NewButtonWithIcon("Watch it in the simulator", theme.VisibilityIcon(), func() {
		if v.opts.OnSimulatorPush != nil {
			v.opts.OnSimulatorPush()
		}
	})
	v.watchBtn.Hide()
	portBox := container.NewGridWrap(fyne.NewSize(360, 110), v.portList)
	form := widget.NewForm(
		widget.NewFormItem("Ports", container.NewBorder(nil, nil, nil, v.refreshBtn, portBox)),
		widget.NewFormItem("Port", container.NewVBox(v.portEntry, v.portInfo)),
		widget.NewFormItem("Baud", v.baud),
		widget.NewFormItem("Send", container.NewVBox(v.source, container.NewBorder(nil, nil, nil, v.browseBtn, v.fileEntry))),
	)
	top := container.NewVBox(
		form,
		container.NewHBox(v.pushBtn, v.cancelBtn, v.imagesBtn, v.watchBtn),
		v.progress,
		v.speed,
		widget.NewCard("Device images", "", v.images),
	)
	// The form scrolls above the log, so that neither makes the window taller than it is.
	split := container.NewVSplit(container.NewScroll(top), widget.NewCard("Log", "", v.logScroll))
	split.Offset = 0.7
	v.Content = split
	v.Refresh()
	return v
}

// Wait blocks until the background work started so far is over (for tests and scripts).
func (v *PushView) Wait() { v.bg.Wait() }

// Log returns the log's lines.
func (v *PushView) Log() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.logText...)
}

func (v *PushView) portCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.ports)
}

func (v *PushView) portAt(id int) (transport.PortInfo, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if id < 0 || id >= len(v.ports) {
		return transport.PortInfo{}, false
	}
	return v.ports[id], true
}

// pushPortLabel is a port as a person recognises it: its name and the USB device behind it.
func pushPortLabel(p transport.PortInfo) string {
	if p.Name == app.SimulatorPort {
		return "Built-in simulator · " + p.Product
	}
	var parts []string
	if p.Manufacturer != "" || p.Product != "" {
		parts = append(parts, strings.TrimSpace(p.Manufacturer+" "+p.Product))
	}
	if p.IsUSB {
		usb := "USB " + p.VID + ":" + p.PID
		if p.SerialNumber != "" {
			usb += " SN " + p.SerialNumber
		}
		parts = append(parts, usb)
	}
	if len(parts) == 0 {
		return p.Name
	}
	return p.Name + " · " + strings.Join(parts, " · ")
}

func (v *PushView) showPortInfo() {
	name := strings.TrimSpace(v.portEntry.Text)
	v.mu.Lock()
	var info string
	for _, p := range v.ports {
		if p.Name == name {
			info = pushPortLabel(p)
		}
	}
	v.mu.Unlock()
	if name == app.SimulatorPort && v.opts.Simulator != nil {
		info += ". Its steps appear in the simulator view."
	}
	v.portInfo.SetText(info)
}

// Refresh lists the ports again (in the background: enumerating USB can take a moment).
func (v *PushView) Refresh() {
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		ports, err := v.opts.ListPorts()
		if v.opts.Simulator == nil {
			kept := ports[:0]
			for _, p := range ports {
				if p.Name != app.SimulatorPort {
					kept = append(kept, p)
				}
			}
			ports = kept
		}
		devDo(func() {
			v.mu.Lock()
			v.ports = ports
			v.mu.Unlock()
			v.portList.Refresh()
			v.showPortInfo()
			if err != nil {
				v.logf("listing serial ports: %v (the built-in simulator still works)", err)
			}
			n := len(ports)
			if v.opts.Simulator != nil {
				n--
			}
			v.logf("%d serial port(s) found", n)
		})
	}()
}

func (v *PushView) browse() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		v.fileEntry.SetText(r.URI().Path())
		v.source.SetSelected(pushSourceFile)
	}, v.win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// logf adds a line to the log (UI goroutine).
func (v *PushView) logf(format string, args ...any) {
	line := time.Now().Format("15:04:05 ") + fmt.Sprintf(format, args...)
	v.mu.Lock()
	v.logText = append(v.logText, line)
	if len(v.logText) > 500 {
		v.logText = v.logText[len(v.logText)-500:]
	}
	text := strings.Join(v.logText, "\n")
	v.mu.Unlock()
	v.logLabel.SetText(text)
	v.logScroll.ScrollToBottom()
}

func (v *PushView) portOptions() (string, app.PortOptions, error) {
	port := strings.TrimSpace(v.portEntry.Text)
	if port == "" {
		return "", app.PortOptions{}, &simHintError{err: errors.New("no port chosen"),
			hint: "choose a port in the list (the built-in simulator is first), or type the path of a serial port"}
	}
	if port == app.SimulatorPort && v.opts.Simulator == nil {
		return "", app.PortOptions{}, &simHintError{err: app.ErrSimulatorNeedsSession, hint: "open the simulator view first"}
	}
	baud, err := strconv.Atoi(v.baud.Selected)
	if err != nil || baud <= 0 {
		return "", app.PortOptions{}, &simHintError{err: fmt.Errorf("baud rate %q is not a number", v.baud.Selected), hint: "choose a baud rate, usually 115200"}
	}
	o := app.PortOptions{Baud: baud, Log: func(s string) { devDo(func() { v.logf("link: %s", s) }) }}
	return port, o, nil
}

// envelope reads what to send: the open envelope (UI goroutine) or the file (later, in the
// background).
func (v *PushView) envelope() (data []byte, file string, err error) {
	if v.source.Selected == pushSourceOpen && v.opts.Envelope != nil {
		b, err := v.opts.Envelope()
		if err != nil {
			return nil, "", &simHintError{err: err, hint: "build and sign the envelope in the editor (fix the errors it lists), or send a file"}
		}
		return b, "", nil
	}
	file = strings.TrimSpace(v.fileEntry.Text)
	if file == "" {
		return nil, "", &simHintError{err: errors.New("no file chosen"), hint: "choose the envelope or RFC 4108 package to send"}
	}
	return nil, file, nil
}

// Push sends the envelope to the chosen port: upload, confirm (the device starts the update),
// reset, then read the image list. It returns at once; progress and the verdict appear in the
// view.
func (v *PushView) Push() {
	port, po, err := v.portOptions()
	if err == nil {
		var data []byte
		var file string
		if data, file, err = v.envelope(); err == nil {
			v.start(port, po, data, file)
			return
		}
	}
	simErrorDialog(v.win, "Cannot push", err, "")
}

func (v *PushView) start(port string, po app.PortOptions, data []byte, file string) {
	v.mu.Lock()
	if v.busy {
		v.mu.Unlock()
		simErrorDialog(v.win, "Cannot push", errors.New("a push is in progress"), "wait for it to end, or press Cancel")
		return
	}
	v.busy = true
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	v.mu.Unlock()
	v.pushBtn.Disable()
	v.imagesBtn.Disable()
	v.cancelBtn.Enable()
	v.progress.SetValue(0)
	v.speed.SetText("")
	sim := port == app.SimulatorPort
	if sim && v.opts.OnSimulatorPush != nil {
		v.watchBtn.Show()
		v.logf("the device's steps appear in the Simulator tab as they happen (Watch it in the simulator)")
	}
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		defer cancel()
		if file != "" {
			b, err := readBounded(file, app.MaxDocumentSize)
			if err == nil {
				var ok bool
				if app.IsCMSPackage(b) || app.IsMCUbootImage(b) {
					data = b
				} else if data, ok = app.EnvelopeBytes(b); !ok {
					err = &simHintError{err: fmt.Errorf("%s: %w", filepath.Base(file), app.ErrUnrecognized),
						hint: "push a signed CBOR envelope (binary or hex) or an RFC 4108 package; build sources in the editor first"}
				}
			} else {
				err = &app.FileError{Op: "read", Path: file, Err: err, Hint: "check the file name and its permissions"}
			}
			if err != nil {
				devDo(func() { v.done(nil, err) })
				return
			}
		}
		devDo(func() { v.logf("pushing %d bytes to %s at %d baud", len(data), port, po.Baud) })
		popts := app.PushOptions{PortOptions: po, Progress: func(p transport.Progress) { devDo(func() { v.showProgress(p) }) }}
		var res app.PushResult
		var err error
		if sim {
			err = v.opts.Simulator.Drive(ctx, "Push over SMP", func(ctx context.Context, s *app.SimSession) (string, error) {
				popts.Sim = s
				res, err = app.Push(ctx, port, data, popts)
				return res.Verdict, err
			})
		} else {
			res, err = app.Push(ctx, port, data, popts)
		}
		devDo(func() { v.done(&res, err) })
	}()
}

func (v *PushView) showProgress(p transport.Progress) {
	if p.Total <= 0 {
		return
	}
	v.progress.SetValue(float64(p.Done) / float64(p.Total))
	s := fmt.Sprintf("%.1f of %.1f KB · %.2f KB/s", float64(p.Done)/1000, float64(p.Total)/1000, p.BytesPerSec/1000)
	if p.Done < p.Total && p.ETA > 0 {
		s += " · ETA " + p.ETA.Round(time.Second).String()
	}
	v.speed.SetText(s)
}

// done shows the end of a push (UI goroutine).
func (v *PushView) done(res *app.PushResult, err error) {
	v.mu.Lock()
	v.busy = false
	v.cancel = nil
	v.mu.Unlock()
	v.pushBtn.Enable()
	v.imagesBtn.Enable()
	v.cancelBtn.Disable()
	if res != nil {
		if res.ResumedFrom > 0 {
			v.logf("the device already held %d bytes of this envelope: resumed from there", res.ResumedFrom)
		}
		if res.Elapsed > 0 {
			v.logf("sent %d bytes in %.1f s (%.2f KB/s)", res.Bytes, res.Elapsed.Seconds(), res.BytesPerSec/1000)
		}
		if res.Verdict != "" {
			v.logf("device: %s", res.Verdict)
		}
		if res.Images != nil {
			v.showImages(res.Images)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, app.ErrRefused):
		// A verdict, not a failure to talk: the log and the simulator view say why.
	default:
		hint := pushHint(err)
		v.logf("failed: %v", err)
		simErrorDialog(v.win, "The push failed", err, hint)
	}
}

// pushHint says what to do about a failure to talk to a device.
func pushHint(err error) string {
	var de *transport.DeviceError
	var he *simHintError
	var mb *app.MCUbootBoardError
	switch {
	case errors.As(err, &mb):
		return mcubootPushHint
	case errors.As(err, &he):
		return he.hint
	case errors.As(err, &de):
		return de.Hint()
	case errors.Is(err, ErrSimulatorBusy):
		return "wait for the simulator's run to end, or press Stop in the simulator view"
	case errors.Is(err, transport.ErrTimeout):
		return "check the port and the baud rate, and that the device runs an SMP server (Zephyr with CONFIG_MCUMGR, MCUboot serial recovery)"
	case errors.Is(err, context.Canceled):
		return "pushing again resumes from where the device is"
	}
	return "check the port and the cable"
}

// Cancel stops the push in progress; pushing again resumes from the device's offset.
func (v *PushView) Cancel() {
	v.mu.Lock()
	c := v.cancel
	v.mu.Unlock()
	if c != nil {
		c()
		devUIMu.Lock()
		v.logf("cancelling…")
		devUIMu.Unlock()
	}
}

// ReadImages reads the device's image list.
func (v *PushView) ReadImages() {
	port, po, err := v.portOptions()
	if err != nil {
		simErrorDialog(v.win, "Cannot read the image list", err, "")
		return
	}
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var imgs []transport.ImageSlot
		var err error
		if port == app.SimulatorPort {
			err = v.opts.Simulator.useDevice(func(s *app.SimSession) error {
				po.Sim = s
				imgs, err = app.ImageList(ctx, port, po)
				return err
			})
		} else {
			imgs, err = app.ImageList(ctx, port, po)
		}
		devDo(func() {
			if err != nil {
				v.logf("image list: %v", err)
				simErrorDialog(v.win, "Cannot read the image list", err, pushHint(err))
				return
			}
			v.showImages(imgs)
			v.logf("image list read: %d image(s)", len(imgs))
		})
	}()
}

func (v *PushView) showImages(imgs []transport.ImageSlot) {
	if len(imgs) == 0 {
		v.images.SetText("The device reports no image.")
		return
	}
	var lines []string
	for _, im := range imgs {
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{im.Active, "active"}, {im.Confirmed, "confirmed"}, {im.Pending, "pending"}, {im.Permanent, "permanent"}, {im.Bootable, "bootable"}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		lines = append(lines, fmt.Sprintf("image %d slot %d: version %s · hash %x (%s)", im.Image, im.Slot, im.Version, im.Hash, strings.Join(flags, ", ")))
	}
	v.images.SetText(strings.Join(lines, "\n"))
}

// useDevice runs f with the simulated device held, without touching the step list (read-only
// SMP commands such as the image list). Call it from a background goroutine.
func (v *SimulatorView) useDevice(f func(*app.SimSession) error) error {
	if !v.devMu.TryLock() {
		return ErrSimulatorBusy
	}
	defer v.devMu.Unlock()
	var p simProv
	devDoAndWait(func() { p = v.readProv() })
	s, err := v.session(p, false)
	if err != nil {
		return err
	}
	return f(s)
}
