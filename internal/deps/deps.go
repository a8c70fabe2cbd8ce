//go:build tools

// Package deps pins the project's third-party modules so that parallel work never races on go.mod.
package deps

import (
	_ "fyne.io/fyne/v2"
	_ "fyne.io/fyne/v2/app"
	_ "fyne.io/fyne/v2/container"
	_ "fyne.io/fyne/v2/dialog"
	_ "fyne.io/fyne/v2/test"
	_ "fyne.io/fyne/v2/widget"
	_ "github.com/creack/pty"
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/google/uuid"
	_ "github.com/miekg/pkcs11"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/smallstep/pkcs7"
	_ "github.com/veraison/go-cose"
	_ "go.bug.st/serial"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/cryptobyte"
	_ "golang.org/x/term"
)
