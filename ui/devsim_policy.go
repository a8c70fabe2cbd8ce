package ui

// The Simulator tab's device policy (draft-ietf-suit-update-management): what the simulated
// device knows of its surroundings when a manifest checks minimum-battery, use-before,
// update-authorized, version or waits for an event. The values are held in simPolicy; the
// device model's Policy (devicesim.Config.Policy, branch i11td) is not on main yet, so they are
// not handed to the device yet: see DevicePolicy.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/model"
)

// simPolicy is the device policy as the Simulator tab sets it.
type simPolicy struct {
	BatteryMWh    *uint64   // nil: the device cannot measure its battery
	Clock         time.Time // zero: the device has no clock
	Authorized    bool      // the application's answer to update-authorized
	ExternalPower bool
	Network       bool
	Version       []int64 // installed version of every component; nil: unknown
	VersionText   string  // as typed ("2.0-rc.1"), for the device model's own parser
}

// simPolicyView holds the policy and its widgets.
type simPolicyView struct {
	policy     simPolicy
	battery    *widget.Entry
	hasBattery *widget.Check
	clock      *widget.Entry
	clockNow   *widget.Button
	version    *widget.Entry
	authorized *widget.Check
	power      *widget.Check
	network    *widget.Check
	note       *widget.Label
}

// DevicePolicy is the device policy the Simulator tab sets.
func (v *SimulatorView) DevicePolicy() simPolicy { return v.pol.policy }

func (v *SimulatorView) policyCard() fyne.CanvasObject {
	p := &v.pol
	p.battery = widget.NewEntry()
	p.battery.SetPlaceHolder("mWh")
	p.battery.SetText("5000")
	p.battery.Validator = func(s string) error {
		if _, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err != nil {
			return fmt.Errorf("the energy left in mWh, a whole number from 0")
		}
		return nil
	}
	p.battery.OnChanged = func(s string) {
		if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil && p.policy.BatteryMWh != nil {
			p.policy.BatteryMWh = &n
		}
	}
	p.hasBattery = widget.NewCheck("measures its battery", func(on bool) {
		if !on {
			p.policy.BatteryMWh = nil
			p.battery.Disable()
			return
		}
		p.battery.Enable()
		if n, err := strconv.ParseUint(strings.TrimSpace(p.battery.Text), 10, 64); err == nil {
			p.policy.BatteryMWh = &n
		}
	})
	p.hasBattery.SetChecked(true)

	p.clock = widget.NewEntry()
	p.clock.SetPlaceHolder("no clock; or 2027-01-01T00:00:00Z")
	p.clock.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		_, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("RFC 3339, e.g. 2027-01-01T00:00:00Z, or empty for a device without a clock")
		}
		return nil
	}
	p.clock.OnChanged = func(s string) {
		if strings.TrimSpace(s) == "" {
			p.policy.Clock = time.Time{}
		} else if t, err := time.Parse(time.RFC3339, strings.TrimSpace(s)); err == nil {
			p.policy.Clock = t.UTC()
		}
	}
	p.clockNow = widget.NewButtonWithIcon("Now", theme.HistoryIcon(), func() {
		p.clock.SetText(time.Now().UTC().Truncate(time.Second).Format(time.RFC3339))
	})

	p.version = widget.NewEntry()
	p.version.SetPlaceHolder("unknown; or 1.2.3, 2.0-rc.1")
	p.version.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		_, err := model.ParseVersion(s)
		return err
	}
	p.version.OnChanged = func(s string) {
		if strings.TrimSpace(s) == "" {
			p.policy.Version, p.policy.VersionText = nil, ""
		} else if ver, err := model.ParseVersion(s); err == nil {
			p.policy.Version, p.policy.VersionText = ver, strings.TrimSpace(s)
		}
	}
	p.authorized = widget.NewCheck("the user authorizes updates (update-authorized)", func(on bool) { p.policy.Authorized = on })
	p.power = widget.NewCheck("on external power", func(on bool) { p.policy.ExternalPower = on })
	p.network = widget.NewCheck("network available", func(on bool) { p.policy.Network = on })
	p.note = wrapLabel("What the device knows of its surroundings, for minimum-battery, use-before, update-authorized, version and wait (draft-ietf-suit-update-management).")
	form := widget.NewForm(
		widget.NewFormItem("Battery", container.NewBorder(nil, nil, p.hasBattery, nil, p.battery)),
		widget.NewFormItem("Clock (UTC)", container.NewBorder(nil, nil, nil, p.clockNow, p.clock)),
		widget.NewFormItem("Installed version", p.version),
	)
	return widget.NewCard("Device policy", "", container.NewVBox(p.note, form, p.authorized, p.power, p.network))
}
