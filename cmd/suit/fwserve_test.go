package main

import (
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// waitAddr is the testscript command "waitaddr FILE": it waits (at most 10 s) until `suit serve
// --addr-file FILE` has written its addresses, then sets $HTTP (http://127.0.0.1:PORT), $COAP
// (coap://127.0.0.1:PORT) and $COAPPORT, $HTTPPORT.
func waitAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitaddr FILE")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil && strings.Count(string(b), "\n") >= 2 {
			for _, l := range strings.Fields(string(b)) {
				port := l[strings.LastIndexByte(l, ':')+1:]
				if strings.HasPrefix(l, "http://") {
					ts.Setenv("HTTP", l)
					ts.Setenv("HTTPPORT", port)
				} else if strings.HasPrefix(l, "coap://") {
					ts.Setenv("COAP", l)
					ts.Setenv("COAPPORT", port)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s was not written in 10 s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
