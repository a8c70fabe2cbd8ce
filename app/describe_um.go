package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// describeUM formats the update-management parameters by their types (ok false: not one of them,
// or a value that does not decode as its type).
func describeUM(label int64, v model.Value) (string, bool) {
	switch {
	case label == model.ParamUseBefore && v.Kind == model.KindUint:
		return describeTime(v.Uint), true
	case label == model.ParamMinimumBattery && v.Kind == model.KindUint:
		return strconv.FormatUint(v.Uint, 10) + " mWh", true
	case label == model.ParamVersion && v.Kind == model.KindWrapped:
		vm, err := suit.DecodeVersionMatch(v.Bytes)
		if err != nil {
			return "", false
		}
		return DescribeVersionMatch(vm), true
	case label == model.ParamWaitInfo && v.Kind == model.KindWrapped:
		evs, err := suit.DecodeWaitEvents(v.Bytes)
		if err != nil {
			return "", false
		}
		var parts []string
		for _, e := range evs {
			parts = append(parts, describeWait(e))
		}
		return strings.Join(parts, ", "), true
	case label == model.ParamComponentMetadata && v.Kind == model.KindWrapped:
		md, err := suit.DecodeComponentMetadata(v.Bytes)
		if err != nil {
			return "", false
		}
		var parts []string
		if md.FileType != nil {
			parts = append(parts, "file type "+map[uint64]string{1: "regular", 2: "directory", 3: "symlink"}[*md.FileType])
		}
		if md.DefaultPermissions != nil {
			parts = append(parts, fmt.Sprintf("default permissions %#x", *md.DefaultPermissions))
		}
		if md.ModificationTime != nil {
			parts = append(parts, "modified "+describeTime(*md.ModificationTime))
		}
		if md.CreationTime != nil {
			parts = append(parts, "created "+describeTime(*md.CreationTime))
		}
		if n := len(md.User) + len(md.Group) + len(md.Role); n > 0 {
			parts = append(parts, fmt.Sprintf("%d actor permission(s)", n))
		}
		if md.Creator != nil {
			parts = append(parts, "creator set")
		}
		if len(parts) == 0 {
			return "(empty metadata)", true
		}
		return strings.Join(parts, ", "), true
	}
	return "", false
}

// DescribeVersionMatch writes a version comparison as "greater-equal 1.2.3".
func DescribeVersionMatch(vm model.VersionMatch) string {
	name, ok := model.VersionComparisonNames[vm.Type]
	if !ok {
		name = "comparison " + strconv.FormatInt(vm.Type, 10)
	}
	return name + " " + model.FormatVersion(vm.Version)
}

func describeTime(n uint64) string {
	if n > 1<<62 {
		return strconv.FormatUint(n, 10)
	}
	return time.Unix(int64(n), 0).UTC().Format(time.RFC3339)
}

func describeWait(e model.WaitEvent) string {
	for _, w := range model.WaitEvents {
		if w.Key == e.Key && e.Raw == nil {
			if w.Key == model.WaitTime {
				return w.Name + " " + describeTime(uint64(e.Int))
			}
			return w.Name + " " + strconv.FormatInt(e.Int, 10)
		}
	}
	if e.Key == model.WaitOtherDeviceVersion {
		return "other-device-version"
	}
	return "event " + strconv.FormatInt(e.Key, 10)
}
