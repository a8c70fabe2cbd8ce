package transport

import (
	"bytes"
	"testing"
)

// FuzzDeframer feeds arbitrary lines to the frame decoder: it must never panic, and whatever
// packet it returns must re-encode to frames that decode to the same packet.
func FuzzDeframer(f *testing.F) {
	erase := []byte{2, 0, 0, 1, 0, 1, 0x42, 5, 0xa0}
	w, _ := EncodeFrames(erase, 127)
	f.Add(w)
	w, _ = EncodeFrames(bytes.Repeat([]byte{7}, 400), 127)
	f.Add(w)
	f.Add([]byte("\x06\x09AAsAAAABAAAABqBa7A==\n\x04\x14AAAA\n"))
	f.Add([]byte("log line\n\x06\x09=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Deframer{LineMax: 127, MaxPacket: 2048}
		for _, line := range bytes.SplitAfter(data, []byte{'\n'}) {
			pkt, err := d.Feed(line)
			if err != nil && pkt != nil {
				t.Fatal("packet and error together")
			}
			if pkt == nil {
				continue
			}
			again, err := EncodeFrames(pkt, 127)
			if err != nil {
				t.Fatal(err)
			}
			var d2 Deframer
			var got []byte
			for _, l := range bytes.SplitAfter(again, []byte{'\n'}) {
				if p, err := d2.Feed(l); err != nil {
					t.Fatal(err)
				} else if p != nil {
					got = p
				}
			}
			if !bytes.Equal(got, pkt) {
				t.Fatal("re-encoded packet differs")
			}
		}
	})
}

// FuzzPacket decodes arbitrary bytes as an SMP packet and its response status, and runs them
// through the server: no panic, and a reply (if any) is a well-formed packet.
func FuzzPacket(f *testing.F) {
	f.Add([]byte{2, 0, 0, 1, 0, 1, 0x42, 5, 0xa0})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 1, 6, 0xa0})
	f.Add([]byte{3, 0, 0, 5, 0, 1, 0, 1, 0xa1, 0x62, 0x72, 0x63, 0x0a})
	up, _ := marshalCBOR(UploadRequest{Off: 0, Len: new(uint64), Data: []byte{}})
	p, _ := MarshalPacket(Header{Op: OpWrite, Group: GroupImage, ID: CmdImageUpload}, up)
	f.Add(p)
	srv := &Server{Device: newMemStore(384, 4)}
	f.Fuzz(func(t *testing.T, data []byte) {
		pk, err := ParsePacket(data)
		if err == nil {
			_ = ResponseError(pk.Header, pk.Body)
		}
		reply, _ := srv.Handle(data)
		if reply != nil {
			if _, err := ParsePacket(reply); err != nil {
				t.Fatalf("server sent a malformed reply: %v", err)
			}
		}
	})
}
