package diag_test

import (
	"fmt"

	"github.com/suit-studio/suit-studio/codec/diag"
)

func ExampleMap() {
	// An untagged envelope holding only an authentication wrapper: [bstr(SUIT_Digest)].
	env := []byte{0xa1, 0x02, 0x46, 0x81, 0x44, 0x82, 0x2f, 0x41, 0x00}
	root, err := diag.Map(env)
	if err != nil {
		panic(err)
	}
	n := root.At(7) // the byte of the digest value
	fmt.Println(n.Path, n.Label, n.Kind, n.Summary, n.Start, n.End)
	// Output: envelope/authentication-wrapper/0/1 digest-bytes bstr h'00' 7 9
}

func ExampleNotation() {
	env := []byte{0xa1, 0x02, 0x46, 0x81, 0x44, 0x82, 0x2f, 0x41, 0x00}
	s, _ := diag.Notation(env, diag.Options{Indent: "  ", Annotate: true})
	fmt.Println(s)
	// Output:
	// {
	//   / authentication-wrapper / 2:<< [
	//     / digest: / << [
	//       / algorithm-id / -16 / "sha256" /,
	//       / digest-bytes / h'00'
	//     ] >>
	//   ] >>
	// }
}
