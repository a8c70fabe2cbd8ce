package app

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/suit-studio/suit-studio/devicesim"
)

// FleetOptions runs N simulated devices against a firmware server.
type FleetOptions struct {
	Devices  int
	Manifest string // the manifest URI every device polls (http://HOST:PORT/fw.suit, coap://...)
	// Report is the status tracker's URL; "" sends the reports to the manifest's server, over
	// the same protocol; "-" sends none.
	Report    string
	Prov      SimProvisioning
	Rate      int // bytes/s per device link (0 = unpaced)
	BlockSize int // CoAP block size (0 = 256)
	Parallel  int // devices working at once (0 = min(Devices, 32))
	// OnProgress, when set, receives each device's progress (from several goroutines).
	OnProgress func(FleetProgress)
	// OnDeviceKey, when set, is given each device's report key (to trust it in a tracker).
	OnDeviceKey func(device int, pub crypto.PublicKey)
}

// FleetPhase is where one device is.
type FleetPhase string

const (
	PhaseLocating FleetPhase = "locating"
	PhaseUpdating FleetPhase = "updating"
	PhaseApplied  FleetPhase = "applied"
	PhaseRefused  FleetPhase = "refused"
	PhaseUpToDate FleetPhase = "up to date"
	PhaseFailed   FleetPhase = "failed"
)

// FleetProgress is one device's progress.
type FleetProgress struct {
	Device int        `json:"device"`
	Phase  FleetPhase `json:"phase"`
	Bytes  int64      `json:"bytes,omitempty"` // payload bytes fetched so far
	Detail string     `json:"detail,omitempty"`
	Time   time.Duration
}

// FleetResult sums up a fleet run.
type FleetResult struct {
	Devices, Applied, Refused, UpToDate, Failed int
	Elapsed                                     time.Duration
	PerSecond                                   float64 // devices updated (applied) per second
	FirstError                                  string
}

// RunFleet runs the fleet: each device is provisioned fresh (its own flash and RAM), polls the
// manifest URI, takes the update through its own HTTP/CoAP client, and sends its signed report.
func RunFleet(ctx context.Context, o FleetOptions) (*FleetResult, error) {
	if o.Devices < 1 {
		return nil, fmt.Errorf("%w: a fleet needs at least one device", ErrSimInput)
	}
	if !IsNetURI(o.Manifest) {
		return nil, fmt.Errorf("%w: %q is not an http or coap URI of a manifest", ErrSimInput, o.Manifest)
	}
	if _, err := o.Prov.resolve(); err != nil {
		return nil, err
	}
	par := o.Parallel
	if par <= 0 {
		par = min(o.Devices, 32)
	}
	report := o.Report
	if report == "" {
		i := strings.Index(o.Manifest, "://")
		report = o.Manifest[:i+3] + hostOf(o.Manifest)
	}
	res := &FleetResult{Devices: o.Devices}
	var mu sync.Mutex
	start := time.Now()
	progress := func(p FleetProgress) {
		p.Time = time.Since(start)
		if o.OnProgress != nil {
			o.OnProgress(p)
		}
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				phase, detail := runFleetDevice(ctx, o, i, report, progress)
				mu.Lock()
				switch phase {
				case PhaseApplied:
					res.Applied++
				case PhaseRefused:
					res.Refused++
				case PhaseUpToDate:
					res.UpToDate++
				default:
					res.Failed++
					if res.FirstError == "" {
						res.FirstError = fmt.Sprintf("device %d: %s", i, detail)
					}
				}
				mu.Unlock()
				progress(FleetProgress{Device: i, Phase: phase, Detail: detail})
			}
		}()
	}
	for i := 0; i < o.Devices; i++ {
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	res.Elapsed = time.Since(start)
	if s := res.Elapsed.Seconds(); s > 0 {
		res.PerSecond = float64(res.Applied) / s
	}
	return res, ctx.Err()
}

func runFleetDevice(ctx context.Context, o FleetOptions, i int, reportURL string, progress func(FleetProgress)) (FleetPhase, string) {
	if ctx.Err() != nil {
		return PhaseFailed, ctx.Err().Error()
	}
	sess, _, err := NewSimSession(o.Prov, "")
	if err != nil {
		return PhaseFailed, err.Error()
	}
	c := NetClient(o.Rate, o.BlockSize)
	var fetched int64
	progress(FleetProgress{Device: i, Phase: PhaseLocating})
	l, err := LocateUpdate(c, o.Manifest, sess.Device)
	if err != nil {
		return PhaseFailed, err.Error()
	}
	if !l.Newer {
		return PhaseUpToDate, fmt.Sprintf("has %d, server offers %d", l.Installed, l.Sequence)
	}
	progress(FleetProgress{Device: i, Phase: PhaseUpdating})
	rec, err := sess.Run(ctx, l.Envelope, SimRun{Net: c, TamperAt: -1, OnEvent: func(e devicesim.Event) {
		if e.Command == "fetch" && e.Result == devicesim.Pass {
			fetched += e.BytesWritten
			progress(FleetProgress{Device: i, Phase: PhaseUpdating, Bytes: fetched})
		}
	}})
	if err != nil {
		return PhaseFailed, err.Error()
	}
	if reportURL != "-" {
		if o.OnDeviceKey != nil {
			if k, _, err := sess.ReportKey(); err == nil {
				o.OnDeviceKey(i, &k.PublicKey)
			}
		}
		signed, _, err := sess.SignedReport(rec, o.Manifest)
		if err == nil {
			err = SendReport(c, reportURL, signed)
		}
		if err != nil {
			return PhaseFailed, "report: " + err.Error()
		}
	}
	switch rec.Outcome {
	case devicesim.Applied:
		return PhaseApplied, fmt.Sprintf("sequence %d", l.Sequence)
	case devicesim.Refused:
		return PhaseRefused, rec.Reason
	}
	return PhaseFailed, errors.New(string(rec.Outcome) + ": " + rec.Reason).Error()
}
