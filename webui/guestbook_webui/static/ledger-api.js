// The web UI's JSON API as the verifying pages read it: what it answers is data to
// check, never a verdict. Errors become Errors whose message is the problem's detail.
"use strict";

const LedgerApi = (() => {
  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `${url}: HTTP ${response.status}`);
    return body;
  }

  // The text at `url`; null for a 404 (e.g. no checkpoint published yet).
  async function getText(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.text();
  }

  // /api/verifiers, parsed: {origin, verifiers (note keys), policy: {quorum, witnesses}
  // | null, witnessErrors}. A witness key that does not parse is reported, not used.
  async function verifiers() {
    const body = await getJson("/api/verifiers");
    const keys = [];
    for (const text of body.verifierKeys || []) keys.push(await SignedNote.parseVerifierKey(text, SignedNote.ED25519));
    let policy = null;
    const witnessErrors = [];
    if (body.witnessPolicy) {
      const witnesses = [];
      for (const w of body.witnessPolicy.witnesses || []) {
        try {
          witnesses.push(await SignedNote.parseVerifierKey(w.verifierKey, SignedNote.COSIGNATURE_V1));
        } catch (error) {
          witnessErrors.push(`${w.name}: ${error.message}`);
        }
      }
      policy = { quorum: body.witnessPolicy.quorum, witnesses, named: (body.witnessPolicy.witnesses || []).length };
    }
    return { origin: body.origin, verifiers: keys, policy, witnessErrors };
  }

  return { getJson, getText, verifiers };
})();
