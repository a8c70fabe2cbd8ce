package transport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// Serial framing overhead inside one device buffer: the 2-byte length field and the 2-byte CRC
// are decoded into the same buffer as the SMP packet (Zephyr's mcumgr_serial_process_frag), so a
// packet may hold at most buf_size-4 bytes.
const serialOverhead = 4

// Fallback buffers for a device that does not answer MCUmgr params (MCUboot serial recovery,
// Zephyr without CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS): Zephyr's default buffer, no pipelining.
const (
	FallbackBufSize  = 384
	FallbackBufCount = 1
)

// minChunk is the smallest data chunk the client shrinks to on a lossy link.
const minChunk = 32

// Progress reports an upload's advance: bytes the device acknowledged so far.
type Progress struct {
	Done, Total int
	Elapsed     time.Duration
	BytesPerSec float64
	ETA         time.Duration
}

// UploadOptions tune Upload.
type UploadOptions struct {
	// Image is the image number (0: for a Nordic SUIT device, the DFU partition taking an envelope).
	Image uint
	// Upgrade asks the device to refuse an image that is not newer than the running one.
	Upgrade bool
	// Window overrides the number of requests kept in flight (default buf_count-1, at least 1: one
	// buffer stays free for the device's reply).
	Window int
	// MaxChunk, if > 0, caps the data bytes per request below what the device buffer allows.
	MaxChunk int
	// Progress, if set, is called after every acknowledged chunk.
	Progress func(Progress)
}

// UploadResult summarises an upload.
type UploadResult struct {
	Size        int           // image bytes
	Sent        int           // data bytes transmitted, resends included
	ResumedFrom int           // the offset the device resumed from (0: a fresh upload)
	Elapsed     time.Duration // from the first request to the last reply
	BytesPerSec float64       // image bytes per second
	Params      Params        // the buffers used
	ChunkSize   int           // data bytes in a full request
	Window      int           // requests in flight
	Match       *bool         // the device's SHA-256 verdict, if it gave one
}

// Upload sends data as image opts.Image. It sizes each request to fill the device's buffer,
// keeps several requests in flight, and resumes from whatever offset the device reports: a
// device that already holds part of the same image (same SHA-256) continues where it stopped, a
// device that lost its state restarts at 0. It gives up after Retries rounds without progress.
func (c *Client) Upload(ctx context.Context, data []byte, opts UploadOptions) (UploadResult, error) {
	if len(data) == 0 {
		return UploadResult{}, errors.New("image is empty: nothing to upload")
	}
	start := time.Now()
	params, ok, err := c.probeParams(ctx)
	if err != nil {
		return UploadResult{}, err
	}
	if !ok {
		c.logf("assuming %d-byte buffers and no pipelining", FallbackBufSize)
		params = Params{BufSize: FallbackBufSize, BufCount: FallbackBufCount}
	}
	u := &uploader{
		c:     c,
		data:  data,
		opts:  opts,
		sha:   sha256.Sum256(data),
		maxPk: params.BufSize - serialOverhead,
		res:   UploadResult{Size: len(data), Params: params},
		start: start,
		resp:  make(chan Packet, 256),
	}
	u.window = opts.Window
	if u.window <= 0 {
		u.window = max(1, params.BufCount-1)
	}
	u.res.Window = u.window
	full, err := u.chunkAt(1<<20, false)
	if err != nil {
		return u.res, err
	}
	u.res.ChunkSize = full
	err = u.run(ctx)
	u.res.Elapsed = time.Since(start)
	if u.res.Elapsed > 0 {
		u.res.BytesPerSec = float64(len(data)) / u.res.Elapsed.Seconds()
	}
	return u.res, err
}

type flight struct {
	seq      uint8
	off, end int
	sentAt   time.Time
}

type uploader struct {
	c      *Client
	data   []byte
	opts   UploadOptions
	sha    [32]byte
	maxPk  int
	window int
	res    UploadResult
	start  time.Time
	resp   chan Packet

	inflight []flight
	shrink   int
	streak   int
}

// request builds the upload request for data[off:off+n].
func (u *uploader) request(off, n int, first bool) UploadRequest {
	r := UploadRequest{Image: u.opts.Image, Off: uint64(off), Data: u.data[off : off+n], Upgrade: u.opts.Upgrade && first}
	if first {
		l := uint64(len(u.data))
		r.Len = &l
		r.SHA = u.sha[:]
	}
	return r
}

// chunkAt returns the largest data length whose request at off fits the device buffer exactly:
// the CBOR overhead is measured by encoding the request, not estimated.
func (u *uploader) chunkAt(off int, first bool) (int, error) {
	probe := u.request(0, 0, first)
	probe.Off = uint64(off)
	empty, err := marshalCBOR(probe)
	if err != nil {
		return 0, err
	}
	fixed := HeaderSize + len(empty) - 1 // minus the empty byte string's 1-byte head
	n := u.maxPk - fixed - 1
	for n > 0 && fixed+bstrHead(n)+n > u.maxPk {
		n--
	}
	if n <= 0 {
		return 0, fmt.Errorf("device buffer of %d bytes is too small for an upload request", u.maxPk+serialOverhead)
	}
	fit := n
	if u.opts.MaxChunk > 0 {
		n = min(n, u.opts.MaxChunk)
	}
	if u.shrink > 0 {
		n = max(min(n, minChunk), n>>u.shrink)
	}
	if first {
		// MCUboot checks the image header (32 bytes) in the first chunk: never send less, however
		// small MaxChunk or however much a lossy link shrank the chunks.
		n = max(n, min(fit, minChunk))
	}
	return n, nil
}

// bstrHead is the size of a CBOR byte string head for n bytes.
func bstrHead(n int) int {
	switch {
	case n < 24:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	case n < 1<<32:
		return 5
	}
	return 9
}

func (u *uploader) abandon() {
	for _, f := range u.inflight {
		u.c.forget(f.seq)
	}
	u.inflight = u.inflight[:0]
}

func (u *uploader) sendAt(off int) (int, error) {
	first := off == 0
	n, err := u.chunkAt(off, first)
	if err != nil {
		return 0, err
	}
	n = min(n, len(u.data)-off)
	body, err := marshalCBOR(u.request(off, n, first))
	if err != nil {
		return 0, err
	}
	seq, err := u.c.send(OpWrite, GroupImage, CmdImageUpload, body, u.resp)
	if err != nil {
		return 0, err
	}
	u.inflight = append(u.inflight, flight{seq: seq, off: off, end: off + n, sentAt: time.Now()})
	u.res.Sent += n
	return n, nil
}

func (u *uploader) progress(done int) {
	if u.opts.Progress == nil {
		return
	}
	el := time.Since(u.start)
	p := Progress{Done: done, Total: len(u.data), Elapsed: el}
	if el > 0 {
		p.BytesPerSec = float64(done-u.res.ResumedFrom) / el.Seconds()
	}
	if p.BytesPerSec > 0 {
		p.ETA = time.Duration(float64(len(u.data)-done) / p.BytesPerSec * float64(time.Second))
	}
	u.opts.Progress(p)
}

// run drives the upload. Replies are matched to requests by sequence number; a reply to a later
// request speaks for earlier ones whose replies were lost. Waits adapt to the measured round trip
// (like TCP's retransmission timer), so a lost request costs a few round trips, not a full timeout.
// The upload gives up when the device has not answered Retries+1 resends over at least Timeout, or
// has not advanced for (Retries+1)*Timeout: bounded, however lossy the link.
func (u *uploader) run(ctx context.Context) error {
	defer u.abandon()
	total := len(u.data)
	acked, next := 0, 0
	timeout := u.c.opts.Timeout
	now := time.Now()
	lastReply, lastProgress := now, now
	silent := 0 // retransmission timeouts since the last reply
	replied := false
	highest := 0 // the end of the furthest request sent: an offset beyond it is a true resume
	// Seed the round-trip estimate from the params exchange, if there was one.
	u.c.mu.Lock()
	srtt := u.c.lastRTT
	u.c.mu.Unlock()
	// rto is the wait before the window is sent again, doubled after every silent wait (like
	// TCP's retransmission timer) and capped at Timeout. Without a round-trip sample it starts at
	// min(Timeout, 1 s), as TCP does: a guessed 20 ms is shorter than one full request takes on a
	// 115200-baud line. The offset-0 request makes MCUboot erase the slot before it answers
	// (seconds), so until the device first answers it is resent only every EraseTimeout/(Retries+1):
	// the last copy goes out as the erase timeout runs out.
	rto := func() time.Duration {
		floor := u.c.opts.MinRetransmit
		if floor <= 0 {
			floor = 20 * time.Millisecond
		}
		base := min(timeout, time.Second)
		if srtt > 0 {
			base = max(floor, 4*srtt+floor)
		}
		d := min(timeout, base<<min(silent, 10))
		if len(u.inflight) > 0 && u.inflight[0].off == 0 && !replied {
			d = max(d, u.c.opts.EraseTimeout/time.Duration(u.c.opts.Retries+1))
		}
		return d
	}
	cwnd := u.window // requests in flight now: 1 after a loss, back to the window as replies come
	setback := func(why string) error {
		u.shrink = min(u.shrink+1, 4)
		cwnd = 1
		u.streak = 0
		if d := time.Since(lastProgress); d >= time.Duration(u.c.opts.Retries+1)*timeout {
			return fmt.Errorf("%w: %s; stuck at offset %d of %d for %s: check the cable and the port; pushing again resumes from the device's offset",
				ErrNoProgress, why, acked, total, d.Round(time.Millisecond))
		}
		u.c.logf("upload: %s at offset %d, resending", why, acked)
		return nil
	}
	for {
		// Fill the window. The request at offset 0 carries len and sha and may make the device
		// resume elsewhere, so nothing is pipelined behind it.
		for len(u.inflight) < cwnd && next < total {
			if next == 0 && len(u.inflight) > 0 {
				break
			}
			startReq := next == 0
			n, err := u.sendAt(next)
			if err != nil {
				return fmt.Errorf("upload interrupted at offset %d of %d: %w", acked, total, err)
			}
			next += n
			highest = max(highest, next)
			if startReq {
				break // wait for the device's answer to the offset-0 request
			}
		}
		if len(u.inflight) == 0 {
			return fmt.Errorf("upload stalled at offset %d of %d", acked, total)
		}
		timer := time.NewTimer(time.Until(u.inflight[0].sentAt.Add(rto())))
		var p Packet
		select {
		case p = <-u.resp:
			timer.Stop()
		case <-timer.C:
			select {
			case p = <-u.resp: // the reply came while we were busy writing
			default:
			}
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("upload cancelled at offset %d of %d: %w (pushing again resumes)", acked, total, ctx.Err())
		case <-u.c.done:
			timer.Stop()
			return fmt.Errorf("upload interrupted at offset %d of %d: %w", acked, total, u.c.lostErr())
		case <-u.c.closed:
			timer.Stop()
			return ErrClosed
		}
		if p.Body == nil && p.Seq == 0 && p.Group == 0 {
			// No reply within the retransmission timeout: send the window again from acked.
			waited := rto()
			u.abandon()
			next = acked
			silent++
			bound := timeout
			if !replied {
				bound = max(timeout, u.c.opts.EraseTimeout) // the device may be erasing its slot
			}
			if silent > u.c.opts.Retries && time.Since(lastReply) >= bound {
				err := fmt.Errorf("%w within %s to image upload at offset %d of %d: check the port and that the device runs an SMP server; pushing again resumes",
					ErrTimeout, bound, acked, total)
				return u.c.noReplyUpload(err)
			}
			if replied {
				if err := setback(fmt.Sprintf("no reply within %s", waited.Round(time.Millisecond))); err != nil {
					return err
				}
			} else {
				// Not yet a sign of a stuck upload (the device may still be erasing), but the
				// request may have been damaged on the line: send a shorter one.
				u.shrink = min(u.shrink+1, 4)
				u.c.logf("upload: no reply to the first request within %s, sending it again", waited.Round(time.Millisecond))
			}
			continue
		}
		idx := -1
		for i, f := range u.inflight {
			if f.seq == p.Seq {
				idx = i
				break
			}
		}
		if idx < 0 {
			continue // a reply to a request given up on
		}
		f := u.inflight[idx]
		lastReply = time.Now()
		silent = 0
		replied = true
		if sample := lastReply.Sub(f.sentAt); srtt == 0 {
			srtt = sample
		} else if f.off != 0 { // the offset-0 reply waits for the erase: not a round trip
			srtt += (sample - srtt) / 8
		}
		for _, older := range u.inflight[:idx] {
			u.c.forget(older.seq) // their replies were lost; this later reply speaks for them
		}
		u.inflight = append(u.inflight[:0], u.inflight[idx+1:]...)
		if err := ResponseError(p.Header, p.Body); err != nil {
			var de *DeviceError
			if errors.As(err, &de) && de.Busy() {
				u.abandon()
				next = acked
				if ferr := setback("device busy"); ferr != nil {
					return fmt.Errorf("upload at offset %d: %w", acked, err)
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("device refused the upload at offset %d: %w", f.off, err)
		}
		var r UploadResponse
		if err := unmarshalCBOR(p.Body, &r); err != nil {
			return &MalformedError{Group: GroupImage, ID: CmdImageUpload, Seq: p.Seq, Err: err}
		}
		if r.Off > uint64(total) {
			return fmt.Errorf("device reports offset %d beyond the image's %d bytes: erase the slot and push again", r.Off, total)
		}
		off := int(r.Off)
		switch {
		case off == f.end:
			acked = off
			lastProgress = time.Now()
			u.streak++
			if cwnd < u.window && u.streak%4 == 0 {
				cwnd++
			}
			if u.shrink > 0 && u.streak >= 16 {
				u.shrink--
				u.streak = 0
			}
		default:
			// The device is somewhere else: a request was lost (it repeats the offset it expects),
			// it resumes a previous upload of the same image, or it restarted (offset 0).
			if f.off == 0 && off > highest && acked == 0 {
				u.res.ResumedFrom = off
				u.c.logf("device already holds %d bytes of this image: resuming", off)
			}
			if off > acked {
				lastProgress = time.Now()
			} else if err := setback(fmt.Sprintf("device expects offset %d (a request was lost)", off)); err != nil {
				return err
			}
			u.abandon()
			acked, next = off, off
		}
		u.progress(acked)
		if acked == total {
			u.abandon() // requests still in flight, if any, are moot
			u.res.Match = r.Match
			if r.Match != nil && !*r.Match {
				return fmt.Errorf("%w: the device's SHA-256 check failed: push again", ErrImageMismatch)
			}
			return nil
		}
	}
}

func (c *Client) noReplyUpload(err error) error {
	c.mu.Lock()
	last := c.lastFrame
	c.mu.Unlock()
	if last != nil {
		err = fmt.Errorf("%w (last rejected frame: %v)", err, last)
	}
	return &wrapTimeout{err}
}

type wrapTimeout struct{ err error }

func (e *wrapTimeout) Error() string   { return e.err.Error() }
func (e *wrapTimeout) Unwrap() []error { return []error{e.err, ErrTimeout} }

// UploadCeiling returns the best possible upload throughput, in image bytes per second, over a
// serial line at baud for a device with bufSize-byte buffers and lines of lineMax bytes: full
// requests (as this client sends them, in the middle of a large image) back to back, replies
// travelling the other way for free. It is the yardstick for benchmarks.
func UploadCeiling(baud, bufSize, lineMax int) float64 {
	u := &uploader{data: make([]byte, 1<<20), maxPk: bufSize - serialOverhead}
	n, err := u.chunkAt(1<<15, false)
	if err != nil {
		return 0
	}
	probe, _ := marshalCBOR(u.request(1<<15, n, false))
	wire := FrameSize(HeaderSize+len(probe), lineMax)
	return float64(n) / float64(wire) * float64(baud) / 10
}
