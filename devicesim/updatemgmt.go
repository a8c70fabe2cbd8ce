package devicesim

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/model"
)

// Update management (draft-ietf-suit-update-management-14): use-before, image-not-match,
// minimum-battery, update-authorized, version, wait, override-multiple, copy-params,
// set-version and the parameters they consume. What the device knows of its surroundings
// (battery, clock, installed versions, the user's authorization) is its Policy: the simulator's
// stand-in for the gauges and the application a real device asks.

// Policy is the device's view of its surroundings for the update-management conditions.
type Policy struct {
	// BatteryMWh is the energy left in the battery in mWh (the unit of
	// suit-parameter-minimum-battery); nil = the device cannot measure it.
	BatteryMWh *uint64 `json:"battery_mwh,omitempty"`
	// ExternalPower says the device is on external power (wait event power).
	ExternalPower bool `json:"external_power,omitempty"`
	// Network says the network is available (wait event network).
	Network bool `json:"network,omitempty"`
	// Clock is the device's real-time clock; zero = the device has no clock.
	Clock time.Time `json:"clock,omitempty"`
	// Authorized is the application's answer to update-authorized and the authorization wait.
	Authorized bool `json:"authorized,omitempty"`
	// Versions are the installed versions by component identifier (hex of its single byte
	// string, e.g. "00"); "*" is the version of every component not listed. set-version of an
	// applied manifest updates the entries of the components it wrote.
	Versions map[string][]int64 `json:"versions,omitempty"`
}

// ParseVersion reads "1.2.3", "1.2-rc.3", "1.2-beta", "1.2.3-alpha.4" into the integer encoding
// of suit-parameter-version (rc -1, beta -2, alpha -3).
func ParseVersion(s string) ([]int64, error) {
	rel, pre, hasPre := strings.Cut(s, "-")
	var out []int64
	for _, f := range strings.Split(rel, ".") {
		var v int64
		if _, err := fmt.Sscanf(f, "%d", &v); err != nil || v < 0 || fmt.Sprint(v) != f {
			return nil, fmt.Errorf("version %q: %q is not a non-negative integer", s, f)
		}
		out = append(out, v)
	}
	if len(out) > 3 {
		return nil, fmt.Errorf("version %q: at most three release numbers", s)
	}
	if hasPre {
		kind, num, hasNum := strings.Cut(pre, ".")
		switch kind {
		case "rc":
			out = append(out, -1)
		case "beta":
			out = append(out, -2)
		case "alpha":
			out = append(out, -3)
		default:
			return nil, fmt.Errorf("version %q: pre-release must be rc, beta or alpha", s)
		}
		if hasNum {
			var v int64
			if _, err := fmt.Sscanf(num, "%d", &v); err != nil || v < 0 {
				return nil, fmt.Errorf("version %q: pre-release number %q", s, num)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// FormatVersion spells an integer version (the inverse of ParseVersion where it can).
func FormatVersion(v []int64) string {
	var b strings.Builder
	for i, x := range v {
		switch {
		case x < 0:
			b.WriteString(map[int64]string{-1: "-rc", -2: "-beta", -3: "-alpha"}[x])
			if b.Len() == 0 || x < -3 {
				fmt.Fprintf(&b, "(%d)", x)
			}
		case i > 0 && v[i-1] < 0:
			fmt.Fprintf(&b, ".%d", x)
		case i > 0:
			fmt.Fprintf(&b, ".%d", x)
		default:
			fmt.Fprintf(&b, "%d", x)
		}
	}
	return b.String()
}

// umParams are the update-management parameters of one component (references into the kept manifest).
type umParams struct {
	useBefore, minBattery uint64
	priority              int64
	version               []byte // bstr .cbor SUIT_Parameter_Version_Match
	waitInfo              []byte // bstr .cbor { + event => value }
	metadata              []byte // bstr .cbor SUIT_Component_Metadata
}

// extParam reads an update-management parameter; ok is false for a parameter it does not know.
func (p *proc) extParam(c *cursor, i int, key int64, keep bool) (string, bool, error) {
	buf := c.src.(ramSource)
	um := &p.comps[i].params.um
	pname := model.ParamName(key)
	switch key {
	case model.ParamUseBefore, model.ParamMinimumBattery:
		v, err := c.uint()
		if err != nil {
			return "", true, err
		}
		if keep {
			if key == model.ParamUseBefore {
				um.useBefore = v
			} else {
				um.minBattery = v
			}
		}
		if key == model.ParamUseBefore {
			return fmt.Sprintf("%s=%s", pname, time.Unix(int64(min(v, 1<<62)), 0).UTC().Format(time.RFC3339)), true, nil
		}
		return fmt.Sprintf("%s=%d mWh", pname, v), true, nil
	case model.ParamUpdatePriority:
		v, err := c.int()
		if err != nil {
			return "", true, err
		}
		if keep {
			um.priority = v
		}
		return fmt.Sprintf("%s=%d", pname, v), true, nil
	case model.ParamVersion, model.ParamWaitInfo, model.ParamComponentMetadata:
		o, l, err := c.bstr()
		if err != nil {
			return "", true, err
		}
		v := buf[o : o+l]
		word := fmt.Sprintf("%s=%d bytes", pname, l)
		if key == model.ParamComponentMetadata || key == model.ParamWaitInfo {
			// Both are bstr .cbor maps: one well-formed map, nothing after it.
			mc, err := newItemCursor(ramSource(v), pname, 0, len(v))
			if err != nil {
				return "", true, err
			}
			m, err := mc.mapHead()
			if err != nil {
				return "", true, err
			}
			for j := 0; j < 2*m; j++ {
				if err := mc.skip(); err != nil {
					return "", true, err
				}
			}
			if !mc.atEnd() {
				return "", true, mc.errf(mc.pos, "bytes after the %s map", pname)
			}
			word = fmt.Sprintf("%s=%d entries", pname, m)
		}
		if key == model.ParamVersion {
			typ, want, err := parseVersionMatch(v)
			if err != nil {
				return "", true, err
			}
			word = fmt.Sprintf("%s %s %s", pname, cmpWords[typ], FormatVersion(want))
		}
		if keep {
			switch key {
			case model.ParamVersion:
				um.version = v
			case model.ParamWaitInfo:
				um.waitInfo = v
			default:
				um.metadata = v
			}
		}
		return word, true, nil
	}
	return "", false, nil
}

var cmpWords = map[int64]string{1: ">", 2: ">=", 3: "==", 4: "<=", 5: "<"}

// parseVersionMatch reads [comparison-type, [+int]] (at most 8 integers).
func parseVersionMatch(b []byte) (int64, []int64, error) {
	c, err := newItemCursor(ramSource(b), "version", 0, len(b))
	if err != nil {
		return 0, nil, err
	}
	if n, err := c.array(); err != nil {
		return 0, nil, err
	} else if n != 2 {
		return 0, nil, c.errf(0, "suit-parameter-version has %d elements, want [comparison-type, [+int]]", n)
	}
	typ, err := c.int()
	if err != nil {
		return 0, nil, err
	}
	if cmpWords[typ] == "" {
		return 0, nil, c.errf(0, "version comparison type %d (want 1 greater, 2 greater-equal, 3 equal, 4 lesser-equal, 5 lesser)", typ)
	}
	v, err := readInts(c, "version")
	return typ, v, err
}

func readInts(c *cursor, what string) ([]int64, error) {
	n, err := c.array()
	if err != nil {
		return nil, err
	}
	if n == 0 || n > 8 {
		return nil, c.errf(c.pos, "%s has %d integers (1 to 8)", what, n)
	}
	out := make([]int64, 0, n)
	for k := 0; k < n; k++ {
		v, err := c.int()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// compareVersion compares the installed version with the manifest's over the manifest's integers
// (comparison stops when they are consumed or at the first difference); missing installed
// integers count as 0.
func compareVersion(have, want []int64) int {
	for k, w := range want {
		h := int64(0)
		if k < len(have) {
			h = have[k]
		}
		if h < w {
			return -1
		}
		if h > w {
			return 1
		}
	}
	return 0
}

func (p *proc) devPolicy() *Policy {
	if p.d.cfg.Policy == nil {
		return &Policy{}
	}
	return p.d.cfg.Policy
}

func (p *proc) installedVersion(i int) ([]int64, bool) {
	pol := p.devPolicy()
	if v, ok := pol.Versions[hex.EncodeToString(p.comps[i].dev.ID)]; ok {
		return v, true
	}
	v, ok := pol.Versions["*"]
	return v, ok
}

// umCommand runs the update-management conditions and wait on component i.
func (p *proc) umCommand(label int64, name string, i int) error {
	pp := &p.comps[i].params
	um := &pp.um
	pol := p.devPolicy()
	switch label {
	case model.CondUseBefore:
		if !pp.has(model.ParamUseBefore) {
			return p.fail(true, i, name, "", ErrParamUnset, "use-before is not set for this component")
		}
		limit := time.Unix(int64(min(um.useBefore, 1<<62)), 0).UTC()
		arg := "before " + limit.Format(time.RFC3339)
		if pol.Clock.IsZero() {
			return p.fail(true, i, name, arg, ErrCondition, "this device has no clock (set one in the simulator's policy)")
		}
		if !pol.Clock.Before(limit) {
			return p.fail(true, i, name, arg, ErrCondition, "the manifest expired: the device clock says %s", pol.Clock.UTC().Format(time.RFC3339))
		}
		p.pass(i, name, arg+", clock "+pol.Clock.UTC().Format(time.RFC3339))
		return nil

	case model.CondImageNotMatch:
		if !pp.has(model.ParamImageDigest) {
			return p.fail(true, i, name, "", ErrParamUnset, "image-digest is not set for this component")
		}
		f, off, n := p.contentOf(i)
		sum, err := p.d.regionDigest(f, off, n)
		if err != nil {
			return p.failErr(i, name, "", err)
		}
		arg := fmt.Sprintf("not sha-256:%x… over %d bytes", pp.digest[:6], n)
		if subtle.ConstantTimeCompare(sum[:], pp.digest) == 1 {
			return p.fail(true, i, name, arg, ErrCondition, "%s already holds the image with this digest", p.comps[i].dev.Name)
		}
		p.pass(i, name, arg)
		return nil

	case model.CondMinimumBattery:
		if !pp.has(model.ParamMinimumBattery) {
			return p.fail(true, i, name, "", ErrParamUnset, "minimum-battery is not set for this component")
		}
		arg := fmt.Sprintf("at least %d mWh", um.minBattery)
		if pol.BatteryMWh == nil {
			return p.fail(true, i, name, arg, ErrCondition, "this device cannot measure its battery (set the level in the simulator's policy)")
		}
		if *pol.BatteryMWh < um.minBattery {
			return p.fail(true, i, name, arg, ErrCondition, "battery too low: %d mWh, the manifest needs %d mWh", *pol.BatteryMWh, um.minBattery)
		}
		p.pass(i, name, fmt.Sprintf("%s, battery %d mWh", arg, *pol.BatteryMWh))
		return nil

	case model.CondUpdateAuthorized:
		arg := "no priority given"
		if pp.has(model.ParamUpdatePriority) {
			arg = fmt.Sprintf("priority %d", um.priority)
		}
		if !pol.Authorized {
			return p.fail(true, i, name, arg, ErrCondition, "the application did not authorize the update (simulator policy: authorize = no)")
		}
		p.pass(i, name, arg+", authorized")
		return nil

	case model.CondVersion:
		if !pp.has(model.ParamVersion) {
			return p.fail(true, i, name, "", ErrParamUnset, "version is not set for this component")
		}
		typ, want, err := parseVersionMatch(um.version)
		if err != nil {
			return p.failErr(i, name, "", err)
		}
		arg := fmt.Sprintf("installed %s %s", cmpWords[typ], FormatVersion(want))
		have, ok := p.installedVersion(i)
		if !ok {
			return p.fail(true, i, name, arg, ErrCondition, "the installed version of %s is unknown (set it in the simulator's policy)", p.comps[i].dev.Name)
		}
		r := compareVersion(have, want)
		okCmp := map[int64]bool{1: r > 0, 2: r >= 0, 3: r == 0, 4: r <= 0, 5: r < 0}[typ]
		arg = fmt.Sprintf("installed %s %s %s", FormatVersion(have), cmpWords[typ], FormatVersion(want))
		if !okCmp {
			return p.fail(true, i, name, arg, ErrCondition, "version check failed: installed %s is not %s %s", FormatVersion(have), cmpWords[typ], FormatVersion(want))
		}
		p.pass(i, name, arg)
		return nil

	case model.DirWait:
		if !pp.has(model.ParamWaitInfo) {
			return p.fail(false, i, name, "", ErrParamUnset, "wait needs the wait-info parameter")
		}
		return p.wait(i, name, um.waitInfo, pol)
	}
	return p.fail(false, i, name, "", ErrUnknownCommand, "command %s is not implemented", name)
}

var waitEventNames = map[int64]string{1: "authorization", 2: "power", 3: "network", 4: "other-device-version", 5: "time",
	6: "time-of-day", 7: "day-of-week", 8: "time-of-day-utc", 9: "day-of-week-utc"}

// wait evaluates every wait event against the policy. The simulator never blocks: an event that
// has not happened is a directive failure (the update is deferred: abort, to be retried later).
func (p *proc) wait(i int, name string, info []byte, pol *Policy) error {
	c, err := newItemCursor(ramSource(info), "wait-info", 0, len(info))
	if err != nil {
		return p.failErr(i, name, "", err)
	}
	n, err := c.mapHead()
	if err != nil {
		return p.failErr(i, name, "", err)
	}
	var met []string
	for k := 0; k < n; k++ {
		ev, err := c.int()
		if err != nil {
			return p.failErr(i, name, "", err)
		}
		en := waitEventNames[ev]
		if en == "" {
			return p.fail(false, i, name, "", ErrUnsupported, "unknown wait event %d", ev)
		}
		defer1 := func(format string, a ...any) error {
			return p.fail(false, i, name, en, ErrCondition, "waiting for %s: %s; the simulator does not wait, the update is deferred (abort, retry later)", en, fmt.Sprintf(format, a...))
		}
		needClock := func() error {
			if pol.Clock.IsZero() {
				return p.fail(false, i, name, en, ErrUnsupported, "wait event %s needs a clock; this device has none", en)
			}
			return nil
		}
		switch ev {
		case 1, 2, 3:
			v, err := c.int()
			if err != nil {
				return p.failErr(i, name, "", err)
			}
			switch {
			case ev == 1 && !pol.Authorized:
				return defer1("priority %d not authorized by the application", v)
			case ev == 2 && !pol.ExternalPower:
				return defer1("power state %d, the device is on battery", v)
			case ev == 3 && !pol.Network:
				return defer1("network state %d, no network", v)
			}
			met = append(met, fmt.Sprintf("%s %d", en, v))
		case 5, 8, 9:
			v, err := c.uint()
			if err != nil {
				return p.failErr(i, name, "", err)
			}
			if err := needClock(); err != nil {
				return err
			}
			now := pol.Clock.UTC()
			switch ev {
			case 5:
				t := time.Unix(int64(min(v, 1<<62)), 0).UTC()
				if now.Before(t) {
					return defer1("until %s, the clock says %s", t.Format(time.RFC3339), now.Format(time.RFC3339))
				}
				met = append(met, "time "+t.Format(time.RFC3339))
			case 8:
				sec := uint64(now.Hour()*3600 + now.Minute()*60 + now.Second())
				if sec < v {
					return defer1("until %02d:%02d:%02d UTC, it is %s", v/3600, v/60%60, v%60, now.Format("15:04:05"))
				}
				met = append(met, fmt.Sprintf("time of day %02d:%02d UTC", v/3600, v/60%60))
			case 9:
				if uint64(now.Weekday()) != v {
					return defer1("until %s (UTC), it is %s", time.Weekday(v%7), now.Weekday())
				}
				met = append(met, "day "+now.Weekday().String())
			}
		default: // 4 other-device-version, 6/7 local time: no profile, no local time on this device
			_ = c.skip()
			return p.fail(false, i, name, en, ErrUnsupported, "wait event %s is not supported: this device has no local-time configuration and no other-device profile", en)
		}
	}
	p.pass(i, name, strings.Join(met, ", "))
	return nil
}

// multiParams runs override-multiple { + index => { params } } and copy-params { + src => [+label] }.
func (p *proc) multiParams(c *cursor, label int64, name string) error {
	n, err := c.mapHead()
	if err != nil {
		return p.failErr(-1, name, "", err)
	}
	if label == model.DirOverrideMultiple {
		last := -1
		for k := 0; k < n; k++ {
			idx, err := c.uint()
			if err != nil {
				return p.failErr(-1, name, "", err)
			}
			if idx >= uint64(len(p.comps)) {
				return p.fail(false, -1, name, fmt.Sprint(idx), ErrInvalid, "component index %d is out of range (the manifest lists %d)", idx, len(p.comps))
			}
			words, err := p.paramsInto(c, int(idx), true)
			if err != nil {
				return p.failErr(int(idx), name, "", err)
			}
			p.pass(int(idx), name, words)
			last = int(idx)
		}
		if last >= 0 {
			p.sel = []int{last} // the index is the last component listed (update-management §6.7)
		}
		return nil
	}
	start := c.pos
	for _, i := range p.selected() {
		c.pos = start
		var words []string
		for k := 0; k < n; k++ {
			src, err := c.uint()
			if err != nil {
				return p.failErr(i, name, "", err)
			}
			if src >= uint64(len(p.comps)) {
				return p.fail(false, i, name, "", ErrInvalid, "source component %d is out of range (the manifest lists %d)", src, len(p.comps))
			}
			m, err := c.array()
			if err != nil {
				return p.failErr(i, name, "", err)
			}
			for q := 0; q < m; q++ {
				key, err := c.int()
				if err != nil {
					return p.failErr(i, name, "", err)
				}
				if !copyParam(&p.comps[i].params, &p.comps[src].params, key) {
					return p.fail(false, i, name, "", ErrUnknownParameter, "parameter %d cannot be copied (unknown or processor-global)", key)
				}
				words = append(words, fmt.Sprintf("%s from #%d", model.ParamName(key), src))
			}
		}
		p.pass(i, name, strings.Join(words, ", "))
	}
	if len(p.selected()) == 0 {
		c.pos = start
		for k := 0; k < n; k++ {
			if err := c.skip(); err != nil {
				return p.failErr(-1, name, "", err)
			}
			if err := c.skip(); err != nil {
				return p.failErr(-1, name, "", err)
			}
		}
	}
	return nil
}

// copyParam copies one parameter (identical keys only); an unset source unsets the target.
func copyParam(dst, src *compParams, key int64) bool {
	switch key {
	case model.ParamVendorIdentifier:
		dst.vendor, dst.vendorPEN = src.vendor, src.vendorPEN
	case model.ParamClassIdentifier:
		dst.class = src.class
	case model.ParamDeviceIdentifier:
		dst.device = src.device
	case model.ParamImageDigest:
		dst.digest = src.digest
	case model.ParamContent:
		dst.content = src.content
	case model.ParamURI:
		dst.uri = src.uri
	case model.ParamInvokeArgs:
		dst.invokeArgs = src.invokeArgs
	case model.ParamFetchArguments:
		dst.fetchArgs = src.fetchArgs
	case model.ParamEncryptionInfo:
		dst.encInfo = src.encInfo
	case model.ParamImageSize:
		dst.size = src.size
	case model.ParamComponentSlot:
		dst.slot = src.slot
	case model.ParamSourceComponent:
		dst.source = src.source
	case model.ParamUseBefore:
		dst.um.useBefore = src.um.useBefore
	case model.ParamMinimumBattery:
		dst.um.minBattery = src.um.minBattery
	case model.ParamUpdatePriority:
		dst.um.priority = src.um.priority
	case model.ParamVersion:
		dst.um.version = src.um.version
	case model.ParamWaitInfo:
		dst.um.waitInfo = src.um.waitInfo
	case model.ParamComponentMetadata:
		dst.um.metadata = src.um.metadata
	default:
		return false
	}
	bit := uint32(1) << uint(key)
	dst.set = dst.set&^bit | src.set&bit
	return true
}

// readSetVersion reads suit-set-version = bstr .cbor [+int].
func (p *proc) readSetVersion(c *cursor) error {
	o, l, err := c.bstr()
	if err != nil {
		return p.failErr(-1, "read manifest", "", err)
	}
	ic, err := newItemCursor(ramSource(p.manBody[o:o+l]), "set-version", 0, l)
	if err != nil {
		return p.failErr(-1, "read manifest", "", err)
	}
	v, err := readInts(ic, "set-version")
	if err != nil {
		return p.failErr(-1, "read manifest", "", err)
	}
	p.td.setVer = v
	p.emit(Event{Command: "set-version", Argument: FormatVersion(v), Result: Info, Reason: "recorded as the installed version of the components this manifest writes, when it is applied"})
	return nil
}

// applySetVersion records suit-set-version for the components the update wrote (after commit).
func (p *proc) applySetVersion() {
	if p.td.setVer == nil || p.d.cfg.Policy == nil {
		return
	}
	pol := p.d.cfg.Policy
	if pol.Versions == nil {
		pol.Versions = map[string][]int64{}
	}
	var names []string
	for _, dc := range p.d.comps {
		if dc.written {
			id := hex.EncodeToString(dc.ID)
			pol.Versions[id] = append([]int64(nil), p.td.setVer...)
			names = append(names, "[h'"+id+"']")
		}
	}
	if len(names) > 0 {
		p.pass(-1, "set-version", fmt.Sprintf("%s now at %s", strings.Join(names, ", "), FormatVersion(p.td.setVer)))
	}
}

func (p *Policy) clone() *Policy {
	if p == nil {
		return nil
	}
	c := *p
	if p.BatteryMWh != nil {
		v := *p.BatteryMWh
		c.BatteryMWh = &v
	}
	c.Versions = map[string][]int64{}
	for k, v := range p.Versions {
		c.Versions[k] = append([]int64(nil), v...)
	}
	return &c
}

// SetPolicy replaces the device's policy (nil = it knows nothing: no battery gauge, no clock).
func (d *Device) SetPolicy(p *Policy) { d.cfg.Policy = p }

// Policy returns the device's policy (nil when none was set).
func (d *Device) Policy() *Policy { return d.cfg.Policy }
