package model

import (
	"reflect"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int64
		out  string
	}{
		{"1.2.3", []int64{1, 2, 3}, "1.2.3"},
		{"2.0-rc.1", []int64{2, 0, -1, 1}, "2.0-rc.1"}, // the spec's example: [2,0,-1,1]
		{"1.2-beta", []int64{1, 2, -2}, "1.2-beta"},
		{"1.2.3-alpha.4", []int64{1, 2, 3, -3, 4}, "1.2.3-alpha.4"},
		{"2025.12.6", []int64{2025, 12, 6}, "2025.12.6"},
		{"2.0.-1.1", []int64{2, 0, -1, 1}, "2.0-rc.1"},
		{"-1.2", []int64{-1, 2}, "-1.2"},
	} {
		got, err := ParseVersion(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		if f := FormatVersion(got); f != c.out {
			t.Errorf("FormatVersion(%v) = %q, want %q", got, f, c.out)
		}
	}
	for _, bad := range []string{"", "1.x", "1.2-gamma", "1.2.3.4-rc", "1.2-rc.-1"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}
