package netfw_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
	"github.com/suit-studio/suit-studio/signer"
)

const vectors = "../../shared/spec/vectors"

// testImage is a deterministic pseudo-random image of n bytes.
func testImage(seed uint32, n int) []byte {
	b := make([]byte, n)
	x := seed | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// fwServer is a running netfw.Server on 127.0.0.1 with its log.
type fwServer struct {
	*netfw.Server
	dir      string
	httpURL  string // http://127.0.0.1:port
	coapAddr string // 127.0.0.1:port
	mu       sync.Mutex
	log      []netfw.Fetch
	reports  []netfw.Report
}

func (s *fwServer) fetches() []netfw.Fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netfw.Fetch(nil), s.log...)
}

// waitFetch reports whether the log has (or gets within d) a fetch that ok accepts.
func (s *fwServer) waitFetch(d time.Duration, ok func(netfw.Fetch) bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		for _, f := range s.fetches() {
			if ok(f) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// startServer serves dir over HTTP and CoAP on 127.0.0.1 until the test ends. wrap, when not nil,
// wraps the HTTP handler (to cut connections).
func startServer(t testing.TB, dir string, wrap func(http.Handler) http.Handler) *fwServer {
	t.Helper()
	fs := &fwServer{dir: dir}
	fs.Server = &netfw.Server{Dir: dir,
		OnFetch: func(f netfw.Fetch) { fs.mu.Lock(); fs.log = append(fs.log, f); fs.mu.Unlock() },
		OnReport: func(r netfw.Report) error {
			fs.mu.Lock()
			fs.reports = append(fs.reports, r)
			fs.mu.Unlock()
			return nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = fs.Server
	if wrap != nil {
		h = wrap(h)
	}
	hs := &http.Server{Handler: h}
	done := make(chan struct{}, 2)
	go func() { hs.Serve(ln); done <- struct{}{} }()
	fs.httpURL = "http://" + ln.Addr().String()
	ready := make(chan net.Addr, 1)
	go func() {
		if err := fs.ServeCoAP(ctx, "127.0.0.1:0", func(a net.Addr) { ready <- a }); err != nil {
			t.Errorf("CoAP server: %v", err)
		}
		done <- struct{}{}
	}()
	select {
	case a := <-ready:
		fs.coapAddr = a.String()
	case <-time.After(5 * time.Second):
		t.Fatal("CoAP server did not start")
	}
	t.Cleanup(func() {
		cancel()
		hs.Close()
		for range 2 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Error("server did not stop")
				return
			}
		}
	})
	return fs
}

// lossyProxy forwards UDP datagrams between one client and a server on 127.0.0.1, dropping
// each with probability loss (seeded RNG), or all of them while blackout is set.
type lossyProxy struct {
	conn     *net.UDPConn
	server   *net.UDPAddr
	mu       sync.Mutex
	rng      *rand.Rand
	loss     float64
	blackout bool
	dropped  int
	passed   int
	// cutAt > 0: the link goes dark once cutAt datagrams have passed, for cutFor, once
	// (deterministic, unlike a timer racing a fast transfer on a loaded machine).
	cutAt  int
	cutFor time.Duration
}

// cutAfter makes the link go dark for d once n datagrams (both directions) have passed.
func (p *lossyProxy) cutAfter(n int, d time.Duration) {
	p.mu.Lock()
	p.cutAt, p.cutFor = n, d
	p.mu.Unlock()
}

func startLossyProxy(t testing.TB, server string, loss float64, seed int64) *lossyProxy {
	t.Helper()
	sa, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{conn: c, server: sa, rng: rand.New(rand.NewSource(seed)), loss: loss}
	done := make(chan struct{})
	go p.run(done)
	t.Cleanup(func() { c.Close(); <-done })
	return p
}

func (p *lossyProxy) addr() string { return p.conn.LocalAddr().String() }

func (p *lossyProxy) drop() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutAt > 0 && p.passed >= p.cutAt {
		p.cutAt = 0
		p.blackout = true
		time.AfterFunc(p.cutFor, func() { p.setBlackout(false) })
	}
	if p.blackout || p.rng.Float64() < p.loss {
		p.dropped++
		return true
	}
	p.passed++
	return false
}

func (p *lossyProxy) setBlackout(b bool) { p.mu.Lock(); p.blackout = b; p.mu.Unlock() }

// run relays: datagrams from clients go to the server through one upstream socket per client.
func (p *lossyProxy) run(done chan struct{}) {
	defer close(done)
	ups := map[string]*net.UDPConn{}
	defer func() {
		for _, u := range ups {
			u.Close()
		}
	}()
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		up, ok := ups[from.String()]
		if !ok {
			up, err = net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, p.server)
			if err != nil {
				return
			}
			ups[from.String()] = up
			go func(up *net.UDPConn, client *net.UDPAddr) {
				b := make([]byte, 2048)
				for {
					n, err := up.Read(b)
					if err != nil {
						return
					}
					if !p.drop() {
						p.conn.WriteToUDP(b[:n], client)
					}
				}
			}(up, from)
		}
		if !p.drop() {
			up.Write(buf[:n])
		}
	}
}

// deviceFor provisions a fresh simulated device trusting the spec's key.
func deviceFor(t testing.TB) *app.SimSession {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(vectors, "public_key.pem"))
	if err != nil {
		t.Fatalf("official vectors not found: %v", err)
	}
	s, _, err := app.NewSimSession(app.SimProvisioning{TrustPEM: [][]byte{pub}, VendorDomain: "example.com", Model: "sensor-v2"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// envelopeFor builds and signs (with the spec's key) an envelope that fetches image from uri
// into [h'00'] and checks its digest; fetchArgs, when not empty, is set as fetch-arguments.
func envelopeFor(t testing.TB, uri string, image []byte, seq uint64, fetchArgs string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fw.bin"), image, 0o644); err != nil {
		t.Fatal(err)
	}
	extra := ""
	if fetchArgs != "" {
		extra = fmt.Sprintf("        fetch-arguments: {text: %q}\n", fetchArgs)
	}
	src := fmt.Sprintf(`manifest:
  sequence-number: %d
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
        class-identifier: {vendor-domain: example.com, model: sensor-v2}
        image-file: fw.bin
    - vendor-identifier: 15
    - class-identifier: 15
  install:
    - override-parameters:
        uri: %q
%s    - fetch: 15
    - image-match: 15
  validate:
    - image-match: 15
  invoke:
    - invoke: 15
`, seq, uri, extra)
	env, findings, err := app.Create([]byte(src), dir, false)
	if err != nil {
		t.Fatalf("create: %v %v", err, findings)
	}
	key, err := signer.LoadFile(filepath.Join(vectors, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := app.SignEnvelope(env, []any{key}, app.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// update stages env and runs the update with fetcher, returning the record and the steps.
func update(t testing.TB, s *app.SimSession, env []byte, f devicesim.Fetcher) (*devicesim.Record, []devicesim.Event) {
	t.Helper()
	var evs []devicesim.Event
	d := s.Device
	d.SetEventHandler(func(e devicesim.Event) { evs = append(evs, e) })
	defer d.SetEventHandler(nil)
	if d.PoweredOff() {
		d.Restart()
	}
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	return d.Update(f), evs
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func findEvent(evs []devicesim.Event, cmd, substr string) *devicesim.Event {
	for i := range evs {
		if evs[i].Command == cmd && (strings.Contains(evs[i].Argument, substr) || strings.Contains(evs[i].Reason, substr)) {
			return &evs[i]
		}
	}
	return nil
}

// requests records the offsets a Client asked for.
type requests struct {
	mu   sync.Mutex
	offs []int64
}

func (r *requests) add(_, _ string, off int64) {
	r.mu.Lock()
	r.offs = append(r.offs, off)
	r.mu.Unlock()
}
func (r *requests) list() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.offs...)
}
