// Ledger format v1 in the browser: entry records, RFC 9162 hashes, inclusion proofs
// and Ed25519 signed tree heads, computed with WebCrypto so that verification never
// relies on the server's arithmetic. Mirrors guestbook_ledger.format (Python).
"use strict";

const LedgerFormat = (() => {
  const encoder = new TextEncoder();

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function unhex(text) {
    if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text)) {
      throw new Error("not lowercase hex: " + String(text).slice(0, 80));
    }
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  }

  async function sha256(bytes) {
    if (!(globalThis.crypto && crypto.subtle)) {
      throw new Error("this browser offers no WebCrypto here (it needs HTTPS or localhost)");
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // RFC 8785 canonical JSON of a flat object of strings and small integers: keys
  // sorted by UTF-16 code units, strings serialised as ECMAScript JSON.stringify does
  // (which RFC 8785 adopts), no white space.
  function canonicalJson(object) {
    const keys = Object.keys(object).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + JSON.stringify(object[k])).join(",") + "}";
  }

  // The entry record of ledger format v1, from the entry as /api/entries returns it.
  function entryRecord(entry) {
    return canonicalJson({
      v: 1,
      ledger: entry.namespace + "/" + entry.spec.ledger,
      entry: entry.name,
      uid: entry.uid,
      author: (entry.spec.author || "").normalize("NFC"),
      message: entry.spec.message.normalize("NFC"),
      submittedAt: entry.createdAt,
    });
  }

  const HASH_SIZE = 32, MAX_PROOF_LENGTH = 64;

  // As guestbook_ledger.format.proof: hashes are 32 bytes, proofs at most 64 of them.
  function checkHashes(what, hashes) {
    if (hashes.length > MAX_PROOF_LENGTH) throw new Error(`${what} has more than ${MAX_PROOF_LENGTH} hashes`);
    hashes.forEach((h, i) => {
      if (h.length !== HASH_SIZE) throw new Error(`${what} element ${i} is ${h.length} bytes, not ${HASH_SIZE}`);
    });
  }

  const leafHash = (recordBytes) => sha256(concat(Uint8Array.of(0), recordBytes));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  // RFC 9162 §2.1.3.2: the root that an inclusion proof of `leaf` at `index` in a
  // tree of `size` leaves leads to. Throws when the proof has the wrong length.
  async function rootFromInclusionProof(index, size, leaf, proof) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      throw new Error(`leaf index ${index} is not inside a tree of ${size} leaves`);
    }
    checkHashes("the leaf hash", [leaf]);
    checkHashes("the inclusion proof", proof);
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) throw new Error("the proof is longer than the tree is deep");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the proof is shorter than the tree is deep");
    return r;
  }

  // RFC 9162 §2.1.4.2: whether `proof` shows the tree of `size1` leaves with root
  // `root1` is a prefix of the tree of `size2` leaves with root `root2`.
  async function verifyConsistency(size1, size2, proof, root1, root2) {
    if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2) && size1 >= 1 && size1 <= size2)) {
      throw new Error(`no consistency proof from size ${size1} to ${size2}`);
    }
    checkHashes("the consistency proof", proof);
    const same = (a, b) => hex(a) === hex(b);
    if (size1 === size2) return proof.length === 0 && same(root1, root2);
    let path = proof.slice();
    if ((size1 & (size1 - 1)) === 0) path = [root1, ...path];  // size1 is a power of 2
    if (path.length === 0) return false;
    let fn = size1 - 1, sn = size2 - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    let fr = path[0], sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(fr, root1) && same(sr, root2);
  }

  function treeHeadPayload(head) {
    return canonicalJson({
      v: head.v, ledger: head.ledger, treeSize: head.treeSize,
      rootHash: head.rootHash, timestamp: head.timestamp,
    });
  }

  function pemToDer(pem) {
    const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
    return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  }

  // The key id of ledger format v1: hex SHA-256 of the raw 32-byte Ed25519 key (the
  // last 32 bytes of its SubjectPublicKeyInfo).
  async function keyIdOf(der) {
    return hex(await sha256(der.slice(der.length - 32)));
  }

  // true/false: the signature is valid/invalid; null: this browser has no Ed25519.
  async function verifyTreeHeadSignature(head, der) {
    let key;
    try {
      key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      if (error && error.name === "NotSupportedError") return null;
      throw error;
    }
    if (head.format === "checkpoint") return verifyCheckpointNote(head, der, key);
    const signature = Uint8Array.from(atob(head.signature), (c) => c.charCodeAt(0));
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, encoder.encode(treeHeadPayload(head)));
  }

  const base64Bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const bytesBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

  // A C2SP checkpoint in a signed note: its text must state this head's origin, size
  // and root, and carry a valid Ed25519 signature under the key named by the origin
  // (note key ID: SHA-256(origin || 0x0A || 0x01 || key)[:4]).
  async function verifyCheckpointNote(head, der, key) {
    const note = head.checkpoint;
    const split = note.lastIndexOf("\n\n");
    if (split < 0) return false;
    const text = note.slice(0, split + 1);
    const expected = `${head.origin}\n${head.treeSize}\n${bytesBase64(unhex(head.rootHash))}\n`;
    if (text !== expected) return false;
    const raw = der.slice(der.length - 32);
    const name = encoder.encode(`${head.origin}\n`);
    const keyId = (await sha256(new Uint8Array([...name, 1, ...raw]))).slice(0, 4);
    for (const line of note.slice(split + 2).split("\n")) {
      if (!line.startsWith(`\u2014 ${head.origin} `)) continue;
      const signature = base64Bytes(line.slice(head.origin.length + 3));
      if (hex(signature.slice(0, 4)) !== hex(keyId)) continue;
      return crypto.subtle.verify({ name: "Ed25519" }, key, signature.slice(4), encoder.encode(text));
    }
    return false;
  }

  return {
    hex, unhex, encoder, sha256, canonicalJson, entryRecord, leafHash, nodeHash,
    rootFromInclusionProof, verifyConsistency, treeHeadPayload, pemToDer, keyIdOf, verifyTreeHeadSignature,
  };
})();
