// Package assets holds the studio's icon and the demo firmware images, embedded so that the
// binary runs from anywhere (make run, a desktop bundle) without looking for files on disk.
//
// The PNG and the .bin files were made once by small generator programs and committed; they are
// data, not build products.
package assets

import _ "embed"

// Icon is the application icon (512x512 PNG), also named in FyneApp.toml for fyne package.
//
//go:embed icon.png
var Icon []byte

// DemoFirmwareV1 is a 6 KiB Cortex-M style image (vector table, banner "SUIT Studio demo
// firmware 1.0.0", filler) used by the demo document and the tests.
//
//go:embed demo/firmware-v1.bin
var DemoFirmwareV1 []byte

// DemoFirmwareV2 is a 7 KiB image with banner 2.0.0, for trying an update over v1.
//
//go:embed demo/firmware-v2.bin
var DemoFirmwareV2 []byte
