package diag

import "strings"

// Node is one CBOR data item of the input, with its byte range and, inside a
// SUIT envelope, the name the spec gives it.
//
// Wrappers share their content's path: a tag and the item it tags, and a
// `bstr .cbor` and the embedded item it holds (its only child), have the same
// Path; Find returns the outer one. A map member is the node of its value;
// KeyStart/KeyEnd give the bytes of its key.
type Node struct {
	// Path is the "/"-separated element path, e.g.
	// "envelope/manifest/common/shared-sequence/0/override-parameters/image-digest".
	// Map members are named by their spec name (or the key's diagnostic text
	// when unknown, "/" escaped as %2F), array items by index, commands by their
	// index within the sequence (0, 1, 2, ...) and then the command name for
	// the argument; integrated payloads by their tstr key.
	Path string
	// Label is a short human name: "manifest", "override-parameters",
	// "vendor-identifier", "image-size", "[0]".
	Label string
	// Start and End are the offsets [Start, End) of the whole item, head
	// included, in the original input; HeadEnd is where the content starts.
	Start, End, HeadEnd int
	// KeyStart and KeyEnd are the offsets of the map key when this node is a
	// map member's value, else both -1.
	KeyStart, KeyEnd int
	// Kind is "uint", "nint", "bstr", "bstr .cbor", "tstr", "array", "map",
	// "tag", "simple" or "float".
	Kind string
	// Summary is a short rendering of the value: "34768", "h'fa6b4a53…'",
	// "\"arm.com\"", "18([...])".
	Summary string
	// Note explains something unusual, e.g. a member the spec declares as
	// `bstr .cbor` whose content is not one CBOR item.
	Note string
	// Children are the array items, map values, tag content, the embedded
	// item of a `bstr .cbor`, or the chunks of an indefinite-length string.
	Children []*Node

	it   *item
	key  *item  // map key, when this is a map member
	pre  string // comment before the member (its spec name)
	post string // comment after the value ("sha256", a UUID, a component id)
	seq  bool   // a command sequence: printed as label,argument pairs
	text bool   // a byte string of printable ASCII, printed as 'text'
}

// At returns the deepest node whose byte range holds offset, or nil when
// offset is outside n. An offset inside a map key selects the member.
func (n *Node) At(offset int) *Node {
	if n == nil {
		return nil
	}
	inKey := n.KeyStart >= 0 && offset >= n.KeyStart && offset < n.KeyEnd
	if !inKey && (offset < n.Start || offset >= n.End) {
		return nil
	}
	if inKey {
		return n
	}
	for _, c := range n.Children {
		if c.Start > offset && (c.KeyStart < 0 || c.KeyStart > offset) {
			break // children are in input order
		}
		if r := c.At(offset); r != nil {
			return r
		}
	}
	return n
}

// Find returns the first node (in input order, outermost first) whose Path
// is path, or nil.
func (n *Node) Find(path string) *Node {
	if n == nil {
		return nil
	}
	path = strings.Trim(path, "/")
	if n.Path == path {
		return n
	}
	if n.Path != "" && !strings.HasPrefix(path, n.Path+"/") {
		return nil
	}
	for _, c := range n.Children {
		if r := c.Find(path); r != nil {
			return r
		}
	}
	return nil
}

// Walk calls fn for n and every descendant, in input order, outermost first.
// It stops early when fn returns false.
func (n *Node) Walk(fn func(*Node) bool) bool {
	if !fn(n) {
		return false
	}
	for _, c := range n.Children {
		if !c.Walk(fn) {
			return false
		}
	}
	return true
}
