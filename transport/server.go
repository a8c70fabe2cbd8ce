package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// Device is the device side of SMP: what a simulated (or bridged) device implements so that
// Server can answer an SMP client for it. Errors a method returns reach the client as their code
// when they are *DeviceError (see MgmtError and ImageError), else as MGMT_ERR_EUNKNOWN with the
// error's text as reason.
//
// The server runs the upload protocol itself (offset checks, resume of an upload with the same
// SHA-256, restart at offset 0, the SHA-256 check at the end), so a device only stores bytes:
// BeginUpload prepares the target area, WriteUpload receives the chunks in order, EndUpload is
// called once all bytes arrived and their SHA-256 matched the one the client announced, and
// AbortUpload when the upload is abandoned (hash mismatch, restart, erase).
type Device interface {
	// Params returns the device's SMP buffer size (SMP packet plus the serial length field and
	// CRC) and buffer count.
	Params() Params
	ImageState() ([]ImageSlot, error)
	// SetState marks an image for test (confirm false) or confirms it; hash nil names the
	// uploaded candidate or the running image, as the device's semantics say.
	SetState(hash []byte, confirm bool) error
	BeginUpload(image, size int, upgrade bool) error
	WriteUpload(image, off int, data []byte) error
	EndUpload(image int) error
	AbortUpload(image int)
	// Erase erases a slot (slot < 0: the device's default slot).
	Erase(slot int) error
	// Reset is asked before the reply is sent; a device that accepts returns the action that
	// performs the reset, which the server runs after the reply went out (a device answers, then
	// resets). A device that refuses returns MgmtError(MgmtBusy, ...).
	Reset(force bool) (after func(), err error)
	Echo(text string) (string, error)
}

// UploadInspector is implemented by a Device that inspects the first chunk of an upload before
// the server does anything else with it, as Zephyr's img_mgmt_upload_inspect checks the data
// length, "len" and the MCUboot header magic before resuming or erasing. An error is the reply.
type UploadInspector interface {
	InspectUpload(req UploadRequest) error
}

// Server answers SMP requests on behalf of a Device. One Server keeps the device's upload state
// across connections, so a client that reconnects (a cable pulled and plugged back) resumes.
type Server struct {
	Device Device
	// LineMax is the longest line the device accepts and sends (default 127). Longer lines are
	// dropped, as Zephyr's UART receiver does.
	LineMax int
	// Log, if set, receives the frames the server drops and why.
	Log func(msg string)

	mu sync.Mutex // serialises request handling
	up uploadState
}

type uploadState struct {
	active bool
	image  int
	size   int
	off    int
	sha    []byte
	h      hash.Hash
}

func (s *Server) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(fmt.Sprintf(format, args...))
	}
}

func (s *Server) lineMax() int {
	if s.LineMax <= 0 {
		return DefaultLineMax
	}
	return s.LineMax
}

// Serve reads requests from rw and writes replies until rw fails or ctx is cancelled. The device
// holds at most buf_count-1 complete requests waiting (one buffer is kept for the reply); more
// are dropped, as a device out of buffers does. To stop Serve promptly, cancel ctx and close rw.
func (s *Server) Serve(ctx context.Context, rw io.ReadWriter) error {
	p := s.Device.Params()
	queue := make(chan []byte, max(1, p.BufCount-1))
	readErr := make(chan error, 1)
	go func() {
		fr := NewFrameReader(rw)
		fr.LineMax = s.lineMax()
		fr.MaxPacket = p.BufSize
		for {
			pkt, err := fr.ReadPacket()
			if err != nil {
				var fe *FrameError
				if errors.As(err, &fe) {
					s.logf("dropped a request: %v", err)
					continue
				}
				readErr <- err
				close(queue)
				return
			}
			select {
			case queue <- pkt:
			default:
				s.logf("dropped a request: all %d buffers are in use", p.BufCount)
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case pkt, ok := <-queue:
			if !ok {
				err := <-readErr
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			reply, after := s.Handle(pkt)
			if reply == nil {
				continue
			}
			wire, err := EncodeFrames(reply, s.lineMax())
			if err != nil {
				return err
			}
			if _, err := rw.Write(wire); err != nil {
				return err
			}
			if after != nil {
				after()
			}
		}
	}
}

// Handle answers one SMP request packet (header and body) and returns the reply packet, or nil
// for a packet that gets no reply (a response, an unparsable packet). The returned function, if
// any, must run after the reply was sent (a reset).
func (s *Server) Handle(pkt []byte) (reply []byte, after func()) {
	p, err := ParsePacket(pkt)
	if err != nil {
		s.logf("dropped a request: %v", err)
		return nil, nil
	}
	if p.Op != OpRead && p.Op != OpWrite {
		return nil, nil
	}
	// The reply header as Zephyr's smp_make_rsp_hdr builds it: no flags, the request's version
	// capped at the newest one we speak.
	h := p.Header
	h.Op++
	h.Flags = 0
	h.Version = min(p.Version, Version2)
	s.mu.Lock()
	defer s.mu.Unlock()
	var body any
	if p.Version > Version2 {
		body = map[string]any{"rc": MgmtUnsupportedNew}
	} else {
		body, after, err = s.dispatch(p)
		if err != nil {
			body = errorBody(err, h.Version)
			after = nil
		}
	}
	b, err := marshalCBOR(body)
	if err != nil {
		b, _ = marshalCBOR(map[string]any{"rc": MgmtUnknown})
	}
	out, err := MarshalPacket(h, b)
	if err != nil {
		return nil, nil
	}
	return out, after
}

func errorBody(err error, version uint8) map[string]any {
	var de *DeviceError
	if !errors.As(err, &de) {
		return map[string]any{"rc": MgmtUnknown, "rsn": err.Error()}
	}
	if version == Version2 && de.V2 {
		return map[string]any{"err": map[string]any{"group": de.Group, "rc": de.RC}}
	}
	m := map[string]any{"rc": de.legacyCode()}
	switch {
	case de.Reason != "":
		m["rsn"] = de.Reason
	case de.V2:
		// A v1 client only sees the coarse MGMT_ERR code: say what happened in "rsn", as Zephyr
		// does with CONFIG_MCUMGR_GRP_IMG_VERBOSE_ERR.
		m["rsn"] = de.Words()
	}
	return m
}

var errNotSupported = MgmtError(MgmtNotSupported, "")

func (s *Server) decode(p Packet, v any) error {
	if err := unmarshalCBOR(p.Body, v); err != nil {
		return MgmtError(MgmtInvalidValue, "malformed CBOR request: "+err.Error())
	}
	return nil
}

func (s *Server) dispatch(p Packet) (any, func(), error) {
	d := s.Device
	switch {
	case p.Group == GroupOS && p.ID == CmdOSEcho:
		var req EchoRequest
		if err := s.decode(p, &req); err != nil {
			return nil, nil, err
		}
		r, err := d.Echo(req.D)
		return EchoResponse{R: r}, nil, err
	case p.Group == GroupOS && p.ID == CmdOSReset && p.Op == OpWrite:
		var req resetRequestIn
		if err := s.decode(p, &req); err != nil {
			return nil, nil, err
		}
		after, err := d.Reset(req.force())
		if err != nil {
			return nil, nil, err
		}
		s.up = uploadState{} // RAM state does not survive a reset
		return struct{}{}, after, nil
	case p.Group == GroupOS && p.ID == CmdOSParams && p.Op == OpRead:
		return d.Params(), nil, nil
	case p.Group == GroupImage && p.ID == CmdImageState:
		if p.Op == OpWrite {
			var req ImageStateRequest
			if err := s.decode(p, &req); err != nil {
				return nil, nil, err
			}
			if err := d.SetState(req.Hash, req.Confirm); err != nil {
				return nil, nil, err
			}
		}
		imgs, err := d.ImageState()
		if imgs == nil {
			imgs = []ImageSlot{}
		}
		split := 0 // Zephyr always sends splitStatus 0 (split images are unsupported)
		return ImageStateResponse{Images: imgs, SplitStatus: &split}, nil, err
	case p.Group == GroupImage && p.ID == CmdImageUpload && p.Op == OpWrite:
		return s.upload(p)
	case p.Group == GroupImage && p.ID == CmdImageErase && p.Op == OpWrite:
		var req EraseRequest
		if err := s.decode(p, &req); err != nil {
			return nil, nil, err
		}
		slot := -1
		if req.Slot != nil {
			slot = *req.Slot
		}
		if s.up.active {
			d.AbortUpload(s.up.image)
			s.up = uploadState{}
		}
		return struct{}{}, nil, d.Erase(slot)
	}
	return nil, nil, errNotSupported
}

// upload runs Zephyr's img_mgmt upload state machine.
func (s *Server) upload(p Packet) (any, func(), error) {
	var in uploadRequestIn
	if err := s.decode(p, &in); err != nil {
		return nil, nil, err
	}
	if in.Off == nil {
		return nil, nil, MgmtError(MgmtInvalidValue, "upload request without \"off\"")
	}
	req := UploadRequest{Image: in.Image, Len: in.Len, Off: *in.Off, SHA: in.SHA, Data: in.Data, Upgrade: in.Upgrade}
	d := s.Device
	up := &s.up
	image := int(req.Image)
	if req.Off == 0 {
		if in, ok := d.(UploadInspector); ok {
			if err := in.InspectUpload(req); err != nil {
				if up.active {
					d.AbortUpload(up.image)
					*up = uploadState{}
				}
				return nil, nil, err
			}
		}
		if req.Len == nil {
			return nil, nil, ImageError(ImgErrInvalidLength, "len is required at offset 0")
		}
		size := *req.Len
		if size > 1<<31 {
			return nil, nil, ImageError(ImgErrImageTooLarge, "image too large")
		}
		if up.active && up.image == image && up.size == int(size) && len(req.SHA) > 0 &&
			bytes.Equal(up.sha, req.SHA) && up.off > 0 {
			// Same image as the interrupted upload: resume where it stopped.
			return UploadResponse{Off: uint64(up.off)}, nil, nil
		}
		if up.active {
			d.AbortUpload(up.image)
			*up = uploadState{}
		}
		if len(req.SHA) > sha256.Size {
			return nil, nil, MgmtError(MgmtInvalidValue, "sha longer than 32 bytes")
		}
		if err := d.BeginUpload(image, int(size), req.Upgrade); err != nil {
			return nil, nil, err
		}
		*up = uploadState{active: true, image: image, size: int(size), sha: bytes.Clone(req.SHA), h: sha256.New()}
	} else if !up.active || up.image != image || req.Off != uint64(up.off) {
		// Not the offset we expect: tell the client where to continue (0 = start over).
		return UploadResponse{Off: uint64(up.off)}, nil, nil
	}
	if up.off+len(req.Data) > up.size {
		d.AbortUpload(image)
		*up = uploadState{}
		return nil, nil, ImageError(ImgErrDataOverrun, "more data than the announced length")
	}
	if len(req.Data) > 0 {
		if err := d.WriteUpload(image, up.off, req.Data); err != nil {
			d.AbortUpload(image)
			*up = uploadState{}
			return nil, nil, err
		}
		up.h.Write(req.Data)
		up.off += len(req.Data)
	}
	if up.off < up.size {
		return UploadResponse{Off: uint64(up.off)}, nil, nil
	}
	// Complete: check the announced SHA-256 before the device may use the image. A mismatch is
	// not an error reply: as in Zephyr's img_mgmt, the device answers {"off": size, "match":
	// false} and drops the image, so a later confirm finds nothing to install.
	resp := UploadResponse{Off: uint64(up.off)}
	if len(up.sha) > 0 {
		match := bytes.Equal(up.h.Sum(nil)[:len(up.sha)], up.sha)
		resp.Match = &match
		if !match {
			s.logf("upload of image %d complete but its SHA-256 differs from the announced one: dropped", image)
			d.AbortUpload(image)
			*up = uploadState{}
			return resp, nil, nil
		}
	}
	*up = uploadState{}
	if err := d.EndUpload(image); err != nil {
		return nil, nil, err
	}
	return resp, nil, nil
}
