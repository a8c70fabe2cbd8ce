package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// memStore is a small but real image store behind the SMP server: two slots (0 running, 1
// candidate), a candidate area that receives chunks in order, test/confirm flags and a reset that
// swaps a pending candidate in, the way MCUboot does.
type memStore struct {
	mu       sync.Mutex
	params   Params
	capacity int
	slots    [2][]byte
	area     []byte // candidate being written
	pending  bool
	confirm  bool
	resets   int
	writes   int
	failNext error         // returned by the next WriteUpload
	erase    time.Duration // how long BeginUpload takes (MCUboot erases the slot at offset 0)
	forced   bool          // force flag of the last reset
}

func newMemStore(bufSize, bufCount int) *memStore {
	return &memStore{params: Params{BufSize: bufSize, BufCount: bufCount}, capacity: 256 << 10,
		slots: [2][]byte{[]byte("running firmware"), nil}}
}

func (m *memStore) Params() Params { return m.params }

func (m *memStore) ImageState() ([]ImageSlot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ImageSlot
	for i, s := range m.slots {
		if s == nil {
			continue
		}
		h := sha256.Sum256(s)
		out = append(out, ImageSlot{Slot: i, Version: fmt.Sprintf("0.0.%d", i), Hash: h[:], Bootable: true,
			Active: i == 0, Confirmed: i == 0, Pending: i == 1 && m.pending, Permanent: i == 1 && m.pending && m.confirm})
	}
	return out, nil
}

func (m *memStore) SetState(hash []byte, confirm bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.slots[1] == nil {
		return ImageError(ImgErrNoImage, "")
	}
	h := sha256.Sum256(m.slots[1])
	if hash != nil && !bytes.Equal(hash, h[:]) {
		return ImageError(ImgErrHashNotFound, "")
	}
	m.pending, m.confirm = true, confirm
	return nil
}

func (m *memStore) BeginUpload(image, size int, upgrade bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if image != 0 {
		return ImageError(ImgErrInvalidSlot, "only image 0")
	}
	if size > m.capacity {
		return ImageError(ImgErrImageTooLarge, "")
	}
	time.Sleep(m.erase)
	m.area = make([]byte, 0, size)
	return nil
}

func (m *memStore) WriteUpload(image, off int, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failNext; err != nil {
		m.failNext = nil
		return err
	}
	if off != len(m.area) {
		return fmt.Errorf("write at %d, area holds %d", off, len(m.area))
	}
	m.writes++
	m.area = append(m.area, data...)
	return nil
}

func (m *memStore) EndUpload(image int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slots[1] = m.area
	m.area, m.pending = nil, false
	return nil
}

func (m *memStore) AbortUpload(image int) {
	m.mu.Lock()
	m.area = nil
	m.mu.Unlock()
}

func (m *memStore) Erase(slot int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slot < 0 {
		slot = 1
	}
	if slot > 1 {
		return ImageError(ImgErrInvalidSlot, "")
	}
	if slot == 0 {
		return ImageError(ImgErrConfirmationDenied, "cannot erase the running image")
	}
	m.slots[1], m.pending = nil, false
	return nil
}

func (m *memStore) Reset(force bool) (func(), error) {
	m.mu.Lock()
	m.forced = force
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.resets++
		if m.pending {
			m.slots[0], m.slots[1] = m.slots[1], m.slots[0]
			m.pending = false
		}
	}, nil
}

func (m *memStore) Echo(s string) (string, error) { return s, nil }

func (m *memStore) candidate() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.slots[1]
}

// ptyLink is a real pseudo-terminal in raw mode with an SMP server on the master side, the way
// `suit sim serve --pty` runs; clients open the slave like a board's serial port.
type ptyLink struct {
	master, slave *os.File
	srv           *Server
	done          chan error
	cancel        context.CancelFunc
}

func startPty(t testing.TB, dev Device, lineMax int) *ptyLink {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &ptyLink{master: master, slave: slave, srv: &Server{Device: dev, LineMax: lineMax}, done: make(chan error, 1), cancel: cancel}
	go func() { l.done <- l.srv.Serve(ctx, master) }()
	t.Cleanup(func() {
		cancel()
		master.Close()
		slave.Close()
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	})
	return l
}

// open opens the slave side again, as a client opening the port.
func (l *ptyLink) open(t testing.TB) *os.File {
	f, err := os.OpenFile(l.slave.Name(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newTestClient(t testing.TB, rw io.ReadWriter, opts ClientOptions) *Client {
	c, err := NewClient(rw, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testImage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>8)
	}
	return b
}

func TestClientServerOverPty(t *testing.T) {
	dev := newMemStore(384, 4)
	l := startPty(t, dev, DefaultLineMax)
	c := newTestClient(t, l.open(t), ClientOptions{Timeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if r, err := c.Echo(ctx, "hello, board"); err != nil || r != "hello, board" {
		t.Fatalf("echo: %q %v", r, err)
	}
	long := strings.Repeat("ä", 150) // 300 bytes: a multi-line packet
	if r, err := c.Echo(ctx, long); err != nil || r != long {
		t.Fatalf("long echo: %v", err)
	}
	p, err := c.Params(ctx)
	if err != nil || p != (Params{384, 4}) {
		t.Fatalf("params: %+v %v", p, err)
	}
	img := testImage(20_000)
	var last Progress
	res, err := c.Upload(ctx, img, UploadOptions{Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dev.candidate(), img) {
		t.Fatal("device holds different bytes")
	}
	if res.Match == nil || !*res.Match || res.Window != 3 || last.Done != len(img) || last.Total != len(img) {
		t.Fatalf("result %+v, last progress %+v", res, last)
	}
	st, err := c.ImageState(ctx)
	if err != nil || len(st.Images) != 2 {
		t.Fatalf("state: %+v %v", st, err)
	}
	sum := sha256.Sum256(img)
	if !bytes.Equal(st.Images[1].Hash, sum[:]) {
		t.Fatal("slot 1 hash")
	}
	st, err = c.SetImageState(ctx, sum[:], true)
	if err != nil || !st.Images[1].Pending || !st.Images[1].Permanent {
		t.Fatalf("confirm: %+v %v", st, err)
	}
	if err := c.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}
	st, err = c.ImageState(ctx)
	if err != nil || !bytes.Equal(st.Images[0].Hash, sum[:]) {
		t.Fatalf("after reset: %+v %v", st, err)
	}
	// Errors in words.
	err = c.Erase(ctx, 7)
	if err == nil || !strings.Contains(err.Error(), "device has no image slot 7") {
		t.Fatalf("erase slot 7: %v", err)
	}
	if err := c.Erase(ctx, -1); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetImageState(ctx, nil, true)
	var de *DeviceError
	if !errors.As(err, &de) || de.RC != MgmtNoEntry || !strings.Contains(err.Error(), "no such entry") {
		t.Fatalf("confirm without image: %v", err)
	}
	err = c.Do(ctx, OpRead, 9, 9, nil, nil)
	if !errors.As(err, &de) || de.RC != MgmtNotSupported || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("unknown group: %v", err)
	}
}

func TestVersion2Errors(t *testing.T) {
	dev := newMemStore(384, 4)
	l := startPty(t, dev, DefaultLineMax)
	c := newTestClient(t, l.open(t), ClientOptions{Timeout: 2 * time.Second, Version: Version2})
	ctx := context.Background()
	err := c.Erase(ctx, 5)
	var de *DeviceError
	if !errors.As(err, &de) || !de.V2 || de.Group != GroupImage || de.RC != ImgErrInvalidSlot {
		t.Fatalf("v2 erase: %#v", err)
	}
	if !strings.Contains(err.Error(), "IMG_MGMT_ERR_INVALID_SLOT") || !strings.Contains(err.Error(), "device has no image slot 5") {
		t.Fatalf("v2 words: %v", err)
	}
}

// recorder keeps a copy of everything written through it.
type recorder struct {
	io.ReadWriter
	mu  sync.Mutex
	out bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.out.Write(b)
	r.mu.Unlock()
	return r.ReadWriter.Write(b)
}

// Every upload request but the last fills the device buffer (to the byte, or one byte short where
// a CBOR length head grows), and every line but the last of a packet is exactly the line limit.
func TestUploadFillsBuffers(t *testing.T) {
	for _, tc := range []struct{ buf, line int }{{384, 127}, {2048, 127}, {1024, 512}, {4096, 4096}} {
		t.Run(fmt.Sprintf("buf%d_line%d", tc.buf, tc.line), func(t *testing.T) {
			dev := newMemStore(tc.buf, 4)
			l := startPty(t, dev, tc.line)
			rec := &recorder{ReadWriter: l.open(t)}
			// A 10 s reply timeout: no retransmission (a shorter request) on a loaded machine.
			c := newTestClient(t, rec, ClientOptions{LineMax: tc.line, Timeout: 10 * time.Second})
			img := testImage(70_000) // offsets past 65535 change the CBOR width of "off"
			if _, err := c.Upload(context.Background(), img, UploadOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dev.candidate(), img) {
				t.Fatal("device holds different bytes")
			}
			fr := NewFrameReader(bytes.NewReader(rec.out.Bytes()))
			var sizes []int
			for {
				pkt, err := fr.ReadPacket()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				p, _ := ParsePacket(pkt)
				if p.Group == GroupImage && p.ID == CmdImageUpload {
					sizes = append(sizes, len(pkt))
					// MCUboot's decoder wants >= 3 members; newtmgr always sends "image".
					var m map[string]any
					if err := unmarshalCBOR(p.Body, &m); err != nil {
						t.Fatal(err)
					}
					if _, ok := m["image"]; !ok || len(m) < 3 {
						t.Fatalf("upload request %d has members %v: want image, off, data at least", len(sizes), keys(m))
					}
				}
			}
			for i, n := range sizes[:len(sizes)-1] {
				if n > tc.buf-4 || n < tc.buf-5 {
					t.Fatalf("request %d: %d bytes, buffer allows %d", i, n, tc.buf-4)
				}
			}
			for _, line := range splitLines(rec.out.Bytes()) {
				if len(line) > tc.line {
					t.Fatalf("line of %d bytes > %d", len(line), tc.line)
				}
			}
		})
	}
}

// An interrupted upload resumes from the device's offset; a device that lost its upload state
// makes the client start over with len and sha.
func TestUploadResumeAndRestart(t *testing.T) {
	dev := newMemStore(384, 4)
	l := startPty(t, dev, DefaultLineMax)
	img := testImage(30_000)

	c1 := newTestClient(t, l.open(t), ClientOptions{Timeout: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c1.Upload(ctx, img, UploadOptions{Progress: func(p Progress) {
		if p.Done > len(img)/2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "pushing again resumes") {
		t.Fatalf("cancel: %v", err)
	}
	c1.Close()

	c2 := newTestClient(t, l.open(t), ClientOptions{Timeout: 2 * time.Second})
	res, err := c2.Upload(context.Background(), img, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom <= len(img)/2 || !bytes.Equal(dev.candidate(), img) {
		t.Fatalf("resumed from %d", res.ResumedFrom)
	}

	// A different image restarts from 0 (the device must not splice two images).
	img2 := testImage(10_000)
	img2[0] ^= 0xFF
	res, err = c2.Upload(context.Background(), img2, UploadOptions{})
	if err != nil || res.ResumedFrom != 0 || !bytes.Equal(dev.candidate(), img2) {
		t.Fatalf("second image: %+v %v", res, err)
	}

	// The device resets mid-upload (its RAM state is gone): it answers off=0, the client restarts.
	c2.Close() // one reader per port
	var once sync.Once
	c3 := newTestClient(t, l.open(t), ClientOptions{Timeout: 2 * time.Second})
	res, err = c3.Upload(context.Background(), img, UploadOptions{Progress: func(p Progress) {
		if p.Done > 5000 {
			once.Do(func() {
				l.srv.mu.Lock()
				l.srv.up = uploadState{}
				l.srv.mu.Unlock()
			})
		}
	}})
	if err != nil || !bytes.Equal(dev.candidate(), img) {
		t.Fatalf("restart: %+v %v", res, err)
	}

	// A flash write error reaches the client in words.
	dev.mu.Lock()
	dev.failNext = ImageError(ImgErrFlashWriteFailed, "")
	dev.mu.Unlock()
	_, err = c3.Upload(context.Background(), img2, UploadOptions{})
	if err == nil || !strings.Contains(err.Error(), "flash write failed") {
		t.Fatalf("write failure: %v", err)
	}
}

func TestNoDeviceTimesOut(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skip(err)
	}
	defer master.Close()
	term.MakeRaw(int(slave.Fd()))
	go io.Copy(io.Discard, master) // a port with nothing answering
	c := newTestClient(t, slave, ClientOptions{Timeout: 100 * time.Millisecond, EraseTimeout: 300 * time.Millisecond, Retries: 2})
	_, err = c.Echo(context.Background(), "x")
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "check the port") || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("err = %v", err)
	}
	_, err = c.Upload(context.Background(), testImage(100), UploadOptions{})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("upload: %v", err)
	}
}

func TestPacedUploadOverPty(t *testing.T) {
	dev := newMemStore(384, 4)
	l := startPty(t, dev, DefaultLineMax)
	c := newTestClient(t, NewPaced(l.open(t), 115200), ClientOptions{Timeout: 2 * time.Second})
	img := testImage(3000)
	res, err := c.Upload(context.Background(), img, UploadOptions{})
	if err != nil || !bytes.Equal(dev.candidate(), img) {
		t.Fatalf("%+v %v", res, err)
	}
	// Physics, not speed: 3000 bytes cannot cross a 115200-baud line faster than its ceiling.
	if res.BytesPerSec > UploadCeiling(115200, 384, 127)*1.02 {
		t.Fatalf("paced link too fast: %.0f B/s > ceiling %.0f", res.BytesPerSec, UploadCeiling(115200, 384, 127))
	}
}

func TestUploadCeiling(t *testing.T) {
	// SMP.md: 7.77 KB/s with 384-byte buffers, 8.29 KB/s with 2 KiB ones.
	for _, c := range []struct {
		buf    int
		lo, hi float64
	}{{384, 7600, 7800}, {2048, 8200, 8320}} {
		if got := UploadCeiling(115200, c.buf, 127); got < c.lo || got > c.hi {
			t.Errorf("ceiling at %d: %.0f B/s", c.buf, got)
		}
	}
}

func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	return k
}

// dropParams loses every MCUmgr params request on its way to the device (a device without
// CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS, or MCUboot, that does not answer it) and counts them.
type dropParams struct {
	io.ReadWriter
	mu      sync.Mutex
	dropped int
}

func (d *dropParams) Write(b []byte) (int, error) {
	fr := NewFrameReader(bytes.NewReader(b))
	if pkt, err := fr.ReadPacket(); err == nil {
		if p, err := ParsePacket(pkt); err == nil && p.Group == GroupOS && p.ID == CmdOSParams {
			d.mu.Lock()
			d.dropped++
			d.mu.Unlock()
			return len(b), nil
		}
	}
	return d.ReadWriter.Write(b)
}

// A device that does not answer params, or answers it with zeros, gets an upload with Zephyr's
// default 384-byte buffer and no pipelining, after a single short params attempt.
func TestUploadParamsFallback(t *testing.T) {
	t.Run("no_answer", func(t *testing.T) {
		dev := newMemStore(384, 1)
		l := startPty(t, dev, DefaultLineMax)
		d := &dropParams{ReadWriter: l.open(t)}
		c := newTestClient(t, d, ClientOptions{Timeout: 5 * time.Second})
		img := testImage(3000)
		res, err := c.Upload(context.Background(), img, UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Params != (Params{BufSize: FallbackBufSize, BufCount: FallbackBufCount}) || res.Window != 1 {
			t.Fatalf("params %+v window %d, want the fallback", res.Params, res.Window)
		}
		if d.dropped != 1 {
			t.Fatalf("params asked %d times, want once (no retries)", d.dropped)
		}
		if !bytes.Equal(dev.candidate(), img) {
			t.Fatal("device holds different bytes")
		}
	})
	t.Run("zero_params", func(t *testing.T) {
		dev := newMemStore(0, 0)
		l := startPty(t, dev, DefaultLineMax)
		c := newTestClient(t, l.open(t), ClientOptions{Timeout: 2 * time.Second})
		img := testImage(3000)
		res, err := c.Upload(context.Background(), img, UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Params.BufSize != FallbackBufSize {
			t.Fatalf("params %+v, want the fallback", res.Params)
		}
		if !bytes.Equal(dev.candidate(), img) {
			t.Fatal("device holds different bytes")
		}
	})
}

// The offset-0 request makes the device erase its slot before it answers: the client must not
// flood it with copies meanwhile (each would be queued or dropped), and must not take its own
// copies for a resume.
func TestUploadSlowEraseNoResend(t *testing.T) {
	dev := newMemStore(384, 4)
	dev.erase = 400 * time.Millisecond
	l := startPty(t, dev, DefaultLineMax)
	rec := &recorder{ReadWriter: l.open(t)}
	c := newTestClient(t, rec, ClientOptions{Timeout: 2 * time.Second})
	img := testImage(5000)
	res, err := c.Upload(context.Background(), img, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 0 {
		t.Fatalf("ResumedFrom = %d on a fresh upload", res.ResumedFrom)
	}
	if !bytes.Equal(dev.candidate(), img) {
		t.Fatal("device holds different bytes")
	}
	fr := NewFrameReader(bytes.NewReader(rec.out.Bytes()))
	first := 0
	for {
		pkt, err := fr.ReadPacket()
		if err != nil {
			break
		}
		p, _ := ParsePacket(pkt)
		var r UploadRequest
		if p.Group == GroupImage && p.ID == CmdImageUpload && unmarshalCBOR(p.Body, &r) == nil && r.Off == 0 {
			first++
		}
	}
	if first != 1 {
		t.Fatalf("offset-0 request sent %d times during the erase, want once", first)
	}
}

// Zephyr's os_mgmt_reset decodes "force" with zcbor_bool_decode: the client sends a CBOR bool;
// the server takes a bool or, from older clients, an integer.
func TestResetForce(t *testing.T) {
	dev := newMemStore(384, 4)
	l := startPty(t, dev, DefaultLineMax)
	rec := &recorder{ReadWriter: l.open(t)}
	c := newTestClient(t, rec, ClientOptions{Timeout: 2 * time.Second})
	if err := c.Reset(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	pkt, err := NewFrameReader(bytes.NewReader(rec.out.Bytes())).ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0xa1, 0x65, 'f', 'o', 'r', 'c', 'e', 0xf5}; !bytes.Equal(pkt[HeaderSize:], want) {
		t.Fatalf("reset body % x, want % x ({\"force\": true})", pkt[HeaderSize:], want)
	}
	srv := &Server{Device: dev}
	for _, tc := range []struct {
		body []byte
		want bool
	}{
		{[]byte{0xa1, 0x65, 'f', 'o', 'r', 'c', 'e', 0xf5}, true},
		{[]byte{0xa1, 0x65, 'f', 'o', 'r', 'c', 'e', 0xf4}, false},
		{[]byte{0xa1, 0x65, 'f', 'o', 'r', 'c', 'e', 0x01}, true},
		{[]byte{0xa1, 0x65, 'f', 'o', 'r', 'c', 'e', 0x00}, false},
		{[]byte{0xa0}, false},
	} {
		req, _ := MarshalPacket(Header{Op: OpWrite, Group: GroupOS, ID: CmdOSReset}, tc.body)
		reply, _ := srv.Handle(req)
		p, err := ParsePacket(reply)
		if err != nil {
			t.Fatal(err)
		}
		if err := ResponseError(p.Header, p.Body); err != nil {
			t.Fatalf("body % x: %v", tc.body, err)
		}
		if dev.forced != tc.want {
			t.Fatalf("body % x: force %v, want %v", tc.body, dev.forced, tc.want)
		}
	}
}

// Reply headers are built as Zephyr's smp_make_rsp_hdr does: flags 0, version min(request, 2).
func TestReplyHeader(t *testing.T) {
	srv := &Server{Device: newMemStore(384, 4)}
	for _, v := range []uint8{0, 1, 2, 3} {
		req, _ := MarshalPacket(Header{Op: OpWrite, Version: v, Flags: 0x5a, Group: GroupOS, Seq: 7, ID: CmdOSEcho}, []byte{0xa1, 0x61, 'd', 0x61, 'x'})
		reply, _ := srv.Handle(req)
		p, err := ParsePacket(reply)
		if err != nil {
			t.Fatal(err)
		}
		if p.Flags != 0 || p.Version != min(v, Version2) || p.Op != OpWriteRsp || p.Seq != 7 {
			t.Fatalf("request version %d: reply header %+v", v, p.Header)
		}
	}
}

// An upload whose bytes do not match the announced SHA-256 ends, as in Zephyr, with a success
// reply {"off": size, "match": false}; the device drops the image, so it cannot be confirmed.
func TestUploadSHAMismatchReply(t *testing.T) {
	dev := newMemStore(384, 4)
	srv := &Server{Device: dev}
	img := testImage(100)
	wrong := sha256.Sum256([]byte("something else"))
	l := uint64(len(img))
	body, _ := marshalCBOR(UploadRequest{Len: &l, SHA: wrong[:], Data: img})
	req, _ := MarshalPacket(Header{Op: OpWrite, Group: GroupImage, ID: CmdImageUpload}, body)
	reply, _ := srv.Handle(req)
	p, err := ParsePacket(reply)
	if err != nil {
		t.Fatal(err)
	}
	if err := ResponseError(p.Header, p.Body); err != nil {
		t.Fatalf("mismatch answered with an error: %v", err)
	}
	var r UploadResponse
	if err := unmarshalCBOR(p.Body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Off != l || r.Match == nil || *r.Match {
		t.Fatalf("reply off %d match %v, want off %d match false", r.Off, r.Match, l)
	}
	if dev.slots[1] != nil {
		t.Fatal("the device kept a mismatching image")
	}
	if err := dev.SetState(nil, true); err == nil {
		t.Fatal("a mismatching image could be confirmed")
	}
}

// Details real devices and clients depend on: a request without "off" is refused with
// MGMT_ERR_EINVAL, the image list always carries image, hash and splitStatus 0, and the first
// chunk holds at least an MCUboot image header (32 bytes).
func TestZephyrDetails(t *testing.T) {
	dev := newMemStore(384, 4)
	srv := &Server{Device: dev}
	call := func(op Op, id uint8, body []byte) map[string]any {
		t.Helper()
		req, _ := MarshalPacket(Header{Op: op, Group: GroupImage, ID: id}, body)
		reply, _ := srv.Handle(req)
		p, err := ParsePacket(reply)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := unmarshalCBOR(p.Body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	noOff, _ := marshalCBOR(map[string]any{"image": 0, "data": []byte("abc"), "len": 3})
	if m := call(OpWrite, CmdImageUpload, noOff); m["rc"] != uint64(MgmtInvalidValue) {
		t.Fatalf("upload without off: %v, want rc 3", m)
	}
	m := call(OpRead, CmdImageState, []byte{0xa0})
	if m["splitStatus"] != uint64(0) {
		t.Fatalf("image list: splitStatus %v, want 0", m["splitStatus"])
	}
	imgs, _ := m["images"].([]any)
	if len(imgs) == 0 {
		t.Fatalf("image list: %v", m)
	}
	for _, it := range imgs {
		slot, _ := it.(map[any]any)
		if _, ok := slot["image"]; !ok {
			t.Fatalf("slot without image: %v", slot)
		}
		if _, ok := slot["hash"]; !ok {
			t.Fatalf("slot without hash: %v", slot)
		}
	}

	l := startPty(t, dev, DefaultLineMax)
	rec := &recorder{ReadWriter: l.open(t)}
	c := newTestClient(t, rec, ClientOptions{Timeout: 2 * time.Second})
	img := testImage(400)
	if _, err := c.Upload(context.Background(), img, UploadOptions{MaxChunk: 10}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dev.candidate(), img) {
		t.Fatal("device holds different bytes")
	}
	fr := NewFrameReader(bytes.NewReader(rec.out.Bytes()))
	for {
		pkt, err := fr.ReadPacket()
		if err != nil {
			t.Fatal("no upload request on the wire")
		}
		p, _ := ParsePacket(pkt)
		var r UploadRequest
		if p.Group == GroupImage && p.ID == CmdImageUpload && unmarshalCBOR(p.Body, &r) == nil {
			if r.Off != 0 || len(r.Data) < 32 {
				t.Fatalf("first chunk: off %d, %d bytes, want off 0 and >= 32 bytes", r.Off, len(r.Data))
			}
			break
		}
	}
}
