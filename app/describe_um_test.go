package app

import (
	"testing"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

func TestDescribeUMValues(t *testing.T) {
	for _, c := range []struct {
		label int64
		v     model.Value
		want  string
	}{
		{model.ParamVersion, model.Value{Kind: model.KindWrapped, Bytes: []byte{0x82, 0x02, 0x83, 0x01, 0x02, 0x03}}, "greater-equal 1.2.3"},
		{model.ParamUseBefore, model.Value{Kind: model.KindUint, Uint: 1798761600}, "2027-01-01T00:00:00Z"},
		{model.ParamMinimumBattery, model.Value{Kind: model.KindUint, Uint: 500}, "500 mWh"},
		{model.ParamWaitInfo, model.Value{Kind: model.KindWrapped, Bytes: suit.EncodeWaitEvents([]model.WaitEvent{{Key: model.WaitPower, Int: 1}, {Key: model.WaitTime, Int: 1798761600}})}, "power 1, time 2027-01-01T00:00:00Z"},
		{model.ParamVersion, model.Value{Kind: model.KindWrapped, Bytes: []byte{0x01}}, "h'01'"}, // not a version match: shown as bytes
	} {
		if got := DescribeValue(c.label, c.v); got != c.want {
			t.Errorf("DescribeValue(%s) = %q, want %q", model.ParamName(c.label), got, c.want)
		}
	}
}
