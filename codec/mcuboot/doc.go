// Package mcuboot writes and reads MCUboot images, byte for byte as MCUboot's imgtool does, and
// signs them with any crypto.Signer: a key file, or a key that never leaves an HSM (PKCS#11).
//
// An MCUboot image is what every stock Zephyr board with MCUboot accepts in its image slots and
// what MCUboot boots. Little endian throughout:
//
//	offset 0            image header, 32 bytes:
//	                      magic 0x96f3b83d, load address, header size (u16),
//	                      protected TLV area size (u16), image size (u32), flags (u32),
//	                      version major (u8) minor (u8) revision (u16) build (u32), pad (u32)
//	                    ... the rest of the header area (header size − 32 bytes)
//	header size         the firmware body, image size bytes (linked to run here)
//	hdr + image size    protected TLV area (only if its size in the header is not 0):
//	                      info {magic 0x6908, total size u16}, then TLVs {type u16, len u16, value}
//	                      e.g. security counter (0x50), vendor TLVs (types xxA0..xxFE)
//	                    unprotected TLV area: info {magic 0x6907, total size u16}, then TLVs:
//	                      SHA-256 (0x10) of header + body + protected TLV area,
//	                      KEYHASH (0x01): SHA-256 of the public key as MCUboot embeds it
//	                      (DER SubjectPublicKeyInfo for ECDSA and Ed25519, DER PKCS#1
//	                      RSAPublicKey for RSA), then the signature:
//	                      ECDSA-P256 (0x22, ASN.1 DER over the SHA-256 of the hashed region),
//	                      RSA-2048/3072 PSS (0x20/0x23, MGF1-SHA256, 32-byte salt),
//	                      Ed25519 (0x24, over the 32-byte SHA-256 digest, not the image)
//	                    with --pad: erased bytes (0xff) up to the slot size, the image trailer
//	                    at the end (swap status, image_ok, the 16-byte boot magic last)
//
// P-384 keys use SHA-384 (0x11) for the hash and the key hash, and the same ECDSA TLV (0x22).
//
// The hashed (and signed) region is everything before the unprotected TLV area: header, body
// and protected TLVs. The unprotected area holds only what cannot be inside the hash.
//
// SUIT Studio carries the signed SUIT envelope that describes an image in the protected vendor
// TLV 0x53A0 (TLVSUITEnvelope), so MCUboot's signature covers it too; the manifest's image-digest
// and image-size describe the body (Image.Body), the part of the image that does not depend on
// the envelope.
package mcuboot
