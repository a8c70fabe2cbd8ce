package ui

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
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

// batteryEnvelope is Example 0 with minimum-battery 1000 mWh checked in the shared sequence,
// signed with the spec's private key.
func batteryEnvelope(t *testing.T) []byte {
	t.Helper()
	env := model.Example0()
	sh := env.Manifest.Common.SharedSequence
	sh.Commands = append(sh.Commands,
		model.Override(model.UintParam(model.ParamMinimumBattery, 1000)),
		model.Cond(model.CondMinimumBattery, 15))
	b, err := suit.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signer.LoadFile(filepath.Join(devVectors, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := app.SignEnvelope(b, []any{key}, app.SignOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The policy card reaches the device: with 500 mWh left, minimum-battery 1000 fails; with 5000
// it passes.
func TestSimulatorPolicyReachesDevice(t *testing.T) {
	env := batteryEnvelope(t)
	for _, c := range []struct {
		battery string
		want    string
	}{{"500", "FAIL: battery too low: 500 mWh"}, {"5000", "battery 5000 mWh | PASS"}} {
		v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
		v.pace.SetSelected(SimPaceInstant)
		v.pol.battery.SetText(c.battery)
		v.Run(env)
		v.Wait()
		rows := v.StepRows()
		if _, ok := devFind(rows, "minimum-battery #0", "at least 1000 mWh", c.want); !ok {
			t.Errorf("battery %s: no minimum-battery step with %s in:\n%s", c.battery, c.want, strings.Join(rows, "\n"))
		}
	}
}
