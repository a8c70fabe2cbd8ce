// Package diag shows a CBOR-encoded SUIT envelope to a person: which bytes
// encode which element (Map, Node.At, Node.Find), and the whole envelope in
// diagnostic notation with the spec's comments (Notation).
//
// Map walks the input with its own bounded CBOR reader so that every data item
// keeps its byte range in the original input, even inside embedded CBOR. It
// names items after draft-ietf-suit-manifest-37 (plus trust-domains,
// update-management and firmware-encryption) and expands a byte string as
// embedded CBOR only where the CDDL says `bstr .cbor`: the authentication
// wrapper, its digest and blocks, the manifest, common, command sequences,
// image-digest, try-each alternatives, run-sequence, text, severed members and
// integrated dependencies that are whole envelopes. Everything else stays a
// byte string, even when its bytes happen to be valid CBOR (a component id
// h'00' is the integer 0 in CBOR, but it is not embedded CBOR).
//
// Decoding is lenient on what does not matter for display (map key order,
// duplicate keys, non-shortest heads, indefinite lengths), and strict on what
// would make the ranges wrong: truncated items, reserved bytes, trailing data.
// Nesting depth (MaxDepth) and item count (MaxItems) are bounded, and no
// length read from the input is trusted before the bytes are there. Errors are
// *Error values with the byte offset, wrapping ErrMalformed or ErrLimit.
package diag
