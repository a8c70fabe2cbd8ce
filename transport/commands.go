package transport

// Request and response bodies of the commands used here (Zephyr smp_group_0.rst, smp_group_1.rst).

// EchoRequest is OS group command 0: the device answers with the same string.
type EchoRequest struct {
	D string `cbor:"d"`
}

// EchoResponse answers EchoRequest.
type EchoResponse struct {
	R string `cbor:"r"`
}

// ResetRequest is OS group command 5. Force asks a device that answered "busy" to reset anyway.
// It is a CBOR bool: Zephyr's os_mgmt_reset decodes it with zcbor_bool_decode and refuses an
// integer.
type ResetRequest struct {
	Force bool `cbor:"force,omitempty"`
}

// resetRequestIn is what the server accepts for a reset: force as a bool (Zephyr, this client)
// or an integer (older clients that sent 1).
type resetRequestIn struct {
	Force any `cbor:"force"`
}

func (r resetRequestIn) force() bool {
	switch v := r.Force.(type) {
	case bool:
		return v
	case uint64:
		return v != 0
	case int64:
		return v != 0
	}
	return false
}

// Params is the answer to OS group command 6 (MCUmgr parameters): the size of one SMP buffer
// (the largest SMP packet, serial length field and CRC included, that the device can receive) and
// how many such buffers it has.
type Params struct {
	BufSize  int `cbor:"buf_size"`
	BufCount int `cbor:"buf_count"`
}

// ImageSlot is one entry of the image state list. Image and hash are always present, as Zephyr's
// img_mgmt_state_read sends them (clients such as mcumgr-client index slots by them).
type ImageSlot struct {
	Image     int    `cbor:"image"`
	Slot      int    `cbor:"slot"`
	Version   string `cbor:"version"`
	Hash      []byte `cbor:"hash"`
	Bootable  bool   `cbor:"bootable"`
	Pending   bool   `cbor:"pending"`
	Confirmed bool   `cbor:"confirmed"`
	Active    bool   `cbor:"active"`
	Permanent bool   `cbor:"permanent"`
}

// ImageStateResponse is the answer to image group command 0 (read and write).
type ImageStateResponse struct {
	Images      []ImageSlot `cbor:"images"`
	SplitStatus *int        `cbor:"splitStatus,omitempty"`
}

// ImageStateRequest is image group command 0, write: mark the image with Hash for test
// (Confirm false) or permanently (Confirm true). Without Hash, Confirm true confirms the running
// image (and, on a Nordic SUIT device, starts installing the uploaded candidate).
type ImageStateRequest struct {
	Hash    []byte `cbor:"hash,omitempty"`
	Confirm bool   `cbor:"confirm"`
}

// UploadRequest is image group command 1. Len and SHA go only with Off 0. Image is always sent,
// also for image 0, as newtmgr does: MCUboot's serial recovery decoder wants at least three
// members and answers a bare {off,data} continuation chunk with rc 3.
type UploadRequest struct {
	Image   uint    `cbor:"image"`
	Len     *uint64 `cbor:"len,omitempty"`
	Off     uint64  `cbor:"off"`
	SHA     []byte  `cbor:"sha,omitempty"`
	Data    []byte  `cbor:"data"`
	Upgrade bool    `cbor:"upgrade,omitempty"`
}

// uploadRequestIn is what the server decodes: Off is a pointer so that a request without "off"
// can be refused (Zephyr answers MGMT_ERR_EINVAL) instead of being read as offset 0.
type uploadRequestIn struct {
	Image   uint    `cbor:"image"`
	Len     *uint64 `cbor:"len"`
	Off     *uint64 `cbor:"off"`
	SHA     []byte  `cbor:"sha"`
	Data    []byte  `cbor:"data"`
	Upgrade bool    `cbor:"upgrade"`
}

// UploadResponse answers UploadRequest: the offset the device expects next, and after the last
// chunk whether the image's SHA-256 matched.
type UploadResponse struct {
	Off   uint64 `cbor:"off"`
	Match *bool  `cbor:"match,omitempty"`
}

// EraseRequest is image group command 5.
type EraseRequest struct {
	Slot *int `cbor:"slot,omitempty"`
}
