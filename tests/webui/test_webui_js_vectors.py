"""The browser's ledger code (static/ledger-format.js, signed-note.js and
audit-path.js, run in Chromium with WebCrypto) against every published RFC 6962 /
RFC 9162 proof vector and the Python ledger format: it accepts each valid proof
and rejects each tampered one; it reads checkpoints, verifier keys, note
signatures and cosignatures as the Python format does."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import guestbook_webui
import pytest
from guestbook_ledger.format.checkpoint import (
    checkpoint_text,
    open_checkpoint,
    parse_checkpoint_text,
    sign_checkpoint,
    verifier_key,
)
from guestbook_ledger.format.cosignature import Cosigner, cosign, verify_cosignatures
from guestbook_ledger.format.errors import SignatureError
from guestbook_ledger.format.note import NoteSignature, NoteVerifier, sign_note
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.format.sth import generate_private_key, public_key_to_pem
from guestbook_ledger.format.tree import inclusion_proof as tree_inclusion_proof
from guestbook_ledger.format.tree import root_hash as tree_root
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
        script = "".join(
            f'<script src="/static/{name}"></script>'
            for name in ("ledger-format.js", "signed-note.js", "audit-path.js")
        )
        return HTMLResponse(f"<!doctype html><title>vectors</title>{script}")

    app = Starlette(routes=[Route("/", blank), Mount("/static", StaticFiles(directory=STATIC))])
    with chromium() as browser, serve(app) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function(
            "typeof LedgerFormat === 'object' && typeof SignedNote === 'object'"
            " && typeof AuditPath === 'object'"
        )
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


def js_outcomes(page: Page, script: str, cases: list[Any]) -> list[Any]:
    """Run ``script`` (an async function of one case) on each case; an exception
    becomes ``["error", message]``."""
    return page.evaluate(
        """async ([source, cases]) => {
          const run = eval(source);
          const out = [];
          for (const c of cases) {
            try { out.push(await run(c)); } catch (error) { out.push(["error", error.message]); }
          }
          return out;
        }""",
        [script, cases],
    )


def python_outcome(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except (ValueError, SignatureError) as exc:
        return ["error", str(exc)]


def test_verifier_keys_read_as_the_python_format_reads_them(ledger_page: Page) -> None:
    key = generate_private_key()
    note_key = verifier_key("example.test/log", key.public_key())
    witness_key = Cosigner.for_key("witness.test/w", key.public_key()).to_text()
    name, key_id, encoded = note_key.split("+", 2)
    other_id = f"{int(key_id, 16) ^ 1:08x}"
    cases = [
        [note_key, 1],
        [witness_key, 4],
        [witness_key, 1],  # a witness key where a log key is wanted
        [note_key, 4],
        [f"{name}+{other_id}+{encoded}", 1],  # key ID does not match name and key
        [f"other.test/log+{key_id}+{encoded}", 1],  # renamed
        [f"{name}+{key_id}+{encoded[:-4]}", 1],  # truncated key
        [f"{name}+{key_id}", 1],
        [f"a b+{key_id}+{encoded}", 1],
    ]
    js = js_outcomes(
        ledger_page,
        "async ([text, type]) => { const k = await SignedNote.parseVerifierKey(text, type);"
        " return [k.name, Array.from(k.keyId, (b) => b.toString(16).padStart(2, '0')).join('')]; }",
        cases,
    )

    def python(text: str, kind: int) -> Any:
        parsed = NoteVerifier.from_text(text) if kind == 1 else Cosigner.from_text(text)
        return [parsed.name, parsed.key_id.hex()]

    expected = [python_outcome(lambda c=case: python(*c)) for case in cases]
    assert [o[0] == "error" for o in js] == [o[0] == "error" for o in expected]
    assert [o for o in js if o[0] != "error"] == [o for o in expected if o[0] != "error"]
    assert [o[0] == "error" for o in js] == [False, False, True, True, True, True, True, True, True]


def test_checkpoint_texts_read_as_the_python_format_reads_them(ledger_page: Page) -> None:
    root = base64.b64encode(hashlib.sha256(b"r").digest()).decode()
    texts = [
        f"example.test/log\n13\n{root}\n",
        f"example.test/log\n0\n{root}\n",
        f"example.test/log\n13\n{root}\nextension line\n",
        f"example.test/log\n013\n{root}\n",  # leading zero
        f"example.test/log\n-1\n{root}\n",
        f"example.test/log\n13\n{root}",  # no final newline
        f"example.test/log\n13\n{root[:-4]}\n",  # 29 bytes
        f"example.test/log\n13\n{root.rstrip('=')}\n",  # unpadded
        f"example.test/log\n13\n{root}\n\n",  # empty extension line
        f"example log\n13\n{root}\n",
        f"example.test/log\n1 3\n{root}\n",
    ]
    js = js_outcomes(
        ledger_page,
        "async (text) => { const c = SignedNote.parseCheckpoint(text);"
        " return [c.origin, c.treeSize, c.rootHash, c.extensions]; }",
        texts,
    )

    def python(text: str) -> Any:
        c = parse_checkpoint_text(text)
        return [c.origin, c.tree_size, c.root_hash.hex(), list(c.extensions)]

    expected = [python_outcome(lambda t=text: python(t)) for text in texts]
    assert [o[0] == "error" for o in js] == [o[0] == "error" for o in expected]
    assert [o for o in js if o[0] != "error"] == [o for o in expected if o[0] != "error"]
    assert sum(o[0] != "error" for o in js) == 3


def test_checkpoint_notes_open_as_the_python_format_opens_them(ledger_page: Page) -> None:
    key, stranger = generate_private_key(), generate_private_key()
    origin = "example.test/log"
    text = checkpoint_text(origin, 7, hashlib.sha256(b"seven").digest())
    ours = sign_note(text, origin, key).to_line()
    theirs = sign_note(text, "elsewhere.test/log", stranger).to_line()
    forged_same_name = sign_note(text, origin, stranger).to_line()
    other_text = checkpoint_text(origin, 8, hashlib.sha256(b"eight").digest())
    wrong_text = sign_note(other_text, origin, key).to_line()
    notes = [
        f"{text}\n{ours}",
        f"{text}\n{theirs}{ours}",  # an unknown key's signature is ignored
        f"{text}\n{theirs}",  # no signature by the log's key
        f"{text}\n{forged_same_name}",  # same name, another key: unknown key ID
        f"{text}\n{wrong_text}",  # the log's key, over another checkpoint
        f"{other_text}\n{ours}",
        f"{text}{ours}",  # no blank line
        f"{text}\n— {origin} not-base64!\n",
    ]
    vkey = verifier_key(origin, key.public_key())
    js = js_outcomes(
        ledger_page,
        f"""async (note) => {{
          const v = await SignedNote.parseVerifierKey({json.dumps(vkey)}, SignedNote.ED25519);
          const opened = await SignedNote.openCheckpoint(note, [v]);
          return [opened.checkpoint.treeSize, opened.checkpoint.rootHash];
        }}""",
        notes,
    )
    verifier = NoteVerifier.from_text(vkey)

    def python(note: str) -> Any:
        c = open_checkpoint(note, verifier)
        return [c.tree_size, c.root_hash.hex()]

    expected = [python_outcome(lambda n=note: python(n)) for note in notes]
    assert [o[0] == "error" for o in js] == [o[0] == "error" for o in expected]
    assert [o for o in js if o[0] != "error"] == [o for o in expected if o[0] != "error"]
    assert [o[0] == "error" for o in js] == [False, False, True, True, True, True, True, True]


def test_cosignatures_verify_as_the_python_format_verifies_them(ledger_page: Page) -> None:
    log_key, w1, w2, w3 = (generate_private_key() for _ in range(4))
    origin = "example.test/log"
    text = checkpoint_text(origin, 7, hashlib.sha256(b"seven").digest())
    other = checkpoint_text(origin, 8, hashlib.sha256(b"eight").digest())
    signed = text + "\n" + sign_note(text, origin, log_key).to_line()
    c1 = Cosigner.for_key("w.test/one", w1.public_key())
    c2 = Cosigner.for_key("w.test/two", w2.public_key())
    good1 = cosign(w1, c1.name, text, 1_700_000_000).to_line()
    good2 = cosign(w2, c2.name, text, 1_700_000_001).to_line()
    stranger = cosign(w3, "w.test/three", text, 1_700_000_002).to_line()
    over_other = cosign(w1, c1.name, other, 1_700_000_000).to_line()
    sig = cosign(w2, c2.name, text, 1_700_000_001)
    retimed = NoteSignature(
        sig.name, sig.key_id, (1_700_000_999).to_bytes(8, "big") + sig.signature[8:]
    ).to_line()
    notes = [
        signed + good1 + good2,
        signed + good1 + stranger,  # an unknown witness is ignored
        signed + over_other,  # cosigned another checkpoint
        signed + good1 + retimed,  # the timestamp is signed too
        signed,
    ]
    keys = [c1.to_text(), c2.to_text()]
    js = js_outcomes(
        ledger_page,
        f"""async (note) => {{
          const ws = [];
          for (const k of {json.dumps(keys)}) {{
            ws.push(await SignedNote.parseVerifierKey(k, SignedNote.COSIGNATURE_V1));
          }}
          const r = await SignedNote.verifyCosignatures(note, ws);
          if (r.invalid.length) return ["error", r.invalid.map((i) => i.name).join(",")];
          return r.valid.map((v) => [v.name, v.timestamp]);
        }}""",
        notes,
    )
    expected = [
        python_outcome(
            lambda n=note: [
                [c.cosigner.name, c.timestamp] for c in verify_cosignatures(n, [c1, c2])
            ]
        )
        for note in notes
    ]
    assert [bool(o) and o[0] == "error" for o in js] == [
        bool(o) and o[0] == "error" for o in expected
    ]
    assert js[0] == expected[0] == [["w.test/one", 1_700_000_000], ["w.test/two", 1_700_000_001]]
    assert js[1] == expected[1] == [["w.test/one", 1_700_000_000]]
    assert js[2] == ["error", "w.test/one"] and js[3] == ["error", "w.test/two"]
    assert js[4] == expected[4] == []


def test_the_audit_path_has_the_shape_of_the_inclusion_proof(ledger_page: Page) -> None:
    sizes = list(range(1, 34))
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(max(sizes))]
    cases = []
    for size in sizes:
        for index in range(size):
            proof = tree_inclusion_proof(leaves[:size], index)
            cases.append(
                [
                    index,
                    size,
                    leaves[index].hex(),
                    [p.hex() for p in proof],
                    tree_root(leaves[:size]).hex(),
                ]
            )
    js = js_outcomes(
        ledger_page,
        """async ([index, size, leaf, proof, root]) => {
          const F = LedgerFormat;
          const path = await AuditPath.pathHashes(
            index, size, F.unhex(leaf), proof.map(F.unhex), F.nodeHash);
          const svg = AuditPath.draw(index, size, path.map(F.hex), proof);
          return [F.hex(path[path.length - 1]) === root, svg.querySelectorAll("[data-node]").length,
                  svg.querySelectorAll('[data-node="sibling"]').length];
        }""",
        cases,
    )
    for (index, size, _, proof, _), outcome in zip(cases, js, strict=True):
        assert outcome == [True, 2 * len(proof) + 1, len(proof)], (index, size, outcome)
    # A proof of the wrong length does not fit the picture.
    short = js_outcomes(
        ledger_page,
        "async ([i, n, leaf, proof]) => AuditPath.pathHashes(i, n, LedgerFormat.unhex(leaf),"
        " proof.map(LedgerFormat.unhex), LedgerFormat.nodeHash)",
        [[2, 5, leaves[2].hex(), [leaves[0].hex()]]],
    )
    assert short == [["error", "a leaf at index 2 of 5 needs 3 sibling hashes; the proof has 1"]]
