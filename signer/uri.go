package signer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// URI is an RFC 7512 PKCS#11 URI: path attributes select a token and an object, query
// attributes say how to reach them. Unknown attributes are kept (Vendor) so a URI survives a
// parse/format round trip.
//
//	pkcs11:token=dev;object=fw;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//
// The RFC's pin-value attribute is refused by ParseURI: a PIN written in a URI ends up in shell
// histories and process lists. Use pin-source=file:PATH, SUIT_PKCS11_PIN or a prompt instead.
type URI struct {
	// Token attributes (path).
	Token        string // token label
	Manufacturer string
	Serial       string
	Model        string
	SlotID       *uint
	SlotDesc     string
	SlotManuf    string
	LibManuf     string
	LibDesc      string
	LibVer       string
	// Object attributes (path).
	Object string // CKA_LABEL
	ID     []byte // CKA_ID
	Type   string // "private", "public", "cert", "secret-key", "data"
	// Query attributes.
	ModulePath string
	ModuleName string
	PINSource  string // "file:/path" (or a bare path)
	// SoftHSMConf is the vendor query attribute x-softhsm2-conf: the SOFTHSM2_CONF to use when
	// the module is first loaded (development tokens live in their own SoftHSM2 configuration).
	SoftHSMConf string
	// VendorPath and VendorQuery hold attributes this package does not know.
	VendorPath  map[string]string
	VendorQuery map[string]string
}

// pathOrder is the order String writes path attributes in.
var pathOrder = []string{"token", "manufacturer", "serial", "model", "slot-description", "slot-manufacturer", "slot-id", "library-manufacturer", "library-description", "library-version", "object", "type", "id"}

// ParseURI parses a "pkcs11:" URI. Values are percent-decoded.
func ParseURI(s string) (*URI, error) {
	if len(s) < 7 || !strings.EqualFold(s[:7], "pkcs11:") {
		return nil, fmt.Errorf("%w: must start with \"pkcs11:\"", ErrBadURI)
	}
	rest := s[7:]
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	if path != "" {
		for _, attr := range strings.Split(path, ";") {
			if attr == "" {
				continue
			}
			name, raw, ok := strings.Cut(attr, "=")
			if !ok {
				return nil, fmt.Errorf("%w: a path attribute has no \"=\" (%s)", ErrBadURI, redactAttr(attr))
			}
			name = strings.ToLower(name)
			if err := refuseSecret("path", name); err != nil {
				return nil, err
			}
			if seen[name] {
				return nil, fmt.Errorf("%w: path attribute %q given twice", ErrBadURI, name)
			}
			seen[name] = true
			val, err := pctDecode(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: attribute %q: %v", ErrBadURI, name, err)
			}
			switch name {
			case "token":
				u.Token = string(val)
			case "manufacturer":
				u.Manufacturer = string(val)
			case "serial":
				u.Serial = string(val)
			case "model":
				u.Model = string(val)
			case "slot-description":
				u.SlotDesc = string(val)
			case "slot-manufacturer":
				u.SlotManuf = string(val)
			case "slot-id":
				n, err := strconv.ParseUint(string(val), 10, 32)
				if err != nil {
					return nil, fmt.Errorf("%w: slot-id %q is not a number", ErrBadURI, val)
				}
				id := uint(n)
				u.SlotID = &id
			case "library-manufacturer":
				u.LibManuf = string(val)
			case "library-description":
				u.LibDesc = string(val)
			case "library-version":
				u.LibVer = string(val)
			case "object":
				u.Object = string(val)
			case "id":
				u.ID = val
			case "type":
				switch string(val) {
				case "private", "public", "cert", "secret-key", "data":
					u.Type = string(val)
				default:
					return nil, fmt.Errorf("%w: type %q (private, public, cert, secret-key or data)", ErrBadURI, val)
				}
			default:
				if u.VendorPath == nil {
					u.VendorPath = map[string]string{}
				}
				u.VendorPath[name] = string(val)
			}
		}
	}
	if query != "" {
		for _, attr := range strings.Split(query, "&") {
			if attr == "" {
				continue
			}
			name, raw, ok := strings.Cut(attr, "=")
			if !ok {
				return nil, fmt.Errorf("%w: a query attribute has no \"=\" (%s)", ErrBadURI, redactAttr(attr))
			}
			name = strings.ToLower(name)
			if err := refuseSecret("query", name); err != nil {
				return nil, err
			}
			if seen["?"+name] {
				return nil, fmt.Errorf("%w: query attribute %q given twice", ErrBadURI, name)
			}
			seen["?"+name] = true
			val, err := pctDecode(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: attribute %q: %v", ErrBadURI, name, err)
			}
			switch name {
			case "module-path":
				u.ModulePath = string(val)
			case "module-name":
				u.ModuleName = string(val)
			case "pin-source":
				u.PINSource = string(val)
			case "x-softhsm2-conf":
				u.SoftHSMConf = string(val)
			default:
				if u.VendorQuery == nil {
					u.VendorQuery = map[string]string{}
				}
				u.VendorQuery[name] = string(val)
			}
		}
	}
	return u, nil
}

// redactAttr describes a malformed attribute without its text, which might be a secret (a PIN
// typed where a name was expected).
func redactAttr(a string) string {
	return fmt.Sprintf("%d characters, not shown: they might be a secret", len(a))
}

// secretAttr reports whether an attribute name looks like it carries a secret: RFC 7512's
// pin-value and anything like it (a vendor's x-pin, so-pin, password, passphrase, secret). The
// pin-source attribute names a file, not a secret.
func secretAttr(name string) bool {
	if name == "pin-source" {
		return false
	}
	for _, w := range []string{"pin", "pass", "secret", "credential"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// refuseSecret refuses a secret attribute in either part of the URI, naming it without its value.
func refuseSecret(part, name string) error {
	if !secretAttr(name) {
		return nil
	}
	if len(name) > 32 {
		name = name[:32] + "..."
	}
	return fmt.Errorf("%w: %s is refused (a %s attribute; its value is not shown): a PIN or password in a URI leaks into shell history and process lists; use pin-source=file:PATH, SUIT_PKCS11_PIN or the prompt", ErrBadURI, name, part)
}

// String formats the URI with path attributes in a fixed order and values percent-encoded.
func (u *URI) String() string {
	var sb strings.Builder
	sb.WriteString("pkcs11:")
	sb.WriteString(u.PathString())
	var q []string
	add := func(n, v string) {
		if v != "" {
			q = append(q, n+"="+pctEncode([]byte(v), true))
		}
	}
	add("module-name", u.ModuleName)
	add("module-path", u.ModulePath)
	add("pin-source", u.PINSource)
	add("x-softhsm2-conf", u.SoftHSMConf)
	for _, k := range sortedKeys(u.VendorQuery) {
		add(k, u.VendorQuery[k])
	}
	if len(q) > 0 {
		sb.WriteString("?")
		sb.WriteString(strings.Join(q, "&"))
	}
	return sb.String()
}

// PathString is the path part only (token and object), safe to show: it never holds the
// pin-source. Description() and errors use it.
func (u *URI) PathString() string {
	vals := map[string]string{
		"token": u.Token, "manufacturer": u.Manufacturer, "serial": u.Serial, "model": u.Model,
		"slot-description": u.SlotDesc, "slot-manufacturer": u.SlotManuf,
		"library-manufacturer": u.LibManuf, "library-description": u.LibDesc, "library-version": u.LibVer,
		"object": u.Object, "type": u.Type,
	}
	if u.SlotID != nil {
		vals["slot-id"] = strconv.FormatUint(uint64(*u.SlotID), 10)
	}
	var p []string
	for _, n := range pathOrder {
		if n == "id" {
			if len(u.ID) > 0 {
				p = append(p, "id="+pctEncodeAll(u.ID))
			}
			continue
		}
		if v := vals[n]; v != "" {
			p = append(p, n+"="+pctEncode([]byte(v), false))
		}
	}
	for _, k := range sortedKeys(u.VendorPath) {
		p = append(p, k+"="+pctEncode([]byte(u.VendorPath[k]), false))
	}
	return strings.Join(p, ";")
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pctEncode encodes everything but unreserved characters; in query values "/" and ":" are kept
// (RFC 7512 allows them) so module paths and pin-source stay readable.
func pctEncode(b []byte, query bool) string {
	var sb strings.Builder
	for _, c := range b {
		if isUnreserved(c) || (query && (c == '/' || c == ':')) {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// pctEncodeAll encodes every byte, as RFC 7512 recommends for id.
func pctEncodeAll(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}

func pctDecode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(s) {
			return nil, fmt.Errorf("truncated percent-encoding at offset %d", i)
		}
		h, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad percent-encoding %q at offset %d", s[i:i+3], i)
		}
		out = append(out, byte(h))
		i += 2
	}
	return out, nil
}
