"""In a real browser, on the real web UI with a real ledger: the verify page checks
the published checkpoint's signature, its witness cosignatures against the
ledger's policy and consistency with the tree the browser remembered, and draws
the audit path; the ledger page verifies the whole checkpoint history. The tests
then serve a tampered value (the browser's requests are intercepted and altered,
as a lying server would answer) and see the page say so. One test has the
cosignatures made by litewitness, a witness written by others."""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import default_origin, verifier_key
from guestbook_ledger.format.cosignature import Cosigner
from guestbook_ledger.store import Connection
from guestbook_ledger.store.witnesses import set_witness_policy
from guestbook_localcluster.kubectl import Kubectl
from guestbook_operator.witnessing import witness_round
from litewitness import build_litewitness, litewitness
from playwright.sync_api import Page, Route, expect
from starlette.applications import Starlette
from webui_browser import browser, page
from webui_sealing import TestWitness, require_witnesses, sign_and_seal
from webui_server import serve

__all__ = ["browser", "page"]  # fixtures


def flip_signature(line: str) -> str:
    """A note signature line whose signature (not key ID) has one bit flipped."""
    prefix, encoded = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 0x01
    return f"{prefix} {base64.b64encode(bytes(raw)).decode()}"


def tamper_note(page: Page, url: str, change: Callable[[str], str]) -> None:
    """Serve ``change(note)`` instead of the real /checkpoint to this page."""

    def handle(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=change(response.text()))

    page.route(f"{url}/checkpoint", handle)


def lines_of(note: str) -> tuple[str, list[str]]:
    """A note's text (without its final newline) and its signature lines."""
    text, _, signatures = note.partition("\n\n")
    return text, signatures.splitlines()


def note_of(text: str, signatures: list[str]) -> str:
    return text + "\n\n" + "".join(line + "\n" for line in signatures)


def test_the_verify_page_checks_the_checkpoint_its_witnesses_and_draws_the_audit_path(
    make_app: Callable[..., Starlette],
    kubectl: Kubectl,
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    page: Page,
) -> None:
    first, second = TestWitness("witness.test/one"), TestWitness("witness.test/two")
    require_witnesses(store, ledger, [first, second], quorum=1)
    with serve(make_app()) as url:
        names = sign_and_seal(url, kubectl, store, ledger, signer, [f"m{i}" for i in range(5)])
        first.cosign(store, ledger, 5)
        page.goto(f"{url}/entries/{names[2]}/verify")
        verdict = page.locator("#verdict")
        expect(verdict).to_have_attribute("data-result", "verified")
        expect(verdict).to_contain_text("leaf #2 of the ledger's tree of 5 entries")
        passed = page.locator('#checks li[data-result="pass"]')
        expect(passed).to_have_count(4)
        expect(passed.filter(has_text="signed by the ledger's key")).to_contain_text(
            "Ed25519 signature"
        )
        expect(passed.filter(has_text="witnesses cosigned")).to_contain_text(
            "1 of 2 witnesses (policy: 1 of 2): cosigned by witness.test/one"
        )
        expect(page.locator("[data-fact=cosigners]")).to_contain_text("witness.test/one at ")

        # The audit path of leaf 2 in a tree of 5: root, 2 inner path nodes, the leaf,
        # and the 3 siblings of the inclusion proof.
        svg = page.locator("#audit-path-figure svg.audit-path")
        expect(svg.locator("[data-node]")).to_have_count(7)
        expect(svg.locator('[data-node="sibling"]')).to_have_count(3)
        expect(svg.locator('[data-node="path"]')).to_have_count(2)
        expect(svg.locator('[data-node="leaf"]')).to_have_count(1)
        expect(svg.locator('[data-node="root"]')).to_have_count(1)
        expect(svg.locator("title").first).to_have_text(
            "Audit path of leaf 2 in the tree of 5 leaves"
        )
        root = page.locator("[data-fact=rootHash]").inner_text()
        expect(svg.locator('[data-node="root"] title')).to_contain_text(root)
        expect(svg.locator("desc")).to_contain_text("the leaf over leaf 2 is")
        # Readable at a phone's width: the picture scales down, nothing overflows.
        page.set_viewport_size({"width": 320, "height": 640})
        box = svg.bounding_box()
        assert box is not None and box["width"] <= 320

        def ledger_signature_altered(note: str) -> str:
            text, signatures = lines_of(note)
            return note_of(text, [flip_signature(signatures[0]), *signatures[1:]])

        def cosignature_altered(note: str) -> str:
            text, signatures = lines_of(note)
            return note_of(text, [signatures[0], flip_signature(signatures[1])])

        def cosignatures_dropped(note: str) -> str:
            text, signatures = lines_of(note)
            return note_of(text, signatures[:1])

        def root_altered(note: str) -> str:
            text, signatures = lines_of(note)
            origin, size = text.split("\n")[:2]
            forged = base64.b64encode(b"\x00" * 32).decode()
            return note_of(f"{origin}\n{size}\n{forged}", signatures)

        for change, failing, why in (
            (ledger_signature_altered, "signed by the ledger's key", "was altered"),
            (cosignature_altered, "witnesses cosigned", "does not verify over this checkpoint"),
            (cosignatures_dropped, "witnesses cosigned", "only 0 of the 1 required of 2"),
            (root_altered, "signed by the ledger's key", "was altered"),
        ):
            page.unroute(f"{url}/checkpoint")
            tamper_note(page, url, change)
            page.reload()
            expect(verdict).to_have_attribute("data-result", "failed")
            failed = page.locator('#checks li[data-result="fail"]')
            expect(failed.filter(has_text=failing)).to_contain_text(why)
        page.unroute(f"{url}/checkpoint")

        # The browser remembered the tree of 5; the ledger grows to 7 and is cosigned.
        later = sign_and_seal(url, kubectl, store, ledger, signer, ["m5", "m6"])
        second.cosign(store, ledger, 7)

        def proof_altered(route: Route) -> None:
            response = route.fetch()
            body = response.json()
            body["proof"][0] = "ab" * 32
            route.fulfill(response=response, body=json.dumps(body))

        page.route(f"{url}/api/proofs/consistency?*", proof_altered)
        page.goto(f"{url}/entries/{later[-1]}/verify")
        expect(verdict).to_have_attribute("data-result", "failed")
        expect(
            page.locator('#checks li[data-result="fail"]', has_text="tree of 5 entries")
        ).to_contain_text("does not fold to both roots")
        page.unroute(f"{url}/api/proofs/consistency?*")
        page.reload()
        expect(verdict).to_have_attribute("data-result", "verified")
        expect(
            page.locator('#checks li[data-result="pass"]', has_text="tree of 5 entries")
        ).to_contain_text("begins with the tree of 5")
        svg = page.locator("svg.audit-path")
        expect(svg).to_have_attribute("data-leaf-index", "6")
        # Leaf 6 of 7: siblings over leaves 0-3, 4-5 (no sibling at the lone right leaf).
        expect(svg.locator('[data-node="sibling"]')).to_have_count(2)
        expect(
            page.locator('#checks li[data-result="pass"]', has_text="key this browser verified")
        ).to_contain_text("the same ledger key")

        # A server that swapped in a key of its own (and serves it as the ledger's) is
        # caught by the key this browser remembered.
        impostor = verifier_key(default_origin(ledger), Ed25519PrivateKey.generate().public_key())
        page.evaluate(
            "([k, v]) => localStorage.setItem(k, v)",
            [f"guestbook-ledger:{ledger}:verifier-key", impostor],
        )
        page.reload()
        expect(verdict).to_have_attribute("data-result", "failed")
        expect(
            page.locator('#checks li[data-result="fail"]', has_text="key this browser verified")
        ).to_contain_text(f"last verified checkpoints signed by {impostor}")


def test_the_ledger_page_verifies_every_checkpoint_in_the_browser(
    make_app: Callable[..., Starlette],
    kubectl: Kubectl,
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    page: Page,
) -> None:
    witness = TestWitness("witness.test/history")
    require_witnesses(store, ledger, [witness], quorum=1)
    with serve(make_app()) as url:
        for batch in (["a", "b"], ["c"], ["d", "e"]):
            sign_and_seal(url, kubectl, store, ledger, signer, batch)
        witness.cosign(store, ledger, 2)
        witness.cosign(store, ledger, 5)  # the checkpoint of 3 was never cosigned

        page.goto(url)
        page.get_by_role("link", name="history, verified in your browser").click()
        expect(page).to_have_url(f"{url}/ledger")
        verdict = page.locator("#history-verdict")
        expect(verdict).to_have_attribute("data-result", "verified")
        expect(verdict).to_contain_text("all 3 checkpoints")
        items = page.locator("#history li.checkpoint")
        expect(items).to_have_count(3)
        newest, middle, oldest = items.nth(0), items.nth(1), items.nth(2)
        expect(newest.locator(".size")).to_have_text("Tree of 5 entries")
        expect(newest).to_have_attribute("data-result", "pass")
        expect(newest.locator(".cosigners")).to_contain_text("cosigned by witness.test/history")
        expect(newest.locator('li[data-result="pass"]', has_text="Extends")).to_contain_text(
            "folds to both signed roots"
        )
        expect(middle.locator(".cosigners")).to_have_text("cosigned by no witness")
        expect(middle.locator('li[data-result="skip"]')).to_contain_text("it was not published")
        expect(middle.locator('li[data-result="pass"]', has_text="Extends")).to_have_count(1)
        expect(oldest.locator(".size")).to_have_text("Tree of 2 entries")
        expect(oldest.locator("li", has_text="Extends")).to_have_count(0)

        def proof_altered(route: Route) -> None:
            response = route.fetch()
            body = response.json()
            body["proof"][-1] = "cd" * 32
            route.fulfill(response=response, body=json.dumps(body))

        page.route(f"{url}/api/proofs/consistency?from=3&to=5", proof_altered)
        page.reload()
        expect(verdict).to_have_attribute("data-result", "failed")
        expect(verdict).to_contain_text("1 of the 3 checkpoints")
        expect(newest).to_have_attribute("data-result", "fail")
        expect(newest.locator('li[data-result="fail"]')).to_contain_text(
            "does not fold to both signed roots"
        )
        expect(middle).to_have_attribute("data-result", "pass")
        page.unroute(f"{url}/api/proofs/consistency?from=3&to=5")

        def history_signature_altered(route: Route) -> None:
            response = route.fetch()
            body = response.json()
            text, signatures = lines_of(body["items"][1]["note"])
            body["items"][1]["note"] = note_of(text, [flip_signature(signatures[0])])
            route.fulfill(response=response, body=json.dumps(body))

        page.route(f"{url}/api/checkpoints?*", history_signature_altered)
        page.reload()
        expect(verdict).to_have_attribute("data-result", "failed")
        expect(middle).to_have_attribute("data-result", "fail")
        expect(middle.locator('li[data-result="fail"]').first).to_contain_text("was altered")


@pytest.fixture(scope="module")
def litewitness_binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_litewitness(tmp_path_factory.mktemp("litewitness-bin"))


def test_the_browser_verifies_cosignatures_of_a_witness_written_by_others(
    make_app: Callable[..., Starlette],
    kubectl: Kubectl,
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    page: Page,
    litewitness_binaries: tuple[Path, Path],
) -> None:
    # litewitness (filippo.io/torchwood) cosigns what the workers' witnessing code
    # sends it; the browser checks its cosignature/v1 lines with WebCrypto.
    origin = default_origin(ledger)
    vkey = verifier_key(origin, signer.public_key())
    with (
        tempfile.TemporaryDirectory(prefix="lw-") as folder,  # ssh-agent: a short socket path
        litewitness(litewitness_binaries, Path(folder), origin=origin, log_vkey=vkey) as running,
        serve(make_app()) as url,
    ):
        name = running.name
        cosigner = Cosigner.for_key(name, running.key.public_key())
        entry = {"name": name, "verifierKey": cosigner.to_text(), "url": running.url}
        set_witness_policy(store, ledger, quorum=1, witnesses=[entry])
        for batch in (["x", "y"], ["z"]):
            names = sign_and_seal(url, kubectl, store, ledger, signer, batch)
            outcomes = witness_round(store, ledger, timeout=30)
            assert [o.cosigned for o in outcomes] == [True], outcomes

        page.goto(f"{url}/entries/{names[-1]}/verify")
        verdict = page.locator("#verdict")
        expect(verdict).to_have_attribute("data-result", "verified")
        expect(
            page.locator('#checks li[data-result="pass"]', has_text="witnesses cosigned")
        ).to_contain_text(f"1 of 1 witnesses (policy: 1 of 1): cosigned by {name}")

        page.goto(f"{url}/ledger")
        history = page.locator("#history-verdict")
        expect(history).to_have_attribute("data-result", "verified")
        cosigners = page.locator("#history li.checkpoint .cosigners")
        expect(cosigners).to_have_count(2)
        for i in range(2):
            expect(cosigners.nth(i)).to_contain_text(f"cosigned by {name} (")
