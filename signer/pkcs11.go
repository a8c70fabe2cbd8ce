package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PKCS#11 v3.0 constants that miekg/pkcs11 v1.1.2 does not define.
const (
	ckkECEdwards            = 0x40
	ckmECEdwardsKeyPairGen  = 0x1055
	ckmEdDSA                = 0x1057
	pkcs11EnvPIN            = "SUIT_PKCS11_PIN"
	pkcs11EnvModule         = "SUIT_PKCS11_MODULE"
	maxInteractivePINTrials = 3
)

var (
	oidP256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384    = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521    = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// ---------------------------------------------------------------------------------------------
// Modules

// Module is a loaded PKCS#11 library. Modules are cached per path and reference-counted:
// OpenModule on the same path returns the same module, and the library is finalized and
// unloaded when the last user calls Close.
type Module struct {
	path string
	ctx  *pkcs11.Ctx
	conf string // SOFTHSM2_CONF in force when the module was initialized
	refs int    // guarded by modulesMu
	mu   sync.Mutex
}

var (
	modulesMu sync.Mutex
	modules   = map[string]*Module{}
	// firstConf remembers the SOFTHSM2_CONF each module path was first initialized with:
	// SoftHSM2 reads its configuration once per process, so a later, different one would be
	// silently ignored.
	firstConf = map[string]string{}
)

// OpenModule loads the PKCS#11 library at path (or returns the cached one) and initializes it.
func OpenModule(path string) (*Module, error) { return openModule(path, "") }

func openModule(path, softhsmConf string) (*Module, error) {
	if path == "" {
		return nil, &KeyError{Step: "load module", Err: fmt.Errorf("%w: no module path (give module-path= in the URI or set %s)", ErrModule, pkcs11EnvModule)}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m, ok := modules[abs]; ok {
		if softhsmConf != "" && m.conf != softhsmConf {
			return nil, &KeyError{Ref: abs, Step: "load module", Err: fmt.Errorf("%w: already loaded with SOFTHSM2_CONF=%s, cannot switch to %s in the same process", ErrModule, m.conf, softhsmConf)}
		}
		m.refs++
		return m, nil
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, &KeyError{Ref: abs, Step: "load module", Err: fmt.Errorf("%w: %v%s", ErrModule, err, moduleHint())}
	} else if st.IsDir() {
		return nil, &KeyError{Ref: abs, Step: "load module", Err: fmt.Errorf("%w: is a directory, not a shared library", ErrModule)}
	}
	if softhsmConf != "" {
		if prev, ok := firstConf[abs]; ok && prev != softhsmConf {
			return nil, &KeyError{Ref: abs, Step: "load module", Err: fmt.Errorf("%w: this process already used the module with SOFTHSM2_CONF=%s; SoftHSM2 cannot switch to %s without a restart", ErrModule, prev, softhsmConf)}
		}
		// SoftHSM2 reads its configuration from the environment at C_Initialize.
		os.Setenv("SOFTHSM2_CONF", softhsmConf)
	}
	ctx := pkcs11.New(abs)
	if ctx == nil {
		return nil, &KeyError{Ref: abs, Step: "load module", Err: fmt.Errorf("%w: not a loadable PKCS#11 library (dlopen failed or C_GetFunctionList missing)", ErrModule)}
	}
	if err := ctx.Initialize(); err != nil && !isCKR(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ctx.Destroy()
		return nil, &KeyError{Ref: abs, Step: "initialize module", Err: fmt.Errorf("%w: C_Initialize: %v", ErrModule, err)}
	}
	m := &Module{path: abs, ctx: ctx, conf: os.Getenv("SOFTHSM2_CONF"), refs: 1}
	if _, ok := firstConf[abs]; !ok {
		firstConf[abs] = m.conf
	}
	modules[abs] = m
	return m, nil
}

// moduleHint lists PKCS#11 modules found in the usual places, to help the user fix a path.
func moduleHint() string {
	found := KnownModules()
	if len(found) == 0 {
		return " (no PKCS#11 module found in the usual places; install softhsm2, opensc or your HSM vendor's module)"
	}
	return " (modules found on this system: " + strings.Join(found, ", ") + ")"
}

// KnownModules lists PKCS#11 libraries installed in the usual places (SoftHSM2, OpenSC, p11-kit,
// YubiHSM), for a GUI's "add module" list and for error hints.
func KnownModules() []string {
	cands := []string{
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/opt/homebrew/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
		"/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
		"/usr/lib/opensc-pkcs11.so",
		"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
		"/usr/lib/x86_64-linux-gnu/pkcs11/yubihsm_pkcs11.so",
		"/usr/lib/x86_64-linux-gnu/libykcs11.so",
	}
	var out []string
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// SoftHSMModule returns the path of the installed SoftHSM2 library, or ErrSoftHSMMissing.
func SoftHSMModule() (string, error) {
	for _, c := range KnownModules() {
		if strings.Contains(c, "softhsm") {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: install it (Debian/Ubuntu: apt-get install softhsm2; macOS: brew install softhsm)", ErrSoftHSMMissing)
}

// findModuleByName resolves RFC 7512 module-name (e.g. "softhsm2" -> libsofthsm2.so).
func findModuleByName(name string) string {
	for _, c := range KnownModules() {
		b := filepath.Base(c)
		if b == name || b == name+".so" || b == "lib"+name+".so" {
			return c
		}
	}
	return ""
}

// Path is the absolute path of the library.
func (m *Module) Path() string { return m.path }

// Close releases this reference; the last one finalizes and unloads the library.
func (m *Module) Close() error {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m.refs <= 0 {
		return nil
	}
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules, m.path)
	err := m.ctx.Finalize()
	m.ctx.Destroy()
	if err != nil {
		return &KeyError{Ref: m.path, Step: "finalize module", Err: err}
	}
	return nil
}

// TokenInfo describes a token present in a slot.
type TokenInfo struct {
	SlotID        uint
	Label         string
	Manufacturer  string
	Model         string
	Serial        string
	Initialized   bool
	LoginRequired bool
	PINLocked     bool
	PINLowRetries bool // CKF_USER_PIN_COUNT_LOW / FINAL_TRY: warn before the next attempt
}

// URI is the token's pkcs11: URI with the module path.
func (t TokenInfo) URI(modulePath string) string {
	return (&URI{Token: t.Label, ModulePath: modulePath}).String()
}

// Tokens lists the tokens present in the module's slots (initialized or not).
func (m *Module) Tokens() ([]TokenInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return nil, &KeyError{Ref: m.path, Step: "list slots", Err: p11err(err)}
	}
	var out []TokenInfo
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil {
			continue
		}
		out = append(out, TokenInfo{
			SlotID:        s,
			Label:         trimP11(ti.Label),
			Manufacturer:  trimP11(ti.ManufacturerID),
			Model:         trimP11(ti.Model),
			Serial:        trimP11(ti.SerialNumber),
			Initialized:   ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0,
			LoginRequired: ti.Flags&pkcs11.CKF_LOGIN_REQUIRED != 0,
			PINLocked:     ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0,
			PINLowRetries: ti.Flags&(pkcs11.CKF_USER_PIN_COUNT_LOW|pkcs11.CKF_USER_PIN_FINAL_TRY) != 0,
		})
	}
	return out, nil
}

func trimP11(s string) string { return strings.TrimRight(s, " \x00") }

// InitToken initializes the first uninitialized token (SoftHSM2's free slot) with a label, a
// security officer PIN and a user PIN. Used for development tokens and tests.
func (m *Module) InitToken(label, soPIN, userPIN string) (TokenInfo, error) {
	toks, err := m.Tokens()
	if err != nil {
		return TokenInfo{}, err
	}
	for _, t := range toks {
		if t.Initialized && t.Label == label {
			return TokenInfo{}, &KeyError{Ref: m.path, Step: "init token", Err: fmt.Errorf("%w: a token labelled %q already exists", ErrExists, label)}
		}
	}
	for _, t := range toks {
		if t.Initialized {
			continue
		}
		m.mu.Lock()
		err := m.ctx.InitToken(t.SlotID, soPIN, label)
		if err == nil {
			err = m.initUserPIN(t.SlotID, soPIN, userPIN)
		}
		m.mu.Unlock()
		if err != nil {
			return TokenInfo{}, &KeyError{Ref: m.path, Step: "init token", Err: p11err(err)}
		}
		toks, err := m.Tokens()
		if err != nil {
			return TokenInfo{}, err
		}
		for _, nt := range toks {
			if nt.Initialized && nt.Label == label {
				return nt, nil
			}
		}
		return TokenInfo{}, &KeyError{Ref: m.path, Step: "init token", Err: fmt.Errorf("%w: token %q vanished after initialization", ErrToken, label)}
	}
	return TokenInfo{}, &KeyError{Ref: m.path, Step: "init token", Err: fmt.Errorf("%w: no uninitialized slot", ErrToken)}
}

func (m *Module) initUserPIN(slot uint, soPIN, userPIN string) error {
	sh, err := m.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return err
	}
	defer m.ctx.CloseSession(sh)
	if err := m.ctx.Login(sh, pkcs11.CKU_SO, soPIN); err != nil {
		return err
	}
	defer m.ctx.Logout(sh)
	return m.ctx.InitPIN(sh, userPIN)
}

// ---------------------------------------------------------------------------------------------
// Sessions

// Session is an open, logged-in session on one token. A Session and the keys taken from it are
// safe for concurrent use (calls are serialized, as PKCS#11 sessions require).
type Session struct {
	mod    *Module
	token  TokenInfo
	uri    URI // token part of the URI, with module path, no pin-source
	mu     sync.Mutex
	sh     pkcs11.SessionHandle
	closed bool
}

// OpenSession opens a read-write session on the token the URI names (object attributes are
// ignored) and logs in, taking the PIN from pin-source, SUIT_PKCS11_PIN, then opts.PIN.
func OpenSession(ref string, opts LoadOptions) (*Session, error) {
	u, err := ParseURI(ref)
	if err != nil {
		return nil, &KeyError{Step: "parse URI", Err: err}
	}
	return openSessionURI(u, opts)
}

func openSessionURI(u *URI, opts LoadOptions) (*Session, error) {
	modPath := u.ModulePath
	if modPath == "" && u.ModuleName != "" {
		modPath = findModuleByName(u.ModuleName)
		if modPath == "" {
			return nil, &KeyError{Ref: "pkcs11:" + u.PathString(), Step: "load module", Err: fmt.Errorf("%w: no module named %q found%s", ErrModule, u.ModuleName, moduleHint())}
		}
	}
	if modPath == "" {
		modPath = opts.getenv(pkcs11EnvModule)
	}
	if modPath == "" {
		return nil, &KeyError{Ref: "pkcs11:" + u.PathString(), Step: "load module", Err: fmt.Errorf("%w: the URI has no module-path and %s is not set%s", ErrModule, pkcs11EnvModule, moduleHint())}
	}
	mod, err := openModule(modPath, u.SoftHSMConf)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			mod.Close()
		}
	}()
	tok, err := selectToken(mod, u)
	if err != nil {
		return nil, err
	}
	s := &Session{mod: mod, token: tok, uri: URI{Token: tok.Label, ModulePath: mod.path, SoftHSMConf: u.SoftHSMConf}}
	ref := "pkcs11:" + s.uri.PathString()
	mod.mu.Lock()
	s.sh, err = mod.ctx.OpenSession(tok.SlotID, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	mod.mu.Unlock()
	if err != nil {
		return nil, &KeyError{Ref: ref, Step: "open session", Err: p11err(err)}
	}
	if err := s.login(u, opts); err != nil {
		mod.ctx.CloseSession(s.sh)
		return nil, err
	}
	ok = true
	return s, nil
}

func selectToken(mod *Module, u *URI) (TokenInfo, error) {
	toks, err := mod.Tokens()
	if err != nil {
		return TokenInfo{}, err
	}
	var match []TokenInfo
	var labels []string
	for _, t := range toks {
		if !t.Initialized {
			continue
		}
		labels = append(labels, fmt.Sprintf("%q", t.Label))
		if u.Token != "" && t.Label != u.Token ||
			u.Manufacturer != "" && t.Manufacturer != u.Manufacturer ||
			u.Serial != "" && t.Serial != u.Serial ||
			u.Model != "" && t.Model != u.Model ||
			u.SlotID != nil && t.SlotID != *u.SlotID {
			continue
		}
		match = append(match, t)
	}
	ref := "pkcs11:" + u.PathString()
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(labels) == 0:
		return TokenInfo{}, &KeyError{Ref: ref, Step: "find token", Err: fmt.Errorf("%w: module %s has no initialized token (create one: softhsm2-util --init-token --free --label NAME)", ErrTokenNotFound, mod.path)}
	case len(match) == 0:
		return TokenInfo{}, &KeyError{Ref: ref, Step: "find token", Err: fmt.Errorf("%w: tokens present: %s", ErrTokenNotFound, strings.Join(labels, ", "))}
	default:
		return TokenInfo{}, &KeyError{Ref: ref, Step: "find token", Err: fmt.Errorf("%w: %d tokens match, add token=LABEL or serial=... (tokens present: %s)", ErrTokenNotFound, len(match), strings.Join(labels, ", "))}
	}
}

// readPINSource reads a pin-source attribute: "file:/path" or a bare path. Only the first line
// counts, without its line ending.
func readPINSource(src string, warn func(string)) (string, error) {
	p := src
	if strings.HasPrefix(p, "file:") {
		p = strings.TrimPrefix(p, "file:")
		p = strings.TrimPrefix(p, "//") // file:///path
		if !strings.HasPrefix(p, "/") && strings.HasPrefix(src, "file://") {
			p = "/" + p
		}
	} else if strings.Contains(p, ":") && !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: pin-source %q: only file: sources are supported", ErrNoPIN, strings.SplitN(p, ":", 2)[0]+":")
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("%w: pin-source file: %v", ErrNoPIN, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o044 != 0 {
		warnPINFileOnce(p, fi.Mode().Perm(), warn)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("%w: pin-source file %s: %v", ErrNoPIN, p, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

func (s *Session) login(u *URI, opts LoadOptions) error {
	ref := "pkcs11:" + s.uri.PathString()
	if s.token.PINLocked {
		return &KeyError{Ref: ref, Step: "login", Err: fmt.Errorf("%w: the user PIN is locked after too many wrong attempts; the security officer must unlock it (softhsm2-util has no unlock: re-initialize a development token)", ErrPINLocked)}
	}
	if !s.token.LoginRequired {
		return nil
	}
	try := func(pin string) error {
		s.mod.mu.Lock()
		err := s.mod.ctx.Login(s.sh, pkcs11.CKU_USER, pin)
		s.mod.mu.Unlock()
		if err == nil || isCKR(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			return nil
		}
		return p11err(err)
	}
	wrap := func(err error, from string) error {
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrPINIncorrect) {
			err = fmt.Errorf("%w (PIN from %s)", err, from)
		}
		return &KeyError{Ref: ref, Step: "login", Err: err}
	}
	if u.PINSource != "" {
		pin, err := readPINSource(u.PINSource, opts.warn)
		if err != nil {
			return &KeyError{Ref: ref, Step: "login", Err: err}
		}
		return wrap(try(pin), "pin-source")
	}
	if pin := opts.getenv(pkcs11EnvPIN); pin != "" {
		return wrap(try(pin), pkcs11EnvPIN)
	}
	if opts.PIN == nil {
		return &KeyError{Ref: ref, Step: "login", Err: fmt.Errorf("%w: token %q needs a PIN: add pin-source=file:PATH to the URI, set %s, or run where a prompt is possible", ErrNoPIN, s.token.Label, pkcs11EnvPIN)}
	}
	var last error
	for i := 0; i < maxInteractivePINTrials; i++ {
		pin, err := opts.PIN.PIN(opts.ctx(), PINRequest{Token: s.token.Label, URI: ref, Retry: i > 0})
		if err != nil {
			return &KeyError{Ref: ref, Step: "login", Err: fmt.Errorf("%w: %v", ErrNoPIN, err)}
		}
		last = try(pin)
		if !errors.Is(last, ErrPINIncorrect) {
			break
		}
	}
	return wrap(last, "the prompt")
}

// Token describes the session's token.
func (s *Session) Token() TokenInfo { return s.token }

// Module is the session's module.
func (s *Session) Module() *Module { return s.mod }

// Close closes the session and releases the module reference.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.mod.mu.Lock()
	err := s.mod.ctx.CloseSession(s.sh)
	s.mod.mu.Unlock()
	if cerr := s.mod.Close(); err == nil {
		err = cerr
	}
	return err
}

// do runs f with the session handle, serialized with every other use of the module.
func (s *Session) do(f func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.mod.mu.Lock()
	defer s.mod.mu.Unlock()
	return f(s.mod.ctx, s.sh)
}

// KeyInfo describes a key pair on a token.
type KeyInfo struct {
	Label  string
	ID     []byte
	Kind   string // "P-256", "Ed25519", "RSA-3072", ...
	Public crypto.PublicKey
	// URI names the private key (token, object, id, module path; no PIN source).
	URI string
	// HasPrivate is false for a public key without its private half on this token.
	HasPrivate bool
}

// Keys lists the key pairs on the token (private keys, and public keys without a private half).
func (s *Session) Keys() ([]KeyInfo, error) {
	var privs, pubs []pkcs11.ObjectHandle
	err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		var err error
		privs, err = findAll(ctx, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)})
		if err != nil {
			return err
		}
		pubs, err = findAll(ctx, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY)})
		return err
	})
	if err != nil {
		return nil, &KeyError{Ref: "pkcs11:" + s.uri.PathString(), Step: "list keys", Err: p11err(err)}
	}
	var out []KeyInfo
	seen := map[string]bool{}
	for _, set := range []struct {
		hs   []pkcs11.ObjectHandle
		priv bool
	}{{privs, true}, {pubs, false}} {
		for _, h := range set.hs {
			label, id, _, err := s.objectNames(h)
			if err != nil {
				continue
			}
			k := string(id) + "\x00" + label
			if seen[k] {
				continue
			}
			seen[k] = true
			ki := KeyInfo{Label: label, ID: id, HasPrivate: set.priv}
			if pub, err := s.publicFor(h, label, id); err == nil {
				ki.Public = pub
				ki.Kind = KeyKind(pub)
			} else {
				ki.Kind = "unknown"
			}
			u := s.uri
			u.Object, u.ID, u.Type = label, id, "private"
			if !set.priv {
				u.Type = "public"
			}
			ki.URI = u.String()
			out = append(out, ki)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Label != out[j].Label {
			return out[i].Label < out[j].Label
		}
		return hex.EncodeToString(out[i].ID) < hex.EncodeToString(out[j].ID)
	})
	return out, nil
}

func findAll(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	defer ctx.FindObjectsFinal(sh)
	var out []pkcs11.ObjectHandle
	for {
		hs, _, err := ctx.FindObjects(sh, 64)
		if err != nil {
			return nil, err
		}
		if len(hs) == 0 {
			return out, nil
		}
		out = append(out, hs...)
		if len(out) > 100000 {
			return nil, fmt.Errorf("%w: more than 100000 objects", ErrToken)
		}
	}
}

func (s *Session) objectNames(h pkcs11.ObjectHandle) (label string, id []byte, keyType uint, err error) {
	err = s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		attrs, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
			pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
		})
		if err != nil {
			return err
		}
		for _, a := range attrs {
			switch a.Type {
			case pkcs11.CKA_LABEL:
				label = string(a.Value)
			case pkcs11.CKA_ID:
				id = append([]byte(nil), a.Value...)
			case pkcs11.CKA_KEY_TYPE:
				keyType = bytesToUint(a.Value)
			}
		}
		return nil
	})
	return
}

func bytesToUint(b []byte) uint {
	// CK_ULONG in host byte order; miekg/pkcs11 provides no decoder for it.
	var v uint
	if len(b) == 8 || len(b) == 4 {
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint(b[i])
		}
	}
	return v
}

// publicFor reads the public key matching an object: from the object itself (public key), from
// the public key object with the same CKA_ID (or label), or from an RSA private key's modulus.
func (s *Session) publicFor(h pkcs11.ObjectHandle, label string, id []byte) (crypto.PublicKey, error) {
	if pub, err := s.readPublic(h); err == nil {
		return pub, nil
	}
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY)}
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	} else {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	var hs []pkcs11.ObjectHandle
	err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		var err error
		hs, err = findAll(ctx, sh, tmpl)
		return err
	})
	if err != nil {
		return nil, p11err(err)
	}
	for _, ph := range hs {
		if pub, err := s.readPublic(ph); err == nil {
			return pub, nil
		}
	}
	return nil, fmt.Errorf("%w: no public key object with the same CKA_ID on the token", ErrNotFound)
}

func (s *Session) readPublic(h pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	var pub crypto.PublicKey
	err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		kt, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
		if err != nil {
			return err
		}
		switch bytesToUint(kt[0].Value) {
		case pkcs11.CKK_EC, ckkECEdwards:
			a, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
				pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
			})
			if err != nil {
				return err
			}
			pub, err = parseECPublic(a[0].Value, a[1].Value)
			return err
		case pkcs11.CKK_RSA:
			a, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
				pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
			})
			if err != nil {
				return err
			}
			e := new(big.Int).SetBytes(a[1].Value)
			if !e.IsInt64() || e.Int64() > 1<<31-1 || e.Int64() < 3 {
				return fmt.Errorf("%w: RSA public exponent out of range", ErrUnsupportedKey)
			}
			pub = &rsa.PublicKey{N: new(big.Int).SetBytes(a[0].Value), E: int(e.Int64())}
			return nil
		default:
			return fmt.Errorf("%w: key type 0x%x", ErrUnsupportedKey, bytesToUint(kt[0].Value))
		}
	})
	return pub, err
}

// parseECPublic decodes CKA_EC_PARAMS (a named-curve OID, or "edwards25519" as a
// PrintableString) and CKA_EC_POINT (DER OCTET STRING around the point, or the raw point).
func parseECPublic(params, point []byte) (crypto.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	isEd := false
	if _, err := asn1.Unmarshal(params, &oid); err != nil {
		var name string
		if _, err2 := asn1.Unmarshal(params, &name); err2 != nil || (name != "edwards25519" && name != "Ed25519") {
			return nil, fmt.Errorf("%w: CKA_EC_PARAMS is not a named curve", ErrUnsupportedKey)
		}
		isEd = true
	} else if oid.Equal(oidEd25519) {
		isEd = true
	}
	var raw []byte
	if _, err := asn1.Unmarshal(point, &raw); err != nil {
		raw = point
	}
	if isEd {
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 point of %d bytes", ErrUnsupportedKey, len(raw))
		}
		return ed25519.PublicKey(append([]byte(nil), raw...)), nil
	}
	var c elliptic.Curve
	switch {
	case oid.Equal(oidP256):
		c = elliptic.P256()
	case oid.Equal(oidP384):
		c = elliptic.P384()
	case oid.Equal(oidP521):
		c = elliptic.P521()
	default:
		return nil, fmt.Errorf("%w: curve %v", ErrUnsupportedKey, oid)
	}
	return ecdsa.ParseUncompressedPublicKey(c, raw)
}

// Generate creates a key pair on the token: the private key is sensitive, not extractable,
// may only sign; both halves carry the label and a CKA_ID. A nil id gets the file convention's
// kid (first 8 bytes of SHA-256 over the SubjectPublicKeyInfo) so a key has the same kid in a
// file and on a token; if the token refuses to change CKA_ID, a random 8-byte id stays.
func (s *Session) Generate(kind KeyType, label string, id []byte) (KeyInfo, error) {
	ref := "pkcs11:" + (&URI{Token: s.token.Label, Object: label}).PathString()
	if label == "" {
		return KeyInfo{}, &KeyError{Ref: ref, Step: "generate", Err: fmt.Errorf("%w: a key needs a label (object=)", ErrBadURI)}
	}
	if existing, _ := s.Keys(); len(existing) > 0 {
		for _, k := range existing {
			if k.Label == label {
				return KeyInfo{}, &KeyError{Ref: ref, Step: "generate", Err: fmt.Errorf("%w: a key labelled %q is already on the token", ErrExists, label)}
			}
		}
	}
	fixID := id == nil
	if fixID {
		id = make([]byte, 8)
		rand.Read(id)
	}
	pubT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	privT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	var mech uint
	switch kind {
	case P256, P384:
		oid := oidP256
		if kind == P384 {
			oid = oidP384
		}
		p, _ := asn1.Marshal(oid)
		pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p))
		mech = pkcs11.CKM_EC_KEY_PAIR_GEN
	case Ed25519:
		p, _ := asn1.Marshal(oidEd25519)
		pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p))
		mech = ckmECEdwardsKeyPairGen
	case RSA3072:
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 3072),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
	default:
		return KeyInfo{}, &KeyError{Ref: ref, Step: "generate", Err: fmt.Errorf("%w: %v", ErrUnsupportedKey, kind)}
	}
	var pubH, privH pkcs11.ObjectHandle
	err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		var err error
		pubH, privH, err = ctx.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pubT, privT)
		return err
	})
	if err != nil {
		err = p11err(err)
		if isCKR(err, pkcs11.CKR_MECHANISM_INVALID) || isCKR(err, pkcs11.CKR_DOMAIN_PARAMS_INVALID) || isCKR(err, pkcs11.CKR_CURVE_NOT_SUPPORTED) {
			err = fmt.Errorf("%w: the token cannot generate %v keys: %v", ErrUnsupportedKey, kind, err)
		}
		return KeyInfo{}, &KeyError{Ref: ref, Step: "generate", Err: err}
	}
	pub, err := s.readPublic(pubH)
	if err != nil {
		return KeyInfo{}, &KeyError{Ref: ref, Step: "read generated public key", Err: err}
	}
	if fixID {
		if kid, err := PublicKeyID(pub); err == nil {
			err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
				a := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, kid)}
				if err := ctx.SetAttributeValue(sh, pubH, a); err != nil {
					return err
				}
				return ctx.SetAttributeValue(sh, privH, a)
			})
			if err == nil {
				id = kid
			}
		}
	}
	u := s.uri
	u.Object, u.ID, u.Type = label, id, "private"
	return KeyInfo{Label: label, ID: id, Kind: KeyKind(pub), Public: pub, URI: u.String(), HasPrivate: true}, nil
}

// Delete destroys the key pair (private and public objects) with this label and id.
func (s *Session) Delete(label string, id []byte) error {
	tmpl := []*pkcs11.Attribute{}
	if label != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	if len(tmpl) == 0 {
		return &KeyError{Step: "delete", Err: fmt.Errorf("%w: give a label or an id", ErrBadURI)}
	}
	n := 0
	err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		hs, err := findAll(ctx, sh, tmpl)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if err := ctx.DestroyObject(sh, h); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return &KeyError{Ref: "pkcs11:" + (&URI{Token: s.token.Label, Object: label, ID: id}).PathString(), Step: "delete", Err: p11err(err)}
	}
	return nil
}

// Key finds a private key on the token by label and/or id (both empty: the only key there).
// The key shares the session: closing the key does not close the session.
func (s *Session) Key(label string, id []byte) (Key, error) {
	return s.key(&URI{Object: label, ID: id}, false)
}

func (s *Session) key(u *URI, owns bool) (*p11Key, error) {
	ku := s.uri
	ku.Object, ku.ID = u.Object, u.ID
	ref := "pkcs11:" + ku.PathString()
	if u.Type != "" && u.Type != "private" {
		return nil, &KeyError{Ref: ref, Step: "find key", Err: fmt.Errorf("%w: type=%s cannot sign; use type=private or leave type out", ErrWrongKeyType, u.Type)}
	}
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}
	if u.Object != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, u.Object))
	}
	if len(u.ID) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, u.ID))
	}
	var hs []pkcs11.ObjectHandle
	err := s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		var err error
		hs, err = findAll(ctx, sh, tmpl)
		return err
	})
	if err != nil {
		return nil, &KeyError{Ref: ref, Step: "find key", Err: p11err(err)}
	}
	if len(hs) != 1 {
		return nil, &KeyError{Ref: ref, Step: "find key", Err: s.keyNotFound(u, len(hs))}
	}
	h := hs[0]
	label, id, kt, err := s.objectNames(h)
	if err != nil {
		return nil, &KeyError{Ref: ref, Step: "find key", Err: p11err(err)}
	}
	ku.Object, ku.ID = label, id
	ref = "pkcs11:" + ku.PathString()
	if kt != pkcs11.CKK_EC && kt != ckkECEdwards && kt != pkcs11.CKK_RSA {
		return nil, &KeyError{Ref: ref, Step: "find key", Err: fmt.Errorf("%w: key type 0x%x is not EC, Ed25519 or RSA", ErrWrongKeyType, kt)}
	}
	pub, err := s.publicFor(h, label, id)
	if err != nil {
		return nil, &KeyError{Ref: ref, Step: "read public key", Err: err}
	}
	alg, err := AlgorithmFor(pub)
	if err != nil {
		return nil, &KeyError{Ref: ref, Step: "find key", Err: err}
	}
	kid := id
	if len(kid) == 0 {
		kid, _ = PublicKeyID(pub)
	}
	return &p11Key{s: s, h: h, pub: pub, alg: alg, kid: kid, owns: owns,
		desc: "pkcs11 " + ku.PathString() + " (" + KeyKind(pub) + ")"}, nil
}

func (s *Session) keyNotFound(u *URI, n int) error {
	keys, _ := s.Keys()
	var names []string
	for _, k := range keys {
		if k.HasPrivate {
			names = append(names, fmt.Sprintf("object=%s;id=%s (%s)", k.Label, pctEncodeAll(k.ID), k.Kind))
		}
	}
	have := "no private keys on the token; generate one with 'suit keys generate'"
	if len(names) > 0 {
		have = "private keys present: " + strings.Join(names, ", ")
	}
	if n > 1 {
		return fmt.Errorf("%w: %d private keys match; add object= or id= (%s)", ErrNotFound, n, have)
	}
	return fmt.Errorf("%w: no private key with this label/id on token %q (%s)", ErrNotFound, s.token.Label, have)
}

// loadPKCS11 is LoadPrivate for "pkcs11:" references: the key owns its session.
func loadPKCS11(ref string, opts LoadOptions) (any, error) {
	u, err := ParseURI(ref)
	if err != nil {
		return nil, &KeyError{Step: "parse URI", Err: err}
	}
	s, err := openSessionURI(u, opts)
	if err != nil {
		return nil, err
	}
	k, err := s.key(u, true)
	if err != nil {
		s.Close()
		return nil, err
	}
	return k, nil
}

// p11Key is a private key inside a token.
type p11Key struct {
	s    *Session
	h    pkcs11.ObjectHandle
	pub  crypto.PublicKey
	alg  int64
	kid  []byte
	desc string
	owns bool
}

func (k *p11Key) Public() crypto.PublicKey { return k.pub }
func (k *p11Key) Algorithm() int64         { return k.alg }
func (k *p11Key) KeyID() []byte            { return append([]byte(nil), k.kid...) }
func (k *p11Key) Description() string      { return k.desc }

// Close closes the key's session when the key was loaded by LoadPrivate.
func (k *p11Key) Close() error {
	if k.owns {
		return k.s.Close()
	}
	return nil
}

// Sign signs on the token. ECDSA: digest in, ASN.1 DER signature out (CKM_ECDSA on the host's
// digest). Ed25519: the whole message with crypto.Hash(0) (CKM_EDDSA). RSA: PKCS#1 v1.5 over a
// digest (CKM_RSA_PKCS with the DigestInfo prefix), or RSASSA-PSS when opts is *rsa.PSSOptions
// (CKM_RSA_PKCS_PSS; salt length = hash length unless given).
func (k *p11Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var mech *pkcs11.Mechanism
	input := digest
	hash := crypto.Hash(0)
	if opts != nil {
		hash = opts.HashFunc()
	}
	wrong := func(format string, a ...any) error {
		return &KeyError{Ref: k.desc, Step: "sign", Err: fmt.Errorf("%w: "+format, append([]any{ErrUnsupportedHash}, a...)...)}
	}
	switch k.pub.(type) {
	case *ecdsa.PublicKey:
		// Like *ecdsa.PrivateKey, any digest is accepted and opts may be nil (go-cose passes nil).
		if len(digest) == 0 || len(digest) > 64 {
			return nil, wrong("ECDSA digest of %d bytes", len(digest))
		}
		if hash != 0 && hash.Available() && len(digest) != hash.Size() {
			return nil, wrong("digest of %d bytes for %v", len(digest), hash)
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)
	case ed25519.PublicKey:
		if hash != 0 {
			return nil, wrong("Ed25519 signs the message itself (crypto.Hash(0)); Ed25519ph is not supported")
		}
		mech = pkcs11.NewMechanism(ckmEdDSA, nil)
	case *rsa.PublicKey:
		hm, prefix, ok := rsaHash(hash)
		if !ok || len(digest) != hash.Size() {
			return nil, wrong("RSA with hash %v and a %d-byte digest", hash, len(digest))
		}
		if pss, isPSS := opts.(*rsa.PSSOptions); isPSS {
			salt := pss.SaltLength
			if salt <= 0 { // PSSSaltLengthAuto / EqualsHash
				salt = hash.Size()
			}
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(hm.mech, hm.mgf, uint(salt)))
		} else {
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
			input = append(append([]byte(nil), prefix...), digest...)
		}
	}
	var sig []byte
	err := k.s.do(func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) error {
		if err := ctx.SignInit(sh, []*pkcs11.Mechanism{mech}, k.h); err != nil {
			return err
		}
		var err error
		sig, err = ctx.Sign(sh, input)
		return err
	})
	if err != nil {
		return nil, &KeyError{Ref: k.desc, Step: "sign", Err: p11err(err)}
	}
	if ep, ok := k.pub.(*ecdsa.PublicKey); ok {
		return ecdsaRawToDER(sig, (ep.Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

type rsaHashMech struct{ mech, mgf uint }

func rsaHash(h crypto.Hash) (rsaHashMech, []byte, bool) {
	switch h {
	case crypto.SHA256:
		return rsaHashMech{pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256}, []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, true
	case crypto.SHA384:
		return rsaHashMech{pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384}, []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}, true
	case crypto.SHA512:
		return rsaHashMech{pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512}, []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}, true
	}
	return rsaHashMech{}, nil, false
}

// ecdsaRawToDER turns PKCS#11's r||s into the ASN.1 Ecdsa-Sig-Value that crypto.Signer
// callers expect from ECDSA keys.
func ecdsaRawToDER(raw []byte, size int) ([]byte, error) {
	if len(raw) != 2*size {
		return nil, fmt.Errorf("%w: token returned a %d-byte ECDSA signature, want %d", ErrToken, len(raw), 2*size)
	}
	r := new(big.Int).SetBytes(raw[:size])
	s := new(big.Int).SetBytes(raw[size:])
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}

// ---------------------------------------------------------------------------------------------
// Errors

func isCKR(err error, code uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == code
}

// p11err maps PKCS#11 return values to this package's sentinel errors, keeping the CKR name.
func p11err(err error) error {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return err
	}
	switch uint(e) {
	case pkcs11.CKR_PIN_INCORRECT:
		return fmt.Errorf("%w (%w)", ErrPINIncorrect, err)
	case pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("%w: the user PIN is locked after too many wrong attempts (%w)", ErrPINLocked, err)
	case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID:
		return fmt.Errorf("%w: the PIN has the wrong length or characters (%w)", ErrPINIncorrect, err)
	case pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_MECHANISM_INVALID:
		return fmt.Errorf("%w (%w)", ErrWrongKeyType, err)
	case pkcs11.CKR_USER_NOT_LOGGED_IN:
		return fmt.Errorf("%w: not logged in (%w)", ErrToken, err)
	case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED:
		return fmt.Errorf("%w: the token was removed (%w)", ErrTokenNotFound, err)
	}
	return fmt.Errorf("%w: %w", ErrToken, err)
}

// checkAlgorithm refuses a key whose algorithm is not the one a caller insists on.
func checkAlgorithm(k Key, want int64) error {
	if want == 0 || k.Algorithm() == want {
		return nil
	}
	return &KeyError{Ref: k.Description(), Step: "check algorithm", Err: fmt.Errorf("%w: key signs with %s, %s was requested", ErrWrongKeyType, AlgorithmName(k.Algorithm()), AlgorithmName(want))}
}
