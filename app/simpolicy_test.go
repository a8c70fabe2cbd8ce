package app

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/devicesim"
)

// A SimPolicy merges over the device's policy: unset fields keep what the device had (versions
// recorded by set-version survive), set ones replace it; bad versions are refused.
func TestSimPolicyMerge(t *testing.T) {
	b := uint64(1200)
	base := &devicesim.Policy{Authorized: true, Versions: map[string][]int64{"00": {2, 0, 0}}}
	clock := time.Date(2026, 6, 1, 3, 0, 0, 0, time.FixedZone("x", 3600))
	no := false
	got, err := SimPolicy{BatteryMWh: &b, Clock: &clock, Network: &no, Versions: map[string]string{"01": "1.2-rc.3", "": "0.9"}}.Merge(base)
	if err != nil {
		t.Fatal(err)
	}
	if *got.BatteryMWh != 1200 || !got.Authorized || got.Network || !got.Clock.Equal(clock) || got.Clock.Location() != time.UTC {
		t.Errorf("merged %+v", got)
	}
	want := map[string][]int64{"00": {2, 0, 0}, "01": {1, 2, -1, 3}, "*": {0, 9}}
	if !reflect.DeepEqual(got.Versions, want) {
		t.Errorf("versions %v, want %v", got.Versions, want)
	}
	base.Versions["00"][0] = 7 // the merge is a copy
	if got.Versions["00"][0] != 2 {
		t.Error("merge shares the base's versions")
	}
	for _, bad := range []map[string]string{{"00": "one"}, {"zz": "1.0"}} {
		if _, err := (SimPolicy{Versions: bad}).Merge(nil); !errors.Is(err, ErrSimInput) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if !(SimPolicy{}).Empty() {
		t.Error("zero policy not empty")
	}
}
