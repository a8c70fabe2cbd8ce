package model

// Typed values of draft-ietf-suit-update-management: the contents of the wrapped parameters
// suit-parameter-version, suit-parameter-wait-info and suit-parameter-component-metadata.
// codec/suit encodes and decodes them (EncodeVersionMatch, DecodeVersionMatch, ...).

import (
	"fmt"
	"strconv"
	"strings"
)

// Version comparison types (SUIT_Condition_Version_Comparison_Types).
const (
	VersionGreater      = 1
	VersionGreaterEqual = 2
	VersionEqual        = 3
	VersionLesserEqual  = 4
	VersionLesser       = 5
)

// VersionComparisonNames names the comparison types, by value.
var VersionComparisonNames = map[int64]string{
	VersionGreater:      "greater",
	VersionGreaterEqual: "greater-equal",
	VersionEqual:        "equal",
	VersionLesserEqual:  "lesser-equal",
	VersionLesser:       "lesser",
}

// VersionMatch is SUIT_Parameter_Version_Match: [comparison type, [+int]].
type VersionMatch struct {
	Type    int64
	Version []int64
}

// Wait events (SUIT_Wait_Events keys).
const (
	WaitAuthorization      = 1
	WaitPower              = 2
	WaitNetwork            = 3
	WaitOtherDeviceVersion = 4
	WaitTime               = 5
	WaitTimeOfDay          = 6
	WaitDayOfWeek          = 7
	WaitTimeOfDayUTC       = 8
	WaitDayOfWeekUTC       = 9
)

// WaitEventInfo describes one wait event: its name and whether its argument is a uint (else an int).
type WaitEventInfo struct {
	Key         int64
	Name        string
	Unsigned    bool
	Description string
}

// WaitEvents lists the wait events with a number argument (other-device-version has a structured one).
var WaitEvents = []WaitEventInfo{
	{WaitAuthorization, "authorization", false, "wait until authorized at this priority"},
	{WaitPower, "power", false, "wait until this power state"},
	{WaitNetwork, "network", false, "wait until this network state"},
	{WaitTime, "time", true, "wait until this time (seconds since 1970-01-01 UTC)"},
	{WaitTimeOfDay, "time-of-day", true, "wait until seconds since 00:00:00 local time"},
	{WaitDayOfWeek, "day-of-week", true, "wait until days since Sunday, local time"},
	{WaitTimeOfDayUTC, "time-of-day-utc", true, "wait until seconds since 00:00:00 UTC"},
	{WaitDayOfWeekUTC, "day-of-week-utc", true, "wait until days since Sunday, UTC"},
}

// WaitEvent is one member of SUIT_Wait_Event. Int holds the argument of a number event (a uint
// event's value is never negative); Raw holds the encoded argument of any other event
// (other-device-version, unknown keys).
type WaitEvent struct {
	Key int64
	Int int64
	Raw []byte
}

// Component metadata keys (SUIT_Component_Metadata).
const (
	MetaDefaultPermissions = 1
	MetaUserPermissions    = 2
	MetaGroupPermissions   = 3
	MetaRolePermissions    = 4
	MetaFileType           = 5
	MetaModificationTime   = 6
	MetaCreationTime       = 7
	MetaCreator            = 8
)

// File types (SUIT_Filetype).
const (
	FileRegular   = 1
	FileDirectory = 2
	FileSymlink   = 3
)

// MetaPermissionBits names the bits of SUIT_meta_permissions, by bit number.
var MetaPermissionBits = []string{
	0: "traverse_exec", 1: "create_write", 2: "list_read", 3: "createdir_append", 4: "read_attr",
	5: "read_perm", 6: "change_perm", 7: "change_owner", 8: "write_attr", 9: "recurse_delete",
	10: "delete", 11: "sync", 12: "read_attr_ex", 13: "write_attr_ex",
}

// ActorID is SUIT_meta_actor_id: a tagged UUID (#6.37), bytes, text or an int. Kind selects.
type ActorID struct {
	Kind  ActorKind
	Bytes []byte // ActorUUID, ActorBytes
	Text  string
	Int   int64
}

// ActorKind says which form an ActorID takes.
type ActorKind int

const (
	ActorText ActorKind = iota
	ActorInt
	ActorUUID
	ActorBytes
)

// Permission is one actor => permissions member of SUIT_meta_permission_map.
type Permission struct {
	Actor ActorID
	Bits  uint64
}

// ComponentMetadata is SUIT_Component_Metadata. Nil pointers are absent members.
type ComponentMetadata struct {
	DefaultPermissions *uint64
	User, Group, Role  []Permission // nil when absent
	FileType           *uint64
	ModificationTime   *uint64 // #6.1(uint): seconds since 1970-01-01 UTC
	CreationTime       *uint64
	Creator            *ActorID
	Unknown            []RawMember // extensions, kept encoded
}

// Pre-release indicators of the constrained Semantic Versioning encoding.
var preRelease = map[string]int64{"rc": -1, "beta": -2, "alpha": -3}

// ParseVersion reads a version into SUIT_Condition_Version_Comparison_Value: "1.2.3", a
// pre-release "2.0-rc.1" ([2, 0, -1, 1]; beta -2, alpha -3), or integers separated by dots for
// other schemes ("2025.12.6", "2.0.-1.1").
func ParseVersion(s string) ([]int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("a version is needed, e.g. 1.2.3 or 2.0-rc.1")
	}
	rel, pre, hasPre := strings.Cut(s, "-")
	if hasPre && (rel == "" || strings.HasSuffix(rel, ".")) { // "-1.2", "2.0.-1.1": negative numbers, not a pre-release
		rel, pre, hasPre = s, "", false
	}
	var out []int64
	for _, f := range strings.Split(rel, ".") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer: write a version like 1.2.3 or 2.0-rc.1", f)
		}
		out = append(out, n)
	}
	if hasPre {
		kind, num, hasNum := strings.Cut(pre, ".")
		ind, ok := preRelease[strings.ToLower(kind)]
		if !ok {
			if n, err := strconv.ParseInt(pre, 10, 64); err == nil && !strings.Contains(pre, ".") {
				return nil, fmt.Errorf("write %q as %s.-%d or use rc, beta or alpha", s, rel, n)
			}
			return nil, fmt.Errorf("pre-release %q: the spec encodes only rc, beta and alpha (e.g. 2.0-rc.1)", kind)
		}
		if len(out) > 3 {
			return nil, fmt.Errorf("%q: a pre-release follows at most three release numbers", s)
		}
		out = append(out, ind)
		if hasNum {
			for _, f := range strings.Split(num, ".") {
				n, err := strconv.ParseUint(f, 10, 63)
				if err != nil {
					return nil, fmt.Errorf("pre-release number %q is not a non-negative integer", f)
				}
				out = append(out, int64(n))
			}
		}
	}
	return out, nil
}

// FormatVersion writes a version the way ParseVersion reads it: "2.0-rc.1" for the constrained
// Semantic Versioning form, integers separated by dots otherwise.
func FormatVersion(v []int64) string {
	k := -1
	for i, n := range v {
		if n < 0 {
			if k >= 0 || i == 0 || i > 3 || n < -3 {
				k = -2
				break
			}
			k = i
		}
	}
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.FormatInt(n, 10)
	}
	if k < 1 {
		return strings.Join(parts, ".")
	}
	name := map[int64]string{-1: "rc", -2: "beta", -3: "alpha"}[v[k]]
	out := strings.Join(parts[:k], ".") + "-" + name
	if k+1 < len(v) {
		out += "." + strings.Join(parts[k+1:], ".")
	}
	return out
}

// OtherDeviceVersion is SUIT_Wait_Event_Argument_Other_Device_Version: wait until another
// device (an opaque identifier) has a version that matches every comparison.
type OtherDeviceVersion struct {
	Device   []byte
	Versions []VersionMatch
}
