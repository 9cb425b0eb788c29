"""Signing the guestbook through the web UI creates GuestbookEntry resources in the
real (local) Kubernetes API; bad input creates nothing and says what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from guestbook_kube.client import ApiError
from guestbook_localcluster.kubectl import Kubectl
from guestbook_webui.app import create_app
from guestbook_webui.kube_problems import kube_problem
from guestbook_webui.settings import WebSettings
from starlette.testclient import TestClient
from webui_server import wait_until

PROBLEM = "application/problem+json"
ENTRY_CRD = Path(__file__).resolve().parents[2] / "crds" / "guestbookentries.yaml"


def entries_in_cluster(kubectl: Kubectl) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(kubectl("get", "guestbookentries", "-o", "json"))[
        "items"
    ]
    return items


@pytest.fixture
def without_entry_crd(crds: Kubectl) -> Iterator[None]:
    """The cluster without the GuestbookEntry CRD for one test, established again after."""
    crds("delete", "crd", "guestbookentries.ledger.guestbook.io", "--timeout=60s")
    try:
        yield
    finally:
        crds("apply", "--server-side", "-f", str(ENTRY_CRD))
        crds(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/guestbookentries.ledger.guestbook.io",
        )


def test_posting_json_creates_an_entry_visible_in_kubernetes_and_the_api(
    client: TestClient, kubectl: Kubectl
) -> None:
    response = client.post("/entries", json={"author": "Ada", "message": "Hello, ledger!"})

    assert response.status_code == 201
    created = response.json()
    assert created["name"].startswith("entry-")
    assert response.headers["location"] == f"/api/entries/{created['name']}"
    assert created["spec"] == {"ledger": "guestbook", "author": "Ada", "message": "Hello, ledger!"}
    [stored] = entries_in_cluster(kubectl)
    assert stored["metadata"]["name"] == created["name"]
    assert stored["metadata"]["uid"] == created["uid"]
    assert stored["spec"]["message"] == "Hello, ledger!"

    listed = client.get("/api/entries").json()
    assert [item["name"] for item in listed["items"]] == [created["name"]]
    one = client.get(f"/api/entries/{created['name']}")
    assert one.status_code == 200
    assert one.json()["spec"]["author"] == "Ada"
    assert one.json()["createdAt"] == stored["metadata"]["creationTimestamp"]


def test_the_page_lists_entries_newest_first_with_their_phase(
    client: TestClient, kubectl: Kubectl
) -> None:
    for message in ("first <b>bold</b>", "second", "third"):
        assert client.post("/entries", json={"message": message}).status_code == 201

    page = client.get("/")

    assert page.status_code == 200
    html = page.text.split("<template")[0]  # the list, not the script's blank entry
    positions = [html.index(message) for message in ("third", "second", "first &lt;b&gt;")]
    assert positions == sorted(positions), "newest first"
    assert "<b>bold</b>" not in html, "messages are escaped"
    assert html.count('data-phase="Pending"') == 3
    assert "Anonymous" in html


def test_the_page_is_the_same_compressed_or_not_and_follows_each_new_entry(
    client: TestClient, kubectl: Kubectl
) -> None:
    for number in range(2):
        message = f"entry number {number}"
        assert client.post("/entries", json={"message": message}).status_code == 201

        compressed = client.get("/", headers={"Accept-Encoding": "gzip"})
        plain = client.get("/", headers={"Accept-Encoding": "identity"})

        assert compressed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert compressed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
        assert compressed.text == plain.text  # httpx decompresses
        assert message in plain.text.split("<template")[0]


def test_the_page_shows_a_new_status_of_an_entry_it_showed_before(
    client: TestClient, kubectl: Kubectl
) -> None:
    name = client.post("/entries", json={"message": "to be sealed"}).json()["name"]
    assert 'data-phase="Pending"' in client.get("/").text.split("<template")[0]

    status = {"status": {"phase": "Sealed", "leafIndex": 0, "leafHash": "cd" * 32}}
    kubectl("patch", "gbe", name, "--subresource=status", "--type=merge",
            "-p", json.dumps(status))  # fmt: skip

    def sealed_on_the_page() -> bool:
        html = client.get("/").text.split("<template")[0]
        return 'data-phase="Sealed"' in html and "cd" * 6 in html

    wait_until(sealed_on_the_page, timeout=60, what="the page to show the sealed entry")


def test_a_browser_form_post_redirects_to_the_page_showing_the_entry(
    client: TestClient, kubectl: Kubectl
) -> None:
    response = client.post(
        "/entries",
        data={"author": "Grace", "message": "Signed from a form"},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    [stored] = entries_in_cluster(kubectl)
    assert response.headers["location"] == f"/#gbe-{stored['metadata']['name']}"
    page = client.get("/").text.split("<template")[0]
    assert "Signed from a form" in page and "Grace" in page


def test_bad_json_input_gives_problem_details_and_creates_nothing(
    client: TestClient, kubectl: Kubectl
) -> None:
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"author": "Ada", "message": ""}, {"#/message"}),
        ({"message": "   \n"}, {"#/message"}),
        ({"message": "x" * 2001}, {"#/message"}),
        ({"author": "y" * 65, "message": "fine"}, {"#/author"}),
        ({"author": 7, "message": "a\x00b"}, {"#/author", "#/message"}),
    ]
    for body, pointers in cases:
        response = client.post("/entries", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["type"] == "urn:guestbook-ledger:problem:invalid-entry"
        assert problem["status"] == 422
        assert problem["instance"] == "/entries"
        assert {error["pointer"] for error in problem["errors"]} == pointers
        assert all(error["detail"] for error in problem["errors"])

    for raw, status in (("[1, 2]", 400), ("{not json", 400)):
        response = client.post(
            "/entries", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM
    response = client.post("/entries", content="hi", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    big = {"message": "z" * 70_000}
    assert client.post("/entries", json=big).status_code == 413

    assert entries_in_cluster(kubectl) == []


def test_a_bad_form_re_renders_the_page_with_the_typed_text_and_the_error(
    client: TestClient, kubectl: Kubectl
) -> None:
    response = client.post(
        "/entries",
        data={"author": "Ann <3", "message": "  "},
        headers={"Accept": "text/html"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Write a message before signing the guestbook." in html
    assert "Your entry was not signed" in html
    assert 'value="Ann &lt;3"' in html
    assert 'aria-invalid="true"' in html
    assert entries_in_cluster(kubectl) == []


def test_a_form_posted_from_another_site_is_refused(client: TestClient, kubectl: Kubectl) -> None:
    response = client.post(
        "/entries",
        data={"message": "CSRF"},
        headers={"Origin": "https://evil.example", "Accept": "application/json"},
    )

    assert response.status_code == 403
    assert response.json()["type"] == "urn:guestbook-ledger:problem:cross-site-form"
    assert entries_in_cluster(kubectl) == []
    same_site = client.post(
        "/entries", json={"message": "ok"}, headers={"Origin": "http://testserver"}
    )
    assert same_site.status_code == 201


def test_text_is_stored_in_nfc_as_the_ledger_records_it(
    client: TestClient, kubectl: Kubectl
) -> None:
    decomposed = "Cafe\u0301"  # "Café" with a combining accent
    response = client.post("/entries", json={"author": decomposed, "message": decomposed})

    assert response.status_code == 201
    [stored] = entries_in_cluster(kubectl)
    assert stored["spec"]["message"] == "Caf\u00e9"
    assert stored["spec"]["author"] == "Caf\u00e9"


def test_an_unknown_entry_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/entries/no-such-entry")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "no-such-entry" in response.json()["detail"]


def test_entries_of_another_ledger_are_not_shown(client: TestClient, kubectl: Kubectl) -> None:
    other = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "elsewhere"},
        "spec": {"ledger": "other", "message": "not for this guestbook"},
    }
    kubectl("apply", "-f", "-", input=json.dumps(other))
    assert client.post("/entries", json={"message": "mine"}).status_code == 201

    names = [item["name"] for item in client.get("/api/entries").json()["items"]]
    assert "elsewhere" not in names and len(names) == 1
    assert client.get("/api/entries/elsewhere").status_code == 404


def test_the_verification_pages_name_the_endpoints_and_commands(
    client: TestClient, ledger: str
) -> None:
    how = client.get("/how-to-verify")
    assert how.status_code == 200
    for text in ("/api/proofs/inclusion", "/api/public-key", "guestbook-ledger verify sth"):
        assert text in how.text
    verify = client.get("/entries/entry-abc/verify")
    assert verify.status_code == 200
    assert 'data-name="entry-abc"' in verify.text
    assert f'data-ledger="{ledger}"' in verify.text
    assert client.get("/static/ledger-format.js").status_code == 200


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    page = client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_without_the_crds_signing_says_to_install_them(
    without_entry_crd: None, web_settings: Callable[..., WebSettings]
) -> None:
    app = create_app(web_settings())
    with TestClient(app) as client:
        not_ready = wait_until(
            lambda: (r := client.get("/readyz")).json().get("detail") and r,
            timeout=60,
            what="the web UI to report why it is not ready",
        )
        assert not_ready.status_code == 503

        response = client.post("/entries", json={"message": "hello?"})
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM
        assert "apply the CRDs" in response.json()["detail"]
        assert client.get("/api/entries").status_code == 503

        page = client.post("/entries", data={"message": "hello?"}, headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert "apply the CRDs" in page.text
        assert "hello?" in page.text


def test_kubernetes_field_errors_point_at_the_body_fields() -> None:
    status = {
        "kind": "Status",
        "code": 422,
        "reason": "Invalid",
        "message": 'GuestbookEntry.ledger.guestbook.io "x" is invalid',
        "details": {
            "causes": [
                {"field": "spec.message", "message": "Too long: may not be more than 2000"},
                {"field": "metadata.name", "message": "Invalid value"},
            ]
        },
    }
    problem = kube_problem(ApiError(422, "Invalid", str(status["message"]), status=status))
    body = problem.body("/entries")
    assert body["status"] == 422
    assert body["type"] == "urn:guestbook-ledger:problem:invalid-entry"
    assert body["errors"] == [
        {"pointer": "#/message", "detail": "Too long: may not be more than 2000"},
        {"pointer": "#/metadata/name", "detail": "Invalid value"},
    ]
    assert kube_problem(ApiError(403, "Forbidden", "forbidden")).status == 502
