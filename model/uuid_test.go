package model

import "testing"

func TestVendorClassIDs(t *testing.T) {
	for _, tc := range []struct{ domain, want string }{
		{"arm.com", "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"},
		{"nordicsemi.com", "7617daa5-71fd-5a85-8f94-e28d735ce9f4"},
	} {
		if got := FormatUUID(VendorID(tc.domain)); got != tc.want {
			t.Errorf("VendorID(%q) = %s, want %s", tc.domain, got, tc.want)
		}
	}
	c, err := ClassID(VendorID("arm.com"), "suit")
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatUUID(c); got != "1492af14-2569-5e48-bf42-9b2d51f2ab45" {
		t.Errorf("ClassID(arm.com, suit) = %s", got)
	}
	if got := NamespaceCBORPEN.String(); got != "47fbdabb-f2e4-55f0-bb39-3620c2f6df4e" {
		t.Errorf("NAMESPACE_CBOR_PEN = %s", got)
	}
	if _, err := ClassID([]byte{1, 2}, "x"); err == nil {
		t.Error("ClassID accepted a 2-byte vendor ID")
	}
}
