package ui

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/netfw"
)

// PublishViewOptions configures the Publish view.
type PublishViewOptions struct {
	// Envelope returns the open document's envelope (what "Publish" puts on the server).
	Envelope func() ([]byte, error)
	// Dir is the folder served; "" makes a temporary one on first start.
	Dir string
	// Prov provisions the fleet's devices (the Simulator tab's provisioning); nil = none set.
	Prov func() (app.SimProvisioning, error)
}

// maxLogLines bounds the live log kept in the view.
const maxLogLines = 1000

// PublishView is the studio as RFC 9019's firmware server and status tracker: it serves a
// folder over HTTP and CoAP, publishes the open document into it, shows a live log of who
// fetched what, each device's SUIT report with its steps, and runs a fleet of simulated devices.
type PublishView struct {
	Content fyne.CanvasObject
	win     fyne.Window
	opts    PublishViewOptions

	dir, httpAddr, coapAddr, name, fleetN *widget.Entry
	startBtn, publishBtn, fleetBtn        *widget.Button
	status                                *widget.Label
	logList, devList                      *widget.List
	steps                                 *widget.Label

	mu       sync.Mutex
	log      []string
	tracker  *app.Tracker
	devs     []app.DeviceStatus
	fleet    map[int]app.FleetProgress
	cancel   context.CancelFunc
	bound    [2]net.Addr
	selected int
	srv      sync.WaitGroup // the server goroutine
	bg       sync.WaitGroup // fleet runs
}

// NewPublishView builds the Publish tab.
func NewPublishView(w fyne.Window, opts PublishViewOptions) *PublishView {
	v := &PublishView{win: w, opts: opts, selected: -1, fleet: map[int]app.FleetProgress{}}
	v.dir = widget.NewEntry()
	v.dir.SetText(opts.Dir)
	v.dir.SetPlaceHolder("folder to serve (empty: a new temporary folder)")
	v.httpAddr = widget.NewEntry()
	v.httpAddr.SetText("127.0.0.1:8080")
	v.coapAddr = widget.NewEntry()
	v.coapAddr.SetText("127.0.0.1:5683")
	v.name = widget.NewEntry()
	v.name.SetText("fw.suit")
	v.fleetN = widget.NewEntry()
	v.fleetN.SetText("10")
	v.status = widget.NewLabel("Not serving.")
	v.status.Wrapping = fyne.TextWrapWord
	v.startBtn = widget.NewButton("Start server", v.toggle)
	v.publishBtn = widget.NewButton("Publish the document", func() {
		if err := v.Publish(); err != nil {
			dialog.ShowError(err, v.win)
		}
	})
	v.fleetBtn = widget.NewButton("Run fleet", func() {
		n, err := strconv.Atoi(v.fleetN.Text)
		if err == nil {
			err = v.RunFleet(n)
		}
		if err != nil {
			dialog.ShowError(err, v.win)
		}
	})
	v.logList = widget.NewList(func() int { v.mu.Lock(); defer v.mu.Unlock(); return len(v.log) },
		func() fyne.CanvasObject { return widget.NewLabel("log line") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			v.mu.Lock()
			defer v.mu.Unlock()
			if i < len(v.log) {
				o.(*widget.Label).SetText(v.log[i])
			}
		})
	v.devList = widget.NewList(func() int { v.mu.Lock(); defer v.mu.Unlock(); return len(v.deviceLines()) },
		func() fyne.CanvasObject { return widget.NewLabel("device") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			v.mu.Lock()
			lines := v.deviceLines()
			v.mu.Unlock()
			if i < len(lines) {
				o.(*widget.Label).SetText(lines[i])
			}
		})
	v.steps = widget.NewLabel("Select a device to see its report.")
	v.steps.Wrapping = fyne.TextWrapWord
	v.devList.OnSelected = func(i widget.ListItemID) {
		v.mu.Lock()
		v.selected = i
		v.mu.Unlock()
		v.showSteps()
	}
	form := widget.NewForm(
		widget.NewFormItem("Folder", v.dir),
		widget.NewFormItem("HTTP", v.httpAddr),
		widget.NewFormItem("CoAP", v.coapAddr),
		widget.NewFormItem("Publish as", v.name),
		widget.NewFormItem("Fleet devices", v.fleetN),
	)
	top := container.NewVBox(form, container.NewHBox(v.startBtn, v.publishBtn, v.fleetBtn), v.status)
	right := container.NewVSplit(v.devList, container.NewVScroll(v.steps))
	split := container.NewHSplit(container.NewBorder(widget.NewLabel("Live log: who fetched what"), nil, nil, nil, v.logList),
		container.NewBorder(widget.NewLabel("Devices (status tracker)"), nil, nil, nil, right))
	v.Content = container.NewBorder(top, nil, nil, nil, split)
	return v
}

// deviceLines lists the tracker's devices and the fleet's progress (v.mu held).
func (v *PublishView) deviceLines() []string {
	var out []string
	for _, d := range v.devs {
		ver := "verified"
		if !d.Verified {
			ver = "not verified"
		}
		out = append(out, fmt.Sprintf("report from %s (%s, %s): %s", d.Device, d.Remote, ver, d.Outcome))
	}
	keys := make([]int, 0, len(v.fleet))
	for k := range v.fleet {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		p := v.fleet[k]
		s := fmt.Sprintf("fleet device %d: %s", k, p.Phase)
		if p.Bytes > 0 {
			s += fmt.Sprintf(", %d bytes", p.Bytes)
		}
		if p.Detail != "" {
			s += " (" + p.Detail + ")"
		}
		out = append(out, s)
	}
	return out
}

func (v *PublishView) showSteps() {
	v.mu.Lock()
	i := v.selected
	var text string
	if i >= 0 && i < len(v.devs) {
		d := v.devs[i]
		text = fmt.Sprintf("Device %s, report %d, %s over %s\nManifest %s (%s)\nResult: %s\n", d.Device, d.Reports, d.Remote, d.Proto, d.Manifest, d.ManifestURI, d.Outcome)
		if !d.Verified {
			text += "Signature: " + d.Problem + "\n"
		}
		for _, s := range d.Steps {
			text += "  " + s + "\n"
		}
	}
	v.mu.Unlock()
	if text != "" {
		v.steps.SetText(text)
	}
}

func (v *PublishView) refresh() {
	fyne.Do(func() {
		v.logList.Refresh()
		v.devList.Refresh()
		v.showSteps()
	})
}

func (v *PublishView) addLog(line string) {
	v.mu.Lock()
	v.log = append(v.log, line)
	if len(v.log) > maxLogLines {
		v.log = v.log[len(v.log)-maxLogLines:]
	}
	v.mu.Unlock()
	v.refresh()
}

func (v *PublishView) toggle() {
	if v.Serving() {
		v.Stop()
		return
	}
	if err := v.Start(); err != nil {
		dialog.ShowError(err, v.win)
	}
}

// Serving reports whether the server runs.
func (v *PublishView) Serving() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cancel != nil
}

// Start serves the folder on the addresses given, in the background.
func (v *PublishView) Start() error {
	if v.Serving() {
		return nil
	}
	dir := v.dir.Text
	if dir == "" {
		d, err := os.MkdirTemp("", "suit-publish-")
		if err != nil {
			return err
		}
		dir = d
		v.dir.SetText(dir)
	}
	tr := app.NewTracker(dir)
	tr.OnReport = func(st app.DeviceStatus) {
		v.mu.Lock()
		v.devs = v.tracker.Devices()
		v.mu.Unlock()
		v.addLog(fmt.Sprintf("report from %s (%s): %s", st.Device, st.Remote, st.Outcome))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]net.Addr, 1)
	errc := make(chan error, 1)
	v.mu.Lock()
	v.tracker, v.cancel, v.devs, v.fleet = tr, cancel, nil, map[int]app.FleetProgress{}
	v.mu.Unlock()
	v.srv.Add(1)
	go func() {
		defer v.srv.Done()
		err := app.Serve(ctx, app.ServeOptions{Dir: dir, HTTPAddr: v.httpAddr.Text, CoAPAddr: v.coapAddr.Text, Tracker: tr,
			OnFetch: func(f netfw.Fetch) {
				if f.Proto == "CoAP" && f.Block != 0 && !f.Last && f.Status == 205 {
					return // one line per CoAP transfer start and end
				}
				v.addLog(f.String())
			},
			Ready: func(h, c net.Addr) { ready <- [2]net.Addr{h, c} }})
		errc <- err
	}()
	select {
	case a := <-ready:
		v.mu.Lock()
		v.bound = a
		v.mu.Unlock()
		msg := "Serving " + dir + " on"
		for _, u := range v.URLs() {
			msg += " " + u
		}
		v.status.SetText(msg + " (reports: POST " + netfw.ReportPath + ").")
		v.startBtn.SetText("Stop server")
		return nil
	case err := <-errc:
		cancel()
		v.mu.Lock()
		v.cancel = nil
		v.mu.Unlock()
		if err == nil {
			err = errors.New("the server stopped at once")
		}
		return err
	}
}

// URLs are the base URLs the server listens on (http://..., coap://...).
func (v *PublishView) URLs() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	if v.bound[0] != nil {
		out = append(out, "http://"+v.bound[0].String())
	}
	if v.bound[1] != nil {
		out = append(out, "coap://"+v.bound[1].String())
	}
	return out
}

// Stop stops the server and waits for it.
func (v *PublishView) Stop() {
	v.mu.Lock()
	c := v.cancel
	v.cancel = nil
	v.bound = [2]net.Addr{}
	v.mu.Unlock()
	if c != nil {
		c()
	}
	v.srv.Wait()
	v.status.SetText("Not serving.")
	v.startBtn.SetText("Start server")
}

// Publish writes the open document's envelope into the served folder (temporary file + rename).
func (v *PublishView) Publish() error {
	if v.opts.Envelope == nil {
		return errors.New("no document to publish")
	}
	env, err := v.opts.Envelope()
	if err != nil {
		return fmt.Errorf("cannot encode the document: %w", err)
	}
	if v.dir.Text == "" {
		if err := v.Start(); err != nil {
			return err
		}
	}
	name := filepath.Base(v.name.Text)
	if name == "" || name == "." || name == "/" {
		return errors.New("give the file name to publish as (such as fw.suit)")
	}
	if err := app.WriteExport(filepath.Join(v.dir.Text, name), env, true); err != nil { // publishing replaces the served version
		return err
	}
	v.addLog(fmt.Sprintf("published %s (%d bytes) in %s", name, len(env), v.dir.Text))
	return nil
}

// RunFleet runs n simulated devices against the published manifest (CoAP when served, else
// HTTP), in the background; their progress and reports appear in the device list.
func (v *PublishView) RunFleet(n int) error {
	if n < 1 || n > 10000 {
		return fmt.Errorf("a fleet of %d devices: give 1 to 10000", n)
	}
	urls := v.URLs()
	if len(urls) == 0 {
		return errors.New("start the server first")
	}
	if v.opts.Prov == nil {
		return errors.New("the fleet needs the Simulator tab's provisioning (trust anchor, vendor and class)")
	}
	prov, err := v.opts.Prov()
	if err != nil {
		return err
	}
	base := urls[len(urls)-1]
	manifest := base + "/" + filepath.Base(v.name.Text)
	v.mu.Lock()
	tr := v.tracker
	v.fleet = map[int]app.FleetProgress{}
	v.mu.Unlock()
	v.bg.Add(1)
	go func() {
		defer v.bg.Done()
		res, err := app.RunFleet(context.Background(), app.FleetOptions{Devices: n, Manifest: manifest, Prov: prov,
			OnDeviceKey: func(_ int, pub crypto.PublicKey) { tr.Trust(pub) },
			OnProgress: func(p app.FleetProgress) {
				v.mu.Lock()
				v.fleet[p.Device] = p
				v.mu.Unlock()
				v.refresh()
			}})
		if err != nil && res == nil {
			v.addLog("fleet: " + err.Error())
			return
		}
		v.addLog(fmt.Sprintf("fleet: %d devices: %d applied, %d refused, %d up to date, %d failed in %.2f s (%.1f devices/s)",
			res.Devices, res.Applied, res.Refused, res.UpToDate, res.Failed, res.Elapsed.Seconds(), res.PerSecond))
	}()
	return nil
}

// Wait waits for a fleet run to finish.
func (v *PublishView) Wait() { v.bg.Wait() }

// Log returns the live log's lines.
func (v *PublishView) Log() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.log...)
}

// Devices returns the tracker's view of the devices.
func (v *PublishView) Devices() []app.DeviceStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]app.DeviceStatus(nil), v.devs...)
}

// Fleet returns each fleet device's last progress.
func (v *PublishView) Fleet() map[int]app.FleetProgress {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[int]app.FleetProgress{}
	for k, p := range v.fleet {
		out[k] = p
	}
	return out
}
