"""The browser's ledger code (static/ledger-format.js, run in Chromium with
WebCrypto) against every published RFC 6962 / RFC 9162 proof vector and the
Python ledger format: it accepts each valid proof and rejects each tampered one."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import guestbook_webui
import pytest
from guestbook_ledger.format.checkpoint import sign_checkpoint
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.format.sth import generate_private_key, public_key_to_pem
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from webui_browser import chromium
from webui_server import serve

VECTORS = Path(__file__).resolve().parents[1] / "testdata" / "rfc6962"
STATIC = Path(guestbook_webui.__file__).parent / "static"


def load(kind: str) -> list[dict[str, Any]]:
    paths = sorted((VECTORS / kind).rglob("*.json"))
    if not paths:
        raise FileNotFoundError(f"the RFC 6962 vectors are missing under {VECTORS / kind}")
    cases = []
    for path in paths:
        case = json.loads(path.read_text())
        # The browser code takes hex, as the web UI serves it.
        for key in ("root", "leafHash", "root1", "root2"):
            if key in case:
                case[key] = base64.b64decode(case[key]).hex()
        case["proof"] = [base64.b64decode(item).hex() for item in case.get("proof") or []]
        case["name"] = str(path.relative_to(VECTORS))
        cases.append(case)
    return cases


@pytest.fixture(scope="module")
def ledger_page() -> Iterator[Page]:
    """A page of this server (a secure context: 127.0.0.1) with ledger-format.js loaded."""

    async def blank(request: Any) -> HTMLResponse:
        script = '<script src="/static/ledger-format.js"></script>'
        return HTMLResponse(f"<!doctype html><title>vectors</title>{script}")

    app = Starlette(routes=[Route("/", blank), Mount("/static", StaticFiles(directory=STATIC))])
    with chromium() as browser, serve(app) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("typeof LedgerFormat === 'object'")
        yield page


INCLUSION_JS = """
async (cases) => {
  const F = LedgerFormat;
  const results = [];
  for (const c of cases) {
    let accepted;
    try {
      const root = await F.rootFromInclusionProof(
        c.leafIdx, c.treeSize, F.unhex(c.leafHash), c.proof.map(F.unhex));
      accepted = F.hex(root) === c.root;
    } catch (error) {
      accepted = false;
    }
    results.push([c.name, accepted]);
  }
  return results;
}
"""

CONSISTENCY_JS = """
async (cases) => {
  const F = LedgerFormat;
  const results = [];
  for (const c of cases) {
    let accepted;
    try {
      accepted = await F.verifyConsistency(
        c.size1, c.size2, c.proof.map(F.unhex), F.unhex(c.root1), F.unhex(c.root2));
    } catch (error) {
      accepted = false;
    }
    results.push([c.name, accepted]);
  }
  return results;
}
"""


@pytest.mark.parametrize(
    ("kind", "script"), [("inclusion", INCLUSION_JS), ("consistency", CONSISTENCY_JS)]
)
def test_every_published_vector(ledger_page: Page, kind: str, script: str) -> None:
    cases = load(kind)
    results = dict(ledger_page.evaluate(script, cases))
    wrong = [(c["name"], c["desc"]) for c in cases if results[c["name"]] == c["wantErr"]]
    assert len(results) == len(cases) > 10
    assert wrong == []


def test_records_and_leaf_hashes_match_the_python_format(ledger_page: Page) -> None:
    tricky = 'Cafe\u0301 "q" \\ a\nb\tc \u2028 \u0007 \u007f ✓ 𝄞 \ufeff'
    entries: list[dict[str, Any]] = [
        {
            "name": "entry-a",
            "namespace": "default",
            "uid": "u-1",
            "createdAt": "2026-11-25T12:00:00Z",
            "spec": {"ledger": "guestbook", "author": "", "message": "plain"},
        },
        {
            "name": "entry-b",
            "namespace": "team-x",
            "uid": "7f1c",
            "createdAt": "2026-11-25T12:00:01.5Z",
            "spec": {"ledger": "book.v2", "author": "Zoe\u0308 <z@x>", "message": tricky},
        },
    ]
    computed = ledger_page.evaluate(
        """async (entries) => {
          const F = LedgerFormat;
          const out = [];
          for (const e of entries) {
            const record = F.entryRecord(e);
            out.push([record, F.hex(await F.leafHash(F.encoder.encode(record)))]);
          }
          return out;
        }""",
        json.loads(json.dumps(entries)),
    )
    for entry, (record, leaf) in zip(entries, computed, strict=True):
        expected = entry_record(
            ledger=f"{entry['namespace']}/{entry['spec']['ledger']}",
            entry=entry["name"],
            uid=entry["uid"],
            author=entry["spec"]["author"],
            message=entry["spec"]["message"],
            submitted_at=entry["createdAt"],
        )
        assert record.encode() == expected
        assert leaf == hashlib.sha256(b"\x00" + expected).hexdigest()


CHECKPOINT_JS = """
async ([heads, pem]) => {
  const F = LedgerFormat;
  const der = F.pemToDer(pem);
  const out = [];
  for (const head of heads) out.push(await F.verifyTreeHeadSignature(head, der));
  return out;
}
"""


def test_the_browser_verifies_checkpoint_notes(ledger_page: Page) -> None:
    key = generate_private_key()
    other = generate_private_key()
    head = sign_checkpoint(
        key,
        ledger="default/guestbook",
        origin="example.test/guestbook",
        tree_size=13,
        root_hash=hashlib.sha256(b"root").digest(),
        timestamp="2026-11-25T12:00:00Z",
    ).to_dict()
    by_other = sign_checkpoint(
        other,
        ledger="default/guestbook",
        origin="example.test/guestbook",
        tree_size=13,
        root_hash=hashlib.sha256(b"root").digest(),
        timestamp="2026-11-25T12:00:00Z",
    ).to_dict()
    bigger = dict(head, treeSize=14)  # the JSON claims another size than the signed note
    text, _, signature = head["checkpoint"].partition("\n\n")
    altered = dict(head, checkpoint=text.replace("\n13\n", "\n14\n") + "\n\n" + signature)
    altered["treeSize"] = 14
    pem = public_key_to_pem(key.public_key()).decode()
    results = ledger_page.evaluate(CHECKPOINT_JS, [[head, by_other, bigger, altered], pem])
    # By the ledger's key: valid; by another key, for another size, or altered: not.
    assert results == [True, False, False, False]
