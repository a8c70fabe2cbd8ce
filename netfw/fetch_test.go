package netfw_test

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
)

func writeFile(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The HTTP server honours Range, If-Range and If-None-Match with a strong ETag (RFC 9110).
func TestHTTPRangeAndETag(t *testing.T) {
	dir := t.TempDir()
	img := testImage(7, 5000)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)

	resp, err := http.Get(srv.httpURL + "/fw.bin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !bytes.Equal(body, img) || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("GET: status %d, %d bytes, ETag %q", resp.StatusCode, len(body), etag)
	}
	get := func(h map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.httpURL+"/fw.bin", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	r, b := get(map[string]string{"Range": "bytes=4096-", "If-Range": etag})
	if r.StatusCode != 206 || r.Header.Get("Content-Range") != "bytes 4096-4999/5000" || !bytes.Equal(b, img[4096:]) {
		t.Fatalf("Range: status %d, Content-Range %q, %d bytes", r.StatusCode, r.Header.Get("Content-Range"), len(b))
	}
	r, b = get(map[string]string{"Range": "bytes=4096-", "If-Range": `"0000000000000000"`})
	if r.StatusCode != 200 || len(b) != len(img) {
		t.Fatalf("If-Range with another ETag must send the whole file: status %d, %d bytes", r.StatusCode, len(b))
	}
	r, _ = get(map[string]string{"If-None-Match": etag})
	if r.StatusCode != 304 {
		t.Fatalf("If-None-Match: status %d, want 304", r.StatusCode)
	}
	r, _ = get(map[string]string{"Range": "bytes=6000-"})
	if r.StatusCode != 416 {
		t.Fatalf("Range past the end: status %d, want 416", r.StatusCode)
	}
	if r, _ := http.Get(srv.httpURL + "/../etc/passwd"); r.StatusCode != 404 {
		t.Fatalf("path outside the directory: status %d", r.StatusCode)
	}
	// Writing the file changes the ETag.
	img2 := testImage(8, 5000)
	writeFile(t, dir, "fw.bin", img2)
	os.Chtimes(filepath.Join(dir, "fw.bin"), time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	r, _ = get(nil)
	if r.Header.Get("ETag") == etag {
		t.Fatal("the ETag did not change with the content")
	}
	if n := len(srv.fetches()); n < 5 {
		t.Fatalf("the live log has %d entries, want one per request", n)
	}
}

// A 32 KiB image is served over CoAP block-wise (Block2) and arrives intact; Size2 gives its size.
func TestCoAPBlock2Of32KiB(t *testing.T) {
	dir := t.TempDir()
	img := testImage(9, 32<<10)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	c := &netfw.Client{BlockSize: 256}
	st, err := c.Open("coap://"+srv.coapAddr+"/fw.bin", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Size() != int64(len(img)) {
		t.Fatalf("Size2: %d, want %d", st.Size(), len(img))
	}
	got, err := io.ReadAll(readerOf(st))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img) {
		t.Fatalf("got %d bytes, differ from the image", len(got))
	}
	log := srv.fetches()
	if len(log) != 128 || log[0].Block != 0 || log[127].Block != 127 || !log[127].Last {
		t.Fatalf("server log: %d entries, want 128 blocks of 256 bytes", len(log))
	}
	// Resuming at a block: the first request asks for that block.
	st2, err := c.Open("coap://"+srv.coapAddr+"/fw.bin", nil, 8192)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(readerOf(st2))
	st2.Close()
	if !bytes.Equal(got, img[8192:]) {
		t.Fatal("resumed transfer differs")
	}
	if f := srv.fetches()[128]; f.Block != 32 || f.Offset != 8192 {
		t.Fatalf("resumed transfer started at block %d (offset %d), want block 32", f.Block, f.Offset)
	}
}

type streamReader struct{ s devicesim.NetStream }

func (r streamReader) Read(p []byte) (int, error) { return r.s.Read(p) }
func readerOf(s devicesim.NetStream) io.Reader    { return streamReader{s} }

// The device fetches a URI payload through a real client over both protocols and installs it;
// fetch-arguments reach the server.
func TestDeviceFetchOverHTTPAndCoAP(t *testing.T) {
	dir := t.TempDir()
	img := testImage(11, 20000)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	for _, tc := range []struct{ name, uri, args, proto string }{
		{"http", srv.httpURL + "/fw.bin", "query: dev=1\nX-Device: sim-1", "HTTP/1.1"},
		{"coap", "coap://" + srv.coapAddr + "/fw.bin", "query: dev=2\nblock-size: 128", "CoAP Block2 (128-byte blocks)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := deviceFor(t)
			env := envelopeFor(t, tc.uri, img, 2, tc.args)
			rec, evs := update(t, s, env, &netfw.Client{})
			if rec.Outcome != devicesim.Applied {
				t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
			}
			if got := s.Device.ComponentContent(0); !bytes.Equal(got, img) {
				t.Fatal("installed image differs")
			}
			if e := findEvent(evs, "fetch", tc.proto); e == nil || e.Result != devicesim.Pass {
				t.Fatalf("no fetch step over %s: %v", tc.proto, evs)
			}
			if rec.RAMPeak > rec.RAMBudget {
				t.Fatalf("RAM peak %d over budget %d", rec.RAMPeak, rec.RAMBudget)
			}
			// The HTTP handler logs a fetch after the body is sent: the device may be done first.
			if !srv.waitFetch(2*time.Second, func(f netfw.Fetch) bool { return strings.HasPrefix(f.Query, "dev=") }) {
				t.Fatal("the fetch-arguments' query did not reach the server")
			}
		})
	}
}

// An HTTP connection cut in the middle of the body: the device reopens with a Range request
// from exactly the byte it had, and installs the image.
func TestHTTPCutConnectionResumes(t *testing.T) {
	dir := t.TempDir()
	img := testImage(12, 24000)
	writeFile(t, dir, "fw.bin", img)
	const cutAfter = 10000
	var cuts int
	srv := startServer(t, dir, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") == "" && cuts == 0 {
				cuts++
				h.ServeHTTP(&cuttingWriter{ResponseWriter: w, left: cutAfter}, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	s := deviceFor(t)
	env := envelopeFor(t, srv.httpURL+"/fw.bin", img, 3, "")
	var req requests
	rec, evs := update(t, s, env, &netfw.Client{OnRequest: req.add})
	if rec.Outcome != devicesim.Applied {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
	}
	if offs := req.list(); len(offs) != 2 || offs[0] != 0 || offs[1] != cutAfter {
		t.Fatalf("requests from offsets %v, want [0 %d]", offs, cutAfter)
	}
	if !bytes.Equal(s.Device.ComponentContent(0), img) {
		t.Fatal("installed image differs")
	}
	if e := findEvent(evs, "fetch", "reconnected 1 times"); e == nil {
		t.Fatal("the fetch step does not say it reconnected")
	}
}

// cuttingWriter aborts the connection after left body bytes (flushed first).
type cuttingWriter struct {
	http.ResponseWriter
	left int
}

func (c *cuttingWriter) Write(p []byte) (int, error) {
	if len(p) >= c.left {
		n, _ := c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		c.left = 0
		_ = n
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

// CoAP: the link goes dark in the middle of a transfer; the exchange times out, the device
// reopens the transfer at the block it had, and installs the image.
func TestCoAPCutLinkResumes(t *testing.T) {
	dir := t.TempDir()
	img := testImage(13, 16<<10)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	px := startLossyProxy(t, srv.coapAddr, 0, 1)
	s := deviceFor(t)
	env := envelopeFor(t, "coap://"+px.addr()+"/fw.bin", img, 4, "")
	var req requests
	c := &netfw.Client{BlockSize: 256, AckTimeout: 30 * time.Millisecond, MaxRetransmit: 2, RequestTimeout: 2 * time.Second,
		OnRequest: req.add}
	// Go dark after 20 blocks (a request and a response each), for longer than one exchange's
	// retransmissions, then come back.
	px.cutAfter(40, 400*time.Millisecond)
	rec, _ := update(t, s, env, c)
	if rec.Outcome != devicesim.Applied {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
	}
	if !bytes.Equal(s.Device.ComponentContent(0), img) {
		t.Fatal("installed image differs")
	}
	offs := req.list()
	if len(offs) < 2 || offs[0] != 0 {
		t.Fatalf("requests from offsets %v: want a reopened transfer", offs)
	}
	// The reopened transfer starts at the first block the device did not have: every block
	// before it was served (and written), none after it.
	resumed := offs[1]
	if resumed%256 != 0 || resumed < 20*256 {
		t.Fatalf("reopened at byte %d, want a block boundary at or after block 20", resumed)
	}
	first := map[int64]bool{}
	for _, f := range srv.fetches() {
		first[f.Block] = true
	}
	for b := int64(0); b < resumed/256; b++ {
		if !first[b] {
			t.Fatalf("block %d was never served but the device resumed at block %d", b, resumed/256)
		}
	}
}

// A 32 KiB image over CoAP with 1% datagram loss (seeded) in both directions: the update
// completes, or fails with a clear reason; the device never installs a damaged image.
func TestCoAPOnePercentLoss(t *testing.T) {
	dir := t.TempDir()
	img := testImage(14, 32<<10)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	seeds := []int64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		px := startLossyProxy(t, srv.coapAddr, 0.01, seed)
		s := deviceFor(t)
		before := s.Device.ComponentContent(0)
		env := envelopeFor(t, "coap://"+px.addr()+"/fw.bin", img, 5, "")
		c := &netfw.Client{BlockSize: 256, AckTimeout: 20 * time.Millisecond, MaxRetransmit: 4, RequestTimeout: 3 * time.Second}
		rec, _ := update(t, s, env, c)
		got := s.Device.ComponentContent(0)
		switch rec.Outcome {
		case devicesim.Applied:
			if !bytes.Equal(got, img) {
				t.Fatalf("seed %d: applied a damaged image", seed)
			}
		case devicesim.Refused:
			if !bytes.Equal(got, before) || !strings.Contains(rec.Reason, "payload") {
				t.Fatalf("seed %d: refused (%s) but the slot changed or the reason is unclear", seed, rec.Reason)
			}
		default:
			t.Fatalf("seed %d: outcome %s: %s", seed, rec.Outcome, rec.Reason)
		}
		px.mu.Lock()
		t.Logf("seed %d: %s; %d datagrams dropped, %d passed", seed, rec.Outcome, px.dropped, px.passed)
		px.mu.Unlock()
	}
}

// A power cut in the middle of a fetch: after the restart the same update resumes from the
// block the fetch journal says is in flash (asking the server for that offset) and installs.
func TestPowerCutDuringFetchResumes(t *testing.T) {
	dir := t.TempDir()
	img := testImage(15, 32<<10)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	for _, tc := range []struct{ name, uri string }{
		{"http", srv.httpURL + "/fw.bin"},
		{"coap", "coap://" + srv.coapAddr + "/fw.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := deviceFor(t)
			factory := s.Device.ComponentContent(0)
			env := envelopeFor(t, tc.uri, img, 6, "")
			var req requests
			c := &netfw.Client{BlockSize: 256, OnRequest: req.add}
			d := s.Device
			if err := d.Stage(env); err != nil {
				t.Fatal(err)
			}
			// journal erase + header + 8 sector erases + 2 writes per block: cut in block ~50
			d.PowerCutAt(1 + 1 + 8 + 2*50 + 1)
			rec := d.Update(c)
			if rec.Outcome != devicesim.PowerCut {
				t.Fatalf("first run: outcome %s (%s), want a power cut", rec.Outcome, rec.Reason)
			}
			d.Restart()
			if !bytes.Equal(d.ComponentContent(0), factory) {
				t.Fatal("the device does not boot its old image after the cut")
			}
			rec, evs := update(t, s, env, c)
			if rec.Outcome != devicesim.Applied {
				t.Fatalf("second run: outcome %s: %s", rec.Outcome, rec.Reason)
			}
			if !bytes.Equal(d.ComponentContent(0), img) {
				t.Fatal("installed image differs")
			}
			offs := req.list()
			if len(offs) != 2 || offs[1] == 0 || offs[1]%256 != 0 || offs[1] > 51*256 {
				t.Fatalf("requests from offsets %v: want the second to resume at a block the first wrote", offs)
			}
			if e := findEvent(evs, "fetch", "resuming after a restart"); e == nil {
				t.Fatal("no resume step")
			}
		})
	}
}

// A link that loses 40% of its datagrams: the update fails with a clear reason within its
// bounded retries, and the device keeps (and boots) the image it had.
func TestCoAPHeavyLossFailsClearly(t *testing.T) {
	dir := t.TempDir()
	img := testImage(16, 32<<10)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	px := startLossyProxy(t, srv.coapAddr, 0.4, 7)
	s := deviceFor(t)
	before := s.Device.ComponentContent(0)
	env := envelopeFor(t, "coap://"+px.addr()+"/fw.bin", img, 5, "")
	c := &netfw.Client{BlockSize: 256, AckTimeout: 5 * time.Millisecond, MaxRetransmit: 1, RequestTimeout: time.Second}
	rec, _ := update(t, s, env, c)
	if rec.Outcome != devicesim.Refused || !strings.Contains(rec.Reason, "payload not available") {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
	}
	if !bytes.Equal(s.Device.ComponentContent(0), before) || !rec.Booted {
		t.Fatal("the device lost its old image")
	}
	t.Logf("%s", rec.Reason)
}

// https:// URIs go through the same client over TLS (a test server's certificate on 127.0.0.1).
func TestDeviceFetchOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	img := testImage(17, 9000)
	writeFile(t, dir, "fw.bin", img)
	ts := httptest.NewUnstartedServer(&netfw.Server{Dir: dir})
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below is expected
	ts.StartTLS()
	defer ts.Close()
	if !strings.HasPrefix(ts.URL, "https://127.0.0.1:") {
		t.Fatalf("test server at %s", ts.URL)
	}
	s := deviceFor(t)
	env := envelopeFor(t, ts.URL+"/fw.bin", img, 2, "")
	rec, evs := update(t, s, env, &netfw.Client{HTTP: ts.Client()})
	if rec.Outcome != devicesim.Applied || !bytes.Equal(s.Device.ComponentContent(0), img) {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
	}
	if findEvent(evs, "fetch", "9000 bytes over HTTP/1.1") == nil {
		t.Fatal("no fetch step over HTTPS")
	}
	// Without the test CA the device refuses the server, with a clear reason.
	s2 := deviceFor(t)
	rec, _ = update(t, s2, env, &netfw.Client{RequestTimeout: 5 * time.Second})
	if rec.Outcome != devicesim.Refused || !strings.Contains(rec.Reason, "certificate") {
		t.Fatalf("untrusted server: %s: %s", rec.Outcome, rec.Reason)
	}
}

// A power cut at every flash write or erase of an update fetched over CoAP (16 KiB image): after
// the restart the same update completes, resuming from the journal when the cut fell in the
// fetch, and the device ends with exactly the new image.
func TestPowerCutSweepDuringFetch(t *testing.T) {
	dir := t.TempDir()
	img := testImage(18, 16<<10)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	env := envelopeFor(t, "coap://"+srv.coapAddr+"/fw.bin", img, 6, "")
	stride := 1
	if testing.Short() {
		stride = 7
	}
	resumed := 0
	for k := 1; k < 1000; k += stride {
		s := deviceFor(t)
		d := s.Device
		if err := d.Stage(env); err != nil {
			t.Fatal(err)
		}
		d.PowerCutAt(k)
		rec := d.Update(&netfw.Client{})
		if rec.Outcome == devicesim.Applied {
			if k == 1 {
				t.Fatal("the first flash operation was not cut")
			}
			t.Logf("cut at each of %d flash operations (stride %d); %d restarts resumed the fetch", k-1, stride, resumed)
			if resumed == 0 {
				t.Fatal("no restart resumed from the fetch journal")
			}
			return
		}
		if rec.Outcome != devicesim.PowerCut {
			t.Fatalf("cut at %d: outcome %s: %s", k, rec.Outcome, rec.Reason)
		}
		d.Restart()
		rec, evs := update(t, s, env, &netfw.Client{})
		if rec.Outcome != devicesim.Applied || !bytes.Equal(d.ComponentContent(0), img) {
			t.Fatalf("cut at %d, then: outcome %s (%s), image ok %v", k, rec.Outcome, rec.Reason, bytes.Equal(d.ComponentContent(0), img))
		}
		if findEvent(evs, "fetch", "resuming after a restart") != nil {
			resumed++
		}
	}
	t.Fatal("the update never completed without a cut")
}

// Bytes a fetch journal vouches for that fail the digest are never trusted again: the server
// had other content before the power cut, so the resumed image fails image-match; the next
// attempt fetches from byte 0 (instead of being stuck on the journal) and installs.
func TestJournalDroppedAfterDigestFailure(t *testing.T) {
	dir := t.TempDir()
	good, other := testImage(19, 16<<10), testImage(20, 16<<10)
	writeFile(t, dir, "fw.bin", other)
	srv := startServer(t, dir, nil)
	env := envelopeFor(t, srv.httpURL+"/fw.bin", good, 6, "")
	s := deviceFor(t)
	d := s.Device
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	d.PowerCutAt(1 + 1 + 4 + 2*30 + 1) // in block ~30 of 64
	if rec := d.Update(&netfw.Client{}); rec.Outcome != devicesim.PowerCut {
		t.Fatalf("first run: %s (%s)", rec.Outcome, rec.Reason)
	}
	writeFile(t, dir, "fw.bin", good)
	os.Chtimes(filepath.Join(dir, "fw.bin"), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	d.Restart()
	rec, _ := update(t, s, env, &netfw.Client{})
	if rec.Outcome != devicesim.Refused || !strings.Contains(rec.Reason, "digest") {
		t.Fatalf("resumed into other bytes: %s (%s), want a digest refusal", rec.Outcome, rec.Reason)
	}
	var req requests
	rec, _ = update(t, s, env, &netfw.Client{OnRequest: req.add})
	if rec.Outcome != devicesim.Applied || !bytes.Equal(d.ComponentContent(0), good) {
		t.Fatalf("third run: %s (%s)", rec.Outcome, rec.Reason)
	}
	if offs := req.list(); len(offs) != 1 || offs[0] != 0 {
		t.Fatalf("third run requested from %v, want [0]", offs)
	}
}

// The device's network buffers come out of its 10 KiB RAM: a 1024-byte CoAP block costs more
// than a 64-byte one by about twice the difference (the block buffer and the message buffer).
func TestFetchBuffersChargedToRAM(t *testing.T) {
	dir := t.TempDir()
	img := testImage(22, 8192)
	writeFile(t, dir, "fw.bin", img)
	srv := startServer(t, dir, nil)
	peak := map[int]int{}
	for _, bs := range []int{64, 1024} {
		s := deviceFor(t)
		env := envelopeFor(t, "coap://"+srv.coapAddr+"/fw.bin", img, 2, "block-size: "+strconv.Itoa(bs))
		rec, evs := update(t, s, env, &netfw.Client{})
		if rec.Outcome != devicesim.Applied || rec.RAMPeak > rec.RAMBudget {
			t.Fatalf("block size %d: %s (%s), RAM peak %d", bs, rec.Outcome, rec.Reason, rec.RAMPeak)
		}
		e := findEvent(evs, "fetch", "blocks of "+strconv.Itoa(bs))
		if e == nil {
			t.Fatalf("block size %d: no fetch step", bs)
		}
		peak[bs] = e.RAMInUse // the fetch step is reported while its buffers are held
	}
	// The manifest, kept in RAM, is 2 bytes longer with "1024" than with "64" in its fetch-arguments.
	if d := peak[1024] - peak[64]; d != 2*(1024-64)+2 {
		t.Fatalf("RAM in use at the fetch: %d with 1024-byte blocks, %d with 64: want a difference of %d (block + message buffer + 2 manifest bytes)", peak[1024], peak[64], 2*(1024-64)+2)
	}
	t.Logf("RAM in use during the fetch: %d bytes with 64-byte blocks, %d with 1024-byte blocks (of 10240)", peak[64], peak[1024])
}
