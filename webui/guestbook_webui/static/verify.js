// The verify page: checks one entry in the browser (see ledger-format.js).
"use strict";

(() => {
  const F = LedgerFormat;
  const page = document.getElementById("verify");
  const name = page.dataset.name;
  const verdict = document.getElementById("verdict");
  const checks = document.getElementById("checks");
  const WAIT_MS = 2000, MAX_WAITS = 150;

  function fact(key, value) {
    const el = page.querySelector(`[data-fact="${key}"]`);
    if (el) el.textContent = value;
    return el;
  }

  function check(label, ok, detail) {
    const li = document.createElement("li");
    li.dataset.result = ok === true ? "pass" : ok === false ? "fail" : "skip";
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = ok === true ? "✓" : ok === false ? "✗" : "–";
    const text = document.createElement("span");
    text.textContent = `${label}${ok === true ? "" : ok === false ? " — FAILED" : " — not checked"}`;
    li.append(mark, text);
    if (detail) {
      const small = document.createElement("small");
      small.textContent = detail;
      li.append(small);
    }
    checks.append(li);
    return ok !== false;
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `${url}: HTTP ${response.status}`);
    return body;
  }

  function finish(result, text) {
    verdict.dataset.result = result;
    verdict.textContent = text;
  }

  // The tree head this browser verified last time, per ledger: the server must
  // show that today's tree extends it (it may only ever append).
  const REMEMBERED = `guestbook-ledger:${page.dataset.ledger}:head`;

  async function checkConsistencyWithLastVisit(head, trustworthy) {
    let before = null;
    try { before = JSON.parse(localStorage.getItem(REMEMBERED) || "null"); } catch (error) { before = null; }
    let ok = true;
    if (before && Number.isSafeInteger(before.treeSize) && typeof before.rootHash === "string") {
      const label = `The ledger extends the tree of ${before.treeSize} entries this browser verified before`;
      if (before.treeSize > head.treeSize) {
        ok = check(label, false, `the ledger now claims only ${head.treeSize} entries`);
      } else {
        const proof = before.treeSize === head.treeSize ? { proof: [] } : await getJson(
          `/api/proofs/consistency?from=${before.treeSize}&to=${head.treeSize}`);
        let consistent = false;
        try {
          consistent = await F.verifyConsistency(before.treeSize, head.treeSize,
            proof.proof.map(F.unhex), F.unhex(before.rootHash), F.unhex(head.rootHash));
        } catch (error) {
          consistent = false;
        }
        ok = check(label, consistent, consistent ? "" : "the history was rewritten, or the server lies");
      }
    } else {
      check("The ledger extends a tree this browser verified before", null,
        "first verification in this browser; the tree head is remembered for next time");
    }
    if (ok && trustworthy && (!before || head.treeSize >= before.treeSize)) {
      localStorage.setItem(REMEMBERED, JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash }));
    }
    return ok;
  }

  async function sealedEntry() {
    for (let attempt = 0; attempt < MAX_WAITS; attempt++) {
      const entry = await getJson(`/api/entries/${encodeURIComponent(name)}`);
      const status = entry.status || {};
      if (status.phase === "Sealed" && status.leafHash && Number.isInteger(status.leafIndex)) return entry;
      if (status.phase === "Failed") throw new Error("the ledger could not record this entry");
      verdict.textContent = `Waiting for the ledger to seal this entry (now ${status.phase || "Pending"})…`;
      await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
    }
    throw new Error("the entry was not sealed in time; reload the page to try again");
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
    let ok = check("The entry record hashes to the leaf hash in the entry's status",
      F.hex(leaf) === status.leafHash,
      F.hex(leaf) === status.leafHash ? "" : `computed ${F.hex(leaf)}, status says ${status.leafHash}`);

    const ledger = await getJson("/api/ledger");
    const head = ledger.signedTreeHead;
    if (!head) throw new Error("the ledger has no signed tree head yet");
    fact("treeSize", String(head.treeSize));
    fact("rootHash", head.rootHash);
    fact("timestamp", head.timestamp);
    fact("keyId", head.keyId);
    const ours = head.ledger === page.dataset.ledger;
    ok = check("The tree head belongs to this ledger", ours,
      ours ? "" : `it is the tree head of ${head.ledger}`) && ok;

    const inclusion = await getJson(
      `/api/proofs/inclusion?index=${status.leafIndex}&size=${head.treeSize}`);
    const proofList = page.querySelector('[data-fact="proof"]');
    if (!inclusion.proof.length) proofList.textContent = "(empty: the leaf is the whole tree)";
    else proofList.replaceChildren(...inclusion.proof.map((h) => {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.className = "wrap";
      code.textContent = h;
      li.append(code);
      return li;
    }));
    let root = null;
    try {
      root = F.hex(await F.rootFromInclusionProof(
        status.leafIndex, head.treeSize, leaf, inclusion.proof.map(F.unhex)));
    } catch (error) {
      root = `(no root: ${error.message})`;
    }
    ok = check(`The inclusion proof (${inclusion.proof.length} hashes) leads from the leaf to the signed root`,
      root === head.rootHash, root === head.rootHash ? "" : `computed ${root}`) && ok;

    const response = await fetch(`/api/public-key?keyId=${encodeURIComponent(head.keyId)}`);
    if (!response.ok) throw new Error(`the signing key ${head.keyId} is not published`);
    const der = F.pemToDer(await response.text());
    const keyId = await F.keyIdOf(der);
    ok = check("The public key is the one the tree head names", keyId === head.keyId,
      keyId === head.keyId ? "" : `key id ${keyId}`) && ok;
    const signed = await F.verifyTreeHeadSignature(head, der);
    ok = check("The tree head's Ed25519 signature is valid", signed,
      signed === null ? "this browser has no Ed25519; use guestbook-ledger verify checkpoint" : "") && ok;

    ok = (await checkConsistencyWithLastVisit(head, ok && signed !== false)) && ok;

    fact("command", [
      "guestbook-ledger verify inclusion",
      `--leaf-hash ${F.hex(leaf)}`,
      `--index ${status.leafIndex} --size ${head.treeSize}`,
      `--root ${head.rootHash}`,
      `--proof '${inclusion.proof.join(",")}'`,
    ].join(" \\\n    "));
    if (ok && signed === null) {
      finish("unsigned", `The inclusion verifies: this entry is leaf #${status.leafIndex} of the ` +
        "signed root; this browser cannot check the Ed25519 signature (see below).");
    } else if (ok) {
      const entries = head.treeSize === 1 ? "1 entry" : `${head.treeSize} entries`;
      finish("verified", `Verified: this entry is leaf #${status.leafIndex} of the ledger's tree of ` +
        `${entries}, whose root is signed by key ${head.keyId.slice(0, 12)}…`);
    } else {
      finish("failed", "Verification FAILED: the server's data does not add up (see the checks below).");
    }
  }

  run().catch((error) => finish("error", `Could not verify: ${error.message}.`));
})();
