"""In a real browser: sign the guestbook, see the entry at once as Pending, see its
hash appear when the operator's workers have sealed it — without a reload — and
verify it in the browser, which catches a server that lies. The whole-system
test runs the Helm chart as `make demo` does; the others serve the web UI in
this process on the session's cluster and seal through the store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from chart_release import RELEASE, Release
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.store import Connection, admit_entry, seal_batch
from guestbook_localcluster.cluster import LocalCluster
from guestbook_localcluster.images import ImageCatalog
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.service_proxy import ServiceProxy
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from webui_browser import browser, page
from webui_sealing import sign_and_seal
from webui_server import serve

__all__ = ["browser", "page"]  # fixtures

SEALED_TIMEOUT_MS = 180_000  # the operator starts a worker Job; generous on a loaded machine

# Records every phase each entry shows, from before the click on: proves the entry
# was shown as Pending first, whatever the speed of the workers.
PHASE_RECORDER = """
() => {
  window.phaseHistory = {};
  window.notReloaded = true;
  const record = () => {
    for (const li of document.querySelectorAll('#entries li.entry')) {
      const seen = (window.phaseHistory[li.dataset.name] ||= []);
      if (seen[seen.length - 1] !== li.dataset.phase) seen.push(li.dataset.phase);
    }
  };
  new MutationObserver(record).observe(document.getElementById('entries'),
    { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] });
  record();
}
"""


@pytest.fixture
def whole_system(
    release: Release, local_cluster: LocalCluster, kubectl: Kubectl, namespace: str
) -> Iterator[str]:
    """The web UI's URL, with the Helm chart installed in the test's namespace as
    `make demo` installs it (its Ledger and web UI too): the operator and the web
    UI run as the chart's pods from environments built as their images are, its
    workers as Jobs, all through the process kubelet, in a namespace enforcing Pod
    Security `restricted`; the page is reached through a service proxy, as `make
    demo` opens it."""
    # Built (or found in the cache) before the pods need them, as `make demo` does.
    ImageCatalog.project().prepare(print)
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    release.install({"ledger": {"create": True}, "webui": {"enabled": True}})
    proxy = ServiceProxy(local_cluster.get, namespace, f"{RELEASE}-webui", 0, "http")
    try:
        yield f"http://127.0.0.1:{proxy.start()}/"
    finally:
        proxy.stop()


@pytest.mark.timeout(600)  # a changed source tree rebuilds the images' environments first
def test_signing_shows_the_entry_at_once_and_its_hash_once_sealed(
    whole_system: str, kubectl: Kubectl, page: Page
) -> None:
    page.goto(whole_system)
    expect(page.get_by_text("No one has signed yet")).to_be_visible()
    page.evaluate(PHASE_RECORDER)

    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Message").fill("Hello from the browser ✓")
    expect(page.locator("#message-count")).to_have_text("1976 of 2000 characters left.")
    page.get_by_role("button", name="Sign").click()

    entry = page.locator("#entries li.entry", has_text="Hello from the browser ✓")
    expect(entry).to_have_count(1)
    expect(entry.locator(".author")).to_have_text("Ada Lovelace")
    expect(page.get_by_label("Message")).to_have_value("")
    hash_code = entry.locator("code.hash")
    expect(hash_code).to_be_visible(timeout=SEALED_TIMEOUT_MS)
    expect(entry.locator(".phase")).to_have_text("Sealed")

    name = entry.get_attribute("data-name")
    assert name is not None
    resource = json.loads(kubectl("get", "gbe", name, "-o", "json"))
    leaf_hash = resource["status"]["leafHash"]
    expect(hash_code).to_have_text(leaf_hash[:12])
    expect(entry.locator(".leaf")).to_have_text(f"leaf #{resource['status']['leafIndex']}")
    tree_head = page.locator("#tree-head")
    expect(tree_head).to_contain_text("1 sealed")
    root = json.loads(kubectl("get", "ledger", "guestbook", "-o", "json"))
    expect(tree_head.locator("code")).to_have_attribute(
        "title", root["status"]["rootHash"], timeout=60_000
    )
    history = page.evaluate("window.phaseHistory")[name]
    assert history[0] == "Pending" and history[-1] == "Sealed", history
    assert page.evaluate("window.notReloaded") is True

    entry.get_by_role("link", name="verify").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_have_attribute("data-result", "verified", timeout=60_000)
    expect(verdict).to_contain_text(f"leaf #{resource['status']['leafIndex']}")
    # record, checkpoint signature, inclusion (no witnesses; first visit of this browser)
    expect(page.locator('#checks li[data-result="pass"]')).to_have_count(3)
    expect(page.locator("[data-fact=leafHash]")).to_have_text(leaf_hash)


def test_verification_in_the_browser_does_not_trust_the_server(
    make_app: Callable[..., Starlette],
    kubectl: Kubectl,
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    page: Page,
) -> None:
    # Sealed through the store, as a worker does; then the resource's status lies.
    with serve(make_app()) as url:
        page.goto(url)
        # Text that exercises the canonical JSON: escapes, NFC, astral characters.
        tricky = 'Checked by the browser: Cafe\u0301 "q" \\ a\nb\tc \u2028 \u0007 ✓ 𝄞'
        page.get_by_label("Message").fill(tricky)
        page.get_by_role("button", name="Sign").click()
        entry = page.locator("#entries li.entry", has_text="Checked by the browser")
        expect(entry.locator(".phase")).to_have_text("Pending")
        name = entry.get_attribute("data-name")
        assert name is not None
        resource = json.loads(kubectl("get", "gbe", name, "-o", "json"))
        meta, spec = resource["metadata"], resource["spec"]
        admit_entry(
            store,
            ledger,
            entry=name,
            uid=meta["uid"],
            author=spec["author"],
            message=spec["message"],
            submitted_at=meta["creationTimestamp"],
        )
        sealed = seal_batch(store, ledger, signer).sealed[0]
        honest = {"phase": "Sealed", "leafIndex": 0, "leafHash": sealed.leaf_hash.hex()}
        kubectl("patch", "gbe", name, "--subresource=status", "--type=merge",
             "-p", json.dumps({"status": honest}))  # fmt: skip

        expect(entry.locator("code.hash")).to_have_text(sealed.leaf_hash.hex()[:12])
        page.goto(f"{url}/entries/{name}/verify")
        expect(page.locator("#verdict")).to_have_attribute("data-result", "verified")

        lie = {"status": {"leafHash": "ab" * 32}}
        kubectl("patch", "gbe", name, "--subresource=status", "--type=merge", "-p", json.dumps(lie))
        page.reload()
        verdict = page.locator("#verdict")
        expect(verdict).to_have_attribute("data-result", "failed")
        failed = page.locator('#checks li[data-result="fail"]')
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("leaf hash in the entry's status")
        expect(page.locator("[data-fact=leafHash]")).to_have_text(sealed.leaf_hash.hex())


def test_without_event_source_the_page_polls_for_changes(
    make_app: Callable[..., Starlette], kubectl: Kubectl, page: Page
) -> None:
    page.add_init_script("delete window.EventSource")
    with serve(make_app()) as url:
        page.goto(url)
        page.get_by_label("Message").fill("Polled")
        page.get_by_role("button", name="Sign").click()
        entry = page.locator("#entries li.entry", has_text="Polled")
        expect(entry.locator(".phase")).to_have_text("Pending")
        name = entry.get_attribute("data-name")
        assert name is not None

        status = {"phase": "Sealed", "leafIndex": 0, "leafHash": "cd" * 32}
        kubectl("patch", "gbe", name, "--subresource=status", "--type=merge",
             "-p", json.dumps({"status": status}))  # fmt: skip
        expect(entry.locator("code.hash")).to_have_text("cd" * 6)
        kubectl("delete", "gbe", name)
        expect(entry).to_have_count(0)
        expect(page.get_by_text("No one has signed yet")).to_be_visible()


def test_a_failed_entry_says_why(
    make_app: Callable[..., Starlette], kubectl: Kubectl, page: Page
) -> None:
    with serve(make_app(dsn=None)) as url:
        page.goto(url)
        page.get_by_label("Message").fill("Doomed")
        page.get_by_role("button", name="Sign").click()
        entry = page.locator("#entries li.entry", has_text="Doomed")
        expect(entry.locator(".phase")).to_have_text("Pending")
        name = entry.get_attribute("data-name")
        assert name is not None

        condition = {
            "type": "Admitted",
            "status": "False",
            "reason": "InvalidRecord",
            "message": "The record cannot be formed; submit a new entry.",
            "lastTransitionTime": "2026-11-25T12:00:00Z",
        }
        status = {"phase": "Failed", "conditions": [condition]}
        kubectl("patch", "gbe", name, "--subresource=status", "--type=merge",
             "-p", json.dumps({"status": status}))  # fmt: skip
        expect(entry.locator(".phase")).to_have_text("Failed")
        expect(entry.locator(".failure")).to_have_text(condition["message"])
        expect(entry.locator(".waiting")).to_be_hidden()
        page.reload()
        expect(entry.locator(".failure")).to_have_text(condition["message"])


def test_the_browser_checks_the_ledger_only_grew_since_its_last_visit(
    make_app: Callable[..., Starlette],
    kubectl: Kubectl,
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    page: Page,
) -> None:
    with serve(make_app()) as url:
        first = sign_and_seal(url, kubectl, store, ledger, signer, ["one", "two", "three"])
        page.goto(f"{url}/entries/{first[0]}/verify")
        verdict = page.locator("#verdict")
        expect(verdict).to_have_attribute("data-result", "verified")
        expect(
            page.locator('#checks li[data-result="skip"]', has_text="The ledger extends")
        ).to_contain_text("first verification in this browser")

        later = sign_and_seal(url, kubectl, store, ledger, signer, ["four", "five"])
        page.goto(f"{url}/entries/{later[-1]}/verify")
        expect(verdict).to_have_attribute("data-result", "verified")
        grew = page.locator('#checks li[data-result="pass"]', has_text="The ledger extends")
        expect(grew).to_contain_text("tree of 3 entries")
        expect(page.locator("[data-fact=treeSize]")).to_have_text("5")

        # A history that does not match what this browser saw is caught.
        key = f"guestbook-ledger:{ledger}:head"
        for remembered, why in (
            ({"treeSize": 3, "rootHash": "00" * 32}, "rewritten"),
            ({"treeSize": 9, "rootHash": "00" * 32}, "only 5 entries"),
        ):
            page.evaluate("([k, v]) => localStorage.setItem(k, JSON.stringify(v))",
                          [key, remembered])  # fmt: skip
            page.reload()
            expect(verdict).to_have_attribute("data-result", "failed")
            expect(page.locator('#checks li[data-result="fail"]')).to_contain_text(why)


ISOLATING = ("isolate", "plaintext", "isolate-override")
SPOOF = "Hi \u202eevil.exe\u202c done"  # RLO ... PDF: "exe.live" if not isolated


def test_user_text_is_isolated_from_its_surroundings(
    make_app: Callable[..., Starlette], kubectl: Kubectl, page: Page
) -> None:
    manifest = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "rendered-by-server"},
        "spec": {"author": "\u202eAda", "message": SPOOF},
    }
    kubectl("apply", "-f", "-", input=json.dumps(manifest))
    with serve(make_app()) as url:
        page.goto(url)
        page.get_by_label("Message").fill("\u2067right to left\u2069 by the script")
        page.get_by_role("button", name="Sign").click()
        signed = page.locator("#entries li.entry", has_text="by the script")
        expect(signed).to_have_count(1)
        for entry in (page.locator("#gbe-rendered-by-server"), signed):
            for part in (".author", ".message"):
                style = entry.locator(part).evaluate("e => getComputedStyle(e).unicodeBidi")
                assert style in ISOLATING, (part, style)
            expect(entry.locator(".direction-note")).to_be_visible()


def test_when_live_streams_are_full_the_page_polls_instead(
    make_app: Callable[..., Starlette], kubectl: Kubectl, page: Page
) -> None:
    with serve(make_app(max_event_streams=0)) as url:
        page.goto(url)
        manifest = {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": "seen-by-polling"},
            "spec": {"message": "arrived while streams were full"},
        }
        kubectl("apply", "-f", "-", input=json.dumps(manifest))
        expect(page.locator("#gbe-seen-by-polling")).to_have_count(1)
