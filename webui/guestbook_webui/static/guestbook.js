// The guestbook page, live: signing without a reload, and every entry's phase and
// hash updated as the ledger seals it (Server-Sent Events from /events, or polling
// /api/entries where EventSource is missing). The page works without this script.
"use strict";

(() => {
  const list = document.getElementById("entries");
  const template = document.getElementById("entry-template");
  const form = document.getElementById("sign-form");
  const alertBox = document.getElementById("form-alert");
  const liveStatus = document.getElementById("live-status");
  const emptyNote = document.getElementById("empty-note");
  const POLL_MS = 3000;
  const NOT_SIGNED = alertBox.dataset.notSigned;

  // --- rendering (fills the same markup as templates/_entry.html) -------------

  // As entry_view.display_time: "2026-11-25 11:56:14 UTC".
  const displayTime = (t) => (t && t.length >= 19 ? `${t.slice(0, 10)} ${t.slice(11, 19)} UTC` : "");

  function field(li, name) { return li.querySelector(`[data-field="${name}"]`); }

  function render(li, entry) {
    const status = entry.status || {};
    const phase = status.phase || "Pending";
    li.id = `gbe-${entry.name}`;
    li.dataset.name = entry.name;
    li.dataset.created = entry.createdAt;
    li.dataset.phase = phase;
    li.dataset.leafIndex = Number.isInteger(status.leafIndex) ? String(status.leafIndex) : "";
    li.querySelector("article").setAttribute("aria-label", `Entry by ${entry.spec.author || "anonymous"}`);
    field(li, "author").textContent = entry.spec.author || "Anonymous";
    const time = field(li, "createdAt");
    time.dateTime = entry.createdAt;
    time.textContent = displayTime(entry.createdAt);
    field(li, "phase").textContent = phase;
    field(li, "message").textContent = entry.spec.message;
    // Direction overrides and isolates (RLO, LRI, …): the text stays isolated by
    // dir="auto"; the note says why it may read in an unexpected order.
    field(li, "directionNote").hidden = !/[\u202A-\u202E\u2066-\u2069]/.test(
      `${entry.spec.author || ""}${entry.spec.message || ""}`);
    const sealed = typeof status.leafHash === "string";
    const leaf = field(li, "leafIndex");
    leaf.hidden = !Number.isInteger(status.leafIndex);
    leaf.textContent = leaf.hidden ? "" : `leaf #${status.leafIndex}`;
    const hash = field(li, "leafHash");
    hash.hidden = !sealed;
    hash.title = sealed ? status.leafHash : "";
    hash.textContent = sealed ? status.leafHash.slice(0, 12) : "";
    field(li, "waiting").hidden = sealed || phase === "Failed";
    const failure = field(li, "failure");
    failure.hidden = phase !== "Failed";
    const refusal = (status.conditions || []).find((c) => c.status === "False" && c.message);
    failure.textContent = phase === "Failed"
      ? (refusal ? refusal.message : "The ledger could not record this entry.") : "";
    const verify = field(li, "verify");
    verify.hidden = !sealed;
    verify.href = `/entries/${encodeURIComponent(entry.name)}/verify`;
  }

  // Newest first, as the server orders them: creation time, then ledger position
  // (not yet sealed = newest); on a tie the entry placed last counts as newer.
  function key(li) {
    const index = li.dataset.leafIndex === "" ? Infinity : Number(li.dataset.leafIndex);
    return [li.dataset.created, index];
  }

  function newerOrTied(a, b) {
    const [ca, ia] = key(a), [cb, ib] = key(b);
    if (ca !== cb) return ca > cb;
    return ia >= ib;
  }

  function strictlyNewer(a, b) {
    const [ca, ia] = key(a), [cb, ib] = key(b);
    return ca > cb || (ca === cb && ia > ib);
  }

  function place(li) {
    if (li.parentNode === list) {
      // Still in order where it is? Then stay (ties keep their places).
      const prev = li.previousElementSibling, next = li.nextElementSibling;
      if ((!prev || !strictlyNewer(li, prev)) && (!next || newerOrTied(li, next))) return;
    }
    let before = null;
    for (const other of list.children) {
      if (other !== li && newerOrTied(li, other)) { before = other; break; }
    }
    if (li.parentNode !== list || li.nextElementSibling !== before) list.insertBefore(li, before);
  }

  // Phases only move forward, so a late reply (the POST's, or a poll's) never turns
  // a sealed entry back into a pending one.
  const RANK = { Pending: 0, Hashing: 1, Sealed: 2, Failed: 2 };
  const rank = (phase) => RANK[phase] ?? 0;

  function upsert(entry) {
    let li = document.getElementById(`gbe-${entry.name}`);
    if (!li || li.parentNode !== list) {
      li = template.content.firstElementChild.cloneNode(true);
    } else if (rank(li.dataset.phase) > rank((entry.status || {}).phase || "Pending")) {
      return;
    }
    const wasSealed = li.dataset.phase === "Sealed";
    render(li, entry);
    place(li);
    if (!wasSealed && li.dataset.phase === "Sealed") refreshTreeHead();
    emptyNote.hidden = list.children.length > 0;
  }

  // The tree head summary, fetched again (at most twice a second) after a seal.
  const treeHead = document.getElementById("tree-head");
  let headTimer = null;
  function refreshTreeHead() {
    if (headTimer) return;
    headTimer = setTimeout(async () => {
      headTimer = null;
      try {
        const response = await fetch("/api/ledger", { headers: { Accept: "application/json" } });
        const head = response.ok ? (await response.json()).signedTreeHead : null;
        if (!head) return;
        treeHead.querySelector('[data-head="treeSize"]').textContent = String(head.treeSize);
        const root = treeHead.querySelector('[data-head="rootHash"]');
        root.textContent = head.rootHash.slice(0, 12);
        root.title = head.rootHash;
        const time = treeHead.querySelector('[data-head="timestamp"]');
        time.dateTime = head.timestamp;
        time.textContent = displayTime(head.timestamp);
        treeHead.hidden = false;
      } catch (error) {
        // The summary is a convenience; the entries stay live without it.
      }
    }, 500);
  }

  function remove(entry) {
    const li = document.getElementById(`gbe-${entry.name}`);
    if (li && li.parentNode === list) li.remove();
    emptyNote.hidden = list.children.length > 0;
  }

  function replaceAll(items) {
    const keep = new Set(items.map((entry) => entry.name));
    for (const li of Array.from(list.children)) if (!keep.has(li.dataset.name)) li.remove();
    // Oldest first, so that each tie lands above the one before: the server's order.
    items.slice().reverse().forEach(upsert);
    emptyNote.hidden = list.children.length > 0;
  }

  // --- live updates -----------------------------------------------------------

  function listen() {
    const source = new EventSource("/events");
    source.addEventListener("open", () => { liveStatus.textContent = ""; });
    source.addEventListener("snapshot", (event) => replaceAll(JSON.parse(event.data).items));
    source.addEventListener("entry", (event) => upsert(JSON.parse(event.data)));
    source.addEventListener("deleted", (event) => remove(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. 503: the server's limit of live streams): poll instead.
        liveStatus.textContent = "Live updates are busy; refreshing every few seconds.";
        poll();
        return;
      }
      liveStatus.textContent = "Live updates interrupted; reconnecting…";
    });
  }

  async function poll() {
    try {
      const response = await fetch("/api/entries", { headers: { Accept: "application/json" } });
      if (response.ok) {
        replaceAll((await response.json()).items);
        liveStatus.textContent = "";
      }
    } catch (error) {
      liveStatus.textContent = "Cannot reach the server; retrying…";
    }
    setTimeout(poll, POLL_MS);
  }

  if ("EventSource" in window) listen(); else poll();

  // --- signing ----------------------------------------------------------------

  function showErrors(problem) {
    for (const name of ["author", "message"]) {
      const error = (problem.errors || []).find((e) => e.pointer === `#/${name}`);
      const input = document.getElementById(name);
      const note = document.getElementById(`${name}-error`);
      note.hidden = !error;
      note.textContent = error ? error.detail : "";
      if (error) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }
    // With field errors the summary points at them; the fields say what is wrong.
    const summary = (problem.errors || []).some((e) => ["#/author", "#/message"].includes(e.pointer))
      ? NOT_SIGNED : problem.detail;
    alertBox.hidden = !summary;
    alertBox.textContent = summary || "";
  }

  // Characters left, counted as the ledger counts them: code points after NFC.
  const counter = document.getElementById("message-count");
  const MAX_MESSAGE = Number(form.message.getAttribute("maxlength"));
  function updateCounter() {
    const used = Array.from(form.message.value.normalize("NFC")).length;
    const left = MAX_MESSAGE - used;
    counter.textContent = left >= 0
      ? `${left} of ${MAX_MESSAGE} characters left.`
      : `${-left} characters too many.`;
  }
  form.message.addEventListener("input", updateCounter);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ author: form.author.value, message: form.message.value }),
      });
      const body = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
      if (response.ok) {
        showErrors({});
        upsert(body);
        form.message.value = "";
        updateCounter();
        liveStatus.textContent = "Signed. Your entry is pending; its hash appears once the ledger seals it.";
        form.message.focus();
      } else {
        showErrors(body);
        const first = (body.errors || [])[0];
        const target = first && document.getElementById(first.pointer.slice(2));
        if (target) target.focus();
      }
    } catch (error) {
      showErrors({ detail: "Cannot reach the server; your message was not sent. Try again." });
    } finally {
      button.disabled = false;
    }
  });
})();
