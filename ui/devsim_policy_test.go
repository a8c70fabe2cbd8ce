package ui

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

func TestSimulatorPolicyWidgets(t *testing.T) {
	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	p := &v.pol
	if got := v.DevicePolicy(); got.BatteryMWh == nil || *got.BatteryMWh != 5000 {
		t.Fatalf("default battery %+v", got.BatteryMWh)
	}
	p.battery.SetText("50000")
	p.clock.SetText("2027-01-01T00:00:00Z")
	p.version.SetText("2.0-rc.1")
	test.Tap(p.authorized)
	test.Tap(p.network)
	got := v.DevicePolicy()
	if got.BatteryMWh == nil || *got.BatteryMWh != 50000 || !got.Clock.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!reflect.DeepEqual(got.Version, []int64{2, 0, -1, 1}) || !got.Authorized || !got.Network || got.ExternalPower {
		t.Fatalf("policy %+v", got)
	}
	test.Tap(p.hasBattery) // the device cannot measure its battery
	p.clock.SetText("")    // nor tell the time
	p.version.SetText("two")
	got = v.DevicePolicy()
	if got.BatteryMWh != nil || !got.Clock.IsZero() || p.version.Validate() == nil || !reflect.DeepEqual(got.Version, []int64{2, 0, -1, 1}) {
		t.Fatalf("policy after clearing %+v", got)
	}
}
