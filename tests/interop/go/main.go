// Command tlogcheck verifies a Guestbook Ledger as any standard tlog client would,
// with only Go's golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog: it
// fetches <url>/checkpoint and opens it with the verifier key (note.Open), reads
// the C2SP tlog-tiles through tlog.TileHashReader (which authenticates every tile
// against the checkpoint's root), checks that every entry bundle hashes to the
// authenticated level-0 hashes, proves and checks record inclusion
// (tlog.ProveRecord, tlog.CheckRecord) and, given an older checkpoint, proves and
// checks consistency (tlog.ProveTree, tlog.CheckTree).
//
// Exit status 0 with "OK: ..." lines when everything verifies; 1 with one
// "FAIL: ..." line otherwise; 2 for bad usage.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type checkpoint struct {
	origin string
	tree   tlog.Tree
}

func main() {
	url := flag.String("url", "", "the log's URL prefix (serving /checkpoint and /tile/...)")
	vkey := flag.String("vkey", "", "the log's note verifier key")
	old := flag.String("old", "", "a file with an older checkpoint to prove consistency from")
	flag.Parse()
	if *url == "" || *vkey == "" {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck -url URL -vkey VKEY [-old FILE]")
		os.Exit(2)
	}
	if err := run(strings.TrimSuffix(*url, "/"), *vkey, *old); err != nil {
		fmt.Printf("FAIL: %v\n", err)
		os.Exit(1)
	}
}

func run(url, vkey, oldFile string) error {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	body, err := get(client, url+"/checkpoint")
	if err != nil {
		return err
	}
	latest, err := openCheckpoint(body, verifier)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fmt.Printf("OK: note.Open verified the checkpoint of %s at size %d\n", latest.origin, latest.tree.N)

	reader := &tileReader{client: client, url: url}
	hashes := tlog.TileHashReader(latest.tree, reader)
	n := latest.tree.N

	// Every entry bundle against the authenticated level-0 hashes.
	var records [][]byte
	for start := int64(0); start < n; start += 1 << height {
		width := min(n-start, 1<<height)
		bundle, err := reader.readEntryBundle(start>>height, int(width))
		if err != nil {
			return err
		}
		indexes := make([]int64, width)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		leaves, err := hashes.ReadHashes(indexes)
		if err != nil {
			return fmt.Errorf("level-0 hashes of leaves %d..%d: %w", start, start+width, err)
		}
		for i, record := range bundle {
			if tlog.RecordHash(record) != leaves[i] {
				return fmt.Errorf("entry %d of the bundle does not hash to leaf hash %d", i, start+int64(i))
			}
		}
		records = append(records, bundle...)
	}
	fmt.Printf("OK: %d entries in bundles hash to the authenticated level-0 tile hashes\n", len(records))

	// Inclusion of records, as a client holding only the checkpoint checks it.
	step := max(int64(1), n/500)
	checked := 0
	for i := int64(0); i < n; i += step {
		if err := proveRecord(latest.tree, i, records[i], hashes); err != nil {
			return err
		}
		checked++
	}
	if n > 0 && (n-1)%step != 0 {
		if err := proveRecord(latest.tree, n-1, records[n-1], hashes); err != nil {
			return err
		}
		checked++
	}
	fmt.Printf("OK: tlog.CheckRecord accepted %d inclusion proofs built from the tiles\n", checked)

	if oldFile != "" {
		text, err := os.ReadFile(oldFile)
		if err != nil {
			return err
		}
		earlier, err := openCheckpoint(text, verifier)
		if err != nil {
			return fmt.Errorf("older checkpoint: %w", err)
		}
		proof, err := tlog.ProveTree(n, earlier.tree.N, hashes)
		if err != nil {
			return fmt.Errorf("consistency proof from %d to %d: %w", earlier.tree.N, n, err)
		}
		if err := tlog.CheckTree(proof, n, latest.tree.Hash, earlier.tree.N, earlier.tree.Hash); err != nil {
			return fmt.Errorf("tlog.CheckTree from %d to %d: %w", earlier.tree.N, n, err)
		}
		fmt.Printf("OK: tlog.CheckTree proved size %d consistent with size %d\n", n, earlier.tree.N)
	}
	return nil
}

func proveRecord(tree tlog.Tree, index int64, record []byte, hashes tlog.HashReader) error {
	proof, err := tlog.ProveRecord(tree.N, index, hashes)
	if err != nil {
		return fmt.Errorf("inclusion proof of record %d: %w", index, err)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(record)); err != nil {
		return fmt.Errorf("tlog.CheckRecord of record %d: %w", index, err)
	}
	return nil
}

// openCheckpoint verifies a signed note with the log's key and parses the C2SP
// checkpoint it holds; the origin must be the key's name.
func openCheckpoint(text []byte, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, err
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return checkpoint{}, errors.New("the checkpoint has fewer than three lines")
	}
	if lines[0] != verifier.Name() {
		return checkpoint{}, fmt.Errorf("origin %q is not the key's name %q", lines[0], verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("bad root hash %q", lines[2])
	}
	var hash tlog.Hash
	copy(hash[:], root)
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: hash}}, nil
}

// tileReader serves tlog's tile reads from C2SP tlog-tiles URLs: Go names tiles
// tile/8/L/N (the height in the path), C2SP tile/L/N.
type tileReader struct {
	client *http.Client
	url    string
}

func (r *tileReader) Height() int { return height }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, tile := range tiles {
		if tile.H != height || tile.L < 0 {
			return nil, fmt.Errorf("unexpected tile %+v", tile)
		}
		path := "tile/" + strings.TrimPrefix(tile.Path(), fmt.Sprintf("tile/%d/", height))
		body, err := get(r.client, r.url+"/"+path)
		if err != nil {
			return nil, err
		}
		if len(body) != tile.W*tlog.HashSize {
			return nil, fmt.Errorf("%s has %d bytes, want %d", path, len(body), tile.W*tlog.HashSize)
		}
		data[i] = body
	}
	return data, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func (r *tileReader) readEntryBundle(index int64, width int) ([][]byte, error) {
	tile := tlog.Tile{H: height, L: -1, N: index, W: width}
	path := "tile/entries/" + strings.TrimPrefix(tile.Path(), fmt.Sprintf("tile/%d/data/", height))
	body, err := get(r.client, r.url+"/"+path)
	if err != nil {
		return nil, err
	}
	var records [][]byte
	for rest := body; len(rest) > 0; {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%s ends inside a length prefix", path)
		}
		size := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+size {
			return nil, fmt.Errorf("%s: an entry runs past the end", path)
		}
		records = append(records, rest[2:2+size])
		rest = rest[2+size:]
	}
	if len(records) != width {
		return nil, fmt.Errorf("%s holds %d entries, want %d", path, len(records), width)
	}
	return records, nil
}

func get(client *http.Client, url string) ([]byte, error) {
	response, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, 1<<24))
	if err != nil {
		return nil, err
	}
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, response.Status, bytes.TrimSpace(body[:min(len(body), 200)]))
	}
	return body, nil
}
