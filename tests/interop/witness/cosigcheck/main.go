// Command cosigcheck verifies a witness's cosignature on a log's checkpoint as any
// tlog client would, with code nobody in this project wrote: the signed note is
// opened by golang.org/x/mod/sumdb/note, the log's signature checked with
// note.NewVerifier(log vkey), and the witness's cosignature/v1 with the
// CosignatureVerifier of filippo.io/torchwood (the library litewitness is built
// on), whose verifier key encoding must equal the one given.
//
// It reads the cosigned checkpoint note on standard input:
//
//	cosigcheck -log-vkey VKEY -witness-vkey VKEY < checkpoint
//
// Exit status 0 with one "OK: ..." line when both signatures verify; 1 with one
// "FAIL: ..." line otherwise; 2 for bad usage.
package main

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	logVkey := flag.String("log-vkey", "", "the log's note verifier key")
	witnessVkey := flag.String("witness-vkey", "", "the witness's cosignature/v1 verifier key")
	flag.Parse()
	if *logVkey == "" || *witnessVkey == "" {
		fmt.Fprintln(os.Stderr, "usage: cosigcheck -log-vkey VKEY -witness-vkey VKEY < checkpoint")
		os.Exit(2)
	}
	msg, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err == nil {
		err = check(msg, *logVkey, *witnessVkey)
	}
	if err != nil {
		fmt.Printf("FAIL: %v\n", err)
		os.Exit(1)
	}
}

// publicKey is a crypto.Signer that cannot sign: torchwood v0.6.1 builds its
// CosignatureVerifier only from a signer, and reads nothing but its public key.
type publicKey ed25519.PublicKey

func (k publicKey) Public() crypto.PublicKey { return ed25519.PublicKey(k) }
func (publicKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("a verifier does not sign")
}

func cosignatureVerifier(vkey string) (*torchwood.CosignatureVerifier, error) {
	name, rest, ok := strings.Cut(vkey, "+")
	if !ok {
		return nil, fmt.Errorf("malformed witness verifier key %q", vkey)
	}
	_, encoded, ok := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(encoded)
	if !ok || err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != 0x04 {
		return nil, fmt.Errorf("the witness key %q is not an Ed25519 cosignature/v1 key", vkey)
	}
	signer, err := torchwood.NewCosignatureSigner(name, publicKey(key[1:]))
	if err != nil {
		return nil, fmt.Errorf("witness key %q: %v", vkey, err)
	}
	v := signer.Verifier()
	if v.String() != vkey {
		return nil, fmt.Errorf("torchwood encodes the witness key as %s, not %s", v.String(), vkey)
	}
	return v, nil
}

func check(msg []byte, logVkey, witnessVkey string) error {
	logVerifier, err := note.NewVerifier(logVkey)
	if err != nil {
		return fmt.Errorf("log key: %v", err)
	}
	witness, err := cosignatureVerifier(witnessVkey)
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(logVerifier, witness))
	if err != nil {
		return fmt.Errorf("note.Open: %v", err)
	}
	c, err := torchwood.ParseCheckpoint(n.Text)
	if err != nil {
		return fmt.Errorf("not a checkpoint: %v", err)
	}
	var logSigned bool
	var cosigned *note.Signature
	for i, sig := range n.Sigs {
		switch {
		case sig.Name == logVerifier.Name() && sig.Hash == logVerifier.KeyHash():
			logSigned = true
		case sig.Name == witness.Name() && sig.Hash == witness.KeyHash():
			cosigned = &n.Sigs[i]
		}
	}
	if !logSigned {
		return errors.New("the log's signature did not verify")
	}
	if cosigned == nil {
		return fmt.Errorf("no cosignature by %s verified", witness.Name())
	}
	when, err := torchwood.CosignatureTimestamp(*cosigned)
	if err != nil {
		return err
	}
	fmt.Printf("OK: %s size %d cosigned by %s at %d\n", c.Origin, c.N, witness.Name(), when)
	return nil
}
