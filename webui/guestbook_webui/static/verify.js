// The verify page: checks one entry in the browser against the ledger's published
// checkpoint (decisions 0071, 0115): the entry's record and leaf hash, the checkpoint's
// signature by the ledger's key, the witnesses' cosignatures against the ledger's
// policy, the inclusion proof, and consistency with the tree this browser saw last.
"use strict";

(() => {
  const F = LedgerFormat, N = SignedNote, api = LedgerApi;
  const page = document.getElementById("verify");
  const name = page.dataset.name;
  const verdict = document.getElementById("verdict");
  const checks = document.getElementById("checks");
  const WAIT_MS = 2000, MAX_WAITS = 150;
  const check = (label, ok, detail) => CheckList.add(checks, label, ok, detail);

  function fact(key, value) {
    const el = page.querySelector(`[data-fact="${key}"]`);
    if (el) el.textContent = value;
    return el;
  }

  function finish(result, text) {
    verdict.dataset.result = result;
    verdict.textContent = text;
  }

  const pause = () => new Promise((resolve) => setTimeout(resolve, WAIT_MS));

  // The tree this browser verified last time, per ledger: the server must show that
  // today's tree extends it (it may only ever append).
  const REMEMBERED = `guestbook-ledger:${page.dataset.ledger}:head`;

  async function checkConsistencyWithLastVisit(head, trustworthy) {
    let before = null;
    try { before = JSON.parse(localStorage.getItem(REMEMBERED) || "null"); } catch (error) { before = null; }
    let ok = true;
    if (before && Number.isSafeInteger(before.treeSize) && typeof before.rootHash === "string") {
      const label = `The ledger extends the tree of ${before.treeSize} entries this browser verified before`;
      if (before.treeSize > head.treeSize) {
        ok = check(label, false, `the ledger now claims only ${head.treeSize} entries: it shrank, or the server shows this browser another history`);
      } else {
        const proof = before.treeSize === head.treeSize ? { proof: [] } : await api.getJson(
          `/api/proofs/consistency?from=${before.treeSize}&to=${head.treeSize}`);
        let consistent = false;
        try {
          consistent = await F.verifyConsistency(before.treeSize, head.treeSize,
            proof.proof.map(F.unhex), F.unhex(before.rootHash), F.unhex(head.rootHash));
        } catch (error) {
          consistent = false;
        }
        ok = check(label, consistent, consistent
          ? `the consistency proof (${proof.proof.length} hashes) shows the tree of ${head.treeSize} begins with the tree of ${before.treeSize}`
          : "the consistency proof does not fold to both roots: the history was rewritten, or the server lies");
      }
    } else {
      check("The ledger extends a tree this browser verified before", null,
        "first verification in this browser; this tree is remembered for next time");
    }
    if (ok && trustworthy && (!before || head.treeSize >= before.treeSize)) {
      localStorage.setItem(REMEMBERED, JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash }));
    }
    return ok;
  }

  // The ledger key that signed the checkpoint this browser verified last time: a
  // server that swapped in a key of its own could extend the remembered tree with
  // a consistent but forged history, so a new key is reported (trust on first use).
  const REMEMBERED_KEY = `guestbook-ledger:${page.dataset.ledger}:verifier-key`;

  function checkKeyAsBefore(verified) {
    const before = localStorage.getItem(REMEMBERED_KEY);
    const label = "The checkpoint is signed by the key this browser verified before";
    if (verified.signed !== true) return true;
    if (!before) {
      check(label, null, "first verification in this browser; the key is remembered for next time");
      return true;
    }
    if (before === verified.by) return check(label, true, "the same ledger key as on this browser's last visit");
    return check(label, false, `this browser last verified checkpoints signed by ${before}; this one is ` +
      `signed by ${verified.by}. If the ledger's key was rotated, compare the new key with the Ledger's ` +
      "status.verifierKey and then clear this site's data; otherwise this server is not showing you the ledger");
  }

  async function sealedEntry() {
    for (let attempt = 0; attempt < MAX_WAITS; attempt++) {
      const entry = await api.getJson(`/api/entries/${encodeURIComponent(name)}`);
      const status = entry.status || {};
      if (status.phase === "Sealed" && status.leafHash && Number.isInteger(status.leafIndex)) return entry;
      if (status.phase === "Failed") throw new Error("the ledger could not record this entry");
      verdict.textContent = `Waiting for the ledger to seal this entry (now ${status.phase || "Pending"})…`;
      await pause();
    }
    throw new Error("the entry was not sealed in time; reload the page to try again");
  }

  // The published checkpoint (/checkpoint, with cosignatures) once it covers the leaf:
  // with witnesses it may lag the newest seal until enough of them cosigned.
  async function checkpointCovering(leafIndex) {
    for (let attempt = 0; attempt < MAX_WAITS; attempt++) {
      const note = await api.getText("/checkpoint");
      if (note !== null) {
        let size = -1;
        try { size = N.parseCheckpoint(N.parseNote(note).text).treeSize; } catch (error) { return note; }
        if (size > leafIndex) return note;
      }
      verdict.textContent = "Waiting for a published checkpoint that includes this entry " +
        "(the ledger's witnesses have not cosigned one yet)…";
      await pause();
    }
    throw new Error("no published checkpoint includes this entry yet; its witnesses may be down. Reload later");
  }

  function showProof(proof) {
    const list = page.querySelector('[data-fact="proof"]');
    if (!proof.length) { list.textContent = "(empty: the leaf is the whole tree)"; return; }
    list.replaceChildren(...proof.map((h) => {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.className = "wrap";
      code.textContent = h;
      li.append(code);
      return li;
    }));
  }

  async function drawAuditPath(index, size, leaf, proof) {
    const figure = document.getElementById("audit-path-figure");
    try {
      const path = await AuditPath.pathHashes(index, size, leaf, proof.map(F.unhex), F.nodeHash);
      figure.querySelector(".picture").replaceChildren(
        AuditPath.draw(index, size, path.map(F.hex), proof));
    } catch (error) {
      figure.querySelector(".picture").textContent = `(no picture: ${error.message})`;
    }
  }

  // Verify the checkpoint note; returns {checkpoint, ok, signed} where `checkpoint` is
  // parsed even when its signature fails (so the page can show what it claims).
  async function checkCheckpoint(note, trust) {
    const claimed = (() => {
      try { return N.parseCheckpoint(N.parseNote(note).text); } catch (error) { return null; }
    })();
    if (!(await N.hasEd25519())) {
      check("The checkpoint is signed by the ledger's key", null,
        "this browser's WebCrypto has no Ed25519; check it with guestbook-ledger verify checkpoint");
      return { checkpoint: claimed, ok: claimed !== null, signed: null };
    }
    try {
      const opened = await N.openCheckpoint(note, trust.verifiers);
      const ours = opened.checkpoint.origin === trust.origin;
      check(`The checkpoint of ${opened.checkpoint.origin} is signed by the ledger's key`, ours, ours
        ? `the Ed25519 signature by ${opened.signedBy[0].split("+").slice(0, 2).join("+")} verifies over the checkpoint text`
        : `it is the checkpoint of another ledger; this one's origin is ${trust.origin}`);
      return { checkpoint: opened.checkpoint, ok: ours, signed: true, by: opened.signedBy[0] };
    } catch (error) {
      check("The checkpoint is signed by the ledger's key", false, error.message);
      return { checkpoint: claimed, ok: false, signed: false };
    }
  }

  async function checkCosignatures(note, trust) {
    const label = "Enough of the ledger's witnesses cosigned the checkpoint";
    if (trust.witnessErrors.length) return check(label, false, `unusable witness keys: ${trust.witnessErrors.join("; ")}`);
    let cosigned;
    try {
      cosigned = await N.verifyCosignatures(note, trust.policy ? trust.policy.witnesses : []);
    } catch (error) {
      return check(label, false, error.message);
    }
    const judged = N.judgePolicy(trust.policy, cosigned);
    fact("cosigners", cosigned.valid.length
      ? cosigned.valid.map((c) => `${c.name} at ${new Date(c.timestamp * 1000).toISOString()}`).join("; ")
      : "(none)");
    return check(label, judged.ok, judged.detail);
  }

  async function run() {
    const entry = await sealedEntry();
    const status = entry.status;
    fact("author", entry.spec.author || "Anonymous");
    fact("message", entry.spec.message);
    fact("leafIndex", String(status.leafIndex));

    const record = F.entryRecord(entry);
    fact("record", record);
    const leaf = await F.leafHash(F.encoder.encode(record));
    fact("leafHash", F.hex(leaf));
    const leafOk = F.hex(leaf) === status.leafHash;
    let ok = check("The entry record hashes to the leaf hash in the entry's status", leafOk, leafOk
      ? "SHA-256 of 0x00 and the record rebuilt from the message shown here is the sealed leaf hash"
      : `computed ${F.hex(leaf)}, status says ${status.leafHash}`);

    const trust = await api.verifiers();
    fact("verifierKeys", trust.verifiers.map((v) => v.text).join("\n"));
    fact("witnesses", trust.policy
      ? `${trust.policy.quorum} of ${trust.policy.named}: ${trust.policy.witnesses.map((w) => w.text).join(", ") || "(none)"}`
      : "(none)");
    const note = await checkpointCovering(status.leafIndex);
    fact("checkpoint", note);
    const verified = await checkCheckpoint(note, trust);
    ok = verified.ok && ok;
    ok = (await checkCosignatures(note, trust)) && ok;
    const head = verified.checkpoint;
    if (!head) {
      finish("failed", "Verification FAILED: the published checkpoint is malformed (see the checks below).");
      return;
    }
    fact("treeSize", String(head.treeSize));
    fact("rootHash", head.rootHash);

    const inclusion = await api.getJson(`/api/proofs/inclusion?index=${status.leafIndex}&size=${head.treeSize}`);
    showProof(inclusion.proof);
    fact("timestamp", inclusion.signedTreeHead ? inclusion.signedTreeHead.timestamp : "");
    let root = null;
    try {
      root = F.hex(await F.rootFromInclusionProof(
        status.leafIndex, head.treeSize, leaf, inclusion.proof.map(F.unhex)));
    } catch (error) {
      root = `(no root: ${error.message})`;
    }
    const included = root === head.rootHash;
    ok = check(`The inclusion proof (${inclusion.proof.length} hashes) leads from the leaf to the checkpoint's root`,
      included, included
        ? `folding the proof from leaf #${status.leafIndex} gives the signed root of the tree of ${head.treeSize}`
        : `computed ${root}, the checkpoint says ${head.rootHash}`) && ok;
    await drawAuditPath(status.leafIndex, head.treeSize, leaf, inclusion.proof);

    ok = checkKeyAsBefore(verified) && ok;
    ok = (await checkConsistencyWithLastVisit(head, ok && verified.signed === true)) && ok;
    if (ok && verified.signed === true) localStorage.setItem(REMEMBERED_KEY, verified.by);

    fact("command", [
      "guestbook-ledger verify inclusion",
      `--leaf-hash ${F.hex(leaf)}`,
      `--index ${status.leafIndex} --size ${head.treeSize}`,
      `--root ${head.rootHash}`,
      `--proof '${inclusion.proof.join(",")}'`,
    ].join(" \\\n    "));
    if (ok && verified.signed === null) {
      finish("unsigned", `The inclusion verifies: this entry is leaf #${status.leafIndex} of the ` +
        "checkpoint's root; this browser cannot check the Ed25519 signatures (see below).");
    } else if (ok) {
      const entries = head.treeSize === 1 ? "1 entry" : `${head.treeSize} entries`;
      finish("verified", `Verified: this entry is leaf #${status.leafIndex} of the ledger's tree of ` +
        `${entries}, whose checkpoint is signed by the ledger's key ${verified.by.split("+").slice(0, 2).join("+")}.`);
    } else {
      finish("failed", "Verification FAILED: the server's data does not add up (see the checks below).");
    }
  }

  run().catch((error) => finish("error", `Could not verify: ${error.message}.`));
})();
