package netfw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"

	"github.com/suit-studio/suit-studio/devicesim"
)

// Client is a device's network stack for HTTP and CoAP. The zero value works: unpaced, 256-byte
// blocks, RFC 7252's transmission parameters.
type Client struct {
	// Rate paces received payload bytes (bytes per second; 0 = unpaced). 15000 is about what an
	// IEEE 802.15.4 link carries after 6LoWPAN and acknowledgements.
	Rate int
	// BlockSize is the CoAP block size the device asks for (16..1024, a power of two) and the
	// HTTP read size; default 256. fetch-arguments "block-size: N" overrides it per fetch.
	BlockSize int
	// AckTimeout and MaxRetransmit are CoAP's ACK_TIMEOUT (default 2 s) and MAX_RETRANSMIT
	// (default 4); RequestTimeout bounds one request over either protocol (default 30 s).
	AckTimeout     time.Duration
	MaxRetransmit  int
	RequestTimeout time.Duration
	// HTTP is the HTTP client (default: a fresh one with no redirect following).
	HTTP *http.Client
	// OnRequest, when set, is told of each request: protocol, URI and the first byte asked for.
	OnRequest func(proto, uri string, off int64)

	mu    sync.Mutex
	etags map[string]string // last ETag seen per URI: a resumed transfer must get the same
}

// Streams implements devicesim.NetFetcher.
func (c *Client) Streams(uri string) bool {
	u := strings.ToLower(uri)
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "coap://")
}

func (c *Client) etag(uri string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.etags[uri]
}

func (c *Client) setETag(uri, e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.etags == nil {
		c.etags = map[string]string{}
	}
	c.etags[uri] = e
}

func (c *Client) reqTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return 30 * time.Second
}

// fetchArgs are this implementation's fetch-arguments (draft-37 leaves them implementation
// defined): UTF-8 lines "name: value". "block-size: N" sets the block size, "query: k=v" adds a
// URI query (HTTP ?k=v, CoAP Uri-Query), any other name is an HTTP request header (refused over
// CoAP, which has no such headers).
type fetchArgs struct {
	blockSize int
	query     []string
	headers   http.Header
}

func parseFetchArgs(b []byte) (fetchArgs, error) {
	fa := fetchArgs{headers: http.Header{}}
	for i, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return fa, fmt.Errorf("fetch-arguments line %d %q: want \"name: value\"", i+1, line)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		switch strings.ToLower(name) {
		case "block-size":
			n, err := strconv.Atoi(val)
			if err != nil || n < 16 || n > 1024 || n&(n-1) != 0 {
				return fa, fmt.Errorf("fetch-arguments line %d: block-size %q must be a power of two from 16 to 1024", i+1, val)
			}
			fa.blockSize = n
		case "query":
			fa.query = append(fa.query, val)
		default:
			if name == "" || strings.ContainsAny(name, " \t") {
				return fa, fmt.Errorf("fetch-arguments line %d: %q is not a header name", i+1, name)
			}
			fa.headers.Add(name, val)
		}
	}
	return fa, nil
}

// Open implements devicesim.NetFetcher: it starts the transfer of uri at byte off.
func (c *Client) Open(uri string, args []byte, off int64) (devicesim.NetStream, error) {
	fa, err := parseFetchArgs(args)
	if err != nil {
		return nil, err
	}
	bs := c.BlockSize
	if fa.blockSize > 0 {
		bs = fa.blockSize
	}
	if bs == 0 {
		bs = 256
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("bad URI %q: %v", uri, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return c.openHTTP(uri, u, fa, bs, off)
	case "coap":
		if len(fa.headers) > 0 {
			return nil, fmt.Errorf("fetch-arguments: CoAP has no header %q (use query: or block-size:)", firstKey(fa.headers))
		}
		return c.openCoAP(uri, u, fa, bs, off)
	}
	return nil, fmt.Errorf("unsupported scheme %q (http, https, coap)", u.Scheme)
}

func firstKey(h http.Header) string {
	for k := range h {
		return k
	}
	return ""
}

// pacer spaces received bytes to a link rate.
type pacer struct {
	rate  int
	start time.Time
	n     int64
}

func (p *pacer) add(n int) {
	if p.rate <= 0 {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.n += int64(n)
	due := p.start.Add(time.Duration(p.n) * time.Second / time.Duration(p.rate))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// ---- HTTP ----

type httpStream struct {
	body   io.ReadCloser
	size   int64
	bs     int
	pace   pacer
	cancel context.CancelFunc
	proto  string
}

func (c *Client) openHTTP(uri string, u *url.URL, fa fetchArgs, bs int, off int64) (devicesim.NetStream, error) {
	if len(fa.query) > 0 {
		q := u.RawQuery
		for _, kv := range fa.query {
			if q != "" {
				q += "&"
			}
			q += kv
		}
		u.RawQuery = q
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range fa.headers {
		req.Header[k] = v
	}
	etag := c.etag(uri)
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		if etag != "" {
			req.Header.Set("If-Range", etag)
		}
	}
	if c.OnRequest != nil {
		c.OnRequest("HTTP/1.1", uri, off)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	timer := time.AfterFunc(c.reqTimeout(), cancel)
	resp, err := hc.Do(req)
	timer.Stop()
	if err != nil {
		cancel()
		return nil, err
	}
	fail := func(err error) (devicesim.NetStream, error) {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	size := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		var first, last, total int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total); err != nil || first != off {
			return fail(fmt.Errorf("%s answered Content-Range %q to a request for bytes %d-", u.Host, resp.Header.Get("Content-Range"), off))
		}
		size = total
	case resp.StatusCode == http.StatusOK && off == 0:
		size = resp.ContentLength
	case resp.StatusCode == http.StatusOK:
		if etag != "" {
			return fail(fmt.Errorf("%w: %s sent the whole file to a resumed request (If-Range %s)", devicesim.ErrResourceChanged, uri, etag))
		}
		return fail(fmt.Errorf("%s ignored the Range request for bytes %d- (status 200)", u.Host, off))
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fail(fmt.Errorf("%s: byte %d is past the end of %s (416)", u.Host, off, u.Path))
	default:
		return fail(fmt.Errorf("%s answered %s for %s", u.Host, resp.Status, u.Path))
	}
	if e := resp.Header.Get("ETag"); e != "" && !strings.HasPrefix(e, "W/") {
		if etag != "" && e != etag && off > 0 {
			return fail(fmt.Errorf("%w: ETag %s, was %s", devicesim.ErrResourceChanged, e, etag))
		}
		c.setETag(uri, e)
	}
	return &httpStream{body: resp.Body, size: size, bs: bs, pace: pacer{rate: c.Rate}, cancel: cancel, proto: resp.Proto}, nil
}

func (s *httpStream) Size() int64 { return s.size }
func (s *httpStream) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	s.pace.add(n)
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	return n, err
}
func (s *httpStream) BlockSize() int { return s.bs }

// BufferSize: one TCP segment of the IPv4 default MSS (536 bytes, RFC 9293 §3.7.1) plus its
// TCP/IP headers, which a constrained TCP stack buffers.
func (s *httpStream) BufferSize() int { return 536 + 40 }
func (s *httpStream) Proto() string   { return s.proto }
func (s *httpStream) Close() error {
	s.cancel()
	return s.body.Close()
}

// ---- CoAP ----

type coapStream struct {
	c     *Client
	uri   string
	conn  *udpclient.Conn
	path  string
	query []string
	szx   blockwise.SZX
	bs    int
	next  int64 // next block number
	skip  int   // bytes of the next block before the offset asked for
	buf   []byte
	size  int64
	more  bool
	etag  []byte
	pace  pacer
	err   error
	wait  time.Duration
}

func (c *Client) openCoAP(uri string, u *url.URL, fa fetchArgs, bs int, off int64) (devicesim.NetStream, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5683")
	}
	szx, ok := szxOf(bs)
	if !ok {
		return nil, fmt.Errorf("CoAP block size %d is not a power of two from 16 to 1024", bs)
	}
	ack := c.AckTimeout
	if ack == 0 {
		ack = 2 * time.Second
	}
	retr := c.MaxRetransmit
	if retr == 0 {
		retr = 4
	}
	conn, err := udp.Dial(host, options.WithBlockwise(false, szx, time.Minute), options.WithErrors(func(error) {}),
		options.WithTransmission(1, ack, uint32(retr)), options.WithMaxMessageSize(uint32(bs+256)),
		// go-coap checks for retransmissions from a periodic runner (every 4 s by default):
		// check at a quarter of ACK_TIMEOUT so that a lost datagram is resent on time.
		options.WithPeriodicRunner(func(f func(time.Time) bool) {
			tick := max(ack/4, 2*time.Millisecond)
			go func() {
				for f(time.Now()) {
					time.Sleep(tick)
				}
			}()
		}))
	if err != nil {
		return nil, err
	}
	// MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2): after it, the exchange has failed.
	wait := time.Duration(float64(ack) * float64(int(1)<<(retr+1)-1) * 1.5)
	s := &coapStream{c: c, uri: uri, wait: min(wait, c.reqTimeout()), conn: conn, path: u.Path, szx: szx, bs: bs, next: off / int64(bs), skip: int(off % int64(bs)),
		size: -1, more: true, pace: pacer{rate: c.Rate}}
	if prev := c.etag(uri); prev != "" && off > 0 {
		s.etag = []byte(prev)
	}
	for _, q := range fa.query {
		s.query = append(s.query, q)
	}
	if c.OnRequest != nil {
		c.OnRequest("CoAP", uri, off)
	}
	if err := s.fetchBlock(); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func szxOf(bs int) (blockwise.SZX, bool) {
	for z := blockwise.SZX16; z <= blockwise.SZX1024; z++ {
		if z.Size() == int64(bs) {
			return z, true
		}
	}
	return 0, false
}

// fetchBlock asks for block s.next and fills s.buf.
func (s *coapStream) fetchBlock() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.wait)
	defer cancel()
	bo, err := blockwise.EncodeBlockOption(s.szx, s.next, false)
	if err != nil {
		return err
	}
	req, err := s.conn.NewGetRequest(ctx, s.path)
	if err != nil {
		return err
	}
	defer s.conn.ReleaseMessage(req)
	req.SetOptionUint32(message.Block2, bo)
	if s.next == 0 || s.size < 0 {
		req.SetOptionUint32(message.Size2, 0) // ask for the size (RFC 7959 §4)
	}
	for _, q := range s.query {
		req.AddOptionString(message.URIQuery, q)
	}
	resp, err := s.conn.Do(req)
	if err != nil {
		return fmt.Errorf("CoAP GET %s block %d: %w", s.uri, s.next, err)
	}
	defer s.conn.ReleaseMessage(resp)
	if resp.Code() != codes.Content {
		body, _ := resp.ReadBody()
		return fmt.Errorf("CoAP GET %s block %d: %v %s", s.uri, s.next, resp.Code(), strings.TrimSpace(string(body)))
	}
	return s.take(resp)
}

func (s *coapStream) take(resp *pool.Message) error {
	v, err := resp.GetOptionUint32(message.Block2)
	if err != nil {
		if s.next != 0 {
			return fmt.Errorf("CoAP GET %s: the server answered block %d without a Block2 option", s.uri, s.next)
		}
		v, _ = blockwise.EncodeBlockOption(s.szx, 0, false) // a small resource in one message
	}
	szx, num, more, err := blockwise.DecodeBlockOption(v)
	if err != nil {
		return fmt.Errorf("CoAP GET %s: bad Block2 option: %v", s.uri, err)
	}
	if szx != s.szx { // the server chose smaller blocks (RFC 7959 §2.4): renumber
		if szx > s.szx || num*szx.Size() != s.next*s.szx.Size() {
			return fmt.Errorf("CoAP GET %s: asked for block %d of %d bytes, got block %d of %d", s.uri, s.next, s.bs, num, szx.Size())
		}
		s.szx, s.bs, s.next = szx, int(szx.Size()), num
	}
	if num != s.next {
		return fmt.Errorf("CoAP GET %s: asked for block %d, got block %d", s.uri, s.next, num)
	}
	if et, err := resp.ETag(); err == nil {
		if s.etag != nil && !bytes.Equal(et, s.etag) {
			return fmt.Errorf("%w: ETag %x, was %x", devicesim.ErrResourceChanged, et, s.etag)
		}
		s.etag = append([]byte(nil), et...)
		s.c.setETag(s.uri, string(et))
	}
	if sz, err := resp.GetOptionUint32(message.Size2); err == nil {
		s.size = int64(sz)
	}
	body, err := resp.ReadBody()
	if err != nil {
		return err
	}
	if more && len(body) != s.bs {
		return fmt.Errorf("CoAP GET %s: block %d has %d bytes, not %d, and more follow", s.uri, num, len(body), s.bs)
	}
	if !more && s.size < 0 {
		s.size = num*int64(s.bs) + int64(len(body))
	}
	if s.skip > len(body) {
		return fmt.Errorf("CoAP GET %s: block %d is shorter than the offset asked for", s.uri, num)
	}
	s.buf = append(s.buf[:0], body[s.skip:]...)
	s.skip = 0
	s.more = more
	s.next++
	s.pace.add(len(body))
	return nil
}

func (s *coapStream) Size() int64 { return s.size }
func (s *coapStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(s.buf) == 0 {
		if !s.more {
			return 0, io.EOF
		}
		if err := s.fetchBlock(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}
func (s *coapStream) BlockSize() int { return s.bs }

// BufferSize: one CoAP message: the block, a 4-byte header, an 8-byte token and the options
// (Uri-Path, Block2, Size2, ETag, Content-Format: about 40 bytes here).
func (s *coapStream) BufferSize() int { return s.bs + 4 + 8 + 40 }
func (s *coapStream) Proto() string {
	return fmt.Sprintf("CoAP Block2 (%d-byte blocks)", s.bs)
}
func (s *coapStream) Close() error { return s.conn.Close() }

// MaxFetch bounds what Fetch reads into memory.
const MaxFetch = 1 << 20

// Fetch reads the whole resource behind uri (an envelope, a small payload): it implements
// devicesim.Fetcher, and resumes a broken transfer a bounded number of times.
func (c *Client) Fetch(uri string) ([]byte, error) {
	var out []byte
	for attempt := 0; ; attempt++ {
		st, err := c.Open(uri, nil, int64(len(out)))
		if err != nil {
			return nil, err
		}
		if st.Size() > MaxFetch {
			st.Close()
			return nil, fmt.Errorf("%s is %d bytes, more than the %d this client reads at once", uri, st.Size(), MaxFetch)
		}
		buf := make([]byte, 4096)
		for {
			n, rerr := st.Read(buf)
			out = append(out, buf[:n]...)
			if len(out) > MaxFetch {
				st.Close()
				return nil, fmt.Errorf("%s is more than %d bytes", uri, MaxFetch)
			}
			if rerr == io.EOF {
				st.Close()
				if st.Size() >= 0 && int64(len(out)) != st.Size() {
					return nil, fmt.Errorf("%s: got %d of %d bytes", uri, len(out), st.Size())
				}
				return out, nil
			}
			if rerr != nil {
				break
			}
		}
		st.Close()
		if attempt >= devicesim.NetRetries {
			return nil, fmt.Errorf("%s: the transfer broke %d times", uri, attempt+1)
		}
	}
}

// Post sends body to uri (a status tracker's report resource) over HTTP (POST,
// application/cose) or CoAP (confirmable POST, Content-Format 18); the tracker must accept it
// (2xx / 2.04).
func (c *Client) Post(uri string, body []byte) error {
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Errorf("bad URI %q: %v", uri, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.reqTimeout())
	defer cancel()
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", `application/cose; cose-type="cose-sign1"`)
		hc := c.HTTP
		if hc == nil {
			hc = http.DefaultClient
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("the tracker answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		return nil
	case "coap":
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "5683")
		}
		ack := c.AckTimeout
		if ack == 0 {
			ack = 2 * time.Second
		}
		conn, err := udp.Dial(host, options.WithBlockwise(false, blockwise.SZX1024, time.Minute), options.WithErrors(func(error) {}),
			options.WithTransmission(1, ack, 4), options.WithMaxMessageSize(uint32(len(body)+256)),
			options.WithPeriodicRunner(func(f func(time.Time) bool) {
				go func() {
					for f(time.Now()) {
						time.Sleep(max(ack/4, 2*time.Millisecond))
					}
				}()
			}))
		if err != nil {
			return err
		}
		defer conn.Close()
		resp, err := conn.Post(ctx, u.Path, ContentFormatCOSESign1, bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer conn.ReleaseMessage(resp)
		if resp.Code() != codes.Changed && resp.Code() != codes.Created && resp.Code() != codes.Content {
			msg, _ := resp.ReadBody()
			return fmt.Errorf("the tracker answered %v: %s", resp.Code(), strings.TrimSpace(string(msg)))
		}
		return nil
	}
	return fmt.Errorf("unsupported scheme %q (http, https, coap)", u.Scheme)
}
