package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ClientOptions tune a Client. The zero value is usable.
type ClientOptions struct {
	// LineMax is the longest line the client sends, marker and newline included (default 127,
	// Zephyr's CONFIG_UART_MCUMGR_RX_BUF_SIZE). Replies of any line length are accepted.
	LineMax int
	// Timeout bounds the wait for each reply (default 5 s).
	Timeout time.Duration
	// EraseTimeout bounds the wait for an image erase, which is synchronous on the device and slow
	// (default 30 s).
	EraseTimeout time.Duration
	// Retries is how often a request that got no reply is sent again, and how many consecutive
	// upload rounds may make no progress, before giving up (default 3).
	Retries int
	// MinRetransmit is the shortest wait before an upload request is sent again (default 20 ms;
	// the wait adapts to the measured round trip above it).
	MinRetransmit time.Duration
	// Version is the SMP version to speak: Version1 (default; also understood by MCUboot serial
	// recovery) or Version2.
	Version uint8
	// Log, if set, receives diagnostic messages (dropped frames, retries, resumes).
	Log func(msg string)
}

func (o *ClientOptions) fill() {
	if o.LineMax == 0 {
		o.LineMax = DefaultLineMax
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.EraseTimeout == 0 {
		o.EraseTimeout = 30 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
}

// Client talks SMP to one device over a byte stream. Its methods may be called from several
// goroutines; replies are matched to requests by sequence number. Every call takes a context and
// gives up after its timeout and retries: no call waits forever.
type Client struct {
	rw   io.ReadWriter
	opts ClientOptions

	wmu sync.Mutex // one packet on the wire at a time

	mu        sync.Mutex
	seq       uint8
	pending   map[uint8]waiter
	lastFrame error // the last frame the reader rejected, for error messages
	params    *Params
	lastRTT   time.Duration // round trip of the last answered request

	done    chan struct{} // closed when the reader stops
	readErr error
	closed  chan struct{}
	once    sync.Once
}

type waiter struct {
	group uint16
	id    uint8
	ch    chan<- Packet
}

// NewClient starts a client on rw (a serial port, a pty, a paced link). Close stops it and closes
// rw if it is an io.Closer.
func NewClient(rw io.ReadWriter, opts ClientOptions) (*Client, error) {
	opts.fill()
	if opts.LineMax < MinLineMax {
		return nil, fmt.Errorf("%w: line length %d is below the minimum of %d", ErrFrame, opts.LineMax, MinLineMax)
	}
	c := &Client{
		rw:      rw,
		opts:    opts,
		pending: map[uint8]waiter{},
		done:    make(chan struct{}),
		closed:  make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// Close stops the client. It closes the underlying stream if it is an io.Closer, which also
// unblocks the reader.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		if cl, ok := c.rw.(io.Closer); ok {
			err = cl.Close()
		}
	})
	return err
}

func (c *Client) logf(format string, args ...any) {
	if c.opts.Log != nil {
		c.opts.Log(fmt.Sprintf(format, args...))
	}
}

func (c *Client) readLoop() {
	defer close(c.done)
	fr := NewFrameReader(c.rw)
	for {
		raw, err := fr.ReadPacket()
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				c.mu.Lock()
				c.lastFrame = err
				c.mu.Unlock()
				c.logf("dropped a reply frame: %v", err)
				continue
			}
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		p, err := ParsePacket(raw)
		if err != nil {
			c.mu.Lock()
			c.lastFrame = err
			c.mu.Unlock()
			c.logf("dropped a reply: %v", err)
			continue
		}
		if !p.Op.IsResponse() {
			continue // a request from the other side, or our own echo: not ours to answer
		}
		c.mu.Lock()
		w, ok := c.pending[p.Seq]
		if ok && w.group == p.Group && w.id == p.ID {
			delete(c.pending, p.Seq)
		} else {
			ok = false
		}
		c.mu.Unlock()
		if ok {
			select {
			case w.ch <- p:
			default:
			}
		}
	}
}

// send registers a waiter and writes one request. It returns the sequence number used.
func (c *Client) send(op Op, group uint16, id uint8, body []byte, ch chan<- Packet) (uint8, error) {
	select {
	case <-c.closed:
		return 0, ErrClosed
	case <-c.done:
		return 0, c.lostErr()
	default:
	}
	c.mu.Lock()
	seq := c.seq
	c.seq++
	c.pending[seq] = waiter{group: group, id: id, ch: ch}
	c.mu.Unlock()
	pkt, err := MarshalPacket(Header{Op: op, Version: c.opts.Version, Group: group, Seq: seq, ID: id}, body)
	if err == nil {
		var wire []byte
		wire, err = EncodeFrames(pkt, c.opts.LineMax)
		if err == nil {
			c.wmu.Lock()
			_, err = c.rw.Write(wire)
			c.wmu.Unlock()
			if err != nil {
				err = fmt.Errorf("cannot write to the port: %w (is the device still connected?)", err)
			}
		}
	}
	if err != nil {
		c.forget(seq)
		return 0, err
	}
	return seq, nil
}

func (c *Client) forget(seq uint8) {
	c.mu.Lock()
	delete(c.pending, seq)
	c.mu.Unlock()
}

func (c *Client) lostErr() error {
	c.mu.Lock()
	err := c.readErr
	c.mu.Unlock()
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the port was closed (device unplugged or reset?)", ErrClosed)
	}
	return fmt.Errorf("%w: cannot read from the port: %v (is the device still connected?)", ErrClosed, err)
}

func (c *Client) noReply(group uint16, id uint8, timeout time.Duration, attempts int) error {
	c.mu.Lock()
	last := c.lastFrame
	c.mu.Unlock()
	msg := fmt.Sprintf("%v within %s to %s (%d attempts): check the port and baud rate, and that the device runs an SMP server",
		ErrTimeout, timeout, commandName(group, id), attempts)
	if last != nil {
		msg += fmt.Sprintf(" (last rejected frame: %v)", last)
	}
	return &timeoutError{msg: msg}
}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) Unwrap() error { return ErrTimeout }

func commandName(group uint16, id uint8) string {
	switch {
	case group == GroupOS && id == CmdOSEcho:
		return "echo"
	case group == GroupOS && id == CmdOSReset:
		return "reset"
	case group == GroupOS && id == CmdOSParams:
		return "MCUmgr params"
	case group == GroupImage && id == CmdImageState:
		return "image state"
	case group == GroupImage && id == CmdImageUpload:
		return "image upload"
	case group == GroupImage && id == CmdImageErase:
		return "image erase"
	}
	return fmt.Sprintf("group %d command %d", group, id)
}

// Do sends one request and decodes the reply into resp (which may be nil). A request that gets
// no reply within the timeout is sent again, up to Retries times. Device errors come back as
// *DeviceError.
func (c *Client) Do(ctx context.Context, op Op, group uint16, id uint8, req, resp any) error {
	return c.do(ctx, op, group, id, req, resp, c.opts.Timeout, c.opts.Retries+1)
}

func (c *Client) do(ctx context.Context, op Op, group uint16, id uint8, req, resp any, timeout time.Duration, attempts int) error {
	if req == nil {
		req = map[string]any{}
	}
	body, err := marshalCBOR(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", commandName(group, id), err)
	}
	ch := make(chan Packet, 1)
	for attempt := 1; attempt <= attempts; attempt++ {
		seq, err := c.send(op, group, id, body, ch)
		if err != nil {
			return err
		}
		timer := time.NewTimer(timeout)
		sent := time.Now()
		select {
		case p := <-ch:
			timer.Stop()
			c.mu.Lock()
			c.lastRTT = time.Since(sent)
			c.mu.Unlock()
			if err := ResponseError(p.Header, p.Body); err != nil {
				return err
			}
			if resp != nil {
				if err := unmarshalCBOR(p.Body, resp); err != nil {
					return &MalformedError{Group: group, ID: id, Seq: seq, Err: err}
				}
			}
			return nil
		case <-timer.C:
			c.forget(seq)
			if attempt < attempts {
				c.logf("no reply to %s (seq %d) within %s, sending again", commandName(group, id), seq, timeout)
			}
		case <-ctx.Done():
			timer.Stop()
			c.forget(seq)
			return ctx.Err()
		case <-c.done:
			timer.Stop()
			return c.lostErr()
		case <-c.closed:
			timer.Stop()
			return ErrClosed
		}
	}
	return c.noReply(group, id, timeout, attempts)
}

// Echo sends text and returns the device's echo.
func (c *Client) Echo(ctx context.Context, text string) (string, error) {
	var r EchoResponse
	if err := c.Do(ctx, OpWrite, GroupOS, CmdOSEcho, EchoRequest{D: text}, &r); err != nil {
		return "", err
	}
	return r.R, nil
}

// Reset asks the device to reset. The device answers before it resets. A device that answered
// "busy" may be asked again with force.
func (c *Client) Reset(ctx context.Context, force bool) error {
	req := ResetRequest{Force: force}
	return c.Do(ctx, OpWrite, GroupOS, CmdOSReset, req, nil)
}

// Params asks the device for its SMP buffer size and count (cached after the first answer).
func (c *Client) Params(ctx context.Context) (Params, error) {
	c.mu.Lock()
	if c.params != nil {
		p := *c.params
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	var p Params
	if err := c.Do(ctx, OpRead, GroupOS, CmdOSParams, nil, &p); err != nil {
		return Params{}, err
	}
	if p.BufSize < 64 || p.BufCount < 1 {
		return Params{}, fmt.Errorf("device reports unusable buffers (buf_size %d, buf_count %d)", p.BufSize, p.BufCount)
	}
	c.mu.Lock()
	c.params = &p
	c.mu.Unlock()
	return p, nil
}

// paramsProbeTimeout bounds the single params request Upload sends: MCUboot serial recovery and
// Zephyr builds without CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS may not answer it at all, and such a
// device must not cost Timeout*(Retries+1) before the upload starts.
const paramsProbeTimeout = time.Second

// probeParams asks for the device's buffers once, briefly, for Upload. ok is false when the
// device gave no usable answer (an error code, no reply, a malformed or zero-valued reply): the
// caller then falls back to Zephyr's defaults. err is set only when the connection itself failed
// or ctx ended.
func (c *Client) probeParams(ctx context.Context) (p Params, ok bool, err error) {
	c.mu.Lock()
	if c.params != nil {
		p = *c.params
		c.mu.Unlock()
		return p, true, nil
	}
	c.mu.Unlock()
	err = c.do(ctx, OpRead, GroupOS, CmdOSParams, nil, &p, min(c.opts.Timeout, paramsProbeTimeout), 1)
	var (
		de *DeviceError
		me *MalformedError
	)
	switch {
	case err == nil:
		if p.BufSize < 64 || p.BufCount < 1 {
			c.logf("device reports unusable buffers (buf_size %d, buf_count %d)", p.BufSize, p.BufCount)
			return Params{}, false, nil
		}
		c.mu.Lock()
		c.params = &p
		c.mu.Unlock()
		return p, true, nil
	case errors.As(err, &de), errors.As(err, &me), errors.Is(err, ErrTimeout) && ctx.Err() == nil:
		c.logf("device does not report its buffers (%v)", err)
		return Params{}, false, nil
	}
	return Params{}, false, err
}

// ImageState lists the device's images.
func (c *Client) ImageState(ctx context.Context) (ImageStateResponse, error) {
	var r ImageStateResponse
	err := c.Do(ctx, OpRead, GroupImage, CmdImageState, nil, &r)
	return r, err
}

// SetImageState marks the image with hash for test (confirm false) or confirms it (confirm true).
// A nil hash with confirm true confirms the running image, or on a SUIT device starts installing
// the uploaded envelope.
func (c *Client) SetImageState(ctx context.Context, hash []byte, confirm bool) (ImageStateResponse, error) {
	var r ImageStateResponse
	err := c.Do(ctx, OpWrite, GroupImage, CmdImageState, ImageStateRequest{Hash: hash, Confirm: confirm}, &r)
	return r, err
}

// Erase erases an image slot (slot < 0: the device's default, the candidate slot).
func (c *Client) Erase(ctx context.Context, slot int) error {
	req := EraseRequest{}
	if slot >= 0 {
		req.Slot = &slot
	}
	err := c.do(ctx, OpWrite, GroupImage, CmdImageErase, req, nil, c.opts.EraseTimeout, c.opts.Retries+1)
	// A v1 device reports IMG_MGMT_ERR_INVALID_SLOT as MGMT_ERR_EINVAL (img_mgmt_translate_error_code).
	var de *DeviceError
	if slot >= 0 && errors.As(err, &de) && (de.V2 && de.Group == GroupImage && de.RC == ImgErrInvalidSlot || !de.V2 && de.RC == MgmtInvalidValue) {
		return fmt.Errorf("device has no image slot %d: %w", slot, err)
	}
	return err
}
