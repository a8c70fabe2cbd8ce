package suit

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// The expected bytes are written by hand from the CDDL of draft-ietf-suit-update-management.
func TestUMValuesEncoding(t *testing.T) {
	vm := model.VersionMatch{Type: model.VersionGreaterEqual, Version: []int64{1, 2, 3}}
	if got := hex.EncodeToString(EncodeVersionMatch(vm)); got != "820283010203" {
		t.Fatalf("version match = %s", got)
	}
	back, err := DecodeVersionMatch(EncodeVersionMatch(vm))
	if err != nil || back.Type != 2 || len(back.Version) != 3 || back.Version[2] != 3 {
		t.Fatalf("decode version: %+v %v", back, err)
	}
	if _, err := DecodeVersionMatch([]byte{0x82, 0x02, 0x80}); err == nil {
		t.Fatal("an empty version list must be refused")
	}
	// {5: 1700000000, 1: -1} sorts as {1: -1, 5: 1700000000}.
	w := EncodeWaitEvents([]model.WaitEvent{{Key: model.WaitTime, Int: 1700000000}, {Key: model.WaitAuthorization, Int: -1}})
	if got := hex.EncodeToString(w); got != "a2012005"+"1a6553f100" {
		t.Fatalf("wait events = %s", got)
	}
	evs, err := DecodeWaitEvents(w)
	if err != nil || len(evs) != 2 || evs[1].Int != 1700000000 {
		t.Fatalf("decode wait: %+v %v", evs, err)
	}
	perm, ft, mt := uint64(0x16), uint64(model.FileRegular), uint64(1700000000)
	md := model.ComponentMetadata{DefaultPermissions: &perm, FileType: &ft, ModificationTime: &mt,
		User:    []model.Permission{{Actor: model.ActorID{Kind: model.ActorText, Text: "root"}, Bits: 0x3fff}},
		Creator: &model.ActorID{Kind: model.ActorInt, Int: 7}}
	enc := EncodeComponentMetadata(md)
	want := "a5" + "0116" + "02a164726f6f74193fff" + "0501" + "06c11a6553f100" + "0807"
	if got := hex.EncodeToString(enc); got != want {
		t.Fatalf("metadata = %s, want %s", got, want)
	}
	md2, err := DecodeComponentMetadata(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeComponentMetadata(md2), enc) {
		t.Fatal("metadata does not round-trip")
	}
	// [h'0102', [[1, [2]], [5, [3]]]]
	o := model.OtherDeviceVersion{Device: []byte{1, 2}, Versions: []model.VersionMatch{{Type: 1, Version: []int64{2}}, {Type: 5, Version: []int64{3}}}}
	if got := hex.EncodeToString(EncodeOtherDeviceVersion(o)); got != "824201028282018102820581"+"03" {
		t.Fatalf("other-device-version = %s", got)
	}
	o2, err := DecodeOtherDeviceVersion(EncodeOtherDeviceVersion(o))
	if err != nil || len(o2.Versions) != 2 || o2.Versions[1].Type != 5 || !bytes.Equal(o2.Device, []byte{1, 2}) {
		t.Fatalf("decode other-device-version %+v %v", o2, err)
	}
}

func TestUMSourceComment(t *testing.T) {
	env := model.Example1()
	seq := env.Manifest.Common.SharedSequence
	for i := range seq.Commands {
		if seq.Commands[i].Label == model.DirOverrideParameters {
			seq.Commands[i].Params = append(seq.Commands[i].Params,
				model.Parameter{Label: model.ParamVersion, Value: model.Value{Kind: model.KindWrapped, Bytes: EncodeVersionMatch(model.VersionMatch{Type: 2, Version: []int64{2, 0, -1, 1}})}},
				model.Parameter{Label: model.ParamWaitInfo, Value: model.Value{Kind: model.KindWrapped, Bytes: EncodeWaitEvents([]model.WaitEvent{{Key: model.WaitPower, Int: 1}})}})
			break
		}
	}
	src, err := FormatSource(env)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# greater-equal 2.0-rc.1", "# wait for power 1"} {
		if !bytes.Contains(src, []byte(want)) {
			t.Fatalf("source form lacks %q:\n%s", want, src)
		}
	}
	back, err := ParseSource(src, "")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Encode(env)
	b, _ := Encode(back)
	if !bytes.Equal(a, b) {
		t.Fatal("the source form with comments does not round-trip")
	}
}
