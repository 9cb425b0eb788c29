//go:build tools

// Package witness pins the external witness the interop tests run: litewitness
// and witnessctl from filippo.io/torchwood, built from the Go module proxy with
//
//	go build -o DIR filippo.io/torchwood/cmd/litewitness filippo.io/torchwood/cmd/witnessctl
//
// Beside them, ./cosigcheck verifies any witness's cosignature/v1 with torchwood's
// verifier and golang.org/x/mod/sumdb/note (it checks our own witness).
package witness

import (
	_ "filippo.io/torchwood/cmd/litewitness"
	_ "filippo.io/torchwood/cmd/witnessctl"
)
