// C2SP signed notes, checkpoints and witness cosignatures in the browser, verified
// with WebCrypto Ed25519 (decision 0115). Mirrors guestbook_ledger.format.note,
// .checkpoint and .cosignature (Python); the same rules, the same refusals:
// signatures by unknown keys are ignored, a known key's bad signature fails.
"use strict";

const SignedNote = (() => {
  const encoder = new TextEncoder();
  const ED25519 = 0x01, COSIGNATURE_V1 = 0x04, KEY_ID_SIZE = 4;
  const MAX_NOTE_SIZE = 1024 * 1024, MAX_SIGNATURES = 100, MAX_TREE_SIZE = 2 ** 53 - 1;
  const DASH = "\u2014 ";

  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  };

  // Standard base64 (with padding), strictly: what it decodes to re-encodes to it.
  function base64Bytes(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new Error(`not standard base64: ${String(text).slice(0, 60)}`);
    }
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }
  const bytesBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

  async function sha256(bytes) {
    if (!(globalThis.crypto && crypto.subtle)) {
      throw new Error("this browser offers no WebCrypto here (it needs HTTPS or localhost)");
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function checkKeyName(name) {
    if (!name) throw new Error("a note key name must not be empty");
    if (/[\s+\u0000-\u001f]/u.test(name)) {
      throw new Error(`a note key name must contain no spaces, '+' or control characters: ${name.slice(0, 80)}`);
    }
  }

  // SHA-256(name || 0x0A || type || key)[:4], as signed-note and tlog-cosignature define it.
  async function keyIdOf(name, type, raw) {
    return (await sha256(concat(encoder.encode(`${name}\n`), Uint8Array.of(type), raw))).slice(0, KEY_ID_SIZE);
  }

  // Whether this browser's WebCrypto has Ed25519 (Chromium 137+, Firefox 129+, Safari 17+).
  async function hasEd25519() {
    try {
      await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "Ed25519" }, false, ["verify"]);
      return true;
    } catch (error) {
      return !(error && error.name === "NotSupportedError");
    }
  }

  // A verifier key `<name>+<hex key ID>+<base64(type || key)>`: {name, type, keyId, raw, key}.
  // `type` is 0x01 for a log's note key, 0x04 for a witness's cosignature/v1 key. Throws
  // an Error naming what is wrong (shape, type, length, a key ID that does not match).
  async function parseVerifierKey(text, type) {
    const parts = String(text).trim().split("+");
    const shape = `a verifier key is <name>+<8 hex digits>+<base64 key>; got ${String(text).slice(0, 100)}`;
    if (parts.length < 3) throw new Error(shape);
    const [name, hexId] = parts, encoded = parts.slice(2).join("+");
    checkKeyName(name);
    if (!/^[0-9a-f]{8}$/.test(hexId)) throw new Error(shape);
    const key = base64Bytes(encoded);
    const what = type === COSIGNATURE_V1 ? "Ed25519 cosignature/v1 key (type 04)" : "Ed25519 note key (type 01)";
    if (key.length !== 33 || key[0] !== type) throw new Error(`the key of ${name} is not an ${what}`);
    const raw = key.slice(1);
    const keyId = await keyIdOf(name, type, raw);
    if (hex(keyId) !== hexId) {
      throw new Error(`the key of ${name} names key ID ${hexId}, but its name and key give ${hex(keyId)}`);
    }
    const cryptoKey = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    return { name, type, keyId, raw, key: cryptoKey, text: String(text).trim() };
  }

  // A signed note split into {text, signatures: [{name, keyId, signature}]}; nothing
  // verified. Throws for a note that is too large, has control characters, no blank
  // line before its signatures, too many signatures, or a malformed signature line.
  function parseNote(note) {
    if (typeof note !== "string") throw new Error("a note is text");
    if (note.length > MAX_NOTE_SIZE) throw new Error(`a note is at most ${MAX_NOTE_SIZE} bytes`);
    if (!note.endsWith("\n")) throw new Error("a note must end with a newline");
    const control = /[\u0000-\u0009\u000b-\u001f]/.exec(note);
    if (control) throw new Error(`a note must not contain control characters; found U+${control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`);
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("a signed note needs a blank line between its text and signatures");
    const text = note.slice(0, split + 1);
    const lines = note.slice(split + 2).split("\n").slice(0, -1);
    if (!lines.length) throw new Error("the note has no signature lines");
    if (lines.length > MAX_SIGNATURES) throw new Error(`the note has ${lines.length} signatures; at most ${MAX_SIGNATURES}`);
    const signatures = lines.map((line, i) => {
      const bad = new Error(`signature line ${i + 1} is not '— <name> <base64 signature>': ${line.slice(0, 80)}`);
      if (!line.startsWith(DASH)) throw bad;
      const rest = line.slice(DASH.length), space = rest.indexOf(" ");
      if (space < 0) throw bad;
      const name = rest.slice(0, space);
      let raw;
      try { checkKeyName(name); raw = base64Bytes(rest.slice(space + 1)); } catch (error) { throw bad; }
      if (raw.length <= KEY_ID_SIZE) throw bad;
      return { name, keyId: raw.slice(0, KEY_ID_SIZE), signature: raw.slice(KEY_ID_SIZE), line: `${line}\n` };
    });
    return { text, signatures };
  }

  // A checkpoint text (C2SP tlog-checkpoint): {origin, treeSize, rootHash (hex), extensions}.
  function parseCheckpoint(text) {
    const lines = text.split("\n");
    if (lines.length < 4 || lines[lines.length - 1] !== "") {
      throw new Error("a checkpoint is at least three lines (origin, tree size, root hash), each ending in a newline");
    }
    const [origin, sizeText, rootText, ...extensions] = lines.slice(0, -1);
    checkKeyName(origin);
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || Number(sizeText) > MAX_TREE_SIZE) {
      throw new Error(`the checkpoint's second line must be the tree size in decimal without leading zeros; got ${sizeText.slice(0, 40)}`);
    }
    let root = null;
    try { root = base64Bytes(rootText); } catch (error) { root = null; }
    if (!root || root.length !== 32 || bytesBase64(root) !== rootText) {
      throw new Error(`the checkpoint's third line must be a 32-byte root hash in standard base64; got ${rootText.slice(0, 60)}`);
    }
    if (extensions.some((line) => !line)) throw new Error("a checkpoint's extension lines must not be empty");
    return { origin, treeSize: Number(sizeText), rootHash: hex(root), extensions };
  }

  const same = (a, b) => hex(a) === hex(b);

  // Verify a checkpoint note with the log's verifier keys (parsed, type 0x01).
  // Returns {checkpoint, signedBy: [names]}; throws an Error with a sentence when the
  // note is malformed, a known key's signature fails, no known key signed it, or its
  // origin is not the key's name.
  async function openCheckpoint(note, verifiers) {
    const parsed = parseNote(note);
    const message = encoder.encode(parsed.text);
    const signedBy = [];
    for (const sig of parsed.signatures) {
      const verifier = verifiers.find((v) => v.name === sig.name && same(v.keyId, sig.keyId));
      if (!verifier) continue;  // signed-note: signatures by unknown keys are ignored
      const valid = sig.signature.length === 64 &&
        await crypto.subtle.verify({ name: "Ed25519" }, verifier.key, sig.signature, message);
      if (!valid) {
        throw new Error(`the signature by ${sig.name} (key ID ${hex(sig.keyId)}) does not match the checkpoint: ` +
          "the checkpoint or its signature was altered");
      }
      if (!signedBy.includes(verifier.text)) signedBy.push(verifier.text);
    }
    if (!signedBy.length) {
      throw new Error(`the checkpoint has no signature by the ledger's key (${verifiers.map((v) => v.text).join(", ") || "none"})`);
    }
    const checkpoint = parseCheckpoint(parsed.text);
    if (!verifiers.some((v) => v.name === checkpoint.origin && signedBy.includes(v.text))) {
      throw new Error(`the checkpoint's origin is ${checkpoint.origin}, but the key that signed it is named otherwise`);
    }
    return { checkpoint, text: parsed.text, signedBy };
  }

  // The bytes a cosignature/v1 signature covers.
  const cosignedMessage = (text, timestamp) => encoder.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);

  // The cosignatures in `note` by the witnesses (parsed, type 0x04): {valid: [{name,
  // timestamp}], invalid: [{name, reason}]}. Lines by keys outside `witnesses` are ignored.
  async function verifyCosignatures(note, witnesses) {
    const parsed = parseNote(note);
    const valid = [], invalid = [];
    for (const sig of parsed.signatures) {
      const witness = witnesses.find((w) => w.name === sig.name && same(w.keyId, sig.keyId));
      if (!witness) continue;
      if (sig.signature.length !== 8 + 64) {
        invalid.push({ name: sig.name, reason: "the cosignature is not 72 bytes" });
        continue;
      }
      const view = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8);
      const timestamp = view.getBigUint64(0);
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, witness.key, sig.signature.slice(8),
        cosignedMessage(parsed.text, timestamp.toString()));
      if (!ok) invalid.push({ name: sig.name, reason: "the cosignature does not verify over this checkpoint" });
      else if (!valid.some((v) => v.name === sig.name)) valid.push({ name: sig.name, timestamp: Number(timestamp) });
    }
    return { valid, invalid };
  }

  // Whether cosignatures meet a witness policy {quorum, witnesses}: a sentence and a
  // result (true: met, false: not met or a forged cosignature, null: no witnesses asked).
  function judgePolicy(policy, cosigned) {
    const n = policy ? policy.witnesses.length : 0, k = policy ? policy.quorum : 0;
    const names = cosigned.valid.map((v) => v.name);
    if (cosigned.invalid.length) {
      return { ok: false, detail: cosigned.invalid.map((i) => `${i.name}: ${i.reason}`).join("; ") };
    }
    if (!policy || n === 0) {
      return { ok: null, detail: "this ledger names no witnesses, so nothing shows that other visitors see the same history" };
    }
    const who = names.length ? `cosigned by ${names.join(", ")}` : "no valid cosignature";
    if (names.length >= k) return { ok: k === 0 && !names.length ? null : true, detail: `${names.length} of ${n} witnesses (policy: ${k} of ${n}): ${who}` };
    return { ok: false, detail: `only ${names.length} of the ${k} required of ${n} witnesses: ${who}` };
  }

  return {
    ED25519, COSIGNATURE_V1, hasEd25519, parseVerifierKey, parseNote, parseCheckpoint,
    openCheckpoint, verifyCosignatures, judgePolicy, keyIdOf, base64Bytes,
  };
})();
