// Package netfw is the firmware server and status tracker of RFC 9019's architecture, and the
// networked device's side of it: it serves envelopes and payloads from a directory over
// HTTP/1.1 (range requests, strong ETags, RFC 9110 §14 and §8.8.3) and over CoAP on UDP
// (RFC 7252, with stateless Block2 transfers of RFC 7959 §2.2 and Size2, ETag options), logs who
// fetched what, and receives SUIT reports (POST /reports on both). Client is the device's
// network stack: it opens a payload from a byte offset (HTTP Range, CoAP Block2 number), paced
// like a constrained link, and is what the simulated device's fetch directive streams through
// (devicesim.NetFetcher).
//
// CoAP messages use github.com/plgd-dev/go-coap/v3 (message layer: confirmable exchanges,
// retransmission, deduplication); the Block2 option is handled here, block by block, so that a
// device can ask for any block (resumption) and the server holds no per-transfer state.
package netfw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/mux"
	coapnet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpserver "github.com/plgd-dev/go-coap/v3/udp/server"
)

// ReportPath is where devices POST their SUIT reports (HTTP and CoAP).
const ReportPath = "/reports"

// MaxReportSize bounds a report body.
const MaxReportSize = 16 << 10

// ContentFormatCOSESign1 is the CoAP Content-Format reports are sent with: application/cose;
// cose-type="cose-sign1" (18, RFC 9052 §11). The draft's own media type,
// application/suit-report+cose, has no Content-Format number assigned yet.
const ContentFormatCOSESign1 = message.MediaType(18)

// Fetch is one entry of the live log: a device fetched (part of) a file.
type Fetch struct {
	Time   time.Time `json:"time"`
	Proto  string    `json:"proto"`  // "HTTP/1.1" or "CoAP"
	Remote string    `json:"remote"` // the device's address
	Path   string    `json:"path"`
	Offset int64     `json:"offset"` // first byte served
	Bytes  int64     `json:"bytes"`  // bytes served by this request (HTTP) or block (CoAP)
	Size   int64     `json:"size"`   // the file's size
	Status int       `json:"status"` // HTTP status, or CoAP code as 2.05 -> 205
	Query  string    `json:"query,omitempty"`
	Block  int64     `json:"block,omitempty"` // CoAP block number
	Last   bool      `json:"last,omitempty"`  // the transfer's last block/byte was served
}

func (f Fetch) String() string {
	s := fmt.Sprintf("%s %-8s %-21s %s bytes %d-%d of %d (%d)", f.Time.Format("15:04:05.000"), f.Proto, f.Remote, f.Path, f.Offset, f.Offset+f.Bytes, f.Size, f.Status)
	if f.Query != "" {
		s += " ?" + f.Query
	}
	return s
}

// Report is a SUIT report a device sent.
type Report struct {
	Time   time.Time
	Proto  string
	Remote string
	Body   []byte
}

// Server serves the files of Dir and takes reports.
type Server struct {
	Dir string
	// OnFetch, when set, receives every request served (the live log). It must not block.
	OnFetch func(Fetch)
	// OnReport, when set, receives every report; an error is answered as 4.00 / 400.
	OnReport func(Report) error

	mu    sync.Mutex
	etags map[string]etagEntry
	coap  *udpserver.Server
	httpS *http.Server
	root  *os.Root
}

type etagEntry struct {
	size  int64
	mod   time.Time
	etag  string
	raw   []byte
	bytes []byte
}

// file reads a served file (cached by size and modification time) and its strong ETag. The
// folder is opened once (os.Root: nothing outside it is reachable); a request costs one stat
// unless the file changed.
func (s *Server) file(p string) ([]byte, string, error) {
	clean := path.Clean("/" + p)
	if strings.Contains(clean, "\\") || clean == "/" {
		return nil, "", os.ErrNotExist
	}
	rel := strings.TrimPrefix(clean, "/")
	s.mu.Lock()
	if s.root == nil {
		r, err := os.OpenRoot(s.Dir)
		if err != nil {
			s.mu.Unlock()
			return nil, "", err
		}
		s.root = r
	}
	root := s.root
	s.mu.Unlock()
	fi, err := root.Stat(rel)
	if err != nil {
		return nil, "", err
	}
	if fi.IsDir() {
		return nil, "", os.ErrNotExist
	}
	s.mu.Lock()
	e, ok := s.etags[clean]
	s.mu.Unlock()
	if ok && e.size == fi.Size() && e.mod.Equal(fi.ModTime()) {
		return e.bytes, e.etag, nil
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	e = etagEntry{size: fi.Size(), mod: fi.ModTime(), etag: hex.EncodeToString(sum[:8]), raw: sum[:8], bytes: b}
	s.mu.Lock()
	if s.etags == nil {
		s.etags = map[string]etagEntry{}
	}
	s.etags[clean] = e
	s.mu.Unlock()
	return b, e.etag, nil
}

// Close releases the served folder (after the servers stopped).
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		err := s.root.Close()
		s.root = nil
		return err
	}
	return nil
}

func (s *Server) logFetch(f Fetch) {
	if s.OnFetch != nil {
		f.Time = time.Now()
		s.OnFetch(f)
	}
}

// ---- HTTP ----

// ServeHTTP serves GET/HEAD of files (with Range and If-Range / If-None-Match through
// http.ServeContent) and POST /reports.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ReportPath {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "reports are POSTed here", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxReportSize+1))
		if err == nil && len(body) > MaxReportSize {
			err = fmt.Errorf("a report is at most %d bytes", MaxReportSize)
		}
		if err == nil && s.OnReport != nil {
			err = s.OnReport(Report{Time: time.Now(), Proto: "HTTP/1.1", Remote: r.RemoteAddr, Body: body})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	b, etag, err := s.file(r.URL.Path)
	if err != nil {
		http.Error(w, "no such file", http.StatusNotFound)
		s.logFetch(Fetch{Proto: "HTTP/1.1", Remote: r.RemoteAddr, Path: r.URL.Path, Status: http.StatusNotFound, Query: r.URL.RawQuery})
		return
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	w.Header().Set("Content-Type", contentType(r.URL.Path))
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(b))
	off := int64(0)
	if cr := cw.Header().Get("Content-Range"); cr != "" {
		fmt.Sscanf(cr, "bytes %d-", &off)
	}
	s.logFetch(Fetch{Proto: "HTTP/1.1", Remote: r.RemoteAddr, Path: r.URL.Path, Offset: off, Bytes: cw.n, Size: int64(len(b)),
		Status: cw.status, Query: r.URL.RawQuery, Last: off+cw.n == int64(len(b)) && cw.n > 0})
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".suit":
		return "application/suit-envelope+cose"
	case ".cbor":
		return "application/cbor"
	}
	return "application/octet-stream"
}

type countingWriter struct {
	http.ResponseWriter
	n      int64
	status int
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTPOn serves HTTP on l until ctx ends.
func (s *Server) ServeHTTPOn(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	s.mu.Lock()
	s.httpS = hs
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ---- CoAP ----

// DefaultSZX is the largest block the server sends (1024 bytes); a client asks for smaller.
const DefaultSZX = blockwise.SZX1024

// CoAPHandler answers one CoAP request: GET with Block2 for files, POST /reports.
func (s *Server) coapHandle(w mux.ResponseWriter, r *mux.Message) {
	remote := w.Conn().RemoteAddr().String()
	p, _ := r.Path()
	p = "/" + strings.TrimPrefix(p, "/")
	qs, _ := r.Queries()
	query := strings.Join(qs, "&")
	if p == ReportPath {
		if r.Code() != codes.POST {
			w.SetResponse(codes.MethodNotAllowed, message.TextPlain, strings.NewReader("reports are POSTed here"))
			return
		}
		body, err := r.ReadBody()
		if err == nil && len(body) > MaxReportSize {
			err = fmt.Errorf("a report is at most %d bytes", MaxReportSize)
		}
		if err == nil && s.OnReport != nil {
			err = s.OnReport(Report{Time: time.Now(), Proto: "CoAP", Remote: remote, Body: body})
		}
		if err != nil {
			w.SetResponse(codes.BadRequest, message.TextPlain, strings.NewReader(err.Error()))
			return
		}
		w.SetResponse(codes.Changed, message.TextPlain, strings.NewReader(""))
		return
	}
	if r.Code() != codes.GET {
		w.SetResponse(codes.MethodNotAllowed, message.TextPlain, strings.NewReader("only GET"))
		return
	}
	b, etag, err := s.file(p)
	if err != nil {
		w.SetResponse(codes.NotFound, message.TextPlain, strings.NewReader("no such file"))
		s.logFetch(Fetch{Proto: "CoAP", Remote: remote, Path: p, Status: 404, Query: query})
		return
	}
	szx, num := DefaultSZX, int64(0)
	if v, err := r.GetOptionUint32(message.Block2); err == nil {
		bs, bn, _, err := blockwise.DecodeBlockOption(v)
		if err != nil || bs > blockwise.SZX1024 {
			w.SetResponse(codes.BadOption, message.TextPlain, strings.NewReader("bad Block2 option"))
			return
		}
		szx, num = min(bs, DefaultSZX), bn
	}
	size := int64(szx.Size())
	off := num * size
	if off > int64(len(b)) || (off == int64(len(b)) && len(b) > 0) {
		w.SetResponse(codes.BadRequest, message.TextPlain, strings.NewReader(fmt.Sprintf("block %d is past the end (%d bytes)", num, len(b))))
		return
	}
	end := min(off+size, int64(len(b)))
	more := end < int64(len(b))
	bo, err := blockwise.EncodeBlockOption(szx, num, more)
	if err != nil {
		w.SetResponse(codes.InternalServerError, message.TextPlain, strings.NewReader(err.Error()))
		return
	}
	et, _ := hex.DecodeString(etag)
	if err := w.SetResponse(codes.Content, message.AppOctets, bytes.NewReader(b[off:end])); err != nil {
		return
	}
	m := w.Message()
	m.SetOptionUint32(message.Block2, bo)
	m.SetOptionUint32(message.Size2, uint32(len(b)))
	m.SetETag(et)
	s.logFetch(Fetch{Proto: "CoAP", Remote: remote, Path: p, Offset: off, Bytes: end - off, Size: int64(len(b)), Status: 205, Query: query, Block: num, Last: !more})
}

// ServeCoAP serves CoAP on a UDP socket at addr (such as "127.0.0.1:5683") until ctx ends.
// ready, when not nil, receives the bound address.
func (s *Server) ServeCoAP(ctx context.Context, addr string, ready func(net.Addr)) error {
	l, err := coapnet.NewListenUDP("udp", addr)
	if err != nil {
		return err
	}
	defer l.Close()
	router := mux.NewRouter()
	router.DefaultHandleFunc(s.coapHandle)
	srv := udp.NewServer(options.WithMux(router), options.WithBlockwise(false, DefaultSZX, time.Minute),
		options.WithContext(ctx), options.WithErrors(func(error) {}))
	s.mu.Lock()
	s.coap = srv
	s.mu.Unlock()
	if ready != nil {
		ready(l.LocalAddr())
	}
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	err = srv.Serve(l)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
