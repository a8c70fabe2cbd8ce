// Command suit-studio is the SUIT Studio desktop application: a visual editor and inspector for
// SUIT firmware update manifests. Everything but the start-up lives in ui/ and app/.
package main

import (
	"fmt"
	"os"

	"github.com/suit-studio/suit-studio/ui"
)

func main() {
	if err := ui.Main(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "suit-studio: error:", err)
		os.Exit(2)
	}
}
