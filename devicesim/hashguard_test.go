package devicesim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// TestEveryHashStateCharged keeps every hash state of the device's code charged to the RAM
// budget (issue 9, item 3): in each function of the package (tests aside), every SHA-1, SHA-256
// or SHA-512 state it makes (sha256.New, sha256.Sum256, ...) must be matched by a charge of a
// *CtxSize constant in the same function. Charged helpers (hashBuf, regionDigest, sha256Sum,
// newHashState) are what device code calls instead. The exemptions say why.
func TestEveryHashStateCharged(t *testing.T) {
	exempt := map[string]string{
		"componentDigest": "the booted image's digest in the record: simulator bookkeeping, not device code",
		"digestOf":        "a helper for tests",
		"BeginUpload":     "the SMP transport's running upload hash (the MCUmgr image hash): the SMP side's buffers are not modelled in the RAM budget",
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	hashPkgs := map[string]bool{"sha1": true, "sha256": true, "sha512": true}
	checked := 0
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				var states []token.Pos
				charges := 0
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					switch x := n.(type) {
					case *ast.SelectorExpr:
						if id, ok := x.X.(*ast.Ident); ok && hashPkgs[id.Name] && (x.Sel.Name == "New" || strings.HasPrefix(x.Sel.Name, "Sum")) {
							states = append(states, x.Pos())
						}
					case *ast.Ident:
						if strings.HasSuffix(x.Name, "CtxSize") && x.Name != "P256VerifyCtxSize" && x.Name != "Ed25519VerifyCtxSize" {
							charges++
						}
					}
					return true
				})
				if len(states) == 0 {
					continue
				}
				checked += len(states)
				if _, ok := exempt[fn.Name.Name]; ok {
					continue
				}
				if charges < len(states) {
					t.Errorf("%s: %s makes %d hash state(s) but charges %d: use hashBuf, regionDigest, sha256Sum or newHashState", fset.Position(states[0]), fn.Name.Name, len(states), charges)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no hash state found: the scan is broken")
	}
}
