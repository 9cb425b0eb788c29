// The ledger page: every signed checkpoint, newest first, each verified in the browser
// (decision 0116): its signature by the ledger's key, its cosignatures against the
// witness policy, and the consistency proof from the checkpoint before it.
"use strict";

(() => {
  const F = LedgerFormat, N = SignedNote, api = LedgerApi;
  const page = document.getElementById("ledger-history");
  const list = document.getElementById("history");
  const template = document.getElementById("history-item");
  const verdict = document.getElementById("history-verdict");
  const older = document.getElementById("older");
  const PAGE = 100;
  let trust = null, next = null, oldestShown = null, shown = 0, failures = 0;

  function fact(key, value) {
    const el = page.querySelector(`[data-fact="${key}"]`);
    if (el) el.textContent = value;
  }

  const entries = (n) => (n === 1 ? "1 entry" : `${n} entries`);

  // Verify one history item; returns {li, head: {treeSize, rootHash} | null, ok}.
  async function verifyItem(item) {
    const li = template.content.firstElementChild.cloneNode(true);
    const checks = li.querySelector(".checks");
    const check = (label, ok, detail) => CheckList.add(checks, label, ok, detail);
    li.dataset.treeSize = String(item.treeSize);
    li.querySelector(".size").textContent = `Tree of ${entries(item.treeSize)}`;
    const time = li.querySelector(".sealed");
    time.dateTime = item.timestamp;
    time.textContent = `sealed ${item.timestamp.slice(0, 19).replace("T", " ")} UTC`;
    li.querySelector(".root code").textContent = item.rootHash;
    let ok = true, head = null;
    if (item.format !== "checkpoint") {
      check("Signed before checkpoints (ledger format v1)", null,
        "check it with guestbook-ledger verify sth; its root is still held to the checkpoints after it");
      head = { treeSize: item.treeSize, rootHash: item.rootHash, signed: false };
      li.querySelector(".cosigners").textContent = "no witnesses (signed before checkpoints)";
    } else {
      try {
        const opened = await N.openCheckpoint(item.note, trust.verifiers);
        const c = opened.checkpoint;
        const matches = c.origin === trust.origin && c.treeSize === item.treeSize && c.rootHash === item.rootHash;
        ok = check("Signed by the ledger's key", matches, matches
          ? `the Ed25519 signature verifies over ${c.origin}, size ${c.treeSize} and this root`
          : `the signed checkpoint says ${c.origin}, size ${c.treeSize}, root ${c.rootHash}; the list claims otherwise`) && ok;
        head = { treeSize: c.treeSize, rootHash: c.rootHash, signed: true };
      } catch (error) {
        ok = check("Signed by the ledger's key", false, error.message);
      }
      try {
        const cosigned = await N.verifyCosignatures(item.note, trust.policy ? trust.policy.witnesses : []);
        const judged = N.judgePolicy(trust.policy, cosigned);
        li.querySelector(".cosigners").textContent = cosigned.valid.length
          ? `cosigned by ${cosigned.valid.map((v) => `${v.name} (${new Date(v.timestamp * 1000).toISOString().slice(0, 19).replace("T", " ")} UTC)`).join(", ")}`
          : "cosigned by no witness";
        // An older checkpoint short of the quorum was never published: not a failure.
        const label = "Cosigned by enough of the ledger's witnesses";
        ok = check(label, judged.ok === false && !cosigned.invalid.length ? null : judged.ok,
          judged.ok === false && !cosigned.invalid.length ? `${judged.detail}; it was not published` : judged.detail) && ok;
      } catch (error) {
        ok = check("Cosigned by enough of the ledger's witnesses", false, error.message);
      }
    }
    return { li, head, ok, checks };
  }

  // Check that `newer` extends `older` (both verified heads), shown in `checks`.
  async function checkConsistency(olderHead, newerHead, checks) {
    const label = `Extends the tree of ${entries(olderHead.treeSize)} before it`;
    if (olderHead.treeSize === 0) {
      return CheckList.add(checks, label, true, "every tree extends the empty tree");
    }
    let consistent = false, detail = "";
    try {
      const proof = await api.getJson(`/api/proofs/consistency?from=${olderHead.treeSize}&to=${newerHead.treeSize}`);
      consistent = await F.verifyConsistency(olderHead.treeSize, newerHead.treeSize,
        proof.proof.map(F.unhex), F.unhex(olderHead.rootHash), F.unhex(newerHead.rootHash));
      detail = consistent
        ? `the consistency proof (${proof.proof.length} hashes) folds to both signed roots`
        : "the consistency proof does not fold to both signed roots: the history was rewritten, or the server lies";
    } catch (error) {
      detail = error.message;
    }
    return CheckList.add(checks, label, consistent, detail);
  }

  function summarise() {
    if (failures) {
      verdict.dataset.result = "failed";
      verdict.textContent = `Verification FAILED for ${failures} of the ${shown} checkpoints shown (see below).`;
    } else {
      verdict.dataset.result = "verified";
      verdict.textContent = `Verified: all ${shown} checkpoints shown are signed by the ledger's key, ` +
        "and each extends the one before it.";
    }
  }

  async function loadPage() {
    older.hidden = true;
    const url = next === null ? `/api/checkpoints?limit=${PAGE}` : `/api/checkpoints?limit=${PAGE}&below=${next}`;
    const body = await api.getJson(url);
    const verified = [];
    for (const item of body.items) verified.push(await verifyItem(item));
    // Newest first: each item is checked against the next, older one (across pages too).
    if (oldestShown !== null && verified.length) verified.unshift(oldestShown);
    for (let i = 0; i + 1 < verified.length; i++) {
      const newer = verified[i], olderItem = verified[i + 1];
      if (newer.head && olderItem.head) {
        newer.ok = (await checkConsistency(olderItem.head, newer.head, newer.checks)) && newer.ok;
      } else {
        newer.ok = CheckList.add(newer.checks, "Extends the checkpoint before it", false,
          "one of the two checkpoints could not be verified") && newer.ok;
      }
    }
    const fresh = oldestShown !== null && verified.length ? verified.slice(1) : verified;
    if (oldestShown !== null && verified.length && !verified[0].ok && verified[0].li.dataset.result !== "fail") {
      verified[0].li.dataset.result = "fail";
      failures += 1;
    }
    for (const v of fresh) {
      v.li.dataset.result = v.ok ? "pass" : "fail";
      if (!v.ok) failures += 1;
      list.append(v.li);
      shown += 1;
    }
    if (fresh.length) oldestShown = fresh[fresh.length - 1];
    next = body.next;
    older.hidden = next === null;
    if (!shown) {
      verdict.dataset.result = "empty";
      verdict.textContent = "The ledger has signed no checkpoint yet.";
      return;
    }
    summarise();
  }

  async function run() {
    trust = await api.verifiers();
    fact("verifierKeys", trust.verifiers.map((v) => v.text).join("\n"));
    fact("witnesses", trust.policy
      ? `${trust.policy.quorum} of ${trust.policy.named}: ${trust.policy.witnesses.map((w) => w.text).join(", ") || "(none)"}`
      : "(none)");
    await loadPage();
  }

  older.addEventListener("click", () => {
    verdict.dataset.result = "running";
    verdict.textContent = "Checking older checkpoints…";
    loadPage().catch((error) => { verdict.dataset.result = "error"; verdict.textContent = `Could not verify: ${error.message}.`; });
  });
  run().catch((error) => { verdict.dataset.result = "error"; verdict.textContent = `Could not verify: ${error.message}.`; });
})();
