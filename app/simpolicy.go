package app

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/devicesim"
)

// SimPolicy is what the Simulator tab and `suit sim run` say about the device's surroundings for
// the update-management conditions (draft-ietf-suit-update-management): battery, clock,
// installed versions, the application's authorization. Unset fields keep the device's current
// policy (a kept device remembers the versions set-version recorded).
type SimPolicy struct {
	BatteryMWh    *uint64    // energy left in mWh (the unit of suit-parameter-minimum-battery)
	Clock         *time.Time // the device clock (UTC)
	Authorized    *bool      // the application's answer to update-authorized
	ExternalPower *bool
	Network       *bool
	// Versions are installed versions: key "" (or "*") for every component, or the component's
	// identifier in hex ("00"); values like "1.2.3" or "1.2-rc.3".
	Versions map[string]string
}

// Empty says nothing is set.
func (p SimPolicy) Empty() bool {
	return p.BatteryMWh == nil && p.Clock == nil && p.Authorized == nil && p.ExternalPower == nil && p.Network == nil && len(p.Versions) == 0
}

// Merge applies p over base (nil = no policy yet) and returns the device policy.
func (p SimPolicy) Merge(base *devicesim.Policy) (*devicesim.Policy, error) {
	out := &devicesim.Policy{}
	if base != nil {
		c := *base
		out = &c
		out.Versions = map[string][]int64{}
		for k, v := range base.Versions {
			out.Versions[k] = append([]int64(nil), v...)
		}
	}
	if p.BatteryMWh != nil {
		v := *p.BatteryMWh
		out.BatteryMWh = &v
	}
	if p.Clock != nil {
		out.Clock = p.Clock.UTC()
	}
	if p.Authorized != nil {
		out.Authorized = *p.Authorized
	}
	if p.ExternalPower != nil {
		out.ExternalPower = *p.ExternalPower
	}
	if p.Network != nil {
		out.Network = *p.Network
	}
	for k, s := range p.Versions {
		v, err := devicesim.ParseVersion(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSimInput, err)
		}
		key := strings.ToLower(k)
		if key == "" {
			key = "*"
		}
		if key != "*" {
			if _, err := hex.DecodeString(key); err != nil {
				return nil, fmt.Errorf("%w: component %q: give its identifier in hex (e.g. 00)", ErrSimInput, k)
			}
		}
		if out.Versions == nil {
			out.Versions = map[string][]int64{}
		}
		out.Versions[key] = v
	}
	return out, nil
}

// ApplyPolicy sets the device's policy (merged over the one it has); it is saved with the device.
func (s *SimSession) ApplyPolicy(p SimPolicy) error {
	if p.Empty() {
		return nil
	}
	pol, err := p.Merge(s.Device.Policy())
	if err != nil {
		return err
	}
	s.Device.SetPolicy(pol)
	return nil
}

// ParseVersionFlag reads "[HEX=]VERSION" (the --installed-version flag).
func ParseVersionFlag(s string) (comp, version string, err error) {
	comp, version, ok := strings.Cut(s, "=")
	if !ok {
		comp, version = "", s
	}
	if _, err := devicesim.ParseVersion(version); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrSimInput, err)
	}
	return comp, version, nil
}
