// Command tlogproof checks a C2SP tlog-proof file as a tlog client written by
// others would, with only upstream Go modules: transparency-dev/formats/proof
// reads the file, transparency-dev/formats/log.ParseCheckpoint opens the
// checkpoint with the log's verifier key (golang.org/x/mod/sumdb/note),
// transparency-dev/formats/witness checks the k-of-n cosignature policy
// (cosignature/v1 keys), and transparency-dev/merkle verifies the inclusion of
// the leaf hashed from the file's extra data (the entry record) with RFC 6962
// hashing. With -out it writes the file again with formats/proof's Marshal.
//
// Exit status 0 with "OK: ..." lines when everything verifies; 1 with one
// "FAIL: ..." line otherwise; 2 for bad usage.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/transparency-dev/formats/log"
	tlogproof "github.com/transparency-dev/formats/proof"
	"github.com/transparency-dev/formats/witness"
	merkleproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

type keys []string

func (k *keys) String() string     { return strings.Join(*k, ",") }
func (k *keys) Set(v string) error { *k = append(*k, v); return nil }

func main() {
	file := flag.String("proof", "", "the proof file")
	vkey := flag.String("vkey", "", "the log's note verifier key")
	policy := flag.Int("policy", 0, "how many of the -witness keys must have cosigned")
	out := flag.String("out", "", "write the proof file again (formats/proof Marshal) here")
	var witnesses keys
	flag.Var(&witnesses, "witness", "a witness's cosignature/v1 verifier key (repeatable)")
	flag.Parse()
	if *file == "" || *vkey == "" || *policy < 0 || *policy > len(witnesses) {
		fmt.Fprintln(os.Stderr, "usage: tlogproof -proof FILE -vkey VKEY [-witness VKEY ... -policy K] [-out FILE]")
		os.Exit(2)
	}
	if err := run(*file, *vkey, witnesses, *policy, *out); err != nil {
		fmt.Printf("FAIL: %v\n", err)
		os.Exit(1)
	}
}

func run(file, vkey string, witnessKeys []string, policy int, out string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var p tlogproof.TLogProof
	if err := p.Unmarshal(data); err != nil {
		return fmt.Errorf("formats/proof: %w", err)
	}
	fmt.Printf("OK: formats/proof read leaf %d with %d proof hashes and %d bytes of extra data\n",
		p.Index, len(p.Hashes), len(p.ExtraData))

	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	cp, _, _, err := log.ParseCheckpoint(p.Checkpoint, verifier.Name(), verifier)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fmt.Printf("OK: log.ParseCheckpoint verified the checkpoint of %s at size %d\n", cp.Origin, cp.Size)

	if len(witnessKeys) > 0 {
		// The policy in Sigsum's policy format, which formats/witness reads.
		var text strings.Builder
		var names []string
		for i, k := range witnessKeys {
			fmt.Fprintf(&text, "witness w%d %s https://witness.invalid/\n", i, k)
			names = append(names, fmt.Sprintf("w%d", i))
		}
		fmt.Fprintf(&text, "group policy %d %s\nquorum policy\n", policy, strings.Join(names, " "))
		group, err := witness.ParsePolicy([]byte(text.String()))
		if err != nil {
			return fmt.Errorf("witness policy: %w", err)
		}
		if !group.Satisfied(p.Checkpoint) {
			return fmt.Errorf("witness policy: fewer than %d of the %d witnesses cosigned", policy, len(witnessKeys))
		}
		fmt.Printf("OK: witness.ParsePolicy's group accepted the cosignatures (%d of %d needed)\n", policy, len(witnessKeys))
	}

	hashes := make([][]byte, len(p.Hashes))
	for i := range p.Hashes {
		hashes[i] = p.Hashes[i][:]
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(p.ExtraData)
	if err := merkleproof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, cp.Size, leaf, hashes, cp.Hash); err != nil {
		return fmt.Errorf("inclusion: %w", err)
	}
	fmt.Printf("OK: merkle proof.VerifyInclusion accepted leaf %d (the extra data's leaf hash %x)\n", p.Index, leaf)

	if out != "" {
		if err := os.WriteFile(out, p.Marshal(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
