package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/transport"
)

// SimulatorPort is the pseudo-port of the built-in simulator, listed first by ListPorts.
const SimulatorPort = "simulator"

// ListPorts lists the serial ports with their USB details, the built-in simulator first.
func ListPorts() ([]transport.PortInfo, error) {
	ports, err := transport.ListPorts()
	out := append([]transport.PortInfo{{Name: SimulatorPort, Product: "SUIT Studio simulated Class 1 device"}}, ports...)
	return out, err
}

// PortOptions say how to reach a device.
type PortOptions struct {
	Baud    int           // serial rate (default 115200); for the built-in simulator, 0 = unpaced
	Timeout time.Duration // per reply (default 5 s)
	LineMax int           // SMP line length (default 127)
	// Wait, if > 0, waits up to this long for the port to appear (a board re-enumerating on USB,
	// a simulator starting).
	Wait time.Duration
	// Sim is the session behind the "simulator" pseudo-port.
	Sim *SimSession
	// Log receives the transport's diagnostic messages.
	Log func(string)
}

// Conn is an open SMP connection to a device.
type Conn struct {
	*transport.Client
	closeSim func()
}

// Close closes the connection (and stops the built-in simulator's server).
func (c *Conn) Close() error {
	err := c.Client.Close()
	if c.closeSim != nil {
		c.closeSim()
	}
	return err
}

// ErrSimulatorNeedsSession is returned for the "simulator" port without a simulator session.
var ErrSimulatorNeedsSession = errors.New("the built-in simulator needs a simulator session")

// Connect opens port (a serial port path, or SimulatorPort) and starts an SMP client on it.
func Connect(ctx context.Context, port string, o PortOptions) (*Conn, error) {
	copts := transport.ClientOptions{Timeout: o.Timeout, LineMax: o.LineMax, Log: o.Log}
	if port == SimulatorPort {
		if o.Sim == nil {
			return nil, ErrSimulatorNeedsSession
		}
		devEnd, hostEnd := net.Pipe()
		srvCtx, cancel := context.WithCancel(context.Background())
		srv := o.Sim.smpServerFor(o.LineMax)
		done := make(chan struct{})
		go func() { srv.Serve(srvCtx, devEnd); close(done) }()
		var rw io.ReadWriter = hostEnd
		if o.Baud > 0 {
			rw = transport.NewPaced(hostEnd, o.Baud)
		}
		c, err := transport.NewClient(rw, copts)
		if err != nil {
			cancel()
			devEnd.Close()
			hostEnd.Close()
			return nil, err
		}
		return &Conn{Client: c, closeSim: func() { cancel(); devEnd.Close(); hostEnd.Close(); <-done }}, nil
	}
	if o.Wait > 0 {
		deadline := time.Now().Add(o.Wait)
		for {
			if _, err := os.Stat(port); err == nil || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	p, err := transport.OpenPort(port, o.Baud)
	if err != nil {
		return nil, err
	}
	c, err := transport.NewClient(p, copts)
	if err != nil {
		p.Close()
		return nil, err
	}
	return &Conn{Client: c}, nil
}

// SMP returns the session's device as an SMP device (made once and kept, so the upload state
// survives reconnections).
func (s *SimSession) SMP() *devicesim.SMPDevice {
	s.smpMu.Lock()
	defer s.smpMu.Unlock()
	return s.smpLocked()
}

func (s *SimSession) smpLocked() *devicesim.SMPDevice {
	if s.smp == nil {
		s.smp = devicesim.NewSMPDevice(s.Device)
		s.smp.OnChange = func() { s.Save() }
	}
	return s.smp
}

// smpServerFor returns the session's SMP server, kept across connections: the upload in progress
// lives in the server, so a push that was cancelled resumes from the device's offset.
func (s *SimSession) smpServerFor(lineMax int) *transport.Server {
	s.smpMu.Lock()
	defer s.smpMu.Unlock()
	if s.smpServer == nil {
		s.smpServer = &transport.Server{Device: s.smpLocked()}
	}
	s.smpServer.LineMax = lineMax
	return s.smpServer
}

// PushOptions tune Push.
type PushOptions struct {
	PortOptions
	NoConfirm bool // upload only: do not start the update
	NoReset   bool // do not reset the device after confirming
	// Test marks an uploaded MCUboot image for a test swap (MCUboot reverts it unless the new
	// application confirms itself) instead of confirming it for good.
	Test     bool
	Progress func(transport.Progress)
	// Upload tunes the transfer (image number, window, chunk cap).
	Upload transport.UploadOptions
}

// PushResult is what a push did and what the device said.
type PushResult struct {
	Bytes       int
	Elapsed     time.Duration // the upload
	BytesPerSec float64
	ResumedFrom int
	Params      transport.Params
	Confirmed   bool // the device accepted the confirm (started and finished the update)
	Reset       bool
	Images      []transport.ImageSlot // the device's image list at the end (nil if it did not answer)
	Verdict     string                // one line for people
}

// ErrRefused is wrapped by Push when the device refused the update (a verdict, not a failure to talk).
var ErrRefused = errors.New("the device refused the update")

// Push uploads an envelope (or an RFC 4108 package) to image 0 of the device on port, confirms
// it (which starts a SUIT device's update), resets the device, and reads back its image list.
// An MCUboot image (see SignMCUboot) is uploaded as is and confirmed by its hash, as MCUboot
// boards expect; a board that refuses a file for not being an MCUboot image gives an
// *MCUbootBoardError.
func Push(ctx context.Context, port string, envelope []byte, o PushOptions) (PushResult, error) {
	c, err := Connect(ctx, port, o.PortOptions)
	if err != nil {
		return PushResult{}, err
	}
	defer c.Close()
	return PushOn(ctx, c.Client, envelope, o)
}

// PushOn is Push on an open client.
func PushOn(ctx context.Context, c *transport.Client, envelope []byte, o PushOptions) (PushResult, error) {
	up := o.Upload
	up.Progress = o.Progress
	res, err := c.Upload(ctx, envelope, up)
	r := PushResult{Bytes: len(envelope), Elapsed: res.Elapsed, BytesPerSec: res.BytesPerSec, ResumedFrom: res.ResumedFrom, Params: res.Params}
	if err != nil {
		if yes, certain := BoardWantsMCUboot(err, envelope); yes {
			err = &MCUbootBoardError{Err: err, Certain: certain}
		}
		return r, fmt.Errorf("upload: %w", err)
	}
	mcubootHash := MCUbootImageHash(envelope)
	if o.NoConfirm {
		r.Verdict = "uploaded, not confirmed: the device holds the envelope as its candidate"
		if mcubootHash != nil {
			r.Verdict = "uploaded, not confirmed: the board holds the MCUboot image in its secondary slot"
		}
		r.Images = imagesQuietly(ctx, c)
		return r, nil
	}
	var hash []byte
	confirm := true
	if mcubootHash != nil {
		// Zephyr's img_mgmt: a state write without a hash confirms the running image; the
		// uploaded one is named by its hash.
		hash, confirm = mcubootHash, !o.Test
	}
	if _, err := c.SetImageState(ctx, hash, confirm); err != nil {
		var de *transport.DeviceError
		if errors.As(err, &de) {
			r.Verdict = "refused: " + de.Reason
			if de.Reason == "" {
				r.Verdict = "refused: " + de.Words()
			}
			r.Images = imagesQuietly(ctx, c)
			return r, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return r, fmt.Errorf("confirm: %w", err)
	}
	r.Confirmed = true
	if !o.NoReset {
		if err := c.Reset(ctx, false); err != nil {
			var de *transport.DeviceError
			if errors.As(err, &de) && de.Busy() {
				err = c.Reset(ctx, true)
			}
			if err != nil {
				return r, fmt.Errorf("reset: %w", err)
			}
		}
		r.Reset = true
	}
	r.Images = imagesQuietly(ctx, c)
	r.Verdict = "applied"
	if mcubootHash != nil {
		r.Verdict = mcubootVerdict(r, mcubootHash, o.Test)
		return r, nil
	}
	for _, im := range r.Images {
		if im.Slot == 0 && im.Active {
			r.Verdict = fmt.Sprintf("applied: the device runs version %s (hash %x)", im.Version, im.Hash)
		}
	}
	return r, nil
}

// imagesQuietly reads the image list; a device still rebooting may not answer, which is not an
// error of the push.
func imagesQuietly(ctx context.Context, c *transport.Client) []transport.ImageSlot {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := c.ImageState(ctx)
	if err != nil {
		return nil
	}
	return st.Images
}

// withConn runs f on a connection to port.
func withConn(ctx context.Context, port string, o PortOptions, f func(*transport.Client) error) error {
	c, err := Connect(ctx, port, o)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c.Client)
}

// ImageList reads the device's image list.
func ImageList(ctx context.Context, port string, o PortOptions) (imgs []transport.ImageSlot, err error) {
	err = withConn(ctx, port, o, func(c *transport.Client) error {
		st, err := c.ImageState(ctx)
		imgs = st.Images
		return err
	})
	return imgs, err
}

// Confirm confirms the image with hash (nil: the uploaded candidate) and returns the new list.
func Confirm(ctx context.Context, port string, hash []byte, o PortOptions) (imgs []transport.ImageSlot, err error) {
	err = withConn(ctx, port, o, func(c *transport.Client) error {
		st, err := c.SetImageState(ctx, hash, true)
		imgs = st.Images
		return err
	})
	return imgs, err
}

// Erase erases a slot (< 0: the device's default, the candidate).
func Erase(ctx context.Context, port string, slot int, o PortOptions) error {
	return withConn(ctx, port, o, func(c *transport.Client) error { return c.Erase(ctx, slot) })
}

// Reset resets the device (force: even if it says it is busy).
func Reset(ctx context.Context, port string, force bool, o PortOptions) error {
	return withConn(ctx, port, o, func(c *transport.Client) error { return c.Reset(ctx, force) })
}

// Echo sends text and returns the device's echo.
func Echo(ctx context.Context, port, text string, o PortOptions) (r string, err error) {
	err = withConn(ctx, port, o, func(c *transport.Client) error {
		r, err = c.Echo(ctx, text)
		return err
	})
	return r, err
}
